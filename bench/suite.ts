/**
 * The benchmark suite, run once per runtime (`make bench` runs it under Deno and Bun, then
 * `bench/report.ts` merges the results into one table and `bench/results.json`). Every figure is a
 * median of several repetitions, measured side by side with its comparison in the same run.
 * One file (~600 lines) on purpose: the figures are numbered in the order of the README's table, and
 * each benchmark sits next to the comparison it is measured against.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PipelineBuilder, RuntimeData, Session } from "../mod.ts";
import { collectGarbage, memoryUsage, runtime } from "../ffi/runtime.ts";
import { lib } from "../src/native.ts";
import { handoffFigures } from "./handoff.ts";
import { tsHopFigures } from "./ts_hop.ts";
import { decimate, gainClip } from "./ts_impl.ts";

/** One measured figure. */
export interface Figure {
  /** Benchmark number and key, e.g. `2.sync`. */
  id: string;
  /** What was measured. */
  name: string;
  /** The value. */
  value: number;
  /** Its unit. */
  unit: string;
  /** The goal, in words. */
  goal?: string;
  /** Whether the goal was met (when there is one). */
  met?: boolean;
}

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
const work = join(root, "target/bench");
mkdirSync(work, { recursive: true });

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn: () => void, reps = 5): number {
  const runs: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    fn();
    runs.push(performance.now() - t);
  }
  return median(runs);
}

async function timeAsync(fn: () => Promise<void>, reps = 5): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    await fn();
    runs.push(performance.now() - t);
  }
  return median(runs);
}

function rss(): number {
  return memoryUsage().rss;
}

function gc(): void {
  collectGarbage();
}

function sine(frames: number, rate: number, freq = 1000, amp = 0.5): Float32Array {
  const out = new Float32Array(frames);
  const w = (2 * Math.PI * freq) / rate;
  for (let i = 0; i < frames; i++) out[i] = amp * Math.sin(w * i);
  return out;
}

/** SNR in dB of `signal` against an ideal sine, over its middle 80%. */
function snrDb(signal: Float32Array, rate: number, freq = 1000, amp = 0.5): number {
  const from = Math.floor(signal.length * 0.1);
  const to = Math.floor(signal.length * 0.9);
  let s = 0;
  let e = 0;
  const w = (2 * Math.PI * freq) / rate;
  for (let i = from; i < to; i++) {
    const ideal = amp * Math.sin(w * i);
    s += ideal * ideal;
    e += (signal[i] - ideal) ** 2;
  }
  return 10 * Math.log10(s / e);
}

function readWavF32(path: string): Float32Array {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 12; at + 8 <= bytes.length;) {
    const id = String.fromCharCode(...bytes.subarray(at, at + 4));
    const size = view.getUint32(at + 4, true);
    if (id === "data") {
      // Node's Buffer#slice is a view; copy into an aligned buffer of our own.
      const copy = new Uint8Array(bytes.subarray(at + 8, at + 8 + size));
      return new Float32Array(copy.buffer, 0, Math.floor(size / 4));
    }
    at += 8 + size + (size % 2);
  }
  throw new Error(`${path}: no data chunk`);
}

const figures: Figure[] = [];
function add(f: Figure): void {
  figures.push(f);
  console.error(`  ${f.id} ${f.name}: ${f.value} ${f.unit}${f.goal ? ` (goal ${f.goal})` : ""}`);
}

// 1. FFI floor
{
  const s = lib().symbols;
  const n = 5_000_000;
  for (let i = 0; i < 100_000; i++) s.rm_abi_version();
  const ms = time(() => {
    for (let i = 0; i < n; i++) s.rm_abi_version();
  });
  add({
    id: "1",
    name: "empty FFI call (rm_abi_version)",
    value: round((ms * 1e6) / n, 1),
    unit: "ns",
  });
}

// 2. Per-frame round trip
{
  const h = await handoffFigures();
  const sync = h.find((f) => f.name.startsWith("inline: tryPush"))!.usPerFrame;
  const asyncUs = h.find((f) => f.name.startsWith("inline: await"))!.usPerFrame;
  const threaded = h.find((f) => f.name.startsWith("threaded: await"))!.usPerFrame;
  const batched = h.find((f) => f.name.startsWith("threaded: 16"))!.usPerFrame;
  add({
    id: "2.sync",
    name: "20 ms frame through PassThrough, sync (tryPush+poll)",
    value: sync,
    unit: "µs",
    goal: "≤ 2 µs",
    met: sync <= 2,
  });
  add({
    id: "2.async",
    name: "same, async iterator path (await push + next)",
    value: asyncUs,
    unit: "µs",
    goal: "≤ 5 µs",
    met: asyncUs <= 5,
  });
  add({
    id: "2.threaded",
    name: "same, threaded session, one frame per wake",
    value: threaded,
    unit: "µs",
  });
  add({
    id: "2.batched",
    name: "same, threaded session, 16 frames per wake",
    value: batched,
    unit: "µs",
  });
}

// 3. Zero copy
{
  const s = lib().symbols;
  using short = RuntimeData.allocAudio({ format: "f32", numSamples: 960, sampleRate: 48000 });
  using long = RuntimeData.allocAudio({ format: "f32", numSamples: 48000 * 60, sampleRate: 48000 });
  const view = (data: RuntimeData, n: number) =>
    time(() => {
      for (let i = 0; i < n; i++) {
        const d = RuntimeData.fromHandle(s.rm_data_retain(data.handle()));
        d.asAudio().samples;
        d.dispose();
      }
    }) * 1000 / n;
  const shortUs = view(short, 50_000);
  const longUs = view(long, 2_000);
  const samples = long.asAudio().samples as Float32Array;
  const copyUs = time(() => void samples.slice()) * 1000;
  add({
    id: "3.view20ms",
    name: "typed array over a 20 ms output (wrap + view + dispose)",
    value: round(shortUs, 2),
    unit: "µs",
  });
  add({
    id: "3.view60s",
    name: "typed array over a 60 s output (11 MB)",
    value: round(longUs, 2),
    unit: "µs",
  });
  add({
    id: "3.copy60s",
    name: "copying the same 60 s into a fresh array",
    value: round(copyUs, 0),
    unit: "µs",
  });
  const ratio = (longUs / copyUs) * 100;
  add({
    id: "3.ratio",
    name: "60 s view cost as % of the copy",
    value: round(ratio, 3),
    unit: "%",
    goal: "≤ 1 %",
    met: ratio <= 1,
  });
  // Bytes copied across the boundary per frame, from the native counter.
  const session = Session.create({ version: 1, nodes: [{ id: "p", type: "PassThrough" }] });
  const before = s.rm_bytes_copied();
  for (let i = 0; i < 1000; i++) {
    session.tryPush(short);
    session.poll()!.dispose();
  }
  const rustOwned = (s.rm_bytes_copied() - before) / 1000;
  const js = new Float32Array(960);
  const before2 = s.rm_bytes_copied();
  for (let i = 0; i < 1000; i++) {
    using d = RuntimeData.audio({ samples: js, sampleRate: 48000 });
    session.tryPush(d);
    session.poll()!.dispose();
  }
  const fromJs = (s.rm_bytes_copied() - before2) / 1000;
  session.dispose();
  add({
    id: "3.bytesRust",
    name: "bytes copied per frame, native-owned input (allocAudio)",
    value: rustOwned,
    unit: "B",
    goal: "0",
    met: rustOwned === 0,
  });
  add({
    id: "3.bytesJs",
    name: "bytes copied per frame, input from a JS Float32Array",
    value: fromJs,
    unit: "B",
  });
}

// 4. Native vs TS: gain and resampling over 10 minutes
{
  const tenMin = sine(48000 * 600, 48000);
  const second = 48000;
  const gainChunks: RuntimeData[] = [];
  for (let i = 0; i < 600; i++) {
    gainChunks.push(
      RuntimeData.audio({
        samples: tenMin.subarray(i * second, (i + 1) * second),
        sampleRate: 48000,
      }),
    );
  }
  const g = Session.create({
    version: 1,
    nodes: [{ id: "g", type: "Gain", params: { gain: 1.5 } }],
  });
  const nativeGain = time(() => {
    for (const c of gainChunks) {
      g.tryPush(c);
      g.poll()!.dispose();
    }
  }, 5);
  g.dispose();
  gainChunks.forEach((c) => c.dispose());
  const tsGain = time(() => {
    for (let i = 0; i < 600; i++) gainClip(tenMin.subarray(i * second, (i + 1) * second), 1.5);
  }, 5);
  add({
    id: "4.gainNative",
    name: "Gain + clip, 10 min 48 kHz in 1 s items, native node (through FFI)",
    value: round(nativeGain, 1),
    unit: "ms",
  });
  add({ id: "4.gainTs", name: "Gain + clip, same, pure TS", value: round(tsGain, 1), unit: "ms" });
  add({
    id: "4.gainRatio",
    name: "Gain speed-up native vs TS",
    value: round(tsGain / nativeGain, 2),
    unit: "x",
    goal: "≥ 2x",
    met: tsGain / nativeGain >= 2,
  });

  const chunks: RuntimeData[] = [];
  for (let i = 0; i < 600; i++) {
    chunks.push(
      RuntimeData.audio({
        samples: tenMin.subarray(i * second, (i + 1) * second),
        sampleRate: 48000,
      }),
    );
  }
  let nativeOut = new Float32Array(0);
  const resampleNative = (quality: string): void => {
    const session = Session.create(
      {
        version: 1,
        nodes: [{ id: "r", type: "Resample", params: { targetRate: 16000, quality } }],
      },
      { execution: "inline", outputCapacity: 1000 },
    );
    const parts: Float32Array[] = [];
    for (const c of chunks) {
      session.tryPush(c);
      for (let out = session.poll(); out; out = session.poll()) {
        parts.push((out.asAudio().samples as Float32Array).slice());
        out.dispose();
      }
    }
    session.close();
    for (let out = session.poll(); out; out = session.poll()) {
      parts.push((out.asAudio().samples as Float32Array).slice());
      out.dispose();
    }
    session.dispose();
    const total = parts.reduce((n, p) => n + p.length, 0);
    nativeOut = new Float32Array(total);
    let at = 0;
    for (const p of parts) {
      nativeOut.set(p, at);
      at += p.length;
    }
  };
  const nativeMs = time(() => resampleNative("balanced"), 3);
  const nativeSnr = snrDb(nativeOut, 16000);
  const nativeHighMs = time(() => resampleNative("high"), 3);
  const nativeHighSnr = snrDb(nativeOut, 16000);
  let tsOut: Float32Array = new Float32Array(0);
  const tsMs = time(() => void (tsOut = decimate(tenMin, 3)), 3);
  const tsSnr = snrDb(tsOut, 16000);
  let maxDiff = 0;
  for (let i = 1000; i < tsOut.length - 1000; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(tsOut[i] - nativeOut[i]));
  }
  chunks.forEach((c) => c.dispose());
  add({
    id: "4.resNative",
    name: `Resample 48k→16k, 10 min, native balanced (FFT), SNR ${nativeSnr.toFixed(0)} dB`,
    value: round(nativeMs, 0),
    unit: "ms",
  });
  add({
    id: "4.resNativeHigh",
    name: `same, native high (FFT, one 4096-frame block), SNR ${nativeHighSnr.toFixed(0)} dB`,
    value: round(nativeHighMs, 0),
    unit: "ms",
  });
  add({
    id: "4.resTs",
    name: `same, pure TS 253-tap windowed-sinc FIR, SNR ${
      tsSnr.toFixed(0)
    } dB (largest difference from native high ${maxDiff.toExponential(1)})`,
    value: round(tsMs, 0),
    unit: "ms",
  });
  add({
    id: "4.resRatio",
    name: "Resample speed-up native balanced vs TS",
    value: round(tsMs / nativeMs, 1),
    unit: "x",
    goal: "≥ 5x",
    met: tsMs / nativeMs >= 5,
  });
}

// 5. Native resampling vs sox (file to file)
{
  const input = join(work, "sine-10min-48k-f32.wav");
  const soxOut = join(work, "sox-16k.wav");
  const nativeOut = join(work, "native-16k.wav");
  const haveSox = spawnSync("sox", ["--version"]).status === 0;
  if (haveSox) {
    spawnSync("sox", [
      "-n",
      "-r",
      "48000",
      "-c",
      "1",
      "-e",
      "floating-point",
      "-b",
      "32",
      input,
      "synth",
      "600",
      "sine",
      "1000",
      "vol",
      "0.5",
    ]);
    const soxMs = time(() => {
      const r = spawnSync("sox", [
        input,
        "-e",
        "floating-point",
        "-b",
        "32",
        soxOut,
        "rate",
        "-h",
        "16000",
      ]);
      if (r.status !== 0) throw new Error(String(r.stderr));
    }, 3);
    const manifest = new PipelineBuilder()
      .node("read", "WavReader", { path: input, chunkMs: 1000 })
      .node("res", "Resample", { targetRate: 16000 })
      .node("write", "WavWriter", { path: nativeOut })
      .chain("read", "res", "write")
      .build();
    const nativeMs = await timeAsync(async () => {
      await using s = Session.create(manifest); // the reader starts by itself
      for await (const out of s) out.dispose();
    }, 3);
    const soxSnr = snrDb(readWavF32(soxOut), 16000);
    const nativeSnr = snrDb(readWavF32(nativeOut), 16000);
    add({
      id: "5.sox",
      name: `sox rate -h, 10 min file to file, SNR ${soxSnr.toFixed(0)} dB`,
      value: round(soxMs, 0),
      unit: "ms",
    });
    add({
      id: "5.native",
      name: `native WavReader→Resample→WavWriter, SNR ${nativeSnr.toFixed(0)} dB`,
      value: round(nativeMs, 0),
      unit: "ms",
    });
    add({
      id: "5.ratio",
      name: "native throughput relative to sox",
      value: round(soxMs / nativeMs, 2),
      unit: "x",
      goal: "≥ 1x",
      met: soxMs / nativeMs >= 1,
    });
    rmSync(soxOut, { force: true });
    rmSync(nativeOut, { force: true });
  } else {
    console.error("  5: sox not installed, skipped");
  }
}

// 6. Voice front end real-time factor: Silero VAD (the default), then earshot.
{
  const long = join(work, "speech-10min.wav");
  const speech = join(root, "examples/data/speech.wav");
  spawnSync("sox", [...Array(70).fill(speech), long]);
  const frontEnd = async (vad: { model: "silero" | "earshot" }) => {
    const manifest = new PipelineBuilder()
      .node("read", "WavReader", { path: long, chunkMs: 20 })
      .node("mono", "ChannelMix", { mode: "mono" })
      .node("res", "Resample", { targetRate: 16000 })
      .node("vad", "Vad", vad)
      .chain("read", "mono", "res", "vad")
      .build();
    let events = 0;
    const ms = await timeAsync(async () => {
      await using s = Session.create(manifest); // the reader starts by itself
      events = 0;
      for await (const out of s) {
        events++;
        out.dispose();
      }
    }, 3);
    return { rtf: (70 * 8.6 * 1000) / ms, segments: events / 2 };
  };
  const silero = await frontEnd({ model: "silero" });
  add({
    id: "6.rtf",
    name: `stereo 48k WAV → mono → 16k → VAD (Silero), 10 min (${silero.segments} segments)`,
    value: round(silero.rtf, 0),
    unit: "x real time",
    goal: "≥ 500x",
    met: silero.rtf >= 500,
  });
  const earshot = await frontEnd({ model: "earshot" });
  add({
    id: "6.earshot",
    name: `the same with \`model: "earshot"\` (${earshot.segments} segments)`,
    value: round(earshot.rtf, 0),
    unit: "x real time",
    goal: "≥ 1000x",
    met: earshot.rtf >= 1000,
  });
}

// 7. TS node hop
{
  const f = await tsHopFigures();
  add({
    id: "7.hop",
    name: "extra cost of a TS passthrough node between native nodes, per 20 ms frame",
    value: f.hopUs,
    unit: "µs",
    goal: "≤ 10 µs",
    met: f.hopUs <= 10,
  });
}

// 7b. Tracing overhead: the same sync per-frame path with a tracer attached (events recorded).
{
  using frame = RuntimeData.allocAudio({ format: "f32", numSamples: 960, sampleRate: 48000 });
  const perFrame = (session: Session, n: number) =>
    time(() => {
      for (let i = 0; i < n; i++) {
        session.tryPush(frame);
        session.poll()!.dispose();
      }
    }) * 1000 / n;
  const m = { version: 1 as const, nodes: [{ id: "p", type: "PassThrough" }] };
  const plain = Session.create(m);
  let spans = 0;
  const traced = Session.create(m, { tracer: { onSpan: () => void spans++ } });
  perFrame(plain, 20_000);
  perFrame(traced, 20_000);
  const a = perFrame(plain, 100_000);
  const b = perFrame(traced, 100_000);
  plain.dispose();
  traced.dispose();
  add({
    id: "7.trace",
    name: "tracing overhead per frame (PassThrough, sync path, tracer attached)",
    value: round(b - a, 2),
    unit: "µs",
  });
}

// 8. Memory
{
  const session = Session.create({ version: 1, nodes: [{ id: "p", type: "PassThrough" }] });
  using frame = RuntimeData.allocAudio({ format: "f32", numSamples: 960, sampleRate: 48000 });
  for (let i = 0; i < 50_000; i++) {
    session.tryPush(frame);
    session.poll()!.dispose();
  }
  gc();
  const before = rss();
  for (let i = 0; i < 1_000_000; i++) {
    session.tryPush(frame);
    session.poll()!.dispose();
  }
  gc();
  const growth = (rss() - before) / 1048576;
  session.dispose();
  add({
    id: "8.growth",
    name: "RSS growth over 1,000,000 frames through a session",
    value: round(growth, 2),
    unit: "MB",
    goal: "≤ 5 MB",
    met: growth <= 5,
  });
  const manifest = new PipelineBuilder()
    .node("mono", "ChannelMix").node("res", "Resample", { targetRate: 16000 }).node("vad", "Vad")
    .chain("mono", "res", "vad").build();
  gc();
  const r0 = rss();
  const sessions = Array.from({ length: 1000 }, () => Session.create(manifest));
  gc();
  const perSession = (rss() - r0) / 1000 / 1024;
  sessions.forEach((s) => s.dispose());
  add({
    id: "8.idle",
    name: "memory per idle session (ChannelMix → Resample → Vad)",
    value: round(perSession, 1),
    unit: "KiB",
    goal: "≤ 64 KiB",
    met: perSession <= 64,
  });
  // Idle threaded sessions, in a fresh process (tests/idle_threaded_script.ts): the worker pool runs
  // them, so their number adds no OS thread (one per session before the pool).
  const cmd = runtime === "bun"
    ? [join(root, "node_modules/.bin/bun"), "run"]
    : [join(root, "node_modules/.bin/deno"), "run", "-A"];
  const idle = spawnSync(cmd[0], [...cmd.slice(1), "tests/idle_threaded_script.ts", "1000"], {
    cwd: root,
    encoding: "utf8",
  });
  const r = JSON.parse(idle.stdout.trim().split("\n").at(-1)!);
  const threads = r.threadsIdle - r.threadsBefore;
  add({
    id: "8.idleThreads",
    name: `OS threads added by 1,000 idle threaded sessions (worker pool of ${r.pool.size})`,
    value: threads,
    unit: "threads",
    goal: "≤ pool size",
    met: threads <= r.pool.size,
  });
  add({
    id: "8.idleThreaded",
    name: "memory per idle threaded session (same graph)",
    value: round((r.rssIdle - r.rssBefore) / 1000 / 1024, 1),
    unit: "KiB",
  });
}

// 9. Concurrency: sessions on worker threads
{
  const workerUrl = new URL("./worker.ts", import.meta.url).href;
  const runWorkers = (n: number, frames: number) =>
    new Promise<number>((resolve, reject) => {
      let done = 0;
      const start = performance.now();
      for (let i = 0; i < n; i++) {
        const w = new Worker(workerUrl, { type: "module" });
        w.onmessage = () => {
          w.terminate();
          if (++done === n) resolve(performance.now() - start);
        };
        w.onerror = (e) => reject(e);
        w.postMessage({ frames });
      }
    });
  await runWorkers(1, 200); // warm-up
  const frames = 3000;
  const one = median([
    await runWorkers(1, frames * 2),
    await runWorkers(1, frames * 2),
    await runWorkers(1, frames * 2),
  ]);
  const two = median([
    await runWorkers(2, frames),
    await runWorkers(2, frames),
    await runWorkers(2, frames),
  ]);
  add({
    id: "9.scaling",
    name: "2 sessions on 2 workers vs 1 worker, same total work (2 cores)",
    value: round(one / two, 2),
    unit: "x throughput",
  });
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

const outFile = join(work, `results-${runtime}.json`);
writeFileSync(outFile, JSON.stringify({ runtime, figures }, null, 2));
console.error(`wrote ${outFile}`);
