// Run in a fresh process by tests/worker_pool.test.ts and bench/suite.ts (row 8.idleThreaded): creates
// N idle threaded sessions (ChannelMix → Resample → Vad, never fed) and prints, as one JSON line, the
// process's OS threads (/proc/self/task) and RSS before, while they exist and after disposing them,
// with the worker pool's stats.
import process from "node:process";
import { PipelineBuilder, RuntimeData, Session, workerThreads } from "../mod.ts";
import { rss, threadCount } from "./helpers.ts";

const count = Number(process.argv[2] ?? 1000);
const manifest = new PipelineBuilder()
  .node("mono", "ChannelMix", { mode: "mono" })
  .node("res", "Resample", { targetRate: 16000 })
  .node("vad", "Vad")
  .chain("mono", "res", "vad")
  .build();
const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

// Warm up: the library, its event waiter and one session's worth of lazily made state.
{
  await using warm = Session.create(manifest, { execution: "threaded" });
  using frame = RuntimeData.audio({ samples: new Float32Array(960), sampleRate: 48000 });
  await warm.push(frame);
}
await settle();
const threadsBefore = threadCount();
const rssBefore = rss();
const sessions = Array.from(
  { length: count },
  () => Session.create(manifest, { execution: "threaded" }),
);
await settle();
const threadsIdle = threadCount();
const rssIdle = rss();
const pool = workerThreads();
for (const s of sessions) s.dispose();
await settle();
console.log(JSON.stringify({
  count,
  threadsBefore,
  threadsIdle,
  threadsAfter: threadCount(),
  rssBefore,
  rssIdle,
  rssAfter: rss(),
  pool,
}));
