/**
 * The node-type schemas the native library declares, read once per loaded library and shared by
 * `nodeTypes()`, manifest checks (which types are heavy) and the TypeScript-node registry (which names
 * are built in); and `jsonFromHandle`, which reads the JSON values the library returns.
 *
 * @module
 */
import type { AudioSpec } from "../ffi/contract.ts";
import type { NativeLibrary } from "../ffi/symbols.ts";
import type { SampleFormat } from "./data_types.ts";
import { checkHandle, lib } from "./native.ts";
import { RuntimeData } from "./runtime_data.ts";

/** A parameter in a node schema. */
export interface ParamSchema {
  /** camelCase name. */
  name: string;
  /** `number`, `integer`, `boolean`, `string`, `enum`, `stringList` or `numberList`. */
  type: string;
  /** Bounds for numbers and integers. */
  min?: number;
  /** Bounds for numbers and integers. */
  max?: number;
  /** Allowed values of an enum. */
  values?: string[];
  /** Default value; `null` means required. */
  default: unknown;
  /** What it does. */
  description: string;
}

/** What a node type declares. */
export interface NodeTypeSchema {
  /** Name used as `type` in manifests. */
  type: string;
  /** One-line description. */
  description: string;
  /** Parameters. */
  params: ParamSchema[];
  /** Input ports and the data types they accept. */
  inputs: { name: string; accepts: string[] }[];
  /** Data types the node may emit. */
  outputs: string[];
  /** True for multi-input nodes that take one item from every port at once. */
  joinsInputs: boolean;
  /** True for nodes with blocking I/O (files): sessions containing one run on the worker pool. */
  heavy: boolean;
  /** Kinds of the events the node reports to `Session.events()` (e.g. `speech_start`). */
  events: string[];
  /**
   * The audio its inputs accept (format negotiation checks every connection against it): lists of
   * allowed `sampleRates`, `channels` and `sampleFormats` (absent: any); `sameLayout` for a node that
   * takes one stream (every input at the same rate and channel count: a mixer, a resampler, a file
   * writer) and `sameFormat` when the sample format must match too (nodes that append samples).
   */
  audioIn: {
    sampleRates?: number[];
    channels?: number[];
    sampleFormats?: SampleFormat[];
    sameLayout?: boolean;
    sameFormat?: boolean;
  };
  /**
   * The format of the audio it emits: `"none"`, `"same"` as its input, `"derived"` from its params
   * (converters, a file reader), or a fixed format.
   */
  audioOut: "none" | "same" | "derived" | AudioSpec;
}

/**
 * The JSON value of the RuntimeData `handle` the library returned (a JSON item); the handle is
 * released. @internal
 */
export function jsonFromHandle<T>(handle: number, native: NativeLibrary): T {
  using data = RuntimeData.fromHandle(handle, native);
  return data.asJson<T>();
}

/** What is read once per loaded library (a library loaded again after `closeLibrary()` is read anew). */
interface Schemas {
  /** Every native node type, in the library's order. */
  readonly all: readonly NodeTypeSchema[];
  /** Names of the native node types. */
  readonly names: ReadonlySet<string>;
  /** Names of the heavy ones (blocking I/O). */
  readonly heavy: ReadonlySet<string>;
}

const cache = new WeakMap<NativeLibrary, Schemas>();

function schemas(native: NativeLibrary): Schemas {
  let found = cache.get(native);
  if (!found) {
    const all = jsonFromHandle<NodeTypeSchema[]>(
      checkHandle(native.symbols.rm_node_types(), native),
      native,
    );
    found = {
      all,
      names: new Set(all.map((t) => t.type)),
      heavy: new Set(all.filter((t) => t.heavy).map((t) => t.type)),
    };
    cache.set(native, found);
  }
  return found;
}

/** The native node types' schemas (shared: callers must not change them). @internal */
export function nativeSchemas(native: NativeLibrary = lib()): readonly NodeTypeSchema[] {
  return schemas(native).all;
}

/** Names of the native (built-in) node types. @internal */
export function builtinTypeNames(native: NativeLibrary = lib()): ReadonlySet<string> {
  return schemas(native).names;
}

/** Names of the native node types doing blocking work (files). @internal */
export function heavyTypeNames(native: NativeLibrary = lib()): ReadonlySet<string> {
  return schemas(native).heavy;
}
