/**
 * Which JavaScript runtime runs this code: the one place that asks (the loader, the CLI, tests,
 * examples and benchmarks import it), with typed accessors for what the runtimes spell differently
 * (arguments, exit, memory usage, a forced garbage collection).
 *
 * @module
 */

/** A JavaScript runtime: Bun, Deno, or another one with Node.js's `process` (Node.js itself). */
export type RuntimeName = "deno" | "bun" | "node";

/** The parts of Deno's global this module uses (typed here so Bun and Node.js type-check it too). */
interface DenoGlobal {
  args: string[];
  exit(code: number): never;
  memoryUsage(): MemoryUsage;
}

/** The parts of Bun's global this module uses. */
interface BunGlobal {
  gc(force: boolean): void;
}

/** The parts of Node.js's `process` (which Bun has, and Deno too) this module uses. */
interface NodeProcess {
  argv: string[];
  exit(code: number): never;
  memoryUsage(): MemoryUsage;
}

/** Memory of this process, in bytes. */
export interface MemoryUsage {
  /** Resident set size. */
  rss: number;
  /** Size of the JavaScript heap. */
  heapTotal: number;
}

const global = globalThis as {
  Deno?: DenoGlobal;
  Bun?: BunGlobal;
  process?: NodeProcess;
  gc?: () => void;
};

/** The runtime running this code. Bun is recognised first (it is the one that says so explicitly). */
export const runtime: RuntimeName = global.Bun !== undefined
  ? "bun"
  : global.Deno !== undefined
  ? "deno"
  : "node";

/** The command-line arguments after the script (`Deno.args`, else `process.argv.slice(2)`). */
export function args(): string[] {
  return runtime === "deno" ? global.Deno!.args : global.process!.argv.slice(2);
}

/** Ends the process with exit status `code`. */
export function exit(code: number): never {
  return runtime === "deno" ? global.Deno!.exit(code) : global.process!.exit(code);
}

/** Memory usage of this process. */
export function memoryUsage(): MemoryUsage {
  return runtime === "deno" ? global.Deno!.memoryUsage() : global.process!.memoryUsage();
}

/**
 * Runs a full garbage collection; false when this runtime does not allow it (Deno without
 * `--v8-flags=--expose-gc`, Node.js without `--expose-gc`).
 */
export function collectGarbage(): boolean {
  if (runtime === "bun") {
    global.Bun!.gc(true);
    return true;
  }
  if (!global.gc) return false;
  global.gc();
  return true;
}
