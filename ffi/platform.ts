/**
 * Names that depend on the platform: the library's file name, the platform key of the npm packages,
 * the Rust target triple, the prebuilt file's name and the cache directory. No side effects, so the
 * release tooling (`tools/dist.ts`) shares them with the loader.
 *
 * @module
 */

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

/** Rust's spelling of an architecture (`x86_64`, `aarch64`) from Node's or Deno's. */
export function normaliseArch(arch: string): string {
  return arch === "x64" ? "x86_64" : arch === "arm64" ? "aarch64" : arch;
}

/**
 * The platform key of the npm packages (`process.platform-process.arch[-abi]`):
 * `linux-x64-gnu`, `linux-arm64-gnu`, `darwin-arm64`, `win32-x64-msvc`, … Accepts Deno's and
 * Node's spellings of the OS and architecture.
 */
export function platformKey(os: string, arch: string, libc?: string): string {
  const platform = os === "windows" ? "win32" : os;
  const cpu = arch === "x86_64" ? "x64" : arch === "aarch64" ? "arm64" : arch;
  if (platform === "linux") return `linux-${cpu}-${libc ?? "gnu"}`;
  if (platform === "win32") return `win32-${cpu}-msvc`;
  return `${platform}-${cpu}`;
}

/** The Rust target triple for an OS and architecture (Deno's or Node's spelling). */
export function targetTriple(os: string, arch: string, libc?: string): string {
  const cpu = normaliseArch(arch);
  switch (os) {
    case "linux":
      return `${cpu}-unknown-linux-${libc ?? "gnu"}`;
    case "darwin":
      return `${cpu}-apple-darwin`;
    case "windows":
    case "win32":
      return `${cpu}-pc-windows-msvc`;
    default:
      return `${cpu}-unknown-${os}`;
  }
}

/**
 * File name of a prebuilt library (a release file, and its name in the cache):
 * `libremotemedia-v0.1.0-linux-x86_64.so`; a musl build ends in `-musl.so`.
 */
export function prebuiltFileName(
  os: string,
  arch: string,
  version: string = LIBRARY_VERSION,
  libc?: string,
): string {
  const name = libraryFileName(os);
  const dot = name.lastIndexOf(".");
  const platform = os === "win32" ? "windows" : os;
  const abi = libc === "musl" ? "-musl" : "";
  return `${name.slice(0, dot)}-v${version}-${platform}-${normaliseArch(arch)}${abi}${
    name.slice(dot)
  }`;
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
