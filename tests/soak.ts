/**
 * Soak test (`make soak`, not part of `make test`): streams 1,000,000 frames through a mixed
 * native/TypeScript pipeline and checks that no frame is lost, duplicated or reordered (sequence
 * numbers), that memory outside the JS heap (RSS − heapTotal: native buffers, handles, sessions) stays
 * flat after a warm-up, and that every native handle is released at the end. RSS is printed too.
 *
 * Run: `deno run -A --v8-flags=--expose-gc tests/soak.ts [frames]` or `bun run tests/soak.ts [frames]`.
 *
 * @module
 */
import { liveHandles, PipelineBuilder, RuntimeData, Session } from "../mod.ts";
import {
  args,
  collectGarbage as gc,
  exit,
  memoryUsage as memory,
  runtime,
} from "../ffi/runtime.ts";

const FRAMES = Number(args()[0] ?? 1_000_000);

/** Memory outside the JS heap: native buffers, handles, sessions. */
function offHeap(): number {
  const m = memory();
  return m.rss - m.heapTotal;
}

const baseline = liveHandles();
let tsSeen = 0;
const session = Session.create(
  new PipelineBuilder()
    .node("gain", "Gain", { gain: 1, clip: false }) // sequence numbers are > 1: no clipping
    .node("check", {
      process(data: RuntimeData): RuntimeData {
        const seq = data.asAudio().samples[0];
        if (seq !== tsSeen) throw new Error(`TS node saw frame ${seq}, expected ${tsSeen}`);
        tsSeen++;
        return data;
      },
    }, { accepts: ["audio"], outputs: ["audio"] })
    .node("chunk", "Chunker", { frames: 160 })
    .chain("gain", "check", "chunk")
    .build(),
);

let received = 0;
let offHeapStart = 0;
const samples: number[] = [];
const reader = (async () => {
  let expectSeq = 0;
  let part = 0;
  for await (const out of session) {
    const s = out.asAudio().samples;
    if (part === 0) {
      if (s[0] !== expectSeq) throw new Error(`output frame ${s[0]}, expected ${expectSeq}`);
      expectSeq++;
      received++;
    }
    part = (part + 1) % 6; // 960 frames re-chunked into 6 × 160
    out.dispose();
  }
})();

const start = performance.now();
const frame = new Float32Array(960);
for (let seq = 0; seq < FRAMES; seq++) {
  frame[0] = seq;
  using item = RuntimeData.audio({ samples: frame, sampleRate: 48000 });
  await session.push(item);
  // Deno's RSS climbs for the first few hundred thousand async round trips (V8/allocator behaviour
  // that plateaus; a pure-JS loop with the same promise pattern shows it too), so growth is measured
  // after a warm-up.
  if (seq === Math.floor(FRAMES * 0.6)) {
    gc();
    offHeapStart = offHeap();
  }
  if (seq % 100_000 === 0) samples.push(memory().rss);
}
session.close();
await reader;
await session.done;
session.dispose();
gc();
await new Promise((r) => setTimeout(r, 50));
const growthMb = (offHeap() - offHeapStart) / 1048576;
const seconds = (performance.now() - start) / 1000;
const report = {
  runtime,
  frames: FRAMES,
  received,
  seconds: Number(seconds.toFixed(1)),
  offHeapGrowthMb: Number(growthMb.toFixed(2)),
  heapTotalMb: Number((memory().heapTotal / 1048576).toFixed(1)),
  rssMb: samples.map((b) => Number((b / 1048576).toFixed(1))),
  liveHandles: liveHandles() - baseline,
};
console.log(JSON.stringify(report));
const ok = received === FRAMES && report.liveHandles === 0 && growthMb < 10;
if (!ok) {
  console.error("soak FAILED");
  exit(1);
}
