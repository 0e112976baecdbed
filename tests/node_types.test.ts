import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { nodeTypes, PipelineBuilder } from "../mod.ts";
import { renderNodeTypes } from "../tools/gen_node_types.ts";

test("src/node_types.ts matches the native schemas (run `make types` when this fails)", () => {
  const committed = readFileSync(new URL("../src/node_types.ts", import.meta.url), "utf8");
  assert.equal(committed, renderNodeTypes(nodeTypes()));
});

test("the builder accepts typed params for built-in nodes", () => {
  const manifest = new PipelineBuilder()
    .node("r", "Resample", { targetRate: 16000, quality: "high" })
    // @ts-expect-error: "medium" is not a Resample quality preset
    .node("bad", "Resample", { targetRate: 16000, quality: "medium" })
    .build();
  assert.equal(manifest.nodes.length, 2);
});
