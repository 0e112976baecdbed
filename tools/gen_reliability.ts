/**
 * Renders docs/RELIABILITY.md from the table in tests/reliability_cases.ts (`make reliability`).
 *
 * @module
 */
import type { Case } from "../tests/reliability_cases.ts";

/** The document's text: one section per family (area), in the order the table first names them. */
export function renderReliability(cases: Case[]): string {
  const families = new Map<string, Case[]>();
  for (const c of cases) {
    const family = families.get(c.area) ?? [];
    family.push(c);
    families.set(c.area, family);
  }
  const escape = (text: string) => text.replaceAll("|", "\\|");
  const sections = [...families].flatMap(([area, rows]) => [
    `## ${area} (${rows.length})`,
    "",
    "| bad input or misuse | what happens |",
    "| --- | --- |",
    ...rows.map((c) => `| ${escape(c.name)} | ${escape(c.expect)} |`),
    "",
  ]);
  return [
    "# Reliability: bad inputs and misuses",
    "",
    "Generated from `tests/reliability_cases.ts` (with `tests/reliability_native.ts`,",
    "`tests/reliability_wav.ts` and `tests/reliability_api.ts`) by `make reliability`; every row is a test",
    "that runs under `deno test` and `bun test` (it checks the error's message, often its class, and that",
    "no native handle leaked; rows that must not fail assert the right behaviour themselves). Other",
    "guarantees are tested elsewhere: panics never cross the C ABI (`rust/tests/abi.rs`, and a panicking",
    "node in `rust/src/pipeline/engine/schedule.rs`), sessions run concurrently and on Worker threads",
    "(`tests/concurrency.test.ts`), long runs (`make soak`), fuzzing (`make fuzz`) and valgrind",
    "(`make valgrind`).",
    "",
    `${cases.length} rows in ${families.size} families: ${[...families.keys()].join(", ")}.`,
    "",
    ...sections,
  ].join("\n");
}

if (import.meta.main) {
  const { cases } = await import("../tests/reliability_cases.ts");
  const target = new URL("../docs/RELIABILITY.md", import.meta.url);
  await Deno.writeTextFile(target, renderReliability(cases));
  console.log(`wrote ${target.pathname}`);
}
