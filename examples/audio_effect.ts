/**
 * The seed's audio effect: gain + clip, written in TypeScript next to the native `Gain`. The TS node reads
 * its input through a view over native memory and writes its output into native memory
 * (`RuntimeData.allocAudio`), so samples are never copied across the boundary.
 *
 * Run: `deno run --allow-ffi --allow-read --allow-env examples/audio_effect.ts` or
 * `bun run examples/audio_effect.ts`.
 *
 * @module
 */
import { audioFromFloat32, type Node, registerNode, run, RuntimeData } from "../mod.ts";

/** Gain and clip to [-1, 1] on f32 audio. */
export class GainClipNode implements Node {
  #gain: number;

  /** A node applying `gainDb`. */
  constructor(gainDb: number) {
    this.#gain = 10 ** (gainDb / 20);
  }

  /** Scales every sample into a native output buffer. */
  process(data: RuntimeData): RuntimeData {
    const input = data.asAudio(); // a view: no copy in
    if (input.format !== "f32") {
      throw new TypeError(`GainClip needs f32 audio, got ${input.format}`);
    }
    const out = RuntimeData.allocAudio({
      format: "f32",
      numSamples: input.numSamples,
      sampleRate: input.sampleRate,
      channels: input.channels,
    });
    const src = input.samples as Float32Array;
    const dst = out.asAudio().samples as Float32Array; // native memory: no copy out
    const g = Math.fround(this.#gain);
    for (let i = 0; i < src.length; i++) {
      const v = Math.fround(src[i] * g);
      dst[i] = v > 1 ? 1 : v < -1 ? -1 : v;
    }
    return out;
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
