// Run by tests/ffi.test.ts in a fresh process: closing the library, stale calls, and reopening.
import { closeLibrary, RuntimeData } from "../mod.ts";
import { lib } from "../src/native.ts";

const before = lib();
RuntimeData.text("x").dispose();
closeLibrary();
const results: string[] = [];
try {
  before.symbols.rm_abi_version();
  results.push("stale call did not throw");
} catch (e) {
  results.push((e as Error).message);
}
using again = RuntimeData.text("reopened"); // the next use loads the library again
results.push(again.asText());
console.log(JSON.stringify(results));
