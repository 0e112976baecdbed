/**
 * The native worker pool that runs threaded sessions (`execution: "threaded"`, and graphs with file
 * I/O): its size and what it is doing. One pool serves every threaded session of the process, so a
 * thousand idle sessions cost no thread at all; see the README's *Execution*.
 *
 * @module
 */
import { RM_MAX_WORKER_THREADS } from "../ffi/contract.ts";
import type { PoolStats } from "../ffi/contract.ts";
import { ArgumentError } from "./errors.ts";
import { checkHandle, checkStatus, lib } from "./native.ts";
import { jsonFromHandle } from "./schemas.ts";

/** What the worker pool is doing (see {@link workerThreads}). */
export type WorkerPoolStats = PoolStats;

/**
 * Sets how many native threads run threaded sessions, shared by every session of the process (a
 * Worker's sessions too): `0` (or nothing) for the default — the `REMOTEMEDIA_WORKER_THREADS`
 * environment variable, else one per core. Returns the size now in effect. Threads over a smaller
 * size leave after their current slice of work; more start when work comes. While sessions that do
 * file I/O (`WavReader`, `WavWriter`) run, the pool may hold up to 128 extra threads so that blocked
 * file access never holds back the other sessions.
 *
 * @example
 * ```ts
 * import { setWorkerThreads, workerThreads } from "./mod.ts";
 * setWorkerThreads(4);
 * workerThreads().size; // 4
 * ```
 */
export function setWorkerThreads(threads: number = 0): number {
  if (!Number.isInteger(threads) || threads < 0 || threads > RM_MAX_WORKER_THREADS) {
    throw new ArgumentError(
      `setWorkerThreads: expected an integer from 0 (the default) to ${RM_MAX_WORKER_THREADS}, got ${threads}`,
    );
  }
  const native = lib();
  return checkStatus(native.symbols.rm_worker_threads_set(threads), native);
}

/**
 * The worker pool now: its `size`, the `threads` alive (idle ones included; they leave after 10 s
 * without work), how many are `idle` or inside a `blocking` slice (file I/O), the sessions `queued`
 * for a thread, and the threads `started` since the library was loaded.
 */
export function workerThreads(): WorkerPoolStats {
  const native = lib();
  return jsonFromHandle<WorkerPoolStats>(
    checkHandle(native.symbols.rm_worker_threads_stats(), native),
    native,
  );
}
