/**
 * Error classes. Every error thrown by remotemedia is a {@link RemoteMediaError} with a stable `code`.
 *
 * @module
 */

/** Stable error codes; native status codes map onto the first ones. */
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
  | "native";

/**
 * Base class of every remotemedia error.
 *
 * @example
 * ```ts
 * import { RemoteMediaError, RuntimeData } from "./mod.ts";
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

/** A value of another data type than the operation needs; names both. */
export class DataTypeError extends RemoteMediaError {
  /** The type the operation needed. */
  readonly expected: string;
  /** The type it got. */
  readonly actual: string;
  /** Creates the error for `expected` vs `actual`. */
  constructor(expected: string, actual: string, context?: string) {
    super(
      "wrong_type",
      `${context ? context + ": " : ""}expected ${expected} data, got ${actual}`,
    );
    this.name = "DataTypeError";
    this.expected = expected;
    this.actual = actual;
  }
}

/** Sizes that do not fit together: channels vs sample count, tensor shape vs data, frame size vs bytes. */
export class ShapeError extends RemoteMediaError {
  /** Creates the error. */
  constructor(message: string) {
    super("shape_mismatch", message);
    this.name = "ShapeError";
  }
}

/** An object was used after `dispose()` / `close()`. */
export class DisposedError extends RemoteMediaError {
  /** Creates the error for the named object. */
  constructor(what: string) {
    super("disposed", `${what} was already disposed; it cannot be used any more`);
    this.name = "DisposedError";
  }
}

const STATUS_CODES: readonly ErrorCode[] = [
  "native", // 0 would be success
  "invalid_handle",
  "wrong_type",
  "invalid_argument",
  "shape_mismatch",
  "invalid_utf8",
  "invalid_json",
  "panic",
  "invalid_manifest",
  "node_failed",
  "closed",
  "resource_exhausted",
];

/** Maps a native status code and message to the matching error class. @internal */
export function errorFromStatus(status: number, message: string): RemoteMediaError {
  const code = STATUS_CODES[status] ?? "native";
  if (code === "shape_mismatch") return new ShapeError(message);
  if (code === "wrong_type") {
    const match = /expected (\w+), got (\w+)/.exec(message);
    if (match) return new DataTypeError(match[1], match[2]);
  }
  return new RemoteMediaError(code, message);
}

/** One problem found in a manifest (path and message). */
export interface Issue {
  /** Where, e.g. `nodes[1] "res".params.targetRate`. */
  path: string;
  /** What was wrong. */
  message: string;
}

/** A manifest failed validation; `issues` lists every problem, each with its path. */
export class ManifestError extends RemoteMediaError {
  /** Every problem found. */
  readonly issues: Issue[];
  /** Creates the error from the issues. */
  constructor(issues: Issue[], cause?: unknown) {
    super(
      "invalid_manifest",
      `invalid manifest:\n${
        issues.map((i) => `  - ${i.path ? i.path + ": " : ""}${i.message}`).join("\n")
      }`,
      { cause },
    );
    this.name = "ManifestError";
    this.issues = issues;
  }
}

/** A node failed; the session ended. Carries the node's id and type. */
export class PipelineError extends RemoteMediaError {
  /** Id of the node that failed. */
  readonly nodeId: string;
  /** Type of the node that failed. */
  readonly nodeType: string;
  /** Creates the error; `cause` is the original error (for TypeScript nodes). */
  constructor(nodeId: string, nodeType: string, message: string, options?: { cause?: unknown }) {
    super("node_failed", `node "${nodeId}" (${nodeType}) failed: ${message}`, options);
    this.name = "PipelineError";
    this.nodeId = nodeId;
    this.nodeType = nodeType;
  }
}
