/**
 * Helpers between typed arrays and audio RuntimeData: mono is one array, multi-channel audio is
 * interleaved (`L R L R …`), and planar per-channel arrays convert to and from it.
 *
 * @module
 */
import { ArgumentError } from "./errors.ts";
import { ShapeError } from "./errors.ts";
import { type Attributes, formatOf, type Samples } from "./data_types.ts";
import { RuntimeData } from "./runtime_data.ts";

/**
 * Audio RuntimeData from interleaved f32 samples (the RemoteMedia SDK's `numpy_to_audio`), with
 * `channels` (default 1) and optional attributes.
 *
 * @example
 * ```ts
 * import { audioFromFloat32 } from "./mod.ts";
 * using data = audioFromFloat32(new Float32Array(960), 48000); // 20 ms of mono silence
 * ```
 */
export function audioFromFloat32(
  samples: Float32Array,
  sampleRate: number,
  channels?: number,
  attributes?: Attributes,
): RuntimeData {
  if (!(samples instanceof Float32Array)) {
    throw new ArgumentError(
      `audioFromFloat32 expects a Float32Array, got ${
        (samples as object)?.constructor?.name ?? typeof samples
      }`,
    );
  }
  return RuntimeData.audio({ ...attributes, samples, sampleRate, channels: channels ?? 1 });
}

/**
 * The samples of audio RuntimeData as f32 in [-1, 1] (the RemoteMedia SDK's `audio_to_numpy`): f32 audio is
 * returned as the zero-copy view itself, i16 is divided by 32768 and i32 by 2^31 into a new array.
 */
export function audioToFloat32(data: RuntimeData): Float32Array {
  return toFloat32(data.asAudio().samples);
}

/** Converts samples of any format to f32 in [-1, 1] (f32 input is returned as is). */
export function toFloat32(samples: Samples): Float32Array {
  const format = formatOf(samples);
  if (format === "f32") return samples as Float32Array;
  const scale = format === "i16" ? 1 / 32768 : 1 / 2147483648;
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i] * scale;
  return out;
}

/**
 * Converts f32 samples to i16: ×32768 (the inverse of {@link toFloat32}, so i16 → f32 → i16 is
 * lossless), rounded and clipped to [-32768, 32767].
 */
export function toInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.round(samples[i] * 32768);
    out[i] = s > 32767 ? 32767 : s < -32768 ? -32768 : s;
  }
  return out;
}

/**
 * Interleaves planar channels (all the same length and type) into one array: `[L…], [R…]` → `L R L R…`.
 *
 * @example
 * ```ts
 * import { interleave } from "./mod.ts";
 * interleave([new Float32Array([1, 2]), new Float32Array([3, 4])]); // Float32Array [1, 3, 2, 4]
 * ```
 */
export function interleave<T extends Samples>(channels: readonly T[]): T {
  if (channels.length === 0) throw new ShapeError("interleave needs at least one channel, got 0");
  const frames = channels[0].length;
  const format = formatOf(channels[0]);
  channels.forEach((ch, i) => {
    if (formatOf(ch) !== format) {
      throw new ShapeError(`interleave: channel ${i} is ${formatOf(ch)}, channel 0 is ${format}`);
    }
    if (ch.length !== frames) {
      throw new ShapeError(
        `interleave: channel ${i} has ${ch.length} samples, channel 0 has ${frames}`,
      );
    }
  });
  const count = channels.length;
  const out = new (channels[0].constructor as new (n: number) => T)(frames * count);
  for (let c = 0; c < count; c++) {
    const ch = channels[c];
    for (let f = 0, i = c; f < frames; f++, i += count) out[i] = ch[f];
  }
  return out;
}

/** Splits interleaved samples into one array per channel (copies). */
export function deinterleave<T extends Samples>(samples: T, channels: number): T[] {
  if (!Number.isInteger(channels) || channels < 1) {
    throw new ArgumentError(`channels must be an integer ≥ 1, got ${channels}`);
  }
  if (samples.length % channels !== 0) {
    throw new ShapeError(
      `${samples.length} samples is not a multiple of ${channels} channels`,
    );
  }
  const frames = samples.length / channels;
  const ctor = samples.constructor as new (n: number) => T;
  return Array.from({ length: channels }, (_, c) => {
    const out = new ctor(frames);
    for (let f = 0, i = c; f < frames; f++, i += channels) out[f] = samples[i];
    return out;
  });
}
