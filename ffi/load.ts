/**
 * Finds the native library and opens it with the backend of the running runtime.
 *
 * Search order: a path set with `setLibraryPath` (embedded libraries), the `REMOTEMEDIA_LIB`
 * environment variable, the platform package (`@remotemedia/lib-<platform>`, found through
 * `@remotemedia/lib` by module resolution), the package-local Cargo build (`target/release`, then
 * `target/debug`), then `libremotemedia-v<version>-<os>-<arch>.<ext>` in the cache directory — which,
 * when nothing else is there, is downloaded from the release and checked against the SHA-256 pinned
 * in `prebuilt.ts` before it is saved, and again before it is opened. A file the OS cannot open in
 * place (inside a `deno compile` binary) is copied to the cache first. The ABI version is checked
 * before the library is used. All of it happens synchronously at the first use of the API.
 *
 * @module
 */
import { RemoteMediaError } from "./errors.ts";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { openBun } from "./bun.ts";
import { openDeno } from "./deno.ts";
import { downloadLibrarySync, extractedPath, sha256 } from "./download.ts";
import {
  cacheDirectory,
  LIBRARY_VERSION,
  libraryFileName,
  normaliseArch,
  platformKey,
  prebuiltFileName,
  targetTriple,
} from "./platform.ts";
import { PREBUILT_BASE_URL, PREBUILT_FILES, type PrebuiltFile } from "./prebuilt.ts";
import { runtime } from "./runtime.ts";
import { ABI_VERSION, type NativeLibrary } from "./symbols.ts";

export {
  cacheDirectory,
  LIBRARY_VERSION,
  libraryFileName,
  platformKey,
  prebuiltFileName,
  targetTriple,
} from "./platform.ts";

interface RuntimeInfo {
  runtime: "deno" | "bun";
  os: string;
  arch: string;
  /** C library on Linux (`gnu` or `musl`), else `undefined`. */
  libc: string | undefined;
  env(name: string): string | undefined;
  exists(path: string): boolean;
  readFile(path: string): Uint8Array;
  writeFile(path: string, bytes: Uint8Array): void;
}

/** A glibc build of Bun reports the glibc it runs on; its musl build reports none. */
function linuxLibc(header: { glibcVersionRuntime?: string } | undefined): string {
  return header && !header.glibcVersionRuntime ? "musl" : "gnu";
}

function runtimeInfo(): RuntimeInfo {
  if (runtime === "deno") {
    return {
      runtime: "deno",
      os: Deno.build.os,
      arch: normaliseArch(Deno.build.arch),
      // The C library this Deno binary was built for is the one it runs on.
      libc: Deno.build.os === "linux" ? (Deno.build.env ?? "gnu") : undefined,
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
  if (runtime === "bun") {
    const meta = import.meta as unknown as { require(specifier: string): unknown };
    const fs = meta.require("node:fs") as {
      existsSync(path: string): boolean;
      readFileSync(path: string): Uint8Array;
      writeFileSync(path: string, bytes: Uint8Array, options: { mode: number }): void;
      mkdirSync(path: string, options: { recursive: boolean }): void;
    };
    const proc = (globalThis as unknown as {
      process: {
        env: Record<string, string | undefined>;
        platform: string;
        arch: string;
        report?: { getReport(): { header?: { glibcVersionRuntime?: string } } };
      };
    }).process;
    return {
      runtime: "bun",
      os: proc.platform,
      arch: normaliseArch(proc.arch),
      libc: proc.platform === "linux" ? linuxLibc(proc.report?.getReport().header) : undefined,
      env: (name) => proc.env[name],
      exists: (path) => fs.existsSync(path),
      readFile: (path) => fs.readFileSync(path),
      writeFile: (path, bytes) => {
        fs.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
        fs.writeFileSync(path, bytes, { mode: 0o755 });
      },
    };
  }
  throw new RemoteMediaError(
    "load_failed",
    "remotemedia needs Deno or Bun (no supported FFI found in this runtime)",
  );
}

let explicitPath: string | undefined;

/**
 * Uses the library at `path` (e.g. one embedded in a compiled binary) before any other candidate.
 * Call it before the first use of the API.
 */
export function setLibraryPath(path: string): void {
  if (loaded) {
    throw new RemoteMediaError(
      "load_failed",
      "setLibraryPath: the native library is already loaded",
    );
  }
  explicitPath = path;
}

/** The package-local Cargo builds (`target/release`, `target/debug`); none outside a checkout. */
function localBuilds(os: string): string[] {
  const here = new URL(".", import.meta.url);
  if (here.protocol !== "file:") return [];
  return ["release", "debug"].map((profile) =>
    decodeURIComponent(new URL(`../target/${profile}/${libraryFileName(os)}`, here).pathname)
  );
}

/**
 * Paths tried, in order: the path given to {@link setLibraryPath}, `REMOTEMEDIA_LIB`, the platform
 * package's library (`found.packagePath`, when installed), the package-local `target/release` and
 * `target/debug` builds, then the prebuilt file in the cache directory.
 */
export function candidatePaths(
  env: (name: string) => string | undefined,
  os: string,
  arch: string,
  found: { packagePath?: string; libc?: string } = {},
): string[] {
  const paths: string[] = [];
  if (explicitPath) paths.push(explicitPath);
  const fromEnv = env("REMOTEMEDIA_LIB");
  if (fromEnv) paths.push(fromEnv);
  if (found.packagePath) paths.push(found.packagePath);
  paths.push(...localBuilds(os));
  const cache = cacheDirectory(env, os);
  if (cache) paths.push(`${cache}/${prebuiltFileName(os, arch, LIBRARY_VERSION, found.libc)}`);
  return paths;
}

/** The platform package for this machine, as `@remotemedia/lib` reports it. */
interface PlatformPackage {
  /** Platform key, e.g. `linux-x64-gnu`. */
  key: string;
  /** Rust target triple, e.g. `x86_64-unknown-linux-gnu`. */
  triple: string;
  /** The package expected for this platform (undefined: none is published for it). */
  name?: string;
  /** Path of its library, when it is installed. */
  path?: string;
  /** Why it cannot be used (not installed), or why `@remotemedia/lib` could not be loaded. */
  error?: string;
  /** `@remotemedia/lib` itself is missing. */
  noSelector?: boolean;
}

interface Selector {
  resolveLibrary(key: string): { package: string; path?: string; error?: string } | undefined;
}

/** Bun's `require` in ES modules (undefined in Deno). */
declare const require: ((id: string) => unknown) | undefined;

// Never called: a literal `import()` puts @remotemedia/lib in Deno's module graph, so installing the JSR
// package (`deno add`, `deno install`) fetches it and the platform package that fits, before any run.
void (() => import("@remotemedia/lib"));

/** Loads `@remotemedia/lib` (CommonJS) synchronously. */
function loadSelector(info: RuntimeInfo): Selector {
  if (info.runtime === "bun") {
    // A literal require: `bun build --compile` bundles @remotemedia/lib and, through its literal
    // requires, embeds the installed platform package's library.
    return require!("@remotemedia/lib") as Selector;
  }
  // Deno: resolve it synchronously (node resolution inside an npm package, the import map in a
  // checkout; `deno publish` rewrites this literal to the npm: specifier for JSR), then load it with
  // Node's require, relative to itself.
  let url: string | undefined;
  try {
    url = import.meta.resolve("@remotemedia/lib");
  } catch {
    url = undefined;
  }
  if (url?.startsWith("file:")) return createRequire(url)(fileURLToPath(url)) as Selector;
  throw new Error("Cannot find module '@remotemedia/lib'");
}

function findPlatformPackage(info: RuntimeInfo): PlatformPackage {
  const key = platformKey(info.os, info.arch, info.libc);
  const triple = targetTriple(info.os, info.arch, info.libc);
  let selector: Selector;
  try {
    selector = loadSelector(info);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      key,
      triple,
      name: `@remotemedia/lib-${key}`,
      error: message.split("\n")[0],
      noSelector: true,
    };
  }
  const found = selector.resolveLibrary(key);
  return found ? { key, triple, name: found.package, path: found.path, error: found.error } : {
    key,
    triple,
  };
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
    throw new RemoteMediaError(
      "closed",
      `cannot close the remotemedia library: ${live} handle(s) are still alive (dispose them first)`,
    );
  }
  loaded = undefined;
  lib.close();
  const symbols = lib.symbols as unknown as Record<string, unknown>;
  for (const name of Object.keys(symbols)) {
    symbols[name] = () => {
      throw new RemoteMediaError("closed", `the remotemedia library was closed (calling ${name})`);
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
  const platform = findPlatformPackage(info);
  const tried: string[] = [];
  let lastError: unknown;
  const pinned: PrebuiltFile | undefined = PREBUILT_FILES[platform.key];
  const cacheDir = cacheDirectory(info.env, info.os);
  const cachePath = cacheDir &&
    `${cacheDir}/${prebuiltFileName(info.os, info.arch, LIBRARY_VERSION, info.libc)}`;
  const found = { packagePath: platform.path, libc: info.libc };
  for (const path of candidatePaths(info.env, info.os, info.arch, found)) {
    if (!info.exists(path)) {
      tried.push(`${path} (not found)`);
      continue;
    }
    if (path === cachePath && pinned) {
      // A release file in the cache is opened only if it is the one pinned (else it is downloaded anew).
      const actual = sha256(info.readFile(path));
      if (actual !== pinned.sha256) {
        tried.push(`${path} (SHA-256 ${actual} is not the pinned ${pinned.sha256})`);
        continue;
      }
    }
    try {
      loaded = open(info, path);
      return loaded;
    } catch (error) {
      if (error instanceof AbiMismatchError) throw error;
      lastError = error;
      const message = error instanceof Error ? error.message : String(error);
      tried.push(`${path} (${message})`);
      // The OS opened it but it lacks a symbol: a library of another version, not worth a copy.
      if (/symbol/i.test(message)) continue;
    }
    // A file the OS cannot map (inside a `deno compile` binary): copy it out, then open the copy.
    const cache = cacheDir ?? "/tmp/remotemedia";
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
  // Nothing usable on disk: the release's file for this platform, if this release pins one.
  if (pinned && cachePath) {
    const base = info.env("REMOTEMEDIA_DOWNLOAD_URL") || PREBUILT_BASE_URL;
    const url = base ? `${base.replace(/\/*$/, "/")}${pinned.file}` : "";
    if (!url) {
      tried.push("download (no URL is known: set REMOTEMEDIA_DOWNLOAD_URL)");
    } else if (info.env("REMOTEMEDIA_NO_DOWNLOAD")) {
      tried.push(`download of ${url} (not tried: REMOTEMEDIA_NO_DOWNLOAD is set)`);
    } else {
      try {
        downloadLibrarySync(url, pinned.sha256, cachePath);
        loaded = open(info, cachePath);
        return loaded;
      } catch (error) {
        if (error instanceof AbiMismatchError) throw error;
        lastError = error;
        tried.push(`download of ${url} (${error instanceof Error ? error.message : error})`);
      }
    }
  }
  throw new RemoteMediaError("load_failed", notFoundMessage(info, platform, tried), {
    cause: lastError,
  });
}

/** The error of a failed search: what was tried, the platform, the package expected, the ways out. */
function notFoundMessage(info: RuntimeInfo, platform: PlatformPackage, tried: string[]): string {
  const { key, triple } = platform;
  const expected = platform.name ?? `@remotemedia/lib-${key}`;
  const lines = ["remotemedia: could not load the native library. Tried:"];
  if (platform.noSelector) {
    lines.push(`  @remotemedia/lib, which picks ${expected} (not installed: ${platform.error})`);
  } else if (platform.name && !platform.path) {
    lines.push(`  ${expected} (not installed: ${platform.error})`);
  }
  lines.push(...tried.map((line) => `  ${line}`));
  const file = libraryFileName(info.os);
  const build =
    `a ${file} built from source (\`cargo build --release\` in a clone of the repository)`;
  lines.push(
    platform.name
      ? `This machine is ${key} (${triple}): its library comes in the package ${expected}. ` +
        `Either install it (\`bun add ${expected}@${LIBRARY_VERSION}\` or ` +
        `\`npm install ${expected}@${LIBRARY_VERSION}\`; it is an optional dependency, so do not ` +
        `omit those: no --omit=optional / --no-optional), or set REMOTEMEDIA_LIB to the path of ${build}.`
      : `This machine is ${key} (${triple}): no package ${expected} is published for it. ` +
        `Set REMOTEMEDIA_LIB to the path of ${build}.`,
  );
  if (info.runtime === "deno") {
    lines.push("Deno also needs --allow-ffi (and --allow-read --allow-env).");
  }
  return lines.join("\n");
}
