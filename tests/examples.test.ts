import { test } from "node:test";
import assert from "node:assert/strict";
import { main as runtimeDataTour } from "../examples/runtime_data.ts";
import { liveHandles } from "../mod.ts";

test("the RuntimeData example prints every value and leaks nothing", () => {
  const before = liveHandles();
  const lines = runtimeDataTour();
  assert.equal(lines[0], "text: hello from remotemedia");
  assert.equal(lines[1], 'json: {"event":"speech_start","atMs":120}');
  assert.match(
    lines[2],
    /^audio: 960 frames x 2 ch @ 48000 Hz \(20 ms, stream demo\); peak L 0\.500/,
  );
  assert.equal(lines[3], "filled in place: 320 i16 samples");
  assert.equal(liveHandles(), before);
});
