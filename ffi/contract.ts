// deno-fmt-ignore-file
// Generated from rust/include/remotemedia.h and the crate's typed JSON shapes by
// `make contract` (rust/src/abi/contract/). Do not edit.

/**
 * Every code and slot layout that crosses the C ABI, and the JSON shapes the library returns.
 *
 * @module
 */

/**
 * Version of this ABI; bindings refuse a library whose version differs from theirs. 3:
 * `rm_manifest_check` (options JSON; issues, inserted converters and formats) replaced
 * `rm_manifest_validate`, and `rm_session_sinks` was added.
 */
export const RM_ABI_VERSION = 3;

/** Largest tensor rank accepted (and reported by `rm_data_info`). */
export const RM_MAX_TENSOR_RANK = 16;

/** Number of `f64` slots `rm_data_info` writes at most. */
export const RM_INFO_LEN = 8 + RM_MAX_TENSOR_RANK;

/**
 * Largest payload of one data value, in bytes (4 GiB): larger sizes (a byte length, frames × channels ×
 * sample size, video or tensor dimensions) fail with `RM_STATUS_INVALID_ARGUMENT` naming the request,
 * and an allocation the system refuses below it fails with `RM_STATUS_RESOURCE_EXHAUSTED`; neither
 * aborts the process.
 */
export const RM_MAX_PAYLOAD_BYTES = 4294967296;

/** Number of `f64` slots `rm_session_poll` writes. */
export const RM_POLL_INFO_LEN = 4;

/** Number of header slots of a host task (the items start there). */
export const RM_TASK_HEADER_LEN = 5;

/** Number of `f64` slots `rm_wav_parser_info` writes. */
export const RM_WAV_INFO_LEN = 11;

/**
 * Largest worker pool size `rm_worker_threads_set` accepts (0 asks for the default: one per core, or
 * `REMOTEMEDIA_WORKER_THREADS`).
 */
export const RM_MAX_WORKER_THREADS = 1024;

/** Status codes: the category of an error (returned negated by `int32_t` calls, see above). */
export const Status = {
  /** Success. */
  Ok: 0,
  /** Null, stale, freed, foreign or wrong-kind handle. */
  InvalidHandle: 1,
  /** A value of another data type than required. */
  WrongType: 2,
  /** An argument outside its domain. */
  InvalidArgument: 3,
  /** Sizes that do not fit together. */
  ShapeMismatch: 4,
  /** Invalid UTF-8. */
  InvalidUtf8: 5,
  /** JSON that does not parse. */
  InvalidJson: 6,
  /** A panic was caught at the boundary. */
  Panic: 7,
  /** A manifest failed validation. */
  InvalidManifest: 8,
  /** A node failed while processing. */
  NodeFailed: 9,
  /** The object was closed. */
  Closed: 10,
  /** Too many live objects, or memory the system refused. */
  ResourceExhausted: 11,
} as const;
/** One of the values of {@link Status}. */
export type Status = (typeof Status)[keyof typeof Status];

/** The stable error code (`error.code`) of each {@link Status}, indexed by status. */
export const STATUS_CODES = ["ok", "invalid_handle", "wrong_type", "invalid_argument", "shape_mismatch", "invalid_utf8", "invalid_json", "panic", "invalid_manifest", "node_failed", "closed", "resource_exhausted"] as const;

/** Outcome of `rm_session_push` / `rm_session_push_to` when it did not fail. */
export const PushOutcome = {
  /** The item was taken. */
  Accepted: 0,
  /** The input queues are full: poll outputs (or wait for progress), then push again. */
  Full: 1,
} as const;
/** One of the values of {@link PushOutcome}. */
export type PushOutcome = (typeof PushOutcome)[keyof typeof PushOutcome];

/** Outcome of `rm_session_emit` and `rm_session_task_done` when they did not fail. */
export const EmitOutcome = {
  /** The output was routed (emit) / the task is finished (task_done). */
  Accepted: 0,
  /** Downstream is full: emit again after progress. */
  Full: 1,
  /** The task was cancelled (interrupt, abort, failure): stop producing. */
  Cancelled: 2,
} as const;
/** One of the values of {@link EmitOutcome}. */
export type EmitOutcome = (typeof EmitOutcome)[keyof typeof EmitOutcome];

/** Where a session (or one sink's output queue) stands: `rm_session_phase`, `RM_POLL_SLOT_PHASE`. */
export const SessionPhase = {
  /** Accepting input. */
  Running: 0,
  /** Input closed; draining and flushing. */
  Closing: 1,
  /** Every node flushed and cleaned up. */
  Ended: 2,
  /** A node failed; every node cleaned up. */
  Failed: 3,
  /** Aborted by the caller; every node cleaned up. */
  Aborted: 4,
} as const;
/** One of the values of {@link SessionPhase}. */
export type SessionPhase = (typeof SessionPhase)[keyof typeof SessionPhase];

/** What a host (TypeScript) node is asked to do (`RM_TASK_SLOT_KIND`). */
export const HostTaskKind = {
  /** Process the task's items (one, or one per port for joining nodes). */
  Process: 0,
  /** End of stream: emit whatever is buffered. */
  Flush: 1,
} as const;
/** One of the values of {@link HostTaskKind}. */
export type HostTaskKind = (typeof HostTaskKind)[keyof typeof HostTaskKind];

/** Slots of `rm_data_info` common to every data type (doubles). */
export const InfoSlot = {
  /** `RmDataType` code. */
  Type: 0,
  /** Payload length in bytes (`rm_data_ptr`). */
  PayloadBytes: 1,
  /** Length of the attributes JSON in bytes (0: no attributes). */
  AttributesBytes: 2,
} as const;
/** One of the values of {@link InfoSlot}. */
export type InfoSlot = (typeof InfoSlot)[keyof typeof InfoSlot];

/** Slots of `rm_data_info` that follow the common ones for audio. */
export const AudioInfoSlot = {
  /** `RmSampleFormat` code. */
  Format: 3,
  /** Sample rate in Hz. */
  SampleRate: 4,
  /** Channels. */
  Channels: 5,
  /** Frames (samples per channel). */
  Frames: 6,
} as const;
/** One of the values of {@link AudioInfoSlot}. */
export type AudioInfoSlot = (typeof AudioInfoSlot)[keyof typeof AudioInfoSlot];

/** Slots of `rm_data_info` that follow the common ones for video. */
export const VideoInfoSlot = {
  /** `RmPixelFormat` code. */
  PixelFormat: 3,
  /** Width in pixels. */
  Width: 4,
  /** Height in pixels. */
  Height: 5,
} as const;
/** One of the values of {@link VideoInfoSlot}. */
export type VideoInfoSlot = (typeof VideoInfoSlot)[keyof typeof VideoInfoSlot];

/** Slots of `rm_data_info` that follow the common ones for tensors (then `rank` dimensions). */
export const TensorInfoSlot = {
  /** `RmTensorDtype` code. */
  Dtype: 3,
  /** Number of dimensions. */
  Rank: 4,
  /** First dimension; the others follow. */
  Dims: 5,
} as const;
/** One of the values of {@link TensorInfoSlot}. */
export type TensorInfoSlot = (typeof TensorInfoSlot)[keyof typeof TensorInfoSlot];

/** Slots of `rm_session_poll` / `rm_session_poll_sink` (`RM_POLL_INFO_LEN` doubles). */
export const PollSlot = {
  /** Index of the emitting node in manifest order (-1 when no output was returned). */
  Node: 0,
  /** `RmPhase` of the session (or of the sink's queue), -1 on error. */
  Phase: 1,
  /** Outputs still queued (for this sink with `rm_session_poll_sink`). */
  Queued: 2,
  /** End-to-end latency in microseconds, from the push of the input this output derives from. */
  LatencyUs: 3,
} as const;
/** One of the values of {@link PollSlot}. */
export type PollSlot = (typeof PollSlot)[keyof typeof PollSlot];

/**
 * Header slots of a host task written by `rm_session_take_task` (`uint64_t`s); `count` item handles
 * follow the header, then the `count` input ports of those items.
 */
export const TaskSlot = {
  /** Ticket of the task (answer with it). */
  Ticket: 0,
  /** Index of the host node in manifest order. */
  Node: 1,
  /** Input port of a single-input task. */
  Port: 2,
  /** `RmTaskKind` code. */
  Kind: 3,
  /** Number of items (and of ports after them). */
  Count: 4,
} as const;
/** One of the values of {@link TaskSlot}. */
export type TaskSlot = (typeof TaskSlot)[keyof typeof TaskSlot];

/** Slots of `rm_wav_parser_info` (`RM_WAV_INFO_LEN` doubles). */
export const WavInfoSlot = {
  /** `RmWavPhase` code. */
  Phase: 0,
  /** Sample rate in Hz (0 before the fmt chunk). */
  SampleRate: 1,
  /** Channels (0 before the fmt chunk). */
  Channels: 2,
  /** `RmSampleFormat` of the items, -1 before the fmt chunk. */
  Format: 3,
  /** Bits per sample in the file. */
  BitsPerSample: 4,
  /** Bytes pushed so far. */
  BytesPushed: 5,
  /** Bytes of unknown chunks streamed past. */
  BytesSkipped: 6,
  /** Bytes copied into the parser. */
  BytesCopied: 7,
  /** Bytes held now. */
  BytesHeld: 8,
  /** Most bytes ever held. */
  MostBytesHeld: 9,
  /** Items ready to take. */
  ItemsReady: 10,
} as const;
/** One of the values of {@link WavInfoSlot}. */
export type WavInfoSlot = (typeof WavInfoSlot)[keyof typeof WavInfoSlot];

/** Coarse state, as `rm_wav_parser_info` reports it. */
export const WavPhase = {
  /** Still in the header. */
  Header: 0,
  /** In the data chunk. */
  Data: 1,
  /** The data ended: no more input is needed. */
  Complete: 2,
  /** Failed (the error is returned once the items before it were taken). */
  Failed: 3,
} as const;
/** One of the values of {@link WavPhase}. */
export type WavPhase = (typeof WavPhase)[keyof typeof WavPhase];

/** Discriminant of a [`RuntimeData`] value, with stable numeric codes used by the C ABI. */
export const DataType = {
  /** UTF-8 text. */
  Text: 0,
  /** PCM audio, interleaved. */
  Audio: 1,
  /** One raw video frame. */
  Video: 2,
  /** A JSON value. */
  Json: 3,
  /** Opaque bytes. */
  Binary: 4,
  /** An n-dimensional array. */
  Tensor: 5,
} as const;
/** One of the values of {@link DataType}. */
export type DataType = (typeof DataType)[keyof typeof DataType];

/** The API's name of each {@link DataType} code, indexed by code. */
export const DATA_TYPE_NAMES = ["text", "audio", "video", "json", "binary", "tensor"] as const;

/** Storage format of PCM samples, with stable numeric codes used by the C ABI. */
export const SampleFormat = {
  /** 32-bit float in [-1, 1]. */
  F32: 0,
  /** 16-bit signed integer. */
  I16: 1,
  /** 32-bit signed integer. */
  I32: 2,
} as const;
/** One of the values of {@link SampleFormat}. */
export type SampleFormat = (typeof SampleFormat)[keyof typeof SampleFormat];

/** The API's name of each {@link SampleFormat} code, indexed by code. */
export const SAMPLE_FORMAT_NAMES = ["f32", "i16", "i32"] as const;

/** Pixel layout of a raw video frame. */
export const PixelFormat = {
  /** 4 bytes per pixel. */
  Rgba: 0,
  /** 3 bytes per pixel. */
  Rgb24: 1,
  /** Planar YUV 4:2:0 (Y plane, then U and V at half resolution). */
  I420: 2,
} as const;
/** One of the values of {@link PixelFormat}. */
export type PixelFormat = (typeof PixelFormat)[keyof typeof PixelFormat];

/** The API's name of each {@link PixelFormat} code, indexed by code. */
export const PIXEL_FORMAT_NAMES = ["rgba", "rgb24", "i420"] as const;

/** Element type of a tensor. */
export const TensorDtype = {
  /** 32-bit float. */
  F32: 0,
  /** 32-bit signed integer. */
  I32: 1,
  /** 8-bit unsigned integer. */
  U8: 2,
} as const;
/** One of the values of {@link TensorDtype}. */
export type TensorDtype = (typeof TensorDtype)[keyof typeof TensorDtype];

/** The API's name of each {@link TensorDtype} code, indexed by code. */
export const TENSOR_DTYPE_NAMES = ["f32", "i32", "u8"] as const;

// JSON shapes.

/**
 * One validation problem.
 */
export type Issue = { 
/**
 * Where: `nodes[1] "res".params.targetRate`, `connections[0].to`, ...
 */
path: string, 
/**
 * What was wrong, with expected vs got where it applies.
 */
message: string, };

/**
 * What is known about an error beyond its category and message; serialised for
 * `rm_last_error_detail` with every absent field left out.
 */
export type ErrorDetail = { 
/**
 * Id of the node the error belongs to.
 */
nodeId?: string, 
/**
 * Type of that node.
 */
nodeType?: string, 
/**
 * What the node reported, without the "node … failed:" prefix of the message.
 */
reason?: string, 
/**
 * Every problem of an invalid manifest, each with its path.
 */
issues?: Array<Issue>, 
/**
 * What the operation needed (a data type name for `wrong_type`).
 */
expected?: string, 
/**
 * What it got.
 */
actual?: string, };

/**
 * The record of the last error, as `rm_last_error_detail` writes it.
 */
export type ErrorRecord = { 
/**
 * Stable code of the status (`"node_failed"`, …).
 */
code: (typeof STATUS_CODES)[number], 
/**
 * The status.
 */
status: number, 
/**
 * Full message for the user.
 */
message: string, 
/**
 * Id of the node the error belongs to.
 */
nodeId?: string, 
/**
 * Type of that node.
 */
nodeType?: string, 
/**
 * What the node reported, without the "node … failed:" prefix of the message.
 */
reason?: string, 
/**
 * Every problem of an invalid manifest, each with its path.
 */
issues?: Array<Issue>, 
/**
 * What the operation needed (a data type name for `wrong_type`).
 */
expected?: string, 
/**
 * What it got.
 */
actual?: string, };

/**
 * The pool now.
 */
export type PoolStats = { 
/**
 * Threads the pool keeps for non-blocking work.
 */
size: number, 
/**
 * Worker threads alive (idle ones included; more than `size` while blocking slices run).
 */
threads: number, 
/**
 * Workers waiting for work.
 */
idle: number, 
/**
 * Workers inside a slice of a session that does file I/O.
 */
blocking: number, 
/**
 * Sessions waiting for a worker.
 */
queued: number, 
/**
 * Threads started since the library was loaded.
 */
started: number, };

/**
 * The format of an audio stream as far as it is known before the session runs: each field `None`
 * (absent in JSON) when it depends on data not seen yet (a TypeScript node's output, a pushed stream
 * nobody declared).
 */
export type AudioSpec = { 
/**
 * Sample rate in Hz.
 */
sampleRate?: number, 
/**
 * Interleaved channels.
 */
channels?: number, 
/**
 * Sample storage format.
 */
sampleFormat?: "f32" | "i16" | "i32", };

/**
 * A converter that format negotiation inserted.
 */
export type Insertion = { 
/**
 * Its node id (`<target>:mono`, `<target>:resample`, …).
 */
id: string, 
/**
 * `ChannelMix`, `Resample` or `AudioFormat`.
 */
type: "ChannelMix" | "Resample" | "AudioFormat", 
/**
 * Its params.
 */
params: Record<string, unknown>, 
/**
 * The node whose audio it converts; `None` for the session's input.
 */
from: string | null, 
/**
 * The node it feeds.
 */
to: string, 
/**
 * The input port of `to`.
 */
port: string, 
/**
 * The stream's format before it.
 */
before: AudioSpec, 
/**
 * The stream's format after it.
 */
after: AudioSpec, 
/**
 * Why: what `to` accepts and what it would get.
 */
reason: string, };

/**
 * The formats negotiation found for a node of the manifest.
 */
export type NodeFormat = { 
/**
 * Node id.
 */
id: string, 
/**
 * The audio it receives (after any inserted converter); absent when no audio reaches it.
 */
input?: AudioSpec, 
/**
 * The audio it emits; absent when it emits none.
 */
output?: AudioSpec, };

/**
 * A manifest checked as a session would run it (`rm_manifest_check`): every issue (none when it is
 * valid), the converters format negotiation inserted, and the audio formats of the manifest's nodes.
 */
export type ManifestCheck = { 
/**
 * Every problem, with its path (empty when the manifest is valid).
 */
issues: Array<Issue>, 
/**
 * Converters inserted, in graph order.
 */
inserted: Array<Insertion>, 
/**
 * The formats of the manifest's nodes, in graph order.
 */
formats: Array<NodeFormat>, };

/**
 * Something a node reports. Serialised as `{type: "<kind>", ...fields}` (camelCase fields), the same
 * JSON a node may also emit as a data item (the `Vad` does both).
 */
export type NodeEvent = { "type": "speech_start", 
/**
 * Start of the speech in audio time (the input's timestamps, or frames counted from 0), µs;
 * with Silero, `speechPadMs` before the first speech window.
 */
timeUs: number, 
/**
 * The highest speech probability of the segment's windows so far (Silero: 32 ms windows;
 * earshot: its 16 ms frame scores), rounded to 1e-4.
 */
probability: number, } | { "type": "speech_end", 
/**
 * Start of the segment in audio time, µs (as its `speech_start` reported it).
 */
startUs: number, 
/**
 * End of the segment in audio time, µs; with Silero, padded by `speechPadMs`.
 */
endUs: number, 
/**
 * `endUs - startUs`.
 */
durationUs: number, 
/**
 * The mean speech probability of the segment's windows (padding left out), rounded to 1e-4.
 */
probability: number, } | { "type": "turn_start", 
/**
 * Start of the turn's first speech in audio time, µs.
 */
timeUs: number, } | { "type": "turn_end", 
/**
 * Start of the turn's first speech in audio time, µs.
 */
startUs: number, 
/**
 * End of its last speech in audio time, µs.
 */
endUs: number, 
/**
 * `endUs - startUs`.
 */
durationUs: number, 
/**
 * Speech in the turn (its pauses left out), µs.
 */
speechUs: number, 
/**
 * Speech segments (`Vad` speech_start…speech_end) in the turn.
 */
segments: number, 
/**
 * Why it ended.
 */
reason: "silence" | "max_length" | "end_of_stream", 
/**
 * The silence that ended it (the timeout applied), µs; 0 unless the reason is `silence`.
 */
silenceUs: number, 
/**
 * Why that silence: `fixed`, or with `adaptive`: `falling_pitch`, `long_turn`,
 * `short_fragment`, `default`.
 */
cue: "fixed" | "falling_pitch" | "long_turn" | "short_fragment" | "default", 
/**
 * Audio time at which the end was decided (the end of the audio processed then), µs.
 */
decidedUs: number, } | { "type": "alert", 
/**
 * The fault.
 */
kind: "silence" | "low_volume" | "clipping" | "channel_imbalance" | "dropouts" | "drift" | "cadence" | "freeze", 
/**
 * When the fault began, in audio time (the input's timestamps, or frames counted from 0), µs.
 */
startUs: number, 
/**
 * When it was confirmed (the audio time of the end of the audio judged then), µs; for a
 * `freeze`, when the stream resumed.
 */
endUs: number, 
/**
 * What was measured, for people (`rms -78.1 dBFS below silenceDb -60 for 1.00 s`).
 */
detail: string, } | { "type": "alert_end", 
/**
 * The fault, as its `alert` said.
 */
kind: "silence" | "low_volume" | "clipping" | "channel_imbalance" | "dropouts" | "drift" | "cadence" | "freeze", 
/**
 * When the fault began (as its `alert` said), µs.
 */
startUs: number, 
/**
 * When it ended in audio time, µs.
 */
endUs: number, 
/**
 * Why it is over (`recovered`, `end of stream`), with the last measurement.
 */
detail: string, };

/**
 * A node event with the node that reported it: `{type, ...event fields, node, atUs}`.
 */
export type NodeEventRecord = { 
/**
 * Node id.
 */
node: string, 
/**
 * When it was recorded.
 */
atUs: number, } & ({ "type": "speech_start", 
/**
 * Start of the speech in audio time (the input's timestamps, or frames counted from 0), µs;
 * with Silero, `speechPadMs` before the first speech window.
 */
timeUs: number, 
/**
 * The highest speech probability of the segment's windows so far (Silero: 32 ms windows;
 * earshot: its 16 ms frame scores), rounded to 1e-4.
 */
probability: number, } | { "type": "speech_end", 
/**
 * Start of the segment in audio time, µs (as its `speech_start` reported it).
 */
startUs: number, 
/**
 * End of the segment in audio time, µs; with Silero, padded by `speechPadMs`.
 */
endUs: number, 
/**
 * `endUs - startUs`.
 */
durationUs: number, 
/**
 * The mean speech probability of the segment's windows (padding left out), rounded to 1e-4.
 */
probability: number, } | { "type": "turn_start", 
/**
 * Start of the turn's first speech in audio time, µs.
 */
timeUs: number, } | { "type": "turn_end", 
/**
 * Start of the turn's first speech in audio time, µs.
 */
startUs: number, 
/**
 * End of its last speech in audio time, µs.
 */
endUs: number, 
/**
 * `endUs - startUs`.
 */
durationUs: number, 
/**
 * Speech in the turn (its pauses left out), µs.
 */
speechUs: number, 
/**
 * Speech segments (`Vad` speech_start…speech_end) in the turn.
 */
segments: number, 
/**
 * Why it ended.
 */
reason: "silence" | "max_length" | "end_of_stream", 
/**
 * The silence that ended it (the timeout applied), µs; 0 unless the reason is `silence`.
 */
silenceUs: number, 
/**
 * Why that silence: `fixed`, or with `adaptive`: `falling_pitch`, `long_turn`,
 * `short_fragment`, `default`.
 */
cue: "fixed" | "falling_pitch" | "long_turn" | "short_fragment" | "default", 
/**
 * Audio time at which the end was decided (the end of the audio processed then), µs.
 */
decidedUs: number, } | { "type": "alert", 
/**
 * The fault.
 */
kind: "silence" | "low_volume" | "clipping" | "channel_imbalance" | "dropouts" | "drift" | "cadence" | "freeze", 
/**
 * When the fault began, in audio time (the input's timestamps, or frames counted from 0), µs.
 */
startUs: number, 
/**
 * When it was confirmed (the audio time of the end of the audio judged then), µs; for a
 * `freeze`, when the stream resumed.
 */
endUs: number, 
/**
 * What was measured, for people (`rms -78.1 dBFS below silenceDb -60 for 1.00 s`).
 */
detail: string, } | { "type": "alert_end", 
/**
 * The fault, as its `alert` said.
 */
kind: "silence" | "low_volume" | "clipping" | "channel_imbalance" | "dropouts" | "drift" | "cadence" | "freeze", 
/**
 * When the fault began (as its `alert` said), µs.
 */
startUs: number, 
/**
 * When it ended in audio time, µs.
 */
endUs: number, 
/**
 * Why it is over (`recovered`, `end of stream`), with the last measurement.
 */
detail: string, });

/**
 * Something that happened in a session (JSON: `{type: "<snake_case kind>", ...camelCase fields}`).
 * Times are microseconds since the session started.
 */
export type SessionEvent = { "type": "node_started", 
/**
 * Node id.
 */
node: string, 
/**
 * When.
 */
atUs: number, } | { "type": "node_finished", 
/**
 * Node id.
 */
node: string, 
/**
 * When.
 */
atUs: number, } | { "type": "process", 
/**
 * Node id.
 */
node: string, 
/**
 * When the call started.
 */
startUs: number, 
/**
 * How long it took.
 */
durationUs: number, 
/**
 * Items the call emitted (native nodes; a host task's emits are counted in the metrics).
 */
itemsOut?: number, 
/**
 * When the event was recorded.
 */
atUs: number, } | { "type": "drop", 
/**
 * The node whose input queue dropped it.
 */
node: string, 
/**
 * The node that produced it.
 */
from: string, 
/**
 * When.
 */
atUs: number, } | { "type": "error", 
/**
 * Node id.
 */
node: string, 
/**
 * Node type.
 */
nodeType: string, 
/**
 * What went wrong.
 */
message: string, 
/**
 * When.
 */
atUs: number, } | NodeEventRecord;

/**
 * The recorded events taken at once, and how many were dropped because nobody took them in time.
 */
export type EventBatch = { 
/**
 * Oldest first.
 */
events: Array<SessionEvent>, 
/**
 * Events dropped since the previous batch (the log keeps the newest 8192).
 */
dropped: number, };

/**
 * Counters and call durations of one node.
 */
export type NodeMetrics = { 
/**
 * Node id.
 */
id: string, 
/**
 * Node type.
 */
type: string, 
/**
 * Items received.
 */
itemsIn: number, 
/**
 * Items emitted.
 */
itemsOut: number, 
/**
 * Time spent in the node's calls.
 */
totalMs: number, 
/**
 * Longest single call.
 */
maxMs: number, 
/**
 * Median duration of the node's recent calls (last 1024).
 */
p50Ms: number, 
/**
 * 95th percentile of the node's recent calls (last 1024).
 */
p95Ms: number, 
/**
 * Items skipped after errors (`skipErrors`).
 */
errors: number, 
/**
 * Items waiting in the node's input queues.
 */
queueDepth: number, 
/**
 * Items dropped on the node's `dropOldest` input edges.
 */
dropped: number, 
/**
 * For a converter that format negotiation inserted: the id of the node it converts for.
 */
convertsFor?: string, };

/**
 * A snapshot of a session's metrics.
 */
export type SessionMetrics = { 
/**
 * The session's phase (`Phase` as a number).
 */
phase: number, 
/**
 * Per node, in manifest order, each converter format negotiation inserted just before the node
 * it converts for.
 */
nodes: Array<NodeMetrics>, 
/**
 * Items waiting to enter the graph.
 */
inputQueue: number, 
/**
 * Outputs waiting to be taken.
 */
outputQueue: number, };
