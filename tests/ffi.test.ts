import { Status } from "../ffi/contract.ts";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  cacheDirectory,
  candidatePaths,
  LIBRARY_VERSION,
  libraryFileName,
  prebuiltFileName,
} from "../ffi/load.ts";
import { extractedPath } from "../ffi/download.ts";
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { ABI_VERSION } from "../ffi/symbols.ts";
import { RemoteMediaError, RuntimeData } from "../mod.ts";
import { lastError, lib } from "../src/native.ts";
import { runtime } from "./helpers.ts";

describe("native library", () => {
  test("is loaded by the backend of the running runtime", () => {
    assert.equal(lib().runtime, runtime);
    assert.equal(lib().symbols.rm_abi_version(), ABI_VERSION);
  });

  test("the loader tries REMOTEMEDIA_LIB, the release and debug builds, then the cache", () => {
    const env = (vars: Record<string, string>) => (name: string) => vars[name];
    const paths = candidatePaths(
      env({ REMOTEMEDIA_LIB: "/opt/x/libremotemedia.so", HOME: "/home/u" }),
      "linux",
      "x86_64",
    );
    assert.equal(paths[0], "/opt/x/libremotemedia.so");
    assert.match(paths[1], /target\/release\/libremotemedia\.so$/);
    assert.match(paths[2], /target\/debug\/libremotemedia\.so$/);
    assert.equal(
      paths[3],
      `/home/u/.cache/remotemedia/libremotemedia-v${LIBRARY_VERSION}-linux-x86_64.so`,
    );
    assert.equal(candidatePaths(env({}), "linux", "x86_64").length, 2);
    assert.equal(libraryFileName("darwin"), "libremotemedia.dylib");
    assert.equal(libraryFileName("windows"), "remotemedia.dll");
  });

  test("prebuilt names and cache directories follow each OS's conventions", () => {
    const env = (vars: Record<string, string>) => (name: string) => vars[name];
    assert.equal(
      prebuiltFileName("darwin", "aarch64", "1.2.3"),
      "libremotemedia-v1.2.3-darwin-aarch64.dylib",
    );
    assert.equal(
      prebuiltFileName("windows", "x86_64", "1.2.3"),
      "remotemedia-v1.2.3-windows-x86_64.dll",
    );
    assert.equal(cacheDirectory(env({ REMOTEMEDIA_CACHE: "/c" }), "linux"), "/c");
    assert.equal(
      cacheDirectory(env({ XDG_CACHE_HOME: "/x", HOME: "/h" }), "linux"),
      "/x/remotemedia",
    );
    assert.equal(cacheDirectory(env({ HOME: "/h" }), "darwin"), "/h/Library/Caches/remotemedia");
    assert.equal(cacheDirectory(env({ LOCALAPPDATA: "C:\\L" }), "windows"), "C:\\L\\remotemedia");
    assert.equal(cacheDirectory(env({}), "linux"), undefined);
  });

  test("a library inside a compiled binary is copied out under a content-addressed name", () => {
    const a = extractedPath("/c", "linux", new Uint8Array([1, 2, 3]));
    assert.match(a, /^\/c\/extracted\/libremotemedia-[0-9a-f]{8}\.so$/);
    assert.equal(a, extractedPath("/c", "linux", new Uint8Array([1, 2, 3])));
    assert.notEqual(a, extractedPath("/c", "linux", new Uint8Array([1, 2, 4])));
  });

  test("the bindings' version matches deno.json and package.json", () => {
    for (const file of ["../deno.json", "../package.json"]) {
      const json = JSON.parse(readFileSync(new URL(file, import.meta.url), "utf8"));
      assert.equal(json.version, LIBRARY_VERSION, file);
    }
  });

  test("a panic inside the library becomes an error, not a crash", () => {
    const native = lib();
    assert.equal(native.symbols.rm_debug_panic(), -Status.Panic);
    const error = lastError(native);
    assert.equal(error.code, "panic");
    assert.match(error.message, /internal panic: rm_debug_panic was called/);
  });

  test("null, freed, garbage and foreign handles are reported, never dereferenced", () => {
    const s = lib().symbols;
    assert.equal(s.rm_data_type(0), -Status.InvalidHandle);
    assert.match(lastError().message, /null handle/);
    const data = RuntimeData.text("x");
    const handle = data.handle();
    data.dispose();
    assert.equal(s.rm_data_type(handle), -1);
    assert.match(lastError().message, /stale handle .*already freed/);
    assert.notEqual(s.rm_data_free(handle), 0);
    assert.equal(lastError().code, "invalid_handle");
    assert.equal(s.rm_data_type(2 ** 53 - 1), -1);
    assert.match(lastError().message, /out of range|another instance/);
    using live = RuntimeData.text("y");
    // Flip the top bit of the instance tag (bits 24..31); `^` would truncate to 32 bits.
    const tagBit = 2 ** 31;
    const h = live.handle();
    const foreign = Math.floor(h / tagBit) % 2 === 1 ? h - tagBit : h + tagBit;
    assert.equal(s.rm_data_type(foreign), -1);
    assert.match(lastError().message, /another instance of the remotemedia library/);
  });

  test("invalid UTF-8 is rejected with the byte offset", () => {
    const s = lib().symbols;
    const bad = new Uint8Array([0x68, 0xff, 0x69]);
    assert.equal(s.rm_data_text(bad, bad.length, null, 0), 0);
    const error = lastError();
    assert.ok(error instanceof RemoteMediaError);
    assert.equal(error.code, "invalid_utf8");
    assert.match(error.message, /invalid UTF-8 in text: .*index 1/);
  });

  test("after closeLibrary() stale calls throw a clear error and the next use reopens it", () => {
    const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
    for (
      const cmd of [
        [`${root}node_modules/.bin/deno`, "run", "-A", "tests/close_library_script.ts"],
        [`${root}node_modules/.bin/bun`, "run", "tests/close_library_script.ts"],
      ]
    ) {
      const r = spawnSync(cmd[0], cmd.slice(1), { cwd: root, encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), [
        "the remotemedia library was closed (calling rm_abi_version)",
        "reopened",
      ]);
    }
  });

  test("a null pointer with a length is an error", () => {
    assert.equal(lib().symbols.rm_data_binary(null, 16, null, 0), 0);
    assert.match(lastError().message, /binary payload: null pointer with length 16/);
  });
});
