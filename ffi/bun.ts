/**
 * Bun backend: opens the library with `bun:ffi` from the shared symbol table.
 *
 * `bun:ffi` is loaded through a specifier held in a variable and `import.meta.require`, so Deno and
 * JSR never try to resolve it, and loading stays synchronous.
 *
 * @module
 */
import type { NativeLibrary, NativeType, Pointer } from "./symbols.ts";
import { symbols } from "./symbols.ts";

/** The part of `bun:ffi` these bindings use. */
interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown>; close(): void };
  toArrayBuffer(pointer: number, byteOffset: number, byteLength: number): ArrayBuffer;
  ptr(view: ArrayBufferView): number;
}

const BUN_FFI_SPECIFIER = "bun:ffi";

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
  for (const [name, def] of Object.entries(symbols)) {
    table[name] = {
      args: def.parameters.map((t) => bunType(t, false)),
      returns: bunType(def.result, true),
    };
  }
  const lib = ffi.dlopen(path, table);
  return {
    symbols: lib.symbols as unknown as NativeLibrary["symbols"],
    arrayBufferAt(pointer: Pointer, byteLength: number): ArrayBuffer {
      return ffi.toArrayBuffer(pointer as number, 0, byteLength);
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
      lib.close();
    },
  };
}
