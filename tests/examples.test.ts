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

test("the basic node example works standalone and in a pipeline", async () => {
  const { standalone, inPipeline } = await import("../examples/basic_node.ts");
  assert.deepEqual(await standalone(), ["HELLO", "WORLD"]);
  assert.deepEqual(await inPipeline(["hel", "lo there. how ", "are you? fine"]), [
    "HELLO THERE.",
    "HOW ARE YOU?",
    "FINE",
  ]);
});

test("the TS audio effect gives the same output as native Gain", async () => {
  const { compare } = await import("../examples/audio_effect.ts");
  const { ts, native } = await compare(6);
  assert.equal(ts.length, 4800);
  assert.deepEqual(ts, native);
  assert.ok(ts.some((v) => v === 1), "clipping happened");
});

const { espeakMissing } = await import("../examples/streaming_tts.ts");
const noEspeak = espeakMissing();
if (noEspeak) console.warn(`skipping the espeak-ng examples: ${noEspeak}`);

test(
  "streaming TTS speaks through native Resample into a WAV",
  { skip: noEspeak ?? false },
  async () => {
    const { speakToWav } = await import("../examples/streaming_tts.ts");
    const { mkdtempSync, readFileSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "rm-tts-"));
    const path = join(dir, "tts.wav");
    const r = await speakToWav(["Hello there.", "Streaming speech."], path);
    assert.ok(r.durationSeconds > 1 && r.durationSeconds < 6, `${r.durationSeconds} s`);
    assert.ok(r.chunks >= 2, "audio arrived in several chunks");
    const bytes = readFileSync(path);
    assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(24, true), 16000);
    rmSync(dir, { recursive: true });
  },
);

test(
  "20 interrupts of the streaming TTS node leave no unhandled rejection (Deno and Bun)",
  { skip: noEspeak ?? false },
  async () => {
    const { spawnSync } = await import("node:child_process");
    const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
    for (
      const cmd of [
        [`${root}node_modules/.bin/deno`, "run", "-A", "tests/tts_interrupt_script.ts"],
        [`${root}node_modules/.bin/bun`, "run", "tests/tts_interrupt_script.ts"],
      ]
    ) {
      const r = spawnSync(cmd[0], cmd.slice(1), { cwd: root, encoding: "utf8", timeout: 120_000 });
      assert.equal(r.status, 0, `${cmd[0]}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /Uncaught|unhandled/i);
      const result = JSON.parse(r.stdout.trim().split("\n").pop()!);
      assert.ok(result.outputs > 0, "some speech came out before the interrupts");
      assert.equal(result.liveHandles, 0);
    }
  },
);

test(
  "the voice agent answers a turn, stops at once when interrupted, then answers the interruption",
  { skip: noEspeak ?? false },
  async () => {
    const { converse } = await import("../examples/voice_agent.ts");
    const c = await converse();
    const of = (type: string) => c.timeline.filter((e) => e.event.type === type);
    const policy = c.timeline.filter((e) => e.source === "policy").map((e) => e.event.type);
    assert.deepEqual(
      policy,
      ["user_turn", "interruption", "user_turn"],
      JSON.stringify(c.timeline),
    );
    assert.deepEqual(c.replies, ["reply-1", "reply-2"]);
    const [interruption] = of("interruption");
    assert.equal(interruption.event.utteranceId, "reply-1");
    // "Wait, stop…" starts 8.4 s into the microphone; the bot is quiet ~300 ms later.
    assert.ok(Math.abs(interruption.atMs - 8400 - 300) <= 50, `${interruption.atMs} ms`);
    assert.equal(c.staleSamples, 0, "nothing of reply-1 after the interruption");
    const finished = of("utterance_finished").map((e) => e.event.utteranceId);
    assert.deepEqual(finished, ["reply-2"], "the answer to the interruption is spoken to its end");
    // The listener heard reply-1 up to the interruption, then all of reply-2.
    const reply2 = Number(of("utterance_finished")[0].event.playedMs);
    const heardMs = (c.heard.length * 1000) / 22050;
    assert.ok(
      Math.abs(heardMs - (Number(interruption.event.playedMs) + reply2)) < 0.1,
      `${heardMs}`,
    );
  },
);

test("the voice pipeline replies once per utterance", { skip: noEspeak ?? false }, async () => {
  const { respond } = await import("../examples/voice_pipeline.ts");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "rm-voice-"));
  const input = decodeURIComponent(
    new URL("../examples/data/speech.wav", import.meta.url).pathname,
  );
  const { replies, durationSeconds } = await respond(input, join(dir, "reply.wav"));
  assert.equal(replies.length, 3, JSON.stringify(replies));
  for (const r of replies) assert.match(r, /^I heard \d+\.\d seconds of speech\.$/);
  assert.ok(durationSeconds > 3);
  rmSync(dir, { recursive: true });
});

test("the tracing example maps node calls onto OpenTelemetry-style spans", async () => {
  const { traceRun } = await import("../examples/tracing.ts");
  const spans = await traceRun(4);
  const [root, ...children] = spans;
  assert.equal(root.name, "remotemedia.session");
  // One span per frame and one for the flush at end of stream.
  assert.equal(children.filter((s) => s.name === "node:gain").length, 4 + 1);
  assert.ok(children.some((s) => s.name === "node:resample"));
  for (const s of children) {
    assert.equal(s.traceId, root.traceId);
    assert.equal(s.parentSpanId, root.spanId);
    assert.ok(
      s.startTimeUnixNano >= root.startTimeUnixNano && s.endTimeUnixNano <= root.endTimeUnixNano,
    );
  }
});
