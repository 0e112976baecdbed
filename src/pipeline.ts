/**
 * Pipelines: build a manifest (JSON or the builder), validate it, and run it once (`run`) or as a
 * streaming session (`push`, `for await`, `close`, `abort`).
 *
 * @module
 */
import { POLL_INFO_LEN } from "../ffi/symbols.ts";
import type { NativeLibrary } from "../ffi/symbols.ts";
import { DisposedError, ManifestError, PipelineError, RemoteMediaError } from "./errors.ts";
import { checkHandle, encoder, lastError, lib } from "./native.ts";
import {
  drainResult,
  hostTypes,
  type InstanceOptions,
  instantiate,
  isHostNode,
  type LocalNode,
  type LocalTypes,
  type Node,
  type NodeContext,
  type NodeResult,
  type RegisteredNodeType,
  registerInstance,
} from "./node.ts";
import type { BuiltinNodeType, NodeParams } from "./node_types.ts";
import { type DataType, RuntimeData } from "./runtime_data.ts";

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
  /** True for nodes with blocking I/O (files): sessions containing one run on a worker thread. */
  heavy: boolean;
}

/** An entry node of a session: where pushed items go (see {@link Session.entries}). */
export interface SessionEntry {
  /** Node id (the `to` of `push(data, { to })`). */
  readonly id: string;
  /** Node type. */
  readonly type: string;
  /** Data types its input accepts: a push without `to` goes to every entry accepting the item's type. */
  readonly accepts: readonly DataType[];
}

/** Per-node counters of a session. */
export interface NodeMetrics {
  /** Node id. */
  id: string;
  /** Node type. */
  type: string;
  /** Items received. */
  itemsIn: number;
  /** Items emitted. */
  itemsOut: number;
  /** Time spent in the node. */
  totalMs: number;
  /** Longest single call. */
  maxMs: number;
  /** Items skipped after errors (`skipErrors`). */
  errors: number;
  /** Items waiting in the node's input queues. */
  queueDepth: number;
  /** Items dropped on the node's `dropOldest` input edges. */
  dropped: number;
}

/** Per-node statistics (see {@link Session.stats}). */
export interface NodeStats extends NodeMetrics {
  /** Median duration of the node's recent calls (last 1024). */
  p50Ms: number;
  /** 95th percentile of the node's recent calls (last 1024). */
  p95Ms: number;
}

/** A snapshot of a session's statistics. */
export interface SessionStats {
  /** Per node, in manifest order. */
  nodes: NodeStats[];
  /** Items waiting to enter the graph. */
  inputQueue: number;
  /** Outputs waiting to be taken. */
  outputQueue: number;
  /** Items pushed so far (through this object). */
  pushed: number;
  /** Outputs taken so far (through this object). */
  taken: number;
  /** End-to-end latency of the outputs taken so far, in microseconds (p50, p95, max). */
  latencyUs: { p50: number; p95: number; max: number };
}

/** Something that happened in a session (see {@link Session.events}). */
export type SessionEvent =
  | {
    /** A native node finished `initialize` (replayed to a new listener) or ran `cleanup`. */
    type: "node_started" | "node_finished";
    /** Node id. */
    node: string;
    /** When, in microseconds since the session started. */
    atUs: number;
  }
  | {
    /** A node finished one call (`process`, a generator task, a flush). */
    type: "process";
    /** Node id. */
    node: string;
    /** Start, in microseconds since the session started. */
    startUs: number;
    /** Duration in microseconds. */
    durationUs: number;
    /** When the event was recorded, in microseconds since the session started. */
    atUs: number;
  }
  | {
    /** An item was dropped on a `dropOldest` edge into `node`. */
    type: "drop";
    /** The node whose input queue dropped it. */
    node: string;
    /** The node that produced it. */
    from: string;
    /** When, in microseconds since the session started. */
    atUs: number;
  }
  | {
    /** A node failed. */
    type: "error";
    /** Node id. */
    node: string;
    /** Node type. */
    nodeType: string;
    /** What went wrong. */
    message: string;
    /** When, in microseconds since the session started. */
    atUs: number;
  }
  | {
    /** A Vad node detected speech starting or ending. */
    type: "speech_start" | "speech_end";
    /** The Vad node. */
    node: string;
    /** Speech start (speech_start) in microseconds of audio time. */
    timeUs?: number;
    /** Speech segment bounds (speech_end), in microseconds of audio time. */
    startUs?: number;
    /** Speech segment end (speech_end). */
    endUs?: number;
    /** When it was recorded, in microseconds since the session started. */
    atUs: number;
  };

/** A span for tracing: one node call. */
export interface TraceSpan {
  /** `node:<id>`. */
  name: string;
  /** Node id. */
  nodeId: string;
  /** Start, as a `performance.now()` timestamp in milliseconds. */
  startTime: number;
  /** End, as a `performance.now()` timestamp in milliseconds. */
  endTime: number;
}

/**
 * Receives one span per node call. Map it onto your tracing system (see `examples/tracing.ts` for
 * OpenTelemetry-style spans); nothing is recorded while no tracer is set.
 */
export interface Tracer {
  /** Called for each finished node call. */
  onSpan(span: TraceSpan): void;
}

/** A snapshot of a session's metrics. */
export interface SessionMetrics {
  /** Per node, in manifest order. */
  nodes: NodeMetrics[];
  /** Items waiting to enter the graph. */
  inputQueue: number;
  /** Outputs waiting to be taken. */
  outputQueue: number;
}

/** How a session runs. */
export interface SessionOptions {
  /**
   * `inline`: the graph runs on the calling thread inside `push` / iteration (lowest latency for small
   * real-time frames). `threaded`: a native worker thread runs it and the JS thread is woken per batch
   * (for files and other long native work: the event loop never blocks). `auto` (default): threaded
   * when the manifest has a heavy node (file I/O), inline otherwise.
   */
  execution?: "auto" | "inline" | "threaded";
  /** Bound of the input queue (default 16). */
  inputCapacity?: number;
  /** Bound of the output queue (default 16). */
  outputCapacity?: number;
  /** Aborts the session when it fires. */
  signal?: AbortSignal;
  /** Receives a span per node call (enables event recording). */
  tracer?: Tracer;
}

function jsonFromHandle<T>(handle: number, native: NativeLibrary): T {
  using data = RuntimeData.fromHandle(handle, native);
  return data.asJson<T>();
}

let schemaCache: NodeTypeSchema[] | undefined;

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
  const native = lib();
  schemaCache ??= jsonFromHandle<NodeTypeSchema[]>(
    checkHandle(native.symbols.rm_node_types(), native),
    native,
  );
  return structuredClone(schemaCache);
}

function manifestText(manifest: Manifest | string): string {
  if (typeof manifest === "string") return manifest;
  if (manifest === null || typeof manifest !== "object") {
    throw new TypeError(`manifest must be an object or JSON text, got ${typeof manifest}`);
  }
  return JSON.stringify(manifest);
}

function parsedManifest(manifest: Manifest | string): Partial<Manifest> | undefined {
  if (typeof manifest !== "string") return manifest;
  try {
    return JSON.parse(manifest);
  } catch {
    return undefined; // the native validation reports the parse error with line and column
  }
}

/** The node specs of an already parsed manifest (none when it did not parse). */
function manifestNodes(parsed: Partial<Manifest> | undefined): NodeSpec[] {
  const nodes = parsed?.nodes;
  return Array.isArray(nodes)
    ? nodes.filter((n): n is NodeSpec => n !== null && typeof n === "object")
    : [];
}

/** Where a builder's manifest keeps its TypeScript node instances (not serialised, not enumerable). */
const INSTANCES = Symbol("remotemedia.instances");

/** The node instances a builder attached to `manifest`, if any. */
function localTypes(manifest: Manifest | string): LocalTypes | undefined {
  return typeof manifest === "object" && manifest !== null
    ? (manifest as { [INSTANCES]?: LocalTypes })[INSTANCES]
    : undefined;
}

/** Attaches node instances to a manifest object. */
function attachInstances(manifest: Manifest, instances: LocalTypes | undefined): Manifest {
  if (instances && instances.size > 0) {
    Object.defineProperty(manifest, INSTANCES, { value: instances, enumerable: false });
  }
  return manifest;
}

/** The TypeScript node types a manifest uses, as the native validator expects them. */
function hostTypesJson(manifest: Manifest | string): Uint8Array | null {
  const local = localTypes(manifest);
  const used = manifestNodes(parsedManifest(manifest)).filter((spec) => isHostNode(spec, local));
  return used.length === 0 ? null : encoder.encode(JSON.stringify(hostTypes(used, local)));
}

/** Every problem of a manifest (an empty array when it is valid). */
export function validateManifest(manifest: Manifest | string): ManifestIssue[] {
  const native = lib();
  const bytes = encoder.encode(manifestText(manifest));
  const types = hostTypesJson(manifest);
  return jsonFromHandle<ManifestIssue[]>(
    checkHandle(
      native.symbols.rm_manifest_validate(bytes, bytes.length, types, types?.length ?? 0),
      native,
    ),
    native,
  );
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
] extends [never] ? [params?: NodeParams[T], options?: { skipErrors?: boolean }]
  : [params: NodeParams[T], options?: { skipErrors?: boolean }];

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

  /** Names the pipeline. */
  name(name: string): this {
    this.#name = name;
    return this;
  }

  /**
   * Adds a TypeScript node instance (see {@link Node}). Errors and metrics name it by its id and by
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
    options?: { skipErrors?: boolean },
  ): this;
  node(
    id: string,
    typeOrInstance: string | Node,
    paramsOrOptions?: Record<string, unknown> | InstanceOptions,
    options: { skipErrors?: boolean } = {},
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
    this.#nodes.push(spec);
    return this;
  }

  /** Connects `from` to `to` (optionally a named port, a policy and a capacity). */
  connect(from: string, to: string, options: Omit<Connection, "from" | "to"> = {}): this {
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
    // Instances belong to the manifest (not to a global registry): they go when it goes.
    return attachInstances(manifest, new Map(this.#instances));
  }
}

const PHASE_ENDED = 2;
const PHASE_FAILED = 3;
const PHASE_ABORTED = 4;
const PUSH_FULL = 1;
/** `-InvalidArgument` from a push: no entry accepts the item, or `to` is not an entry. */
const PUSH_NOWHERE = -3;
const EMIT_FULL = 1;
const EMIT_CANCELLED = 2;
const TASK_FLUSH = 1;
/** How long an aborted session waits for TypeScript nodes to notice the cancellation. */
const ABORT_GRACE_MS = 500;

interface HostNode {
  id: string;
  type: string;
  node: Node;
  ports: string[];
  /** Aborted on an interrupt reaching the node or on session abort; replaced after an interrupt. */
  controller: AbortController;
}

/** The `AbortError` a session uses when it is aborted or interrupted without a reason of its own. */
function abortError(message: string): DOMException {
  return new DOMException(message, "AbortError");
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const sessionRegistry = new FinalizationRegistry<{ native: NativeLibrary; handle: number }>(
  ({ native, handle }) => {
    try {
      native.symbols.rm_session_free(handle);
    } catch {
      // the library was closed meanwhile: nothing left to free
    }
  },
);

/**
 * How long a chain of promise reactions (a fast producer read by `for await`, a push loop that never
 * waits) may run before it yields to the event loop, so that timers, I/O and `AbortSignal.timeout` get
 * their turn. Checking costs one clock read per item; yielding costs one macrotask per slice.
 */
const SLICE_MS = 8;
let sliceStart = performance.now();
/** The clock is read every 16th item only (`performance.now()` costs ~85 ns in Deno). */
let sliceItems = 0;

/** Yields to the event loop (a macrotask) when the current run of microtasks has lasted `SLICE_MS`. */
function yieldIfBusy(): Promise<void> | undefined {
  if ((++sliceItems & 15) !== 0) return undefined;
  const now = performance.now();
  if (now - sliceStart < SLICE_MS) return undefined;
  return new Promise<void>((resolve) =>
    macrotask(() => {
      sliceStart = performance.now();
      resolve();
    })
  );
}

/**
 * Runs `callback` as a macrotask: `setImmediate` (Deno and Bun have it; ~10 µs) rather than a chained
 * `setTimeout(0)`, which both runtimes clamp to 1–4 ms once nested.
 */
const macrotask: (callback: () => void) => void = (() => {
  const global = globalThis as { setImmediate?: (callback: () => void) => void };
  return typeof global.setImmediate === "function"
    ? (callback: () => void) => global.setImmediate!(callback)
    : (callback: () => void) => void setTimeout(callback, 0);
})();

/**
 * The TypeScript-node pumps of threaded sessions, held weakly. A pump never waits on the native event
 * counter itself (a pending native wait keeps the process alive and its promise would keep the session
 * reachable): it sleeps on its session's signal, and every native wait that completes — made on behalf
 * of a caller of `next()`, `push()`, `events()`, `abort()` or `done` — wakes all pumps. A session nobody
 * refers to can then be collected (its native side is freed by the GC backstop), and nothing of it keeps
 * the process alive.
 */
const pumps = new Set<WeakRef<Signal>>();
/** The highest native event count seen by any completed wait. */
let eventsSeen = 0;
const hooked = new WeakSet<Promise<number>>();

function wakePumps(count: number): void {
  if (count > eventsSeen) eventsSeen = count;
  for (const ref of pumps) {
    const signal = ref.deref();
    if (signal) signal.notify();
    else pumps.delete(ref);
  }
}

/** A wake-up signal: `wait()` resolves on the next `notify()`. */
class Signal {
  /** Another signal notified with this one (a session's progress wakes its pump). */
  linked?: Signal;
  #resolve: (() => void) | undefined;
  #promise: Promise<void> | undefined;

  wait(): Promise<void> {
    this.#promise ??= new Promise<void>((resolve) => {
      this.#resolve = resolve;
    });
    return this.#promise;
  }

  notify(): void {
    this.linked?.notify();
    const resolve = this.#resolve;
    this.#promise = undefined;
    this.#resolve = undefined;
    resolve?.();
  }
}

/**
 * A running pipeline: push inputs, iterate outputs, close (or abort).
 *
 * @example
 * ```ts
 * import { RuntimeData, Session } from "./mod.ts";
 * await using session = Session.create({
 *   version: 1,
 *   nodes: [{ id: "upper", type: "TextTransform", params: { op: "upper" } }],
 * });
 * await session.push(RuntimeData.text("hello"));
 * session.close();
 * for await (const out of session) console.log(out.asText()); // "HELLO"
 * ```
 */
export class Session implements AsyncIterable<RuntimeData>, AsyncDisposable {
  #native: NativeLibrary;
  #handle: number;
  #threaded: boolean;
  #nodeIds: string[];
  #entries?: readonly SessionEntry[];
  #info = new Float64Array(POLL_INFO_LEN);
  #progress = new Signal();
  /** The pump's own wake-up (threaded sessions with TypeScript nodes; registered in `pumps`). */
  #pumpSignal?: Signal;
  #iterating = false;
  #aborted = false;
  /** Why the session was aborted: thrown by `next()`, iteration and `done` (like `fetch`). */
  #abortReason: unknown;
  #signal?: AbortSignal;
  #onAbort?: () => void;
  #hostNodes = new Map<number, HostNode>();
  #connections: Connection[] = [];
  #taskItems = new Set<RuntimeData>();
  #pushed = 0;
  #taken = 0;
  #latencies: number[] = [];
  #latencyMax = 0;
  #readable?: ReadableStream<RuntimeData>;
  #writable?: WritableStream<RuntimeData>;
  #tracer?: Tracer;
  #startedAt = performance.now();
  #causes = new Map<string, unknown>();
  /** `[ticket, node, port, kind, count, handles…]` of the next task; grows for many-port nodes. */
  #taskInfo = new Float64Array(5 + 8);
  #done: Promise<void> = Promise.resolve();
  /** Pushes waiting for their turn (they are served in call order). */
  #pushesWaiting = 0;
  #pushTail: Promise<void> = Promise.resolve();
  #unregisterPump?: () => void;
  /** Adjacency of the graph by node index, built on the first `interrupt({ from })`. */
  #children?: number[][];
  #sinkIds?: string[];
  /** Errors thrown by TypeScript nodes' `cleanup()` (the session had already ended). */
  readonly cleanupErrors: PipelineError[] = [];

  private constructor(native: NativeLibrary, handle: number, threaded: boolean) {
    this.#native = native;
    this.#handle = handle;
    this.#threaded = threaded;
    this.#nodeIds = jsonFromHandle<string[]>(
      checkHandle(native.symbols.rm_session_node_ids(handle), native),
      native,
    );
    sessionRegistry.register(this, { native, handle }, this);
  }

  /**
   * Validates the manifest, builds every node and calls each `initialize` before returning. Throws
   * {@link ManifestError} (with every issue) or {@link PipelineError} (a node failed to initialize).
   */
  static create(manifest: Manifest | string, options: SessionOptions = {}): Session {
    const native = lib();
    const text = manifestText(manifest);
    // Parsed once here (an object is used as it is); the native side parses the text for itself.
    const parsed = parsedManifest(manifest);
    const execution = options.execution ?? "auto";
    if (!["auto", "inline", "threaded"].includes(execution)) {
      throw new RangeError(`execution must be auto, inline or threaded, got ${String(execution)}`);
    }
    const threaded = execution === "threaded" ||
      (execution === "auto" && hasHeavyNode(parsed));
    const nativeOptions: Record<string, unknown> = { threaded };
    for (const key of ["inputCapacity", "outputCapacity"] as const) {
      const value = options[key];
      if (value === undefined) continue;
      if (!Number.isInteger(value) || value < 1 || value > 1_000_000) {
        throw new RangeError(`${key} must be an integer between 1 and 1000000, got ${value}`);
      }
      nativeOptions[key] = value;
    }
    const local = localTypes(manifest);
    const hostSpecs = manifestNodes(parsed)
      .map((spec, index) => ({ spec, index }))
      .filter(({ spec }) => isHostNode(spec, local));
    if (hostSpecs.length > 0) {
      nativeOptions.nodeTypes = hostTypes(hostSpecs.map(({ spec }) => spec), local);
    }
    const manifestBytes = encoder.encode(text);
    const optionBytes = encoder.encode(JSON.stringify(nativeOptions));
    const handle = native.symbols.rm_session_create(
      manifestBytes,
      manifestBytes.length,
      optionBytes,
      optionBytes.length,
    );
    if (handle === 0) throw sessionCreateError(native, text);
    const session = new Session(native, handle, threaded);
    session.#connections = Array.isArray(parsed?.connections) ? parsed.connections : [];
    if (hostSpecs.length > 0) {
      try {
        for (const { spec, index } of hostSpecs) {
          const { node, ports } = instantiate(spec.type, spec.id, spec.params ?? {}, local);
          session.#hostNodes.set(index, {
            id: spec.id,
            type: spec.type,
            node,
            ports,
            controller: new AbortController(),
          });
        }
      } catch (error) {
        session.dispose();
        throw error;
      }
      if (threaded) {
        const signal = new Signal();
        session.#pumpSignal = signal;
        session.#progress.linked = signal;
        const ref = new WeakRef(signal);
        pumps.add(ref);
        session.#unregisterPump = () => pumps.delete(ref);
      }
      session.#done = session.#pump();
    }
    if (options.signal) session.#watch(options.signal);
    if (options.tracer) {
      session.#tracer = options.tracer;
      native.symbols.rm_session_set_events(handle, 1);
    }
    return session;
  }

  /** Delivers recorded events to the tracer (called as outputs are taken and at the end). */
  #flushTrace(): void {
    if (!this.#tracer || this.#handle === 0) return;
    for (const e of this.#drainEvents()) {
      if (e.type !== "process") continue;
      const startTime = this.#startedAt + e.startUs / 1000;
      this.#tracer.onSpan({
        name: `node:${e.node}`,
        nodeId: e.node,
        startTime,
        endTime: startTime + e.durationUs / 1000,
      });
    }
  }

  #drainEvents(): SessionEvent[] {
    const native = this.#native;
    const batch = jsonFromHandle<{ events: SessionEvent[]; dropped: number }>(
      checkHandle(native.symbols.rm_session_events(this.#h()), native),
      native,
    );
    return batch.events;
  }

  /**
   * The session's events as they happen: native nodes started (replayed) and finished, node calls with
   * timings, drops on `dropOldest` edges, errors with the node id, and Vad speech start/end. Recording starts with the first call (nothing is
   * recorded, and nothing costs, while nobody listens) and ends when the session ends. Events are
   * delivered in batches as the session makes progress.
   */
  async *events(): AsyncGenerator<SessionEvent, void, undefined> {
    if (this.#tracer) {
      throw new RemoteMediaError(
        "invalid_argument",
        "events() and a tracer cannot share a session",
      );
    }
    this.#native.symbols.rm_session_set_events(this.#h(), 1);
    for (;;) {
      if (this.#handle === 0) return;
      const seen = this.#eventCounter();
      const batch = this.#drainEvents();
      for (const e of batch) yield e;
      if (batch.length === 0) {
        if (this.finished) {
          const rest = this.#handle === 0 ? [] : this.#drainEvents();
          for (const e of rest) yield e;
          return;
        }
        await this.#waitForProgress(seen);
      }
    }
  }

  /** Per-node counts and latencies (p50/p95/max), queue depths, and end-to-end output latency. */
  stats(): SessionStats {
    const native = this.#native;
    const m = jsonFromHandle<{ nodes: NodeStats[]; inputQueue: number; outputQueue: number }>(
      checkHandle(native.symbols.rm_session_metrics(this.#h()), native),
      native,
    );
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    const at = (q: number) => sorted.length ? sorted[Math.round((sorted.length - 1) * q)] : 0;
    return {
      nodes: m.nodes,
      inputQueue: m.inputQueue,
      outputQueue: m.outputQueue,
      pushed: this.#pushed,
      taken: this.#taken,
      latencyUs: { p50: at(0.5), p95: at(0.95), max: this.#latencyMax },
    };
  }

  /**
   * The outputs as a `ReadableStream` (pull-based: a slow reader slows the pipeline). Cancelling it
   * aborts the session. Use either this or async iteration, not both.
   */
  get readable(): ReadableStream<RuntimeData> {
    this.#readable ??= this.#stream(-1);
    return this.#readable;
  }

  /** A pull-based stream of the outputs of sink `sink` (-1: every sink); cancelling it aborts. */
  #stream(sink: number): ReadableStream<RuntimeData> {
    return new ReadableStream<RuntimeData>({
      pull: async (controller) => {
        const out = await this.#next(sink);
        if (out) controller.enqueue(out);
        else controller.close();
      },
      cancel: (reason) => this.abort(reason),
    }, { highWaterMark: 0 });
  }

  /**
   * The input as a `WritableStream`: each written item is pushed (a full pipeline makes `write` wait)
   * and then released — the stream owns what is written to it. Closing the stream closes the session's
   * input; aborting it aborts the session.
   */
  get writable(): WritableStream<RuntimeData> {
    this.#writable ??= new WritableStream<RuntimeData>({
      write: async (data) => {
        try {
          await this.push(data);
        } finally {
          data.dispose();
        }
      },
      close: () => this.close(),
      // A failing source (pipeTo aborts the writable with its error) ends the session with that error,
      // so the readable side errors with the same cause.
      abort: (reason) => this.abort(reason),
    }, { highWaterMark: 1 });
    return this.#writable;
  }

  /**
   * Resolves once the session has ended (closed and flushed, failed or aborted) and every TypeScript
   * node's `cleanup()` ran.
   */
  get done(): Promise<void> {
    const done = this.#pumpSignal ? this.#driven(this.#done) : this.#done;
    return done.then(() => {
      if (this.#aborted) throw this.#abortReason;
    });
  }

  /** Waits for `promise` while keeping native progress flowing (someone is waiting for this session). */
  async #driven(promise: Promise<void>): Promise<void> {
    let settled = false;
    const watched = promise.finally(() => {
      settled = true;
      this.#progress.notify();
    });
    while (!settled && this.#handle !== 0) {
      await this.#waitForProgress(this.#eventCounter());
    }
    return watched;
  }

  /** Runs TypeScript nodes: initialize, then tasks as the native graph hands them over, then cleanup. */
  async #pump(): Promise<void> {
    const native = this.#native;
    for (const [index, host] of this.#hostNodes) {
      try {
        await host.node.initialize?.({ nodeId: host.id, signal: host.controller.signal });
      } catch (error) {
        this.#causes.set(host.id, error);
        const message = encoder.encode(`initialize: ${errorMessage(error)}`);
        if (this.#handle !== 0) {
          native.symbols.rm_session_fail_node(this.#handle, index, message, message.length);
        }
        this.#progress.notify();
        break;
      }
    }
    const running = new Set<Promise<void>>();
    while (this.#handle !== 0) {
      const seen = this.#eventCounter();
      const count = native.symbols.rm_session_take_task(
        this.#handle,
        this.#taskInfo,
        this.#taskInfo.length,
      );
      if (count > this.#taskInfo.length) {
        // A node with many input ports: the task waits, first in line, for a buffer that fits.
        this.#taskInfo = new Float64Array(count);
        continue;
      }
      if (count > 0) {
        const pause = yieldIfBusy();
        if (pause) await pause;
        const info = this.#taskInfo;
        const count = info[4];
        const handles = Array.from(info.subarray(5, 5 + count));
        const ports = Array.from(info.subarray(5 + count, 5 + 2 * count));
        const task = this.#runTask(info[0], info[1], info[3], handles, ports);
        running.add(task);
        task.finally(() => running.delete(task));
        continue;
      }
      if (count < 0 || this.finished) break;
      await this.#sleep(seen);
    }
    // Running tasks finish first (after an abort their next emit is refused, which closes generators
    // and runs their `finally`). A node stuck in an await (a generator that never yields) gets
    // ABORT_GRACE_MS after an abort, then the session ends without it.
    const settled = Promise.allSettled(running);
    if (this.#aborted || this.#handle === 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([settled, new Promise((r) => timer = setTimeout(r, ABORT_GRACE_MS))]);
      clearTimeout(timer);
    } else {
      await settled;
    }
    this.#unregisterPump?.();
    // Inputs of tasks that never finished are released here (a stuck node must not leak them).
    for (const item of this.#taskItems) item.dispose();
    this.#taskItems.clear();
    for (const host of this.#hostNodes.values()) {
      try {
        await host.node.cleanup?.();
      } catch (error) {
        this.cleanupErrors.push(
          new PipelineError(host.id, host.type, `cleanup: ${errorMessage(error)}`, {
            cause: error,
          }),
        );
      }
    }
  }

  async #runTask(
    ticket: number,
    nodeIndex: number,
    kind: number,
    handles: number[],
    ports: number[],
  ): Promise<void> {
    const native = this.#native;
    const host = this.#hostNodes.get(nodeIndex)!;
    const ctx: NodeContext = { nodeId: host.id, signal: host.controller.signal };
    const items = handles.map((h) => RuntimeData.fromHandle(h, native));
    for (const item of items) this.#taskItems.add(item);
    try {
      let result: NodeResult;
      const node = host.node;
      if (kind === TASK_FLUSH) {
        result = node.flush?.(ctx);
      } else if (host.ports.length > 1 || !node.process) {
        // A join whose wait was cut short (a full port, or the end of the stream) names only the
        // ports that had an item.
        const named: Record<string, RuntimeData> = {};
        items.forEach((item, i) => named[host.ports[ports[i]]] = item);
        result = node.processMulti!(named, ctx);
      } else {
        result = node.process(items[0], ctx);
      }
      await drainResult(result, (data) => this.#emit(ticket, data), ctx.signal);
      if (this.#handle !== 0) native.symbols.rm_session_task_done(this.#handle, ticket);
    } catch (error) {
      this.#causes.set(host.id, error);
      const message = encoder.encode(errorMessage(error));
      if (this.#handle !== 0) {
        native.symbols.rm_session_task_fail(this.#handle, ticket, message, message.length);
      }
    } finally {
      for (const item of items) {
        item.dispose();
        this.#taskItems.delete(item);
      }
      this.#progress.notify();
    }
  }

  /** Hands one output of a TypeScript node to the graph, waiting while downstream is full. */
  async #emit(ticket: number, data: RuntimeData): Promise<boolean> {
    const native = this.#native;
    if (data.disposed) {
      // Reported with the node's id and type by the task's failure path.
      throw new Error(
        "emitted a RuntimeData that was already handed to the pipeline (or disposed): each output " +
          "can be emitted once — emit data.clone() to send the same value again",
      );
    }
    for (;;) {
      if (this.#handle === 0) return false;
      const seen = this.#eventCounter();
      const status = native.symbols.rm_session_emit(this.#handle, ticket, data.handle());
      if (status === 0 || status === EMIT_CANCELLED) {
        data.dispose(); // the graph holds its own reference
        this.#progress.notify();
        return status === 0;
      }
      if (status !== EMIT_FULL) throw lastError(native);
      await this.#sleep(seen);
    }
  }

  /**
   * The pump's and TypeScript nodes' wait: local progress, or (threaded) a completed native wait of a
   * caller — never a native wait of its own (see `pumps`).
   */
  #sleep(seen: number): Promise<void> {
    if (!this.#pumpSignal) return this.#progress.wait();
    return eventsSeen > seen ? Promise.resolve() : this.#pumpSignal.wait();
  }

  #watch(signal: AbortSignal): void {
    if (signal.aborted) {
      this.#abortNow(signal.reason);
      return;
    }
    this.#signal = signal;
    this.#onAbort = () => void this.abort(signal.reason);
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  #h(): number {
    if (this.#handle === 0) throw new DisposedError("Session");
    return this.#handle;
  }

  /** Node ids in manifest order. */
  get nodeIds(): readonly string[] {
    return this.#nodeIds;
  }

  /** True when the graph runs on a native worker thread. */
  get threaded(): boolean {
    return this.#threaded;
  }

  /** The error that ended the session, if a node failed. */
  #failure(): PipelineError | undefined {
    const native = this.#native;
    const handle = native.symbols.rm_session_failure(this.#h());
    if (handle === 0) return undefined;
    const f = jsonFromHandle<{ nodeId: string; nodeType: string; message: string }>(
      handle,
      native,
    );
    const cause = this.#causes.get(f.nodeId);
    return new PipelineError(
      f.nodeId,
      f.nodeType,
      f.message,
      cause === undefined ? undefined : { cause },
    );
  }

  /**
   * The entry nodes, where pushed items go: nodes without incoming connections, except sources that
   * start by themselves (a `WavReader` with a `path`). Each with the data types its input accepts.
   */
  get entries(): readonly SessionEntry[] {
    if (!this.#entries) {
      const native = this.#native;
      this.#entries = jsonFromHandle<SessionEntry[]>(
        checkHandle(native.symbols.rm_session_entries(this.#h()), native),
        native,
      ).map((e) => Object.freeze({ id: e.id, type: e.type, accepts: Object.freeze(e.accepts) }));
    }
    return this.#entries;
  }

  /** Manifest index of entry `to` (-1 without `to`: every entry accepting the item's type). */
  #entryIndex(to: string | undefined): number {
    if (to === undefined) return -1;
    const index = this.#nodeIds.indexOf(to);
    if (index >= 0) return index; // the native side checks that it is an entry accepting the item
    const entries = this.entries.map((e) => `"${e.id}" (${e.type}) accepts ${e.accepts.join("/")}`);
    throw new RemoteMediaError(
      "invalid_argument",
      `push: to "${to}": no node has this id; entries: ${entries.join("; ") || "none"}`,
    );
  }

  /**
   * Offers one item without waiting: true when taken, false when the queues are full (iterate outputs,
   * then try again). The item stays yours: dispose it when you no longer need it.
   *
   * It goes to every entry node whose input accepts its data type, or with `to` to that entry only.
   * An item no entry accepts, or a `to` that is not an entry, throws a `RemoteMediaError`
   * (`invalid_argument`) naming the item's type and listing the entries; the session goes on.
   */
  tryPush(data: RuntimeData, options?: { to?: string }): boolean {
    if (!(data instanceof RuntimeData)) {
      throw new TypeError(`push expects a RuntimeData, got ${describe(data)}`);
    }
    const entry = this.#entryIndex(options?.to);
    const status = this.#native.symbols.rm_session_push_to(this.#h(), data.handle(), entry);
    if (status === 0) {
      this.#pushed++;
      this.#progress.notify();
      return true;
    }
    if (status === PUSH_FULL) return false;
    if (status === PUSH_NOWHERE) throw lastError(this.#native); // a bad route: the session goes on
    this.#progress.notify(); // a reader waiting for outputs must see the failure too
    const failure = this.#failure();
    if (failure) throw failure;
    if (this.#aborted) throw this.#abortReason;
    throw lastError(this.#native);
  }

  /**
   * Offers one item, waiting while the queues are full (backpressure: a slow consumer slows the producer;
   * nothing is dropped). Resolves once the item was taken. A `signal` that fires while waiting aborts
   * the session (as `abort()` does) and rejects with the signal's reason.
   *
   * The item goes to every entry node whose input accepts its data type, or with `to` to that entry
   * only (e.g. `push(text, { to: "chat" })` next to an audio entry); see {@link Session.tryPush}.
   */
  async push(
    data: RuntimeData,
    options: { signal?: AbortSignal; to?: string } = {},
  ): Promise<void> {
    if (this.#pushesWaiting === 0) {
      this.#abortOn(options.signal);
      if (this.tryPush(data, options)) {
        const pause = yieldIfBusy();
        if (pause) await pause;
        return;
      }
    }
    // Queue behind earlier pushes that are still waiting for room: inputs enter in call order.
    this.#pushesWaiting++;
    const previous = this.#pushTail;
    let release!: () => void;
    this.#pushTail = new Promise<void>((resolve) => release = resolve);
    try {
      await previous;
      for (;;) {
        this.#abortOn(options.signal);
        const seen = this.#eventCounter();
        if (this.tryPush(data, options)) return;
        await this.#waitForProgress(seen, options.signal);
      }
    } finally {
      this.#pushesWaiting--;
      release();
    }
  }

  /** Aborts the session (and throws the signal's reason) when `signal` has fired. */
  #abortOn(signal?: AbortSignal): void {
    if (signal?.aborted) {
      if (this.#handle !== 0 && !this.finished) this.#abortNow(signal.reason);
      throw signal.reason ?? abortError("aborted");
    }
  }

  /** The native event counter, read before a check so that a wait after it cannot miss progress. */
  #eventCounter(): number {
    return this.#threaded ? this.#native.symbols.rm_events_current() : 0;
  }

  /**
   * Waits until something may have changed since the counter read `seen`: outputs taken or input
   * pushed on this thread (inline), or native progress (threaded).
   */
  async #waitForProgress(seen: number, signal?: AbortSignal): Promise<void> {
    const waits: Promise<unknown>[] = [this.#progress.wait()];
    if (this.#threaded) {
      const native = this.#native.waitEvents(seen, 1000);
      if (!hooked.has(native)) {
        hooked.add(native);
        native.then(wakePumps, () => {});
      }
      waits.push(native);
    }
    let onAbort: (() => void) | undefined;
    if (signal) {
      waits.push(
        new Promise<void>((resolve) => {
          onAbort = resolve;
          signal.addEventListener("abort", onAbort, { once: true });
        }),
      );
    }
    try {
      await Promise.race(waits);
    } finally {
      if (onAbort) signal!.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Takes the next ready output without waiting (`undefined` when none is ready yet). Throws the
   * {@link PipelineError} once all outputs before a node failure were taken.
   */
  poll(): RuntimeData | undefined {
    return this.#poll(-1);
  }

  /** Takes the next output of sink node `sink` (its index), or of any sink when `sink` is -1. */
  #poll(sink: number): RuntimeData | undefined {
    const native = this.#native;
    const handle = sink < 0
      ? native.symbols.rm_session_poll(this.#h(), this.#info)
      : native.symbols.rm_session_poll_sink(this.#h(), sink, this.#info);
    if (handle !== 0) {
      this.#progress.notify();
      this.#taken++;
      const latency = this.#info[3];
      if (this.#latencies.length >= 4096) this.#latencies[this.#taken % 4096] = latency;
      else this.#latencies.push(latency);
      if (latency > this.#latencyMax) this.#latencyMax = latency;
      if (this.#tracer) this.#flushTrace();
      return RuntimeData.fromHandle(
        handle,
        native,
        this.#nodeIds[this.#info[0]],
        this.#info[3],
      );
    }
    const phase = this.#info[1];
    if (phase === PHASE_FAILED) {
      this.#progress.notify(); // a push waiting for room must see the failure too
      throw this.#failure() ?? lastError(native);
    }
    if (phase < 0) throw lastError(native);
    return undefined;
  }

  /** Ended, failed or aborted. */
  get finished(): boolean {
    if (this.#handle === 0) return true;
    const phase = this.#native.symbols.rm_session_phase(this.#handle);
    return phase >= PHASE_ENDED || phase < 0;
  }

  /**
   * The next output, waiting for it; `undefined` once the session ended. A `signal` that fires while
   * waiting aborts the session (as `abort()` does) and rejects with the signal's reason.
   */
  next(options: { signal?: AbortSignal } = {}): Promise<RuntimeData | undefined> {
    return this.#next(-1, options.signal);
  }

  async #next(sink: number, signal?: AbortSignal): Promise<RuntimeData | undefined> {
    for (;;) {
      this.#abortOn(signal);
      const seen = this.#eventCounter();
      const out = this.#poll(sink);
      if (out) {
        const pause = yieldIfBusy();
        if (pause) {
          // Hold the output across the pause: an abort meanwhile must not leak it.
          try {
            await pause;
          } catch (error) {
            out.dispose();
            throw error;
          }
        }
        return out;
      }
      const phase = this.#info[1];
      if (phase === PHASE_ENDED) {
        this.#flushTrace();
        return undefined;
      }
      if (phase === PHASE_ABORTED) {
        this.#flushTrace();
        throw this.#abortReason ?? abortError("the session was aborted");
      }
      await this.#waitForProgress(seen, signal);
    }
  }

  /** Ids of the sink nodes (no outgoing connections): the nodes whose outputs leave the session. */
  get sinkIds(): readonly string[] {
    this.#sinkIds ??= this.#nodeIds.filter((id) => !this.#connections.some((c) => c.from === id));
    return this.#sinkIds;
  }

  #sinkIndex(sinkId: string): number {
    if (!this.sinkIds.includes(sinkId)) {
      throw new RangeError(
        `"${sinkId}" is not a sink of this session: outputs come from ${
          this.sinkIds.map((id) => `"${id}"`).join(", ")
        }`,
      );
    }
    return this.#nodeIds.indexOf(sinkId);
  }

  /**
   * The outputs of one sink, to be consumed at that branch's own pace: each sink has its own bounded
   * queue (`outputCapacity`), so a reader that plays the reply's audio in real time does not delay the
   * events of the listening branch. A sink nobody reads fills its queue and then holds its branch
   * (and whatever upstream it shares) back, as any full queue does. Iterating the session itself takes
   * every sink's outputs in production order; use one or the other for a given sink.
   *
   * @example
   * ```ts
   * import { PipelineBuilder, Session } from "./mod.ts";
   * const session = Session.create(new PipelineBuilder().node("a", "PassThrough").node("b", "PassThrough").build());
   * for await (const out of session.outputs("b")) out.dispose();
   * ```
   */
  outputs(
    sinkId: string,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<RuntimeData, void, undefined> {
    return this.#iterate(this.#sinkIndex(sinkId), options.signal);
  }

  async *#iterate(
    sink: number,
    signal?: AbortSignal,
  ): AsyncGenerator<RuntimeData, void, undefined> {
    for (;;) {
      const out = await this.#next(sink, signal);
      if (!out) return;
      yield out;
    }
  }

  /** One sink's outputs as a pull-based `ReadableStream` (see {@link Session.outputs}). */
  sinkReadable(sinkId: string): ReadableStream<RuntimeData> {
    return this.#stream(this.#sinkIndex(sinkId));
  }

  /** Iterates outputs until the session ends (once per session). */
  async *[Symbol.asyncIterator](): AsyncGenerator<RuntimeData, void, undefined> {
    if (this.#iterating) {
      throw new RemoteMediaError("closed", "a session's outputs can be iterated only once");
    }
    this.#iterating = true;
    for (;;) {
      const out = await this.next();
      if (!out) return;
      yield out;
    }
  }

  /** Ends the input: queued items finish, nodes flush, then the iteration ends. Harmless twice. */
  close(): void {
    const status = this.#native.symbols.rm_session_close(this.#h());
    if (status !== 0) throw lastError(this.#native);
    this.#progress.notify();
  }

  #abortNow(reason?: unknown): void {
    if (!this.#aborted) {
      this.#aborted = true;
      this.#abortReason = reason ?? abortError("the session was aborted");
      for (const host of this.#hostNodes.values()) host.controller.abort(this.#abortReason);
    }
    this.#native.symbols.rm_session_abort(this.#h());
    this.#progress.notify();
  }

  /**
   * Stops now: queued items are released, every node is cleaned up (TypeScript nodes see `ctx.signal`
   * abort). Like `fetch`, whoever waits on the session then gets `reason` (default: an `AbortError`):
   * `next()` and iteration throw it, `done` rejects with it. Outputs already taken stay valid. Resolves
   * once the session has stopped.
   */
  async abort(reason?: unknown): Promise<void> {
    if (this.#handle === 0) return;
    this.#abortNow(reason);
    for (;;) {
      const seen = this.#eventCounter();
      if (this.finished) break;
      await this.#waitForProgress(seen);
    }
    await this.#done;
  }

  /**
   * Barge-in: drops queued and undelivered items, cancels in-flight TypeScript tasks (a streaming node's
   * generator is closed at its next `yield`) and resets the nodes (`reset()`); the session stays open.
   * With `from`, only that branch is interrupted — the named nodes and everything downstream of them
   * (e.g. `{ from: "tts" }` stops the reply being spoken while the listening branch goes on).
   * Returns how many items were dropped.
   */
  interrupt(options: { from?: string | string[] } = {}): number {
    const native = this.#native;
    let dropped: number;
    let branch: Set<number> | undefined;
    if (options.from === undefined) {
      dropped = native.symbols.rm_session_interrupt(this.#h());
    } else {
      const ids = Array.isArray(options.from) ? options.from : [options.from];
      const indices = Uint32Array.from(ids, (id) => {
        const i = this.#nodeIds.indexOf(id);
        if (i < 0) {
          throw new RangeError(
            `interrupt: no node "${id}" in this session (nodes: ${this.#nodeIds.join(", ")})`,
          );
        }
        return i;
      });
      dropped = native.symbols.rm_session_interrupt_branch(this.#h(), indices, indices.length);
      branch = this.#downstream([...indices]);
    }
    if (dropped < 0) throw lastError(native);
    // In-flight TS tasks of the interrupted nodes were cancelled natively: their next emit stops them.
    // Every reset runs, even when one throws; failures are reported together afterwards.
    const failures: PipelineError[] = [];
    for (const [index, host] of this.#hostNodes) {
      if (branch && !branch.has(index)) continue;
      // Running calls see their signal fire (fetches, timers and child processes they hold stop);
      // later calls get a fresh one.
      host.controller.abort(abortError(`interrupted (node "${host.id}")`));
      host.controller = new AbortController();
      try {
        host.node.reset?.();
      } catch (error) {
        failures.push(
          new PipelineError(host.id, host.type, `reset: ${errorMessage(error)}`, { cause: error }),
        );
      }
    }
    this.#progress.notify();
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      throw new AggregateError(
        failures,
        `interrupt: ${failures.length} nodes failed to reset (${
          failures.map((f) => f.nodeId).join(", ")
        }); every other node was reset`,
      );
    }
    return dropped;
  }

  /** Indices of the nodes reachable from `from` (included), from the manifest's connections. */
  #downstream(from: number[]): Set<number> {
    if (!this.#children) {
      const index = new Map(this.#nodeIds.map((id, i) => [id, i]));
      this.#children = this.#nodeIds.map(() => []);
      for (const c of this.#connections) {
        const a = index.get(c.from);
        const b = index.get(c.to);
        if (a !== undefined && b !== undefined) this.#children[a].push(b);
      }
    }
    const seen = new Set<number>();
    const stack = [...from];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const child of this.#children[n]) stack.push(child);
    }
    return seen;
  }

  /** Per-node metrics now. */
  metrics(): SessionMetrics {
    const native = this.#native;
    const m = jsonFromHandle<SessionMetrics>(
      checkHandle(native.symbols.rm_session_metrics(this.#h()), native),
      native,
    );
    return { nodes: m.nodes, inputQueue: m.inputQueue, outputQueue: m.outputQueue };
  }

  /** Aborts if still running and frees the native session. Outputs already taken stay valid. */
  dispose(): void {
    const handle = this.#handle;
    if (handle === 0) return;
    this.#handle = 0;
    sessionRegistry.unregister(this);
    if (this.#signal && this.#onAbort) this.#signal.removeEventListener("abort", this.#onAbort);
    // TypeScript nodes still working (a fetch, a timer) are told to stop.
    const reason = this.#abortReason ?? abortError("the session was disposed");
    for (const host of this.#hostNodes.values()) host.controller.abort(reason);
    this.#progress.notify();
    if (this.#native.symbols.rm_session_free(handle) !== 0) throw lastError(this.#native);
  }

  /** Same as {@link Session.dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Same as {@link Session.dispose}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
    return Promise.resolve();
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}

/** True when the manifest has a node doing blocking work (files): such sessions run threaded. */
function hasHeavyNode(parsed: Partial<Manifest> | undefined): boolean {
  const nodes = manifestNodes(parsed);
  if (nodes.length === 0) return false;
  const heavy = new Set(nodeTypes().filter((t) => t.heavy).map((t) => t.type));
  return nodes.some((n) => typeof n.type === "string" && heavy.has(n.type));
}

function sessionCreateError(native: NativeLibrary, text: string): Error {
  const error = lastError(native);
  if (error.code === "invalid_manifest") return new ManifestError(validateManifest(text), error);
  if (error.code === "node_failed") {
    const match = /^node "([^"]*)" \(([^)]*)\) failed: ([\s\S]*)$/.exec(error.message);
    if (match) return new PipelineError(match[1], match[2], match[3]);
  }
  return error;
}

/**
 * A validated manifest, ready to run.
 *
 * @example
 * ```ts
 * import { Pipeline, RuntimeData } from "./mod.ts";
 * const pipeline = Pipeline.from({ version: 1, nodes: [{ id: "gain", type: "Gain", params: { gainDb: -6 } }] });
 * const [out] = await pipeline.run(RuntimeData.audio({ samples: new Float32Array(960), sampleRate: 48000 }));
 * ```
 */
export class Pipeline {
  /** The manifest. */
  readonly manifest: Manifest;

  private constructor(manifest: Manifest) {
    this.manifest = manifest;
  }

  /** Validates a manifest (object or JSON text); throws {@link ManifestError} listing every issue. */
  static from(manifest: Manifest | string): Pipeline {
    const issues = validateManifest(manifest);
    if (issues.length > 0) throw new ManifestError(issues);
    return new Pipeline(
      typeof manifest === "string"
        ? JSON.parse(manifest)
        : attachInstances(structuredClone(manifest), localTypes(manifest)),
    );
  }

  /** Starts a streaming session. */
  session(options: SessionOptions = {}): Session {
    return Session.create(this.manifest, options);
  }

  /**
   * A new session as a `TransformStream`, so that `source.pipeThrough(pipeline.transform())
   * .pipeTo(sink)` works with backpressure both ways. Its `readable` and `writable` are the session's
   * own streams (outputs are pulled by the reader, not pushed per input, which keeps backpressure exact
   * for nodes that emit many or no outputs per input); the session is `.session`.
   */
  transform(options: SessionOptions = {}): TransformStream<RuntimeData, RuntimeData> & {
    readonly session: Session;
  } {
    const session = Session.create(this.manifest, options);
    const stream = new TransformStream<RuntimeData, RuntimeData>();
    // Own properties shadow TransformStream's accessors: pipeThrough() reads these two.
    Object.defineProperties(stream, {
      readable: { value: session.readable, enumerable: true },
      writable: { value: session.writable, enumerable: true },
      session: { value: session, enumerable: true },
    });
    return stream as TransformStream<RuntimeData, RuntimeData> & { readonly session: Session };
  }

  /** Unary run: pushes the input(s), closes, and resolves with every output in order. */
  async run(
    input: RuntimeData | readonly RuntimeData[],
    options: SessionOptions = {},
  ): Promise<RuntimeData[]> {
    const inputs = Array.isArray(input) ? input : [input as RuntimeData];
    using session = Session.create(this.manifest, options);
    const outputs: RuntimeData[] = [];
    const collect = (async () => {
      for await (const out of session) outputs.push(out);
    })();
    collect.catch(() => {}); // awaited below; never an unhandled rejection meanwhile
    try {
      for (const item of inputs) await session.push(item);
      session.close();
    } catch (error) {
      // A refused input (disposed, not RuntimeData, or a node failure seen by push) ends the run:
      // stop the session so the collector ends too, release what it gathered, and report the error.
      if (!session.finished) await session.abort().catch(() => {});
      await collect.catch(() => {});
      await session.done.catch(() => {}); // TS nodes' inputs released, cleanups run
      for (const out of outputs) out.dispose();
      throw error;
    }
    try {
      await collect;
      await session.done;
    } catch (error) {
      await session.done.catch(() => {}); // TS nodes' inputs released, cleanups run
      for (const out of outputs) out.dispose(); // a node failed: what came before is released
      throw error;
    }
    return outputs;
  }
}

/** Unary run of a manifest: `Pipeline.from(manifest).run(input, options)`. */
export function run(
  manifest: Manifest | string,
  input: RuntimeData | readonly RuntimeData[],
  options: SessionOptions = {},
): Promise<RuntimeData[]> {
  return Pipeline.from(manifest).run(input, options);
}

/** A streaming session of a manifest: `Session.create(manifest, options)`. */
export function session(manifest: Manifest | string, options: SessionOptions = {}): Session {
  return Session.create(manifest, options);
}
