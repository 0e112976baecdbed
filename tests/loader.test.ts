import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createHash } from "node:crypto";
import { LIBRARY_VERSION, platformKey, prebuiltFileName, targetTriple } from "../ffi/load.ts";
import { runtime } from "./helpers.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
const execPath = join(root, "node_modules/.bin", runtime);

/** This machine's platform key, as the loader computes it. */
const hostKey = platformKey(process.platform, process.arch, "gnu");
const hostTriple = targetTriple(process.platform, process.arch, "gnu");

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A loopback HTTP server; `routes` maps a path to a status and body. */
async function serve(
  routes: Record<string, [number, Uint8Array]>,
): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((request, response) => {
    hits.push(request.url ?? "");
    const [status, body] = routes[request.url ?? ""] ?? [404, new TextEncoder().encode("no")];
    response.writeHead(status, { "content-length": body.length });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("platform names", () => {
  test("a platform key names the npm package of each OS, CPU and C library", () => {
    assert.equal(platformKey("linux", "x86_64", "gnu"), "linux-x64-gnu");
    assert.equal(platformKey("linux", "arm64", "gnu"), "linux-arm64-gnu");
    assert.equal(platformKey("linux", "x64", "musl"), "linux-x64-musl");
    assert.equal(platformKey("darwin", "aarch64"), "darwin-arm64");
    assert.equal(platformKey("windows", "x86_64"), "win32-x64-msvc");
    assert.equal(targetTriple("linux", "x64", "gnu"), "x86_64-unknown-linux-gnu");
    assert.equal(targetTriple("darwin", "arm64"), "aarch64-apple-darwin");
    assert.equal(targetTriple("win32", "x64"), "x86_64-pc-windows-msvc");
    assert.equal(targetTriple("freebsd", "x64"), "x86_64-unknown-freebsd");
    assert.equal(
      prebuiltFileName("linux", "x64", "1.2.3", "musl"),
      "libremotemedia-v1.2.3-linux-x86_64-musl.so",
    );
    assert.equal(
      prebuiltFileName("linux", "x64", "1.2.3"),
      "libremotemedia-v1.2.3-linux-x86_64.so",
    );
  });

  test("@remotemedia/lib requires one package per platform of the release matrix", async () => {
    const selector = await import("@remotemedia/lib");
    const keys = Object.keys(selector.TRIPLES).sort();
    const source = readFileSync(join(root, "npm/lib/index.js"), "utf8");
    const required = [...source.matchAll(/case "([^"]+)":\s*exported = require\("([^"]+)"\)/g)];
    assert.deepEqual(required.map((m) => m[1]).sort(), keys);
    for (const [, key, name] of required) assert.equal(name, selector.packageName(key));
    const workflow = readFileSync(join(root, ".github/workflows/release.yml"), "utf8");
    const matrix = [...workflow.matchAll(/^\s+- key: (\S+)\s+triple: (\S+)/gm)];
    assert.deepEqual(matrix.map((m) => m[1]).sort(), keys);
    for (const [, key, triple] of matrix) assert.equal(triple, selector.TRIPLES[key], key);
    for (const key of keys) {
      const [os, cpu, abi] = key.split("-");
      assert.equal(targetTriple(os, cpu, abi), selector.TRIPLES[key], key);
    }
  });

  test("every package of the release carries one version", () => {
    const read = (path: string) => JSON.parse(readFileSync(join(root, path), "utf8"));
    const deno = read("deno.json");
    assert.equal(read("package.json").version, LIBRARY_VERSION);
    assert.equal(deno.version, LIBRARY_VERSION);
    assert.equal(read("npm/lib/package.json").version, LIBRARY_VERSION);
    assert.equal(deno.imports["@remotemedia/lib"], `npm:@remotemedia/lib@${LIBRARY_VERSION}`);
  });
});

describe("download fallback", () => {
  const library = new TextEncoder().encode("\x7fELF pretend library ".repeat(1000));
  const sha256 = createHash("sha256").update(library).digest("hex");
  const tampered = library.slice();
  tampered[100] ^= 1;

  /** `downloadLibrarySync` in a child process (it blocks its thread; the server lives in this one). */
  function download(url: string, destination: string): Promise<string> {
    const script = join(root, "tests/download_script.ts");
    const args = runtime === "deno"
      ? ["run", "--allow-net=127.0.0.1", "--allow-read", "--allow-write", script]
      : [script];
    return new Promise((resolve, reject) => {
      const child = spawn(execPath, [...args, url, sha256, destination], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout!.on("data", (chunk: Uint8Array) => (out += new TextDecoder().decode(chunk)));
      child.on("error", reject);
      child.on("close", () => resolve(out.trim()));
    });
  }

  test("a file whose SHA-256 matches the pin is saved under its final name", async () => {
    const server = await serve({ "/lib.so": [200, library] });
    const dir = tempDir("rm-download-");
    try {
      const destination = join(dir, "cache/lib.so");
      assert.equal(await download(`${server.url}/lib.so`, destination), "saved");
      assert.deepEqual(new Uint8Array(readFileSync(destination)), library);
      assert.deepEqual(readdirSync(join(dir, "cache")), ["lib.so"], "no partial file left");
    } finally {
      await server.close();
      rmSync(dir, { recursive: true });
    }
  });

  test("a tampered file is refused and nothing is written", async () => {
    const server = await serve({ "/lib.so": [200, tampered] });
    const dir = tempDir("rm-download-");
    try {
      const result = await download(`${server.url}/lib.so`, join(dir, "cache/lib.so"));
      assert.match(
        result,
        /^refused http:\/\/127\.0\.0\.1:\d+\/lib\.so: its SHA-256 is [0-9a-f]{64}/,
      );
      assert.ok(result.includes(`the one pinned for this release is ${sha256}`), result);
      assert.match(result, /nothing was saved or opened/);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true });
    }
  });

  test("a missing file and a server that is not there are errors naming the URL", async () => {
    const server = await serve({});
    const dir = tempDir("rm-download-");
    try {
      assert.match(
        await download(`${server.url}/lib.so`, join(dir, "lib.so")),
        /^downloading http:\/\/127\.0\.0\.1:\d+\/lib\.so failed: HTTP 404/,
      );
      const url = `http://127.0.0.1:${await closedPort()}/lib.so`;
      const result = await download(url, join(dir, "lib.so"));
      assert.ok(result.startsWith(`downloading ${url} failed: `), result);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true });
    }
  });
});

describe("loader errors", () => {
  /** The TypeScript sources alone in a new folder (no `target/`), with `selectorSource` as @remotemedia/lib. */
  function sourcesWithout(selectorSource: string): string {
    const dir = tempDir("rm-loader-");
    for (const path of ["mod.ts", "src", "ffi"]) {
      cpSync(join(root, path), join(dir, path), { recursive: true });
    }
    cpSync(join(root, "deno.json"), join(dir, "deno.json"));
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    const selector = join(dir, "node_modules/@remotemedia/lib");
    mkdirSync(selector, { recursive: true });
    cpSync(join(root, "npm/lib/package.json"), join(selector, "package.json"));
    cpSync(join(root, "npm/lib/index.d.ts"), join(selector, "index.d.ts"));
    writeFileSync(join(selector, "index.js"), selectorSource);
    writeFileSync(
      join(dir, "main.ts"),
      'import { RuntimeData } from "./mod.ts";\nRuntimeData.text("x");\n',
    );
    return dir;
  }

  function runMain(dir: string): { status: number | null; stderr: string } {
    const args = runtime === "deno"
      ? ["run", "--allow-ffi", "--allow-read", "--allow-env", "main.ts"]
      : ["run", "main.ts"];
    const env = { PATH: "/usr/bin:/bin", HOME: join(dir, "home"), NO_COLOR: "1" };
    const result = spawnSync(execPath, args, { cwd: dir, env, encoding: "utf8" });
    return { status: result.status, stderr: result.stderr };
  }

  test("a missing platform package is named with the platform and the two ways out", () => {
    const dir = sourcesWithout(readFileSync(join(root, "npm/lib/index.js"), "utf8"));
    try {
      const { status, stderr } = runMain(dir);
      assert.notEqual(status, 0);
      assert.match(stderr, /could not load the native library\. Tried:/);
      const name = `@remotemedia/lib-${hostKey}`;
      assert.ok(stderr.includes(`${name} (not installed: Cannot find`), stderr);
      assert.ok(stderr.includes(`This machine is ${hostKey} (${hostTriple})`), stderr);
      assert.ok(stderr.includes(`bun add ${name}@${LIBRARY_VERSION}`), stderr);
      assert.ok(stderr.includes("or set REMOTEMEDIA_LIB to the path of"), stderr);
      assert.ok(stderr.includes(join(dir, "target/release/libremotemedia.so (not found)")), stderr);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test("a platform without a package says none is published and how to build one", () => {
    // @remotemedia/lib as it would be on a platform outside the release matrix.
    const source = readFileSync(join(root, "npm/lib/index.js"), "utf8")
      .replace(new RegExp(`^\\s*"${hostKey}": .*$`, "m"), "");
    const dir = sourcesWithout(source);
    try {
      const { status, stderr } = runMain(dir);
      assert.notEqual(status, 0);
      assert.ok(
        stderr.includes(
          `This machine is ${hostKey} (${hostTriple}): no package @remotemedia/lib-${hostKey} is published for it.`,
        ),
        stderr,
      );
      assert.match(
        stderr,
        /Set REMOTEMEDIA_LIB to the path of a libremotemedia\.\w+ built from source/,
      );
      // Deno keeps its own cache in ~/.cache/deno; the loader would use ~/.cache/remotemedia.
      assert.ok(!existsSync(join(dir, "home/.cache/remotemedia")), "nothing downloaded: no pins");
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
