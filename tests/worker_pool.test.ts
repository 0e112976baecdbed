/**
 * The native worker pool of threaded sessions: its size (setWorkerThreads, REMOTEMEDIA_WORKER_THREADS),
 * idle threaded sessions that cost no thread of their own, and outputs identical to inline runs on a
 * pool of one thread.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  ArgumentError,
  PipelineBuilder,
  RuntimeData,
  Session,
  setWorkerThreads,
  workerThreads,
} from "../mod.ts";
import { runtime } from "./helpers.ts";
import {
  localJsonOutputs,
  speechFrames,
  startServerProcess,
  vadManifest,
  WsClient,
} from "./serve_client.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);

/** What tests/idle_threaded_script.ts prints. */
interface IdleRun {
  threadsBefore: number;
  threadsIdle: number;
  threadsAfter: number;
  rssBefore: number;
  rssIdle: number;
  pool: { size: number; threads: number; queued: number };
}

/** Runs tests/idle_threaded_script.ts in a fresh process of this runtime. */
function idleSessions(count: number, env: Record<string, string> = {}): IdleRun {
  const cmd = runtime === "bun"
    ? [`${root}node_modules/.bin/bun`, "run"]
    : [`${root}node_modules/.bin/deno`, "run", "-A"];
  const r = spawnSync(cmd[0], [...cmd.slice(1), "tests/idle_threaded_script.ts", String(count)], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as IdleRun;
}

/** Threads of process `pid` named like the pool's workers (undefined without /proc). */
function workerThreadNames(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/task`)
      .filter((t) =>
        readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").startsWith("remotemedia-wor")
      )
      .length;
  } catch {
    return undefined;
  }
}

describe("worker pool", () => {
  test("1,000 idle threaded sessions add at most the pool's threads, not one each", () => {
    for (const env of [{}, { REMOTEMEDIA_WORKER_THREADS: "3" }] as Record<string, string>[]) {
      const r = idleSessions(1000, env);
      if ("REMOTEMEDIA_WORKER_THREADS" in env) assert.equal(r.pool.size, 3);
      const added = r.threadsIdle - r.threadsBefore;
      console.log(
        `1000 idle threaded sessions (pool size ${r.pool.size}): threads ${r.threadsBefore} → ` +
          `${r.threadsIdle}, RSS +${((r.rssIdle - r.rssBefore) / 1000 / 1024).toFixed(1)} KiB each`,
      );
      assert.ok(added <= r.pool.size, `${added} threads added; the pool has ${r.pool.size}`);
      assert.ok(r.pool.threads <= r.pool.size, JSON.stringify(r.pool));
    }
  });

  test("setWorkerThreads sets the size; one worker gives the same outputs as inline sessions", async () => {
    const manifest = new PipelineBuilder()
      .node("gain", "Gain", { gain: 2 })
      .node("chunk", "Chunker", { frames: 100 })
      .chain("gain", "chunk")
      .build();
    const runOne = async (execution: "inline" | "threaded", seed: number) => {
      await using session = Session.create(manifest, { execution });
      const out: number[] = [];
      const reading = (async () => {
        for await (const item of session) {
          out.push(...item.asAudio().samples);
          item.dispose();
        }
      })();
      for (let i = 0; i < 20; i++) {
        using frame = RuntimeData.audio({
          samples: new Float32Array(150).map((_, k) => ((seed + i + k) % 7) / 20),
          sampleRate: 16000,
        });
        await session.push(frame);
      }
      session.close();
      await reading;
      return out;
    };
    const previous = workerThreads().size;
    assert.equal(setWorkerThreads(1), 1);
    try {
      assert.equal(workerThreads().size, 1);
      const threaded = await Promise.all(
        Array.from({ length: 8 }, (_, i) => runOne("threaded", i)),
      );
      const inline = await Promise.all(Array.from({ length: 8 }, (_, i) => runOne("inline", i)));
      assert.deepEqual(threaded, inline);
    } finally {
      setWorkerThreads(); // the default again
    }
    assert.equal(workerThreads().size, previous);
  });

  test("remotemedia serve --threaded --workers 1: 8 concurrent sessions on one worker give the events of a local run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rm-pool-"));
    const path = join(dir, "vad.json");
    writeFileSync(path, JSON.stringify(vadManifest));
    // Every frame is sent at once (faster than real time): the input queues hold them all.
    const server = await startServerProcess(path, [
      ...["--threaded", "--workers", "1", "--max-queued-frames", "1000"],
    ]);
    try {
      const frames = await speechFrames();
      const expected = await localJsonOutputs(vadManifest, frames, 48000, 2);
      const url = `ws://127.0.0.1:${server.port}/`;
      const clients = await Promise.all(Array.from({ length: 8 }, () => WsClient.open(url)));
      for (const client of clients) {
        client.sendJson({ type: "start", sampleRate: 48000, channels: 2, format: "i16" });
        await client.waitFor((m) => m.type === "ready");
      }
      for (const bytes of frames) for (const client of clients) client.ws.send(bytes);
      for (const client of clients) client.sendJson({ type: "close" });
      for (const client of clients) {
        const end = await client.waitFor((m) => m.type === "end");
        assert.equal(end.stats.dropped, 0);
        const events = client.json.filter((m) => m.type === "output").map((m) => m.value);
        assert.deepEqual(events, expected);
      }
      // Linux: the server's native worker threads (named remotemedia-worker) are the pool's one.
      const workers = workerThreadNames(server.child.pid!);
      if (workers !== undefined) assert.ok(workers <= 1, `${workers} worker threads`);
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("sizes outside 0..1024 are refused", () => {
    for (const bad of [-1, 1.5, 1025, Number.NaN]) {
      assert.throws(() => setWorkerThreads(bad), ArgumentError);
    }
    const stats = workerThreads();
    for (const key of ["size", "threads", "idle", "blocking", "queued", "started"] as const) {
      assert.equal(typeof stats[key], "number", key);
    }
  });
});
