import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  convertManifest,
  ManifestError,
  nodeTypes,
  Pipeline,
  registerNode,
  RemoteMediaError,
  RuntimeData,
  Session,
  unregisterNode,
  validateManifest,
  wavFrames,
} from "../mod.ts";
import { EXIT, runCli } from "../cli/main.ts";
import { captureIo as capture } from "./helpers.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
const sdk = (name: string) => readFileSync(join(root, "tests/data/sdk", name), "utf8");
const sdkPath = (name: string) => join(root, "tests/data/sdk", name);
const cleanSpeech = join(root, "tests/data/stream_health/clean.wav");

async function collect(session: Session): Promise<RuntimeData[]> {
  const all: RuntimeData[] = [];
  for await (const out of session) all.push(out);
  return all;
}

describe("RemoteMedia SDK manifests", () => {
  test("convertManifest translates v1 YAML: metadata, node_type, aliases, snake_case params", () => {
    const m = convertManifest(sdk("vad_chain.yaml"));
    assert.equal(m.version, 1);
    assert.equal(m.name, "vad-utterances");
    assert.deepEqual(m.nodes.map((n) => n.type), ["Chunker", "Vad", "UtteranceAccumulator"]);
    assert.deepEqual(m.nodes[0].params, { frames: 512 });
    const vad = m.nodes[1].params as Record<string, unknown>;
    assert.equal(vad.minSpeechMs, 250);
    assert.equal(vad.minSilenceMs, 300);
    // with the Silero Vad (its params landed separately); left out before
    const silero = nodeTypes().find((t) => t.type === "Vad")!.params.some((p) =>
      p.name === "speechPadMs"
    );
    assert.equal(vad.speechPadMs, silero ? 30 : undefined);
    assert.equal(vad.mode, "gate");
    assert.deepEqual(m.nodes[2].params, { minMs: 500, maxMs: 30000 });
    assert.ok(!("is_streaming" in m.nodes[1]) && !("config" in m.nodes[2]));
  });

  test("the JSON form (nodeType, camelCase params, quality High) translates the same way", () => {
    const m = convertManifest(sdk("vad_chain.json"));
    assert.deepEqual(m.nodes[0], {
      id: "resample",
      type: "Resample",
      params: { targetRate: 16000, quality: "high" },
    });
    assert.equal((m.nodes[2].params as Record<string, unknown>).minSilenceMs, 300);
    assert.deepEqual(validateManifest(sdk("vad_chain.json")), []);
  });

  test("every fixture of ours validates; PassThrough, AudioLevelNode, TextCollectorNode map", () => {
    for (
      const name of ["passthrough.yaml", "vad_chain.yaml", "vad_chain.json", "level_and_text.yaml"]
    ) {
      assert.deepEqual(validateManifest(sdk(name)), [], name);
    }
    const m = convertManifest(sdk("level_and_text.yaml"));
    assert.deepEqual(m.nodes.map((n) => [n.type, n.params]), [
      ["Resample", { targetRate: 8000, quality: "fast" }],
      ["AudioLevel", { silenceDb: -50 }],
      ["TextCollector", { minChars: 10 }],
    ]);
  });

  test("each YAML fixture has a JSON twin (nodeType, camelCase params) that translates the same", () => {
    for (const name of ["passthrough", "level_and_text", "stream_health", "vad_chain"]) {
      const yaml = convertManifest(sdk(`${name}.yaml`));
      const json = convertManifest(sdk(`${name}.json`));
      assert.deepEqual(validateManifest(sdk(`${name}.json`)), [], name);
      if (name === "vad_chain") {
        // the JSON chain starts with a FastResampleNode; the rest is the same
        assert.deepEqual(json.nodes.slice(1).map((n) => n.type), yaml.nodes.map((n) => n.type));
        assert.equal(json.negotiate, true);
        continue;
      }
      assert.deepEqual(json, yaml, name);
    }
  });

  test("issues point at the user's YAML: their keys and line numbers", () => {
    const issues = validateManifest(sdk("bad.yaml"));
    const lines = issues.map((i) => `${i.path}: ${i.message}`);
    assert.ok(
      lines.includes(
        'nodes[0] "res".params.target_rate (line 8): expected an integer between 1000 and 384000, got 5',
      ),
      lines.join("\n"),
    );
    assert.ok(
      lines.some((l) => l.startsWith('nodes[1] "vad".params.min_speech_duration_ms (line 13)')),
    );
    assert.ok(
      lines.some((l) => l.startsWith('nodes[1] "vad".params.colour (line 14): unknown param')),
    );
    assert.ok(lines.some((l) => l.startsWith("connections[0].to (line 17)")));
    assert.throws(() => Session.create(sdk("bad.yaml")), (error: unknown) => {
      assert.ok(error instanceof ManifestError && error instanceof RemoteMediaError);
      assert.equal(error.code, "invalid_manifest");
      assert.deepEqual(error.issues, issues);
      return true;
    });
  });

  test("YAML that does not parse is a ManifestError with its line", () => {
    assert.throws(() => convertManifest("nodes:\n  - id: a\n  type: [\n"), (error: unknown) => {
      assert.ok(error instanceof ManifestError);
      assert.match(error.message, /not valid YAML: .*line \d/);
      return true;
    });
    assert.throws(() => convertManifest(42 as unknown as string), RemoteMediaError);
  });

  test("our own manifests may be YAML too", async () => {
    const yaml = "version: 1\nnodes:\n  - id: g\n    type: Gain\n    params: { gain: 0.5 }\n";
    await using session = Session.create(yaml);
    await session.push(
      RuntimeData.audio({ samples: new Float32Array([0.5, -0.5]), sampleRate: 8000 }),
    );
    session.close();
    const [out] = await collect(session);
    assert.deepEqual([...out.asAudio().samples], [0.25, -0.25]);
    out.dispose();
    assert.deepEqual(Pipeline.from(yaml).manifest.nodes[0], {
      id: "g",
      type: "Gain",
      params: { gain: 0.5 },
    });
  });

  test("a v1 PassThrough session passes audio through", async () => {
    await using session = Session.create(sdk("passthrough.yaml"));
    await session.push(
      RuntimeData.audio({ samples: new Float32Array([0.1, 0.2]), sampleRate: 16000 }),
    );
    session.close();
    const [out] = await collect(session);
    assert.equal(out.nodeId, "pass");
    assert.equal(out.asAudio().samples.length, 2);
    out.dispose();
  });

  test("audio and text entries of a translated manifest both work", async () => {
    await using session = Session.create(sdk("level_and_text.yaml"));
    await session.push(
      RuntimeData.audio({ samples: new Float32Array(1600).fill(0.25), sampleRate: 16000 }),
    );
    for (const token of ["Hello", " there", " my friend.", " Bye"]) {
      await session.push(RuntimeData.text(token));
    }
    session.close();
    const texts: string[] = [];
    let levels = 0;
    for await (const out of session) {
      if (out.dataType() === "text") texts.push(out.asText());
      else if (out.asJson<{ type: string }>().type === "level") levels++;
      out.dispose();
    }
    assert.deepEqual(texts.map((t) => t.trim()), ["Hello there my friend.", "Bye"]);
    assert.ok(levels >= 1);
  });

  test("a node type we do not have names itself and registerNode; registered, the manifest runs", async () => {
    assert.throws(() => Session.create(sdk("voice_assistant.yaml")), (error: unknown) => {
      assert.ok(error instanceof ManifestError);
      const issue = error.issues.find((i) =>
        i.path.startsWith('nodes[1] "tts".node_type (line 13)')
      );
      assert.ok(issue, JSON.stringify(error.issues));
      assert.match(
        issue.message,
        /unknown node type "KokoroTTSNode".*registerNode\("KokoroTTSNode"/,
      );
      return true;
    });
    const seen: unknown[] = [];
    registerNode("KokoroTTSNode", (params) => {
      seen.push(params);
      return {
        process: (data: RuntimeData) =>
          RuntimeData.audio({ samples: new Float32Array(data.asText().length), sampleRate: 24000 }),
      };
    }, { accepts: ["text"], outputs: ["audio"] });
    try {
      await using session = Session.create(sdk("voice_assistant.yaml"));
      await session.push(RuntimeData.text("Hi. How are you?"));
      session.close();
      const lengths: number[] = [];
      for await (const out of session) {
        lengths.push(out.asAudio().numSamples);
        out.dispose();
      }
      assert.deepEqual(lengths, [3, 12]);
      assert.deepEqual(seen, [{ voice: "af_bella", speed: 1, sample_rate: 24000 }]);
    } finally {
      unregisterNode("KokoroTTSNode");
    }
  });

  test("remotemedia convert prints our JSON; bad files exit 3 with lines; unknown types warn", async () => {
    let io = capture();
    assert.equal(await runCli(["convert", sdkPath("vad_chain.yaml")], io), EXIT.ok, io.stderr);
    assert.deepEqual(JSON.parse(io.stdout.join("\n")), convertManifest(sdk("vad_chain.yaml")));
    io = capture();
    assert.equal(await runCli(["convert", sdkPath("bad.yaml")], io), EXIT.invalidManifest);
    assert.match(io.stderr, /bad\.yaml: nodes\[0\] "res"\.params\.target_rate \(line 8\)/);
    assert.deepEqual(io.stdout, []);
    io = capture();
    assert.equal(await runCli(["convert", sdkPath("voice_assistant.yaml")], io), EXIT.ok);
    assert.match(io.stderr, /warning: .*KokoroTTSNode.*registerNode/);
    assert.equal(JSON.parse(io.stdout.join("\n")).nodes[1].type, "KokoroTTSNode");
    io = capture();
    assert.equal(await runCli(["convert"], io), EXIT.usage);
    assert.equal(await runCli(["convert", "/nonexistent.yaml"], capture()), EXIT.io);
  });

  test("remotemedia validate and run take their YAML (chunker → Silero VAD → accumulator)", async () => {
    let io = capture();
    assert.equal(await runCli(["validate", sdkPath("vad_chain.yaml")], io), EXIT.ok, io.stderr);
    assert.match(io.stdout[0], /ok \(3 nodes, 2 connections\)/);
    io = capture();
    assert.equal(await runCli(["validate", sdkPath("bad.yaml")], io), EXIT.invalidManifest);
    assert.match(io.stdout.join("\n"), /colour \(line 14\)/);
    const dir = mkdtempSync(join(tmpdir(), "rm-sdk-"));
    try {
      for (
        const name of ["vad_chain.yaml", "vad_chain.json", "passthrough.yaml", "passthrough.json"]
      ) {
        const out = join(dir, `${name}.wav`);
        io = capture();
        const code = await runCli(
          ["run", sdkPath(name), "--input", cleanSpeech, "--output", out],
          io,
        );
        assert.equal(code, EXIT.ok, `${name}: ${io.stderr}`);
        assert.ok(statSync(out).size > 44 + 16000, `${name}: ${statSync(out).size} bytes`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the SDK's stream-health analysers run side by side on one input (YAML and JSON)", async () => {
    const oneChannel = join(root, "tests/data/stream_health/one_channel.wav");
    const alertsOf = async (name: string) => {
      const io = capture();
      const code = await runCli(["run", sdkPath(name), "--input", oneChannel], io);
      assert.equal(code, EXIT.ok, io.stderr);
      return io.stdout.map((l) => JSON.parse(l)).filter((e) => e.type === "alert");
    };
    const alerts = await alertsOf("stream_health.yaml");
    const kinds = alerts.map((a) => a.kind);
    assert.ok(kinds.includes("channel_imbalance"), JSON.stringify(alerts));
    // the SDK's 500 ms at -50 dBFS also finds the pause between the sentences; nothing else is wrong
    assert.deepEqual(kinds.filter((k) => !["channel_imbalance", "silence"].includes(k)), []);
    assert.deepEqual(await alertsOf("stream_health.json"), alerts);
  });

  test("their Silero chain takes 48 kHz stereo: negotiation inserts what the SDK runtime converted", async () => {
    const stereo48k = join(root, "examples/data/speech.wav");
    const dir = mkdtempSync(join(tmpdir(), "rm-sdk-neg-"));
    try {
      const out = join(dir, "utterances.wav");
      const io = capture();
      const code = await runCli(
        ["run", sdkPath("vad_chain.yaml"), "--input", stereo48k, "--output", out, "--verbose"],
        io,
      );
      assert.equal(code, EXIT.ok, io.stderr);
      const inserted = io.stderr.split("\n").filter((l) => l.startsWith("format: inserted"));
      assert.deepEqual(inserted.map((l) => l.split(" ").slice(2, 4).join(" ")), [
        'ChannelMix "vad:mono"',
        'Resample "vad:resample"',
      ]);
      assert.match(inserted[1], /\(48000 Hz, 1 ch, i16 → 16000 Hz, 1 ch, i16\)/);
      // the utterances come out at the rate the SDK node expected
      let frames = 0;
      for await (const frame of wavFrames(readFileSync(out), { frameMs: 0 })) {
        const a = frame.asAudio();
        assert.deepEqual([a.sampleRate, a.channels], [16000, 1]);
        frames += a.numSamples;
        frame.dispose();
      }
      assert.ok(frames > 16000, `${frames} frames of speech`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
