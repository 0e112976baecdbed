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
    const server = serve(0);
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
    assert.equal(spans.filter((s) => s.nodeId === "a").length, 5);
    assert.equal(spans.filter((s) => s.nodeId === "b").length, 5);
    for (const s of spans) assert.ok(s.endTime >= s.startTime && s.name === `node:${s.nodeId}`);
    session.dispose();
  });
});
