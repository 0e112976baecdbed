// Format negotiation (issue #17 §2): nodes declare the audio they accept, validation propagates the
// formats from the session's declared input and from sources, and with `negotiate` inserts ChannelMix /
// Resample / AudioFormat converters (reported); without it every mismatch is refused before anything
// starts, with the edge and both formats.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ArgumentError,
  checkManifest,
  type Manifest,
  ManifestError,
  nodeTypes,
  Pipeline,
  PipelineBuilder,
  PipelineError,
  registerNode,
  RuntimeData,
  Session,
  unregisterNode,
  validateManifest,
  wavFrames,
} from "../mod.ts";
import { EXIT, runCli } from "../cli/main.ts";
import { captureIo as capture } from "./helpers.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
const speechWav = join(root, "rust/tests/data/silero/speech.wav"); // 16 kHz mono i16

/** The speech file as 20 ms i16 frames. */
async function speechFrames(): Promise<Int16Array[]> {
  const out: Int16Array[] = [];
  for await (const frame of wavFrames(readFileSync(speechWav), { frameMs: 20 })) {
    out.push(Int16Array.from(frame.asAudio().samples as Int16Array));
    frame.dispose();
  }
  return out;
}

/** Each mono frame as stereo (both channels the same). */
function stereo(frame: Int16Array): Int16Array {
  const out = new Int16Array(frame.length * 2);
  frame.forEach((s, i) => {
    out[2 * i] = s;
    out[2 * i + 1] = s;
  });
  return out;
}

/** Pushes every frame, closes, and returns the JSON outputs (and disposes the rest). */
async function jsonOutputs(
  session: Session,
  frames: RuntimeData[],
): Promise<Record<string, unknown>[]> {
  const pushing = (async () => {
    for (const f of frames) {
      await session.push(f);
      f.dispose();
    }
    session.close();
  })();
  const out: Record<string, unknown>[] = [];
  for await (const d of session) {
    if (d.dataType() === "json") out.push(d.asJson<Record<string, unknown>>());
    d.dispose();
  }
  await pushing;
  return out;
}

const vadOnly: Manifest = {
  version: 1,
  nodes: [{ id: "vad", type: "Vad", params: { mode: "events" } }],
};

describe("format negotiation", () => {
  test("node types declare the audio they accept and emit", () => {
    const types = new Map(nodeTypes().map((t) => [t.type, t]));
    assert.deepEqual(types.get("Vad")!.audioIn, { channels: [1], sameLayout: true });
    assert.deepEqual(types.get("Mix")!.audioIn, { sameLayout: true });
    assert.deepEqual(types.get("WavWriter")!.audioIn, { sameLayout: true, sameFormat: true });
    assert.deepEqual(types.get("Gain")!.audioIn, {});
    assert.equal(types.get("Gain")!.audioOut, "same");
    assert.equal(types.get("Resample")!.audioOut, "derived");
    assert.equal(types.get("TurnDetector")!.audioOut, "none");
  });

  test("stereo pushed into a Vad: refused before it starts without negotiate, converted with it", async () => {
    const audioInput = { sampleRate: 16000, channels: 2, sampleFormat: "i16" } as const;
    // Off (our manifests' default): the mismatch names the node and both formats.
    assert.throws(() => Session.create(vadOnly, { audioInput }), (error: unknown) => {
      assert.ok(error instanceof ManifestError);
      assert.deepEqual(error.issues, [{
        path: 'nodes[0] "vad"',
        message: 'format mismatch: the session input is 16000 Hz, 2 ch, i16 but "vad" (Vad) port ' +
          '"in" accepts 1 ch (not 2 ch); add ChannelMix before it, or set "negotiate": true to ' +
          "insert it",
      }]);
      return true;
    });
    assert.deepEqual(validateManifest(vadOnly, { audioInput }).length, 1);
    assert.deepEqual(validateManifest(vadOnly), []); // nothing declared: left to the run-time check

    // On: a ChannelMix in front of the Vad, reported; the Vad's events are exactly those of the mono
    // file (the two channels are equal, so their average is the mono signal).
    const report = checkManifest(vadOnly, { audioInput, negotiate: true });
    assert.equal(report.valid, true);
    assert.deepEqual(
      report.inserted.map((c) => [c.id, c.type, c.params, c.from, c.to, c.before, c.after]),
      [[
        "vad:mono",
        "ChannelMix",
        { mode: "mono" },
        null,
        "vad",
        audioInput,
        { ...audioInput, channels: 1 },
      ]],
    );
    assert.deepEqual(report.formats, [{ id: "vad", input: { ...audioInput, channels: 1 } }]);

    const frames = await speechFrames();
    await using mono = Session.create(vadOnly);
    const expected = await jsonOutputs(
      mono,
      frames.map((samples) => RuntimeData.audio({ samples, sampleRate: 16000 })),
    );
    assert.ok(expected.some((e) => e.type === "speech_start"), "the file has speech");

    await using session = Session.create(vadOnly, { audioInput, negotiate: true });
    assert.deepEqual(session.nodeIds, ["vad", "vad:mono"]);
    assert.deepEqual(session.sinkIds, ["vad"]); // the converter is never a sink
    // Pushes still name the Vad; it takes audio through its converter.
    assert.deepEqual(session.entries.map((e) => [e.id, e.type, e.accepts]), [
      ["vad", "Vad", ["audio"]],
    ]);
    const got = await jsonOutputs(
      session,
      frames.map((f) => RuntimeData.audio({ samples: stereo(f), sampleRate: 16000, channels: 2 })),
    );
    assert.deepEqual(got, expected);
    const stats = new Map(session.stats().nodes.map((n) => [n.id, n]));
    assert.equal(stats.get("vad:mono")!.type, "ChannelMix");
    assert.equal(stats.get("vad:mono")!.itemsIn, frames.length);
  });

  test("a TypeScript node that declares 16 kHz mono f32 gets exactly that from 48 kHz stereo i16", async () => {
    const seen: string[] = [];
    let frames = 0;
    const Asr = registerNode("FormatProbe", () => ({
      process(d: RuntimeData): undefined {
        const a = d.asAudio();
        seen.push(`${a.sampleRate}/${a.channels}/${a.format}`);
        frames += a.numSamples;
        return undefined;
      },
    }), {
      accepts: ["audio"],
      outputs: ["json"],
      inputFormat: { sampleRate: 16000, channels: 1, sampleFormat: "f32" },
    });
    try {
      const manifest: Manifest = {
        version: 1,
        negotiate: true,
        nodes: [{ id: "gain", type: "Gain" }, { id: "asr", type: Asr }],
        connections: [{ from: "gain", to: "asr" }],
      };
      const audioInput = { sampleRate: 48000, channels: 2, sampleFormat: "i16" } as const;
      const report = checkManifest(manifest, { audioInput });
      assert.deepEqual(report.inserted.map((c) => [c.id, c.params]), [
        ["asr:mono", { mode: "mono" }],
        ["asr:resample", { targetRate: 16000 }],
        ["asr:format", { format: "f32" }],
      ]);
      assert.deepEqual(report.inserted.at(-1)!.after, {
        sampleRate: 16000,
        channels: 1,
        sampleFormat: "f32",
      });
      await using session = Session.create(manifest, { audioInput });
      const input = 48000; // one second of 48 kHz stereo
      const samples = new Int16Array(input * 2).map((_, i) =>
        Math.round(8000 * Math.sin((2 * Math.PI * 440 * Math.floor(i / 2)) / 48000))
      );
      for (let at = 0; at < input; at += 960) {
        await session.push(
          RuntimeData.audio({
            samples: samples.subarray(at * 2, (at + 960) * 2),
            sampleRate: 48000,
            channels: 2,
          }),
        );
      }
      session.close();
      for await (const d of session) d.dispose();
      assert.ok(seen.length > 0);
      assert.deepEqual([...new Set(seen)], ["16000/1/f32"]);
      assert.equal(frames, 16000); // the resampler's total length is exact at end of stream

      // The same manifest with negotiation turned off by the session: refused, on its connection.
      assert.throws(
        () => Session.create(manifest, { audioInput, negotiate: false }),
        (error: unknown) => {
          assert.ok(error instanceof ManifestError);
          assert.equal(error.issues[0].path, "connections[0]");
          assert.match(
            error.issues[0].message,
            /"gain" \(Gain\) emits 48000 Hz, 2 ch, i16 but "asr" \(FormatProbe\) port "in" accepts 16000 Hz, 1 ch, f32 \(not 48000 Hz, 2 ch, i16\); add ChannelMix → Resample → AudioFormat/,
          );
          return true;
        },
      );
    } finally {
      unregisterNode("FormatProbe");
    }
  });

  test("a TS node's declared output format flows on: a 24 kHz TTS into a writer pinned to 16 kHz", async () => {
    const Tts = registerNode("FixedTts", () => ({
      process: (d: RuntimeData) =>
        RuntimeData.audio({
          samples: new Float32Array(240 * d.asText().length).fill(0.1),
          sampleRate: 24000,
        }),
    }), {
      accepts: ["text"],
      outputs: ["audio"],
      outputFormat: { sampleRate: 24000, channels: 1, sampleFormat: "f32" },
    });
    const dir = mkdtempSync(join(tmpdir(), "rm-formats-"));
    try {
      const path = join(dir, "out.wav");
      const manifest: Manifest = {
        version: 1,
        nodes: [
          { id: "tts", type: Tts },
          { id: "out", type: "WavWriter", params: { path }, inputFormat: { sampleRate: 16000 } },
        ],
        connections: [{ from: "tts", to: "out" }],
      };
      assert.deepEqual(validateManifest(manifest).map((i) => i.path), ["connections[0]"]);
      const report = checkManifest(manifest, { negotiate: true });
      assert.deepEqual(report.inserted.map((c) => [c.id, c.before, c.after]), [[
        "out:resample",
        { sampleRate: 24000, channels: 1, sampleFormat: "f32" },
        { sampleRate: 16000, channels: 1, sampleFormat: "f32" },
      ]]);
      {
        await using session = Session.create(manifest, { negotiate: true });
        await session.push(RuntimeData.text("0123456789")); // 100 ms at 24 kHz
        session.close();
        for await (const d of session) d.dispose();
      }
      let total = 0;
      for await (const frame of wavFrames(readFileSync(path), { frameMs: 0 })) {
        const a = frame.asAudio();
        assert.equal(a.sampleRate, 16000);
        total += a.numSamples;
        frame.dispose();
      }
      assert.equal(total, 1600);
    } finally {
      unregisterNode("FixedTts");
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("unequal branches into a Mix: the second port is brought to the first's rate", async () => {
    const manifest: Manifest = {
      version: 1,
      nodes: [
        { id: "low", type: "Resample", params: { targetRate: 16000 } },
        { id: "raw", type: "Gain" },
        { id: "mix", type: "Mix" },
      ],
      connections: [
        { from: "low", to: "mix", port: "a" },
        { from: "raw", to: "mix", port: "b" },
      ],
    };
    const audioInput = { sampleRate: 48000, channels: 1, sampleFormat: "f32" } as const;
    assert.deepEqual(validateManifest(manifest, { audioInput }).map((i) => i.path), [
      "connections[1]",
    ]);
    const report = checkManifest(manifest, { audioInput, negotiate: true });
    assert.deepEqual(report.inserted.map((c) => [c.id, c.type, c.params, c.from, c.port]), [
      ["mix:raw:resample", "Resample", { targetRate: 16000 }, "raw", "b"],
    ]);
    assert.deepEqual(report.formats.find((f) => f.id === "mix")!.output, {
      sampleRate: 16000,
      channels: 1,
      sampleFormat: "f32",
    });
    await using session = Session.create(manifest, { audioInput, negotiate: true });
    for (let i = 0; i < 50; i++) {
      await session.push(
        RuntimeData.audio({ samples: new Float32Array(960).fill(0.25), sampleRate: 48000 }),
      );
    }
    session.close();
    let frames = 0;
    for await (const d of session) {
      const a = d.asAudio();
      assert.equal(a.sampleRate, 16000);
      frames += a.numSamples;
      d.dispose();
    }
    assert.equal(frames, 16000);
  });

  test("an undeclared input with negotiate gets a guard that leaves matching audio untouched", async () => {
    const manifest: Manifest = { ...vadOnly, negotiate: true };
    const report = checkManifest(manifest);
    assert.deepEqual(report.inserted.map((c) => [c.id, c.before]), [["vad:mono", {}]]);
    const frames = await speechFrames();
    const run = async (m: Manifest) => {
      await using s = Session.create(m);
      return await jsonOutputs(
        s,
        frames.map((samples) => RuntimeData.audio({ samples, sampleRate: 16000 })),
      );
    };
    assert.deepEqual(await run(manifest), await run(vadOnly));
  });

  test("undeclared input: no guard where one would change audio the node accepts; the engine checks it", async () => {
    // A node that takes stereo, or 8 or 16 kHz: a converter to one value would downmix or resample
    // audio that already fits (stereo → dual mono; 16 kHz → 8 kHz). None is inserted; the audio
    // reaches the node untouched, and audio that does not fit fails before the node sees it.
    const received: Int16Array[] = [];
    const Probe = registerNode("StereoProbe", () => ({
      process(d: RuntimeData): undefined {
        received.push(Int16Array.from(d.asAudio().samples as Int16Array));
      },
    }), {
      accepts: ["audio"],
      outputs: ["json"],
      inputFormat: { channels: 2, sampleRate: [8000, 16000] },
    });
    try {
      const manifest = new PipelineBuilder().negotiate().node("probe", Probe).build();
      assert.equal(manifest.negotiate, true);
      assert.deepEqual(checkManifest(manifest).inserted, []);
      {
        await using session = Session.create(manifest);
        const samples = new Int16Array([1000, 0, 2000, 0, 3000, 0]);
        await session.push(RuntimeData.audio({ samples, sampleRate: 16000, channels: 2 }));
        session.close();
        for await (const d of session) d.dispose();
        assert.deepEqual(received.map((r) => [...r]), [[1000, 0, 2000, 0, 3000, 0]]);
      }
      await using session = Session.create(manifest);
      await assert.rejects(
        session.push(RuntimeData.audio({ samples: new Int16Array(4), sampleRate: 16000 })),
        (error: unknown) =>
          error instanceof PipelineError && error.nodeId === "probe" &&
          /gets audio of 16000 Hz, 1 ch, i16 but accepts 8000 Hz or 16000 Hz, 2 ch \(not 1 ch\)/
            .test(error.message),
      );
    } finally {
      unregisterNode("StereoProbe");
    }
  });

  test("pushed audio that contradicts audioInput is refused; the session goes on", async () => {
    await using session = Session.create(vadOnly, {
      audioInput: { sampleRate: 16000, channels: 1, sampleFormat: "i16" },
    });
    await assert.rejects(
      session.push(
        RuntimeData.audio({ samples: new Int16Array(1920), sampleRate: 48000, channels: 2 }),
      ),
      (error: unknown) =>
        error instanceof ArgumentError &&
        error.message.startsWith(
          "push: audio of 48000 Hz, 2 ch, i16 does not match the session's audioInput (16000 Hz, 1 ch, i16)",
        ),
    );
    await session.push(RuntimeData.audio({ samples: new Int16Array(320), sampleRate: 16000 }));
    session.close();
    for await (const d of session) d.dispose();
  });

  test("interrupt({ from }) also drops what the converters in front of the node hold", async () => {
    const manifest: Manifest = {
      version: 1,
      negotiate: true,
      nodes: [{ id: "p", type: "PassThrough", inputFormat: { sampleRate: 16000 } }],
    };
    // Inline: every push has run the graph when it resolves, so what came before the interrupt has
    // been polled and anything after it was produced after it.
    await using session = Session.create(manifest, {
      audioInput: { sampleRate: 48000, channels: 1, sampleFormat: "f32" },
      execution: "inline",
    });
    const drain = (into: number[]) => {
      for (let d = session.poll(); d; d = session.poll()) {
        into.push(...d.asAudio().samples);
        d.dispose();
      }
    };
    const before: number[] = [];
    for (let i = 0; i < 3; i++) {
      await session.push(
        RuntimeData.audio({ samples: new Float32Array(480).fill(0.5), sampleRate: 48000 }),
      );
      drain(before);
    }
    assert.ok(before.length < 3 * 160, "the resampler holds some of the input back");
    session.interrupt({ from: "p" });
    const after: number[] = [];
    for (let i = 0; i < 20; i++) {
      await session.push(RuntimeData.audio({ samples: new Float32Array(480), sampleRate: 48000 }));
      drain(after);
    }
    session.close();
    for await (const d of session) {
      after.push(...d.asAudio().samples);
      d.dispose();
    }
    assert.equal(after.filter((x) => Math.abs(x) > 1e-3).length, 0);
    assert.ok(after.length > 2000, `${after.length} samples after`);
  });

  test("a joined node: only the port whose audio does not fit is left out (skipErrors), and counted", async () => {
    const calls: string[] = [];
    const Join = registerNode("FormatJoin", () => ({
      processMulti(inputs: Record<string, RuntimeData>): undefined {
        calls.push(
          Object.entries(inputs).map(([port, d]) => `${port}=${d.asAudio().sampleRate}`).join(","),
        );
      },
    }), { inputs: ["a", "b"], outputs: ["json"], inputFormat: { sampleRate: 16000 } });
    try {
      const manifest = new PipelineBuilder()
        .node("left", "PassThrough")
        .node("right", "PassThrough")
        .node("join", Join, {}, { skipErrors: true })
        .connect("left", "join", { port: "a" })
        .connect("right", "join", { port: "b" })
        .build();
      await using session = Session.create(manifest);
      await session.push(RuntimeData.audio({ samples: new Float32Array(160), sampleRate: 16000 }), {
        to: "left",
      });
      await session.push(RuntimeData.audio({ samples: new Float32Array(480), sampleRate: 48000 }), {
        to: "right",
      });
      session.close();
      for await (const d of session) d.dispose();
      assert.deepEqual(calls, ["a=16000"]);
      const join = session.stats().nodes.find((n) => n.id === "join")!;
      assert.deepEqual([join.itemsIn, join.errors], [2, 1]);
    } finally {
      unregisterNode("FormatJoin");
    }
  });

  test("a refused write ends the session: the transform's readable errors instead of hanging", async () => {
    const audioInput = { sampleRate: 16000, channels: 1, sampleFormat: "f32" } as const;
    const frame = (sampleRate: number) =>
      RuntimeData.audio({ samples: new Float32Array(sampleRate / 100), sampleRate });
    const source = ReadableStream.from([frame(16000), frame(48000), frame(16000)]);
    const transform = Pipeline.from({ version: 1, nodes: [{ id: "g", type: "Gain" }] }).transform({
      audioInput,
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("the readable never ended")), 20_000);
    });
    const reading = (async () => {
      for await (const d of source.pipeThrough(transform)) d.dispose();
    })();
    try {
      await assert.rejects(
        Promise.race([reading, hung]),
        (error: unknown) =>
          error instanceof ArgumentError &&
          /does not match the session's audioInput/.test(error.message),
      );
    } finally {
      clearTimeout(timer);
    }
  });

  test("negotiate never makes a valid manifest invalid: an unknown format on a connection that also carries JSON", () => {
    const manifest: Manifest = {
      version: 1,
      nodes: [
        { id: "vad", type: "Vad", params: { mode: "pass" } },
        { id: "p", type: "PassThrough", inputFormat: { sampleRate: 16000 } },
      ],
      connections: [{ from: "vad", to: "p" }],
    };
    assert.deepEqual(validateManifest(manifest), []);
    const report = checkManifest(manifest, { negotiate: true });
    assert.deepEqual(report.issues, []);
    assert.deepEqual(report.inserted.map((c) => c.id), ["vad:mono"]); // the guard in front of the Vad
    // Known and wrong, it is refused: no converter can sit where JSON passes too.
    assert.match(
      validateManifest(manifest, { negotiate: true, audioInput: { sampleRate: 48000 } })[0].message,
      /accepts 16000 Hz \(not 48000 Hz\); converters cannot be inserted on this connection because it also carries json/,
    );
  });

  test("stats and the timeline report list each converter just before the node it converts for", async () => {
    const manifest: Manifest = {
      version: 1,
      negotiate: true,
      nodes: [
        { id: "gain", type: "Gain" },
        { id: "p", type: "PassThrough", inputFormat: { sampleRate: 16000, sampleFormat: "i16" } },
      ],
      connections: [{ from: "gain", to: "p" }],
    };
    await using session = Session.create(manifest, {
      audioInput: { sampleRate: 48000, channels: 1, sampleFormat: "f32" },
      record: true,
    });
    assert.deepEqual(session.nodeIds, ["gain", "p", "p:resample", "p:format"]); // indices stay
    await session.push(RuntimeData.audio({ samples: new Float32Array(960), sampleRate: 48000 }));
    session.close();
    for await (const d of session) d.dispose();
    assert.deepEqual(session.stats().nodes.map((n) => [n.id, n.convertsFor]), [
      ["gain", undefined],
      ["p:resample", "p"],
      ["p:format", "p"],
      ["p", undefined],
    ]);
    assert.deepEqual(session.reportData().nodes.map((n) => n.id), [
      "gain",
      "p:resample",
      "p:format",
      "p",
    ]);
  });

  test("what cannot be converted, and bad options, are clear errors", () => {
    const upmix: Manifest = {
      version: 1,
      nodes: [{ id: "up", type: "ChannelMix", params: { mode: "upmix", channels: 2 } }],
    };
    assert.deepEqual(validateManifest(upmix, { audioInput: { channels: 2 }, negotiate: true }), [{
      path: 'nodes[0] "up"',
      message: '"up" (ChannelMix): upmix expects mono input, gets 2 channels (? Hz, 2 ch, ?)',
    }]);
    assert.throws(
      () => checkManifest(vadOnly, { audioInput: { sampleRate: 7 } }),
      (error: unknown) => {
        assert.ok(error instanceof ArgumentError, String(error));
        assert.match(
          error.message,
          /audioInput\.sampleRate: expected a sample rate between 1000 and 384000 Hz/,
        );
        return true;
      },
    );
    assert.throws(
      () => Session.create(vadOnly, { negotiate: "yes" as unknown as boolean }),
      (error: unknown) =>
        error instanceof ArgumentError && /negotiate must be a boolean/.test(error.message),
    );
    const issues = validateManifest({
      version: 1,
      negotiate: "on" as unknown as boolean,
      nodes: [{ id: "vad", type: "Vad", inputFormat: { channels: 2 } }],
    });
    assert.deepEqual(issues, [
      { path: "negotiate", message: "expected a boolean, got a string" },
      {
        path: 'nodes[0] "vad".inputFormat',
        message: "channels 2: Vad accepts only 1",
      },
    ]);
  });

  test("a RemoteMedia SDK manifest negotiates by default: stereo 8 kHz into its Silero chain", () => {
    const yaml = readFileSync(join(root, "tests/data/sdk/vad_chain.yaml"), "utf8");
    const audioInput = { sampleRate: 8000, channels: 2, sampleFormat: "i16" } as const;
    const report = checkManifest(yaml, { audioInput });
    assert.deepEqual(report.inserted.map((c) => [c.id, c.params]), [
      ["vad:mono", { mode: "mono" }],
      ["vad:resample", { targetRate: 16000 }], // its sampling_rate: 16000
    ]);
    assert.equal(report.issues.length, 0);
    // Opting out names the SDK node's expectation, on the user's YAML line.
    const [issue] = validateManifest(yaml, { audioInput, negotiate: false });
    assert.match(issue.message, /accepts 16000 Hz, 1 ch \(not 8000 Hz, 2 ch\)/);
    assert.match(issue.path, /^connections\[0\] \(line \d+\)$/);
  });

  test("checkManifest takes null options; remotemedia run --negotiate turns negotiation on", async () => {
    assert.equal(checkManifest(vadOnly, null).valid, true);
    const dir = mkdtempSync(join(tmpdir(), "rm-formats-neg-"));
    try {
      const manifest = join(dir, "m.json");
      writeFileSync(manifest, JSON.stringify(vadOnly));
      const stereo8k = join(root, "tests/data/stream_health/one_channel.wav");
      const io = capture();
      assert.equal(
        await runCli(["run", manifest, "--input", stereo8k, "--negotiate", "--verbose"], io),
        EXIT.ok,
        io.stderr,
      );
      assert.match(io.stderr, /format: inserted ChannelMix "vad:mono"/);
      const validated = capture();
      assert.equal(await runCli(["validate", manifest, "--negotiate", "--verbose"], validated), 0);
      assert.deepEqual(validated.stdout.map((l) => l.replace(/^.*?: /, "")), [
        "ok (1 node, 0 connections)",
        'inserted ChannelMix "vad:mono" {"mode":"mono"} before "vad" (? Hz, ? ch, ? → ? Hz, 1 ch, ?): "vad" (Vad) port "in" accepts 1 ch; the session input is ? Hz, ? ch, ?',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("remotemedia run --output with two sinks of different rates: refused before running, or converted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rm-formats-two-"));
    try {
      const manifest = join(dir, "two.json");
      writeFileSync(
        manifest,
        JSON.stringify({
          version: 1,
          nodes: [
            { id: "hi", type: "Gain" },
            { id: "lo", type: "Resample", params: { targetRate: 16000 } },
          ],
        }),
      );
      const stereo48k = join(root, "examples/data/speech.wav");
      const out = join(dir, "out.wav");
      const refused = capture();
      assert.equal(
        await runCli(["run", manifest, "--input", stereo48k, "--output", out], refused),
        EXIT.usage,
      );
      assert.match(
        refused.stderr,
        /--output: the audio sinks differ in format, and one file is one stream \(sink "lo": "lo:audio" \(Filter\) emits 16000 Hz, 2 ch, i16 but "output" \(WavWriter\) port "in" accepts 48000 Hz, 2 ch, i16 \(not 16000 Hz\).*\); give --negotiate/,
      );
      // A sink that emits no audio with its params (AudioLevel without passAudio) is not written.
      const levels = join(dir, "levels.json");
      writeFileSync(
        levels,
        JSON.stringify({ version: 1, nodes: [{ id: "level", type: "AudioLevel" }] }),
      );
      const none = capture();
      assert.equal(
        await runCli(["run", levels, "--input", stereo48k, "--output", out], none),
        EXIT.usage,
      );
      assert.match(none.stderr, /--output: no sink node of this pipeline emits audio/);
      const io = capture();
      assert.equal(
        await runCli(["run", manifest, "--input", stereo48k, "--output", out, "--negotiate"], io),
        EXIT.ok,
        io.stderr,
      );
      let frames = 0;
      for await (const frame of wavFrames(readFileSync(out), { frameMs: 0 })) {
        assert.equal(frame.asAudio().sampleRate, 48000);
        frames += frame.asAudio().numSamples;
        frame.dispose();
      }
      let input = 0;
      for await (const frame of wavFrames(readFileSync(stereo48k), { frameMs: 0 })) {
        input += frame.asAudio().numSamples;
        frame.dispose();
      }
      // both branches; the second resampled to 16 kHz and back, each stage exact to the frame
      assert.equal(frames, input + Math.round(input / 3) * 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("remotemedia run --verbose prints what negotiation inserted from the input file's format", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rm-formats-cli-"));
    try {
      const manifest = join(dir, "m.json");
      const stereo8k = join(root, "tests/data/stream_health/one_channel.wav"); // 8 kHz stereo i16
      writeFileSync(manifest, JSON.stringify({ ...vadOnly, negotiate: true }));
      const io = capture();
      const code = await runCli(
        ["run", manifest, "--input", stereo8k, "--verbose", "--no-stats"],
        io,
      );
      assert.equal(code, EXIT.ok, io.stderr);
      assert.match(
        io.stderr,
        /format: inserted ChannelMix "vad:mono" \{"mode":"mono"\} before "vad" \(8000 Hz, 2 ch, i16 → 8000 Hz, 1 ch, i16\)/,
      );
      // Without negotiate the file's format is refused before anything runs (exit code 3).
      writeFileSync(manifest, JSON.stringify(vadOnly));
      const refused = capture();
      assert.equal(
        await runCli(["run", manifest, "--input", stereo8k], refused),
        EXIT.invalidManifest,
      );
      assert.match(refused.stderr, /the session input is 8000 Hz, 2 ch, i16 but "vad" \(Vad\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
