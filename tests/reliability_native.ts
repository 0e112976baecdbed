/**
 * Rows of the reliability table (see tests/reliability_cases.ts) for native nodes and native memory: allocation, size arithmetic, panics, rates.
 */
import assert from "node:assert/strict";
import {
  type Manifest,
  ManifestError,
  PipelineError,
  RemoteMediaError,
  run,
  RuntimeData,
  Session,
} from "../mod.ts";
import type { Case } from "./reliability_cases.ts";

/** The largest finite f32, as a float32 rounds it. */
const F32_MAX = 3.4028234663852886e38;

/** Throws `error` after checking its code (the table itself checks class and message). */
function withCode(code: string, body: () => unknown): () => unknown {
  return () => {
    try {
      return body();
    } catch (error) {
      assert.equal((error as RemoteMediaError).code, code);
      throw error;
    }
  };
}

/** Every f32 sample of `outputs`, which it disposes. */
function samplesOf(outputs: RuntimeData[]): number[] {
  const all: number[] = [];
  for (const out of outputs) {
    all.push(...out.asAudio().samples);
    out.dispose();
  }
  return all;
}

/** Runs a one-node manifest over one f32 item and returns the output samples. */
async function runOne(
  node: Manifest["nodes"][number],
  samples: Float32Array,
  sampleRate: number,
  channels = 1,
): Promise<number[]> {
  using input = RuntimeData.audio({ samples, sampleRate, channels });
  return samplesOf(await run({ version: 1, nodes: [node] }, input));
}

/** A sine of `freq` Hz at `rate`, `frames` long, amplitude 0.5. */
function sine(freq: number, rate: number, frames: number): Float32Array {
  return Float32Array.from(
    { length: frames },
    (_, i) => 0.5 * Math.sin(2 * Math.PI * freq * i / rate),
  );
}

/** The rows. */
export const nativeCases: Case[] = [
  {
    area: "data",
    name: "allocBinary(2 ** 40): more than the payload cap (used to abort the process)",
    expect: "RemoteMediaError invalid_argument naming byteLength, the size and the 4 GiB cap",
    run: withCode("invalid_argument", () => RuntimeData.allocBinary(2 ** 40)),
    error:
      /payload too large: binary byteLength = 1099511627776 bytes; the maximum payload size is 4294967296 bytes \(RM_MAX_PAYLOAD_BYTES\)/,
    type: RemoteMediaError,
  },
  {
    area: "data",
    name: "allocAudio with numSamples 2 ** 40 (used to abort the process)",
    expect:
      "RemoteMediaError invalid_argument with numSamples × channels × bytes per sample and the cap",
    run: withCode(
      "invalid_argument",
      () => RuntimeData.allocAudio({ format: "f32", numSamples: 2 ** 40, sampleRate: 16000 }),
    ),
    error:
      /audio numSamples × channels × bytes per sample \(f32\) = 1099511627776 × 1 × 4 = 4398046511104 bytes; the maximum payload size is 4294967296 bytes/,
    type: RemoteMediaError,
  },
  {
    area: "data",
    name: "video whose width × height × 4 wraps around 64 bits to 4 (was accepted with 4 bytes)",
    expect: "RemoteMediaError invalid_argument: the size overflows 64 bits",
    run: withCode("invalid_argument", () =>
      RuntimeData.video({
        width: 1380655685,
        height: 3340214413,
        format: "rgba",
        pixels: new Uint8Array(4),
      })),
    error:
      /rgba video frame 1380655685x3340214413 overflows 64 bits; the maximum payload size is 4294967296 bytes/,
    type: RemoteMediaError,
  },
  {
    area: "manifest",
    name: "Mix with inputs: [] (passed validation, then panicked on the first item)",
    expect: "ManifestError at the node's inputs param: a join node needs at least one input",
    run: () =>
      Session.create({
        version: 1,
        nodes: [{ id: "m", type: "Mix", params: { inputs: [] } }],
      }),
    error:
      /nodes\[0\] "m"\.params\.inputs: expected at least 1 item\(s\), got 0 \(a join node needs at least one input\)/,
    type: ManifestError,
  },
  {
    area: "nodes",
    name: "TextCollector given multi-byte text longer than maxChars (panicked inside a character)",
    expect: "no error: maxChars counts characters and cuts only between them",
    run: async () => {
      const inputs = ["héllo wörld", " 日本語のテキスト🎉"].map((t) => RuntimeData.text(t));
      const outputs = await run({
        version: 1,
        nodes: [{ id: "t", type: "TextCollector", params: { maxChars: 5 } }],
      }, inputs);
      inputs.forEach((d) => d.dispose());
      const texts = outputs.map((d) => d.asText());
      outputs.forEach((d) => d.dispose());
      assert.deepEqual(texts, ["héllo", "wörld", "日本語のテ", "キスト🎉"]);
    },
    error: null,
  },
  {
    area: "nodes",
    name: "Resample given samples of ±3.4e38 (panicked inside rubato's FFT)",
    expect:
      "no error: samples beyond ±1e9 are clamped; the output is finite and of the exact length",
    run: async () => {
      const input = sine(1000, 48000, 960).map((v, i) => i % 2 ? F32_MAX : -F32_MAX * v);
      const out = await runOne(
        { id: "r", type: "Resample", params: { targetRate: 16000 } },
        input,
        48000,
      );
      assert.equal(out.length, 320);
      assert.ok(out.every((v) => Number.isFinite(v) && Math.abs(v) < 1e10));
    },
    error: null,
  },
  {
    area: "nodes",
    name: "Resample at 4294967291 Hz input (blocked the JS thread, grew past 2.5 GB)",
    expect:
      "PipelineError naming the node, the rate and the supported range, before any allocation",
    run: async () => {
      await runOne(
        { id: "r", type: "Resample", params: { targetRate: 16000 } },
        new Float32Array(4),
        4294967291,
      );
    },
    error:
      /node "r" \(Resample\) failed: input sample rate 4294967291 Hz is outside Resample's supported range of 1000\.\.=384000 Hz/,
    type: PipelineError,
  },
  {
    area: "nodes",
    name: "Resample at 1 Hz input",
    expect: "PipelineError naming the rate and the supported range",
    run: async () => {
      await runOne(
        { id: "r", type: "Resample", params: { targetRate: 48000 } },
        new Float32Array(4),
        1,
      );
    },
    error: /input sample rate 1 Hz is outside Resample's supported range of 1000\.\.=384000 Hz/,
    type: PipelineError,
  },
  {
    area: "nodes",
    name:
      "Resample 1 s at 44101 Hz to 16 kHz in 20 ms items (lost the tail; one output per second)",
    expect: "no error: exactly 16000 frames, the first after at most 2 items",
    run: async () => {
      using session = Session.create({
        version: 1,
        nodes: [{ id: "r", type: "Resample", params: { targetRate: 16000 } }],
      });
      const input = sine(1000, 44101, 44101);
      let frames = 0;
      let firstAfter = 0;
      let items = 0;
      const take = (out: RuntimeData): void => {
        frames += out.asAudio().numSamples;
        out.dispose();
        if (firstAfter === 0) firstAfter = items;
      };
      for (let at = 0; at < input.length; at += 882) {
        using item = RuntimeData.audio({
          samples: input.subarray(at, at + 882),
          sampleRate: 44101,
        });
        await session.push(item);
        items++;
        for (let out = session.poll(); out; out = session.poll()) take(out);
      }
      session.close();
      for await (const out of session) take(out);
      assert.equal(frames, 16000);
      assert.ok(firstAfter >= 1 && firstAfter <= 2, `first output after ${firstAfter} items`);
    },
    error: null,
  },
  {
    area: "nodes",
    name: "Gain with clip: false pushing samples past the f32 range (emitted ±Infinity)",
    expect: "no error: results saturate at ±f32::MAX",
    run: async () => {
      const out = await runOne(
        { id: "g", type: "Gain", params: { gain: 1000, clip: false } },
        Float32Array.of(1e36, -1e36, 0.5),
        16000,
      );
      assert.deepEqual(out, [F32_MAX, -F32_MAX, 500]);
    },
    error: null,
  },
  {
    area: "nodes",
    name: "ChannelMix downmix of two channels at f32::MAX (the f32 sum overflowed to Infinity)",
    expect: "no error: the average is summed in f64 and stays finite",
    run: async () => {
      const out = await runOne(
        { id: "c", type: "ChannelMix", params: { mode: "mono" } },
        Float32Array.of(F32_MAX, F32_MAX, -F32_MAX, -F32_MAX),
        16000,
        2,
      );
      assert.deepEqual(out, [F32_MAX, -F32_MAX]);
    },
    error: null,
  },
  {
    area: "nodes",
    name: "Chunker whose frame (frames × channels × 4 bytes) exceeds the payload cap",
    expect:
      "PipelineError at the first item naming the frame size and the cap (padding it aborted)",
    run: async () => {
      await runOne(
        { id: "c", type: "Chunker", params: { frames: 100_000_000, remainder: "pad" } },
        new Float32Array(64),
        16000,
        64,
      );
    },
    error:
      /node "c" \(Chunker\) failed: payload too large: frame frames × channels × bytes per sample \(f32\) = 100000000 × 64 × 4 = 25600000000 bytes/,
    type: PipelineError,
  },
];
