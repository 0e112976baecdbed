/**
 * Deno backend: opens the library with `Deno.dlopen` from the shared symbol table.
 *
 * @module
 */
import { RemoteMediaError } from "./errors.ts";
import type { NativeLibrary, Pointer } from "./symbols.ts";
import process from "node:process";
import { symbols } from "./symbols.ts";

/** Opens the native library at `path` with `Deno.dlopen` (needs `--allow-ffi`). */
export function openDeno(path: string): NativeLibrary {
  // The table's vocabulary is Deno's own, so it is passed through unchanged.
  const lib = Deno.dlopen(path, symbols satisfies Deno.ForeignLibraryInterface);
  const raw = lib.symbols as Record<string, (...args: unknown[]) => unknown>;
  const wrapped: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(symbols)) {
    if ("nonblocking" in def && def.nonblocking) continue; // reached through waitEvents
    const fn = raw[name];
    // Deno returns 64-bit integer results as bigint; handles and sizes stay below 2^53, so they
    // become plain numbers here and the rest of the code sees one type in both runtimes.
    wrapped[name] = def.result === "u64" || def.result === "usize"
      ? toNumberResult(fn, def.parameters.length)
      : fn;
  }
  const waitSymbol = raw.rm_events_wait as (last: number, timeoutMs: number) => Promise<number>;
  let inFlight: Promise<number> | undefined;
  let view: ((handle: number) => ArrayBuffer | undefined) | undefined;
  return {
    symbols: wrapped as unknown as NativeLibrary["symbols"], // a plain object: closeLibrary() swaps entries
    waitEvents(last: number, timeoutMs: number): Promise<number> {
      // A `nonblocking` symbol runs on Deno's blocking pool; one wait serves every caller.
      inFlight ??= waitSymbol(last, timeoutMs).finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
    viewOf(handle: number, _byteLength: number): ArrayBuffer | null {
      // `getArrayBuffer` has no deleter, so a moved view would outlive the memory; the library's own
      // Node-API function makes an external ArrayBuffer whose finalizer releases its reference.
      view ??= openViews(path);
      return view(handle) ?? null;
    },
    address(pointer: Pointer | null): bigint {
      return BigInt(Deno.UnsafePointer.value(pointer as Deno.PointerValue));
    },
    addressOfView(view: ArrayBufferView): bigint {
      return BigInt(
        Deno.UnsafePointer.value(Deno.UnsafePointer.of(view as Uint8Array<ArrayBuffer>)),
      );
    },
    runtime: "deno",
    path,
    close(): void {
      lib.close();
    },
  };
}

/**
 * Loads the library a second time as a Node-API module (`process.dlopen`; the OS maps it once) for its
 * `view(handle)` function: see rust/src/abi/view.rs.
 */
function openViews(path: string): (handle: number) => ArrayBuffer | undefined {
  const module = { exports: {} as { view?: (handle: number) => ArrayBuffer | undefined } };
  (process as unknown as { dlopen(module: unknown, path: string): void }).dlopen(module, path);
  const view = module.exports.view;
  if (typeof view !== "function") {
    throw new RemoteMediaError(
      "load_failed",
      `${path}: the Node-API view function is missing (this runtime has no Node-API?)`,
    );
  }
  return view;
}

/** Wraps a function returning `bigint` so it returns a number (specialised by arity: no spread). */
function toNumberResult(
  fn: (...args: unknown[]) => unknown,
  arity: number,
): (...args: unknown[]) => number {
  switch (arity) {
    case 0:
      return () => Number(fn());
    case 1:
      return (a) => Number(fn(a));
    case 2:
      return (a, b) => Number(fn(a, b));
    default:
      return (...args) => Number(fn(...args));
  }
}
