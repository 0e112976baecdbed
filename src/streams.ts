/**
 * Web Streams adapters for audio: WAV or raw PCM byte streams (files, `Request`/`Response` bodies,
 * sockets) into audio frames, and audio frames back into a WAV byte stream.
 *
 * @module
 */
import { WavInfoSlot, WavPhase } from "../ffi/contract.ts";
import { ArgumentError } from "./errors.ts";
import { type NativeLibrary, WAV_INFO_LEN } from "../ffi/symbols.ts";
import { ShapeError } from "./errors.ts";
import { checkHandle, checkStatus, lib } from "./native.ts";
import type { SampleFormat } from "./data_types.ts";
import { RuntimeData } from "./runtime_data.ts";

/** Anything that yields bytes: a stream, a `Response`/`Request` (its body), or bytes at once. */
export type ByteSource = ReadableStream<Uint8Array> | Response | Request | Uint8Array;

/** Layout of raw PCM. */
export interface PcmLayout {
  /** Sample format of the bytes (little-endian). */
  format: SampleFormat;
  /** Frames per second. */
  sampleRate: number;
  /** Interleaved channels (default 1). */
  channels?: number;
}

/** Frame size of the emitted audio. */
export interface FrameOptions {
  /**
   * Duration of each emitted frame in milliseconds (default 20); the last one may be shorter. For
   * `wavFrames`, 0 emits the whole stream as one item.
   */
  frameMs?: number;
}

function byteStream(source: ByteSource): ReadableStream<Uint8Array> {
  if (source instanceof Uint8Array) {
    return new ReadableStream({
      start(c): void {
        c.enqueue(source);
        c.close();
      },
    });
  }
  if (source instanceof Response || source instanceof Request) {
    if (!source.body) throw new ArgumentError("the Request/Response has no body");
    return source.body;
  }
  return source;
}

/** Pulls exact byte counts out of a byte stream. */
class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffer = new Uint8Array(0);
  #done = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** Up to `n` bytes (fewer only at the end of the stream). */
  async read(n: number): Promise<Uint8Array> {
    while (this.#buffer.length < n && !this.#done) {
      const { value, done } = await this.#reader.read();
      if (done) this.#done = true;
      else if (value.length) {
        const joined = new Uint8Array(this.#buffer.length + value.length);
        joined.set(this.#buffer);
        joined.set(value, this.#buffer.length);
        this.#buffer = joined;
      }
    }
    const out = this.#buffer.subarray(0, Math.min(n, this.#buffer.length));
    this.#buffer = this.#buffer.subarray(out.length);
    return out;
  }

  cancel(reason?: unknown): Promise<void> {
    return this.#reader.cancel(reason);
  }
}

const SAMPLE_BYTES: Record<SampleFormat, number> = { f32: 4, i16: 2, i32: 4 };

function frames(
  reader: ByteReader,
  layout: Required<PcmLayout>,
  frameMs: number,
): ReadableStream<RuntimeData> {
  const unit = layout.channels * SAMPLE_BYTES[layout.format];
  const frameBytes = Math.max(1, Math.round((layout.sampleRate * frameMs) / 1000)) * unit;
  let timestampUs = 0;
  return new ReadableStream<RuntimeData>({
    async pull(controller): Promise<void> {
      let bytes = await reader.read(frameBytes);
      bytes = bytes.subarray(0, bytes.length - (bytes.length % unit));
      if (bytes.length === 0) {
        controller.close();
        return;
      }
      const data = RuntimeData.audio({
        samples: bytes,
        format: layout.format,
        sampleRate: layout.sampleRate,
        channels: layout.channels,
        timestampUs: Math.round(timestampUs),
      });
      timestampUs += (bytes.length / unit * 1e6) / layout.sampleRate;
      controller.enqueue(data);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 1 });
}

/**
 * Raw little-endian PCM bytes → audio frames of `frameMs` (timestamps from 0).
 *
 * @example
 * ```ts
 * import { pcmFrames } from "./mod.ts";
 * const frames = pcmFrames(new Uint8Array(640), { format: "i16", sampleRate: 16000 }); // one 20 ms frame
 * ```
 */
export function pcmFrames(
  source: ByteSource,
  layout: PcmLayout,
  options?: FrameOptions,
): ReadableStream<RuntimeData> {
  const full = { channels: 1, ...layout };
  return frames(new ByteReader(byteStream(source)), full, options?.frameMs ?? 20);
}

/**
 * A WAV byte stream → audio frames of `frameMs`, with timestamps from 0. Parsed natively as it arrives
 * by the same parser as the `WavReader` node (they accept and reject the same files): PCM 8-bit (as
 * i16), 16-bit (i16), 24-bit (i32, shifted left 8), 32-bit (i32), 32-bit float (f32), plain or
 * WAVE_FORMAT_EXTENSIBLE. Other chunks are skipped as they stream past; a streamed WAV whose data size
 * is unknown (0 or 0xFFFFFFFF) is read to the end. A stream that is not a WAV, an unsupported encoding,
 * or a stream that ends early (inside the header, the data chunk or a frame) errors the stream with a
 * `ShapeError` after the frames before the problem. Each frame is made in native memory: the only copy
 * is from each chunk of the source into native samples.
 *
 * @example
 * ```ts
 * import { wavFrames } from "./mod.ts";
 * async function timestamps(wav: Response): Promise<number[]> {
 *   const out: number[] = [];
 *   for await (const frame of wavFrames(wav, { frameMs: 20 })) {
 *     out.push(frame.asAudio().timestampUs ?? 0); // 0, 20000, 40000, …
 *     frame.dispose();
 *   }
 *   return out;
 * }
 * ```
 */
export function wavFrames(
  source: ByteSource,
  options?: FrameOptions,
): ReadableStream<RuntimeData> {
  const frameMs = options?.frameMs ?? 20;
  if (typeof frameMs !== "number" || !Number.isFinite(frameMs) || frameMs < 0) {
    throw new ArgumentError(`frameMs must be a finite number ≥ 0, got ${String(frameMs)}`);
  }
  const reader = byteStream(source).getReader();
  let parser: WavParser | undefined;
  let ready = 0;
  let inputDone = false;
  const release = (): void => {
    parser?.dispose();
    parser = undefined;
  };
  return new ReadableStream<RuntimeData>({
    async pull(controller): Promise<void> {
      try {
        parser ??= new WavParser(frameMs);
        while (ready === 0) {
          if (inputDone) {
            ready = parser.finish(); // the last item, or the error that waited for the items before it
            if (ready === 0) {
              release();
              controller.close();
              return;
            }
          } else if (parser.complete()) {
            // The data chunk ended: whatever follows is not needed, so stop reading the source.
            inputDone = true;
            await reader.cancel().catch(() => {});
          } else {
            const { value, done } = await reader.read();
            if (done) inputDone = true;
            else if (value.byteLength > 0) ready = parser.push(chunkBytes(value));
          }
        }
        ready--;
        controller.enqueue(parser.take());
      } catch (error) {
        release();
        reader.cancel(error).catch(() => {});
        throw error;
      }
    },
    cancel(reason): Promise<void> {
      release();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 1 });
}

function chunkBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  throw new ArgumentError(
    `wavFrames: the byte stream yielded ${
      value === null ? "null" : typeof value === "object" ? value.constructor?.name : typeof value
    }, expected Uint8Array chunks`,
  );
}

const wavParsers = new FinalizationRegistry<{ native: NativeLibrary; handle: number }>(
  ({ native, handle }) => {
    try {
      native.symbols.rm_wav_parser_free(handle);
    } catch {
      // the library was closed meanwhile: nothing left to free
    }
  },
);
const wavInfo = new Float64Array(WAV_INFO_LEN);
/** `rm_wav_parser_info` phases at which no more input is needed: data complete, failed. */

/** The native incremental WAV parser (rust/src/wav): bytes in, audio items out. */
class WavParser {
  #native: NativeLibrary = lib();
  #handle: number;

  constructor(frameMs: number) {
    this.#handle = checkHandle(this.#native.symbols.rm_wav_parser_create(frameMs), this.#native);
    wavParsers.register(this, { native: this.#native, handle: this.#handle }, this);
  }

  /** Feeds bytes (copied once, natively, into samples); returns the number of items ready. */
  push(bytes: Uint8Array): number {
    return checkStatus(
      this.#native.symbols.rm_wav_parser_push(this.#handle, bytes, bytes.length),
      this.#native,
    );
  }

  /** End of input; returns the number of items ready (or throws the stream's error). */
  finish(): number {
    return checkStatus(this.#native.symbols.rm_wav_parser_finish(this.#handle), this.#native);
  }

  /** The next ready item (only call when a count said one is ready). */
  take(): RuntimeData {
    return RuntimeData.fromHandle(
      this.#native.symbols.rm_wav_parser_take(this.#handle),
      this.#native,
    );
  }

  /** True once the data chunk ended (or the stream failed): no more input can change the outcome. */
  complete(): boolean {
    checkStatus(
      this.#native.symbols.rm_wav_parser_info(this.#handle, wavInfo, wavInfo.length),
      this.#native,
    );
    return wavInfo[WavInfoSlot.Phase] >= WavPhase.Complete;
  }

  dispose(): void {
    if (this.#handle === 0) return;
    wavParsers.unregister(this);
    this.#native.symbols.rm_wav_parser_free(this.#handle);
    this.#handle = 0;
  }
}

function wavHeader(
  format: SampleFormat,
  sampleRate: number,
  channels: number,
  dataBytes: number,
): Uint8Array {
  const bytes = new Uint8Array(44);
  const v = new DataView(bytes.buffer);
  const put = (at: number, s: string) =>
    [...s].forEach((c, i) => v.setUint8(at + i, c.charCodeAt(0)));
  const bits = SAMPLE_BYTES[format] * 8;
  put(0, "RIFF");
  v.setUint32(4, dataBytes === 0xffffffff ? 0xffffffff : 36 + dataBytes, true);
  put(8, "WAVE");
  put(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, format === "f32" ? 3 : 1, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * channels * SAMPLE_BYTES[format], true);
  v.setUint16(32, channels * SAMPLE_BYTES[format], true);
  v.setUint16(34, bits, true);
  put(36, "data");
  v.setUint32(40, dataBytes, true);
  return bytes;
}

/**
 * Audio frames → a WAV byte stream, e.g. a streamed HTTP response body. The layout comes from the first
 * frame; the sizes in the header are 0xFFFFFFFF (unknown length, as streaming WAV writers do). Each
 * frame is released after its bytes were copied out. Non-audio items are skipped.
 */
export function wavStream(frames: ReadableStream<RuntimeData>): ReadableStream<Uint8Array> {
  const reader = frames.getReader();
  let layout: { format: SampleFormat; sampleRate: number; channels: number } | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller): Promise<void> {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          if (!layout) controller.enqueue(wavHeader("i16", 16000, 1, 0));
          controller.close();
          return;
        }
        try {
          if (!value.isAudio()) continue;
          const audio = value.asAudio();
          if (!layout) {
            layout = {
              format: audio.format,
              sampleRate: audio.sampleRate,
              channels: audio.channels,
            };
            controller.enqueue(
              wavHeader(layout.format, layout.sampleRate, layout.channels, 0xffffffff),
            );
          } else if (
            audio.format !== layout.format || audio.sampleRate !== layout.sampleRate ||
            audio.channels !== layout.channels
          ) {
            throw new ShapeError(
              `wavStream: frame is ${audio.sampleRate} Hz ${audio.channels} ch ${audio.format}, ` +
                `the stream is ${layout.sampleRate} Hz ${layout.channels} ch ${layout.format}`,
            );
          }
          const s = audio.samples;
          controller.enqueue(new Uint8Array(s.buffer, s.byteOffset, s.byteLength).slice());
          return;
        } finally {
          value.dispose();
        }
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
