/**
 * Web Streams adapters for audio: WAV or raw PCM byte streams (files, `Request`/`Response` bodies,
 * sockets) into audio frames, and audio frames back into a WAV byte stream.
 *
 * @module
 */
import { ShapeError } from "./errors.ts";
import { RuntimeData, type SampleFormat } from "./runtime_data.ts";

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
  /** Duration of each emitted frame in milliseconds (default 20); the last one may be shorter. */
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
    if (!source.body) throw new TypeError("the Request/Response has no body");
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
  decode?: (bytes: Uint8Array) => Uint8Array,
  limit = Infinity,
): ReadableStream<RuntimeData> {
  const frameBytes = Math.max(1, Math.round((layout.sampleRate * frameMs) / 1000)) *
    layout.channels * SAMPLE_BYTES[layout.format];
  let remaining = limit;
  let timestampUs = 0;
  return new ReadableStream<RuntimeData>({
    async pull(controller): Promise<void> {
      const want = Math.min(frameBytes, remaining);
      let bytes = want > 0 ? await reader.read(want) : new Uint8Array(0);
      const unit = layout.channels * (decode ? 3 : SAMPLE_BYTES[layout.format]);
      bytes = bytes.subarray(0, bytes.length - (bytes.length % unit));
      if (bytes.length === 0) {
        controller.close();
        return;
      }
      remaining -= bytes.length;
      const payload = decode ? decode(bytes) : bytes;
      const data = RuntimeData.audio({
        samples: payload,
        format: layout.format,
        sampleRate: layout.sampleRate,
        channels: layout.channels,
        timestampUs: Math.round(timestampUs),
      });
      const numFrames = payload.length / (SAMPLE_BYTES[layout.format] * layout.channels);
      timestampUs += (numFrames * 1e6) / layout.sampleRate;
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
  options: FrameOptions = {},
): ReadableStream<RuntimeData> {
  const full = { channels: 1, ...layout };
  return frames(new ByteReader(byteStream(source)), full, options.frameMs ?? 20);
}

/**
 * A WAV byte stream (16/24/32-bit PCM or 32-bit float) → audio frames of `frameMs`. The header is read
 * as it arrives; a streamed WAV whose data size is unknown (0 or 0xFFFFFFFF) is read to the end.
 */
export function wavFrames(
  source: ByteSource,
  options: FrameOptions = {},
): ReadableStream<RuntimeData> {
  const reader = new ByteReader(byteStream(source));
  let inner: ReadableStreamDefaultReader<RuntimeData> | undefined;
  return new ReadableStream<RuntimeData>({
    async pull(controller): Promise<void> {
      if (!inner) {
        const { layout, dataBytes, packed24 } = await readWavHeader(reader);
        inner = frames(
          reader,
          layout,
          options.frameMs ?? 20,
          packed24 ? widen24 : undefined,
          dataBytes === 0 || dataBytes === 0xffffffff ? Infinity : dataBytes,
        ).getReader();
      }
      const { value, done } = await inner.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => inner ? inner.cancel(reason) : reader.cancel(reason),
  }, { highWaterMark: 1 });
}

/** 24-bit little-endian samples → i32 samples (×256) as bytes. */
function widen24(bytes: Uint8Array): Uint8Array {
  const n = bytes.length / 3;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = (bytes[3 * i] << 8) | (bytes[3 * i + 1] << 16) | (bytes[3 * i + 2] << 24);
  }
  return new Uint8Array(out.buffer);
}

async function readWavHeader(
  reader: ByteReader,
): Promise<{ layout: Required<PcmLayout>; dataBytes: number; packed24: boolean }> {
  const riff = await reader.read(12);
  const tag = (b: Uint8Array, at: number) => String.fromCharCode(...b.subarray(at, at + 4));
  if (riff.length < 12 || tag(riff, 0) !== "RIFF" || tag(riff, 8) !== "WAVE") {
    throw new ShapeError("not a WAV stream: it does not start with RIFF....WAVE");
  }
  let layout: Required<PcmLayout> | undefined;
  let packed24 = false;
  for (;;) {
    const head = await reader.read(8);
    if (head.length < 8) throw new ShapeError("WAV stream ended before its data chunk");
    const size = new DataView(head.buffer, head.byteOffset, 8).getUint32(4, true);
    const id = tag(head, 0);
    if (id === "data") {
      if (!layout) throw new ShapeError("WAV data chunk before its fmt chunk");
      return { layout, dataBytes: size, packed24 };
    }
    const body = await reader.read(size + (size % 2));
    if (id === "fmt ") {
      const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
      let code = v.getUint16(0, true);
      const channels = v.getUint16(2, true);
      const sampleRate = v.getUint32(4, true);
      const bits = v.getUint16(14, true);
      if (code === 0xfffe && body.length >= 26) code = v.getUint16(24, true); // extensible
      let format: SampleFormat;
      if (code === 3 && bits === 32) format = "f32";
      else if (code === 1 && bits === 16) format = "i16";
      else if (code === 1 && bits === 32) format = "i32";
      else if (code === 1 && bits === 24) {
        format = "i32";
        packed24 = true;
      } else throw new ShapeError(`unsupported WAV encoding: format ${code}, ${bits}-bit`);
      layout = { format, sampleRate, channels };
    }
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
