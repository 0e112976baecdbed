import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { liveHandles } from "../mod.ts";
import { renderReliability } from "../tools/gen_reliability.ts";
import { cases } from "./reliability_cases.ts";

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe("reliability: bad inputs and misuses", () => {
  test("the table has at least 90 rows", () => {
    assert.ok(cases.length >= 90, `${cases.length} cases`);
  });
  for (const c of cases) {
    test(`${c.area}: ${c.name} → ${c.expect}`, async () => {
      const before = liveHandles();
      if (c.error === null) {
        await c.run();
      } else {
        await assert.rejects(async () => await c.run(), (e: unknown) => {
          assert.ok(e instanceof Error, `threw ${String(e)}`);
          assert.match(e.message, c.error!);
          if (c.type) assert.ok(e instanceof c.type, `${e.constructor.name} is not ${c.type.name}`);
          return true;
        });
      }
      await tick(1);
      assert.equal(liveHandles(), before, "no handle leaked");
    });
  }
});

test("docs/RELIABILITY.md matches the table (run `make reliability` when this fails)", () => {
  const committed = readFileSync(new URL("../docs/RELIABILITY.md", import.meta.url), "utf8");
  assert.equal(committed, renderReliability(cases));
});
