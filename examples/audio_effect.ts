/**
 * An audio effect: gain + clip, written in TypeScript next to the native `Gain`. The TS node
 * works on a view over native memory and writes in place through `writableAudio()` (copy-on-write: it
 * copies only when the frame is shared), so samples are never copied across the boundary.
 *
 * Run: `deno run --allow-ffi --allow-read --allow-env examples/audio_effect.ts` or
 * `bun run examples/audio_effect.ts`.
 *
 * @module
 */
import { audioFromFloat32, type Node, registerNode, run, type RuntimeData } from "../mod.ts";

/** Gain and clip to [-1, 1] on f32 audio, in place. */
export class GainClipNode implements Node {
  #gain: number;

  /** A node applying `gainDb`. */
  constructor(gainDb: number) {
    this.#gain = 10 ** (gainDb / 20);
  }

  /**
   * Scales every sample in place and passes the item on. `writableAudio()` is copy-on-write: the input
   * may be shared (another branch reads the same frame, or the caller still holds it), and then this
   * node gets its own copy first, so nobody else sees the change; an unshared input is written
   * without any copy.
   */
  process(data: RuntimeData): RuntimeData {
    if (data.asAudio().format !== "f32") {
      throw new TypeError(`GainClip needs f32 audio, got ${data.asAudio().format}`);
    }
    const samples = data.writableAudio().samples as Float32Array; // native memory, ours to write
    const g = Math.fround(this.#gain);
    for (let i = 0; i < samples.length; i++) {
      const v = Math.fround(samples[i] * g);
      samples[i] = v > 1 ? 1 : v < -1 ? -1 : v;
    }
    return data;
  }
}

/** Runs the same signal through the TS node and through native `Gain`; returns both outputs. */
export async function compare(gainDb: number): Promise<{ ts: Float32Array; native: Float32Array }> {
  const samples = Float32Array.from({ length: 4800 }, (_, i) => 0.6 * Math.sin(i / 5));
  using input = audioFromFloat32(samples, 48000);
  const [ts] = await run(
    { version: 1, nodes: [{ id: "ts-gain", type: registerOnce(gainDb) }] },
    input,
  );
  const [native] = await run(
    { version: 1, nodes: [{ id: "gain", type: "Gain", params: { gainDb } }] },
    input,
  );
  const result = {
    ts: (ts.asAudio().samples as Float32Array).slice(),
    native: (native.asAudio().samples as Float32Array).slice(),
  };
  ts.dispose();
  native.dispose();
  return result;
}

function registerOnce(gainDb: number): string {
  const type = `GainClip${gainDb}`.replace(/[^\w]/g, "_");
  registerNode(type, () => new GainClipNode(gainDb), { accepts: ["audio"], outputs: ["audio"] });
  return type;
}

if (import.meta.main) {
  const { ts, native } = await compare(6);
  let maxDiff = 0;
  for (let i = 0; i < ts.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ts[i] - native[i]));
  console.log(`${ts.length} samples, +6 dB with clipping: max |TS - native| = ${maxDiff}`);
}
