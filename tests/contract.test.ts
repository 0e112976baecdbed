/**
 * The symbol table (ffi/symbols.ts) checked against the generated C header (rust/include/remotemedia.h):
 * every symbol the bindings bind exists with the same number of parameters and compatible types, and
 * every function the library exports is bound (or listed below with the reason it is not). A change on
 * one side that the other does not follow fails here instead of at run time.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { type NativeType, symbols } from "../ffi/symbols.ts";

/** Exported by the library but deliberately not in the table. */
const NOT_BOUND: Record<string, string> = {
  rm_view_release: "called by JavaScriptCore as a view's deallocator, by address",
  rm_debug_panic: "a test hook for panics at the boundary (rust/tests/abi.rs)",
  rm_session_push:
    "kept for C callers; TypeScript pushes with rm_session_push_to (entry -1 = every entry)",
};

interface Declaration {
  result: string;
  parameters: string[];
}

/** `<result> rm_name(<type> <name>, …);` declarations of the header, whitespace normalised. */
function declarations(): Map<string, Declaration> {
  const header = readFileSync(new URL("../rust/include/remotemedia.h", import.meta.url), "utf8")
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("//") && !line.startsWith("#"))
    .join("\n");
  const found = new Map<string, Declaration>();
  for (const m of header.matchAll(/([A-Za-z_][\w \t*]*?)\s*\b(rm_\w+)\s*\(([^)]*)\)\s*;/g)) {
    const parameters = m[3].trim() === "void" || m[3].trim() === ""
      ? []
      : m[3].split(",").map((p) => p.replace(/\s+/g, " ").trim().replace(/\s*\w+$/, "").trim());
    found.set(m[2], { result: m[1].replace(/\s+/g, " ").trim(), parameters });
  }
  return found;
}

/** The C types a neutral type of the table may stand for. */
function accepts(type: NativeType, c: string): boolean {
  const pointer = c.endsWith("*");
  switch (type) {
    case "buffer":
    case "pointer":
      return pointer;
    case "u64":
      return c === "RmHandle" || c === "uint64_t";
    case "usize":
      return c === "size_t";
    case "i32":
      return c === "int32_t" || c === "int";
    case "u32":
      return c === "uint32_t";
    case "f64":
      return c === "double";
    case "void":
      return c === "void";
  }
}

test("every symbol of ffi/symbols.ts is declared in the header with matching types", () => {
  const header = declarations();
  const problems: string[] = [];
  for (const [name, def] of Object.entries(symbols)) {
    const decl = header.get(name);
    if (!decl) {
      problems.push(`${name}: not declared in rust/include/remotemedia.h`);
      continue;
    }
    if (!accepts(def.result, decl.result)) {
      problems.push(`${name}: result ${def.result} in the table, ${decl.result} in the header`);
    }
    if (def.parameters.length !== decl.parameters.length) {
      problems.push(
        `${name}: ${def.parameters.length} parameters in the table, ${decl.parameters.length} in the header`,
      );
      continue;
    }
    def.parameters.forEach((p, i) => {
      if (!accepts(p, decl.parameters[i])) {
        problems.push(
          `${name}: parameter ${i} is ${p} in the table, ${decl.parameters[i]} in the header`,
        );
      }
    });
  }
  assert.deepEqual(problems, []);
});

test("every function the header declares is bound, or listed with the reason it is not", () => {
  const unbound = [...declarations().keys()].filter((name) =>
    !(name in symbols) && !(name in NOT_BOUND)
  );
  assert.deepEqual(unbound, []);
  for (const name of Object.keys(NOT_BOUND)) {
    assert.ok(declarations().has(name), `${name} is listed as not bound but is not in the header`);
  }
});

test("the parser reads the header: a known declaration comes out whole", () => {
  const decl = declarations().get("rm_session_push_to");
  // A change of the table that the header does not follow is caught: u64 is not size_t.
  assert.equal(accepts("u64", "size_t"), false);
  assert.deepEqual(decl, { result: "int32_t", parameters: ["RmHandle", "RmHandle", "int32_t"] });
  assert.ok(declarations().size >= 50, `${declarations().size} declarations found`);
});
