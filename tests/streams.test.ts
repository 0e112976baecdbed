// Inline stream sources and sinks are object literals whose return types are obvious from use.
// deno-lint-ignore-file explicit-function-return-type
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  pcmFrames,
  Pipeline,
  PipelineBuilder,
  RuntimeData,
  Session,
  type SessionEvent,
  type TraceSpan,
  wavFrames,
  wavStream,
} from "../mod.ts";

import { lib } from "../src/native.ts";
import {
  chunk,
  encode,
  readWithWavFrames,
  readWithWavReader,
  wavFile,
  type WavSpec,
} from "./reliability_wav.ts";

const speech = readFileSync(new URL("../examples/data/speech.wav", import.meta.url));
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

async function collect<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of stream as unknown as AsyncIterable<T>) out.push(x);
  return out;
}

describe("Web Streams", () => {
  test("pipeThrough(pipeline.transform()).pipeTo(sink) runs a pipeline", async () => {
    const pipeline = Pipeline.from(
      new PipelineBuilder().node("up", "TextTransform", { op: "upper" }).build(),
    );
    const source = new ReadableStream<RuntimeData>({
      start(c) {
        for (const w of ["a", "b", "c"]) c.enqueue(RuntimeData.text(w));
        c.close();
      },
    });
    const seen: string[] = [];
    const transform = pipeline.transform();
    assert.ok(transform instanceof TransformStream);
    await source.pipeThrough(transform).pipeTo(
      new WritableStream({
        write(d) {
          seen.push(d.asText());
          d.dispose();
        },
      }),
    );
    assert.deepEqual(seen, ["A", "B", "C"]);
  });

  test("backpressure flows through: a slow sink slows a counting source, memory stays bounded", async () => {
    let produced = 0;
    let consumed = 0;
    let maxAhead = 0;
    const source = new ReadableStream<RuntimeData>({
      pull(c) {
        if (produced === 300) return c.close();
        c.enqueue(RuntimeData.json(produced++));
      },
    }, { highWaterMark: 1 });
    const pipeline = Pipeline.from({ version: 1, nodes: [{ id: "p", type: "PassThrough" }] });
    const values: number[] = [];
    await source.pipeThrough(pipeline.transform({ inputCapacity: 4, outputCapacity: 4 })).pipeTo(
      new WritableStream({
        async write(d) {
          values.push(d.asJson<number>());
          d.dispose();
          consumed++;
          maxAhead = Math.max(maxAhead, produced - consumed);
          if (consumed % 25 === 0) await tick(2);
        },
      }, { highWaterMark: 1 }),
    );
    assert.deepEqual(values, Array.from({ length: 300 }, (_, i) => i));
    assert.ok(maxAhead <= 16, `source ran at most a few items ahead of the sink, saw ${maxAhead}`);
  });

  test("session.readable/writable and cancelling the readable aborts the session", async () => {
    const session = Session.create({ version: 1, nodes: [{ id: "p", type: "PassThrough" }] });
    const writer = session.writable.getWriter();
    await writer.write(RuntimeData.text("x"));
    const reader = session.readable.getReader();
    const first = await reader.read();
    assert.equal(first.value?.asText(), "x");
    first.value?.dispose();
    await reader.cancel();
    assert.equal(session.finished, true);
    session.dispose();
  });

  test("wavFrames parses a WAV stream into frames; wavStream writes one back", async () => {
    const frames = await collect(wavFrames(new Blob([speech]).stream(), { frameMs: 20 }));
    assert.equal(frames[0].asAudio().sampleRate, 48000);
    assert.equal(frames[0].asAudio().channels, 2);
    assert.equal(frames[0].asAudio().numSamples, 960);
    assert.equal(frames[1].asAudio().timestampUs, 20_000);
    const total = frames.reduce((n, f) => n + f.asAudio().numSamples, 0);
    assert.equal(total, (speech.length - 44) / 4);
    const bytes = new Uint8Array(
      await new Response(wavStream(ReadableStream.from(frames))).arrayBuffer(),
    );
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "RIFF");
    assert.deepEqual(bytes.subarray(44), new Uint8Array(speech.subarray(44)), "samples round-trip");
    // A streamed WAV (unknown length) parses back too.
    const again = await collect(wavFrames(bytes));
    assert.equal(again.reduce((n, f) => n + f.asAudio().numSamples, 0), total);
    again.forEach((f) => f.dispose());
  });

  test("pcmFrames cuts raw PCM into frames and rejects a non-WAV stream clearly", async () => {
    const pcm = new Uint8Array(new Int16Array(1000).buffer);
    const frames = await collect(
      pcmFrames(pcm, { format: "i16", sampleRate: 16000 }, { frameMs: 20 }),
    );
    assert.deepEqual(frames.map((f) => f.asAudio().numSamples), [320, 320, 320, 40]);
    frames.forEach((f) => f.dispose());
    await assert.rejects(
      collect(wavFrames(new TextEncoder().encode("hello world, not a wav"))),
      /not a WAV stream/,
    );
  });

  test("an HTTP handler streams a processed WAV back over a real loopback request", async () => {
    const { serve } = await import("../examples/http_server.ts");
    const server = await serve(0);
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/`, {
        method: "POST",
        body: speech,
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "audio/wav");
      const frames = await collect(wavFrames(response));
      const audio = frames[0].asAudio();
      assert.equal(audio.sampleRate, 16000);
      assert.equal(audio.channels, 1);
      const seconds = frames.reduce((n, f) => n + f.asAudio().numSamples, 0) / 16000;
      assert.ok(Math.abs(seconds - 8.6) < 0.05, `${seconds} s`);
      frames.forEach((f) => f.dispose());
    } finally {
      await server.close();
    }
  });
});

test("a signal passed to push() and next() aborts the session while they wait", async () => {
  const session = Session.create({ version: 1, nodes: [{ id: "p", type: "PassThrough" }] }, {
    inputCapacity: 1,
    outputCapacity: 1,
  });
  const controller = new AbortController();
  const waiting = session.next({ signal: controller.signal });
  controller.abort(new Error("user hung up"));
  await assert.rejects(waiting, /user hung up/);
  assert.equal(session.finished, true);
  session.dispose();
  const full = Session.create({ version: 1, nodes: [{ id: "p", type: "PassThrough" }] }, {
    inputCapacity: 1,
    outputCapacity: 1,
  });
  using item = RuntimeData.text("x");
  for (let i = 0; i < 3; i++) full.tryPush(item);
  await assert.rejects(
    full.push(item, { signal: AbortSignal.timeout(10) }),
    /timed out|TimeoutError/,
  );
  assert.equal(full.finished, true);
  full.dispose();
});

describe("observability", () => {
  test("events arrive in order for a speech WAV: speech start before end, timestamps increasing", async () => {
    const session = Session.create(
      new PipelineBuilder()
        .node("mono", "ChannelMix")
        .node("res", "Resample", { targetRate: 16000 })
        .node("vad", "Vad")
        .chain("mono", "res", "vad")
        .build(),
    );
    const events: SessionEvent[] = [];
    const listening = (async () => {
      for await (const e of session.events()) events.push(e);
    })();
    await tick(1);
    const feeding = wavFrames(speech).pipeTo(session.writable);
    for await (const out of session) out.dispose();
    await feeding;
    await listening;
    const speechEvents = events.filter((e) => e.type === "speech_start" || e.type === "speech_end");
    assert.deepEqual(
      speechEvents.map((e) => e.type),
      ["speech_start", "speech_end", "speech_start", "speech_end", "speech_start", "speech_end"],
    );
    const at = events.map((e) => e.atUs);
    assert.deepEqual(at, [...at].sort((a, b) => a - b), "recorded in order");
    assert.deepEqual(
      events.filter((e) => e.type === "node_started").map((e) => e.node),
      ["mono", "res", "vad"],
      "native node starts are replayed first",
    );
    assert.deepEqual(events.slice(0, 3).map((e) => e.type), Array(3).fill("node_started"));
    assert.deepEqual(
      events.filter((e) => e.type === "node_finished").map((e) => e.node),
      ["mono", "res", "vad"],
    );
    const processEvents = events.filter((e) => e.type === "process");
    assert.ok(
      processEvents.some((e) => e.node === "vad") && processEvents.some((e) => e.node === "res"),
    );
    session.dispose();
  });

  test("stats are consistent with the items pushed, with latency percentiles", async () => {
    const session = Session.create(
      new PipelineBuilder().node("g", "Gain").node("c", "Chunker", { frames: 80 }).chain("g", "c")
        .build(),
    );
    for (let i = 0; i < 50; i++) {
      using f = RuntimeData.audio({ samples: new Float32Array(160), sampleRate: 16000 });
      await session.push(f);
    }
    session.close();
    let outputs = 0;
    for await (const out of session) {
      assert.ok(out.latencyUs! >= 0);
      out.dispose();
      outputs++;
    }
    const stats = session.stats();
    assert.equal(stats.pushed, 50);
    assert.equal(stats.taken, outputs);
    assert.equal(stats.nodes[0].itemsIn, 50);
    assert.equal(stats.nodes[1].itemsOut, 100);
    assert.ok(
      stats.nodes[0].p50Ms <= stats.nodes[0].p95Ms && stats.nodes[0].p95Ms <= stats.nodes[0].maxMs,
    );
    assert.ok(
      stats.latencyUs.p50 <= stats.latencyUs.p95 && stats.latencyUs.p95 <= stats.latencyUs.max,
    );
    session.dispose();
  });

  test("a tracer gets one span per node call", async () => {
    const spans: TraceSpan[] = [];
    const session = Session.create(
      new PipelineBuilder().node("a", "Gain").node("b", "Gain").chain("a", "b").build(),
      { tracer: { onSpan: (s) => spans.push(s) } },
    );
    for (let i = 0; i < 5; i++) {
      using f = RuntimeData.audio({ samples: new Float32Array(960), sampleRate: 48000 });
      await session.push(f);
    }
    session.close();
    for await (const out of session) out.dispose();
    // Five process calls and the flush at end of stream, per node.
    assert.equal(spans.filter((s) => s.nodeId === "a").length, 6);
    assert.equal(spans.filter((s) => s.nodeId === "b").length, 6);
    for (const s of spans) assert.ok(s.endTime >= s.startTime && s.name === `node:${s.nodeId}`);
    session.dispose();
  });
});

describe("WAV parsing (one native parser behind wavFrames and WavReader)", () => {
  const sine = (frames: number, channels: number) =>
    Array.from(
      { length: frames * channels },
      (_, i) =>
        0.5 *
        Math.sin((2 * Math.PI * (440 + 110 * (i % channels)) * Math.floor(i / channels)) / 48000),
    );

  test("a 24-bit 0.5 sine round-trips through wavFrames within 1e-6", async () => {
    const input = sine(48000, 2);
    const got = await readWithWavFrames(wavFile(encode(input, { bits: 24, channels: 2 }), {
      bits: 24,
      channels: 2,
    }));
    assert.equal(got.items.length, 50);
    assert.ok(got.items.every((d, i) => d === `i32 48000 Hz 2 ch 960 @${i * 20000}`));
    assert.equal(got.samples.length, input.length);
    let worst = 0;
    for (let i = 0; i < input.length; i++) {
      worst = Math.max(worst, Math.abs(got.samples[i] / 2 ** 31 - input[i]) / 0.5);
    }
    assert.ok(worst < 1e-6, `largest relative error ${worst}`);
  });

  const specs: [string, WavSpec][] = [
    ["8-bit", { bits: 8 }],
    ["16-bit", { bits: 16 }],
    ["24-bit", { bits: 24 }],
    ["32-bit", { bits: 32 }],
    ["float", { code: 3, bits: 32 }],
    ["extensible 24-bit", { bits: 24, extensible: true }],
    ["extensible float", { code: 3, bits: 32, extensible: true }],
  ];
  for (const [name, spec] of specs) {
    test(`wavFrames and WavReader give identical frames for a ${name} stereo file`, async () => {
      const full = { ...spec, channels: 2, sampleRate: 44100 };
      const bytes = wavFile(encode(sine(2000, 2), full), full);
      const stream = await readWithWavFrames(bytes);
      const node = await readWithWavReader(bytes);
      assert.deepEqual(stream.items, node.items);
      assert.deepEqual(stream.samples, node.samples);
      assert.equal(stream.items.length, 3, "882 + 882 + 236 frames");
      assert.equal(stream.samples.length, 4000);
    });
  }

  test("any chunking of the source gives the same frames", async () => {
    const spec: WavSpec = { bits: 24, channels: 3 };
    const bytes = wavFile(encode(sine(1000, 3), spec), spec);
    const whole = await readWithWavFrames(bytes, 5);
    for (const size of [1, 2, 7, 4096]) {
      const pieces = new ReadableStream<Uint8Array>({
        start(c) {
          for (let at = 0; at < bytes.length; at += size) c.enqueue(bytes.slice(at, at + size));
          c.close();
        },
      });
      assert.deepEqual(await readWithWavFrames(pieces, 5), whole, `pieces of ${size} bytes`);
    }
  });

  test("a truncated file gives the frames before the cut, then a ShapeError with both byte counts", async () => {
    const spec: WavSpec = { bits: 16 };
    const bytes = wavFile(encode(sine(4800, 1), spec), spec); // 9600 data bytes, 5 frames of 20 ms
    const frames: RuntimeData[] = [];
    const reading = (async () => {
      for await (const f of wavFrames(bytes.subarray(0, 44 + 5000))) frames.push(f);
    })();
    await assert.rejects(reading, {
      name: "ShapeError",
      message: "WAV data chunk declares 9600 bytes, the stream ended after 5000 of them",
    });
    assert.deepEqual(frames.map((f) => f.asAudio().numSamples), [960, 960]);
    frames.forEach((f) => f.dispose());
  });

  test("a 50 MB skipped chunk is never held: the native parser stays under a few bytes", () => {
    const native = lib().symbols;
    const parser = native.rm_wav_parser_create(20);
    try {
      const head = wavFile(new Uint8Array(0), {
        bits: 16,
        before: [chunk("LIST", new Uint8Array(0), 50 << 20)],
      });
      assert.equal(native.rm_wav_parser_push(parser, head.subarray(0, 20), 20), 0);
      const piece = new Uint8Array(64 * 1024);
      for (let i = 0; i < (50 << 20) / piece.length; i++) {
        assert.equal(native.rm_wav_parser_push(parser, piece, piece.length), 0);
      }
      const info = new Float64Array(11);
      native.rm_wav_parser_info(parser, info, info.length);
      const [phase, , , , , pushed, skipped, copied, held, peak] = info;
      assert.deepEqual(
        { phase, pushed, skipped, copied, held, peak },
        { phase: 0, pushed: 20 + (50 << 20), skipped: 50 << 20, copied: 20, held: 0, peak: 12 },
      );
    } finally {
      native.rm_wav_parser_free(parser);
    }
  });

  test("wavFrames stops reading its source once the data chunk ended", async () => {
    const spec: WavSpec = { bits: 16 };
    const bytes = wavFile(encode(sine(960, 1), spec), spec);
    let cancelled = false;
    let pulls = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        pulls++;
        c.enqueue(pulls === 1 ? bytes : new Uint8Array(1024)); // trailing bytes that never end
      },
      cancel() {
        cancelled = true;
      },
    }, { highWaterMark: 0 });
    const got = await readWithWavFrames(source);
    assert.deepEqual(got.items, ["i16 48000 Hz 1 ch 960 @0"]);
    assert.ok(cancelled && pulls === 1, `cancelled ${cancelled} after ${pulls} pulls`);
  });
});
