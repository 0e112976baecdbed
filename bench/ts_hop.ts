/**
 * Extra cost of one TypeScript node hop in a native graph, per 20 ms 48 kHz f32 frame:
 * `Gain → TS passthrough → Gain` against `Gain → Gain`, same session API (inline).
 *
 * Run: `deno run -A bench/ts_hop.ts` / `bun run bench/ts_hop.ts`.
 *
 * @module
 */
import { PipelineBuilder, RuntimeData, Session } from "../mod.ts";
import { runtime } from "../ffi/runtime.ts";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function perFrame(session: Session, frame: RuntimeData, frames: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < frames; i++) {
    await session.push(frame);
    (await session.next())!.dispose();
  }
  return ((performance.now() - start) * 1000) / frames;
}

/** Median µs per frame with and without the TS hop, and their difference. */
export async function tsHopFigures(
  frames = 20_000,
): Promise<{ nativeUs: number; withTsUs: number; hopUs: number }> {
  const native = Session.create(
    new PipelineBuilder().node("a", "Gain").node("b", "Gain").chain("a", "b").build(),
  );
  const mixed = Session.create(
    new PipelineBuilder()
      .node("a", "Gain")
      .node("ts", { process: (d: RuntimeData) => d })
      .node("b", "Gain")
      .chain("a", "ts", "b")
      .build(),
  );
  using frame = RuntimeData.allocAudio({ format: "f32", numSamples: 960, sampleRate: 48000 });
  await perFrame(native, frame, 2000);
  await perFrame(mixed, frame, 2000);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < 5; r++) {
    a.push(await perFrame(native, frame, frames));
    b.push(await perFrame(mixed, frame, frames));
  }
  native.dispose();
  mixed.dispose();
  const nativeUs = median(a);
  const withTsUs = median(b);
  return {
    nativeUs: Number(nativeUs.toFixed(2)),
    withTsUs: Number(withTsUs.toFixed(2)),
    hopUs: Number((withTsUs - nativeUs).toFixed(2)),
  };
}

if (import.meta.main) {
  console.log(JSON.stringify({ runtime, ...(await tsHopFigures()) }));
}
