/**
 * Finds the native library and opens it with the backend of the running runtime.
 *
 * Search order: a path set with `setLibraryPath` (embedded libraries), the `REMOTEMEDIA_LIB`
 * environment variable, the platform package (`@remotemedia/lib-<platform>`, found through
 * `@remotemedia/lib` by module resolution), the package-local Cargo build (`target/release`, then
 * `target/debug`), then `libremotemedia-v<version>-<os>-<arch>.<ext>` in the cache directory — which,
 * when nothing else is there, is downloaded from the release and checked against the SHA-256 pinned
 * in `prebuilt.ts` before it is opened. A file the OS cannot open in place (inside a `deno compile`
 * binary) is copied to the cache first. The ABI version is checked before the library is used.
 *
 * The platform package and the download are looked up while this module is evaluated (top-level
 * await); opening the library waits for the first use.
 *
 * @module
 */
import { openBun } from "./bun.ts";
import { openDeno } from "./deno.ts";
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
  rename(from: string, to: string): void;
  remove(path: string): void;
}

declare const Bun: unknown;

/** A glibc build of Bun reports the glibc it runs on; its musl build reports none. */
function linuxLibc(header: { glibcVersionRuntime?: string } | undefined): string {
  return header && !header.glibcVersionRuntime ? "musl" : "gnu";
}

function runtimeInfo(): RuntimeInfo {
  if (typeof Deno !== "undefined" && typeof Bun === "undefined") {
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
      rename: (from, to) => Deno.renameSync(from, to),
      remove: (path) => Deno.removeSync(path),
    };
  }
  if (typeof Bun !== "undefined") {
    const meta = import.meta as unknown as { require(specifier: string): unknown };
    const fs = meta.require("node:fs") as {
      existsSync(path: string): boolean;
      readFileSync(path: string): Uint8Array;
      writeFileSync(path: string, bytes: Uint8Array, options: { mode: number }): void;
      mkdirSync(path: string, options: { recursive: boolean }): void;
      renameSync(from: string, to: string): void;
      rmSync(path: string, options: { force: boolean }): void;
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
      rename: (from, to) => fs.renameSync(from, to),
      remove: (path) => fs.rmSync(path, { force: true }),
    };
  }
  throw new Error("remotemedia needs Deno or Bun (no supported FFI found in this runtime)");
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

/** Lowercase hex SHA-256 of `bytes`. */
async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The largest library file a download accepts (the stripped library is a few MB). */
const MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024;

/** Where {@link downloadLibrary} writes, and how. */
export interface DownloadTarget {
  /** Final path of the verified file. */
  destination: string;
  /** Writes a file (creating its directory). */
  writeFile(path: string, bytes: Uint8Array): void;
  /** Renames a file (atomically, within one directory). */
  rename(from: string, to: string): void;
}

/**
 * Downloads `url` and saves it at `target.destination` only if its SHA-256 is `expectedSha256`: the
 * bytes go to a temporary name first and are renamed once verified, so an unverified file is never
 * where the loader looks. Throws an `Error` naming the URL and what went wrong.
 */
export async function downloadLibrary(
  url: string,
  expectedSha256: string,
  target: DownloadTarget,
): Promise<void> {
  let bytes: Uint8Array;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    }
    const length = Number(response.headers.get("content-length") ?? 0);
    if (length > MAX_DOWNLOAD_BYTES) {
      await response.body?.cancel();
      throw new Error(`${length} bytes is more than a library file (${MAX_DOWNLOAD_BYTES})`);
    }
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    const cause = (error as { cause?: unknown })?.cause;
    const detail = error instanceof Error ? error.message : String(error);
    const reason = cause instanceof Error && !detail.includes(cause.message)
      ? `${detail}: ${cause.message}`
      : detail;
    throw new Error(`downloading ${url} failed: ${reason}`, { cause: error });
  }
  const actual = await sha256(bytes);
  if (actual !== expectedSha256) {
    throw new Error(
      `refused ${url}: its SHA-256 is ${actual}, the one pinned for this release is ` +
        `${expectedSha256} (${bytes.length} bytes received, nothing was saved or opened)`,
    );
  }
  const partial = `${target.destination}.partial-${crypto.randomUUID()}`;
  target.writeFile(partial, bytes);
  target.rename(partial, target.destination);
}

/** What the loader learned while this module was evaluated (before `setLibraryPath` can run). */
interface Prepared {
  info?: RuntimeInfo;
  /** Platform key, e.g. `linux-x64-gnu`. */
  key?: string;
  /** Rust target triple, e.g. `x86_64-unknown-linux-gnu`. */
  triple?: string;
  /** The platform package: its name, and the library path or why it cannot be used. */
  platformPackage?: { name: string; path?: string; error?: string };
  /** `@remotemedia/lib` could not be imported (not installed). */
  selectorError?: string;
  /** The pinned file for this platform, if the release has one. */
  pinned?: PrebuiltFile;
  /** The cache file's state when a pin exists: verified, or why it was not used. */
  cache?: { path: string; verified: boolean; problem?: string };
  /** The download, when one was tried or refused. */
  download?: { url: string; problem?: string };
  /** Anything else that failed while preparing (reported at first use). */
  error?: unknown;
}

interface Selector {
  resolveLibrary(key: string): { package: string; path?: string; error?: string } | undefined;
  packageName(key: string): string;
}

async function importSelector(): Promise<Selector> {
  // The CommonJS selector's exports arrive as named exports, or under `default`.
  const module = await import("@remotemedia/lib") as unknown as Partial<Selector> & {
    default?: Selector;
  };
  return typeof module.resolveLibrary === "function" ? module as Selector : module.default!;
}

async function prepare(): Promise<Prepared> {
  const prepared: Prepared = {};
  try {
    const info = runtimeInfo();
    prepared.info = info;
    prepared.key = platformKey(info.os, info.arch, info.libc);
    prepared.triple = targetTriple(info.os, info.arch, info.libc);
    try {
      const selector = await importSelector();
      const found = selector.resolveLibrary(prepared.key);
      if (found) prepared.platformPackage = { name: found.package, ...found };
    } catch (error) {
      prepared.selectorError = error instanceof Error ? error.message : String(error);
    }
    prepared.pinned = PREBUILT_FILES[prepared.key];
    const cacheDir = cacheDirectory(info.env, info.os);
    const cachePath = cacheDir &&
      `${cacheDir}/${prebuiltFileName(info.os, info.arch, LIBRARY_VERSION, info.libc)}`;
    // A pinned release file in the cache is opened only once its hash is checked, whatever comes first.
    if (prepared.pinned && cachePath && info.exists(cachePath)) {
      const actual = await sha256(info.readFile(cachePath));
      prepared.cache = actual === prepared.pinned.sha256 ? { path: cachePath, verified: true } : {
        path: cachePath,
        verified: false,
        problem: `SHA-256 ${actual} is not the pinned ${prepared.pinned.sha256}`,
      };
    }
    const packagePath = prepared.platformPackage?.path;
    if (packagePath && info.exists(packagePath)) return prepared;
    if (info.env("REMOTEMEDIA_LIB")) return prepared;
    if (localBuilds(info.os).some((path) => info.exists(path))) return prepared;
    // Absent or not matching its pin (another version, a damaged file): fetch the pinned file.
    if (!prepared.pinned || !cachePath || prepared.cache?.verified) return prepared;
    const base = info.env("REMOTEMEDIA_DOWNLOAD_URL") || PREBUILT_BASE_URL;
    const url = base ? `${base.replace(/\/*$/, "/")}${prepared.pinned.file}` : "";
    if (!url) {
      prepared.download = {
        url: "",
        problem: "no download URL is known (REMOTEMEDIA_DOWNLOAD_URL)",
      };
    } else if (info.env("REMOTEMEDIA_NO_DOWNLOAD")) {
      prepared.download = { url, problem: "not downloaded: REMOTEMEDIA_NO_DOWNLOAD is set" };
    } else {
      try {
        await downloadLibrary(url, prepared.pinned.sha256, {
          destination: cachePath,
          writeFile: info.writeFile,
          rename: info.rename,
        });
        prepared.download = { url };
        prepared.cache = { path: cachePath, verified: true };
      } catch (error) {
        prepared.download = {
          url,
          problem: error instanceof Error ? error.message : String(error),
        };
      }
    }
  } catch (error) {
    prepared.error = error;
  }
  return prepared;
}

const prepared: Prepared = await prepare();

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
  if (prepared.error) throw prepared.error;
  const info = prepared.info ?? runtimeInfo();
  const tried: string[] = [];
  let lastError: unknown;
  const packagePath = prepared.platformPackage?.path;
  const found = { packagePath, libc: info.libc };
  const cacheDir = cacheDirectory(info.env, info.os);
  const cachePath = cacheDir &&
    `${cacheDir}/${prebuiltFileName(info.os, info.arch, LIBRARY_VERSION, info.libc)}`;
  for (const path of candidatePaths(info.env, info.os, info.arch, found)) {
    if (path === cachePath && prepared.pinned && !prepared.cache?.verified) {
      // Pinned, but not checked at load time (absent then) or not matching: never opened.
      tried.push(`${path} (${prepared.cache?.problem ?? "not found"})`);
      continue;
    }
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
      const message = error instanceof Error ? error.message : String(error);
      tried.push(`${path} (${message})`);
      // The OS opened it but it lacks a symbol: a library of another version, not worth a copy.
      if (/symbol/i.test(message)) continue;
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
  throw new Error(notFoundMessage(info, tried), { cause: lastError });
}

/** The error of a failed search: what was tried, the platform, the package expected, the ways out. */
function notFoundMessage(info: RuntimeInfo, tried: string[]): string {
  const key = prepared.key ?? platformKey(info.os, info.arch, info.libc);
  const triple = prepared.triple ?? targetTriple(info.os, info.arch, info.libc);
  const expected = prepared.platformPackage?.name ?? `@remotemedia/lib-${key}`;
  const published = prepared.platformPackage !== undefined || prepared.selectorError !== undefined;
  const lines = ["remotemedia: could not load the native library. Tried:"];
  if (prepared.platformPackage && !prepared.platformPackage.path) {
    lines.push(`  ${expected} (not installed: ${prepared.platformPackage.error})`);
  } else if (prepared.selectorError) {
    lines.push(`  @remotemedia/lib, which picks ${expected} (${prepared.selectorError})`);
  }
  lines.push(...tried.map((line) => `  ${line}`));
  if (prepared.download) {
    const { url, problem } = prepared.download;
    lines.push(`  download${url ? ` of ${url}` : ""} (${problem ?? "verified"})`);
  }
  const file = libraryFileName(info.os);
  const build =
    `a ${file} built from source (\`cargo build --release\` in a clone of the repository)`;
  lines.push(
    published
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
