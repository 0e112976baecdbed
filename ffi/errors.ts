/**
 * The base class of every error remotemedia throws, defined beside the bindings so that the lowest layer
 * (loading the library, a closed library, a failed event waiter) throws it too. The subclasses and the
 * mapping of native error records live in `src/errors.ts`.
 *
 * @module
 */
import type { STATUS_CODES } from "./contract.ts";

/**
 * Stable error codes: the code of every native status (see the generated contract), `invalid_argument`
 * also for bad arguments caught in TypeScript, `disposed` for use after dispose, `load_failed` when the
 * native library cannot be found or loaded.
 */
export type ErrorCode =
  | "invalid_handle"
  | "wrong_type"
  | "invalid_argument"
  | "shape_mismatch"
  | "invalid_utf8"
  | "invalid_json"
  | "panic"
  | "invalid_manifest"
  | "node_failed"
  | "closed"
  | "resource_exhausted"
  | "disposed"
  | "load_failed";

// Every native status's code is an ErrorCode (a compile error when the contract gains one).
const _nativeCodes: readonly ErrorCode[] = [] as Exclude<(typeof STATUS_CODES)[number], "ok">[];

/**
 * Base class of every remotemedia error.
 *
 * @example
 * ```ts
 * import { RemoteMediaError, RuntimeData } from "../mod.ts";
 * try {
 *   RuntimeData.text("hi").asAudio();
 * } catch (e) {
 *   if (e instanceof RemoteMediaError) console.log(e.code); // "wrong_type"
 * }
 * ```
 */
export class RemoteMediaError extends Error {
  /** Machine-readable category. */
  readonly code: ErrorCode;
  /** Creates an error with a code and a message. */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RemoteMediaError";
    this.code = code;
  }
}

/**
 * A bad argument caught before any native call: a value of the wrong JavaScript type or out of range.
 * Its message names the parameter or field, what was expected and what was given.
 */
export class ArgumentError extends RemoteMediaError {
  /** Creates the error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid_argument", message, options);
    this.name = "ArgumentError";
  }
}
