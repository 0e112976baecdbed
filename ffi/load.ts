/**
 * Finds the native library and opens it with the backend of the running runtime.
 *
 * Search order: the `REMOTEMEDIA_LIB` environment variable, then the package-local Cargo build
 * (`target/release`, then `target/debug`). The ABI version is checked before the library is used.
 *
 * @module
 */
import { openBun } from "./bun.ts";
import { openDeno } from "./deno.ts";
import { ABI_VERSION, type NativeLibrary } from "./symbols.ts";

/** File name of the library on this OS (`libremotemedia.so`, `libremotemedia.dylib`, `remotemedia.dll`). */
export function libraryFileName(os: string): string {
  switch (os) {
    case "darwin":
      return "libremotemedia.dylib";
    case "windows":
    case "win32":
      return "remotemedia.dll";
    default:
      return "libremotemedia.so";
  }
}

interface RuntimeInfo {
  runtime: "deno" | "bun";
  os: string;
  env(name: string): string | undefined;
  exists(path: string): boolean;
}

declare const Bun: unknown;

function runtimeInfo(): RuntimeInfo {
  if (typeof Deno !== "undefined" && typeof Bun === "undefined") {
    return {
      runtime: "deno",
      os: Deno.build.os,
      env: (name) => {
        try {
          return Deno.env.get(name);
        } catch {
          return undefined; // no --allow-env: fall through to the package-local build
        }
      },
      exists: (path) => {
        try {
          return Deno.statSync(path).isFile;
        } catch (error) {
          // Without --allow-read the file may still be there: let dlopen decide.
          return !(error instanceof Deno.errors.NotFound);
        }
      },
    };
  }
  if (typeof Bun !== "undefined") {
    const meta = import.meta as unknown as { require(specifier: string): unknown };
    const fs = meta.require("node:fs") as { existsSync(path: string): boolean };
    const proc = (globalThis as unknown as {
      process: { env: Record<string, string | undefined>; platform: string };
    }).process;
    return {
      runtime: "bun",
      os: proc.platform,
      env: (name) => proc.env[name],
      exists: (path) => fs.existsSync(path),
    };
  }
  throw new Error("remotemedia needs Deno or Bun (no supported FFI found in this runtime)");
}

/** Paths tried, in order, for the given environment value and OS. Exported for tests. */
export function candidatePaths(envPath: string | undefined, os: string): string[] {
  const name = libraryFileName(os);
  const here = new URL(".", import.meta.url);
  const paths: string[] = [];
  if (envPath) paths.push(envPath);
  if (here.protocol === "file:") {
    for (const profile of ["release", "debug"]) {
      paths.push(decodeURIComponent(new URL(`../target/${profile}/${name}`, here).pathname));
    }
  }
  return paths;
}

let loaded: NativeLibrary | undefined;

/** The loaded library, opened on first use. Throws an `Error` naming every path tried. */
export function nativeLibrary(): NativeLibrary {
  if (loaded) return loaded;
  const info = runtimeInfo();
  const envPath = info.env("REMOTEMEDIA_LIB");
  const tried: string[] = [];
  let lastError: unknown;
  for (const path of candidatePaths(envPath, info.os)) {
    if (!info.exists(path)) {
      tried.push(`${path} (not found)`);
      continue;
    }
    try {
      const lib = info.runtime === "deno" ? openDeno(path) : openBun(path);
      const version = lib.symbols.rm_abi_version();
      if (version !== ABI_VERSION) {
        lib.close();
        throw new Error(
          `ABI mismatch: ${path} reports ABI version ${version}, these bindings need ${ABI_VERSION}; ` +
            "rebuild the library (`cargo build --release`) or use the bindings of the same release",
        );
      }
      loaded = lib;
      return lib;
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("ABI mismatch")) throw error;
      tried.push(`${path} (${error instanceof Error ? error.message : String(error)})`);
      lastError = error;
    }
  }
  throw new Error(
    "remotemedia: could not load the native library. Tried:\n  " + tried.join("\n  ") +
      "\nBuild it with `cargo build --release` (or `make build`) in the package directory, " +
      "or set REMOTEMEDIA_LIB to the path of " + libraryFileName(info.os) +
      (info.runtime === "deno" ? " (Deno also needs --allow-ffi)." : "."),
    { cause: lastError },
  );
}
