/**
 * Finds the native library and opens it with the backend of the running runtime.
 *
 * Search order: a path set with `setLibraryPath` (embedded libraries), the `REMOTEMEDIA_LIB`
 * environment variable, the package-local Cargo build (`target/release`, then `target/debug`), then a
 * prebuilt `libremotemedia-v<version>-<os>-<arch>.<ext>` in the cache directory. A file the OS cannot
 * open in place (inside a `deno compile` binary) is copied to the cache first. The ABI version is
 * checked before the library is used.
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

/** Version of these bindings; prebuilt library files carry it in their names. */
export const LIBRARY_VERSION = "0.1.0";

interface RuntimeInfo {
  runtime: "deno" | "bun";
  os: string;
  arch: string;
  env(name: string): string | undefined;
  exists(path: string): boolean;
  readFile(path: string): Uint8Array;
  writeFile(path: string, bytes: Uint8Array): void;
}

declare const Bun: unknown;

function normaliseArch(arch: string): string {
  return arch === "x64" ? "x86_64" : arch === "arm64" ? "aarch64" : arch;
}

function runtimeInfo(): RuntimeInfo {
  if (typeof Deno !== "undefined" && typeof Bun === "undefined") {
    return {
      runtime: "deno",
      os: Deno.build.os,
      arch: normaliseArch(Deno.build.arch),
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
      readFile: (path) => Deno.readFileSync(path),
      writeFile: (path, bytes) => {
        Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
        Deno.writeFileSync(path, bytes, { mode: 0o755 });
      },
    };
  }
  if (typeof Bun !== "undefined") {
    const meta = import.meta as unknown as { require(specifier: string): unknown };
    const fs = meta.require("node:fs") as {
      existsSync(path: string): boolean;
      readFileSync(path: string): Uint8Array;
      writeFileSync(path: string, bytes: Uint8Array, options: { mode: number }): void;
      mkdirSync(path: string, options: { recursive: boolean }): void;
    };
    const proc = (globalThis as unknown as {
      process: { env: Record<string, string | undefined>; platform: string; arch: string };
    }).process;
    return {
      runtime: "bun",
      os: proc.platform,
      arch: normaliseArch(proc.arch),
      env: (name) => proc.env[name],
      exists: (path) => fs.existsSync(path),
      readFile: (path) => fs.readFileSync(path),
      writeFile: (path, bytes) => {
        fs.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
        fs.writeFileSync(path, bytes, { mode: 0o755 });
      },
    };
  }
  throw new Error("remotemedia needs Deno or Bun (no supported FFI found in this runtime)");
}

/** File name of a prebuilt library in the cache: `libremotemedia-v0.1.0-linux-x86_64.so`. */
export function prebuiltFileName(os: string, arch: string, version = LIBRARY_VERSION): string {
  const name = libraryFileName(os);
  const dot = name.lastIndexOf(".");
  const platform = os === "win32" ? "windows" : os;
  return `${name.slice(0, dot)}-v${version}-${platform}-${arch}${name.slice(dot)}`;
}

/**
 * Cache directory for prebuilt libraries: `REMOTEMEDIA_CACHE`, else the OS cache directory
 * (`$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows)
 * plus `/remotemedia`. `undefined` when no home directory is known.
 */
export function cacheDirectory(
  env: (name: string) => string | undefined,
  os: string,
): string | undefined {
  const explicit = env("REMOTEMEDIA_CACHE");
  if (explicit) return explicit;
  if (os === "windows" || os === "win32") {
    const local = env("LOCALAPPDATA");
    return local ? `${local}\\remotemedia` : undefined;
  }
  const home = env("HOME");
  if (os === "darwin") return home ? `${home}/Library/Caches/remotemedia` : undefined;
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/remotemedia`;
  return home ? `${home}/.cache/remotemedia` : undefined;
}

let explicitPath: string | undefined;

/**
 * Uses the library at `path` (e.g. one embedded in a compiled binary) before any other candidate.
 * Call it before the first use of the API.
 */
export function setLibraryPath(path: string): void {
  if (loaded) throw new Error("setLibraryPath: the native library is already loaded");
  explicitPath = path;
}

/**
 * Paths tried, in order: the path given to {@link setLibraryPath}, `REMOTEMEDIA_LIB`, the package-local
 * `target/release` and `target/debug` builds, then the prebuilt file in the cache directory.
 */
export function candidatePaths(
  env: (name: string) => string | undefined,
  os: string,
  arch: string,
): string[] {
  const name = libraryFileName(os);
  const here = new URL(".", import.meta.url);
  const paths: string[] = [];
  if (explicitPath) paths.push(explicitPath);
  const fromEnv = env("REMOTEMEDIA_LIB");
  if (fromEnv) paths.push(fromEnv);
  if (here.protocol === "file:") {
    for (const profile of ["release", "debug"]) {
      paths.push(decodeURIComponent(new URL(`../target/${profile}/${name}`, here).pathname));
    }
  }
  const cache = cacheDirectory(env, os);
  if (cache) paths.push(`${cache}/${prebuiltFileName(os, arch)}`);
  return paths;
}

/** 32-bit FNV-1a, to name an extracted copy after its content. */
function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

/**
 * Where a library that cannot be opened in place (a file inside a `deno compile` binary) is copied to
 * before opening: `<cache>/extracted/<name>-<content hash><ext>`.
 */
export function extractedPath(cache: string, os: string, bytes: Uint8Array): string {
  const name = libraryFileName(os);
  const dot = name.lastIndexOf(".");
  return `${cache}/extracted/${name.slice(0, dot)}-${fnv1a(bytes)}${name.slice(dot)}`;
}

let loaded: NativeLibrary | undefined;

/**
 * Unloads the native library. Refuses while handles are alive (dispose every RuntimeData and Session
 * first): unmapping code that live objects still use would crash the process. Afterwards every call
 * through the old library throws; the next use of the API loads it again.
 */
export function closeLibrary(): void {
  const lib = loaded;
  if (!lib) return;
  const live = lib.symbols.rm_live_handles();
  if (live > 0) {
    throw new Error(
      `cannot close the remotemedia library: ${live} handle(s) are still alive (dispose them first)`,
    );
  }
  loaded = undefined;
  lib.close();
  const symbols = lib.symbols as unknown as Record<string, unknown>;
  for (const name of Object.keys(symbols)) {
    symbols[name] = () => {
      throw new Error(`the remotemedia library was closed (calling ${name})`);
    };
  }
}

function open(info: RuntimeInfo, path: string): NativeLibrary {
  const lib = info.runtime === "deno" ? openDeno(path) : openBun(path);
  const version = lib.symbols.rm_abi_version();
  if (version !== ABI_VERSION) {
    lib.close();
    throw new AbiMismatchError(
      `ABI mismatch: ${path} reports ABI version ${version}, these bindings need ${ABI_VERSION}; ` +
        "rebuild the library (`cargo build --release`) or use the bindings of the same release",
    );
  }
  return lib;
}

class AbiMismatchError extends Error {}

/** The loaded library, opened on first use. Throws an `Error` naming every path tried. */
export function nativeLibrary(): NativeLibrary {
  if (loaded) return loaded;
  const info = runtimeInfo();
  const tried: string[] = [];
  let lastError: unknown;
  for (const path of candidatePaths(info.env, info.os, info.arch)) {
    if (!info.exists(path)) {
      tried.push(`${path} (not found)`);
      continue;
    }
    try {
      loaded = open(info, path);
      return loaded;
    } catch (error) {
      if (error instanceof AbiMismatchError) throw error;
      lastError = error;
      tried.push(`${path} (${error instanceof Error ? error.message : String(error)})`);
    }
    // A file the OS cannot map (inside a `deno compile` binary): copy it out, then open the copy.
    const cache = cacheDirectory(info.env, info.os) ?? "/tmp/remotemedia";
    try {
      const bytes = info.readFile(path);
      const copy = extractedPath(cache, info.os, bytes);
      if (!info.exists(copy)) info.writeFile(copy, bytes);
      loaded = open(info, copy);
      return loaded;
    } catch (error) {
      if (error instanceof AbiMismatchError) throw error;
      tried.push(`  copied out to ${cache}/extracted (${(error as Error)?.message ?? error})`);
    }
  }
  throw new Error(
    "remotemedia: could not load the native library. Tried:\n  " + tried.join("\n  ") +
      "\nBuild it with `cargo build --release` (or `make build`) in the package directory, " +
      "set REMOTEMEDIA_LIB to the path of " + libraryFileName(info.os) +
      ", or put a prebuilt " + prebuiltFileName(info.os, info.arch) + " in the cache directory" +
      (info.runtime === "deno" ? " (Deno also needs --allow-ffi)." : "."),
    { cause: lastError },
  );
}
