import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  audioFromFloat32,
  liveHandles,
  type Manifest,
  ManifestError,
  nodeTypes,
  Pipeline,
  PipelineBuilder,
  PipelineError,
  run,
  RuntimeData,
  Session,
  validateManifest,
} from "../mod.ts";

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

function frame(value: number, frames = 160, sampleRate = 16000): RuntimeData {
  return audioFromFloat32(new Float32Array(frames).fill(value), sampleRate);
}

describe("node types and validation", () => {
  test("nodeTypes lists every built-in node with params and port types", () => {
    const types = nodeTypes();
    const names = types.map((t) => t.type);
    for (
      const expected of [
        "PassThrough",
        "Gain",
        "AudioFormat",
        "ChannelMix",
        "Resample",
        "Chunker",
        "Vad",
        "WavReader",
        "WavWriter",
        "TextTransform",
        "TextCollector",
        "UtteranceAccumulator",
        "AudioLevel",
        "Mix",
      ]
    ) assert.ok(names.includes(expected), `${expected} is registered`);
    const resample = types.find((t) => t.type === "Resample")!;
    const rate = resample.params.find((p) => p.name === "targetRate")!;
    assert.equal(rate.type, "integer");
    assert.equal(rate.default, null);
    assert.deepEqual(resample.inputs, [{ name: "in", accepts: ["audio"] }]);
    assert.deepEqual(resample.outputs, ["audio"]);
    // Mix aligns its ports by sample position, not by item count: it takes items as they come.
    assert.equal(types.find((t) => t.type === "Mix")!.joinsInputs, false);
    assert.equal(types.find((t) => t.type === "WavReader")!.heavy, true);
    // Nodes declare the events they report to Session.events().
    assert.ok(types.find((t) => t.type === "Vad")!.events.includes("speech_start"));
    assert.deepEqual(types.find((t) => t.type === "Gain")!.events, []);
  });

  test("validation reports every problem with its path", () => {
    const issues = validateManifest({
      version: 1,
      nodes: [
        { id: "a", type: "Gain", params: { gainDb: 100 } },
        { id: "a", type: "Nope" },
        { id: "t", type: "TextTransform" },
      ],
      connections: [{ from: "a", to: "ghost" }, { from: "t", to: "a" }],
    });
    const text = issues.map((i) => `${i.path}: ${i.message}`).join("\n");
    assert.match(
      text,
      /nodes\[0\] "a"\.params\.gainDb: expected a number between -120 and 60, got 100/,
    );
    assert.match(text, /nodes\[1\]\.id: duplicate id "a"/);
    assert.match(text, /nodes\[1\] "a"\.type: unknown node type "Nope"/);
    assert.match(text, /connections\[0\]\.to: no node has id "ghost"/);
    assert.ok(issues.length >= 4);
  });

  test("a valid manifest has no issues, and the builder produces the same JSON", () => {
    const built = new PipelineBuilder()
      .node("mono", "ChannelMix", { mode: "mono" })
      .node("res", "Resample", { targetRate: 16000 })
      .chain("mono", "res")
      .build();
    assert.deepEqual(built, {
      version: 1,
      nodes: [
        { id: "mono", type: "ChannelMix", params: { mode: "mono" } },
        { id: "res", type: "Resample", params: { targetRate: 16000 } },
      ],
      connections: [{ from: "mono", to: "res" }],
    });
    assert.deepEqual(validateManifest(built), []);
    assert.deepEqual(validateManifest(JSON.stringify(built)), []);
  });

  test("creating a session from a bad manifest throws ManifestError with the issues", () => {
    assert.throws(
      () =>
        Session.create({
          version: 1,
          nodes: [{ id: "r", type: "Resample" }],
          connections: [{ from: "r", to: "r" }],
        } as Manifest),
      (e: unknown) => {
        assert.ok(e instanceof ManifestError);
        assert.ok(e.issues.some((i) => i.path === 'nodes[0] "r".params.targetRate'));
        assert.match(e.message, /is connected to itself \(cycle\)/);
        return true;
      },
    );
    assert.throws(() => Pipeline.from("{ nope"), /manifest is not valid JSON/);
  });

  test("incompatible port types and unconnected ports are caught before anything runs", () => {
    const issues = validateManifest({
      version: 1,
      nodes: [
        { id: "text", type: "TextTransform" },
        { id: "mix", type: "Mix" },
      ],
      connections: [{ from: "text", to: "mix", port: "a" }],
    });
    const text = issues.map((i) => `${i.path}: ${i.message}`).join("\n");
    assert.match(
      text,
      /"text" \(TextTransform\) emits text but "mix" \(Mix\) port "a" accepts audio/,
    );
    assert.match(text, /input port "b" is not connected/);
  });
});

describe("running pipelines", () => {
  test("unary run applies native Gain", async () => {
    using input = audioFromFloat32(new Float32Array([0.5, -0.5, 0.9]), 48000);
    const [out, ...rest] = await run(
      { version: 1, nodes: [{ id: "gain", type: "Gain", params: { gain: 2 } }] },
      input,
    );
    assert.equal(rest.length, 0);
    assert.equal(out.nodeId, "gain");
    assert.deepEqual([...out.asAudio().samples], [1, -1, 1]);
    out.dispose();
  });

  test("a streaming session keeps order across re-framing", async () => {
    const session = Session.create(
      new PipelineBuilder()
        .node("gain", "Gain", { gain: 1 })
        .node("chunk", "Chunker", { frames: 100 })
        .chain("gain", "chunk")
        .build(),
    );
    const consumer = (async () => {
      const values: number[] = [];
      for await (const out of session) {
        values.push(...out.asAudio().samples);
        out.dispose();
      }
      return values;
    })();
    const expected: number[] = [];
    for (let i = 0; i < 50; i++) {
      const samples = Float32Array.from({ length: 37 }, (_, k) => (i * 37 + k) / 4096);
      expected.push(...samples);
      using item = audioFromFloat32(samples, 16000);
      await session.push(item);
    }
    session.close();
    const values = await consumer;
    assert.equal(values.length, expected.length);
    assert.deepEqual(values, expected.map((v) => Math.fround(v)));
    assert.equal(session.finished, true);
    session.dispose();
  });

  test("a slow consumer slows push: memory stays bounded and nothing is lost", async () => {
    const session = Session.create(
      { version: 1, nodes: [{ id: "p", type: "PassThrough" }] },
      { inputCapacity: 4, outputCapacity: 4 },
    );
    let pushed = 0;
    let maxInFlight = 0;
    const producer = (async () => {
      for (let i = 0; i < 200; i++) {
        const item = frame(i);
        await session.push(item);
        item.dispose();
        pushed++;
      }
      session.close();
    })();
    const seen: number[] = [];
    for await (const out of session) {
      seen.push(out.asAudio().samples[0]);
      out.dispose();
      maxInFlight = Math.max(maxInFlight, pushed - seen.length);
      if (seen.length % 10 === 0) await tick(1); // slow consumer
    }
    await producer;
    assert.deepEqual(seen, Array.from({ length: 200 }, (_, i) => i));
    assert.ok(
      maxInFlight <= 4 + 4 + 4 + 1,
      `in flight at most the queue bounds, saw ${maxInFlight}`,
    );
    session.dispose();
  });

  test("a node error ends the session with a PipelineError naming the node", async () => {
    const session = Session.create({
      version: 1,
      nodes: [{ id: "first", type: "PassThrough" }, { id: "gain", type: "Gain" }],
      connections: [{ from: "first", to: "gain" }],
    });
    using good = frame(0.1);
    using bad = RuntimeData.text("not audio");
    await session.push(good);
    await assert.rejects(session.push(bad), (e: unknown) => {
      assert.ok(e instanceof PipelineError);
      assert.equal(e.nodeId, "gain");
      assert.equal(e.nodeType, "Gain");
      assert.match(e.message, /node "gain" \(Gain\) failed: expected audio input, got text/);
      return true;
    });
    // Outputs produced before the failure are still delivered, then the error.
    const first = session.poll();
    assert.equal(first?.nodeId, "gain");
    first?.dispose();
    assert.throws(() => session.poll(), PipelineError);
    session.dispose();
  });

  test("skipErrors skips bad items and counts them", async () => {
    using bad = frame(0.25, 160, 22050); // Vad takes 8/16/32/48 kHz
    using good = frame(0.25);
    const outs = await run(
      {
        version: 1,
        nodes: [{ id: "v", type: "Vad", params: { mode: "pass" }, skipErrors: true }],
      },
      [bad, good],
    );
    assert.equal(outs.length, 1);
    outs.forEach((o) => o.dispose());
  });

  test("multi-input joins take one item from each named port", async () => {
    using input = frame(0.25, 4);
    const outs = await run(
      {
        version: 1,
        nodes: [
          { id: "left", type: "PassThrough" },
          { id: "right", type: "Gain", params: { gain: 0.5 } },
          { id: "mix", type: "Mix", params: { inputs: ["voice", "music"] } },
        ],
        connections: [
          { from: "left", to: "mix", port: "voice" },
          { from: "right", to: "mix", port: "music" },
        ],
      },
      input,
    );
    assert.equal(outs.length, 1);
    assert.deepEqual([...outs[0].asAudio().samples], [0.375, 0.375, 0.375, 0.375]);
    outs[0].dispose();
  });

  test("abort mid-stream: iteration throws an AbortError, pushes reject, everything is released", async () => {
    const before = liveHandles();
    const session = Session.create({ version: 1, nodes: [{ id: "p", type: "PassThrough" }] });
    using item = frame(0.5);
    await session.push(item);
    await session.push(item);
    let n = 0;
    await assert.rejects(
      (async () => {
        for await (const out of session) {
          out.dispose();
          n++;
          if (n === 1) await session.abort();
        }
      })(),
      (e: unknown) => e instanceof DOMException && e.name === "AbortError",
    );
    assert.equal(n, 1, "the output taken before the abort stayed delivered");
    assert.equal(session.finished, true);
    await assert.rejects(session.push(item), { name: "AbortError" });
    await assert.rejects(session.done, { name: "AbortError" });
    session.dispose();
    assert.equal(liveHandles(), before + 1); // only `item` is still alive
  });

  test("abort runs cleanup: a WavWriter still leaves a valid file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rm-abort-"));
    const path = join(dir, "partial.wav");
    const session = Session.create({
      version: 1,
      nodes: [{ id: "w", type: "WavWriter", params: { path } }],
    });
    assert.equal(session.threaded, true, "file I/O runs on the worker thread");
    using item = frame(0.5, 1600);
    for (let i = 0; i < 3; i++) await session.push(item);
    while (session.stats().nodes[0].itemsIn < 3) await tick(1);
    await session.abort();
    session.dispose();
    const bytes = readFileSync(path);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "RIFF");
    assert.equal(view.getUint32(4, true), bytes.length - 8, "header finalized by cleanup");
    const dataAt = bytes.indexOf(new TextEncoder().encode("data"));
    assert.ok(dataAt > 0);
    assert.equal(view.getUint32(dataAt + 4, true), 3 * 1600 * 4, "every pushed sample was written");
    rmSync(dir, { recursive: true });
  });

  test("a dropOldest edge keeps the newest items under pressure and counts drops", async () => {
    const session = Session.create(
      {
        version: 1,
        nodes: [{ id: "src", type: "PassThrough" }, { id: "sink", type: "PassThrough" }],
        connections: [{ from: "src", to: "sink", policy: "dropOldest", capacity: 2 }],
      },
      { outputCapacity: 1 },
    );
    for (let i = 0; i < 10; i++) {
      using item = frame(i, 1);
      assert.equal(session.tryPush(item), true, "a dropOldest edge never blocks");
    }
    assert.equal(session.stats().nodes[1].dropped, 7);
    session.close();
    const values: number[] = [];
    for await (const out of session) {
      values.push(out.asAudio().samples[0]);
      out.dispose();
    }
    assert.deepEqual(values, [0, 8, 9]);
    session.dispose();
  });

  test("an AbortSignal aborts the session: iteration rejects with the signal's reason", async () => {
    const controller = new AbortController();
    const session = Session.create({ version: 1, nodes: [{ id: "p", type: "PassThrough" }] }, {
      signal: controller.signal,
    });
    const done = (async () => {
      for await (const out of session) out.dispose();
      return "ended";
    })();
    await tick(5);
    controller.abort();
    await assert.rejects(done, (e: unknown) => e === controller.signal.reason);
    assert.equal(session.finished, true);
    session.dispose();
  });

  test("interrupt drops undelivered outputs and keeps the session open", async () => {
    const session = Session.create({ version: 1, nodes: [{ id: "p", type: "PassThrough" }] });
    using item = frame(0.5);
    for (let i = 0; i < 5; i++) await session.push(item);
    assert.equal(session.interrupt(), 5);
    assert.equal(session.poll(), undefined);
    await session.push(item);
    const out = session.poll();
    assert.ok(out);
    out.dispose();
    session.dispose();
  });

  test("stats count items per node", async () => {
    const session = Session.create(
      new PipelineBuilder().node("g", "Gain").node("c", "Chunker", { frames: 80 }).chain("g", "c")
        .build(),
    );
    using item = frame(0.1, 160);
    for (let i = 0; i < 3; i++) await session.push(item);
    session.close();
    for await (const out of session) out.dispose();
    const m = session.stats();
    assert.equal(m.nodes[0].id, "g");
    assert.equal(m.nodes[0].itemsIn, 3);
    assert.equal(m.nodes[0].itemsOut, 3);
    assert.equal(m.nodes[1].itemsIn, 3);
    assert.equal(m.nodes[1].itemsOut, 6);
    assert.ok(m.nodes[1].totalMs >= m.nodes[1].maxMs);
    session.dispose();
  });

  test("push after close and iterating twice are clear errors", async () => {
    const session = Session.create({ version: 1, nodes: [{ id: "p", type: "PassThrough" }] });
    session.close();
    session.close(); // harmless
    using item = frame(0);
    await assert.rejects(session.push(item), /push after close\(\)|ended/);
    for await (const _ of session) { /* ends at once */ }
    await assert.rejects(
      (async () => {
        for await (const _ of session) { /* second iteration */ }
      })(),
      /iterated only once/,
    );
    session.dispose();
  });
});

describe("threaded execution", () => {
  test("a long native job keeps the event loop responsive", async () => {
    // 120 s of 48 kHz audio resampled with the 256-tap sinc preset: long native work.
    const samples = new Float32Array(48000 * 120);
    for (let i = 0; i < samples.length; i++) samples[i] = Math.sin(i / 10) * 0.5;
    using input = audioFromFloat32(samples, 48000);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const session = Session.create(
      {
        version: 1,
        nodes: [{ id: "r", type: "Resample", params: { targetRate: 16000, quality: "high" } }],
      },
      { execution: "threaded" },
    );
    assert.equal(session.threaded, true);
    await session.push(input);
    session.close();
    let frames = 0;
    for await (const out of session) {
      frames += out.asAudio().numSamples;
      out.dispose();
    }
    clearInterval(timer);
    assert.equal(frames, 16000 * 120);
    assert.ok(ticks >= 5, `the 1 ms timer fired ${ticks} times while native work ran`);
    session.dispose();
  });

  test("an idle threaded session does not poll", async () => {
    const proc = (globalThis as unknown as {
      process: {
        cpuUsage(previous?: { user: number; system: number }): { user: number; system: number };
      };
    }).process;
    const session = Session.create({ version: 1, nodes: [{ id: "p", type: "PassThrough" }] }, {
      execution: "threaded",
    });
    const waiting = session.next();
    await tick(50);
    const start = proc.cpuUsage();
    await tick(500);
    const used = proc.cpuUsage(start);
    const cpuMs = (used.user + used.system) / 1000;
    assert.ok(cpuMs < 100, `idle wait used ${cpuMs.toFixed(1)} ms of CPU in 500 ms`);
    // Watched before the abort: next() may reject while abort() still waits for the worker thread.
    const rejected = assert.rejects(waiting, { name: "AbortError" });
    await session.abort();
    await rejected;
    session.dispose();
  });

  test("threaded and inline sessions give identical outputs", async () => {
    const manifest = new PipelineBuilder()
      .node("res", "Resample", { targetRate: 16000 })
      .node("chunk", "Chunker", { frameMs: 20 })
      .chain("res", "chunk")
      .build();
    const samples = Float32Array.from({ length: 48000 }, (_, i) => Math.sin(i / 7) * 0.3);
    const collect = async (execution: "inline" | "threaded") => {
      using input = audioFromFloat32(samples, 48000);
      const outs = await run(manifest, input, { execution });
      const joined = outs.flatMap((o) => [...o.asAudio().samples]);
      outs.forEach((o) => o.dispose());
      return joined;
    };
    assert.deepEqual(await collect("threaded"), await collect("inline"));
  });
});
