/**
 * The prebuilt library files of this release that the loader may download, each pinned to its
 * SHA-256. Written by `tools/dist.ts pin` when a release is made (the npm package gets its own copy
 * at `make dist`); empty in the repository, so a development checkout never downloads anything.
 *
 * @module
 */

/** One downloadable library file. */
export interface PrebuiltFile {
  /** File name under the base URL, e.g. `libremotemedia-v0.1.0-linux-x86_64.so`. */
  file: string;
  /** Lowercase hex SHA-256 of the file; a download that does not match is refused. */
  sha256: string;
}

/** Where the files are published (a URL ending in `/`); empty when no release URL is known. */
export const PREBUILT_BASE_URL: string = "";

/** Files by platform key (`linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`, …). */
export const PREBUILT_FILES: Readonly<Record<string, PrebuiltFile>> = {};
