/**
 * RuntimeData: typed values (text, audio, video, json, binary, tensor) that flow between pipeline nodes.
 *
 * Every value lives in native memory and is named by a handle. Payloads (samples, pixels, bytes, tensor
 * elements) are exposed as typed arrays over that memory: no copy crosses the boundary. Release is
 * explicit with `dispose()` / `using`, with garbage collection as a backstop; after `dispose()` every
 * accessor throws and every view made earlier is detached (length 0), so freed memory is never read.
 *
 * The value types, `AudioView` and the argument checks live in `data_types.ts`.
 * This file is one class (~500 lines: a constructor and an accessor per data type, views, dispose) and
 * stays whole so that the handle's lifecycle is read in one place.
 *
 * @module
 */
import { AudioInfoSlot, InfoSlot, TensorInfoSlot, VideoInfoSlot } from "../ffi/contract.ts";
import {
  type Attributes,
  attributesJson,
  type AudioAllocInit,
  type AudioInit,
  AudioView,
  bytesOf,
  checkInteger,
  codeOf,
  type DataType,
  describe,
  formatOf,
  PIXEL_FORMATS,
  type ReadonlySamples,
  SAMPLE_FORMATS,
  type SampleFormat,
  stringifyJson,
  type Tensor,
  TENSOR_DTYPES,
  type TensorDtype,
  type TensorInit,
  TYPES,
  type Video,
  type VideoInit,
  type WritableAudioView,
} from "./data_types.ts";
import { ArgumentError } from "./errors.ts";
import { INFO_LEN, type NativeLibrary } from "../ffi/symbols.ts";
import { DataTypeError, DisposedError, ShapeError } from "./errors.ts";
import { checkHandle, checkStatus, decoder, encoder, lastError, lib } from "./native.ts";

const info = new Float64Array(INFO_LEN);
const registry = new FinalizationRegistry<{ native: NativeLibrary; handle: number }>(
  ({ native, handle }) => {
    try {
      native.symbols.rm_data_free(handle);
    } catch {
      // the library was closed meanwhile: nothing left to free
    }
  },
);

/**
 * A typed value flowing between pipeline nodes, held in native memory.
 *
 * `F` is the sample format when it is known to be audio of that format (`allocAudio({ format: "f32" })`
 * and `audio({ samples: new Float32Array(…) })` give `RuntimeData<"f32">`, whose `writableAudio().samples`
 * is a `Float32Array`); plain `RuntimeData` may hold any type.
 *
 * @example
 * ```ts
 * import { RuntimeData } from "./mod.ts";
 * using text = RuntimeData.text("hello");
 * text.dataType(); // "text"
 * text.asText(); // "hello"
 * ```
 */
export class RuntimeData<F extends SampleFormat = SampleFormat> implements Disposable {
  #native: NativeLibrary;
  #handle: number;
  #type: number;
  #payloadBytes = -1;
  #buffer: ArrayBuffer | undefined;
  #text: string | undefined;
  /** Id of the pipeline node that emitted this item (pipeline outputs only). */
  readonly nodeId?: string;
  /**
   * End-to-end latency of a pipeline output: microseconds from the push of the input it derives from
   * to the moment it was taken from the session (pipeline outputs only).
   */
  readonly latencyUs?: number;

  private constructor(native: NativeLibrary, handle: number, nodeId?: string, latencyUs?: number) {
    this.#native = native;
    this.#handle = handle;
    if (nodeId !== undefined) this.nodeId = nodeId;
    if (latencyUs !== undefined) this.latencyUs = latencyUs;
    this.#type = native.symbols.rm_data_type(handle);
    if (this.#type < 0) throw lastError(native);
    registry.register(this, { native, handle }, this);
  }

  /** Encodes the attributes, calls a native constructor with them, and wraps the handle it returns. */
  static #create(
    attributes: Attributes | undefined,
    make: (s: NativeLibrary["symbols"], attrs: Uint8Array | null, attrsLen: number) => number,
  ): RuntimeData {
    const native = lib();
    const attrs = attributesJson(attributes ?? {});
    return RuntimeData.fromHandle(make(native.symbols, attrs, attrs?.length ?? 0), native);
  }

  /**
   * Takes ownership of a native handle.
   *
   * @internal
   * @ignore
   */
  static fromHandle(
    handle: number,
    native: NativeLibrary = lib(),
    nodeId?: string,
    latencyUs?: number,
  ): RuntimeData {
    return new RuntimeData(native, checkHandle(handle, native), nodeId, latencyUs);
  }

  /** UTF-8 text. */
  static text(text: string, attributes?: Attributes): RuntimeData {
    if (typeof text !== "string") {
      throw new ArgumentError(`RuntimeData.text expects a string, got ${describe(text)}`);
    }
    const bytes = encoder.encode(text);
    return RuntimeData.#create(attributes, (s, a, n) => s.rm_data_text(bytes, bytes.length, a, n));
  }

  /** Any JSON-serialisable value (serialised with `JSON.stringify`, parsed natively). */
  static json(value: unknown, attributes?: Attributes): RuntimeData {
    const text = stringifyJson(value, "RuntimeData.json value");
    if (text === undefined) {
      throw new ArgumentError(`RuntimeData.json: ${describe(value)} is not JSON-serialisable`);
    }
    const bytes = encoder.encode(text);
    return RuntimeData.#create(attributes, (s, a, n) => s.rm_data_json(bytes, bytes.length, a, n));
  }

  /** JSON from its text form; a parse error names line and column. */
  static jsonText(text: string, attributes?: Attributes): RuntimeData {
    const bytes = encoder.encode(text);
    return RuntimeData.#create(attributes, (s, a, n) => s.rm_data_json(bytes, bytes.length, a, n));
  }

  /** Opaque bytes (copied into native memory once). */
  static binary(bytes: Uint8Array | ArrayBuffer, attributes?: Attributes): RuntimeData {
    if (!(bytes instanceof Uint8Array) && !(bytes instanceof ArrayBuffer)) {
      throw new ArgumentError(`RuntimeData.binary expects a Uint8Array, got ${describe(bytes)}`);
    }
    const view = bytesOf(bytes);
    return RuntimeData.#create(attributes, (s, a, n) => s.rm_data_binary(view, view.length, a, n));
  }

  /** Zero-filled native bytes to fill in place through `asBinary()` (no copy on the way in). */
  static allocBinary(byteLength: number, attributes?: Attributes): RuntimeData {
    checkInteger(byteLength, "byteLength", 0, Number.MAX_SAFE_INTEGER);
    return RuntimeData.#create(attributes, (s, a, n) => s.rm_data_binary_alloc(byteLength, a, n));
  }

  /**
   * Interleaved PCM audio, copied once into native memory. For no copy at all, use
   * {@link RuntimeData.allocAudio} and fill its samples in place. The result's type carries the sample
   * format of a typed array (or of `format` with raw bytes).
   */
  static audio(init: AudioInit & { samples: Float32Array }): RuntimeData<"f32">;
  /** 16-bit samples: see the first overload. */
  static audio(init: AudioInit & { samples: Int16Array }): RuntimeData<"i16">;
  /** 32-bit integer samples: see the first overload. */
  static audio(init: AudioInit & { samples: Int32Array }): RuntimeData<"i32">;
  /** Raw native-endian bytes of format `format`: see the first overload. */
  static audio<F extends SampleFormat>(
    init: AudioInit & { samples: Uint8Array | ArrayBuffer; format: F },
  ): RuntimeData<F>;
  /** Any of the above, format known at run time only. */
  static audio(init: AudioInit): RuntimeData;
  static audio(init: AudioInit): RuntimeData {
    if (init === null || typeof init !== "object") {
      throw new ArgumentError(`RuntimeData.audio expects an options object, got ${describe(init)}`);
    }
    const { samples } = init;
    let format: SampleFormat;
    if (samples instanceof Uint8Array || samples instanceof ArrayBuffer) {
      if (init.format === undefined) {
        throw new ArgumentError(
          "RuntimeData.audio: format is required when samples are raw bytes (f32, i16 or i32)",
        );
      }
      format = init.format;
    } else {
      format = formatOf(samples);
      if (init.format !== undefined && init.format !== format) {
        throw new ShapeError(
          `RuntimeData.audio: format "${init.format}" does not match samples of type ${samples.constructor.name} (${format})`,
        );
      }
    }
    const formatCode = codeOf(SAMPLE_FORMATS, format, "format");
    const sampleRate = checkInteger(init.sampleRate, "sampleRate", 1, 0xffffffff);
    const channels = checkInteger(init.channels ?? 1, "channels", 1, 0xffff);
    const bytes = bytesOf(samples);
    return RuntimeData.#create(init, (s, a, n) =>
      s.rm_data_audio(
        formatCode,
        bytes,
        bytes.length,
        sampleRate,
        channels,
        a,
        n,
      ));
  }

  /**
   * Zero-filled native audio to fill in place through `writableAudio().samples`: audio that enters
   * without any copy. The samples are typed by `format` (`"f32"` → `Float32Array`, …).
   *
   * @example
   * ```ts
   * import { RuntimeData } from "./mod.ts";
   * using frame = RuntimeData.allocAudio({ format: "i16", numSamples: 160, sampleRate: 16000 });
   * const samples: Int16Array = frame.writableAudio().samples; // no cast
   * samples.fill(1000);
   * ```
   */
  static allocAudio<F extends SampleFormat>(init: AudioAllocInit<F>): RuntimeData<F> {
    const formatCode = codeOf(SAMPLE_FORMATS, init.format, "format");
    const numSamples = checkInteger(init.numSamples, "numSamples", 0, Number.MAX_SAFE_INTEGER);
    const sampleRate = checkInteger(init.sampleRate, "sampleRate", 1, 0xffffffff);
    const channels = checkInteger(init.channels ?? 1, "channels", 1, 0xffff);
    return RuntimeData.#create(init, (s, a, n) =>
      s.rm_data_audio_alloc(
        formatCode,
        numSamples,
        sampleRate,
        channels,
        a,
        n,
      )) as RuntimeData<F>;
  }

  /** One raw video frame (pixels copied once). */
  static video(init: VideoInit): RuntimeData {
    const formatCode = codeOf(PIXEL_FORMATS, init.format, "format");
    if (!(init.pixels instanceof Uint8Array)) {
      throw new ArgumentError(`pixels must be a Uint8Array, got ${describe(init.pixels)}`);
    }
    const width = checkInteger(init.width, "width", 1, 0xffffffff);
    const height = checkInteger(init.height, "height", 1, 0xffffffff);
    return RuntimeData.#create(init, (s, a, n) =>
      s.rm_data_video(
        formatCode,
        width,
        height,
        init.pixels,
        init.pixels.length,
        a,
        n,
      ));
  }

  /** An n-dimensional array; `shape`'s product must equal `data.length`. */
  static tensor(init: TensorInit): RuntimeData {
    let dtype: TensorDtype;
    if (init.data instanceof Float32Array) dtype = "f32";
    else if (init.data instanceof Int32Array) dtype = "i32";
    else if (init.data instanceof Uint8Array) dtype = "u8";
    else {
      throw new ArgumentError(
        `tensor data must be a Float32Array, Int32Array or Uint8Array, got ${describe(init.data)}`,
      );
    }
    if (!Array.isArray(init.shape)) {
      throw new ArgumentError(
        `tensor shape must be an array of integers, got ${describe(init.shape)}`,
      );
    }
    const shape = Uint32Array.from(
      init.shape,
      (d, i) => checkInteger(d, `shape[${i}]`, 0, 0xffffffff),
    );
    const bytes = bytesOf(init.data);
    return RuntimeData.#create(init, (s, a, n) =>
      s.rm_data_tensor(
        TENSOR_DTYPES.indexOf(dtype),
        shape,
        shape.length,
        bytes,
        bytes.length,
        a,
        n,
      ));
  }

  /**
   * The native handle, for the pipeline layer. Throws if disposed.
   *
   * @internal
   * @ignore
   */
  handle(): number {
    if (this.#handle === 0) throw new DisposedError("RuntimeData");
    return this.#handle;
  }

  /** The kind of value. */
  dataType(): DataType {
    this.handle();
    return TYPES[this.#type];
  }

  /** True for text. */
  isText(): boolean {
    return this.dataType() === "text";
  }
  /** True for audio. */
  isAudio(): boolean {
    return this.dataType() === "audio";
  }
  /** True for a video frame. */
  isVideo(): boolean {
    return this.dataType() === "video";
  }
  /** True for JSON. */
  isJson(): boolean {
    return this.dataType() === "json";
  }
  /** True for binary. */
  isBinary(): boolean {
    return this.dataType() === "binary";
  }
  /** True for a tensor. */
  isTensor(): boolean {
    return this.dataType() === "tensor";
  }

  #expect(type: DataType, method = `as${capitalize(type)}()`): void {
    const actual = this.dataType();
    if (actual !== type) throw new DataTypeError(type, actual, method);
  }

  /** Reads the info slots into the shared scratch array; returns how many were written. */
  #info(): number {
    return checkStatus(
      this.#native.symbols.rm_data_info(this.handle(), info, info.length),
      this.#native,
    );
  }

  /** An ArrayBuffer over the payload, made once, that keeps the payload alive while it lives. */
  #payload(): ArrayBuffer {
    if (this.#buffer) return this.#buffer;
    const handle = this.handle();
    if (this.#payloadBytes < 0) {
      this.#info();
      this.#payloadBytes = info[InfoSlot.PayloadBytes];
    }
    let buffer: ArrayBuffer | null;
    if (this.#payloadBytes === 0) {
      buffer = new ArrayBuffer(0);
    } else {
      // The buffer owns a reference to the payload (released by the runtime when its backing store
      // dies), so a view can be kept, transferred or posted to a Worker after this object is gone.
      buffer = this.#native.viewOf(handle, this.#payloadBytes);
      if (buffer === null) throw lastError(this.#native);
    }
    this.#buffer = buffer;
    return buffer;
  }

  /** The text. */
  asText(): string {
    this.#expect("text");
    this.#text ??= decoder.decode(new Uint8Array(this.#payload()));
    return this.#text;
  }

  /** The JSON value (parsed anew on each call). */
  asJson<T = unknown>(): T {
    this.#expect("json");
    return JSON.parse(decoder.decode(new Uint8Array(this.#payload()))) as T;
  }

  /** The bytes, as a view over native memory. */
  asBinary(): Uint8Array {
    this.#expect("binary");
    return new Uint8Array(this.#payload());
  }

  /**
   * The audio with samples you may write in place. Copy-on-write: when the value is shared — with other
   * pipeline branches, with the caller that pushed it, with another handle or a view made elsewhere —
   * this RuntimeData first gets a copy of its own (views made before keep showing the shared value);
   * when it is not shared (e.g. fresh from `allocAudio`), no copy is made.
   *
   * @example
   * ```ts
   * import { RuntimeData } from "./mod.ts";
   * using frame = RuntimeData.allocAudio({ format: "f32", numSamples: 480, sampleRate: 48000 });
   * frame.writableAudio().samples.fill(0.25); // unshared: written in place, no copy
   * ```
   */
  writableAudio(): WritableAudioView<F> {
    this.#expect("audio", "writableAudio()");
    const buffer = this.#buffer;
    const ownViews = buffer !== undefined && buffer.byteLength > 0 ? 1 : 0;
    const copied = checkStatus(
      this.#native.symbols.rm_data_make_writable(this.handle(), ownViews),
      this.#native,
    );
    if (copied === 1) this.#buffer = undefined; // the next view shows the copy
    return this.asAudio() as WritableAudioView<F>;
  }

  /** The audio, with its samples as a (read-only typed) view over native memory. */
  asAudio(): AudioView<F> {
    this.#expect("audio");
    this.#info();
    const format = SAMPLE_FORMATS[info[AudioInfoSlot.Format]];
    const sampleRate = info[AudioInfoSlot.SampleRate];
    const channels = info[AudioInfoSlot.Channels];
    const hasAttributes = info[InfoSlot.AttributesBytes] > 0;
    const buffer = this.#payload();
    const samples = format === "f32"
      ? new Float32Array(buffer)
      : format === "i16"
      ? new Int16Array(buffer)
      : new Int32Array(buffer);
    return new AudioView(
      samples as ReadonlySamples<F>,
      sampleRate,
      channels,
      hasAttributes ? this.attributes() : {},
    );
  }

  /** The video frame, with its pixels as a view over native memory. */
  asVideo(): Video {
    this.#expect("video");
    this.#info();
    const video: Video = {
      format: PIXEL_FORMATS[info[VideoInfoSlot.PixelFormat]],
      width: info[VideoInfoSlot.Width],
      height: info[VideoInfoSlot.Height],
      pixels: new Uint8Array(0),
    };
    const timestampUs = info[InfoSlot.AttributesBytes] > 0
      ? this.attributes().timestampUs
      : undefined;
    video.pixels = new Uint8Array(this.#payload());
    if (timestampUs !== undefined) video.timestampUs = timestampUs;
    return video;
  }

  /** The tensor, with its elements as a view over native memory. */
  asTensor(): Tensor {
    this.#expect("tensor");
    const count = this.#info();
    const dtype = TENSOR_DTYPES[info[TensorInfoSlot.Dtype]];
    const dims = TensorInfoSlot.Dims;
    const shape = Array.from(
      info.subarray(dims, Math.min(count, dims + info[TensorInfoSlot.Rank])),
    );
    const buffer = this.#payload();
    const data = dtype === "f32"
      ? new Float32Array(buffer)
      : dtype === "i32"
      ? new Int32Array(buffer)
      : new Uint8Array(buffer);
    return { shape, dtype, data };
  }

  /** Timestamp, stream id and metadata (an empty object when none are set). */
  attributes(): Attributes {
    const native = this.#native;
    const handle = this.handle();
    let buf = new Uint8Array(256);
    let length = checkStatus(native.symbols.rm_data_attributes(handle, buf, buf.length), native);
    if (length === 0) return {};
    if (length > buf.length) {
      buf = new Uint8Array(length);
      length = checkStatus(native.symbols.rm_data_attributes(handle, buf, buf.length), native);
    }
    return JSON.parse(decoder.decode(buf.subarray(0, length))) as Attributes;
  }

  /** A deep copy in new native memory (dispose it separately). */
  clone(): RuntimeData<F> {
    return RuntimeData.fromHandle(
      this.#native.symbols.rm_data_clone(this.handle()),
      this.#native,
    ) as RuntimeData<F>;
  }

  /** True when both hold the same type, payload and attributes (compared natively). */
  equals(other: RuntimeData): boolean {
    const result = this.#native.symbols.rm_data_equal(this.handle(), other.handle());
    if (result < 0) throw lastError(this.#native);
    return result === 1;
  }

  /** True once disposed. */
  get disposed(): boolean {
    return this.#handle === 0;
  }

  /**
   * Releases the native memory now. Views made earlier are detached first (their length becomes 0), so
   * they can never read freed memory. Calling it again does nothing.
   */
  dispose(): void {
    const handle = this.#handle;
    if (handle === 0) return;
    this.#handle = 0;
    registry.unregister(this);
    if (this.#buffer && this.#buffer.byteLength > 0) this.#buffer.transfer(0);
    this.#buffer = undefined;
    checkStatus(this.#native.symbols.rm_data_free(handle), this.#native);
  }

  /** Same as {@link RuntimeData.dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** A short description, e.g. `RuntimeData(audio)`. */
  toString(): string {
    return this.#handle === 0 ? "RuntimeData(disposed)" : `RuntimeData(${this.dataType()})`;
  }
}

function capitalize(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}

/** Number of live native handles (all kinds): 0 once everything was disposed or collected. */
export function liveHandles(): number {
  return lib().symbols.rm_live_handles();
}

/**
 * Number of views (typed arrays' backing stores over native payloads) still alive. A view keeps its
 * payload alive on its own, wherever its buffer was moved, until the runtime collects or detaches it.
 */
export function liveViews(): number {
  return lib().symbols.rm_live_views();
}
