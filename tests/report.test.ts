/**
 * The timeline report (`record: true`, `reportData()`, `report()`): the report of a known run (speech.wav
 * through the voice front end) holds the speech segments a plain session finds and one lane per node
 * with its calls; a session that does not record records nothing and refuses a report; the recording
 * stays within its caps over hours of synthetic audio; `events()` and a tracer still see every event
 * while a session records. The page itself is drawn in a browser by tests/report_browser.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Manifest,
  REPORT_LIMITS,
  type ReportData,
  RuntimeData,
  Session,
  type SessionEvent,
  wavFrames,
} from "../mod.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
const speechWav = join(root, "examples/data/speech.wav");

/** The voice front end with pushed input: stereo 48 kHz → mono → 16 kHz → Vad events. */
const frontEnd: Manifest = {
  version: 1,
  name: "voice-front-end",
  nodes: [
    { id: "mono", type: "ChannelMix", params: { mode: "mono" } },
    { id: "resample", type: "Resample", params: { targetRate: 16000 } },
    { id: "vad", type: "Vad", params: { mode: "events" } },
  ],
  connections: [{ from: "mono", to: "resample" }, { from: "resample", to: "vad" }],
};

interface Segment {
  startUs: number;
  endUs: number;
}

/** Pushes speech.wav in 20 ms frames while taking the outputs; returns the speech segments seen. */
async function runSpeech(session: Session): Promise<Segment[]> {
  const bytes = readFileSync(speechWav);
  const source = new ReadableStream<Uint8Array>({
    start(controller): void {
      controller.enqueue(new Uint8Array(bytes));
      controller.close();
    },
  });
  const feeding = (async () => {
    for await (const frame of wavFrames(source, { frameMs: 20 })) {
      try {
        await session.push(frame);
      } finally {
        frame.dispose();
      }
    }
    session.close();
  })();
  const segments: Segment[] = [];
  for await (const out of session) {
    const e = out.asJson<{ type: string; startUs: number; endUs: number }>();
    if (e.type === "speech_end") segments.push({ startUs: e.startUs, endUs: e.endUs });
    out.dispose();
  }
  await feeding;
  return segments;
}

test("the report of the voice front end holds its speech segments and node lanes", async () => {
  const plain = Session.create(frontEnd);
  const expected = await runSpeech(plain);
  const plainStats = plain.stats();
  plain.dispose();
  assert.ok(expected.length >= 2, `speech.wav has speech segments, got ${expected.length}`);

  const session = Session.create(frontEnd, { record: true });
  const segments = await runSpeech(session);
  assert.deepEqual(segments, expected, "recording does not change what the session does");
  const data: ReportData = session.reportData();
  session.dispose();
  assert.deepEqual(session.reportData().nodes, data.nodes, "the report outlives the session");
  const html = session.report();
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /id="report-data"/);
  assert.doesNotMatch(html, /\b(src|href)=/, "nothing is loaded from elsewhere");

  assert.equal(data.version, 1);
  assert.equal(data.clock, "audio");
  const fromReport = data.events.filter((e) => e.type === "speech_end").map((e) => ({
    startUs: (e as { startUs: number }).startUs,
    endUs: (e as { endUs: number }).endUs,
  }));
  assert.deepEqual(fromReport, expected);
  assert.equal(
    data.events.filter((e) => e.type === "speech_start").length,
    expected.length,
  );
  assert.deepEqual(data.nodes.map((n) => [n.id, n.type]), [
    ["mono", "ChannelMix"],
    ["resample", "Resample"],
    ["vad", "Vad"],
  ]);
  for (const node of data.nodes) {
    const calls = node.calls.values.count.reduce((a, b) => a + b, 0);
    const stats = plainStats.nodes.find((n) => n.id === node.id)!;
    // One process event per item a plain session's node received, and one for the final flush.
    assert.equal(calls, stats.itemsIn + 1, `${node.id}: ${calls} calls, ${stats.itemsIn} items in`);
    assert.ok(node.calls.values.maxUs.some((v) => v > 0));
    assert.equal(node.calls.values.totalUs.length, node.calls.values.count.length);
  }
  assert.deepEqual(
    data.stats.map((n) => [n.id, n.itemsIn]),
    plainStats.nodes.map((n) => [n.id, n.itemsIn]),
  );
  // speech.wav lasts about 9.5 s; its envelope is in [-1, 1] and not silent.
  assert.ok(data.input);
  assert.ok(data.durationUs > 5e6 && data.durationUs < 60e6, `duration ${data.durationUs}`);
  assert.ok(data.input.values.max.some((v) => v > 0.05));
  assert.ok(
    data.input.values.min.every((v) => v >= -1) && data.input.values.max.every((v) => v <= 1),
  );
  assert.equal(data.output, undefined, "the front end returns events, not audio");
  assert.deepEqual(data.manifest, frontEnd);
  assert.equal(data.lost.nativeEvents, 0);
});

test("a session that does not record records nothing and refuses a report", async () => {
  const session = Session.create({ version: 1, nodes: [{ id: "p", type: "PassThrough" }] });
  for (let i = 0; i < 5; i++) {
    using frame = RuntimeData.audio({ samples: new Float32Array(320), sampleRate: 16000 });
    await session.push(frame);
  }
  session.close();
  for await (const out of session) out.dispose();
  // The native event log was never switched on: a listener arriving now finds no past calls.
  const late: SessionEvent[] = [];
  for await (const e of session.events()) late.push(e);
  assert.deepEqual(late.filter((e) => e.type === "process"), []);
  assert.throws(() => session.reportData(), { name: "RemoteMediaError", code: "invalid_argument" });
  assert.throws(() => session.report(), { code: "invalid_argument" });
  session.dispose();
});

test("a recording stays within its caps over hours of audio", async () => {
  const manifest: Manifest = {
    version: 1,
    nodes: [{ id: "p", type: "PassThrough" }, { id: "q", type: "PassThrough" }],
    connections: [{ from: "p", to: "q" }],
  };
  const sizes: number[] = [];
  for (const seconds of [600, 4 * 3600]) {
    const session = Session.create(manifest, { record: true, execution: "inline" });
    // One-second frames of a 1 kHz-ish tone at 8 kHz: hours of audio in a few thousand pushes.
    const samples = new Float32Array(8000);
    for (let i = 0; i < samples.length; i++) samples[i] = 0.5 * Math.sin(i * 0.8);
    for (let s = 0; s < seconds; s++) {
      using frame = RuntimeData.audio({ samples, sampleRate: 8000, timestampUs: s * 1e6 });
      await session.push(frame);
      for (let out = session.poll(); out; out = session.poll()) out.dispose();
    }
    session.close();
    for await (const out of session) out.dispose();
    const data = session.reportData();
    session.dispose();
    assert.equal(data.durationUs, seconds * 1e6);
    assert.ok(data.input!.values.max.length <= REPORT_LIMITS.waveformColumns);
    assert.ok(data.output!.values.max.length <= REPORT_LIMITS.waveformColumns);
    assert.ok(data.input!.values.max.length > REPORT_LIMITS.waveformColumns / 4);
    for (const node of data.nodes) {
      assert.ok(node.calls.values.count.length <= REPORT_LIMITS.callBuckets);
      assert.ok(node.queue.values.max.length <= REPORT_LIMITS.queueBuckets);
      // One call per item, and one more: the flush at the end of the stream.
      assert.equal(node.calls.values.count.reduce((a, b) => a + b, 0), seconds + 1, node.id);
    }
    sizes.push(JSON.stringify(data).length);
  }
  // 24x the audio, the same space (within the rounding of the bucket widths).
  assert.ok(sizes[1] < sizes[0] * 1.5, `10 min: ${sizes[0]} B, 4 h: ${sizes[1]} B`);
  assert.ok(sizes[1] < 1_000_000, `4 h: ${sizes[1]} B`);
});

test("events() and a tracer see every event while the session records", async () => {
  const manifest: Manifest = { version: 1, nodes: [{ id: "p", type: "PassThrough" }] };
  const session = Session.create(manifest, { record: true });
  const seen: SessionEvent[] = [];
  const listening = (async () => {
    for await (const e of session.events()) seen.push(e);
  })();
  for (let i = 0; i < 40; i++) {
    using frame = RuntimeData.audio({ samples: new Float32Array(160), sampleRate: 8000 });
    await session.push(frame);
    for (let out = session.poll(); out; out = session.poll()) out.dispose();
  }
  session.close();
  for await (const out of session) out.dispose();
  await listening;
  const data = session.reportData();
  session.dispose();
  // 40 calls and the flush, seen by both.
  assert.equal(seen.filter((e) => e.type === "process").length, 41);
  assert.equal(data.nodes[0].calls.values.count.reduce((a, b) => a + b, 0), 41);

  let spans = 0;
  const traced = Session.create(manifest, { record: true, tracer: { onSpan: () => spans++ } });
  for (let i = 0; i < 30; i++) {
    using frame = RuntimeData.audio({ samples: new Float32Array(160), sampleRate: 8000 });
    await traced.push(frame);
    for (let out = traced.poll(); out; out = traced.poll()) out.dispose();
  }
  traced.close();
  for await (const out of traced) out.dispose();
  const tracedData = traced.reportData();
  traced.dispose();
  assert.equal(spans, 31);
  assert.equal(tracedData.nodes[0].calls.values.count.reduce((a, b) => a + b, 0), 31);
});

test("a threaded session reading its own file records every call (no push, few outputs)", async () => {
  const manifest: Manifest = {
    version: 1,
    nodes: [
      { id: "read", type: "WavReader", params: { path: speechWav, chunkMs: 10 } },
      ...frontEnd.nodes,
    ],
    connections: [{ from: "read", to: "mono" }, ...frontEnd.connections!],
  };
  const session = Session.create(manifest, { record: true });
  assert.ok(session.threaded);
  let speech = 0;
  for await (const out of session) {
    if (out.asJson<{ type: string }>().type === "speech_end") speech++;
    out.dispose();
  }
  await session.done;
  const data = session.reportData();
  const stats = session.stats();
  session.dispose();
  assert.equal(data.clock, "session");
  assert.equal(data.input, undefined);
  assert.equal(data.events.filter((e) => e.type === "speech_end").length, speech);
  assert.ok(speech >= 2);
  assert.equal(data.lost.nativeEvents, 0);
  for (const node of data.nodes.slice(1)) {
    const calls = node.calls.values.count.reduce((a, b) => a + b, 0);
    const itemsIn = stats.nodes.find((n) => n.id === node.id)!.itemsIn;
    assert.equal(calls, itemsIn + 1, node.id);
  }
});
