/**
 * The wire format of `serve()`'s native WebSocket protocol (docs/PROTOCOL.md): the messages a client
 * sends and receives, the close codes, and the 16-byte header of binary outputs with the functions
 * that write and read it. Runtime-neutral, free of sessions: a client (a test, a browser page) can
 * import it alone.
 *
 * @module
 */
import { ArgumentError } from "../errors.ts";

/** WebSocket close codes the server uses (docs/PROTOCOL.md, "Close codes"). */
export const CloseCode = {
  /** The session ended normally: the client sent `close` (or Twilio `stop`), or the pipeline ended. */
  normal: 1000,
  /** The server is shutting down; the session was drained (its outputs sent) before this. */
  shutdown: 1001,
  /** The client broke the protocol (bad JSON, unknown message, bad `start`, audio before `start`). */
  protocolError: 1008,
  /** A message was larger than the server's `maxMessageBytes`. */
  tooBig: 1009,
  /** A node failed; an `error` message with the node's id came first. */
  pipelineFailed: 1011,
  /** The server is full (`maxSessions`) or draining: try again later, or elsewhere. */
  tryAgainLater: 1013,
  /** Nothing arrived from the client for `idleTimeoutMs`. */
  idleTimeout: 4408,
} as const;

/** One of the values of {@link CloseCode}. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Sample formats of PCM on the wire; `mulaw`/`alaw` are G.711 bytes (one per sample). */
export type WireFormat = "i16" | "f32" | "mulaw" | "alaw";

/** The first message of a native-protocol session: the layout of the audio the client will send. */
export interface StartMessage {
  /** `"start"`. */
  type: "start";
  /** Sample rate of the binary frames the client sends, in Hz. */
  sampleRate: number;
  /** Interleaved channels of those frames (default 1). */
  channels?: number;
  /** Sample format of those frames (default `"i16"`): little-endian PCM, or G.711 bytes. */
  format?: WireFormat;
  /**
   * Param overrides for this session, `{ "node.key": value }` — what `remotemedia run --param
   * node.key=value` does, with JSON values; validated with the manifest before the session starts.
   */
  params?: Record<string, unknown>;
  /** Convert audio outputs to this format before sending (default: as the pipeline emits them). */
  outputFormat?: "i16" | "f32";
}

/** Messages a client sends as text frames (binary frames are PCM in the `start` layout). */
export type ClientMessage =
  | StartMessage
  | { type: "text"; text: string; to?: string }
  | { type: "json"; value: unknown; to?: string }
  | { type: "interrupt"; from?: string | string[] }
  | { type: "close" };

/** Messages the server sends as text frames (audio and binary outputs are binary frames). */
export type ServerMessage =
  | {
    type: "ready";
    /** Identifies this server process (`serve({ name })`, default host:pid). */
    server: string;
    /** Session number on this server. */
    session: number;
    /** Sink ids; a binary output's header carries the index of its sink in this list. */
    sinks: string[];
    /** Entry nodes and the data types each accepts. */
    entries: { id: string; type: string; accepts: readonly string[] }[];
  }
  | {
    type: "output";
    sink: string;
    dataType: "json" | "text";
    value?: unknown;
    text?: string;
    timestampUs?: number;
  }
  | { type: "interrupted"; dropped: number; reason: string }
  | { type: "error"; code: string; message: string; nodeId?: string }
  | {
    type: "end";
    reason: "closed" | "ended" | "shutdown";
    stats: ConnectionCounts;
  };

/** Counts of one connection, sent with `end` and summed into `/metrics`. */
export interface ConnectionCounts {
  /** Messages received (binary frames and JSON inputs). */
  framesIn: number;
  /** Outputs sent. */
  framesOut: number;
  /** Input frames dropped because the connection's input queue was full. */
  dropped: number;
}

/** Bytes of the header in front of every binary output. */
export const OUTPUT_HEADER_BYTES = 16;
/** Version written at byte 0 of the header. */
export const OUTPUT_HEADER_VERSION = 1;

/** What a binary output carries: audio samples or opaque bytes. */
export const OutputKind = { audio: 1, binary: 2 } as const;

/** Sample format codes in the header (those of the C ABI's `RmSampleFormat`). */
export const OutputFormatCode = { f32: 0, i16: 1, i32: 2 } as const;

/** A decoded binary output. */
export interface OutputFrame {
  /** `audio` or `binary`. */
  kind: "audio" | "binary";
  /** Index of the sink in the `ready` message's `sinks`. */
  sink: number;
  /** Per-sink sequence number, from 0. */
  sequence: number;
  /** Audio: sample format of `payload`. */
  format?: "f32" | "i16" | "i32";
  /** Audio: sample rate in Hz. */
  sampleRate?: number;
  /** Audio: interleaved channels. */
  channels?: number;
  /** Little-endian samples (audio) or the bytes (binary); a view into the message. */
  payload: Uint8Array;
}

/**
 * Writes a binary output: the 16-byte header, then `payload`.
 *
 * | bytes | field |
 * | --- | --- |
 * | 0 | version (1) |
 * | 1 | kind: 1 audio, 2 binary |
 * | 2 | sample format: 0 f32, 1 i16, 2 i32 (audio; 0 for binary) |
 * | 3 | reserved (0) |
 * | 4–7 | sample rate, u32 LE (audio; 0 for binary) |
 * | 8–9 | channels, u16 LE (audio; 0 for binary) |
 * | 10–11 | sink index, u16 LE |
 * | 12–15 | sequence number of this output in its sink, u32 LE |
 */
export function encodeOutputFrame(frame: OutputFrame): Uint8Array {
  const bytes = new Uint8Array(OUTPUT_HEADER_BYTES + frame.payload.byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, OUTPUT_HEADER_VERSION);
  view.setUint8(1, OutputKind[frame.kind]);
  if (frame.kind === "audio") {
    view.setUint8(2, OutputFormatCode[frame.format ?? "f32"]);
    view.setUint32(4, frame.sampleRate ?? 0, true);
    view.setUint16(8, frame.channels ?? 1, true);
  }
  view.setUint16(10, frame.sink, true);
  view.setUint32(12, frame.sequence >>> 0, true);
  bytes.set(frame.payload, OUTPUT_HEADER_BYTES);
  return bytes;
}

/** Reads a binary output written by {@link encodeOutputFrame}; throws on a malformed one. */
export function decodeOutputFrame(bytes: Uint8Array): OutputFrame {
  if (bytes.byteLength < OUTPUT_HEADER_BYTES) {
    throw new ArgumentError(`a binary output has a 16-byte header, got ${bytes.byteLength} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== OUTPUT_HEADER_VERSION) {
    throw new ArgumentError(`unknown binary output version ${version}`);
  }
  const kindCode = view.getUint8(1);
  const payload = bytes.subarray(OUTPUT_HEADER_BYTES);
  const sink = view.getUint16(10, true);
  const sequence = view.getUint32(12, true);
  if (kindCode === OutputKind.binary) return { kind: "binary", sink, sequence, payload };
  if (kindCode !== OutputKind.audio) throw new ArgumentError(`unknown output kind ${kindCode}`);
  const formatCode = view.getUint8(2);
  const format = (["f32", "i16", "i32"] as const)[formatCode];
  if (format === undefined) throw new ArgumentError(`unknown sample format ${formatCode}`);
  return {
    kind: "audio",
    sink,
    sequence,
    format,
    sampleRate: view.getUint32(4, true),
    channels: view.getUint16(8, true),
    payload,
  };
}

/** The samples of a decoded audio output as a typed array (a copy, aligned). */
export function outputSamples(frame: OutputFrame): Float32Array | Int16Array | Int32Array {
  const copy = frame.payload.slice().buffer;
  return frame.format === "i16"
    ? new Int16Array(copy)
    : frame.format === "i32"
    ? new Int32Array(copy)
    : new Float32Array(copy);
}
