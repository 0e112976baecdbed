/**
 * Installing from packages, end to end. The tarballs of `make dist` are published to a real npm
 * registry (Verdaccio from tools/registry, started here on 127.0.0.1, with no uplink: nothing can come
 * from elsewhere) and installed from it into empty folders outside the repository, with a PATH that
 * has no Rust toolchain. Each runtime tests its own ways in:
 *
 * - `bun test`: `bun add remotemedia` + `bun run`, `bun build --compile` of the installed app (run
 *   alone in an empty folder), and the checksum-verified download when the platform package is
 *   missing (`--omit optional`);
 * - `deno test`: `import … from "npm:remotemedia"`, the JSR package's module graph (the repository's
 *   files as `deno publish` rewrites them, its `npm:` dependency resolved from the registry), and the
 *   same download checks.
 *
 * One file (~600 lines) on purpose: the registry is started once and shared by every install test.
 *
 * Each app runs Resample + Vad on the speech WAV, reads a view (Deno: the library's Node-API side) and
 * prints which library file the process mapped. Timings go to `dist/measurements-<runtime>.json`.
 *
 * Run by `make test-dist` (REMOTEMEDIA_TEST_DIST=1, after `make dist`); skipped otherwise.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { LIBRARY_VERSION, platformKey, prebuiltFileName, targetTriple } from "../ffi/platform.ts";
import { runtime } from "./helpers.ts";

const enabled = process.env.REMOTEMEDIA_TEST_DIST === "1";
if (!enabled) console.warn("skipping the package install tests: run `make test-dist`");

const root = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const npmDist = join(root, "dist/npm");
const releaseDist = join(root, "dist/release");
const speech = join(root, "examples/data/speech.wav");
const deno = join(root, "node_modules/.bin/deno");
const bun = join(root, "node_modules/.bin/bun");
const version = LIBRARY_VERSION;
const hostKey = platformKey(process.platform, process.arch, "gnu");
const hostTriple = targetTriple(process.platform, process.arch, "gnu");
const libFile = "libremotemedia.so";
const releaseFile = prebuiltFileName(process.platform, process.arch, version);
/** No cargo, no rustup: only the system's directories. */
const PATH = "/usr/bin:/bin";
const TIMEOUT = 300_000;

const measurements: Record<string, number | string> = {};

/** An app: the WAV's frames → mono → Resample → Vad, then a view; it waits for stdin to end. */
function appSource(specifier: string): string {
  return `import { PipelineBuilder, RuntimeData, Session, wavFrames } from "${specifier}";
import { readFileSync } from "node:fs";
import process from "node:process";

const manifest = new PipelineBuilder()
  .node("mono", "ChannelMix", { mode: "mono" })
  .node("resample", "Resample", { targetRate: 16000 })
  .node("vad", "Vad", { mode: "events" })
  .chain("mono", "resample", "vad")
  .build();
{
  await using session = Session.create(manifest);
  const wav = new Blob([readFileSync(process.argv[2])]).stream();
  const writing = wavFrames(wav, { frameMs: 20 }).pipeTo(session.writable);
  for await (const event of session) {
    const e = event.asJson<{ type: string; startUs: number; endUs: number }>();
    console.log("event " + e.type);
    if (e.type === "speech_end") console.log("segment " + e.startUs / 1e6 + " " + e.endUs / 1e6);
    event.dispose();
  }
  await writing;
}
{
  using audio = RuntimeData.audio({ samples: new Float32Array([0.25, -0.5]), sampleRate: 16000 });
  console.log("view " + Array.from(audio.asAudio().samples).join(","));
}
// Stay alive until stdin ends: the test reads which library this process mapped (/proc/<pid>/maps;
// Deno would need --allow-all to read its own).
for await (const _ of process.stdin);
`;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** From spawn to the first pipeline output line. */
  firstOutputMs?: number;
  /** The remotemedia library file the process had mapped (from /proc/<pid>/maps). */
  library?: string;
}

/** The remotemedia library mapped by process `pid` (read by `cat`: Deno needs -A to read /proc). */
function mappedLibrary(pid: number): string {
  const maps = spawnSync("cat", [`/proc/${pid}/maps`], { encoding: "utf8" }).stdout ?? "";
  return maps.split("\n").map((line) => line.slice(line.indexOf("/")))
    // Bun extracts a library embedded in a compiled binary to /tmp/.bun-<hash>.so before opening it.
    .find((path) => /(remotemedia[^/]*|\/\.bun-[^/]+)\.so/.test(path)) ?? "";
}

/**
 * Runs an app, timing its first pipeline output (`event …`); once it printed its view, reads which
 * library it mapped and ends its stdin so it exits.
 */
function timedRun(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child: ChildProcess = spawn(command, args, {
      ...options,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const run: Run = { status: null, stdout: "", stderr: "" };
    child.stdout!.on("data", (chunk: Uint8Array) => {
      run.stdout += new TextDecoder().decode(chunk);
      if (run.firstOutputMs === undefined && run.stdout.includes("event ")) {
        run.firstOutputMs = performance.now() - started;
      }
      if (run.library === undefined && /^view .*\n/m.test(run.stdout)) {
        try {
          run.library = mappedLibrary(child.pid!);
        } finally {
          child.stdin!.end();
        }
      }
    });
    child.stderr!.on(
      "data",
      (chunk: Uint8Array) => (run.stderr += new TextDecoder().decode(chunk)),
    );
    const timer = setTimeout(() => child.kill(), 120_000); // a hung app fails its test, not the run
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ ...run, status });
    });
  });
}

/** The app's output is the speech WAV's three sentences, a view and a library path matching `library`. */
function checkApp(run: Run, library: (path: string) => boolean): string {
  assert.equal(run.status, 0, `exit ${run.status}\n${run.stderr}\n${run.stdout}`);
  const segments = run.stdout.split("\n").filter((l) => l.startsWith("segment "))
    .map((l) => l.split(" ").slice(1).map(Number));
  assert.equal(segments.length, 3, run.stdout);
  assert.ok(segments[0][0] > 0.4 && segments[0][0] < 0.7, `first sentence at ${segments[0]}`);
  assert.ok(segments[2][0] > 5 && segments[2][0] < 5.4, `third sentence at ${segments[2]}`);
  assert.match(run.stdout, /^view 0\.25,-0\.5$/m);
  assert.ok(library(run.library ?? ""), `the library mapped was ${run.library}`);
  return run.library!;
}

/** Median time to first output over `n` fresh processes. */
async function firstOutput(n: number, runOnce: () => Promise<Run>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const run = await runOnce();
    assert.equal(run.status, 0, run.stderr);
    times.push(run.firstOutputMs!);
  }
  return Math.round(times.sort((a, b) => a - b)[Math.floor(n / 2)]);
}

/**
 * An install step in the app folder `dir`: writes its `package.json` when one is given, runs `command`
 * there with `env`, fails with the command's stderr unless it succeeded, and records how long it took
 * under the name `measure` when one is given.
 */
function install(
  dir: string,
  command: string,
  args: string[],
  options: { env: Record<string, string>; packageJson?: object; measure?: string },
): void {
  if (options.packageJson) {
    writeFileSync(join(dir, "package.json"), JSON.stringify(options.packageJson));
  }
  const started = performance.now();
  const result = spawnSync(command, args, { cwd: dir, env: options.env, encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  if (options.measure) measurements[options.measure] = Math.round(performance.now() - started);
}

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The release file server of the download fallback: serves dist/release, honestly or tampered. */
async function releaseServer(): Promise<{
  url: string;
  hits: () => number;
  tamper: (on: boolean) => void;
  close(): Promise<void>;
}> {
  let hits = 0;
  let tampered = false;
  const server = createServer((request, response) => {
    hits++;
    const name = (request.url ?? "").slice(1);
    const path = join(releaseDist, name);
    if (name.includes("/") || !existsSync(path)) {
      response.writeHead(404).end();
      return;
    }
    const bytes = new Uint8Array(readFileSync(path));
    if (tampered) bytes[bytes.length >> 1] ^= 0x40;
    response.writeHead(200, { "content-length": bytes.length }).end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    hits: () => hits,
    tamper: (on) => (tampered = on),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

describe("installing from packages", { skip: !enabled }, () => {
  let work = "";
  let registry = "";
  let verdaccio: ChildProcess | undefined;
  /** Environment of every install and app: no Rust toolchain, a fresh home, the local registry. */
  let baseEnv: Record<string, string> = {};

  before(async () => {
    const tarballs = existsSync(npmDist)
      ? readdirSync(npmDist).filter((f) => f.endsWith(".tgz"))
      : [];
    assert.ok(tarballs.length >= 3, "no packages in dist/npm: run `make dist` first");
    work = tempDir("rm-dist-");
    const port = await freePort();
    registry = `http://127.0.0.1:${port}/`;
    writeFileSync(
      join(work, "verdaccio.yaml"),
      `storage: ${join(work, "storage")}
auth:
  htpasswd:
    file: ${join(work, "htpasswd")}
uplinks: {}
packages:
  "**":
    access: $all
    publish: $all
log: { type: stdout, format: pretty, level: warn }
`,
    );
    const bin = join(root, "tools/registry/node_modules/verdaccio/bin/verdaccio");
    assert.ok(existsSync(bin), "Verdaccio is not installed: `make test-dist` installs it");
    verdaccio = spawn("node", [
      bin,
      "--config",
      join(work, "verdaccio.yaml"),
      "--listen",
      `127.0.0.1:${port}`,
    ], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    verdaccio.stderr!.on("data", (chunk: Uint8Array) => (log += new TextDecoder().decode(chunk)));
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        if ((await fetch(`${registry}-/ping`)).ok) break;
      } catch {
        // not listening yet
      }
      assert.ok(Date.now() < deadline, `Verdaccio did not start:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const npmrc = join(work, "npmrc");
    writeFileSync(npmrc, `registry=${registry}\n//127.0.0.1:${port}/:_authToken=local-test\n`);
    // The platform packages first, then @remotemedia/lib that names them, then remotemedia.
    const order = (name: string): number =>
      name.startsWith("remotemedia-lib-") && name !== `remotemedia-lib-${version}.tgz`
        ? 0
        : name === `remotemedia-lib-${version}.tgz`
        ? 1
        : 2;
    for (const tarball of tarballs.sort((a, b) => order(a) - order(b))) {
      const published = spawnSync(
        "npm",
        ["publish", join(npmDist, tarball), "--userconfig", npmrc, "--registry", registry],
        { encoding: "utf8", cwd: work },
      );
      assert.equal(published.status, 0, published.stderr);
      measurements[`download KiB: ${tarball}`] = Math.round(
        statSync(join(npmDist, tarball)).size / 1024,
      );
    }
    baseEnv = { PATH, HOME: join(work, "home"), NO_COLOR: "1", NPM_CONFIG_REGISTRY: registry };
    mkdirSync(baseEnv.HOME);
    const cargo = spawnSync("cargo", ["--version"], { env: baseEnv });
    assert.ok(cargo.error || cargo.status !== 0, "cargo must not be reachable from the apps' PATH");
  });

  after(async () => {
    if (verdaccio && verdaccio.exitCode === null) {
      const exited = new Promise((resolve) => verdaccio!.once("exit", resolve));
      verdaccio.kill();
      await exited;
    }
    if (work) rmSync(work, { recursive: true, force: true });
    if (Object.keys(measurements).length) {
      console.log(`measurements (${runtime}):`);
      for (const [name, value] of Object.entries(measurements)) console.log(`  ${name}: ${value}`);
      writeFileSync(
        join(root, `dist/measurements-${runtime}.json`),
        JSON.stringify(measurements, null, 2) + "\n",
      );
    }
  });

  /** A new app folder outside the repository, with `wav` beside it. */
  function appDir(name: string, specifier: string): string {
    const dir = join(work, name);
    mkdirSync(dir);
    writeFileSync(join(dir, "app.ts"), appSource(specifier));
    copyFileSync(speech, join(dir, "speech.wav"));
    return dir;
  }

  /** The download fallback's cases, for an app installed without its platform package. */
  async function checkDownloads(
    dir: string,
    run: (env: Record<string, string>) => Promise<Run>,
  ): Promise<void> {
    const server = await releaseServer();
    const cache = join(dir, "cache");
    const env = { REMOTEMEDIA_CACHE: cache, REMOTEMEDIA_DOWNLOAD_URL: server.url };
    const cached = join(cache, releaseFile);
    try {
      // No server: a clear error naming the platform, the package, the URL and the ways out.
      const nobody = `http://127.0.0.1:${await freePort()}/`;
      const offline = await run({ ...env, REMOTEMEDIA_DOWNLOAD_URL: nobody });
      assert.notEqual(offline.status, 0);
      for (
        const expected of [
          `This machine is ${hostKey} (${hostTriple})`,
          `@remotemedia/lib-${hostKey} (not installed`,
          `download of ${nobody}${releaseFile} (downloading ${nobody}${releaseFile} failed`,
          `bun add @remotemedia/lib-${hostKey}@${version}`,
          "or set REMOTEMEDIA_LIB",
        ]
      ) assert.ok(offline.stderr.includes(expected), `${expected}\nnot in:\n${offline.stderr}`);
      assert.equal(existsSync(cached), false);

      // A tampered file: refused before anything is saved or opened.
      server.tamper(true);
      const tampered = await run(env);
      assert.notEqual(tampered.status, 0);
      assert.match(
        tampered.stderr,
        /refused http:\/\/127\.0\.0\.1:\d+\/\S+: its SHA-256 is [0-9a-f]{64}, the one pinned/,
      );
      assert.deepEqual(existsSync(cache) ? readdirSync(cache) : [], []);
      assert.equal(server.hits(), 1);

      // Opted out: no request at all.
      server.tamper(false);
      const optedOut = await run({ ...env, REMOTEMEDIA_NO_DOWNLOAD: "1" });
      assert.notEqual(optedOut.status, 0);
      assert.match(optedOut.stderr, /REMOTEMEDIA_NO_DOWNLOAD is set/);
      assert.equal(server.hits(), 1);

      // The real file: downloaded once, verified, cached, opened; the next process uses the cache.
      const first = await run(env);
      checkApp(first, (path) => path === cached);
      assert.equal(server.hits(), 2);
      assert.equal(sha256(cached), sha256(join(releaseDist, releaseFile)));
      const again = await run(env);
      checkApp(again, (path) => path === cached);
      assert.equal(server.hits(), 2, "the verified cache is used, not downloaded again");

      // A cached file that does not match its pin is never opened; the pinned file replaces it.
      const damaged = new Uint8Array(readFileSync(cached));
      damaged[damaged.length >> 1] ^= 0x40;
      writeFileSync(cached, damaged);
      const refused = await run({ ...env, REMOTEMEDIA_NO_DOWNLOAD: "1" });
      assert.notEqual(refused.status, 0);
      assert.ok(refused.stderr.includes(`${cached} (SHA-256 `), refused.stderr);
      assert.match(refused.stderr, /is not the pinned [0-9a-f]{64}\)/);
      const replaced = await run(env);
      checkApp(replaced, (path) => path === cached);
      assert.equal(server.hits(), 3);
      assert.equal(sha256(cached), sha256(join(releaseDist, releaseFile)));
    } finally {
      await server.close();
    }
  }

  describe("Bun", { skip: runtime !== "bun" }, () => {
    let app = "";
    let env: Record<string, string> = {};

    test("bun add remotemedia installs the JavaScript package and this machine's library", {
      timeout: TIMEOUT,
    }, () => {
      app = appDir("bun-app", "remotemedia");
      env = { ...baseEnv, BUN_INSTALL_CACHE_DIR: join(app, ".bun-cache") };
      install(app, bun, ["add", `remotemedia@${version}`], {
        env,
        packageJson: { name: "app", private: true },
        measure: "install ms: bun add remotemedia (empty cache)",
      });
      const modules = join(app, "node_modules");
      assert.ok(existsSync(join(modules, "remotemedia/mod.js")));
      assert.ok(existsSync(join(modules, "remotemedia/mod.d.ts")));
      assert.ok(existsSync(join(modules, `@remotemedia/lib-${hostKey}/${libFile}`)));
      const shipped = readdirSync(join(modules, "remotemedia"), { recursive: true }) as string[];
      assert.deepEqual(shipped.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), []);
    });

    test("a Bun script runs Resample + Vad on a WAV with the library of the platform package", {
      timeout: TIMEOUT,
    }, async () => {
      const expected = join(app, `node_modules/@remotemedia/lib-${hostKey}/${libFile}`);
      const run = (): Promise<Run> =>
        timedRun(bun, ["run", "app.ts", "speech.wav"], { cwd: app, env });
      checkApp(await run(), (path) => path === expected);
      measurements["first output ms: bun run (installed package)"] = await firstOutput(5, run);
    });

    test("bun build --compile embeds the installed library: the binary runs alone", {
      timeout: TIMEOUT,
    }, async () => {
      const built = spawnSync(bun, ["build", "--compile", "app.ts", "--outfile", "app-binary"], {
        cwd: app,
        env,
        encoding: "utf8",
      });
      assert.equal(built.status, 0, built.stderr);
      const alone = join(work, "bun-binary-alone");
      mkdirSync(alone);
      copyFileSync(join(app, "app-binary"), join(alone, "app"));
      spawnSync("chmod", ["+x", join(alone, "app")]);
      copyFileSync(speech, join(alone, "speech.wav"));
      rmSync(join(app, "node_modules"), { recursive: true }); // nothing left to find on disk
      const run = (): Promise<Run> =>
        timedRun(join(alone, "app"), ["speech.wav"], {
          cwd: alone,
          env: { PATH, HOME: baseEnv.HOME },
        });
      const library = checkApp(await run(), (path) => /\/\.bun-[^/]+\.so$/.test(path));
      measurements["library mapped by the compiled Bun binary"] = library;
      measurements["binary MiB: bun build --compile"] =
        (statSync(join(alone, "app")).size / 2 ** 20).toFixed(1);
      measurements["first output ms: compiled Bun binary"] = await firstOutput(5, run);
    });

    test("without the platform package the library is downloaded, verified and cached", {
      timeout: TIMEOUT,
    }, async () => {
      const dir = appDir("bun-download", "remotemedia");
      const installEnv = { ...baseEnv, BUN_INSTALL_CACHE_DIR: join(dir, ".bun-cache") };
      install(dir, bun, ["add", `remotemedia@${version}`, "--omit", "optional"], {
        env: installEnv,
        packageJson: { name: "app", private: true },
      });
      assert.ok(existsSync(join(dir, "node_modules/@remotemedia/lib/index.js")));
      assert.ok(!existsSync(join(dir, `node_modules/@remotemedia/lib-${hostKey}`)), "omitted");
      await checkDownloads(
        dir,
        (extra) =>
          timedRun(bun, ["run", "app.ts", "speech.wav"], {
            cwd: dir,
            env: { ...installEnv, ...extra },
          }),
      );
    });
  });

  describe("Deno", { skip: runtime !== "deno" }, () => {
    const flags = ["--allow-ffi", "--allow-read", "--allow-env"];
    // Deno holds back versions published less than 24 hours ago (minimumDependencyAge); these were
    // published a moment ago.
    const fresh = "--minimum-dependency-age=0";

    /** True for a library inside `denoDir`'s npm cache, in this machine's platform package. */
    const inDenoCache = (denoDir: string) => (path: string): boolean =>
      path.startsWith(join(denoDir, "npm")) &&
      path.endsWith(`/@remotemedia/lib-${hostKey}/${version}/${libFile}`);

    test("a Deno script importing npm:remotemedia installs from the registry and runs", {
      timeout: TIMEOUT,
    }, async () => {
      const app = appDir("deno-npm", `npm:remotemedia@${version}`);
      const denoDir = join(app, ".deno");
      const env = { ...baseEnv, DENO_DIR: denoDir };
      install(app, deno, ["install", fresh, "--entrypoint", "app.ts"], {
        env,
        measure: "install ms: deno install (npm:remotemedia, empty DENO_DIR)",
      });
      const run = (): Promise<Run> =>
        timedRun(deno, ["run", ...flags, fresh, "--cached-only", "app.ts", "speech.wav"], {
          cwd: app,
          env,
        });
      checkApp(await run(), inDenoCache(denoDir));
      measurements["first output ms: deno run (npm:remotemedia)"] = await firstOutput(5, run);
    });

    test("the JSR package's module graph brings the platform package through its npm: dependency", {
      timeout: TIMEOUT,
    }, async () => {
      // What JSR serves: the files `deno publish` includes, with each specifier of an import, export,
      // dynamic import or import.meta.resolve that deno.json "imports" maps rewritten to its target (as
      // `deno publish` does).
      const app = appDir("deno-jsr", "./jsr/mod.ts");
      const config = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
      const imports = Object.entries(config.imports as Record<string, string>);
      for (const path of config.publish.include as string[]) {
        cpSync(join(root, path), join(app, "jsr", path), { recursive: true });
      }
      const rewrite = (dir: string): void => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name);
          if (entry.isDirectory()) rewrite(path);
          else if (entry.name.endsWith(".ts")) {
            let code = readFileSync(path, "utf8");
            for (const [from, to] of imports) {
              code = code.replaceAll(`from "${from}"`, `from "${to}"`)
                .replaceAll(`import("${from}")`, `import("${to}")`)
                .replaceAll(`import.meta.resolve("${from}")`, `import.meta.resolve("${to}")`);
            }
            writeFileSync(path, code);
          }
        }
      };
      rewrite(join(app, "jsr"));
      // A local build beside it too (the repository's target/): the platform package must still win.
      symlinkSync(join(root, "target"), join(app, "jsr/target"));
      assert.ok(
        readFileSync(join(app, "jsr/ffi/load.ts"), "utf8")
          .includes(`import.meta.resolve("npm:@remotemedia/lib@${version}")`),
        "the npm: dependency as JSR publishes it",
      );
      const denoDir = join(app, ".deno");
      const env = { ...baseEnv, DENO_DIR: denoDir };
      install(app, deno, ["install", fresh, "--entrypoint", "app.ts"], {
        env,
        measure: "install ms: deno install (JSR graph, empty DENO_DIR)",
      });
      const run = (): Promise<Run> =>
        timedRun(deno, ["run", ...flags, fresh, "--cached-only", "app.ts", "speech.wav"], {
          cwd: app,
          env,
        });
      checkApp(await run(), inDenoCache(denoDir));
      measurements["first output ms: deno run (JSR graph)"] = await firstOutput(5, run);
    });

    test("without the platform package the library is downloaded, verified and cached", {
      timeout: TIMEOUT,
    }, async () => {
      const dir = appDir("deno-download", "remotemedia");
      const env = { ...baseEnv, DENO_DIR: join(dir, ".deno"), npm_config_cache: join(dir, ".npm") };
      install(dir, "npm", ["install", "--omit=optional", "--no-audit", "--no-fund"], {
        env,
        packageJson: {
          name: "app",
          private: true,
          type: "module",
          dependencies: { remotemedia: version },
        },
      });
      assert.ok(!existsSync(join(dir, `node_modules/@remotemedia/lib-${hostKey}`)), "omitted");
      const download = ["--allow-write", "--allow-net=127.0.0.1"];
      await checkDownloads(
        dir,
        (extra) =>
          timedRun(deno, ["run", ...flags, ...download, "app.ts", "speech.wav"], {
            cwd: dir,
            env: { ...env, ...extra },
          }),
      );
    });
  });
});
