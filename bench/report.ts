/**
 * Merges `target/bench/results-{deno,bun}.json` into `bench/results.json` and prints the Markdown table
 * the README carries. Run by `make bench` after the suite ran in both runtimes.
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import type { Figure } from "./suite.ts";

const root = new URL("..", import.meta.url);
const runs: Record<string, Figure[]> = {};
for (const runtime of ["deno", "bun"]) {
  const file = new URL(`target/bench/results-${runtime}.json`, root);
  runs[runtime] = JSON.parse(readFileSync(file, "utf8")).figures;
}
const ids = [...new Set(Object.values(runs).flat().map((f) => f.id))];
const machine = `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}`;
const rust = (() => {
  try {
    return readFileSync(new URL("target/bench/rust-nodes.jsonl", root), "utf8").trim().split("\n")
      .map((l) => JSON.parse(l));
  } catch {
    return [];
  }
})();
const lines = [
  `Measured ${
    new Date().toISOString().slice(0, 10)
  } on ${machine}; Deno and Bun from package-lock.json.`,
  "",
  "| # | figure | Deno | Bun | goal |",
  "| --- | --- | --- | --- | --- |",
];
const cell = (f?: Figure) =>
  f ? `${f.value} ${f.unit}${f.met === false ? " ✗" : f.met ? " ✓" : ""}` : "—";
for (const id of ids) {
  const d = runs.deno.find((f) => f.id === id);
  const b = runs.bun.find((f) => f.id === id);
  lines.push(`| ${id} | ${(d ?? b)!.name} | ${cell(d)} | ${cell(b)} | ${(d ?? b)!.goal ?? ""} |`);
}
if (rust.length) {
  lines.push(
    "",
    "Native nodes alone (Rust, no FFI; `cargo run --release --example node_bench`):",
    "",
  );
  lines.push(
    "| node | params | input | µs per 20 ms item | real-time factor |",
    "| --- | --- | --- | --- | --- |",
  );
  for (const r of rust) {
    lines.push(
      `| ${r.node} | \`${
        JSON.stringify(r.params)
      }\` | ${r.input} | ${r.usPerItem} | ${r.realTimeFactor}x |`,
    );
  }
}
const table = lines.join("\n");
writeFileSync(
  new URL("bench/results.json", root),
  JSON.stringify({ date: new Date().toISOString(), machine, runs, rust }, null, 2) + "\n",
);
console.log(table);
