import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT, runCli, VERSION } from "../cli/main.ts";
import { captureIo as capture } from "./helpers.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
const speech = join(root, "examples/data/speech.wav");
const deno = join(root, "node_modules/.bin/deno");
const bun = join(root, "node_modules/.bin/bun");

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "rm-cli-"));
}

const vadManifest = {
  version: 1,
  nodes: [
    { id: "mono", type: "ChannelMix" },
    { id: "res", type: "Resample", params: { targetRate: 16000 } },
    { id: "vad", type: "Vad" },
  ],
  connections: [{ from: "mono", to: "res" }, { from: "res", to: "vad" }],
};

describe("remotemedia CLI", () => {
  test("--help everywhere, exit code 0; no command is a usage error", async () => {
    for (const args of [["--help"], ["run", "--help"], ["validate", "-h"], ["nodes", "--help"]]) {
      const io = capture();
      assert.equal(await runCli(args, io), EXIT.ok, args.join(" "));
      assert.match(io.stdout.join("\n"), /remotemedia/);
    }
    const io = capture();
    assert.equal(await runCli([], io), EXIT.usage);
    assert.equal(await runCli(["frobnicate"], capture()), EXIT.usage);
  });

  test("nodes lists every type with params; --json is machine-readable", async () => {
    const io = capture();
    assert.equal(await runCli(["nodes"], io), EXIT.ok);
    assert.match(io.stdout.join("\n"), /Resample {2}\(in: audio\) → audio/);
    assert.match(io.stdout.join("\n"), /--param <id>\.targetRate=<1000\.\.384000> {2}required/);
    const json = capture();
    await runCli(["nodes", "--json"], json);
    assert.ok(JSON.parse(json.stdout.join("\n")).some((t: { type: string }) => t.type === "Vad"));
  });

  test("validate: 0 when valid, 3 with every issue, 4 when the file is missing", async () => {
    const dir = tempDir();
    const good = join(dir, "good.json");
    const bad = join(dir, "bad.json");
    writeFileSync(good, JSON.stringify(vadManifest));
    writeFileSync(bad, JSON.stringify({ version: 1, nodes: [{ id: "r", type: "Resample" }] }));
    let io = capture();
    assert.equal(await runCli(["validate", good], io), EXIT.ok);
    assert.match(io.stdout[0], /ok \(3 nodes, 2 connections\)/);
    io = capture();
    assert.equal(await runCli(["validate", bad], io), EXIT.invalidManifest);
    assert.match(io.stdout[0], /nodes\[0\] "r"\.params\.targetRate: required param is missing/);
    io = capture();
    assert.equal(await runCli(["validate", join(dir, "nope.json")], io), EXIT.io);
    assert.match(io.stderr, /^error: cannot read .*nope\.json/);
    assert.doesNotMatch(io.stderr, /\n\s+at /, "no stack trace without --verbose");
    rmSync(dir, { recursive: true });
  });

  test("run reads a WAV, prints events, writes audio, and summarises per-node metrics", async () => {
    const dir = tempDir();
    const manifest = join(dir, "vad.json");
    const out = join(dir, "speech-only.wav");
    writeFileSync(manifest, JSON.stringify(vadManifest));
    const io = capture();
    const code = await runCli(
      ["run", manifest, "--input", speech, "--output", out, "--param", "vad.mode=gate"],
      io,
    );
    assert.equal(code, EXIT.ok, io.stderr);
    const events = io.stdout.map((l) => JSON.parse(l));
    assert.equal(events.filter((e) => e.type === "speech_start").length, 3);
    assert.ok(events.every((e) => e.node === "vad"));
    assert.ok(existsSync(out));
    assert.match(io.stderr, /node +type +in +out +total ms/);
    assert.match(io.stderr, /vad +Vad +\d+ +\d+/);
    assert.match(io.stderr, /done in .* real time/);
    rmSync(dir, { recursive: true });
  });

  test("a progress bar is drawn on stderr when it is a terminal", async () => {
    const dir = tempDir();
    const manifest = join(dir, "vad.json");
    writeFileSync(manifest, JSON.stringify(vadManifest));
    const io = capture();
    io.isTty = true;
    assert.equal(await runCli(["run", manifest, "--input", speech, "--no-stats"], io), EXIT.ok);
    assert.match(io.stderr, /\r\[-{30}\] {3}0% of 8\.6 s/);
    const plain = capture();
    await runCli(["run", manifest, "--input", speech, "--no-stats"], plain);
    assert.equal(plain.stderr, "", "no progress bar when stderr is not a terminal");
    rmSync(dir, { recursive: true });
  });

  test("run: a bad --param is a usage error, a node failure exits 1 with its id", async () => {
    const dir = tempDir();
    const manifest = join(dir, "m.json");
    writeFileSync(manifest, JSON.stringify(vadManifest));
    let io = capture();
    assert.equal(await runCli(["run", manifest, "--param", "nope"], io), EXIT.usage);
    assert.match(io.stderr, /--param expects node\.key=value, got "nope"/);
    io = capture();
    assert.equal(await runCli(["run", manifest, "--param", "ghost.x=1"], io), EXIT.usage);
    assert.match(io.stderr, /no node "ghost"/);
    // No --input, but an entry node that needs input: said so, with what it accepts.
    io = capture();
    assert.equal(await runCli(["run", manifest], io), EXIT.usage);
    assert.match(
      io.stderr,
      /error: this pipeline takes input \("mono" \(ChannelMix\) accepts audio\): give --input <file\.wav>/,
    );
    // A param that makes a node unable to take the input's format is found before anything runs
    // (format negotiation starts from the --input file's format): exit 3, with both formats.
    io = capture();
    assert.equal(
      await runCli(["run", manifest, "--input", speech, "--param", "mono.mode=upmix"], io),
      EXIT.invalidManifest,
    );
    assert.match(
      io.stderr,
      /nodes\[0\] "mono": "mono" \(ChannelMix\): upmix expects mono input, gets 2 channels \(48000 Hz, 2 ch, i16\)/,
    );
    // A node failure while running exits 1 with the node's id.
    const reader = join(dir, "reader.json");
    writeFileSync(
      reader,
      JSON.stringify({
        version: 1,
        nodes: [{ id: "file", type: "WavReader", params: { path: speech } }],
      }),
    );
    io = capture();
    const notWav = join(root, "README.md");
    assert.equal(
      await runCli(["run", reader, "--param", `file.path=${notWav}`], io),
      EXIT.nodeFailed,
    );
    assert.match(
      io.stderr,
      /error: node "file" \(WavReader\) failed: .*README\.md: not a WAV stream/,
    );
    rmSync(dir, { recursive: true });
  });

  test("--version prints the package version of deno.json and package.json and exits 0", async () => {
    const io = capture();
    assert.equal(await runCli(["--version"], io), EXIT.ok);
    const denoJson = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
    const packageJson = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    assert.equal(io.stdout.join("\n"), `remotemedia ${denoJson.version}`);
    assert.equal(packageJson.version, denoJson.version);
    assert.equal(VERSION, denoJson.version);
  });

  test("run without --input: a manifest whose source is a WavReader with a path runs by itself", async () => {
    const dir = tempDir();
    const manifest = join(dir, "read.json");
    writeFileSync(
      manifest,
      JSON.stringify({
        ...vadManifest,
        nodes: [{ id: "read", type: "WavReader", params: { path: speech } }, ...vadManifest.nodes],
        connections: [{ from: "read", to: "mono" }, ...vadManifest.connections],
      }),
    );
    const io = capture();
    assert.equal(await runCli(["run", manifest], io), EXIT.ok, io.stderr);
    const events = io.stdout.map((l) => JSON.parse(l));
    assert.equal(events.filter((e) => e.type === "speech_start").length, 3);
    assert.match(io.stderr, /read +WavReader +0 +\d+/, "the reader read the file with no input");
    // --input has nowhere to go then.
    const withInput = capture();
    assert.equal(await runCli(["run", manifest, "--input", speech], withInput), EXIT.usage);
    assert.match(
      withInput.stderr,
      /--input: this pipeline has no entry node \(its sources start by themselves\)/,
    );
    rmSync(dir, { recursive: true });
  });

  test("--input goes to every entry that accepts audio, and is refused when none does", async () => {
    const dir = tempDir();
    const mixed = join(dir, "mixed.json");
    writeFileSync(
      mixed,
      JSON.stringify({
        version: 1,
        nodes: [
          { id: "level", type: "AudioLevel" },
          { id: "chat", type: "TextTransform" },
          { id: "count", type: "Chunker", params: { frameMs: 1000 } },
        ],
      }),
    );
    let io = capture();
    assert.equal(await runCli(["run", mixed, "--input", speech, "--no-stats"], io), EXIT.ok);
    const lines = io.stdout.map((l) => JSON.parse(l));
    assert.ok(lines.length > 100 && lines.every((l) => l.node === "level" && l.type === "level"));
    const textOnly = join(dir, "text.json");
    writeFileSync(
      textOnly,
      JSON.stringify({ version: 1, nodes: [{ id: "chat", type: "TextTransform" }] }),
    );
    io = capture();
    assert.equal(await runCli(["run", textOnly, "--input", speech], io), EXIT.usage);
    assert.match(
      io.stderr,
      /--input: no entry node accepts audio \(entries: "chat" \(TextTransform\) accepts text\)/,
    );
    rmSync(dir, { recursive: true });
  });

  test("error paths refer to the user's manifest indices, with --input and --output", async () => {
    const dir = tempDir();
    const manifest = join(dir, "bad.json");
    writeFileSync(
      manifest,
      JSON.stringify({
        ...vadManifest,
        nodes: [...vadManifest.nodes.slice(0, 2), {
          id: "vad",
          type: "Vad",
          params: { mode: "x" },
        }],
      }),
    );
    const io = capture();
    const code = await runCli(
      ["run", manifest, "--input", speech, "--output", join(dir, "o.wav")],
      io,
    );
    assert.equal(code, EXIT.invalidManifest);
    assert.match(io.stderr, /nodes\[2\] "vad"\.params\.mode/);
    rmSync(dir, { recursive: true });
  });

  test("a file that is not a WAV given as --input exits 4 naming it", async () => {
    const dir = tempDir();
    const manifest = join(dir, "m.json");
    const notWav = join(dir, "song.mp3");
    writeFileSync(manifest, JSON.stringify(vadManifest));
    writeFileSync(notWav, "ID3\u0004\u0000 not a wav at all");
    const io = capture();
    assert.equal(await runCli(["run", manifest, "--input", notWav], io), EXIT.io);
    assert.match(io.stderr, /error: --input .*song\.mp3: .*RIFF/);
    rmSync(dir, { recursive: true });
  });

  test("the same CLI runs under deno run and bun run with the same exit codes", () => {
    const dir = tempDir();
    const bad = join(dir, "bad.json");
    writeFileSync(bad, '{ "version": 1, "nodes": [] }');
    for (const cmd of [[deno, "run", "-A", "cli/main.ts"], [bun, "run", "cli/main.ts"]]) {
      const help = spawnSync(cmd[0], [...cmd.slice(1), "--help"], { cwd: root, encoding: "utf8" });
      assert.equal(help.status, 0, help.stderr);
      const invalid = spawnSync(cmd[0], [...cmd.slice(1), "validate", bad], {
        cwd: root,
        encoding: "utf8",
      });
      assert.equal(invalid.status, EXIT.invalidManifest, invalid.stderr);
      assert.match(invalid.stdout, /nodes: must contain at least one node/);
    }
    rmSync(dir, { recursive: true });
  });
});

describe("distribution", () => {
  test("bun build --compile makes one executable that runs a pipeline alone in an empty directory", () => {
    const build = tempDir();
    const exe = join(build, "remotemedia");
    const compiled = spawnSync(bun, ["build", "--compile", "cli/compiled.ts", "--outfile", exe], {
      cwd: root,
      encoding: "utf8",
    });
    assert.equal(compiled.status, 0, compiled.stderr);
    const empty = tempDir();
    copyFileSync(exe, join(empty, "remotemedia"));
    spawnSync("chmod", ["+x", join(empty, "remotemedia")]);
    rmSync(build, { recursive: true });
    const data = tempDir();
    const manifest = join(data, "vad.json");
    writeFileSync(manifest, JSON.stringify(vadManifest));
    const env: Record<string, string> = { PATH: "/usr/bin:/bin", HOME: empty };
    const result = spawnSync(
      join(empty, "remotemedia"),
      [
        "run",
        manifest,
        "--input",
        speech,
        "--output",
        join(data, "out.wav"),
        "--param",
        "vad.mode=gate",
      ],
      { cwd: empty, env, encoding: "utf8" },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.equal(
      result.stdout.trim().split("\n").length,
      6,
      "3 speech segments, start and end each",
    );
    const wav = readFileSync(join(data, "out.wav"));
    assert.equal(new TextDecoder().decode(wav.subarray(0, 4)), "RIFF");
    rmSync(empty, { recursive: true });
    rmSync(data, { recursive: true });
  });

  test("a Bun project in another folder imports the packed package by name", () => {
    const dir = tempDir();
    const pack = spawnSync("npm", ["pack", "--pack-destination", dir, "--silent"], {
      cwd: root,
      encoding: "utf8",
    });
    assert.equal(pack.status, 0, pack.stderr);
    const tarball = join(dir, pack.stdout.trim().split("\n").at(-1)!);
    const app = join(dir, "app");
    spawnSync("mkdir", ["-p", app]);
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({
        name: "consumer",
        private: true,
        dependencies: { remotemedia: `file:${tarball}` },
      }),
    );
    writeFileSync(
      join(app, "main.ts"),
      `import { run, RuntimeData } from "remotemedia";
const [out] = await run({ version: 1, nodes: [{ id: "up", type: "TextTransform" }] }, RuntimeData.text("packaged"));
console.log(out.asText());`,
    );
    const install = spawnSync(bun, ["install", "--offline"], { cwd: app, encoding: "utf8" });
    assert.equal(install.status, 0, install.stderr);
    assert.ok(!existsSync(join(app, "node_modules/remotemedia/target")), "only the package files");
    const lib = join(root, "target/release/libremotemedia.so");
    const ran = spawnSync(bun, ["run", "main.ts"], {
      cwd: app,
      encoding: "utf8",
      env: { PATH: "/usr/bin:/bin", HOME: dir, REMOTEMEDIA_LIB: lib },
    });
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stdout.trim(), "PACKAGED");
    const missing = spawnSync(bun, ["run", "main.ts"], {
      cwd: app,
      encoding: "utf8",
      env: { PATH: "/usr/bin:/bin", HOME: dir },
    });
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /could not load the native library\. Tried:/);
    assert.match(missing.stderr, /libremotemedia-v0\.1\.0-linux-x86_64\.so \(not found\)/);
    rmSync(dir, { recursive: true });
  });
});
