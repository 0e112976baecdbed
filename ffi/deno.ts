/**
 * Deno backend: opens the library with `Deno.dlopen` from the shared symbol table.
 *
 * @module
 */
import type { NativeLibrary, Pointer, Symbols } from "./symbols.ts";
import { symbols } from "./symbols.ts";

/** Opens the native library at `path` with `Deno.dlopen` (needs `--allow-ffi`). */
export function openDeno(path: string): NativeLibrary {
  // The table's vocabulary is Deno's own, so it is passed through unchanged.
  const lib = Deno.dlopen(path, symbols as unknown as Deno.ForeignLibraryInterface);
  const raw = lib.symbols as Record<string, (...args: unknown[]) => unknown>;
  const wrapped: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(symbols)) {
    const fn = raw[name];
    // Deno returns 64-bit integers as bigint only beyond 2^53; handles and sizes never are, but a
    // bigint result is normalised rather than trusted.
    wrapped[name] = def.result === "u64" || def.result === "usize"
      ? (...args: unknown[]) => {
        const value = fn(...args) as number | bigint;
        return typeof value === "bigint" ? Number(value) : value;
      }
      : fn;
  }
  return {
    symbols: wrapped as unknown as NativeLibrary["symbols"],
    arrayBufferAt(pointer: Pointer, byteLength: number): ArrayBuffer {
      return Deno.UnsafePointerView.getArrayBuffer(
        pointer as Deno.PointerObject,
        byteLength,
      );
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

/** Type-level check that the table stays acceptable to Deno. */
export type DenoSymbols = Symbols;
