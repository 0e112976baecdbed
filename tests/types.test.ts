// Types that help (issue #14, item 8). `deno check` (make lint) type-checks this file: each
// `@ts-expect-error` line must be an error, and the other lines must compile without casts. The
// runtime assertions run under `deno test` and `bun test`.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type LevelEvent,
  type NodeEvent,
  PipelineBuilder,
  registerNode,
  run,
  RuntimeData,
  type SpeechEndEvent,
  type SpeechStartEvent,
  unregisterNode,
  type VadEvent,
  type WavWriterSummary,
} from "../mod.ts";
import { runtime } from "./helpers.ts";

/** Builder calls that must not compile (never run: their manifests are only built). */
function misuses(): void {
  // @ts-expect-error Resample needs targetRate
  new PipelineBuilder().node("r", "Resample");
  // @ts-expect-error neither is targetRate given
  new PipelineBuilder().node("r", "Resample", { quality: "fast" });
  // @ts-expect-error quality is one of fast/balanced/high
  new PipelineBuilder().node("r", "Resample", { targetRate: 16000, quality: "medium" });
  // @ts-expect-error no built-in or registered type has this name
  new PipelineBuilder().node("x", "Resampler", { targetRate: 16000 });
  // @ts-expect-error a plain string is not a registered type (use registerNode's return value)
  new PipelineBuilder().node("x", "Shout");
  // @ts-expect-error WavWriter needs path
  new PipelineBuilder().node("w", "WavWriter", { passThrough: true });
  // @ts-expect-error the params of a registered type are its factory's
  new PipelineBuilder().node("s", Shout, { suffix: 3 });
  const i16 = RuntimeData.allocAudio({ format: "i16", numSamples: 1, sampleRate: 8000 });
  // @ts-expect-error i16 samples are not a Float32Array
  const wrong: Float32Array = i16.writableAudio().samples;
  // @ts-expect-error a VadEvent is not a level event
  const level: LevelEvent = RuntimeData.json({}).asJson<VadEvent>();
  void wrong;
  void level;
}
void misuses;

const Shout = registerNode("Shout", (params: { suffix?: string }) => ({
  process: (d: RuntimeData) => RuntimeData.text(d.asText().toUpperCase() + (params.suffix ?? "!")),
}), { accepts: ["text"], outputs: ["text"] });

describe("types that help", () => {
  test("builder: required params and known types compile; registered types by registerNode's value", async () => {
    const manifest = new PipelineBuilder()
      .node("up", "TextTransform") // every param has a default
      .node("shout", Shout, { suffix: "?" })
      .chain("up", "shout")
      .build();
    new PipelineBuilder().node("r", "Resample", { targetRate: 16000 }).node("p", "PassThrough");
    assert.equal(Shout, "Shout"); // the name itself at run time: JSON manifests use it as is
    using input = RuntimeData.text("hi");
    const [out] = await run(manifest, input);
    assert.equal(out.asText(), "HI?");
    out.dispose();
    const dynamic = "Shout" as typeof Shout; // a name known at run time only
    new PipelineBuilder().node("s", dynamic);
    unregisterNode("Shout");
  });

  test("allocAudio({ format }) gives samples of that format's typed array, without a cast", () => {
    using f32 = RuntimeData.allocAudio({ format: "f32", numSamples: 4, sampleRate: 16000 });
    using i16 = RuntimeData.allocAudio({ format: "i16", numSamples: 4, sampleRate: 16000 });
    using i32 = RuntimeData.allocAudio({ format: "i32", numSamples: 4, sampleRate: 16000 });
    const a: Float32Array = f32.writableAudio().samples;
    const b: Int16Array = i16.writableAudio().samples;
    const c: Int32Array = i32.writableAudio().samples;
    a.fill(0.5);
    b.fill(1000);
    c.fill(-7);
    const format: "i16" = i16.asAudio().format;
    const left: Int16Array = i16.asAudio().channel(0);
    assert.ok(a instanceof Float32Array && b instanceof Int16Array && c instanceof Int32Array);
    assert.equal(format, "i16");
    assert.deepEqual([...left], [1000, 1000, 1000, 1000]);
    assert.equal(f32.asAudio().samples[0], 0.5);
    // From a typed array, the format is inferred too; a RuntimeData<"f32"> is still a RuntimeData.
    using fromJs = RuntimeData.audio({ samples: new Int32Array(2), sampleRate: 8000 });
    const d: Int32Array = fromJs.writableAudio().samples;
    const plain: RuntimeData = fromJs;
    assert.ok(d instanceof Int32Array && plain === fromJs);
    using copy = f32.clone();
    const e: Float32Array = copy.writableAudio().samples;
    assert.equal(e[0], 0.5);
  });

  test("event payload types fit what the built-in nodes emit (asJson<VadEvent>())", async () => {
    const wav = new URL("../examples/data/speech.wav", import.meta.url).pathname;
    const out = `${
      new URL("../target", import.meta.url).pathname
    }/types-test-${runtime}-${Date.now()}.wav`;
    const manifest = new PipelineBuilder()
      .node("read", "WavReader", { path: wav, chunkMs: 20 })
      .node("mono", "ChannelMix")
      .node("res", "Resample", { targetRate: 16000 })
      .node("vad", "Vad")
      .node("level", "AudioLevel")
      .node("write", "WavWriter", { path: out })
      .chain("read", "mono", "res", "vad")
      .chain("res", "level")
      .chain("res", "write")
      .build();
    const events: NodeEvent[] = [];
    for (const item of await run(manifest, [])) {
      events.push(item.asJson<NodeEvent>());
      item.dispose();
    }
    const vad = events.filter((e): e is VadEvent =>
      e.type === "speech_start" || e.type === "speech_end"
    );
    const ends = vad.filter((e): e is SpeechEndEvent => e.type === "speech_end");
    assert.equal(ends.length, 3);
    for (const e of ends) assert.equal(e.durationUs, e.endUs - e.startUs);
    const starts = vad.filter((e): e is SpeechStartEvent => e.type === "speech_start");
    assert.equal(starts.length, 3);
    assert.deepEqual(Object.keys(starts[0]).sort(), ["probability", "timeUs", "type"]);
    assert.deepEqual(Object.keys(ends[0]).sort(), [
      "durationUs",
      "endUs",
      "probability",
      "startUs",
      "type",
    ]);
    // The highest window probability so far (at least the threshold), the mean over the segment.
    for (const e of starts) {
      assert.ok(e.probability >= 0.5 && e.probability <= 1, `${e.probability}`);
    }
    for (const e of ends) assert.ok(e.probability > 0 && e.probability <= 1, `${e.probability}`);
    const summary = events.find((e): e is WavWriterSummary => e.type === "wav_written")!;
    assert.deepEqual(Object.keys(summary).sort(), [
      "channels",
      "durationSeconds",
      "frames",
      "path",
      "sampleRate",
      "type",
    ]);
    assert.equal(summary.sampleRate, 16000);
    const levels = events.filter((e): e is LevelEvent => e.type === "level");
    assert.equal(levels.length, 430);
    assert.deepEqual(Object.keys(levels[0]).sort(), [
      "clipping",
      "durationUs",
      "peakDb",
      "rmsDb",
      "silent",
      "startUs",
      "type",
    ]);
    assert.equal(typeof levels[0].silent, "boolean");
    (await import("node:fs")).rmSync(out, { force: true });
  });
});
