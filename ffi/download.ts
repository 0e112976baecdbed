/**
 * Getting the library file when no local copy exists: the release download (run on a worker while the
 * loading thread waits, so loading stays synchronous) checked against the pinned SHA-256 before it is
 * saved, and the content-named copy of a library that cannot be opened in place.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { RemoteMediaError } from "./errors.ts";
import { libraryFileName } from "./platform.ts";

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
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The largest library file a download accepts (the stripped library is a few MB). */
const MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024;

/** How long a download may take before it is given up. */
const DOWNLOAD_TIMEOUT_MS = 60_000;

/**
 * The download runs on a worker while the loading thread waits (`Atomics.wait`), so that loading stays
 * synchronous and needs no top-level await (which would hold back every importer, and messages posted to
 * a Worker that imports this module would be lost meanwhile). The worker only fetches: the bytes come
 * back through a growable SharedArrayBuffer and are checked here before anything is written.
 */
const DOWNLOAD_WORKER = `
self.onmessage = async (event) => {
  const { url, control, data, message, timeoutMs, maxBytes } = event.data;
  const state = new Int32Array(control);
  let outcome = 1;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(("HTTP " + response.status + " " + response.statusText).trim());
    }
    const length = Number(response.headers.get("content-length") ?? 0);
    if (length > maxBytes) throw new Error(length + " bytes is more than a library file");
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length > maxBytes) throw new Error(bytes.length + " bytes is more than a library file");
    data.grow(bytes.length);
    new Uint8Array(data).set(bytes);
  } catch (error) {
    outcome = 2;
    const cause = error && error.cause instanceof Error ? error.cause.message : "";
    const text = String(error && error.message || error);
    const reason = cause && !text.includes(cause) ? text + ": " + cause : text;
    const encoded = new TextEncoder().encode(reason).subarray(0, message.byteLength - 4);
    new Uint8Array(message, 4).set(encoded);
    Atomics.store(new Int32Array(message), 0, encoded.length);
  }
  Atomics.store(state, 0, outcome);
  Atomics.notify(state, 0);
};
`;

/**
 * Downloads `url` and saves it at `destination` only if its SHA-256 is `expectedSha256`: the bytes are
 * checked in memory, written under a temporary name and renamed, so an unverified file is never where the
 * loader looks. Synchronous (a worker fetches). Throws an `Error` naming the URL and what went wrong.
 */
export function downloadLibrarySync(
  url: string,
  expectedSha256: string,
  destination: string,
): void {
  const control = new SharedArrayBuffer(4);
  const message = new SharedArrayBuffer(4096);
  const data = new SharedArrayBuffer(0, { maxByteLength: MAX_DOWNLOAD_BYTES });
  const source = URL.createObjectURL(new Blob([DOWNLOAD_WORKER], { type: "text/javascript" }));
  const worker = new Worker(source, { type: "module" });
  try {
    worker.postMessage({
      url,
      control,
      data,
      message,
      timeoutMs: DOWNLOAD_TIMEOUT_MS,
      maxBytes: MAX_DOWNLOAD_BYTES,
    });
    const state = new Int32Array(control);
    const waited = Atomics.wait(state, 0, 0, DOWNLOAD_TIMEOUT_MS + 15_000);
    if (waited === "timed-out" && Atomics.load(state, 0) === 0) {
      throw new RemoteMediaError(
        "load_failed",
        `downloading ${url} failed: no answer in ${DOWNLOAD_TIMEOUT_MS / 1000} s`,
      );
    }
    if (Atomics.load(state, 0) === 2) {
      const length = new Int32Array(message)[0];
      const reason = new TextDecoder().decode(new Uint8Array(message, 4, length).slice());
      throw new RemoteMediaError("load_failed", `downloading ${url} failed: ${reason}`);
    }
  } finally {
    worker.terminate();
    URL.revokeObjectURL(source);
  }
  const bytes = new Uint8Array(data).slice();
  const actual = sha256(bytes);
  if (actual !== expectedSha256) {
    throw new RemoteMediaError(
      "load_failed",
      `refused ${url}: its SHA-256 is ${actual}, the one pinned for this release is ` +
        `${expectedSha256} (${bytes.length} bytes received, nothing was saved or opened)`,
    );
  }
  const partial = `${destination}.partial-${crypto.randomUUID()}`;
  const dir = destination.slice(
    0,
    Math.max(destination.lastIndexOf("/"), destination.lastIndexOf("\\")),
  );
  mkdirSync(dir, { recursive: true });
  writeFileSync(partial, bytes, { mode: 0o755 });
  renameSync(partial, destination);
}
