/**
 * Internal glue between the public API and the loaded native library: status checks and scratch buffers.
 *
 * @module
 */
import { nativeLibrary } from "../ffi/load.ts";
import type { NativeLibrary } from "../ffi/symbols.ts";
import { errorFromStatus, type RemoteMediaError } from "./errors.ts";

let scratch = new Uint8Array(4096);

/** The native library (loaded on first use). */
export function lib(): NativeLibrary {
  return nativeLibrary();
}

/** The error of the last failed native call on this thread. */
export function lastError(native: NativeLibrary = lib()): RemoteMediaError {
  const s = native.symbols;
  let length = s.rm_last_error_message(scratch, scratch.length);
  if (length > scratch.length) {
    scratch = new Uint8Array(length);
    length = s.rm_last_error_message(scratch, scratch.length);
  }
  const message = decoder.decode(scratch.subarray(0, length));
  return errorFromStatus(s.rm_last_error_code(), message || "unknown native error");
}

/** Returns `handle`, or throws the native error when it is 0. */
export function checkHandle(handle: number, native: NativeLibrary = lib()): number {
  if (handle === 0) throw lastError(native);
  return handle;
}

/** Throws the native error when a status-returning call did not return 0. */
export function checkStatus(status: number, native: NativeLibrary = lib()): void {
  if (status !== 0) throw lastError(native);
}

/** Throws the native error when a count-returning call returned a negative status. */
export function checkCount(count: number, native: NativeLibrary = lib()): number {
  if (count < 0) throw lastError(native);
  return count;
}

/** Shared UTF-8 codecs. */
export const encoder: TextEncoder = new TextEncoder();
/** Shared UTF-8 decoder; invalid input becomes U+FFFD (native text is validated UTF-8 already). */
export const decoder: TextDecoder = new TextDecoder("utf-8", { fatal: false });
