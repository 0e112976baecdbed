/**
 * TypeScript nodes: the `Node` interface (basic, streaming, audio-effect and multi-input patterns), the
 * registry that lets manifests name them, and `runNode` to test one without a pipeline.
 *
 * @module
 */
import { ArgumentError, RemoteMediaError } from "./errors.ts";
import type { DataType } from "./data_types.ts";
import type { AudioSpec } from "../ffi/contract.ts";
import type { AudioFormatConstraint } from "./manifest.ts";
import { RuntimeData } from "./runtime_data.ts";
import { builtinTypeNames } from "./schemas.ts";

/** What `process` / `processMulti` / `flush` may return. */
export type NodeResult =
  | RuntimeData
  | readonly RuntimeData[]
  | undefined
  | null
  | void
  | Iterable<RuntimeData>
  | AsyncIterable<RuntimeData>
  | Promise<RuntimeData | readonly RuntimeData[] | undefined | null | void>;

/**
 * A pipeline node written in TypeScript. Every method is optional except one of `process` /
 * `processMulti`; each may be sync or async.
 *
 * - basic: `process(data)` returns a `RuntimeData` (or an array, or nothing);
 * - streaming: `async *process(data)` yields many outputs per input, each delivered as soon as it is
 *   yielded (a slow downstream pauses the generator: backpressure);
 * - audio effect: read `data.asAudio().samples` (a view, no copy) and write into
 *   `RuntimeData.allocAudio(...)` (native memory, no copy on the way back);
 * - multi-input: `processMulti({ audio, video })` receives one item per named input port.
 *
 * Every call gets a {@link NodeContext}: `ctx.signal` is aborted when an `interrupt()` reaches the node
 * (barge-in) or the session is aborted — pass it to `fetch`, timers or child processes so their work
 * stops at once; after it fired, nothing the call still emits goes downstream.
 *
 * Ownership: inputs are released when the call (or generator) finishes — `clone()` one to keep it;
 * returned or yielded values are handed to the pipeline and released by it.
 *
 * @example
 * ```ts
 * import { type Node, RuntimeData } from "./mod.ts";
 * const upper: Node = {
 *   process: (data) => RuntimeData.text(data.asText().toUpperCase()),
 * };
 * ```
 */
export interface Node {
  /** Called once before the first item. */
  initialize?(ctx: NodeContext): void | Promise<void>;
  /** Processes one item. */
  process?(data: RuntimeData, ctx: NodeContext): NodeResult;
  /**
   * Processes one item per named input port (multi-input nodes). A port is absent when the join stopped
   * waiting for it (another port's queue was full, or the stream ended).
   */
  processMulti?(inputs: Record<string, RuntimeData>, ctx: NodeContext): NodeResult;
  /** End of stream: returns whatever is still buffered. */
  flush?(ctx: NodeContext): NodeResult;
  /** Interruption (barge-in): drop buffered state. */
  reset?(): void;
  /** Called exactly once at the end (normal end, error or abort). */
  cleanup?(): void | Promise<void>;
}

/** What each call of a TypeScript node gets besides its input. */
export interface NodeContext {
  /** The node's id in the manifest. */
  readonly nodeId: string;
  /**
   * Aborted when an `interrupt()` reaches this node (its reason is an `AbortError` saying so) or when
   * the session is aborted (the session's reason). Each call gets the signal current when it started.
   */
  readonly signal: AbortSignal;
}

/** An input port of a TypeScript node type. */
export interface PortSpec {
  /** Port name used in connections. */
  name: string;
  /** Data types it accepts (default: all). */
  accepts?: DataType[];
}

/** How a TypeScript node type plugs into manifests. */
export interface NodeTypeOptions {
  /** Input ports (default: one port `in`); several ports make a multi-input node. */
  inputs?: (string | PortSpec)[];
  /** Data types the single `in` port accepts (default: all). */
  accepts?: DataType[];
  /** Data types the node emits (default: all); used to check connections. */
  outputs?: DataType[];
  /**
   * The audio formats its inputs accept (e.g. `{ sampleRate: 16000, channels: 1 }` for a speech
   * recogniser). Validation checks what reaches it; with negotiation on, converters are inserted.
   */
  inputFormat?: AudioFormatConstraint;
  /** The format of the audio it emits, when it is fixed (e.g. a TTS at 24 kHz mono); unknown otherwise. */
  outputFormat?: AudioSpec;
}

/** Builds a node instance from its manifest params. */
export type NodeFactory<P extends Record<string, unknown> = Record<string, unknown>> = (
  params: P,
  context: { id: string },
) => Node;

/** Options of a builder instance node (`PipelineBuilder.node(id, instance, options)`). */
export interface InstanceOptions extends NodeTypeOptions {
  /**
   * The type name errors, stats and the manifest show for this node (default: the instance's class
   * name, or `Node` for a plain object).
   */
  name?: string;
  /** Skip (and count) items that make the node fail instead of failing the session. */
  skipErrors?: boolean;
}

/**
 * The name of a registered TypeScript node type, as {@link registerNode} returns it. At run time it is
 * the plain string; its type carries the params, so that `PipelineBuilder.node(id, type, params)`
 * checks them and refuses names that are neither built-in nor registered.
 */
export type RegisteredNodeType<P extends Record<string, unknown> = Record<string, unknown>> =
  & string
  & { readonly __params: P };

/** A registered node type. @internal */
export interface Registered {
  /** Makes the node for one manifest node. */
  factory: NodeFactory;
  /** Its ports and types. */
  options: NodeTypeOptions;
}

/** A builder instance: the node, the type name its manifest node shows, and its ports. @internal */
export interface LocalNode {
  /** The `type` of its manifest node. */
  type: string;
  /** The instance. */
  node: Node;
  /** Its ports and types. */
  options: NodeTypeOptions;
}

/**
 * The builder's instances by node id: they belong to one manifest rather than to the global registry,
 * and live as long as the manifest that holds them. @internal
 */
export type LocalTypes = ReadonlyMap<string, LocalNode>;

const registry = new Map<string, Registered>();
/** Identifier-like: what type names may look like. */
const TYPE_NAME = /^[A-Za-z_][\w.:-]*$/;

/** The host-type declaration sent to the native validator. @internal */
export interface HostTypeDecl {
  type: string;
  inputs: { name: string; accepts?: DataType[] }[];
  outputs?: DataType[];
  joinsInputs: boolean;
  inputFormat?: AudioFormatConstraint;
  outputFormat?: AudioSpec;
}

/**
 * Registers a TypeScript node type so manifests can use it by name.
 *
 * @example
 * ```ts
 * import { registerNode, RuntimeData } from "./mod.ts";
 * registerNode("Shout", (params) => ({
 *   process: (d) => RuntimeData.text(d.asText().toUpperCase() + String(params.suffix ?? "!")),
 * }), { accepts: ["text"], outputs: ["text"] });
 * ```
 */
export function registerNode<P extends Record<string, unknown> = Record<string, unknown>>(
  type: string,
  factory: NodeFactory<P>,
  options?: NodeTypeOptions,
): RegisteredNodeType<P> {
  if (typeof type !== "string" || !TYPE_NAME.test(type)) {
    throw new ArgumentError(
      `node type name must be an identifier-like string, got ${String(type)}`,
    );
  }
  if (typeof factory !== "function") {
    throw new ArgumentError(`registerNode("${type}"): factory must be a function`);
  }
  if (builtinTypeNames().has(type)) {
    throw new ArgumentError(`registerNode: "${type}" is a built-in node type; choose another name`);
  }
  registry.set(type, { factory: factory as NodeFactory, options: options ?? {} });
  return type as RegisteredNodeType<P>;
}

/** Removes a registered TypeScript node type. */
export function unregisterNode(type: string): boolean {
  return registry.delete(type);
}

/** True when `type` is a registered TypeScript node type. */
export function isRegisteredNode(type: string): boolean {
  return registry.has(type);
}

/** A manifest node's id and type, as far as they are known. @internal */
export interface NodeRef {
  id?: unknown;
  type?: unknown;
}

/** The builder instance of manifest node `spec`, if it is one. */
function localNode(spec: NodeRef, local?: LocalTypes): LocalNode | undefined {
  const found = typeof spec.id === "string" ? local?.get(spec.id) : undefined;
  return found !== undefined && found.type === spec.type ? found : undefined;
}

/** True when manifest node `spec` is a TypeScript node: a builder instance or a registered type. @internal */
export function isHostNode(spec: NodeRef, local?: LocalTypes): boolean {
  return localNode(spec, local) !== undefined ||
    (typeof spec.type === "string" && registry.has(spec.type));
}

/**
 * Adds one instance to `local` (the builder's own nodes) for node `id` and returns the type name its
 * manifest node shows: `options.name`, else the instance's class name, else `Node` — suffixed with
 * `#<id>` when that name is a built-in or registered type, or another instance of this builder with
 * other ports uses it (the native validator knows one declaration per type name). The instance goes
 * with the manifest, not into the global registry. @internal
 */
export function registerInstance(
  node: Node,
  options: InstanceOptions,
  local: Map<string, LocalNode>,
  id: string,
): string {
  checkNode(node, "node instance");
  if (
    options.name !== undefined &&
    (typeof options.name !== "string" || !TYPE_NAME.test(options.name))
  ) {
    throw new ArgumentError(
      `node "${id}": name must be an identifier-like string, got ${String(options.name)}`,
    );
  }
  const className = (node as { constructor?: { name?: unknown } }).constructor?.name;
  const base = options.name ??
    (typeof className === "string" && TYPE_NAME.test(className) && className !== "Object"
      ? className
      : "Node");
  const { name: _, skipErrors: __, ...typeOptions } = options;
  const decl = JSON.stringify(declaration(base, typeOptions));
  const clash = builtinTypeNames().has(base) || registry.has(base) ||
    [...local.values()].some((other) =>
      other.type === base && JSON.stringify(declaration(base, other.options)) !== decl
    );
  const type = clash ? `${base}#${id}` : base;
  local.set(id, { type, node, options: typeOptions });
  return type;
}

function checkNode(node: unknown, what: string): asserts node is Node {
  if (node === null || typeof node !== "object") {
    throw new ArgumentError(
      `${what} must be an object with process() or processMulti(), got ${node}`,
    );
  }
  const n = node as Node;
  if (typeof n.process !== "function" && typeof n.processMulti !== "function") {
    throw new ArgumentError(`${what} has neither process() nor processMulti()`);
  }
}

function ports(options: NodeTypeOptions): { name: string; accepts?: DataType[] }[] {
  if (!options.inputs || options.inputs.length === 0) {
    return [{ name: "in", ...(options.accepts ? { accepts: options.accepts } : {}) }];
  }
  return options.inputs.map((p) => typeof p === "string" ? { name: p } : p);
}

function declaration(type: string, options: NodeTypeOptions): HostTypeDecl {
  const inputs = ports(options);
  const decl: HostTypeDecl = { type, inputs, joinsInputs: inputs.length > 1 };
  if (options.outputs) decl.outputs = options.outputs;
  if (options.inputFormat) decl.inputFormat = options.inputFormat;
  if (options.outputFormat) decl.outputFormat = options.outputFormat;
  return decl;
}

/**
 * Declarations of the TypeScript node types manifest nodes `specs` use (builder instances and
 * registered types), one per type name. @internal
 */
export function hostTypes(specs: Iterable<NodeRef>, local?: LocalTypes): HostTypeDecl[] {
  const out = new Map<string, HostTypeDecl>();
  for (const spec of specs) {
    if (typeof spec.type !== "string") continue;
    const options = localNode(spec, local)?.options ?? registry.get(spec.type)?.options;
    if (!options) continue;
    const decl = declaration(spec.type, options);
    const seen = out.get(spec.type);
    if (seen && JSON.stringify(seen) !== JSON.stringify(decl)) {
      throw new RemoteMediaError(
        "invalid_manifest",
        `node type "${spec.type}" is declared twice with different ports or outputs (a builder ` +
          `instance and a registered type?); name the instance otherwise ({ name: "…" })`,
      );
    }
    out.set(spec.type, decl);
  }
  return [...out.values()];
}

/** The TypeScript node of manifest node `id` (a builder instance, or made by its registered type). @internal */
export function instantiate(
  type: string,
  id: string,
  params: Record<string, unknown>,
  local?: LocalTypes,
): { node: Node; ports: string[] } {
  const instance = localNode({ id, type }, local);
  if (instance) return { node: instance.node, ports: ports(instance.options).map((p) => p.name) };
  const reg = registry.get(type);
  if (!reg) throw new RemoteMediaError("invalid_manifest", `no TypeScript node type "${type}"`);
  const node = reg.factory(params, { id });
  checkNode(node, `the factory of node type "${type}" (node "${id}")`);
  return { node, ports: ports(reg.options).map((p) => p.name) };
}

function isIterable(value: unknown): value is Iterable<RuntimeData> | AsyncIterable<RuntimeData> {
  return value !== null && typeof value === "object" &&
    (Symbol.asyncIterator in value || Symbol.iterator in value) && !(value instanceof RuntimeData);
}

/** What `value` is, for error messages: `null`, its class name, or its `typeof`. @internal */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}

/**
 * Feeds what a node call returned to `emit`, one item at a time, in order. Stops (closing a generator so
 * its `finally` runs) when `emit` returns false.
 * @internal
 */
export async function drainResult(
  result: NodeResult,
  emit: (data: RuntimeData) => Promise<boolean> | boolean,
  signal?: AbortSignal,
): Promise<void> {
  let value: unknown = result;
  if (value instanceof Promise) value = await value;
  if (value === undefined || value === null) return;
  if (value instanceof RuntimeData) {
    if (signal?.aborted) value.dispose(); // interrupted meanwhile: nothing more goes downstream
    else await emit(value);
    return;
  }
  if (Array.isArray(value) || isIterable(value)) {
    for await (const item of value as AsyncIterable<unknown>) {
      if (!(item instanceof RuntimeData)) {
        throw new RemoteMediaError(
          "wrong_type",
          `a node yielded ${
            describe(item)
          }; nodes must yield RuntimeData (e.g. RuntimeData.text(...))`,
        );
      }
      if (signal?.aborted) {
        item.dispose(); // interrupted: nothing more goes downstream, and the generator is closed
        return;
      }
      if (!(await emit(item))) return; // leaving the loop calls the generator's return()
    }
    return;
  }
  throw new RemoteMediaError(
    "wrong_type",
    `a node returned ${
      describe(value)
    }; expected RuntimeData, an array or an iterable of RuntimeData, or nothing`,
  );
}

/**
 * Runs a node on its own, without a pipeline: `initialize`, `process` for each input (in order),
 * `flush`, `cleanup`; returns every output: a node tested on its own, without a pipeline.
 *
 * @example
 * ```ts
 * import { runNode, RuntimeData } from "./mod.ts";
 * const outputs = await runNode(
 *   { process: (d) => RuntimeData.text(d.asText().toUpperCase()) },
 *   [RuntimeData.text("hi")],
 * );
 * outputs[0].asText(); // "HI"
 * ```
 */
export async function runNode(
  node: Node,
  inputs:
    | Iterable<RuntimeData | Record<string, RuntimeData>>
    | AsyncIterable<
      RuntimeData | Record<string, RuntimeData>
    >,
): Promise<RuntimeData[]> {
  checkNode(node, "runNode: node");
  const ctx: NodeContext = { nodeId: "runNode", signal: new AbortController().signal };
  const outputs: RuntimeData[] = [];
  const collect = (d: RuntimeData) => {
    outputs.push(d);
    return true;
  };
  await node.initialize?.(ctx);
  try {
    for await (const input of inputs) {
      if (input instanceof RuntimeData) {
        if (!node.process) throw new ArgumentError("runNode: this node only has processMulti()");
        await drainResult(node.process(input, ctx), collect);
      } else {
        if (!node.processMulti) throw new ArgumentError("runNode: this node has no processMulti()");
        await drainResult(node.processMulti(input, ctx), collect);
      }
    }
    if (node.flush) await drainResult(node.flush(ctx), collect);
  } finally {
    await node.cleanup?.();
  }
  return outputs;
}
