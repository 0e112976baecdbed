/** Test helpers shared by Deno and Bun runs. */
import { readdirSync } from "node:fs";
import { collectGarbage, memoryUsage, runtime as currentRuntime } from "../ffi/runtime.ts";
import type { CliIo } from "../cli/common.ts";

/** Forces a full garbage collection (Deno needs --v8-flags=--expose-gc). */
export function forceGc(): void {
  if (!collectGarbage()) throw new Error("run Deno tests with --v8-flags=--expose-gc");
}

/**
 * Runs GC and yields to the event loop until `done()` holds or `timeoutMs` passes. GC and `done()` run in
 * different tasks: a `WeakRef.deref()` in `done()` keeps its target alive until the end of the task.
 */
export async function collectUntil(done: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
  while (Date.now() < end) {
    await tick();
    forceGc();
    await tick();
    if (done()) return true;
  }
  return done();
}

/** Resident set size in bytes. */
export function rss(): number {
  return memoryUsage().rss;
}

/** Which runtime runs the tests. */
export const runtime: "deno" | "bun" = currentRuntime === "bun" ? "bun" : "deno";

/** Number of OS threads of this process (Linux: /proc/self/task), or undefined where unknown. */
export function threadCount(): number | undefined {
  try {
    return readdirSync("/proc/self/task").length;
  } catch {
    return undefined;
  }
}

/** A `CliIo` that keeps what the CLI prints: `stdout` lines and `stderr` text. */
export function captureIo(): CliIo & { stdout: string[]; stderr: string } {
  const io = {
    stdout: [] as string[],
    stderr: "",
    isTty: false,
    out(line: string): void {
      io.stdout.push(line);
    },
    err(text: string): void {
      io.stderr += text;
    },
  };
  return io;
}
