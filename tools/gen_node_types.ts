/**
 * Renders `src/node_types.ts` (TypeScript types for manifests) from the native node schemas.
 * Run `make types` after changing a node's params; a test fails while the committed file is stale.
 *
 * @module
 */
import type { NodeTypeSchema, ParamSchema } from "../src/schemas.ts";

function tsType(p: ParamSchema): string {
  switch (p.type) {
    case "number":
    case "integer":
      return "number";
    case "boolean":
      return "boolean";
    case "string":
      return "string";
    case "enum":
      return (p.values ?? []).map((v) => JSON.stringify(v)).join(" | ");
    case "stringList":
      return "string[]";
    case "numberList":
      return "number[]";
    default:
      return "unknown";
  }
}

function doc(text: string, indent: string): string {
  return `${indent}/** ${text.replaceAll("*/", "*\\/")} */\n`;
}

/** The generated module's text. */
export function renderNodeTypes(schemas: NodeTypeSchema[]): string {
  let out =
    "// Generated from the native node schemas by `make types` (tools/gen_node_types.ts).\n" +
    "// Do not edit.\n\n" +
    "/** Params of each built-in node type, as manifests and the builder accept them. */\n" +
    "export interface NodeParams {\n";
  for (const schema of schemas) {
    out += doc(schema.description, "  ");
    if (schema.params.length === 0) {
      out += `  ${schema.type}: Record<string, never>;\n`;
      continue;
    }
    out += `  ${schema.type}: {\n`;
    for (const p of schema.params) {
      const range = p.min !== undefined ? ` Range ${p.min}..${p.max}.` : "";
      const dflt = p.default === null ? " Required." : ` Default ${JSON.stringify(p.default)}.`;
      out += doc(`${p.description}${range}${dflt}`, "    ");
      out += `    ${p.name}${p.default === null ? "" : "?"}: ${tsType(p)};\n`;
    }
    out += "  };\n";
  }
  out += "}\n\n" +
    "/** Names of the built-in node types. */\n" +
    "export type BuiltinNodeType = keyof NodeParams;\n";
  return out;
}

if (import.meta.main) {
  const { nodeTypes } = await import("../src/manifest.ts");
  const target = new URL("../src/node_types.ts", import.meta.url);
  await Deno.writeTextFile(target, renderNodeTypes(nodeTypes()));
  console.log(`wrote ${target.pathname}`);
}
