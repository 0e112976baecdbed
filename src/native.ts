/**
 * Internal glue between the public API and the loaded native library: status checks and scratch buffers.
 *
 * @module
 */
import { nativeLibrary } from "../ffi/load.ts";
import type { NativeLibrary } from "../ffi/symbols.ts";
import type { ErrorRecord } from "../ffi/contract.ts";
import { errorFromRecord, type RemoteMediaError } from "./errors.ts";

let scratch = new Uint8Array(4096);

/** The native library (loaded on first use). */
export function lib(): NativeLibrary {
  return nativeLibrary();
}

/** The error of the last failed native call on this thread, from its structured record. */
export function lastError(native: NativeLibrary = lib()): RemoteMediaError {
  const s = native.symbols;
  let length = s.rm_last_error_detail(scratch, scratch.length);
  if (length > scratch.length) {
    scratch = new Uint8Array(length);
    length = s.rm_last_error_detail(scratch, scratch.length);
  }
  return errorFromRecord(JSON.parse(decoder.decode(scratch.subarray(0, length))) as ErrorRecord);
}

/** Returns `handle`, or throws the native error when it is 0. */
export function checkHandle(handle: number, native: NativeLibrary = lib()): number {
  if (handle === 0) throw lastError(native);
  return handle;
}

/**
 * Returns the result of an `int32_t` call (0, a count or an outcome code), or throws the native error
 * when it is negative (`-status`: the one sign convention of the ABI).
 */
export function checkStatus(status: number, native: NativeLibrary = lib()): number {
  if (status < 0) throw lastError(native);
  return status;
}

/** Shared UTF-8 codecs. */
export const encoder: TextEncoder = new TextEncoder();
/** Shared UTF-8 decoder; invalid input becomes U+FFFD (native text is validated UTF-8 already). */
export const decoder: TextDecoder = new TextDecoder("utf-8", { fatal: false });
