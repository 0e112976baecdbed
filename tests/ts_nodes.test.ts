// Inline test nodes are object literals whose return types are obvious from use.
// deno-lint-ignore-file explicit-function-return-type
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  audioFromFloat32,
  liveHandles,
  type Node,
  PipelineBuilder,
  PipelineError,
  registerNode,
  run,
  runNode,
  RuntimeData,
  Session,
  unregisterNode,
} from "../mod.ts";
import { lib } from "../src/native.ts";
import { collectUntil } from "./helpers.ts";

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
}

function texts(outputs: RuntimeData[]): string[] {
  return outputs.map((o) => {
    const t = o.asText();
    o.dispose();
    return t;
  });
}

describe("TypeScript node patterns", () => {
  test("a basic node works standalone with runNode, including its lifecycle", async () => {
    const calls: string[] = [];
    const node: Node = {
      initialize: () => void calls.push("initialize"),
      process: (d) => {
        calls.push("process");
        return RuntimeData.text(d.asText().toUpperCase());
      },
      flush: () => {
        calls.push("flush");
        return RuntimeData.text("END");
      },
      cleanup: () => void calls.push("cleanup"),
    };
    const out = await runNode(node, [RuntimeData.text("a"), RuntimeData.text("b")]);
    assert.deepEqual(texts(out), ["A", "B", "END"]);
    assert.deepEqual(calls, ["initialize", "process", "process", "flush", "cleanup"]);
  });

  test("a registered node type is used by name from a JSON manifest, with its params", async () => {
    registerNode("Suffix", (params, { id }) => ({
      process: (d) => RuntimeData.text(`${d.asText()}${params.suffix}@${id}`),
    }), { accepts: ["text"], outputs: ["text"] });
    using input = RuntimeData.text("hi");
    const out = await run(
      JSON.stringify({
        version: 1,
        nodes: [
          { id: "trim", type: "TextTransform", params: { op: "trim" } },
          { id: "sfx", type: "Suffix", params: { suffix: "!" } },
          { id: "up", type: "TextTransform", params: { op: "upper" } },
        ],
        connections: [{ from: "trim", to: "sfx" }, { from: "sfx", to: "up" }],
      }),
      input,
    );
    assert.deepEqual(texts(out), ["HI!@SFX"]);
    unregisterNode("Suffix");
  });

  test("port types declared at registration are checked against native neighbours", () => {
    const TextOnly = registerNode("TextOnly", () => ({ process: (d) => d }), { accepts: ["text"] });
    assert.throws(
      () =>
        Session.create(
          new PipelineBuilder().node("g", "Gain").node("t", TextOnly).chain("g", "t").build(),
        ),
      /"g" \(Gain\) emits audio but "t" \(TextOnly\) port "in" accepts text/,
    );
    unregisterNode("TextOnly");
  });

  test("a streaming node delivers each output as soon as it is yielded", async () => {
    const gate = deferred();
    let yieldedSecond = false;
    const session = Session.create(
      new PipelineBuilder()
        .node("words", {
          async *process(d: RuntimeData) {
            const [first, ...rest] = d.asText().split(" ");
            yield RuntimeData.text(first);
            await gate.promise; // the consumer must see `first` before we go on
            yieldedSecond = true;
            for (const w of rest) yield RuntimeData.text(w);
          },
        })
        .node("up", "TextTransform", { op: "upper" })
        .chain("words", "up")
        .build(),
    );
    using input = RuntimeData.text("one two three");
    await session.push(input);
    session.close();
    const seen: string[] = [];
    for await (const out of session) {
      seen.push(out.asText());
      out.dispose();
      if (seen.length === 1) {
        assert.equal(yieldedSecond, false, "first output arrived before the generator went on");
        gate.resolve();
      }
    }
    assert.deepEqual(seen, ["ONE", "TWO", "THREE"]);
    session.dispose();
  });

  test("an audio-effect node sees input samples in place and writes native output in place", async () => {
    const native = lib();
    let inputAddress = 0n;
    let outputAddress = 0n;
    const effect: Node = {
      process(d) {
        const input = d.asAudio();
        inputAddress = native.addressOfView(input.samples);
        const out = RuntimeData.allocAudio({
          format: "f32",
          numSamples: input.numSamples,
          sampleRate: input.sampleRate,
        });
        const dst = out.writableAudio().samples;
        outputAddress = native.addressOfView(dst);
        for (let i = 0; i < dst.length; i++) dst[i] = input.samples[i] * 0.5;
        return out;
      },
    };
    using frame = audioFromFloat32(new Float32Array([0.5, -0.5, 1]), 16000);
    const pushedAddress = native.addressOfView(frame.asAudio().samples);
    const [out] = await run(
      new PipelineBuilder().node("fx", effect).node("pass", "PassThrough").chain("fx", "pass")
        .build(),
      frame,
    );
    assert.equal(inputAddress, pushedAddress, "the TS node read the pushed buffer itself");
    assert.equal(
      native.addressOfView(out.asAudio().samples),
      outputAddress,
      "no copy on the way out",
    );
    assert.deepEqual([...out.asAudio().samples], [0.25, -0.25, 0.5]);
    out.dispose();
  });

  test("a multi-input node gets named inputs from native branches", async () => {
    const seen: string[][] = [];
    const manifest = new PipelineBuilder()
      .node("left", "TextTransform", { op: "upper" })
      .node("right", "TextTransform", { op: "lower" })
      .node("join", {
        processMulti(inputs: Record<string, RuntimeData>) {
          seen.push(Object.keys(inputs));
          return RuntimeData.text(`${inputs.loud.asText()}|${inputs.quiet.asText()}`);
        },
      }, { inputs: [{ name: "loud", accepts: ["text"] }, { name: "quiet", accepts: ["text"] }] })
      .connect("left", "join", { port: "loud" })
      .connect("right", "join", { port: "quiet" })
      .build();
    using a = RuntimeData.text("Hi");
    using b = RuntimeData.text("Yo");
    const out = await run(manifest, [a, b]);
    assert.deepEqual(texts(out), ["HI|hi", "YO|yo"]);
    assert.deepEqual(seen, [["loud", "quiet"], ["loud", "quiet"]]);
  });
});

describe("TypeScript nodes in sessions", () => {
  test("an error in a TS node ends the session with its id and the original error as cause", async () => {
    const cleanups: string[] = [];
    const boom = new RangeError("bad token");
    const manifest = new PipelineBuilder()
      .node("a", { process: (d: RuntimeData) => d, cleanup: () => void cleanups.push("a") })
      .node("b", {
        process: () => {
          throw boom;
        },
        cleanup: () => void cleanups.push("b"),
      })
      .node("c", "TextTransform")
      .chain("a", "b", "c")
      .build();
    using input = RuntimeData.text("x");
    await assert.rejects(run(manifest, input), (e: unknown) => {
      assert.ok(e instanceof PipelineError);
      assert.equal(e.nodeId, "b");
      assert.equal(e.cause, boom);
      assert.match(e.message, /node "b" \(Node\) failed: bad token/);
      return true;
    });
    assert.deepEqual(cleanups.sort(), ["a", "b"], "every TS node was cleaned up once");
  });

  test("an error in initialize fails the session with that node's id", async () => {
    const session = Session.create(
      new PipelineBuilder().node("tts", {
        initialize: () => {
          throw new Error("voice not found");
        },
        process: (d: RuntimeData) => d,
      }).build(),
    );
    using input = RuntimeData.text("x");
    await assert.rejects(
      (async () => {
        await session.push(input);
        for await (const out of session) out.dispose();
      })(),
      (e: unknown) =>
        e instanceof PipelineError && e.nodeId === "tts" &&
        /initialize: voice not found/.test(e.message),
    );
    session.dispose();
  });

  test("a slow streaming TS node applies backpressure upstream and nothing is dropped", async () => {
    let inFlightMax = 0;
    let pushed = 0;
    let received = 0;
    const session = Session.create(
      new PipelineBuilder()
        .node("src", "PassThrough")
        .node("slow", {
          async *process(d: RuntimeData) {
            const n = d.asJson<number>();
            for (let k = 0; k < 3; k++) {
              await tick(0);
              yield RuntimeData.json(n * 3 + k);
            }
          },
        })
        .connect("src", "slow", { capacity: 2 })
        .build(),
      { inputCapacity: 2, outputCapacity: 2 },
    );
    const producer = (async () => {
      for (let i = 0; i < 60; i++) {
        using item = RuntimeData.json(i);
        await session.push(item);
        pushed++;
        inFlightMax = Math.max(inFlightMax, pushed - Math.floor(received / 3));
      }
      session.close();
    })();
    const values: number[] = [];
    for await (const out of session) {
      values.push(out.asJson<number>());
      out.dispose();
      received++;
      if (received % 7 === 0) await tick(2);
    }
    await producer;
    assert.deepEqual(values, Array.from({ length: 180 }, (_, i) => i));
    assert.ok(inFlightMax <= 8, `at most a few items in flight, saw ${inFlightMax}`);
    session.dispose();
  });

  test("abort reaches running generators: their finally blocks run", async () => {
    let finallyRan = false;
    const started = deferred();
    const session = Session.create(
      new PipelineBuilder().node("gen", {
        async *process() {
          try {
            for (let i = 0;; i++) {
              if (i === 1) started.resolve();
              yield RuntimeData.json(i);
              await tick(1);
            }
          } finally {
            finallyRan = true;
          }
        },
      }).build(),
      { outputCapacity: 2 },
    );
    using input = RuntimeData.text("go");
    await session.push(input);
    await started.promise;
    await session.abort();
    assert.equal(finallyRan, true);
    session.dispose();
  });

  test("interrupt (barge-in) stops in-flight TS output, resets nodes, and the session goes on", async () => {
    let resets = 0;
    let stopped = 0;
    const session = Session.create(
      new PipelineBuilder().node("tts", {
        async *process(d: RuntimeData) {
          try {
            for (let i = 0; i < 1000; i++) {
              yield RuntimeData.text(`${d.asText()}-${i}`);
              await tick(0);
            }
          } finally {
            stopped++;
          }
        },
        reset: () => void resets++,
      }).build(),
      { outputCapacity: 4 },
    );
    using first = RuntimeData.text("old");
    await session.push(first);
    const a = await session.next();
    assert.equal(a?.asText(), "old-0");
    a?.dispose();
    assert.ok(session.interrupt() >= 0);
    assert.equal(resets, 1);
    using second = RuntimeData.text("new");
    await session.push(second);
    const b = await session.next();
    assert.equal(b?.asText(), "new-0", "no stale output after the interrupt");
    b?.dispose();
    await session.abort();
    assert.equal(stopped, 2, "both generators were closed");
    session.dispose();
  });

  test("interrupting one branch stops it and leaves the other branch running", async () => {
    let ttsResets = 0;
    let ttsStopped = 0;
    const session = Session.create(
      new PipelineBuilder()
        .node("src", "PassThrough")
        .node("listen", "TextTransform", { op: "upper" })
        .node("tts", {
          async *process(d: RuntimeData) {
            try {
              for (let i = 0; i < 1000; i++) {
                yield RuntimeData.text(`say ${d.asText()} ${i}`);
                await tick(0);
              }
            } finally {
              ttsStopped++;
            }
          },
          reset: () => void ttsResets++,
        })
        .connect("src", "listen")
        .connect("src", "tts")
        .build(),
      { outputCapacity: 4 },
    );
    using a = RuntimeData.text("a");
    await session.push(a);
    const first: string[] = [];
    while (first.length < 3) {
      const out = await session.next();
      first.push(`${out!.nodeId}:${out!.asText()}`);
      out!.dispose();
    }
    assert.ok(first.includes("listen:A"));
    assert.ok(session.interrupt({ from: "tts" }) >= 0);
    assert.equal(ttsResets, 1);
    using b = RuntimeData.text("b");
    await session.push(b);
    // The listening branch still answers; the interrupted generator closes at its next yield.
    const after: string[] = [];
    while (!after.includes("listen:B")) {
      const out = await session.next();
      after.push(`${out!.nodeId}:${out!.asText()}`);
      out!.dispose();
    }
    assert.ok(
      !after.some((t) => t.startsWith("tts:say a")),
      `no stale speech: ${after.join(", ")}`,
    );
    assert.throws(() => session.interrupt({ from: "nope" }), /no node "nope" in this session/);
    await session.abort();
    assert.ok(ttsStopped >= 1);
    session.dispose();
  });

  test("a node that yields something else than RuntimeData is a clear error", async () => {
    using input = RuntimeData.text("x");
    await assert.rejects(
      run(
        new PipelineBuilder().node("bad", {
          *process() {
            yield "plain string" as unknown as RuntimeData;
          },
        }).build(),
        input,
      ),
      /node "bad" .* failed: a node yielded string; nodes must yield RuntimeData/,
    );
  });

  test("TS nodes in mixed graphs leak no handles", async () => {
    // Let garbage from earlier tests be collected first, so that only this test's handles count.
    await collectUntil(() => false, 100);
    const before = liveHandles();
    const manifest = new PipelineBuilder()
      .node("gain", "Gain", { gain: 0.5 })
      .node("ts", { process: (d: RuntimeData) => d })
      .node("chunk", "Chunker", { frames: 40 })
      .chain("gain", "ts", "chunk")
      .build();
    for (let i = 0; i < 20; i++) {
      using frame = audioFromFloat32(new Float32Array(100).fill(0.5), 8000);
      const outs = await run(manifest, frame);
      assert.equal(outs.length, 3);
      outs.forEach((o) => o.dispose());
    }
    assert.equal(liveHandles(), before);
  });
});
