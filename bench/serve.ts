/**
 * Sessions per core (`make bench-serve`, also run by `make bench`): the voice front end (stereo 48 kHz
 * → mono → 16 kHz → Vad) served by `serve()` in a server process, N WebSocket sessions opened
 * by this process (the clients), each fed 20 ms frames of a speech recording on a real-time clock.
 * N goes up in steps until the p99 frame latency passes 20 ms or the server drops frames; the
 * largest N that passed is the result, with the server's memory per session and the CPU used by the
 * server, the clients and everything else on the machine (other jobs share it) during the step.
 *
 * Latency is measured end to end, push to output, on the client: which input frame makes each output
 * (an event or a frame of audio) come out is known from a local run of the same manifest on the same
 * frames (pushed one by one, outputs counted after each), so the latency of the k-th output of a
 * session is the time from sending the frame that triggers it to receiving it — client → server
 * socket, the server's queue, the pipeline, the server → client socket.
 *
 * With `SERVE_BENCH_MODE=events` the Vad emits its events only (the front end as a voice agent uses
 * it): latency is then measured on those (six per pass over the recording).
 *
 * Environment: `SERVE_BENCH_RUNTIMES` (deno,bun), `SERVE_BENCH_EXECUTIONS` (threaded,inline),
 * `SERVE_BENCH_MODELS` (earshot,silero), `SERVE_BENCH_START` (100), `SERVE_BENCH_STEP` (100),
 * `SERVE_BENCH_MAX` (3000), `SERVE_BENCH_WINDOW_S` (10), `SERVE_BENCH_SERVER_FLAGS` (extra runtime flags
 * for the server, comma-separated: a profiler). Results: printed as a Markdown table and
 * written to `target/bench/serve.json`.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { type Manifest, nodeTypes, RuntimeData, Session, wavFrames } from "../mod.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const list = (name: string, fallback: string) => env(name, fallback).split(",").filter(Boolean);
const FRAME_MS = 20;
const LIMIT_MS = 20;
const WINDOW_MS = Number(env("SERVE_BENCH_WINDOW_S", "10")) * 1000;
const SETTLE_MS = 3000;
/** The Vad's mode: `pass` (events + every frame's audio: every frame's latency) or `events`. */
const MODE = env("SERVE_BENCH_MODE", "pass");
const RING = 1024; // send times kept per session (20 s of frames)
const CLK_TCK = 100; // /proc/<pid>/stat ticks per second (Linux)

// ---------------------------------------------------------------------------------------------------
// The input and the local reference run

/** The speech recording's 20 ms frames as i16 bytes (48 kHz stereo: 3840 bytes). */
async function speechFrames(): Promise<Uint8Array<ArrayBuffer>[]> {
  const frames: Uint8Array<ArrayBuffer>[] = [];
  const bytes = readFileSync(join(root, "examples/data/speech.wav"));
  for await (const frame of wavFrames(bytes, { frameMs: FRAME_MS })) {
    const s = frame.asAudio().samples;
    frames.push(new Uint8Array(s.buffer, s.byteOffset, s.byteLength).slice());
    frame.dispose();
  }
  return frames;
}

/**
 * The voice front end. The Vad runs in `pass` mode: besides its events it emits the 16 kHz audio of
 * every frame, so every frame's latency is measured (events alone come a few times per utterance).
 */
function manifestFor(model: string | null): Manifest {
  const mode = MODE;
  return {
    version: 1,
    nodes: [
      { id: "mono", type: "ChannelMix", params: { mode: "mono" } },
      { id: "res", type: "Resample", params: { targetRate: 16000 } },
      { id: "vad", type: "Vad", params: model ? { mode, model } : { mode } },
    ],
    connections: [{ from: "mono", to: "res" }, { from: "res", to: "vad" }],
  };
}

/**
 * For `loops` passes over `frames`, the global index of the frame after whose push each output
 * appears (an inline session, outputs counted after every push).
 */
function triggerMap(
  manifest: Manifest,
  frames: Uint8Array<ArrayBuffer>[],
  loops: number,
): Int32Array {
  const triggers: number[] = [];
  const session = Session.create(manifest, { execution: "inline" });
  try {
    for (let i = 0; i < loops * frames.length; i++) {
      const bytes = frames[i % frames.length];
      using frame = RuntimeData.audio({
        samples: new Int16Array(bytes.slice().buffer),
        sampleRate: 48000,
        channels: 2,
      });
      if (!session.tryPush(frame)) throw new Error("the reference session is full");
      for (let out = session.poll(); out; out = session.poll()) {
        triggers.push(i);
        out.dispose();
      }
    }
  } finally {
    session.dispose();
  }
  return Int32Array.from(triggers);
}

// ---------------------------------------------------------------------------------------------------
// Processes: the server, CPU and memory from /proc

interface Server {
  child: ChildProcess;
  url: string;
  exited: Promise<unknown>;
}

function startServer(runtime: string, options: object): Promise<Server> {
  const script = join(root, "bench/serve_server.ts");
  // SERVE_BENCH_SERVER_FLAGS: extra runtime flags for the server (e.g. Deno's --cpu-prof).
  const flags = list("SERVE_BENCH_SERVER_FLAGS", "");
  const [cmd, ...args] = runtime === "bun"
    ? [join(root, "node_modules/.bin/bun"), "run", ...flags, script]
    : [join(root, "node_modules/.bin/deno"), "run", "-A", ...flags, script];
  const child = spawn(cmd, [...args, JSON.stringify(options)], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Uint8Array) => {
      out += new TextDecoder().decode(chunk);
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1], exited });
    });
    void exited.then((code) => reject(new Error(`the server exited (${code}): ${out}`)));
  });
}

/** CPU seconds (user + system) of process `pid` so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident memory of process `pid`, bytes. */
function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** Busy and total CPU seconds of the whole machine so far (/proc/stat). */
function machineCpu(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

function clientCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function droppedFrames(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^remotemedia_frames_dropped_total\s+(\d+)/m.exec(text)?.[1] ?? NaN);
}

// ---------------------------------------------------------------------------------------------------
// The clients

class Client {
  ws: WebSocket;
  ready = false;
  closed = false;
  /** When frame 0 is due (performance.now() ms; set once every session of its batch is ready). */
  start = Number.POSITIVE_INFINITY;
  /** Next frame to send. */
  next = 0;
  outputs = 0;
  sent = new Float64Array(RING);
  errors: string[] = [];

  constructor(url: string, readonly bench: Bench) {
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    this.ws.onopen = () =>
      this.ws.send(
        JSON.stringify({
          type: "start",
          sampleRate: 48000,
          channels: 2,
          format: "i16",
          outputFormat: "i16",
        }),
      );
    this.ws.onmessage = (event) => {
      const now = performance.now();
      if (typeof event.data === "string") {
        const message = JSON.parse(event.data);
        if (message.type === "ready") {
          this.ready = true;
          return;
        }
        if (message.type === "error") this.errors.push(message.message);
        if (message.type !== "output") return;
      }
      // An output (a JSON event or a binary audio frame): the k-th of this session.
      const k = this.outputs++;
      const frame = this.bench.triggers[k];
      if (frame === undefined || frame >= this.next || this.next - frame > RING) return;
      this.bench.latency(now - this.sent[frame % RING]);
    };
    this.ws.onclose = () => this.closed = true;
    this.ws.onerror = () => this.errors.push("socket error");
  }
}

class Bench {
  clients: Client[] = [];
  latencies: number[] = [];
  lateness: number[] = [];
  measuring = false;
  #timer?: ReturnType<typeof setTimeout>;

  constructor(
    readonly url: string,
    readonly frames: Uint8Array<ArrayBuffer>[],
    readonly triggers: Int32Array,
  ) {}

  latency(ms: number): void {
    if (this.measuring) this.latencies.push(ms);
  }

  /** Sends every frame that is due, for every session (one timer for all). */
  tick = (): void => {
    this.#timer = setTimeout(this.tick, 1);
    const now = performance.now();
    const frames = this.frames;
    for (const c of this.clients) {
      if (!c.ready || c.closed) continue;
      while (c.start + c.next * FRAME_MS <= now) {
        if (this.measuring) this.lateness.push(now - (c.start + c.next * FRAME_MS));
        c.sent[c.next % RING] = performance.now();
        try {
          c.ws.send(frames[c.next % frames.length]);
        } catch (error) {
          c.errors.push(String(error));
          c.closed = true;
        }
        c.next++;
      }
    }
  };

  run(): void {
    this.tick();
  }

  stop(): void {
    clearTimeout(this.#timer);
    for (const c of this.clients) c.ws.close();
  }

  /** Opens sessions until there are `n` (at most 100 new ones at a time), all started. */
  async grow(n: number): Promise<void> {
    while (this.clients.length < n) {
      const batch = Math.min(100, n - this.clients.length);
      const added = Array.from({ length: batch }, () => new Client(this.url, this));
      this.clients.push(...added);
      const deadline = performance.now() + 30_000;
      while (!added.every((c) => c.ready)) {
        if (performance.now() > deadline || added.some((c) => c.closed)) {
          throw new Error(`sessions did not start: ${added.find((c) => c.errors.length)?.errors}`);
        }
        await sleep(10);
      }
      // Spread the frame clocks of the new sessions over a 20 ms period.
      const now = performance.now() + 5;
      added.forEach((c, i) => c.start = now + (i * FRAME_MS) / batch);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = Float64Array.from(values).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------------------------------------------
// One configuration: N up in steps until it fails

interface Step {
  sessions: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
  dropped: number;
  clientLateP99Ms: number;
  serverCpu: number;
  clientCpu: number;
  otherCpu: number;
  serverRssMb: number;
  pass: boolean;
}

interface Result {
  runtime: string;
  execution: string;
  model: string;
  steps: Step[];
  best?: Step;
  baseRssMb: number;
  kibPerSession?: number;
  load: string;
}

/**
 * One measurement at the `n` sessions `bench` holds on `server`: after they settle, a window of
 * latencies, drops, CPU (server, clients, others) and the server's memory.
 */
async function measureWindow(bench: Bench, server: Server, n: number): Promise<Step> {
  const pid = server.child.pid!;
  await sleep(SETTLE_MS);
  const dropped0 = await droppedFrames(server.url);
  await sleep(500);
  bench.latencies = [];
  bench.lateness = [];
  const s0 = cpuSeconds(pid), c0 = clientCpuSeconds(), m0 = machineCpu();
  bench.measuring = true;
  await sleep(WINDOW_MS);
  bench.measuring = false;
  const s1 = cpuSeconds(pid), c1 = clientCpuSeconds(), m1 = machineCpu();
  const rss = rssOf(pid);
  const dropped = (await droppedFrames(server.url)) - dropped0;
  const seconds = (m1.total - m0.total) / cpus().length;
  const serverCpu = (s1 - s0) / seconds;
  const clientCpu = (c1 - c0) / seconds;
  const otherCpu = Math.max(0, (m1.busy - m0.busy) / seconds - serverCpu - clientCpu);
  const closed = bench.clients.filter((c) => c.closed).length;
  const p99 = quantile(bench.latencies, 0.99);
  return {
    sessions: n,
    p50Ms: round(quantile(bench.latencies, 0.5), 2),
    p99Ms: round(p99, 2),
    maxMs: round(Math.max(...bench.latencies), 1),
    samples: bench.latencies.length,
    dropped,
    clientLateP99Ms: round(quantile(bench.lateness, 0.99), 2),
    serverCpu: round(serverCpu, 2),
    clientCpu: round(clientCpu, 2),
    otherCpu: round(otherCpu, 2),
    serverRssMb: round(rss / 2 ** 20),
    pass: p99 <= LIMIT_MS && dropped === 0 && closed === 0 && bench.latencies.length > 0,
  };
}

async function measure(
  runtime: string,
  execution: string,
  model: string | null,
  frames: Uint8Array<ArrayBuffer>[],
): Promise<Result> {
  const label = model ?? "default";
  const triggers = triggerMap(manifestFor(model), frames, 200);
  const server = await startServer(runtime, { execution, manifest: manifestFor(model) });
  const pid = server.child.pid!;
  console.error(`  server pid ${pid}, client pid ${process.pid}`);
  const bench = new Bench(server.url.replace(/^http/, "ws"), frames, triggers);
  await sleep(500);
  const baseRss = rssOf(pid);
  const result: Result = {
    runtime,
    execution,
    model: label,
    steps: [],
    baseRssMb: round(baseRss / 2 ** 20),
    load: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
  };
  const start = Number(env("SERVE_BENCH_START", "100"));
  const step = Number(env("SERVE_BENCH_STEP", "100"));
  const max = Number(env("SERVE_BENCH_MAX", "3000"));
  bench.run();
  let n = start;
  let refined = false;
  try {
    while (n <= max) {
      await bench.grow(n);
      const record = await measureWindow(bench, server, n);
      result.steps.push(record);
      console.error(`  ${runtime} ${execution} ${label}: ${JSON.stringify(record)}`);
      if (record.pass) {
        result.best = record;
        if (refined) break;
        n += step;
      } else if (!refined && result.best && step >= 50) {
        // One step back up: halfway between the last pass and this failure (sessions only grow, so
        // this run restarts with a new server below).
        refined = true;
        break;
      } else {
        break;
      }
    }
  } finally {
    bench.stop();
    server.child.kill("SIGTERM");
    await server.exited;
  }
  if (refined && result.best) {
    const half = result.best.sessions + step / 2;
    const again = await measureAt(runtime, execution, model, frames, triggers, half);
    result.steps.push(again);
    console.error(`  ${runtime} ${execution} ${label}: ${JSON.stringify(again)}`);
    if (again.pass) result.best = again;
  }
  if (result.best) {
    result.kibPerSession = round(
      (result.best.serverRssMb * 2 ** 20 - baseRss) / result.best.sessions / 1024,
    );
  }
  return result;
}

/** One step at `n` sessions on a fresh server (the refinement between a pass and a failure). */
async function measureAt(
  runtime: string,
  execution: string,
  model: string | null,
  frames: Uint8Array<ArrayBuffer>[],
  triggers: Int32Array,
  n: number,
): Promise<Step> {
  const server = await startServer(runtime, { execution, manifest: manifestFor(model) });
  const bench = new Bench(server.url.replace(/^http/, "ws"), frames, triggers);
  bench.run();
  try {
    await bench.grow(n);
    return await measureWindow(bench, server, n);
  } finally {
    bench.stop();
    server.child.kill("SIGTERM");
    await server.exited;
  }
}

// ---------------------------------------------------------------------------------------------------

const vad = nodeTypes().find((t) => t.type === "Vad");
const models = vad?.params.some((p) => p.name === "model")
  ? list("SERVE_BENCH_MODELS", "earshot,silero")
  : (console.error("this Vad has one model (earshot): measuring that one"), [""]);
const frames = await speechFrames();
const results: Result[] = [];
for (const model of models) {
  for (const runtime of list("SERVE_BENCH_RUNTIMES", "deno,bun")) {
    for (const execution of list("SERVE_BENCH_EXECUTIONS", "threaded,inline")) {
      console.error(`${runtime}, ${execution} sessions, Vad model ${model || "earshot"}:`);
      const r = await measure(runtime, execution, model || null, frames);
      if (!model) r.model = "earshot";
      results.push(r);
    }
  }
}
const cores = cpus().length;
const lines = [
  `Sessions per core, measured ${new Date().toISOString().slice(0, 10)} on ${cores} × ${
    cpus()[0]?.model ?? "?"
  }, Vad mode ${MODE} (clients on the same machine; load average at the start of each run shown):`,
  "",
  "| server | sessions | Vad | largest N (p99 ≤ 20 ms, no drops) | per core | p50 / p99 at N | server CPU | clients CPU | others' CPU | memory per session | load |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
];
for (const r of results) {
  const b = r.best;
  lines.push(
    `| ${r.runtime} | ${r.execution} | ${r.model} | ${
      b?.sessions ?? "< " + r.steps[0]?.sessions
    } | ${b ? round(b.sessions / cores) : "—"} | ${b ? `${b.p50Ms} / ${b.p99Ms} ms` : "—"} | ${
      b ? `${b.serverCpu} cores` : "—"
    } | ${b ? `${b.clientCpu} cores` : "—"} | ${b ? `${b.otherCpu} cores` : "—"} | ${
      r.kibPerSession !== undefined ? `${r.kibPerSession} KiB` : "—"
    } | ${r.load} |`,
  );
}
mkdirSync(join(root, "target/bench"), { recursive: true });
writeFileSync(
  join(root, "target/bench/serve.json"),
  JSON.stringify({ date: new Date().toISOString(), cores, mode: MODE, results }, null, 2) + "\n",
);
console.log(lines.join("\n"));
process.exit(0);
