import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { candidatePaths, libraryFileName } from "../ffi/load.ts";
import { ABI_VERSION } from "../ffi/symbols.ts";
import { RemoteMediaError, RuntimeData } from "../mod.ts";
import { lastError, lib } from "../src/native.ts";
import { runtime } from "./helpers.ts";

describe("native library", () => {
  test("is loaded by the backend of the running runtime", () => {
    assert.equal(lib().runtime, runtime);
    assert.equal(lib().symbols.rm_abi_version(), ABI_VERSION);
  });

  test("the loader tries REMOTEMEDIA_LIB first, then the release and debug builds", () => {
    const paths = candidatePaths("/opt/x/libremotemedia.so", "linux");
    assert.equal(paths[0], "/opt/x/libremotemedia.so");
    assert.match(paths[1], /target\/release\/libremotemedia\.so$/);
    assert.match(paths[2], /target\/debug\/libremotemedia\.so$/);
    assert.equal(candidatePaths(undefined, "linux").length, 2);
    assert.equal(libraryFileName("darwin"), "libremotemedia.dylib");
    assert.equal(libraryFileName("windows"), "remotemedia.dll");
  });

  test("a panic inside the library becomes an error, not a crash", () => {
    const native = lib();
    assert.equal(native.symbols.rm_debug_panic(), -1);
    const error = lastError(native);
    assert.equal(error.code, "panic");
    assert.match(error.message, /internal panic: rm_debug_panic was called/);
  });

  test("null, freed, garbage and foreign handles are reported, never dereferenced", () => {
    const s = lib().symbols;
    assert.equal(s.rm_data_type(0), -1);
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

  test("a null pointer with a length is an error", () => {
    assert.equal(lib().symbols.rm_data_binary(null, 16, null, 0), 0);
    assert.match(lastError().message, /binary payload: null pointer with length 16/);
  });
});
