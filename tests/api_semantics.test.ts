// Inline test nodes are object literals whose return types are obvious from use.
// deno-lint-ignore-file explicit-function-return-type
/**
 * Real-time API semantics (issue #14): aborts reject like `fetch`, errors of an input stream propagate,
 * outputs per sink, and cancellable TypeScript nodes (`ctx.signal`).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  liveHandles,
  type NodeContext,
  Pipeline,
  PipelineBuilder,
  run,
  RuntimeData,
  Session,
  ShapeError,
  wavFrames,
} from "../mod.ts";
import { listen } from "../ffi/http.ts";

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
const text = (s: string) => RuntimeData.text(s);

/** A TS node that takes `ms` per item (an async step, like a model call). */
function slow(ms: number) {
  return {
    async process(d: RuntimeData) {
      await tick(ms);
      return d.clone();
    },
  };
}

describe("aborts reject, like fetch", () => {
  test("run() aborted midway rejects with the signal's AbortError; nothing leaks", async () => {
    const before = liveHandles();
    const controller = new AbortController();
    const inputs = Array.from({ length: 100 }, (_, i) => text(String(i)));
    let seen = 0;
    const manifest = new PipelineBuilder().node("slow", {
      async process(d: RuntimeData) {
        if (++seen === 4) controller.abort();
        await tick(1);
        return d.clone();
      },
    }).build();
    await assert.rejects(
      run(manifest, inputs, { signal: controller.signal }),
      (e: unknown) => e === controller.signal.reason && (e as Error).name === "AbortError",
    );
    for (const i of inputs) i.dispose();
    await tick(10);
    assert.equal(liveHandles(), before);
  });

  test("AbortSignal.timeout() makes run() reject with a TimeoutError", async () => {
    using input = text("x");
    await assert.rejects(
      run(new PipelineBuilder().node("slow", slow(200)).build(), input, {
        signal: AbortSignal.timeout(20),
      }),
      { name: "TimeoutError" },
    );
  });

  test("session.abort(reason): next() and iteration throw it, done rejects with it", async () => {
    const session = Session.create(new PipelineBuilder().node("slow", slow(5)).build());
    using a = text("a");
    using b = text("b");
    await session.push(a);
    await session.push(b);
    const first = await session.next();
    assert.equal(first?.asText(), "a");
    const reason = new Error("caller hung up");
    await session.abort(reason);
    assert.equal(first?.asText(), "a", "outputs already delivered stay delivered");
    first?.dispose();
    await assert.rejects(session.next(), (e: unknown) => e === reason);
    await assert.rejects(session.done, (e: unknown) => e === reason);
    await assert.rejects(
      (async () => {
        for await (const out of session) out.dispose();
      })(),
      (e: unknown) => e === reason,
    );
    session.dispose();
  });

  test("a session that ends normally still iterates to its end and done resolves", async () => {
    const session = Session.create({ version: 1, nodes: [{ id: "p", type: "PassThrough" }] });
    using a = text("a");
    await session.push(a);
    session.close();
    const got: string[] = [];
    for await (const out of session) {
      got.push(out.asText());
      out.dispose();
    }
    await session.done;
    assert.deepEqual(got, ["a"]);
    session.dispose();
  });
});

describe("errors of an input stream propagate", () => {
  test("a source that is not a WAV errors the transform's readable with that cause", async () => {
    const pipeline = Pipeline.from(
      new PipelineBuilder().node("mono", "ChannelMix", { mode: "mono" }).build(),
    );
    const transform = pipeline.transform();
    const mp3 = new Uint8Array([
      0x49,
      0x44,
      0x33,
      3,
      0,
      0,
      0,
      0,
      0,
      0x21,
      ...new Array(64).fill(0),
    ]);
    const output = wavFrames(mp3).pipeThrough(transform);
    await assert.rejects(
      (async () => {
        for await (const out of output) out.dispose();
      })(),
      (e: unknown) => e instanceof ShapeError && /not a WAV stream/.test(e.message),
    );
    assert.equal(transform.session.finished, true, "the session ended");
    transform.session.dispose();
  });

  test("the HTTP example answers a bad upload with 415 and the reason, a good one with 200", async () => {
    const { serve } = await import("../examples/http_server.ts");
    const server = await serve(0);
    try {
      const bad = await fetch(`http://127.0.0.1:${server.port}/`, {
        method: "POST",
        body: new TextEncoder().encode("ID3 this is an mp3, honestly"),
      });
      assert.equal(bad.status, 415);
      assert.match(await bad.text(), /cannot read this upload as WAV: not a WAV stream/);
      const speech = await (await import("node:fs/promises")).readFile(
        new URL("../examples/data/speech.wav", import.meta.url),
      );
      const good = await fetch(`http://127.0.0.1:${server.port}/`, {
        method: "POST",
        body: speech,
      });
      assert.equal(good.status, 200);
      const frames: RuntimeData[] = [];
      for await (const f of wavFrames(good)) frames.push(f);
      const seconds = frames.reduce((n, f) => n + f.asAudio().numSamples, 0) / 16000;
      assert.ok(Math.abs(seconds - 8.6) < 0.05, `${seconds} s`);
      frames.forEach((f) => f.dispose());
    } finally {
      await server.close();
    }
  });
});

describe("outputs per sink", () => {
  /** src → "reply" (a TS node speaking 20 items per input) and src → "events" (one per input). */
  function twoBranches() {
    return new PipelineBuilder()
      .node("src", "PassThrough")
      .node("reply", {
        async *process(d: RuntimeData) {
          for (let i = 0; i < 20; i++) yield RuntimeData.text(`${d.asText()}-${i}`);
        },
      })
      .node("events", "TextTransform", { op: "upper" })
      .connect("src", "reply")
      .connect("src", "events")
      .build();
  }

  test("a sink is read at its own pace: the events come while nobody reads the reply", async () => {
    await using session = Session.create(twoBranches(), { outputCapacity: 2 });
    assert.deepEqual(session.sinkIds, ["reply", "events"]);
    const pushing = (async () => {
      for (let i = 0; i < 10; i++) {
        using t = text(`u${i}`);
        await session.push(t);
      }
      session.close();
    })();
    const events: string[] = [];
    for await (const out of session.outputs("events")) {
      events.push(out.asText());
      out.dispose();
      if (events.length === 10) break;
    }
    assert.deepEqual(events, Array.from({ length: 10 }, (_, i) => `U${i}`));
    // Only now is the reply read: all of it is still there, in order.
    const reply: string[] = [];
    for await (const out of session.outputs("reply")) {
      reply.push(out.asText());
      out.dispose();
    }
    await pushing;
    assert.equal(reply.length, 200);
    assert.equal(reply[0], "u0-0");
    assert.equal(reply[199], "u9-19");
  });

  test("sinkReadable(sinkId) is the same as a ReadableStream", async () => {
    await using session = Session.create(twoBranches());
    using t = text("a");
    await session.push(t);
    session.close();
    const got: string[] = [];
    for await (const out of session.sinkReadable("events")) {
      got.push(out.asText());
      out.dispose();
    }
    assert.deepEqual(got, ["A"]);
    for await (const out of session.outputs("reply")) out.dispose();
  });

  test("outputs() of a node that is not a sink is an ArgumentError naming the sinks", () => {
    using session = Session.create(twoBranches());
    assert.throws(
      () => session.outputs("src"),
      /"src" is not a sink of this session: outputs come from "reply", "events"/,
    );
  });
});

describe("TS nodes can be cancelled (ctx.signal)", () => {
  test("ctx carries the node id; the signal aborts on interrupt and a fresh one comes next", async () => {
    const contexts: NodeContext[] = [];
    await using session = Session.create(
      new PipelineBuilder().node("tts", {
        async *process(d: RuntimeData, ctx: NodeContext) {
          contexts.push(ctx);
          for (let i = 0;; i++) {
            if (ctx.signal.aborted) return;
            yield RuntimeData.text(`${d.asText()}-${i}`);
            await tick(1);
          }
        },
      }).build(),
      { outputCapacity: 1 },
    );
    using first = text("old");
    await session.push(first);
    const a = await session.next();
    assert.equal(a?.asText(), "old-0");
    a?.dispose();
    session.interrupt();
    assert.equal(contexts[0].signal.aborted, true);
    assert.equal((contexts[0].signal.reason as Error).name, "AbortError");
    assert.match((contexts[0].signal.reason as Error).message, /interrupted \(node "tts"\)/);
    using second = text("new");
    await session.push(second);
    const b = await session.next();
    assert.equal(b?.asText(), "new-0", "nothing stale after the interrupt");
    b?.dispose();
    assert.equal(contexts[1].nodeId, "tts");
    assert.equal(contexts[1].signal.aborted, false);
  });

  test("a fetch inside a node is cancelled by barge-in, and the next item starts at once", async () => {
    const server = await serveNeverAnswering();
    const fetches: string[] = [];
    try {
      await using session = Session.create(
        new PipelineBuilder().node("llm", {
          async process(d: RuntimeData, ctx: NodeContext) {
            if (d.asText() === "slow") {
              try {
                await fetch(`http://127.0.0.1:${server.port}/`, { signal: ctx.signal });
              } catch (error) {
                fetches.push((error as Error).name);
                throw error; // a cancelled call's error does not fail the session
              }
            }
            return RuntimeData.text(`answer to ${d.asText()}`);
          },
        }).build(),
      );
      using slowInput = text("slow");
      await session.push(slowInput);
      await tick(50); // the request is in flight
      session.interrupt();
      using quick = text("quick");
      await session.push(quick);
      const out = await session.next();
      assert.equal(out?.asText(), "answer to quick");
      out?.dispose();
      for (let i = 0; i < 200 && fetches.length === 0; i++) await tick(5);
      assert.deepEqual(fetches, ["AbortError"]);
    } finally {
      await server.close();
    }
  });

  test("dispose() aborts ctx.signal of a node still working", async () => {
    const { session, signal } = await waitingForItsSignal();
    assert.equal(signal.aborted, false);
    session.dispose();
    assert.equal(signal.aborted, true);
    assert.equal((signal.reason as Error).name, "AbortError");
  });

  test("session abort aborts ctx.signal with the session's reason", async () => {
    const { session, signal } = await waitingForItsSignal();
    const reason = new Error("bye");
    await session.abort(reason);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, reason);
    session.dispose();
  });
});

/** A session whose one TS node is working on an item until its `ctx.signal` fires; and that signal. */
async function waitingForItsSignal(): Promise<{ session: Session; signal: AbortSignal }> {
  let signal: AbortSignal | undefined;
  const session = Session.create(
    new PipelineBuilder().node("n", {
      async process(d: RuntimeData, ctx: NodeContext) {
        signal = ctx.signal;
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        return d.clone();
      },
    }).build(),
  );
  using input = text("x");
  await session.push(input);
  for (let i = 0; i < 100 && !signal; i++) await tick(1);
  assert.ok(signal, "the node started working on the item");
  return { session, signal };
}

/** An HTTP server on 127.0.0.1 that answers only when the client goes away. */
/** A loopback HTTP server that never answers until its request is aborted. */
async function serveNeverAnswering(): Promise<{ port: number; close(): Promise<void> }> {
  const server = await listen({
    hostname: "127.0.0.1",
    port: 0,
    maxMessageBytes: 1 << 20,
    handle: (request) =>
      new Promise<Response>((resolve) =>
        request.signal.addEventListener("abort", () => resolve(new Response("too late")))
      ),
  });
  return { port: server.port, close: () => server.stop() };
}
