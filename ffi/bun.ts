/**
 * Bun backend: opens the library with `bun:ffi` from the shared symbol table.
 *
 * `bun:ffi` is loaded through a specifier held in a variable and `import.meta.require`, so Deno and
 * JSR never try to resolve it, and loading stays synchronous.
 *
 * @module
 */
import { RemoteMediaError } from "./errors.ts";
import type { NativeLibrary, NativeType, Pointer } from "./symbols.ts";
import { symbols as definitions } from "./symbols.ts";

/** The part of `bun:ffi` these bindings use. */
interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown>; close(): void };
  toArrayBuffer(
    pointer: number,
    byteOffset: number,
    byteLength: number,
    deallocatorContext: number,
    deallocator: number,
  ): ArrayBuffer;
  ptr(view: ArrayBufferView): number;
}

const BUN_FFI_SPECIFIER = "bun:ffi";

/** The part of Bun's Worker these bindings use. */
interface BunWorker {
  postMessage(value: unknown): void;
  onmessage: ((event: { data: number }) => void) | null;
  onerror: ((event: { message: string }) => void) | null;
  ref(): void;
  unref(): void;
  terminate(): void;
}

/**
 * The waiter worker: blocks in `rm_events_wait` off the main thread and posts each result back, so the
 * main thread is woken by an ordinary message instead of polling (Bun has no `nonblocking` FFI calls).
 * Inlined as a Blob so it needs no file, also inside a `bun build --compile` binary.
 */
const WAITER_SOURCE = `
let wait;
self.onmessage = async (event) => {
  const { path, last, timeoutMs } = event.data;
  if (!wait) {
    const { dlopen } = await import("bun:ffi");
    wait = dlopen(path, { rm_events_wait: { args: ["f64", "u32"], returns: "f64" } })
      .symbols.rm_events_wait;
  }
  self.postMessage(wait(last, timeoutMs));
};
`;

/** Bun's name for each neutral type; 64-bit results use the `_fast` variants that yield numbers. */
function bunType(type: NativeType, isResult: boolean): string {
  switch (type) {
    case "buffer":
    case "pointer":
      return "ptr";
    case "u64":
    case "usize":
      return isResult ? "u64_fast" : "u64";
    default:
      return type;
  }
}

/** Opens the native library at `path` with `bun:ffi`. */
export function openBun(path: string): NativeLibrary {
  const meta = import.meta as unknown as { require(specifier: string): unknown };
  const ffi = meta.require(BUN_FFI_SPECIFIER) as BunFfi;
  const table: Record<string, { args: string[]; returns: string }> = {};
  for (const [name, def] of Object.entries(definitions)) {
    if ("nonblocking" in def && def.nonblocking) continue; // called from the waiter worker only
    table[name] = {
      args: def.parameters.map((t) => bunType(t, false)),
      returns: bunType(def.result, true),
    };
  }
  const lib = ffi.dlopen(path, table);
  const symbols = lib.symbols;
  const release = symbols.rm_view_release_address() as number;
  const address = new Float64Array(1); // rm_view_retain writes the payload's address here
  let worker: BunWorker | undefined;
  let inFlight: Promise<number> | undefined;
  return {
    // A copy, so closeLibrary() can swap entries for throwing stubs.
    symbols: { ...symbols } as unknown as NativeLibrary["symbols"],
    waitEvents(last: number, timeoutMs: number): Promise<number> {
      if (inFlight) return inFlight;
      worker ??= new (globalThis as unknown as { Worker: new (url: string) => BunWorker }).Worker(
        URL.createObjectURL(new Blob([WAITER_SOURCE], { type: "application/javascript" })),
      );
      const w = worker;
      inFlight = new Promise<number>((resolve, reject) => {
        w.onmessage = (event) => {
          w.unref(); // an idle waiter must not keep the process alive
          inFlight = undefined;
          resolve(event.data);
        };
        w.onerror = (event) => {
          inFlight = undefined;
          reject(
            new RemoteMediaError(
              "load_failed",
              `remotemedia event waiter failed: ${event.message}`,
            ),
          );
        };
      });
      w.ref(); // a pending wait keeps the process alive, like a pending Deno op
      w.postMessage({ path, last, timeoutMs });
      return inFlight;
    },
    viewOf(handle: number, byteLength: number): ArrayBuffer | null {
      const context = symbols.rm_view_retain(handle, address) as number | null;
      if (!context) return null;
      const pointer = address[0];
      // JavaScriptCore calls rm_view_release(bytes, context) when the bytes' last owner dies.
      return ffi.toArrayBuffer(pointer, 0, byteLength, context, release);
    },
    address(pointer: Pointer | null): bigint {
      return BigInt((pointer as number | null) ?? 0);
    },
    addressOfView(view: ArrayBufferView): bigint {
      return BigInt(ffi.ptr(view));
    },
    runtime: "bun",
    path,
    close(): void {
      worker?.terminate();
      lib.close();
    },
  };
}
