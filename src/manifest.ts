/**
 * Manifests: their types, `PipelineBuilder` (a manifest in code, with its TypeScript node instances
 * attached), `nodeTypes()`, `validateManifest()`, and the helpers that read a manifest for a session
 * (its text, its parsed nodes, its instances, whether it has a heavy node).
 *
 * @module
 */
import { ArgumentError } from "./errors.ts";
import { checkHandle, encoder, lib } from "./native.ts";
import type { AudioSpec, Insertion, ManifestCheck, NodeFormat } from "../ffi/contract.ts";
export type { AudioSpec, Insertion, NodeFormat } from "../ffi/contract.ts";
import type { SampleFormat } from "./data_types.ts";
import {
  type HostTypeDecl,
  hostTypes,
  type InstanceOptions,
  isHostNode,
  type LocalNode,
  type LocalTypes,
  type Node,
  type RegisteredNodeType,
  registerInstance,
} from "./node.ts";
import type { BuiltinNodeType, NodeParams } from "./node_types.ts";
import { heavyTypeNames, jsonFromHandle, nativeSchemas, type NodeTypeSchema } from "./schemas.ts";

/** One node of a manifest. */
export interface NodeSpec {
  /** Unique id (letters, digits, `_ - . :`); errors and outputs name it. */
  id: string;
  /** A registered node type (see {@link nodeTypes}). */
  type: string;
  /** Parameters, checked against the type's schema. */
  params?: Record<string, unknown>;
  /** When true, an item that makes this node fail is skipped (and counted) instead of failing the session. */
  skipErrors?: boolean;
  /**
   * The audio this node must receive, narrowing what its type accepts (e.g. `{ sampleRate: 16000 }`
   * for a node that expects 16 kHz). Checked by format negotiation (see {@link Manifest.negotiate}).
   */
  inputFormat?: AudioFormatConstraint;
}

/**
 * Audio formats an input accepts: each field a value or a list of allowed values; a field left out
 * allows any.
 */
export interface AudioFormatConstraint {
  /** Allowed sample rates in Hz. */
  sampleRate?: number | number[];
  /** Allowed channel counts. */
  channels?: number | number[];
  /** Allowed sample formats. */
  sampleFormat?: SampleFormat | SampleFormat[];
}

/** A directed edge between two nodes. */
export interface Connection {
  /** Source node id. */
  from: string;
  /** Target node id. */
  to: string;
  /** Target input port (required when the target has several). */
  port?: string;
  /** What happens when the edge's queue is full: wait (default, no loss) or drop the oldest item. */
  policy?: "block" | "dropOldest";
  /** Queue bound in items (default 16). */
  capacity?: number;
}

/** A pipeline graph. Nodes without incoming connections receive the session input; nodes without
 * outgoing connections produce the session output. */
export interface Manifest {
  /** Manifest format version: 1. */
  version: 1;
  /** Optional name. */
  name?: string;
  /** Optional description. */
  description?: string;
  /**
   * Format negotiation: when true, a node that does not accept the audio format it would get (its
   * type's formats, see `nodeTypes()`, and its `inputFormat`) gets `ChannelMix` / `Resample` /
   * `AudioFormat` converters in front of it; when false (the default for our manifests; translated
   * RemoteMedia SDK manifests default to true), every such mismatch is a validation issue naming the
   * connection and both formats. The format starts from the session's `audioInput` and from sources
   * (a `WavReader`'s file). See {@link checkManifest}.
   */
  negotiate?: boolean;
  /** The nodes. */
  nodes: NodeSpec[];
  /** The edges. */
  connections?: Connection[];
}

/** One validation problem: where and what. */
export interface ManifestIssue {
  /** Path in the manifest, e.g. `nodes[1] "res".params.targetRate`. */
  path: string;
  /** What was wrong, with expected vs got. */
  message: string;
}

/**
 * Every registered node type with its params and ports.
 *
 * @example
 * ```ts
 * import { nodeTypes } from "./mod.ts";
 * console.log(nodeTypes().map((t) => t.type)); // ["PassThrough", "Gain", …]
 * ```
 */
export function nodeTypes(): NodeTypeSchema[] {
  return structuredClone(nativeSchemas()) as NodeTypeSchema[];
}

/** The manifest as text (an object is serialised as JSON; text is passed as it is). @internal */
export function manifestText(manifest: Manifest | string): string {
  if (typeof manifest === "string") return manifest;
  if (manifest === null || typeof manifest !== "object") {
    throw new ArgumentError(
      `manifest must be an object or JSON/YAML text, got ${typeof manifest}`,
    );
  }
  return JSON.stringify(manifest);
}

/**
 * The manifest in our form: an object as it is; text (JSON or YAML, ours or a RemoteMedia SDK v1
 * manifest) read by the native library, the one parser every runtime shares (`undefined` when it does
 * not parse: validation then reports why, with the line). @internal
 */
export function parsedManifest(manifest: Manifest | string): Partial<Manifest> | undefined {
  if (typeof manifest !== "string") return manifest;
  try {
    return convertManifest(manifest);
  } catch {
    return undefined; // the native validation reports the parse error with line and column
  }
}

/**
 * Reads manifest text — JSON or YAML, ours or a RemoteMedia SDK `version: "v1"` manifest (translated:
 * `metadata`, `node_type`/`nodeType`, snake_case params, the SDK's node types such as `SileroVADNode`)
 * — and returns it in our form, without validating it (see {@link validateManifest}, which reports
 * issues against the text itself, with line numbers for YAML).
 *
 * @throws {ManifestError} when the text is not JSON or YAML (the issue gives the line).
 * @throws {ArgumentError} when `text` is not a string.
 * @example
 * ```ts
 * const manifest = convertManifest("version: v1\nnodes:\n  - id: p\n    node_type: PassThrough\n");
 * manifest.nodes[0].type; // "PassThrough"
 * ```
 */
export function convertManifest(text: string): Manifest {
  if (typeof text !== "string") {
    throw new ArgumentError(`convertManifest expects text, got ${typeof text}`);
  }
  const native = lib();
  const bytes = encoder.encode(text);
  return jsonFromHandle<Manifest>(
    checkHandle(native.symbols.rm_manifest_convert(bytes, bytes.length), native),
    native,
  );
}

/** The node specs of an already parsed manifest (none when it did not parse). @internal */
export function manifestNodes(parsed: Partial<Manifest> | undefined): NodeSpec[] {
  const nodes = parsed?.nodes;
  return Array.isArray(nodes)
    ? nodes.filter((n): n is NodeSpec => n !== null && typeof n === "object")
    : [];
}

/** Where a builder's manifest keeps its TypeScript node instances (not serialised, not enumerable). */
const INSTANCES = Symbol("remotemedia.instances");

/** The node instances a builder attached to `manifest`, if any. @internal */
export function localTypes(manifest: Manifest | string): LocalTypes | undefined {
  return typeof manifest === "object" && manifest !== null
    ? (manifest as { [INSTANCES]?: LocalTypes })[INSTANCES]
    : undefined;
}

/** Attaches node instances to a manifest object. @internal */
export function attachInstances(manifest: Manifest, instances: LocalTypes | undefined): Manifest {
  if (instances && instances.size > 0) {
    Object.defineProperty(manifest, INSTANCES, { value: instances, enumerable: false });
  }
  return manifest;
}

/** The TypeScript node types a manifest uses, as the native validator expects them. */
function hostTypesOf(manifest: Manifest | string): HostTypeDecl[] | undefined {
  const local = localTypes(manifest);
  const used = manifestNodes(parsedManifest(manifest)).filter((spec) => isHostNode(spec, local));
  return used.length === 0 ? undefined : hostTypes(used, local);
}

/** Format negotiation options, for sessions and for {@link checkManifest}. */
export interface FormatOptions {
  /**
   * The format of the audio that will be pushed (`{ sampleRate?, channels?, sampleFormat? }`; a field
   * left out is unknown until audio arrives).
   */
  audioInput?: AudioSpec;
  /** Insert converters where needed; overrides the manifest's `negotiate`. */
  negotiate?: boolean;
}

/** The native options JSON of {@link FormatOptions} (checked: a wrong value names its field). @internal */
export function formatOptions(options: FormatOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (options.negotiate !== undefined) {
    if (typeof options.negotiate !== "boolean") {
      throw new ArgumentError(`negotiate must be a boolean, got ${typeof options.negotiate}`);
    }
    out.negotiate = options.negotiate;
  }
  if (options.audioInput !== undefined) out.audioInput = options.audioInput; // checked natively
  return out;
}

/**
 * A manifest checked as a session would run it: every issue (`valid` when there is none), the
 * converters format negotiation inserted (each with the node it feeds, the formats before and after,
 * and why), and the audio format each node receives and emits as far as it is known.
 */
export interface ManifestReport {
  /** True when there is no issue: a session can be created from it. */
  valid: boolean;
  /** Every problem, with its path (empty when valid). */
  issues: ManifestIssue[];
  /** The converters negotiation inserted, in graph order. */
  inserted: Insertion[];
  /** The audio format each node of the manifest receives and emits, in graph order. */
  formats: NodeFormat[];
}

/**
 * Validates a manifest as {@link Session.create} would with these options — structure, params, types
 * on every connection, and audio formats (format negotiation) — and says what negotiation inserted.
 *
 * @throws {ArgumentError} when an option is wrong (the message names it).
 * @example
 * ```ts
 * import { checkManifest } from "./mod.ts";
 * const report = checkManifest(
 *   { version: 1, negotiate: true, nodes: [{ id: "vad", type: "Vad" }] },
 *   { audioInput: { sampleRate: 48000, channels: 2 } },
 * );
 * report.inserted.map((c) => c.id); // ["vad:mono"]: a ChannelMix to mono before the Vad
 * ```
 */
export function checkManifest(
  manifest: Manifest | string,
  options?: FormatOptions | null,
): ManifestReport {
  options ??= {};
  const native = lib();
  const bytes = encoder.encode(manifestText(manifest));
  const nativeOptions = formatOptions(options);
  const types = hostTypesOf(manifest);
  if (types) nativeOptions.nodeTypes = types;
  const optionBytes = encoder.encode(JSON.stringify(nativeOptions));
  const check = jsonFromHandle<ManifestCheck>(
    checkHandle(
      native.symbols.rm_manifest_check(bytes, bytes.length, optionBytes, optionBytes.length),
      native,
    ),
    native,
  );
  return { valid: check.issues.length === 0, ...check };
}

/**
 * Every problem of a manifest (an empty array when it is valid). Text may be JSON or YAML, ours or a
 * RemoteMedia SDK v1 manifest; issues name the user's own keys, with ` (line N)` for YAML. With
 * `options`, audio formats are checked from that input (see {@link checkManifest}, which also says
 * which converters negotiation inserts).
 */
export function validateManifest(
  manifest: Manifest | string,
  options?: FormatOptions,
): ManifestIssue[] {
  return checkManifest(manifest, options).issues;
}

/**
 * The params (and options) a built-in node type takes in {@link PipelineBuilder.node}: optional when
 * every param has a default, required when one has none.
 */
export type BuiltinNodeArgs<T extends BuiltinNodeType> = [
  // the names of the params without a default
  {
    [K in keyof NodeParams[T]]-?: Record<never, never> extends Pick<NodeParams[T], K> ? never : K;
  }[keyof NodeParams[T]],
] extends [never] ? [params?: NodeParams[T], options?: NodeOptions]
  : [params: NodeParams[T], options?: NodeOptions];

/** Options of a manifest node in {@link PipelineBuilder.node} (its `skipErrors` and `inputFormat`). */
export interface NodeOptions {
  /** Skip (and count) items that make the node fail instead of failing the session. */
  skipErrors?: boolean;
  /** The audio this node must receive (see {@link NodeSpec.inputFormat}). */
  inputFormat?: AudioFormatConstraint;
}

/**
 * Builds a manifest in code; `build()` returns the same JSON a file would hold.
 *
 * @example
 * ```ts
 * import { PipelineBuilder } from "./mod.ts";
 * const manifest = new PipelineBuilder()
 *   .node("mono", "ChannelMix", { mode: "mono" })
 *   .node("resample", "Resample", { targetRate: 16000 })
 *   .node("vad", "Vad")
 *   .chain("mono", "resample", "vad")
 *   .build();
 * ```
 */
export class PipelineBuilder {
  #nodes: NodeSpec[] = [];
  #connections: Connection[] = [];
  #instances = new Map<string, LocalNode>();
  #name?: string;
  #negotiate?: boolean;

  /** Names the pipeline. */
  name(name: string): this {
    this.#name = name;
    return this;
  }

  /**
   * Adds a TypeScript node instance (see {@link Node}). Errors and stats name it by its id and by
   * `options.name`, else its class name (`Node` for a plain object).
   */
  node(id: string, instance: Node, options?: InstanceOptions): this;
  /**
   * Adds a built-in node: its params are checked against the type's schema, and required ones must be
   * given (`node("r", "Resample", { targetRate: 16000 })`); an unknown type name does not compile.
   */
  node<T extends BuiltinNodeType>(id: string, type: T, ...rest: BuiltinNodeArgs<T>): this;
  /**
   * Adds a node of a type registered with `registerNode`, by the name it returned (its params are
   * typed by the factory's params). A name known only at run time can be cast:
   * `name as RegisteredNodeType`.
   */
  node<P extends Record<string, unknown>>(
    id: string,
    type: RegisteredNodeType<P>,
    params?: P,
    options?: NodeOptions,
  ): this;
  node(
    id: string,
    typeOrInstance: string | Node,
    paramsOrOptions?: Record<string, unknown> | InstanceOptions,
    options: NodeOptions = {},
  ): this {
    if (typeof typeOrInstance !== "string") {
      const opts = (paramsOrOptions ?? {}) as InstanceOptions;
      const spec: NodeSpec = {
        id,
        type: registerInstance(typeOrInstance, opts, this.#instances, id),
      };
      if (opts.skipErrors) spec.skipErrors = true;
      this.#nodes.push(spec);
      return this;
    }
    const spec: NodeSpec = { id, type: typeOrInstance };
    if (paramsOrOptions !== undefined) spec.params = paramsOrOptions as Record<string, unknown>;
    if (options.skipErrors) spec.skipErrors = true;
    if (options.inputFormat) spec.inputFormat = options.inputFormat;
    this.#nodes.push(spec);
    return this;
  }

  /**
   * Format negotiation for this pipeline (`negotiate: true` in the manifest): converters are inserted
   * where a node cannot take the audio it would get (see {@link checkManifest}).
   */
  negotiate(on = true): this {
    this.#negotiate = on;
    return this;
  }

  /** Connects `from` to `to` (optionally a named port, a policy and a capacity). */
  connect(from: string, to: string, options?: Omit<Connection, "from" | "to">): this {
    this.#connections.push({ from, to, ...options });
    return this;
  }

  /** Connects the given nodes one after another. */
  chain(...ids: string[]): this {
    for (let i = 1; i < ids.length; i++) this.connect(ids[i - 1], ids[i]);
    return this;
  }

  /** The manifest. */
  build(): Manifest {
    const manifest: Manifest = {
      version: 1,
      nodes: structuredClone(this.#nodes),
      connections: structuredClone(this.#connections),
    };
    if (this.#name !== undefined) manifest.name = this.#name;
    if (this.#negotiate !== undefined) manifest.negotiate = this.#negotiate;
    // Instances belong to the manifest (not to a global registry): they go when it goes.
    return attachInstances(manifest, new Map(this.#instances));
  }
}

/** True when the manifest has a node doing blocking work (files): such sessions run threaded. @internal */
export function hasHeavyNode(parsed: Partial<Manifest> | undefined): boolean {
  const nodes = manifestNodes(parsed);
  if (nodes.length === 0) return false;
  const heavy = heavyTypeNames();
  return nodes.some((n) => typeof n.type === "string" && heavy.has(n.type));
}
