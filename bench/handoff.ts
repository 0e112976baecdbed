/**
 * Hand-off costs: one 20 ms 48 kHz f32 frame through a PassThrough session and back, per execution
 * mode. Prints one JSON line per figure (median of 5 runs).
 *
 * Run: `deno run -A bench/handoff.ts` / `bun run bench/handoff.ts`.
 *
 * @module
 */
import { RuntimeData, Session } from "../mod.ts";
import { runtime } from "../ffi/runtime.ts";

const FRAMES = 960;
const manifest = { version: 1 as const, nodes: [{ id: "p", type: "PassThrough" }] };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** One figure. */
export interface Figure {
  /** What was measured. */
  name: string;
  /** Median microseconds per frame. */
  usPerFrame: number;
}

async function measure(
  name: string,
  iterations: number,
  body: (n: number) => Promise<void>,
): Promise<Figure> {
  await body(Math.min(2000, iterations)); // warm-up
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = performance.now();
    await body(iterations);
    runs.push(((performance.now() - start) * 1000) / iterations);
  }
  return { name, usPerFrame: Number(median(runs).toFixed(3)) };
}

/** Runs the hand-off figures and returns them. */
export async function handoffFigures(): Promise<Figure[]> {
  using frame = RuntimeData.allocAudio({ format: "f32", numSamples: FRAMES, sampleRate: 48000 });
  const results: Figure[] = [];

  const inline = Session.create(manifest, { execution: "inline" });
  results.push(
    await measure("inline: tryPush + poll (sync)", 100_000, (n) => {
      for (let i = 0; i < n; i++) {
        inline.tryPush(frame);
        inline.poll()!.dispose();
      }
      return Promise.resolve();
    }),
  );
  results.push(
    await measure("inline: await push + await next", 100_000, async (n) => {
      for (let i = 0; i < n; i++) {
        await inline.push(frame);
        (await inline.next())!.dispose();
      }
    }),
  );
  inline.dispose();

  const threaded = Session.create(manifest, { execution: "threaded" });
  results.push(
    await measure("threaded: await push + await next (thread hop + wake)", 5_000, async (n) => {
      for (let i = 0; i < n; i++) {
        await threaded.push(frame);
        (await threaded.next())!.dispose();
      }
    }),
  );
  results.push(
    await measure("threaded: 16 frames per wake (batched)", 20_000, async (n) => {
      for (let i = 0; i < n; i += 16) {
        for (let k = 0; k < 16; k++) await threaded.push(frame);
        for (let k = 0; k < 16; k++) (await threaded.next())!.dispose();
      }
    }),
  );
  threaded.dispose();
  return results;
}

if (import.meta.main) {
  for (const r of await handoffFigures()) console.log(JSON.stringify({ runtime, ...r }));
}
