/**
 * `remotemedia convert <manifest>`: prints a manifest in our JSON form — a RemoteMedia SDK manifest
 * (`version: "v1"`, YAML or JSON) translated, or one of ours written in YAML. The translation is
 * validated too: issues go to stderr with the user's own keys and lines (exit 3), except node types this
 * library does not have, which are reported as warnings (a TypeScript node registered under that name
 * with `registerNode` provides them) while the translation is still printed.
 *
 * @module
 */
import { convertManifest, validateManifest } from "../mod.ts";
import { type CliIo, EXIT, type Parsed, readText, UsageError } from "./common.ts";

/** Help text of the command. */
export const CONVERT_HELP = `remotemedia convert <manifest.yaml|manifest.json>

Prints the manifest in remotemedia's native JSON form (stdout). Reads JSON or YAML, ours or a
RemoteMedia SDK manifest (version: v1, node_type/nodeType, snake_case params, SDK node types such as
SileroVADNode → Vad). Invalid manifests exit 3 with every issue (paths and lines of your file); node
types this library does not have are warnings: register a TypeScript node under that name to provide them.`;

/** Runs `convert`; resolves with the exit code. */
export function convert(parsed: Parsed, io: CliIo): number {
  const [path, ...extra] = parsed.positional;
  if (!path) throw new UsageError("convert needs a manifest file");
  if (extra.length) throw new UsageError(`unexpected argument ${extra[0]}`);
  const text = readText(path);
  const manifest = convertManifest(text); // a ManifestError (exit 3) when the text does not parse
  const issues = validateManifest(text);
  const unknownType = (message: string) => message.startsWith("unknown node type");
  const errors = issues.filter((i) => !unknownType(i.message));
  const line = (i: { path: string; message: string }) =>
    `${path}: ${i.path ? i.path + ": " : ""}${i.message}\n`;
  if (errors.length) {
    for (const i of errors) io.err(line(i));
    return EXIT.invalidManifest;
  }
  for (const i of issues) io.err(`warning: ${line(i)}`);
  io.out(JSON.stringify(manifest, null, 2));
  return EXIT.ok;
}
