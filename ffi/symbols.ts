/**
 * The one symbol table of the native library, read by both FFI backends (`deno.ts`, `bun.ts`).
 *
 * Types use a small neutral vocabulary; each backend translates it (Deno keeps the names, Bun maps
 * `buffer` to `ptr` and 64-bit results to their `_fast` variants). Handles (`u64`) are always below
 * 2^53, so both backends hand them to JavaScript as plain numbers.
 *
 * @module
 */

import { RM_ABI_VERSION, RM_INFO_LEN, RM_POLL_INFO_LEN, RM_WAV_INFO_LEN } from "./contract.ts";

/** ABI version these bindings were written against; the library must report the same. */
export const ABI_VERSION: number = RM_ABI_VERSION;

/** Number of `f64` slots `rm_data_info` may write (`RM_INFO_LEN` in the header). */
export const INFO_LEN: number = RM_INFO_LEN;

/** Parameter and result types the table may use. */
export type NativeType =
  | "void"
  | "i32"
  | "u32"
  | "u64"
  | "usize"
  | "f64"
  | "buffer"
  | "pointer";

/** One native function: its parameter types and result type. */
export interface NativeSymbol {
  /** Parameter types, in order. */
  readonly parameters: readonly NativeType[];
  /** Result type. */
  readonly result: NativeType;
  /**
   * Blocks the calling thread: Deno runs it on its blocking pool and returns a Promise; Bun calls it
   * from a worker. The API only reaches it through `NativeLibrary.waitEvents`.
   */
  readonly nonblocking?: boolean;
}

/** Number of `f64` slots `rm_session_poll` writes (`RM_POLL_INFO_LEN`). */
export const POLL_INFO_LEN: number = RM_POLL_INFO_LEN;

/** Number of `f64` slots `rm_wav_parser_info` writes (`RM_WAV_INFO_LEN`). */
export const WAV_INFO_LEN: number = RM_WAV_INFO_LEN;

/** Every `rm_*` function the bindings call, with its C meaning beside each parameter. */
export const symbols = {
  rm_abi_version: { parameters: [], result: "u32" },
  rm_last_error_code: { parameters: [], result: "i32" },
  rm_last_error_message: {
    parameters: [
      "buffer", // uint8_t *buf: receives the UTF-8 message
      "usize", // size_t cap: bytes available in buf
    ],
    result: "usize", // full message length
  },
  rm_last_error_detail: {
    parameters: [
      "buffer", // uint8_t *buf: receives the error as JSON (ErrorRecord)
      "usize", // size_t cap: bytes available in buf
    ],
    result: "usize", // full length
  },
  rm_live_handles: { parameters: [], result: "u32" },
  rm_bytes_copied: { parameters: [], result: "f64" }, // payload bytes copied in so far
  rm_data_text: {
    parameters: [
      "buffer", // const uint8_t *ptr: UTF-8 text
      "usize", // size_t len
      "buffer", // const uint8_t *attrs: attributes JSON or null
      "usize", // size_t attrs_len
    ],
    result: "u64", // RmHandle, 0 on error
  },
  rm_data_json: {
    parameters: ["buffer", "usize", "buffer", "usize"], // JSON text, attributes
    result: "u64",
  },
  rm_data_binary: {
    parameters: ["buffer", "usize", "buffer", "usize"], // bytes, attributes
    result: "u64",
  },
  rm_data_binary_alloc: {
    parameters: [
      "usize", // size_t len: zero-filled bytes to allocate
      "buffer", // attributes JSON or null
      "usize",
    ],
    result: "u64",
  },
  rm_data_audio: {
    parameters: [
      "i32", // RmSampleFormat
      "buffer", // const uint8_t *ptr: native-endian samples
      "usize", // size_t byte_len
      "u32", // uint32_t sample_rate
      "u32", // uint32_t channels
      "buffer", // attributes JSON or null
      "usize",
    ],
    result: "u64",
  },
  rm_data_audio_alloc: {
    parameters: [
      "i32", // int32_t format
      "usize", // size_t frames per channel
      "u32", // uint32_t sample_rate
      "u32", // uint32_t channels
      "buffer", // attributes JSON or null
      "usize",
    ],
    result: "u64",
  },
  rm_data_video: {
    parameters: [
      "i32", // RmPixelFormat
      "u32", // uint32_t width
      "u32", // uint32_t height
      "buffer", // const uint8_t *pixels
      "usize", // size_t len
      "buffer", // attributes JSON or null
      "usize",
    ],
    result: "u64",
  },
  rm_data_tensor: {
    parameters: [
      "i32", // RmTensorDtype
      "buffer", // const uint32_t *shape
      "usize", // size_t rank
      "buffer", // const uint8_t *data
      "usize", // size_t len
      "buffer", // attributes JSON or null
      "usize",
    ],
    result: "u64",
  },
  rm_data_type: { parameters: ["u64"], result: "i32" },
  rm_data_info: {
    parameters: [
      "u64", // RmHandle
      "buffer", // double *out
      "usize", // size_t cap (doubles)
    ],
    result: "i32", // slots written or -status
  },
  rm_data_ptr: { parameters: ["u64"], result: "pointer" },
  rm_view_retain: {
    parameters: [
      "u64", // RmHandle of the data whose payload a view will show
      "buffer", // double *address: receives the payload's address
    ],
    result: "pointer", // opaque reference for the view's deallocator, null on error
  },
  rm_view_release_address: { parameters: [], result: "usize" }, // address of rm_view_release
  rm_live_views: { parameters: [], result: "u32" }, // views whose backing stores are alive
  rm_data_make_writable: {
    parameters: [
      "u64", // RmHandle of the data about to be written in place
      "u32", // uint32_t own_views: live views made for this handle (they do not count as sharing)
    ],
    result: "i32", // 0 already unshared, 1 copied, or -status
  },
  rm_data_attributes: {
    parameters: ["u64", "buffer", "usize"], // handle, out buffer, capacity
    result: "i32", // full JSON length, 0 if none, or -status
  },
  rm_data_retain: { parameters: ["u64"], result: "u64" },
  rm_data_clone: { parameters: ["u64"], result: "u64" },
  rm_data_equal: { parameters: ["u64", "u64"], result: "i32" },
  rm_data_free: { parameters: ["u64"], result: "i32" },
  rm_debug_panic: { parameters: [], result: "i32" },
  rm_node_types: { parameters: [], result: "u64" }, // JSON data handle
  rm_manifest_check: {
    parameters: [
      "buffer", // manifest text (JSON or YAML)
      "usize",
      "buffer", // session options JSON ({nodeTypes?, audioInput?, negotiate?}) or null
      "usize",
    ],
    result: "u64", // JSON data handle: {issues, inserted, formats}
  },
  rm_manifest_convert: {
    parameters: [
      "buffer", // manifest text: JSON or YAML, ours or a RemoteMedia SDK v1 manifest
      "usize",
    ],
    result: "u64", // JSON data handle: the manifest in our form, 0 on error
  },
  rm_session_create: {
    parameters: [
      "buffer", // const uint8_t *manifest: JSON or YAML text
      "usize", // size_t manifest_len
      "buffer", // const uint8_t *options: JSON or null
      "usize", // size_t options_len
    ],
    result: "u64", // session handle, 0 on error
  },
  rm_session_push_to: {
    parameters: [
      "u64", // session
      "u64", // data
      "i32", // int32_t entry: index of the entry node (manifest order), -1 = every entry accepting the type
    ],
    result: "i32", // RmPushOutcome or -status
  },
  rm_session_poll: {
    parameters: [
      "u64", // session
      "buffer", // double out[4]: node index, phase, queued outputs, latency µs
    ],
    result: "u64", // data handle or 0
  },
  rm_session_poll_sink: {
    parameters: [
      "u64", // session
      "u32", // uint32_t sink: index of the sink node (manifest order)
      "buffer", // double out[4]: as rm_session_poll, queued counts this sink's outputs
    ],
    result: "u64", // data handle or 0
  },
  rm_session_close: { parameters: ["u64"], result: "i32" },
  rm_session_abort: { parameters: ["u64"], result: "i32" },
  rm_session_interrupt: { parameters: ["u64"], result: "i32" }, // items dropped or -status
  rm_session_interrupt_branch: {
    parameters: [
      "u64", // session
      "buffer", // const uint32_t *nodes
      "usize", // size_t count
      "buffer", // uint8_t *mask: 1 for every node interrupted (or null)
      "usize", // size_t mask_len
    ],
    result: "i32", // items dropped or -status
  },
  rm_session_phase: { parameters: ["u64"], result: "i32" },
  rm_session_failure: { parameters: ["u64"], result: "u64" }, // JSON data handle or 0
  rm_session_metrics: { parameters: ["u64"], result: "u64" }, // JSON data handle
  rm_session_node_ids: { parameters: ["u64"], result: "u64" }, // JSON data handle
  rm_session_entries: { parameters: ["u64"], result: "u64" }, // JSON data handle [{id, index, type, accepts}]
  rm_session_sinks: { parameters: ["u64"], result: "u64" }, // JSON data handle [id]
  rm_session_set_events: { parameters: ["u64", "i32"], result: "i32" }, // session, enabled
  rm_session_events: { parameters: ["u64"], result: "u64" }, // JSON data handle {events, dropped}
  rm_session_free: { parameters: ["u64"], result: "i32" },
  rm_session_take_task: {
    parameters: [
      "u64", // session
      "buffer", // uint64_t *out: RmTaskSlot header (ticket, node, port, kind, count), handles, ports
      "usize", // size_t cap (uint64_t slots)
    ],
    result: "i32", // slots written (0: no task) or -status
  },
  rm_session_emit: {
    parameters: ["u64", "u64", "u64"], // session, ticket, data
    result: "i32", // RmEmitOutcome or -status
  },
  rm_session_task_done: { parameters: ["u64", "u64"], result: "i32" }, // RmEmitOutcome or -status
  rm_session_task_fail: {
    parameters: ["u64", "u64", "buffer", "usize"], // session, ticket, UTF-8 message
    result: "i32",
  },
  rm_session_fail_node: {
    parameters: ["u64", "u32", "buffer", "usize"], // session, node index, UTF-8 message
    result: "i32",
  },
  rm_events_current: { parameters: [], result: "f64" },
  rm_events_wait: {
    parameters: [
      "f64", // last counter seen
      "u32", // timeout in milliseconds
    ],
    result: "f64", // counter now
    nonblocking: true,
  },
  rm_events_ready: {
    parameters: [
      "buffer", // double *out: receives handles of this thread's sessions that made progress
      "usize", // size_t cap
    ],
    result: "i32", // handles written, or -status
  },
  rm_worker_threads_set: {
    parameters: ["u32"], // threads (0: REMOTEMEDIA_WORKER_THREADS, else one per core)
    result: "i32", // the size now in effect, or -status
  },
  rm_worker_threads_stats: { parameters: [], result: "u64" }, // JSON data handle (PoolStats)
  rm_wav_parser_create: {
    parameters: ["f64"], // double frame_ms: duration of each item, 0 = the whole stream in one item
    result: "u64", // WAV parser handle, 0 on error
  },
  rm_wav_parser_push: {
    parameters: [
      "u64", // WAV parser
      "buffer", // const uint8_t *ptr: the next bytes of the stream
      "usize", // size_t len
    ],
    result: "i32", // items ready, or -status (the stream's error once earlier items were taken)
  },
  rm_wav_parser_finish: { parameters: ["u64"], result: "i32" }, // end of input: items ready or -status
  rm_wav_parser_take: { parameters: ["u64"], result: "u64" }, // audio data handle, 0 on error
  rm_wav_parser_info: {
    parameters: [
      "u64", // WAV parser
      "buffer", // double out[11]: phase, rate, channels, format, bits, pushed, skipped, copied, held, peak, ready
      "usize", // size_t cap (doubles)
    ],
    result: "i32", // slots written or -status
  },
  rm_wav_parser_free: { parameters: ["u64"], result: "i32" },
} as const satisfies Record<string, NativeSymbol>;

/** The symbol table's type. */
export type Symbols = typeof symbols;

/** An opaque native pointer (a `Deno.PointerObject` or a Bun address); only backends look inside. */
export type Pointer = object | number;

/** Bytes the native side may read or write during a call. */
export type NativeBuffer = ArrayBufferView | null;

type JsArg<T> = T extends "buffer" ? NativeBuffer
  : T extends "pointer" ? Pointer | null
  : number;
type JsResult<T> = T extends "void" ? void
  : T extends "pointer" ? Pointer | null
  : number;
type JsArgs<P> = { -readonly [K in keyof P]: JsArg<P[K]> };

/** A native function as JavaScript calls it, with numbers for every integer and handle. */
export type NativeFunction<S extends NativeSymbol> = (
  ...args: JsArgs<S["parameters"]> extends infer A extends unknown[] ? A : never
) => JsResult<S["result"]>;

/** Names of the symbols that may be called synchronously on the JS thread. */
export type SyncSymbolName = {
  [K in keyof Symbols]: Symbols[K] extends { nonblocking: true } ? never : K;
}[keyof Symbols];

/** What a backend provides: the callable symbols plus the few pointer operations the API needs. */
export interface NativeLibrary {
  /** The synchronous functions of {@link symbols}, callable from JavaScript. */
  readonly symbols: { readonly [K in SyncSymbolName]: NativeFunction<Symbols[K]> };
  /**
   * Waits off the JS thread until the native event counter differs from `last` (or `timeoutMs` passes)
   * and resolves with the counter. Concurrent callers share one wait.
   */
  waitEvents(last: number, timeoutMs: number): Promise<number>;
  /**
   * An ArrayBuffer over the `byteLength` payload bytes of data `handle` (no copy) whose backing store
   * owns a reference to that payload: the memory lives as long as the backing store, wherever it is
   * moved (`transfer()`, `postMessage`), and is released when the runtime frees it. Null on failure
   * (the error is in `rm_last_error_*`).
   */
  viewOf(handle: number, byteLength: number): ArrayBuffer | null;
  /** The numeric address of a pointer (for diagnostics and zero-copy proofs). */
  address(pointer: Pointer | null): bigint;
  /** The address of the first byte of a typed array (zero-copy proofs). */
  addressOfView(view: ArrayBufferView): bigint;
  /** Which runtime backs this library. */
  readonly runtime: "deno" | "bun";
  /** Path the library was loaded from. */
  readonly path: string;
  /** Unloads the library. */
  close(): void;
}
