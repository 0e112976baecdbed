/**
 * Renders docs/RELIABILITY.md from the table in tests/reliability_cases.ts (`make reliability`).
 *
 * @module
 */
import type { Case } from "../tests/reliability_cases.ts";

/** The document's text. */
export function renderReliability(cases: Case[]): string {
  const rows = cases.map((c) =>
    `| ${c.area} | ${c.name.replaceAll("|", "\\\\|")} | ${c.expect.replaceAll("|", "\\\\|")} |`
  );
  return [
    "# Reliability: bad inputs and misuses",
    "",
    "Generated from `tests/reliability_cases.ts` by `make reliability`; every row is a test that runs under",
    "`deno test` and `bun test` (it checks the error's message, often its class, and that no native handle",
    "leaked). Other guarantees are tested elsewhere: panics never cross the C ABI (`rust/tests/abi.rs`, and",
    "a panicking node in `rust/src/pipeline/engine.rs`), sessions run concurrently and on Worker threads",
    "(`tests/concurrency.test.ts`), long runs (`make soak`), fuzzing (`make fuzz`) and valgrind",
    "(`make valgrind`).",
    "",
    `${cases.length} rows.`,
    "",
    "| area | bad input or misuse | what happens |",
    "| --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
}

if (import.meta.main) {
  const { cases } = await import("../tests/reliability_cases.ts");
  const target = new URL("../docs/RELIABILITY.md", import.meta.url);
  await Deno.writeTextFile(target, renderReliability(cases));
  console.log(`wrote ${target.pathname}`);
}
