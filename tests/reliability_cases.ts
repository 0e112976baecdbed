// Inline test nodes are object literals whose return types are obvious from use.
// deno-lint-ignore-file explicit-function-return-type
/**
 * The reliability table: bad inputs and misuses, each with the error it must give (or, where marked,
 * the harmless no-op it must be). Run by tests/reliability.test.ts under `deno test` and `bun test`;
 * `make reliability` renders it as docs/RELIABILITY.md. Long by nature: one entry per row of the
 * table (the native, WAV and API families live in reliability_native.ts, _wav.ts and _api.ts).
 */
import assert from "node:assert/strict";
import {
  ArgumentError,
  closeLibrary,
  DataTypeError,
  DisposedError,
  type Manifest,
  ManifestError,
  type Node,
  PipelineBuilder,
  PipelineError,
  registerNode,
  run,
  RuntimeData,
  Session,
  ShapeError,
  workerThreads,
} from "../mod.ts";
import { lastError, lib } from "../src/native.ts";
import { spawnSync } from "node:child_process";
import { collectUntil, forceGc, threadCount } from "./helpers.ts";
import { nativeCases } from "./reliability_native.ts";
import { wavCases } from "./reliability_wav.ts";
import { apiCases } from "./reliability_api.ts";

/** One row: what is done wrong, and what must happen. */
export interface Case {
  /** Area of the API. */
  area: string;
  /** The bad input or misuse. */
  name: string;
  /** The error it must give (class and message), or "no error" for harmless repeats. */
  expect: string;
  /** Does the wrong thing; must throw an error matching `error` (or not throw when `error` is null). */
  run: () => unknown;
  /** Pattern of the message (and optionally a class the error must be). */
  error: RegExp | null;
  /** Class the error must be an instance of. */
  type?: new (...args: never[]) => Error;
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
const manifest = (m: unknown) => m as Parameters<typeof Session.create>[0];
const pass: Manifest = { version: 1, nodes: [{ id: "p", type: "PassThrough" }] };

function frame(v = 0): RuntimeData {
  return RuntimeData.audio({ samples: new Float32Array(4).fill(v), sampleRate: 16000 });
}

async function drain(session: Session): Promise<void> {
  for await (const out of session) out.dispose();
}

/** A Float32 frame whose samples view is returned with it (for the view rows). */
function viewed(values: number[]): { data: RuntimeData; samples: Float32Array<ArrayBuffer> } {
  const data = RuntimeData.audio({ samples: new Float32Array(values), sampleRate: 16000 });
  return { data, samples: data.asAudio().samples as Float32Array<ArrayBuffer> };
}

/** Makes, writes and frees many frames, so freed memory would be reused and overwritten. */
function churnFrames(): void {
  for (let i = 0; i < 2000; i++) {
    using other = RuntimeData.audio({ samples: new Float32Array(4), sampleRate: 16000 });
    (other.asAudio().samples as Float32Array).fill(9);
  }
}

/** A Worker (module, from a Blob URL: works in both runtimes) that answers with what `body` computes. */
async function inWorker(
  body: string,
  message: unknown,
  transfer: Transferable[],
): Promise<unknown> {
  const url = URL.createObjectURL(
    new Blob([`self.onmessage = async (e) => { ${body} };`], { type: "application/javascript" }),
  );
  const worker = new Worker(url, { type: "module" });
  try {
    return await new Promise((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(String((e as ErrorEvent).message ?? e)));
      worker.postMessage(message, transfer);
    });
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
}

/** A session of one TypeScript node (inline unless `threaded`). */
function tsSession(node: Node, threaded = false): Session {
  return Session.create(
    new PipelineBuilder().node("ts", node).build(),
    threaded ? { execution: "threaded" } : {},
  );
}

/** The table. */
export const cases: Case[] = [
  // Views of native memory: whatever is done with one, it never reads or writes freed memory.
  {
    area: "views",
    name: "view.buffer.transfer(), then dispose()",
    expect: "the moved buffer keeps its samples while other frames are made and freed",
    run: () => {
      const { data, samples } = viewed([0.5, -0.5, 0.25]);
      const moved = samples.buffer.transfer();
      data.dispose();
      churnFrames();
      assert.deepEqual([...new Float32Array(moved)], [0.5, -0.5, 0.25]);
    },
    error: null,
  },
  {
    area: "views",
    name: "structuredClone(view, { transfer: [view.buffer] }), then dispose()",
    expect: "the clone keeps its samples",
    run: () => {
      const { data, samples } = viewed([0.125, 0.75]);
      const clone = structuredClone(samples, { transfer: [samples.buffer] });
      data.dispose();
      churnFrames();
      assert.deepEqual([...clone], [0.125, 0.75]);
    },
    error: null,
  },
  {
    area: "views",
    name: "worker.postMessage(view, [view.buffer]), then dispose() while the Worker still reads",
    expect: "the Worker reads the original samples",
    run: async () => {
      const { data, samples } = viewed([0.5, 0.25]);
      const reply = inWorker(
        "await new Promise((r) => setTimeout(r, 50)); self.postMessage([...e.data]);",
        samples,
        [samples.buffer],
      );
      data.dispose();
      churnFrames();
      assert.deepEqual(await reply, [0.5, 0.25]);
    },
    error: null,
  },
  {
    area: "views",
    name: "a transferred buffer kept after its RuntimeData was dropped and collected",
    expect: "the samples stay valid until the buffer itself is collected",
    run: async () => {
      const holder: { moved?: ArrayBuffer } = {};
      (() => {
        const { samples } = viewed([0.5, 0.5]);
        holder.moved = samples.buffer.transfer();
      })();
      for (let i = 0; i < 5; i++) {
        forceGc();
        churnFrames();
        await tick(1);
      }
      assert.deepEqual([...new Float32Array(holder.moved!)], [0.5, 0.5]);
    },
    error: null,
  },
  {
    area: "views",
    name: "writing through a moved buffer after dispose()",
    expect: "changes only that buffer, never another live frame",
    run: () => {
      const { data, samples } = viewed([0, 0]);
      const moved = new Float32Array(samples.buffer.transfer());
      data.dispose();
      const live = Array.from({ length: 200 }, () => viewed([0.5, 0.5]));
      moved.fill(-1);
      try {
        for (const { samples } of live) assert.deepEqual([...samples], [0.5, 0.5]);
      } finally {
        for (const { data } of live) data.dispose();
      }
    },
    error: null,
  },
  {
    area: "views",
    name: "a view read after dispose()",
    expect: "detached (length 0): reads give undefined, never freed memory",
    run: () => {
      const { data, samples } = viewed([0.5]);
      data.dispose();
      assert.equal(samples.length, 0);
      assert.equal(samples[0], undefined);
    },
    error: null,
  },
  // run(): it always settles, and releases what it made.
  {
    area: "run()",
    name: "an input that was already disposed",
    expect: "rejects with DisposedError (as push does) and releases the session",
    run: async () => {
      const f = frame();
      f.dispose();
      await run(pass, f);
    },
    error: /RuntimeData was already disposed/,
    type: DisposedError,
  },
  {
    area: "run()",
    name: "an input that is not RuntimeData",
    expect: "rejects with the ArgumentError (invalid_argument) push gives",
    run: () => run(pass, [{ samples: [0] } as unknown as RuntimeData]),
    error: /push expects a RuntimeData, got Object/,
    type: ArgumentError,
  },
  {
    area: "run()",
    name: "a disposed second input",
    expect: "rejects; the output of the first input is released, no handle leaks",
    run: async () => {
      using first = frame(0.5);
      const second = frame();
      second.dispose();
      await run(pass, [first, second]);
    },
    error: /RuntimeData was already disposed/,
    type: DisposedError,
  },
  // The event loop keeps turning.
  {
    area: "event loop",
    name: "a TS generator that never stops, read by for await (inline session)",
    expect: "timers and AbortSignal.timeout still fire: long runs yield to the event loop",
    run: async () => {
      const session = tsSession({
        async *process() {
          for (;;) yield RuntimeData.text("x");
        },
      });
      using input = RuntimeData.text("go");
      await session.push(input);
      const timeout = AbortSignal.timeout(1);
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      let outputs = 0;
      try {
        for await (const out of session) {
          out.dispose();
          if ((ticks >= 3 && timeout.aborted) || ++outputs >= 3_000_000) break;
        }
      } finally {
        clearInterval(timer);
        await session.abort();
        session.dispose();
      }
      assert.ok(ticks >= 3 && timeout.aborted, `${ticks} timer ticks in ${outputs} outputs`);
    },
    error: null,
  },
  {
    area: "event loop",
    name: "a push loop into a session that always has room",
    expect: "timers still fire while it runs",
    run: async () => {
      await using session = Session.create(
        new PipelineBuilder().node("f", "Filter", { types: ["json"] }).build(),
      );
      using item = RuntimeData.text("x");
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      let pushes = 0;
      try {
        while (ticks < 3 && pushes < 3_000_000) {
          await session.push(item);
          pushes++;
        }
      } finally {
        clearInterval(timer);
      }
      assert.ok(ticks >= 3, `${ticks} timer ticks in ${pushes} pushes`);
    },
    error: null,
  },
  // Sessions nobody refers to.
  {
    area: "lifetime",
    name: "20 threaded sessions with a TS node, dropped without close or dispose",
    expect:
      "collected: their handles are freed by the GC backstop; they never held a thread of their own (the worker pool runs them)",
    run: async () => {
      const before = lib().symbols.rm_live_handles();
      const threadsBefore = threadCount();
      const forget = async () => {
        const session = tsSession({ process: (d: RuntimeData) => d.clone() }, true);
        using f = frame();
        await session.push(f);
      };
      for (let i = 0; i < 20; i++) await forget();
      // (a few threads of the runtime itself may start meanwhile: GC helpers, Bun's waiter worker)
      const bound = (threadsBefore ?? 0) + workerThreads().size + 4;
      if (threadsBefore !== undefined) {
        assert.ok(threadCount()! <= bound, `${threadCount()} threads, ${threadsBefore} before`);
      }
      const freed = await collectUntil(() =>
        lib().symbols.rm_live_handles() === before &&
        (threadsBefore === undefined || threadCount()! <= bound)
      );
      assert.ok(
        freed,
        `${lib().symbols.rm_live_handles() - before} handles and ${
          (threadCount() ?? 0) - (threadsBefore ?? 0)
        } threads still alive`,
      );
    },
    error: null,
  },
  {
    area: "lifetime",
    name: "a script that forgets an open threaded session with a TS node",
    expect: "the process still exits when the script ends (Deno and Bun)",
    run: () => {
      const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
      for (
        const cmd of [
          [`${root}node_modules/.bin/deno`, "run", "-A", "tests/forgotten_session_script.ts"],
          [`${root}node_modules/.bin/bun`, "run", "tests/forgotten_session_script.ts"],
        ]
      ) {
        const r = spawnSync(cmd[0], cmd.slice(1), { cwd: root, encoding: "utf8", timeout: 60_000 });
        assert.equal(r.signal, null, `${cmd[0]} did not exit by itself (killed after 60 s)`);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /end of script/);
      }
    },
    error: null,
  },
  {
    area: "lifetime",
    name: "a node instance in a builder manifest that is no longer referenced",
    expect: "collected with its manifest (instances are not registered globally)",
    run: async () => {
      const runOnce = async (manifest: Manifest) => {
        using f = frame(0.5);
        const [out] = await run(manifest, f);
        out.dispose();
      };
      const ref = await (async () => {
        const node = { process: (d: RuntimeData) => d.clone() };
        await runOnce(new PipelineBuilder().node("copy", node).build());
        return new WeakRef(node);
      })();
      assert.ok(await collectUntil(() => ref.deref() === undefined), "the instance stayed alive");
    },
    error: null,
  },
  {
    area: "lifetime",
    name: "worker.terminate() in the middle of a stream (threaded session with a TS node)",
    expect: "the Worker's sessions, threads and data are reclaimed when its thread exits",
    run: async () => {
      const before = lib().symbols.rm_live_handles();
      const worker = new Worker(new URL("./terminate_worker.ts", import.meta.url), {
        type: "module",
      });
      try {
        const message = await new Promise<{ streaming: boolean }>((resolve, reject) => {
          worker.onmessage = (e) => resolve(e.data);
          worker.onerror = (e) => reject(new Error(String((e as ErrorEvent).message ?? e)));
        });
        assert.ok(message.streaming);
        assert.ok(lib().symbols.rm_live_handles() > before, "the worker holds handles");
      } finally {
        worker.terminate();
      }
      const reclaimed = await collectUntil(() => lib().symbols.rm_live_handles() === before);
      assert.ok(reclaimed, `${lib().symbols.rm_live_handles() - before} handles left`);
    },
    error: null,
  },
  // Joins with uneven branches: they end, they never deadlock, nothing is lost.
  {
    area: "joins",
    name:
      "src → Mix.a and src → Chunker(480 frames) → Mix.b, 1,000 items of 160 frames, then close",
    expect: "ends; every frame comes out once, aligned by sample position (0.25 + 0.25 = 0.5)",
    run: async () => {
      const manifest = new PipelineBuilder()
        .node("src", "PassThrough")
        .node("chunk", "Chunker", { frames: 480 })
        .node("mix", "Mix")
        .connect("src", "mix", { port: "a" })
        .connect("src", "chunk")
        .connect("chunk", "mix", { port: "b" })
        .build();
      await using session = Session.create(manifest);
      const pushing = (async () => {
        for (let i = 0; i < 1000; i++) {
          using f = RuntimeData.audio({
            samples: new Float32Array(160).fill(0.25),
            sampleRate: 16000,
          });
          await session.push(f);
        }
        session.close();
      })();
      let frames = 0;
      let wrong = 0;
      for await (const out of session) {
        const samples = out.asAudio().samples;
        frames += samples.length;
        for (const v of samples) if (v !== 0.5) wrong++;
        out.dispose();
      }
      await pushing;
      assert.equal(frames, 160_000);
      assert.equal(wrong, 0);
    },
    error: null,
  },
  {
    area: "joins",
    name: "a TS multi-input node whose port b never gets anything (1,000 items pushed)",
    expect:
      "no deadlock: once port a's queue is full the node runs with { a } alone; ends on close",
    run: async () => {
      const seen: string[] = [];
      const manifest = new PipelineBuilder()
        .node("src", "PassThrough")
        .node("none", "Filter", { types: ["json"] })
        .node("join", {
          processMulti: (inputs: Record<string, RuntimeData>) => {
            seen.push(Object.keys(inputs).join("+"));
            return undefined;
          },
        }, { inputs: ["a", "b"] })
        .connect("src", "join", { port: "a" })
        .connect("src", "none")
        .connect("none", "join", { port: "b" })
        .build();
      using f = frame();
      const inputs = Array.from({ length: 1000 }, () => f);
      const outputs = await run(manifest, inputs);
      assert.equal(outputs.length, 0);
      assert.equal(seen.length, 1000);
      assert.ok(seen.every((s) => s === "a"), seen.find((s) => s !== "a"));
    },
    error: null,
  },
  {
    area: "joins",
    name: "a TS multi-input node fed evenly",
    expect: "gets one item per port each time ({ a, b }), as before",
    run: async () => {
      const seen: string[] = [];
      const manifest = new PipelineBuilder()
        .node("src", "PassThrough")
        .node("join", {
          processMulti: (inputs: Record<string, RuntimeData>) => {
            seen.push(Object.keys(inputs).sort().join("+"));
            return undefined;
          },
        }, { inputs: ["a", "b"] })
        .connect("src", "join", { port: "a" })
        .connect("src", "join", { port: "b" })
        .build();
      using f = frame();
      await run(manifest, Array.from({ length: 50 }, () => f));
      assert.deepEqual(seen, Array(50).fill("a+b"));
    },
    error: null,
  },
  // Ordering.
  {
    area: "ordering",
    name: "200 concurrent push() calls into a session with input capacity 2",
    expect: "served in call order: outputs come out 0, 1, 2, … 199",
    run: async () => {
      const session = Session.create(pass, { inputCapacity: 2, outputCapacity: 2 });
      const items = Array.from({ length: 200 }, (_, i) => RuntimeData.text(String(i)));
      try {
        const pushes = Promise.all(items.map((item) => session.push(item))).then(() =>
          session.close()
        );
        const got: string[] = [];
        for await (const out of session) {
          got.push(out.asText());
          out.dispose();
        }
        await pushes;
        assert.deepEqual(got, items.map((_, i) => String(i)));
      } finally {
        for (const item of items) item.dispose();
        session.dispose();
      }
    },
    error: null,
  },
  // TS node outputs.
  {
    area: "TS nodes",
    name: "a node that returns the same RuntimeData twice",
    expect: "PipelineError naming the node: the output was already handed to the pipeline",
    run: async () => {
      using f = frame();
      await run(
        new PipelineBuilder().node("twice", {
          process: () => {
            const x = RuntimeData.text("a");
            return [x, x];
          },
        }).build(),
        f,
      );
    },
    error: /node "twice" .*emitted a RuntimeData that was already handed to the pipeline/,
    type: PipelineError,
  },
  {
    area: "TS nodes",
    name: "a node that re-emits an item it cached from an earlier call",
    expect: "PipelineError naming the node (emit data.clone() instead)",
    run: async () => {
      using a = frame();
      using b = frame();
      let cached: RuntimeData | undefined;
      await run(
        new PipelineBuilder().node("cache", {
          process: () => cached ??= RuntimeData.text("cached"),
        }).build(),
        [a, b],
      );
    },
    error: /node "cache" .*already handed to the pipeline.*clone\(\)/,
    type: PipelineError,
  },
  {
    area: "TS nodes",
    name: "a multi-input TS node with 100 ports",
    expect: "gets one item per port (task buffers grow; no task is ever dropped)",
    run: async () => {
      const ports = Array.from({ length: 100 }, (_, i) => `p${i}`);
      const builder = new PipelineBuilder()
        .node("src", "PassThrough")
        .node("join", {
          processMulti: (inputs: Record<string, RuntimeData>) =>
            RuntimeData.json(Object.keys(inputs).length),
        }, { inputs: ports });
      for (const port of ports) builder.connect("src", "join", { port });
      using f = frame();
      const outputs = await run(builder.build(), [f]);
      try {
        assert.deepEqual(outputs.map((o) => o.asJson()), [100]);
      } finally {
        for (const o of outputs) o.dispose();
      }
    },
    error: null,
  },
  // Shared frames are copied before they are written (copy-on-write).
  {
    area: "copy-on-write",
    name: "a TS node writes its input (writableAudio) while another branch reads the same frame",
    expect: "the writer gets its own copy: the other branch and the caller still see 0.5",
    run: async () => {
      const manifest = new PipelineBuilder()
        .node("src", "PassThrough")
        .node("zero", {
          process: (d: RuntimeData) => {
            d.writableAudio().samples.fill(0);
            return d;
          },
        })
        .node("keep", "PassThrough")
        .connect("src", "zero")
        .connect("src", "keep")
        .build();
      using input = frame(0.5);
      const outputs = await run(manifest, input);
      try {
        const byNode = Object.fromEntries(outputs.map((o) => [o.nodeId, [...o.asAudio().samples]]));
        assert.deepEqual(byNode, { zero: [0, 0, 0, 0], keep: [0.5, 0.5, 0.5, 0.5] });
        assert.deepEqual([...input.asAudio().samples], [0.5, 0.5, 0.5, 0.5]);
      } finally {
        for (const o of outputs) o.dispose();
      }
    },
    error: null,
  },
  {
    area: "copy-on-write",
    name: "writableAudio() on an unshared frame (fresh from allocAudio, own view already made)",
    expect: "no copy: the writable samples are the same native memory as before",
    run: () => {
      using data = RuntimeData.allocAudio({ format: "f32", numSamples: 8, sampleRate: 16000 });
      const native = lib();
      const before = native.addressOfView(data.asAudio().samples);
      const writable = data.writableAudio().samples;
      writable[0] = 0.5;
      assert.equal(native.addressOfView(writable), before);
      assert.equal(data.asAudio().samples[0], 0.5);
    },
    error: null,
  },
  {
    area: "copy-on-write",
    name: "writableAudio() on a frame shared with a clone handle (retain)",
    expect: "a copy: the other handle keeps the old samples; views made before keep showing them",
    run: () => {
      using a = frame(0.5);
      const old = a.asAudio().samples;
      using b = RuntimeData.fromHandle(lib().symbols.rm_data_retain(a.handle()));
      a.writableAudio().samples.fill(-1);
      assert.deepEqual([...b.asAudio().samples], [0.5, 0.5, 0.5, 0.5]);
      assert.deepEqual([...old], [0.5, 0.5, 0.5, 0.5]);
      assert.deepEqual([...a.asAudio().samples], [-1, -1, -1, -1]);
    },
    error: null,
  },
  {
    area: "copy-on-write",
    name: "writableAudio() on text",
    expect: "DataTypeError: expected audio",
    run: () => {
      using t = RuntimeData.text("x");
      t.writableAudio();
    },
    error: /writableAudio\(\): expected audio data, got text/,
    type: DataTypeError,
  },
  // Attributes and JSON that cannot cross as UTF-8.
  {
    area: "attributes",
    name: "a lone surrogate in streamId",
    expect: "ArgumentError (invalid_argument) naming streamId",
    run: () => RuntimeData.text("x", { streamId: "mic\ud800" }),
    error: /streamId contains a string with a lone surrogate \(\\ud800\)/,
    type: ArgumentError,
  },
  {
    area: "attributes",
    name: "a lone surrogate deep in metadata",
    expect: "ArgumentError (invalid_argument) naming metadata",
    run: () => RuntimeData.text("x", { metadata: { speakers: ["ok", "\udc00"] } }),
    error: /metadata contains a string with a lone surrogate \(\\udc00\)/,
    type: ArgumentError,
  },
  {
    area: "attributes",
    name: "a lone surrogate in a RuntimeData.json value",
    expect: "ArgumentError (invalid_argument) naming the value",
    run: () => RuntimeData.json({ text: "half an emoji \ud83d" }),
    error: /RuntimeData.json value contains a string with a lone surrogate/,
    type: ArgumentError,
  },
  // Interrupt.
  {
    area: "interrupt",
    name: "interrupt({ from }) at the head of a 10,000-node chain",
    expect: "every node downstream is reached (linear in nodes + edges), the session goes on",
    run: async () => {
      const n = 10_000;
      const nodes = Array.from({ length: n }, (_, i) => ({ id: `n${i}`, type: "PassThrough" }));
      const connections = nodes.slice(1).map((node, i) => ({ from: `n${i}`, to: node.id }));
      await using session = Session.create({ version: 1, nodes, connections } as Manifest);
      assert.equal(session.interrupt({ from: "n0" }), 0);
      using f = frame(0.25);
      await session.push(f);
      session.close();
      let outputs = 0;
      for await (const out of session) {
        outputs++;
        out.dispose();
      }
      assert.equal(outputs, 1);
    },
    error: null,
  },
  {
    area: "interrupt",
    name: "two nodes whose reset() throws",
    expect: "every other node is still reset; one AggregateError names both",
    run: async () => {
      const resets: string[] = [];
      const node = (id: string, fails: boolean) => ({
        process: (d: RuntimeData) => d.clone(),
        reset: () => {
          resets.push(id);
          if (fails) throw new Error(`${id} cannot reset`);
        },
      });
      await using session = Session.create(
        new PipelineBuilder().node("a", node("a", true)).node("b", node("b", false))
          .node("c", node("c", true)).chain("a", "b", "c").build(),
      );
      try {
        session.interrupt();
      } finally {
        assert.deepEqual(resets, ["a", "b", "c"]);
      }
    },
    error: /interrupt: 2 nodes failed to reset \(a, c\); every other node was reset/,
    type: AggregateError,
  },
  // Manifests
  {
    area: "manifest",
    name: "malformed JSON",
    expect: "ManifestError naming line and column",
    run: () => Session.create('{"version": 1, "nodes": [ {"id": }'),
    error: /manifest is not valid JSON: .*line 1 column \d+/,
    type: ManifestError,
  },
  {
    area: "manifest",
    name: "truncated JSON",
    expect: "ManifestError: EOF while parsing, with line and column",
    run: () => Session.create('{"version": 1, "nodes": ['),
    error: /EOF while parsing .* line 1 column 25/,
    type: ManifestError,
  },
  {
    area: "manifest",
    name: "huge manifest (more than 10,000 nodes)",
    expect: "ManifestError naming the count and the limit",
    run: () =>
      Session.create({
        version: 1,
        nodes: Array.from({ length: 10_001 }, (_, i) => ({ id: `n${i}`, type: "PassThrough" })),
      }),
    error: /nodes: 10001 nodes; the limit is 10000/,
    type: ManifestError,
  },
  {
    area: "manifest",
    name: "not an object",
    expect: "ManifestError: must be a JSON object, got an array",
    run: () => Session.create("[1, 2]"),
    error: /manifest must be a JSON object, got an array/,
    type: ManifestError,
  },
  {
    area: "manifest",
    name: "missing version",
    expect: "ManifestError at `version`",
    run: () => Session.create(manifest({ nodes: [{ id: "a", type: "PassThrough" }] })),
    error: /version: missing \(expected 1\)/,
  },
  {
    area: "manifest",
    name: "unknown node type",
    expect: 'ManifestError at `nodes[0] "x".type` listing the known types',
    run: () => Session.create({ version: 1, nodes: [{ id: "x", type: "Gian" }] }),
    error: /nodes\[0\] "x"\.type: unknown node type "Gian" \(known: PassThrough, Gain/,
  },
  {
    area: "manifest",
    name: "unknown param",
    expect: "ManifestError at the param, listing the node's params",
    run: () =>
      Session.create({ version: 1, nodes: [{ id: "g", type: "Gain", params: { volume: 2 } }] }),
    error: /nodes\[0\] "g"\.params\.volume: unknown param \(expected one of gain, gainDb, clip\)/,
  },
  {
    area: "manifest",
    name: "param out of range",
    expect: "ManifestError with expected range and actual value",
    run: () =>
      Session.create({
        version: 1,
        nodes: [{ id: "r", type: "Resample", params: { targetRate: 5 } }],
      }),
    error: /params\.targetRate: expected an integer between 1000 and 384000, got 5/,
  },
  {
    area: "manifest",
    name: "param of the wrong type",
    expect: "ManifestError: expected a boolean, got a string",
    run: () =>
      Session.create({ version: 1, nodes: [{ id: "g", type: "Gain", params: { clip: "yes" } }] }),
    error: /params\.clip: expected a boolean, got a string/,
  },
  {
    area: "manifest",
    name: "duplicate node ids",
    expect: "ManifestError naming both positions",
    run: () => Session.create({ version: 1, nodes: [pass.nodes[0], pass.nodes[0]] }),
    error: /nodes\[1\]\.id: duplicate id "p" \(also nodes\[0\]\)/,
  },
  {
    area: "manifest",
    name: "dangling connection",
    expect: "ManifestError at the connection's end",
    run: () => Session.create({ ...pass, connections: [{ from: "p", to: "ghost" }] }),
    error: /connections\[0\]\.to: no node has id "ghost" \(dangling connection\)/,
  },
  {
    area: "manifest",
    name: "cycle",
    expect: "ManifestError naming the nodes on the cycle",
    run: () =>
      Session.create({
        version: 1,
        nodes: [{ id: "a", type: "PassThrough" }, { id: "b", type: "PassThrough" }],
        connections: [{ from: "a", to: "b" }, { from: "b", to: "a" }],
      }),
    error: /cycle through nodes "a", "b"/,
  },
  {
    area: "manifest",
    name: "unconnected port of a multi-input node",
    expect: "ManifestError naming the port",
    run: () => Session.create(manifest({ version: 1, nodes: [{ id: "m", type: "Mix" }] })),
    error: /input port "a" is not connected/,
    type: ManifestError,
  },
  {
    area: "manifest",
    name: "incompatible data types on an edge",
    expect: "ManifestError naming both ends and their types",
    run: () =>
      Session.create(
        new PipelineBuilder().node("t", "TextTransform").node("g", "Gain").chain("t", "g").build(),
      ),
    error: /"t" \(TextTransform\) emits text but "g" \(Gain\) port "in" accepts audio/,
  },
  {
    area: "manifest",
    name: "unknown input port",
    expect: "ManifestError listing the node's ports",
    run: () =>
      Session.create({
        version: 1,
        nodes: [{ id: "a", type: "PassThrough" }, { id: "m", type: "Mix" }],
        connections: [{ from: "a", to: "m", port: "c" }],
      }),
    error: /has no input port "c" \(ports: a, b\)/,
  },
  {
    area: "manifest",
    name: "bad edge policy and capacity",
    expect: "ManifestError for each field",
    run: () =>
      Session.create({
        version: 1,
        nodes: [{ id: "a", type: "PassThrough" }, { id: "b", type: "PassThrough" }],
        connections: [{ from: "a", to: "b", policy: "dropNewest" as "block", capacity: 0 }],
      }),
    error:
      /policy: expected "block" or "dropOldest".*\n.*capacity: expected an integer between 1 and 65536, got 0/,
  },
  // Data
  {
    area: "data",
    name: "wrong data type into a node (from a TS node that declares no output types)",
    expect: "PipelineError with the node id and both types",
    run: async () => {
      await using s = Session.create(
        new PipelineBuilder()
          .node("any", { process: (d: RuntimeData) => d })
          .node("gain", "Gain")
          .chain("any", "gain")
          .build(),
      );
      using t = RuntimeData.text("x");
      await s.push(t);
      s.close();
      try {
        await drain(s);
      } finally {
        await s.done.catch(() => {}); // the TS node's items are released by then (no handle leaks)
      }
    },
    error: /node "gain" \(Gain\) failed: expected audio input, got text/,
    type: PipelineError,
  },
  {
    area: "data",
    name: "audio with 0 channels",
    expect: "ArgumentError naming the field",
    run: () => RuntimeData.audio({ samples: new Float32Array(2), sampleRate: 16000, channels: 0 }),
    error: /channels must be an integer between 1 and 65535, got 0/,
  },
  {
    area: "data",
    name: "audio with sample rate 0",
    expect: "ArgumentError naming the field",
    run: () => RuntimeData.audio({ samples: new Float32Array(2), sampleRate: 0 }),
    error: /sampleRate must be an integer between 1 and 4294967295, got 0/,
  },
  {
    area: "data",
    name: "sample count not a multiple of channels",
    expect: "ShapeError with both numbers",
    run: () => RuntimeData.audio({ samples: new Float32Array(5), sampleRate: 16000, channels: 2 }),
    error: /5 samples is not a multiple of 2 channels/,
    type: ShapeError,
  },
  {
    area: "data",
    name: "NaN sample",
    expect: "error naming the sample index",
    run: () => RuntimeData.audio({ samples: Float32Array.of(0, 0, NaN), sampleRate: 16000 }),
    error: /audio sample 2 is NaN \(f32 samples must be finite\)/,
  },
  {
    area: "data",
    name: "infinite sample",
    expect: "error naming the sample index",
    run: () => RuntimeData.audio({ samples: Float32Array.of(Infinity), sampleRate: 16000 }),
    error: /audio sample 0 is inf/,
  },
  {
    area: "data",
    name: "i16 audio from an odd number of bytes",
    expect: "ShapeError",
    run: () => RuntimeData.audio({ samples: new Uint8Array(3), format: "i16", sampleRate: 8000 }),
    error: /i16 audio needs a multiple of 2 bytes, got 3/,
    type: ShapeError,
  },
  {
    area: "data",
    name: "invalid UTF-8 text (raw C ABI)",
    expect: "status invalid_utf8 with the byte offset",
    run: () => {
      const bad = Uint8Array.of(0x61, 0xc3, 0x28);
      if (lib().symbols.rm_data_text(bad, 3, null, 0) === 0) throw lastError();
    },
    error: /invalid UTF-8 in text: invalid utf-8 sequence of 1 bytes from index 1/,
  },
  {
    area: "data",
    name: "JSON text that does not parse",
    expect: "error with line and column",
    run: () => RuntimeData.jsonText("{ nope }"),
    error: /invalid JSON in json payload: key must be a string at line 1 column 3/,
  },
  {
    area: "data",
    name: "tensor shape that does not match its data",
    expect: "ShapeError with bytes and elements",
    run: () => RuntimeData.tensor({ shape: [3, 3], data: new Float32Array(8) }),
    error: /tensor shape \[3, 3\] of f32 needs 36 bytes \(9 elements\), got 32/,
    type: ShapeError,
  },
  {
    area: "data",
    name: "video frame with the wrong byte count",
    expect: "ShapeError",
    run: () =>
      RuntimeData.video({ width: 4, height: 4, format: "rgb24", pixels: new Uint8Array(4) }),
    error: /rgb24 frame 4x4 needs 48 bytes, got 4/,
    type: ShapeError,
  },
  {
    area: "data",
    name: "asAudio() on text",
    expect: "DataTypeError naming expected and actual",
    run: () => {
      using t = RuntimeData.text("x");
      t.asAudio();
    },
    error: /asAudio\(\): expected audio data, got text/,
    type: DataTypeError,
  },
  {
    area: "data",
    name: "text from a non-string",
    expect: "ArgumentError naming what was given",
    run: () => RuntimeData.text(42 as unknown as string),
    error: /RuntimeData\.text expects a string, got number/,
  },
  {
    area: "data",
    name: "channel index out of range",
    expect: "ArgumentError with the valid range",
    run: () => {
      using a = RuntimeData.audio({ samples: new Float32Array(4), sampleRate: 8000, channels: 2 });
      a.asAudio().channel(2);
    },
    error: /channel index 2 is out of range for 2-channel audio \(expected 0\.\.1\)/,
  },
  // Sessions
  {
    area: "session",
    name: "push after close",
    expect: "error: push after close()",
    run: async () => {
      using s = Session.create(pass);
      s.close();
      using f = frame();
      await s.push(f);
    },
    error: /push after close\(\)|after the session ended/,
  },
  {
    area: "session",
    name: "double close",
    expect: "no error (harmless)",
    run: () => {
      using s = Session.create(pass);
      s.close();
      s.close();
    },
    error: null,
  },
  {
    area: "session",
    name: "iterate twice",
    expect: "error: outputs can be iterated only once",
    run: async () => {
      using s = Session.create(pass);
      s.close();
      await drain(s);
      await drain(s);
    },
    error: /a session's outputs can be iterated only once/,
  },
  {
    area: "session",
    name: "push something that is not RuntimeData",
    expect: "ArgumentError naming what was given",
    run: async () => {
      using s = Session.create(pass);
      await s.push("hello" as unknown as RuntimeData);
    },
    error: /push expects a RuntimeData, got string/,
  },
  {
    area: "session",
    name: "session used after dispose",
    expect: "DisposedError",
    run: async () => {
      const s = Session.create(pass);
      s.dispose();
      using f = frame();
      await s.push(f);
    },
    error: /Session was already disposed/,
    type: DisposedError,
  },
  {
    area: "session",
    name: "bad session options",
    expect: "ArgumentError naming the option",
    run: () => Session.create(pass, { inputCapacity: 0 }),
    error: /inputCapacity must be an integer between 1 and 1000000, got 0/,
  },
  {
    area: "data",
    name: "RuntimeData used after dispose",
    expect: "DisposedError",
    run: () => {
      const d = RuntimeData.text("x");
      d.dispose();
      d.asText();
    },
    error: /RuntimeData was already disposed/,
    type: DisposedError,
  },
  {
    area: "data",
    name: "double dispose",
    expect: "no error (harmless)",
    run: () => {
      const d = RuntimeData.text("x");
      d.dispose();
      d.dispose();
    },
    error: null,
  },
  {
    area: "handles",
    name: "a freed handle passed to the C ABI",
    expect: "invalid_handle: stale handle, already freed",
    run: () => {
      const d = RuntimeData.text("x");
      const h = d.handle();
      d.dispose();
      if (lib().symbols.rm_data_type(h) < 0) throw lastError();
    },
    error: /stale handle \d+: it was already freed/,
  },
  {
    area: "handles",
    name: "a handle from another library instance",
    expect: "invalid_handle naming another instance",
    run: () => {
      using d = RuntimeData.text("x");
      const tagBit = 2 ** 31;
      const h = d.handle();
      const foreign = Math.floor(h / tagBit) % 2 === 1 ? h - tagBit : h + tagBit;
      if (lib().symbols.rm_data_type(foreign) < 0) throw lastError();
    },
    error: /belongs to another instance of the remotemedia library/,
  },
  {
    area: "handles",
    name: "a session handle where data is expected",
    expect: "invalid_handle: a session handle, expected data",
    run: () => {
      const native = lib();
      const bytes = new TextEncoder().encode(JSON.stringify(pass));
      const session = native.symbols.rm_session_create(bytes, bytes.length, null, 0);
      try {
        if (native.symbols.rm_data_type(session) < 0) throw lastError();
      } finally {
        native.symbols.rm_session_free(session);
      }
    },
    error: /is a session handle, expected data/,
  },
  {
    area: "library",
    name: "closing the library while handles are alive",
    expect: "error with the number of live handles",
    run: () => {
      using _d = RuntimeData.text("x");
      closeLibrary();
    },
    error: /cannot close the remotemedia library: \d+ handle\(s\) are still alive/,
  },
  // Lifecycle and TS nodes
  {
    area: "lifecycle",
    name: "abort before anything was pushed",
    expect: "iteration ends; later pushes fail",
    run: async () => {
      using s = Session.create(pass);
      await s.abort();
      await drain(s);
      using f = frame();
      await s.push(f);
    },
    error: /aborted|ended/,
  },
  {
    area: "lifecycle",
    name: "abort during a slow TS initialize",
    expect: "abort completes, cleanup runs, done rejects with the AbortError",
    run: async () => {
      let cleaned = false;
      const s = Session.create(
        new PipelineBuilder().node("slow", {
          initialize: async () => void (await tick(50)),
          process: (d: RuntimeData) => d,
          cleanup: () => void (cleaned = true),
        }).build(),
      );
      await s.abort();
      await assert.rejects(s.done, { name: "AbortError" });
      s.dispose();
      if (!cleaned) throw new Error("cleanup did not run");
    },
    error: null,
  },
  {
    area: "lifecycle",
    name: "abort while a TS node is processing",
    expect: "abort completes; the generator's finally runs",
    run: async () => {
      let closed = false;
      const s = Session.create(
        new PipelineBuilder().node("gen", {
          async *process() {
            try {
              for (;;) {
                yield RuntimeData.json(1);
                await tick(1);
              }
            } finally {
              closed = true;
            }
          },
        }).build(),
        { outputCapacity: 1 },
      );
      using f = RuntimeData.text("go");
      await s.push(f);
      await tick(5);
      await s.abort();
      s.dispose();
      if (!closed) throw new Error("generator not closed");
    },
    error: null,
  },
  {
    area: "TS nodes",
    name: "a TS node that throws in initialize",
    expect: "PipelineError with the node id, prefixed initialize:",
    run: async () => {
      using s = Session.create(
        new PipelineBuilder().node("bad", {
          initialize() {
            throw new Error("model file missing");
          },
          process: (d: RuntimeData) => d,
        }).build(),
      );
      using f = frame();
      await s.push(f);
      await drain(s);
    },
    error: /node "bad" \(Node\) failed: initialize: model file missing/,
    type: PipelineError,
  },
  {
    area: "TS nodes",
    name: "a TS node that throws in process",
    expect: "PipelineError with the node id; the original error is its cause",
    run: async () => {
      using f = frame();
      await run(
        new PipelineBuilder().node("bad", {
          process() {
            throw new TypeError("boom");
          },
        }).build(),
        f,
      );
    },
    error: /node "bad" \(Node\) failed: boom/,
    type: PipelineError,
  },
  {
    area: "TS nodes",
    name: "a TS node that throws in cleanup",
    expect: "no throw; recorded in session.cleanupErrors with the node id",
    run: async () => {
      const s = Session.create(
        new PipelineBuilder().node("c", {
          process: (d: RuntimeData) => d,
          cleanup() {
            throw new Error("socket already closed");
          },
        }).build(),
      );
      s.close();
      await drain(s);
      await s.done;
      s.dispose();
      assert.match(
        s.cleanupErrors[0].message,
        /node "c" .* failed: cleanup: socket already closed/,
      );
    },
    error: null,
  },
  {
    area: "TS nodes",
    name: "a generator that never yields",
    expect:
      "an AbortSignal still ends the session (iteration rejects with its TimeoutError); cleanup runs",
    run: async () => {
      let cleaned = false;
      const s = Session.create(
        new PipelineBuilder().node("stuck", {
          async *process() {
            await new Promise(() => {}); // never resolves
            yield RuntimeData.json(0);
          },
          cleanup: () => void (cleaned = true),
        }).build(),
        { signal: AbortSignal.timeout(30) },
      );
      using f = frame();
      await s.push(f);
      await assert.rejects(drain(s), { name: "TimeoutError" });
      await assert.rejects(s.done, { name: "TimeoutError" });
      s.dispose();
      if (!cleaned) throw new Error("cleanup did not run");
    },
    error: null,
  },
  {
    area: "TS nodes",
    name: "a generator that yields something else than RuntimeData",
    expect: "PipelineError: nodes must yield RuntimeData",
    run: async () => {
      using f = frame();
      await run(
        new PipelineBuilder().node("bad", {
          *process() {
            yield 42 as unknown as RuntimeData;
          },
        }).build(),
        f,
      );
    },
    error: /a node yielded number; nodes must yield RuntimeData/,
    type: PipelineError,
  },
  {
    area: "TS nodes",
    name: "process returns a plain value",
    expect: "PipelineError: expected RuntimeData, an array or an iterable",
    run: async () => {
      using f = frame();
      await run(
        new PipelineBuilder().node("bad", { process: () => 3 as unknown as RuntimeData }).build(),
        f,
      );
    },
    error: /a node returned number; expected RuntimeData/,
    type: PipelineError,
  },
  {
    area: "TS nodes",
    name: "registering a TS node under a built-in name",
    expect: "ArgumentError (invalid_argument)",
    run: () => registerNode("Gain", () => ({ process: (d: RuntimeData) => d })),
    error: /"Gain" is a built-in node type/,
  },
  {
    area: "TS nodes",
    name: "a node object without process()",
    expect: "ArgumentError (invalid_argument)",
    run: () => new PipelineBuilder().node("x", {} as never),
    error: /node instance has neither process\(\) nor processMulti\(\)/,
  },
  ...nativeCases,
  ...wavCases,
  ...apiCases,
];
