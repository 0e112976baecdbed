import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { liveHandles, RemoteMediaError } from "../mod.ts";
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
          // Every error the API throws is a RemoteMediaError with a code; the only others are the
          // AbortError (DOMException) of an abort, and what a user's own node threw, as cause.
          const abort = e.name === "AbortError";
          assert.ok(
            abort || e instanceof RemoteMediaError || e instanceof AggregateError,
            `${e.constructor.name} is not a RemoteMediaError: ${e.message}`,
          );
          if (e instanceof RemoteMediaError) assert.ok(e.code, "a code");
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
