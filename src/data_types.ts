/**
 * The value types of RuntimeData as TypeScript sees them — data types, sample/pixel/tensor formats,
 * attributes, the init objects of the constructors, `AudioView` over native samples — and the checks
 * that turn a bad argument into a clear `ArgumentError` before anything reaches the native side.
 * `runtime_data.ts` (the `RuntimeData` class) builds on these.
 *
 * @module
 */
import {
  DATA_TYPE_NAMES,
  PIXEL_FORMAT_NAMES,
  SAMPLE_FORMAT_NAMES,
  TENSOR_DTYPE_NAMES,
} from "../ffi/contract.ts";
import { ArgumentError } from "./errors.ts";
import { encoder } from "./native.ts";

/** The six kinds of RuntimeData. */
export type DataType = "text" | "audio" | "video" | "json" | "binary" | "tensor";

/** Storage format of audio samples. */
export type SampleFormat = "f32" | "i16" | "i32";

/** Typed arrays that hold samples of each {@link SampleFormat}. */
export type Samples = Float32Array | Int16Array | Int32Array;

/** The typed array of each {@link SampleFormat}: `Float32Array` for f32, `Int16Array` for i16, `Int32Array` for i32. */
export interface SamplesByFormat {
  /** 32-bit float samples. */
  f32: Float32Array;
  /** 16-bit integer samples. */
  i16: Int16Array;
  /** 32-bit integer samples. */
  i32: Int32Array;
}

/** The typed array that holds samples of format `F` (all three for the `SampleFormat` union). */
export type SamplesOf<F extends SampleFormat> = SamplesByFormat[F];

/**
 * Samples to read, not to write: views of native memory that other pipeline branches, the caller or
 * other nodes may share. Write through {@link RuntimeData.writableAudio} instead (copy-on-write).
 */
export type ReadonlySamples<F extends SampleFormat = SampleFormat> = Readonly<SamplesByFormat[F]>;

/** Pixel layout of a raw video frame. */
export type PixelFormat = "rgba" | "rgb24" | "i420";

/** Element type of a tensor. */
export type TensorDtype = "f32" | "i32" | "u8";

/** Typed arrays that hold the elements of each {@link TensorDtype}. */
export type TensorElements = Float32Array | Int32Array | Uint8Array;

/** Optional attributes any RuntimeData may carry. */
export interface Attributes {
  /** Presentation timestamp in microseconds. */
  timestampUs?: number;
  /** The stream the item belongs to (a participant, a track). */
  streamId?: string;
  /** Free-form JSON-serialisable metadata. */
  metadata?: unknown;
}

/** What {@link RuntimeData.audio} takes. */
export interface AudioInit extends Attributes {
  /** Interleaved samples: a typed array of the format, or raw native-endian bytes with `format`. */
  samples: Samples | Uint8Array | ArrayBuffer;
  /** Frames per second, an integer ≥ 1. */
  sampleRate: number;
  /** Interleaved channel count, an integer ≥ 1 (default 1). */
  channels?: number;
  /** Sample format; inferred from the typed array, required for raw bytes. */
  format?: SampleFormat;
}

/** What {@link RuntimeData.allocAudio} takes (`F`: its sample format). */
export interface AudioAllocInit<F extends SampleFormat = SampleFormat> extends Attributes {
  /** Sample format of the buffer to fill. */
  format: F;
  /** Frames per channel. */
  numSamples: number;
  /** Frames per second. */
  sampleRate: number;
  /** Interleaved channel count (default 1). */
  channels?: number;
}

/** What {@link RuntimeData.video} takes. */
export interface VideoInit extends Attributes {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Pixel layout. */
  format: PixelFormat;
  /** Pixel bytes: width*height*4 (rgba), *3 (rgb24), or Y + U + V planes (i420). */
  pixels: Uint8Array;
}

/** What {@link RuntimeData.tensor} takes. */
export interface TensorInit extends Attributes {
  /** Dimensions, outermost first. */
  shape: readonly number[];
  /** Elements in row-major order; the dtype is inferred from the typed array. */
  data: TensorElements;
}

/** A decoded video frame whose pixels are a view over native memory. */
export interface Video {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Pixel layout. */
  format: PixelFormat;
  /** Pixel bytes (a view, not a copy). */
  pixels: Uint8Array;
  /** Presentation timestamp in microseconds, if set. */
  timestampUs?: number;
}

/** A tensor whose elements are a view over native memory. */
export interface Tensor {
  /** Dimensions, outermost first. */
  shape: number[];
  /** Element type. */
  dtype: TensorDtype;
  /** Elements (a view, not a copy). */
  data: TensorElements;
}

// The code tables come from the generated contract; the public names above must be exactly its names
// (a compile error otherwise).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _sameNames: [
  Same<DataType, (typeof DATA_TYPE_NAMES)[number]>,
  Same<SampleFormat, (typeof SAMPLE_FORMAT_NAMES)[number]>,
  Same<PixelFormat, (typeof PIXEL_FORMAT_NAMES)[number]>,
  Same<TensorDtype, (typeof TENSOR_DTYPE_NAMES)[number]>,
] = [true, true, true, true];
/** Data type names by native code. @internal */
export const TYPES: readonly DataType[] = DATA_TYPE_NAMES;
/** Sample format names by native code. @internal */
export const SAMPLE_FORMATS: readonly SampleFormat[] = SAMPLE_FORMAT_NAMES;
/** Pixel format names by native code. @internal */
export const PIXEL_FORMATS: readonly PixelFormat[] = PIXEL_FORMAT_NAMES;
/** Tensor dtype names by native code. @internal */
export const TENSOR_DTYPES: readonly TensorDtype[] = TENSOR_DTYPE_NAMES;

/**
 * Audio as seen from TypeScript: interleaved samples over native memory plus their layout.
 *
 * @example
 * ```ts
 * import { RuntimeData } from "./mod.ts";
 * using data = RuntimeData.audio({ samples: new Float32Array([0.1, -0.1, 0.2, -0.2]), sampleRate: 48000, channels: 2 });
 * const audio = data.asAudio();
 * audio.numSamples; // 2 frames per channel
 * audio.channel(1); // Float32Array [-0.1, -0.2]
 * ```
 */
export class AudioView<F extends SampleFormat = SampleFormat> {
  /**
   * Interleaved samples (a view over native memory, not a copy). Typed read-only: the memory may be
   * shared with other branches and with whoever pushed the item; use {@link RuntimeData.writableAudio}
   * to write.
   */
  readonly samples: ReadonlySamples<F>;
  /** Frames per second. */
  readonly sampleRate: number;
  /** Interleaved channel count. */
  readonly channels: number;
  /** Sample format. */
  readonly format: F;
  /** Frames per channel. */
  readonly numSamples: number;
  /** Presentation timestamp in microseconds, if set. */
  readonly timestampUs?: number;
  /** Stream id, if set. */
  readonly streamId?: string;
  /** Metadata, if set. */
  readonly metadata?: unknown;

  /** Wraps already-validated fields; use `RuntimeData#asAudio()` to get one. */
  constructor(
    samples: ReadonlySamples<F>,
    sampleRate: number,
    channels: number,
    attributes?: Attributes,
  ) {
    this.samples = samples;
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.format = formatOf(samples as Samples) as F;
    this.numSamples = samples.length / channels;
    if (attributes?.timestampUs !== undefined) this.timestampUs = attributes.timestampUs;
    if (attributes?.streamId !== undefined) this.streamId = attributes.streamId;
    if (attributes?.metadata !== undefined) this.metadata = attributes.metadata;
  }

  /** Duration in seconds. */
  get durationSeconds(): number {
    return this.numSamples / this.sampleRate;
  }

  /** The samples of one channel, as a new array of the same type. */
  channel(index: number): SamplesOf<F> {
    if (!Number.isInteger(index) || index < 0 || index >= this.channels) {
      throw new ArgumentError(
        `channel index ${index} is out of range for ${this.channels}-channel audio (expected 0..${
          this.channels - 1
        })`,
      );
    }
    const out = new (this.samples.constructor as SamplesConstructor)(this.numSamples);
    for (let frame = 0, i = index; frame < this.numSamples; frame++, i += this.channels) {
      out[frame] = this.samples[i];
    }
    return out as SamplesOf<F>;
  }

  /** Every channel as its own array (planar), copies. */
  deinterleave(): SamplesOf<F>[] {
    return Array.from({ length: this.channels }, (_, c) => this.channel(c));
  }
}

type SamplesConstructor = Float32ArrayConstructor | Int16ArrayConstructor | Int32ArrayConstructor;

/** An {@link AudioView} whose samples may be written in place (see {@link RuntimeData.writableAudio}). */
export interface WritableAudioView<F extends SampleFormat = SampleFormat> extends AudioView<F> {
  /** Interleaved samples, unshared: writing changes this item only. */
  readonly samples: SamplesOf<F>;
}

/** The sample format a typed array stores. */
export function formatOf(samples: Samples): SampleFormat {
  if (samples instanceof Float32Array) return "f32";
  if (samples instanceof Int16Array) return "i16";
  if (samples instanceof Int32Array) return "i32";
  throw new ArgumentError(
    `samples must be a Float32Array, Int16Array or Int32Array, got ${describe(samples)}`,
  );
}

/** A short description of a value for error messages (its class or `typeof`). @internal */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}

/** `value` when it is an integer in `[min, max]`, else an ArgumentError naming `field`. @internal */
export function checkInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ArgumentError(
      `${field} must be an integer between ${min} and ${max}, got ${
        typeof value === "number" ? value : describe(value)
      }`,
    );
  }
  return value;
}

/** The index of `value` in `list` (its ABI code), or an ArgumentError naming the field and the choices. @internal */
export function codeOf<T extends string>(
  list: readonly T[],
  value: unknown,
  field: string,
): number {
  const code = list.indexOf(value as T);
  if (code < 0) {
    throw new ArgumentError(`${field} must be one of ${list.join(", ")}, got ${String(value)}`);
  }
  return code;
}

/** A `\uD800`–`\uDFFF` escape in JSON text that is not half of a surrogate pair. */
const LONE_SURROGATE =
  /\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}/;

/**
 * JSON.stringify with a clear error for strings that hold a lone surrogate (not valid Unicode, so not
 * valid UTF-8 JSON for the native side), naming `field`. @internal
 */
export function stringifyJson(value: unknown, field: string): string | undefined {
  const text = JSON.stringify(value);
  const lone = text === undefined ? null : LONE_SURROGATE.exec(text);
  if (lone) {
    throw new ArgumentError(
      `${field} contains a string with a lone surrogate (${
        lone[0]
      }): it is not valid Unicode and cannot be stored; ` +
        "fix the string (e.g. with String.prototype.toWellFormed())",
    );
  }
  return text;
}

/** Attributes as the JSON the native side takes (null when there are none). @internal */
export function attributesJson(attrs: Attributes): Uint8Array | null {
  const out: Record<string, unknown> = {};
  if (attrs.timestampUs !== undefined) {
    out.timestampUs = checkInteger(
      attrs.timestampUs,
      "timestampUs",
      Number.MIN_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER,
    );
  }
  if (attrs.streamId !== undefined) {
    if (typeof attrs.streamId !== "string") {
      throw new ArgumentError(`streamId must be a string, got ${describe(attrs.streamId)}`);
    }
    stringifyJson(attrs.streamId, "streamId");
    out.streamId = attrs.streamId;
  }
  if (attrs.metadata !== undefined) {
    if (stringifyJson(attrs.metadata, "metadata") === undefined) {
      throw new ArgumentError(`metadata: ${describe(attrs.metadata)} is not JSON-serialisable`);
    }
    out.metadata = attrs.metadata;
  }
  return Object.keys(out).length === 0 ? null : encoder.encode(JSON.stringify(out));
}

/** The bytes of a typed array or ArrayBuffer, as a Uint8Array over the same memory. @internal */
export function bytesOf(view: ArrayBufferView | ArrayBuffer): Uint8Array {
  return view instanceof ArrayBuffer
    ? new Uint8Array(view)
    : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}
