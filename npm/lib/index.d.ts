/** Platform key (`process.platform-process.arch[-libc]`, e.g. `linux-x64-gnu`) → Rust target triple. */
export declare const TRIPLES: Readonly<Record<string, string>>;

/** Name of the package holding the library for a platform key: `@remotemedia/lib-<key>`. */
export declare function packageName(key: string): string;

/** What {@link resolveLibrary} found. */
export interface ResolvedLibrary {
  /** The platform package that holds (or would hold) the library. */
  package: string;
  /** Absolute path of the library file (inside a `bun build --compile` binary: an embedded path). */
  path?: string;
  /** Why the package could not be used (typically: not installed). */
  error?: string;
}

/**
 * Finds the library of the platform package for `key`; `undefined` when no package exists for
 * that platform.
 */
export declare function resolveLibrary(key: string): ResolvedLibrary | undefined;
