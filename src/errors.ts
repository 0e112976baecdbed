/**
 * Error classes. Every error thrown by remotemedia is a {@link RemoteMediaError} with a stable `code`.
 * Native errors arrive as data (`ErrorRecord` of the generated contract: code, message, node id and
 * type, manifest issues, expected vs actual) and map onto these classes without parsing messages.
 *
 * @module
 */
import type { ErrorRecord } from "../ffi/contract.ts";
import { ArgumentError, type ErrorCode, RemoteMediaError } from "../ffi/errors.ts";

export { ArgumentError, type ErrorCode, RemoteMediaError };

/** A value of another data type than the operation needs; names both. */
export class DataTypeError extends RemoteMediaError {
  /** The type the operation needed. */
  readonly expected: string;
  /** The type it got. */
  readonly actual: string;
  /** Creates the error for `expected` vs `actual` (`message` replaces the default one). */
  constructor(expected: string, actual: string, context?: string, message?: string) {
    super(
      "wrong_type",
      message ?? `${context ? context + ": " : ""}expected ${expected} data, got ${actual}`,
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

/**
 * Maps the record of a native error to the matching error class (no message parsing: the record carries
 * the node, the issues and expected vs actual). @internal
 */
export function errorFromRecord(record: ErrorRecord): RemoteMediaError {
  const { message } = record;
  switch (record.code) {
    case "invalid_argument":
      return new ArgumentError(message);
    case "shape_mismatch":
      return new ShapeError(message);
    case "wrong_type":
      if (record.expected !== undefined && record.actual !== undefined) {
        return new DataTypeError(record.expected, record.actual, undefined, message);
      }
      break;
    case "invalid_manifest":
      return new ManifestError(record.issues ?? [{ path: "", message }]);
    case "node_failed":
      if (record.nodeId !== undefined && record.nodeType !== undefined) {
        return new PipelineError(record.nodeId, record.nodeType, record.reason ?? message);
      }
      break;
    case "ok": // the library reported failure without recording an error: a bug, still reported
      return new RemoteMediaError("panic", message || "the native call failed without an error");
  }
  return new RemoteMediaError(record.code, message);
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
  /** Creates the error from the issues (`cause`: an underlying error, e.g. of a parser). */
  constructor(issues: Issue[], cause?: unknown) {
    super(
      "invalid_manifest",
      `invalid manifest:\n${
        issues.map((i) => `  - ${i.path ? i.path + ": " : ""}${i.message}`).join("\n")
      }`,
      cause === undefined ? undefined : { cause },
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
