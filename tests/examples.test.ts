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

test("the voice activity example finds the sentences of the speech WAV", async () => {
  const { speechSegments } = await import("../examples/voice_activity.ts");
  const path = decodeURIComponent(new URL("../examples/data/speech.wav", import.meta.url).pathname);
  const segments = await speechSegments(path);
  assert.ok(segments.length >= 2, JSON.stringify(segments));
  assert.ok(segments.some((s) => s.start < 1 && s.end > 0.8), "first sentence");
  assert.ok(segments.some((s) => s.start > 5 && s.start < 5.6), "second sentence");
  for (const s of segments) assert.ok(s.end <= 4.6 || s.start >= 5, "nothing in the pause");
});
