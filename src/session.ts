/**
 * The session core: `Session`, the public class — create, push and take items (the mechanics are in
 * `session_io.ts`), readable/writable streams, close, abort, interrupt, dispose, done. TypeScript nodes
 * run in `host_tasks.ts`; events, the tracer and `stats()` live in `observability.ts`; the state these
 * rooms share, with the protocol's codes, in `session_state.ts`. About 500 lines: the public class and
 * its documentation, each method a thin call into those rooms.
 *
 * @module
 */
import type { NativeLibrary } from "../ffi/symbols.ts";
import { ArgumentError, type PipelineError, RemoteMediaError } from "./errors.ts";
import { HostTasks, waitForProgress } from "./host_tasks.ts";
import {
  type AudioSpec,
  formatOptions,
  hasHeavyNode,
  localTypes,
  type Manifest,
  manifestNodes,
  manifestText,
  parsedManifest,
} from "./manifest.ts";
import { checkHandle, checkStatus, encoder, lastError, lib } from "./native.ts";
import { hostTypes, isHostNode } from "./node.ts";
import type { SessionEvent } from "../ffi/contract.ts";
import { Observer, type SessionStats, type Tracer } from "./observability.ts";
import type { RuntimeData } from "./runtime_data.ts";
import { jsonFromHandle } from "./schemas.ts";
import { type SessionEntry, SessionIo } from "./session_io.ts";
import { abortError, SessionState } from "./session_state.ts";
import type { ReportData } from "./report/data.ts";
import { reportHtml } from "./report/html.ts";

/** How a session runs. */
export interface SessionOptions {
  /**
   * `inline`: the graph runs on the calling thread inside `push` / iteration (lowest latency for small
   * real-time frames). `threaded`: the shared native worker pool runs it (see `setWorkerThreads`) and
   * the JS thread is woken per batch (for files, other long native work and many sessions per process:
   * the event loop never blocks, and an idle session holds no thread). `auto` (default): threaded when
   * the manifest has a heavy node (file I/O), inline otherwise.
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
  /**
   * Records the session's timeline for {@link Session.report} / {@link Session.reportData}: node calls,
   * queue depths, drops, errors, node events and the audio's envelope, within fixed caps (see
   * `REPORT_LIMITS`). Off by default: a session that does not record pays nothing.
   */
  record?: boolean;
  /**
   * The format of the audio you will push. Format negotiation starts from it: with it, a node that
   * cannot take that format is reported before anything runs (or, with `negotiate`, gets a converter).
   */
  audioInput?: AudioSpec;
  /**
   * Insert `ChannelMix` / `Resample` / `AudioFormat` converters where a node does not accept the
   * format it would get (overrides the manifest's `negotiate`; translated RemoteMedia SDK manifests
   * negotiate by default). See {@link checkManifest} for what gets inserted.
   */
  negotiate?: boolean;
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
  #s: SessionState;
  #observer: Observer;
  #io: SessionIo;
  /** The TypeScript nodes, if the manifest has any. */
  #tasks?: HostTasks;
  #iterating = false;
  #signal?: AbortSignal;
  #onAbort?: () => void;
  #readable?: ReadableStream<RuntimeData>;
  #writable?: WritableStream<RuntimeData>;
  #done: Promise<void> = Promise.resolve();
  /** Errors thrown by TypeScript nodes' `cleanup()` (the session had already ended). */
  readonly cleanupErrors: PipelineError[] = [];
  /** The manifest's name, for the report's title. */
  #title = "";

  private constructor(
    native: NativeLibrary,
    handle: number,
    threaded: boolean,
  ) {
    const nodeIds = jsonFromHandle<string[]>(
      checkHandle(native.symbols.rm_session_node_ids(handle), native),
      native,
    );
    this.#s = new SessionState(this, native, handle, threaded, nodeIds);
    this.#observer = new Observer(this.#s);
    this.#io = new SessionIo(this.#s, this.#observer, (r) => this.#abortNow(r));
    sessionRegistry.register(this, { native, handle }, this);
  }

  /**
   * Validates the manifest, builds every node and calls each `initialize` before returning. Throws
   * {@link ManifestError} (with every issue) or {@link PipelineError} (a node failed to initialize).
   */
  static create(manifest: Manifest | string, options?: SessionOptions): Session {
    options ??= {};
    const native = lib();
    const text = manifestText(manifest);
    // Parsed once here (an object is used as it is); the native side parses the text for itself.
    const parsed = parsedManifest(manifest);
    const execution = options.execution ?? "auto";
    if (!["auto", "inline", "threaded"].includes(execution)) {
      throw new ArgumentError(
        `execution must be auto, inline or threaded, got ${String(execution)}`,
      );
    }
    const threaded = execution === "threaded" ||
      (execution === "auto" && hasHeavyNode(parsed));
    const nativeOptions: Record<string, unknown> = { threaded };
    // A tracer or a recording hears every call from the first (a threaded session starts at once).
    if (options.tracer || options.record) nativeOptions.events = true;
    for (const key of ["inputCapacity", "outputCapacity"] as const) {
      const value = options[key];
      if (value === undefined) continue;
      if (!Number.isInteger(value) || value < 1 || value > 1_000_000) {
        throw new ArgumentError(`${key} must be an integer between 1 and 1000000, got ${value}`);
      }
      nativeOptions[key] = value;
    }
    Object.assign(nativeOptions, formatOptions(options));
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
    if (handle === 0) throw lastError(native); // a ManifestError or a PipelineError, from its record
    const session = new Session(native, handle, threaded);
    if (hostSpecs.length > 0) {
      const tasks = new HostTasks(session.#s, session.cleanupErrors);
      session.#tasks = tasks;
      try {
        tasks.add(hostSpecs, local);
      } catch (error) {
        session.dispose();
        throw error;
      }
      session.#done = tasks.start();
    }
    if (options.signal) session.#watch(options.signal);
    if (options.tracer) session.#observer.setTracer(options.tracer);
    if (options.record) {
      session.#observer.record(parsed ?? text);
      session.#title = typeof parsed?.name === "string" ? parsed.name : "";
    }
    return session;
  }

  /**
   * The session's events as they happen: native nodes started (replayed) and finished, node calls with
   * timings, drops on `dropOldest` edges, errors with the node id, and Vad speech start/end. Recording
   * starts with the first call (nothing is recorded, and nothing costs, while nobody listens) and ends
   * when the session ends. Events are delivered in batches as the session makes progress.
   */
  events(): AsyncGenerator<SessionEvent, void, undefined> {
    return this.#observer.events();
  }

  /**
   * Statistics now: per node (in manifest order) `itemsIn`, `itemsOut`, `totalMs`, `maxMs`, `p50Ms`,
   * `p95Ms`, `errors`, `queueDepth` and `dropped`; the input and output queue depths; the items pushed
   * and taken through this object, and the end-to-end latency of the outputs taken (p50/p95/max).
   */
  stats(): SessionStats {
    return this.#observer.stats();
  }

  /**
   * The recorded timeline as JSON (see {@link ReportData}): per node its calls, queue depth and drops over
   * time, node events (speech, turns), errors, the input and output waveforms, the per-node statistics
   * and the manifest. Works while the session runs and after it ended or was disposed. Throws a
   * `RemoteMediaError` (`invalid_argument`) unless the session was created with `record: true`.
   *
   * @example
   * ```ts
   * import { RuntimeData, Session } from "./mod.ts";
   * const session = Session.create({ version: 1, nodes: [{ id: "p", type: "PassThrough" }] }, { record: true });
   * await session.push(RuntimeData.audio({ samples: new Float32Array(320), sampleRate: 16000 }));
   * session.close();
   * for await (const out of session) out.dispose();
   * console.log(session.reportData().nodes[0].calls.values.count);
   * ```
   */
  reportData(): ReportData {
    const recorder = this.#observer.recorder;
    if (!recorder) {
      throw new RemoteMediaError(
        "invalid_argument",
        "this session does not record: create it with Session.create(manifest, { record: true })",
      );
    }
    this.#observer.collect();
    return recorder.data();
  }

  /**
   * The recorded timeline as one self-contained HTML page (inline SVG, canvas and script; no network):
   * waveforms, speech and turn bands, one lane per node, the statistics table and the manifest, on one
   * time axis. Write it to a file and open it in a browser. Throws as {@link Session.reportData} does.
   */
  report(): string {
    return reportHtml(this.reportData(), this.#title);
  }

  /**
   * The outputs as a `ReadableStream` (pull-based: a slow reader slows the pipeline). Cancelling it
   * aborts the session. Use either this or async iteration, not both.
   */
  get readable(): ReadableStream<RuntimeData> {
    this.#readable ??= this.#io.stream(-1, (reason) => this.abort(reason));
    return this.#readable;
  }

  /**
   * The input as a `WritableStream`: each written item is pushed (a full pipeline makes `write` wait)
   * and then released — the stream owns what is written to it. Closing the stream closes the session's
   * input; aborting it aborts the session, and so does an item the session refuses (the write rejects
   * and the outputs end with the same error).
   */
  get writable(): WritableStream<RuntimeData> {
    this.#writable ??= new WritableStream<RuntimeData>({
      write: async (data) => {
        try {
          await this.push(data);
        } catch (error) {
          // A refused item (a type no entry takes, audio against the declared audioInput) errors the
          // writable; the session must end with it too, or its readable side would wait forever.
          if (!this.finished) this.abort(error).catch(() => {});
          throw error;
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
    const done = this.#tasks?.needsDriving ? this.#driven(this.#done) : this.#done;
    return done.then(() => {
      if (this.#s.aborted) throw this.#s.abortReason;
    });
  }

  /** Waits for `promise` while keeping native progress flowing (someone is waiting for this session). */
  async #driven(promise: Promise<void>): Promise<void> {
    const s = this.#s;
    let settled = false;
    const watched = promise.finally(() => {
      settled = true;
      s.progress.notify();
    });
    while (!settled && s.handle !== 0) {
      await waitForProgress(s, s.eventCounter());
    }
    return watched;
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

  /** Node ids in manifest order. */
  get nodeIds(): readonly string[] {
    return this.#s.nodeIds;
  }

  /** True when the graph runs on the native worker pool. */
  get threaded(): boolean {
    return this.#s.threaded;
  }

  /**
   * The entry nodes, where pushed items go: nodes without incoming connections, except sources that
   * start by themselves (a `WavReader` with a `path`). Each with the data types its input accepts.
   */
  get entries(): readonly SessionEntry[] {
    return this.#io.entries;
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
    return this.#io.tryPush(data, options);
  }

  /**
   * Offers one item, waiting while the queues are full (backpressure: a slow consumer slows the producer;
   * nothing is dropped). Resolves once the item was taken. A `signal` that fires while waiting aborts
   * the session (as `abort()` does) and rejects with the signal's reason.
   *
   * The item goes to every entry node whose input accepts its data type, or with `to` to that entry
   * only (e.g. `push(text, { to: "chat" })` next to an audio entry); see {@link Session.tryPush}.
   */
  push(data: RuntimeData, options?: { signal?: AbortSignal; to?: string }): Promise<void> {
    return this.#io.push(data, options ?? {});
  }

  /**
   * Takes the next ready output without waiting (`undefined` when none is ready yet). Throws the
   * {@link PipelineError} once all outputs before a node failure were taken.
   */
  poll(): RuntimeData | undefined {
    return this.#io.poll(-1);
  }

  /** Ended, failed or aborted. */
  get finished(): boolean {
    return this.#s.finished;
  }

  /**
   * The next output, waiting for it; `undefined` once the session ended. A `signal` that fires while
   * waiting aborts the session (as `abort()` does) and rejects with the signal's reason.
   */
  next(options?: { signal?: AbortSignal }): Promise<RuntimeData | undefined> {
    return this.#io.next(-1, options?.signal);
  }

  /** Ids of the sink nodes (no outgoing connections): the nodes whose outputs leave the session. */
  get sinkIds(): readonly string[] {
    return this.#io.sinkIds;
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
    options?: { signal?: AbortSignal },
  ): AsyncGenerator<RuntimeData, void, undefined> {
    return this.#io.iterate(this.#io.sinkIndex(sinkId), options?.signal);
  }

  /** One sink's outputs as a pull-based `ReadableStream` (see {@link Session.outputs}). */
  sinkReadable(sinkId: string): ReadableStream<RuntimeData> {
    return this.#io.stream(this.#io.sinkIndex(sinkId), (reason) => this.abort(reason));
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
    const s = this.#s;
    checkStatus(s.native.symbols.rm_session_close(s.h()), s.native);
    s.progress.notify();
  }

  #abortNow(reason?: unknown): void {
    const s = this.#s;
    if (!s.aborted) {
      s.aborted = true;
      s.abortReason = reason ?? abortError("the session was aborted");
      this.#tasks?.abort(s.abortReason);
    }
    s.native.symbols.rm_session_abort(s.h());
    s.progress.notify();
  }

  /**
   * Stops now: queued items are released, every node is cleaned up (TypeScript nodes see `ctx.signal`
   * abort). Like `fetch`, whoever waits on the session then gets `reason` (default: an `AbortError`):
   * `next()` and iteration throw it, `done` rejects with it. Outputs already taken stay valid. Resolves
   * once the session has stopped.
   */
  async abort(reason?: unknown): Promise<void> {
    const s = this.#s;
    if (s.handle === 0) return;
    this.#abortNow(reason);
    for (;;) {
      const seen = s.eventCounter();
      if (this.finished) break;
      await waitForProgress(s, seen);
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
  interrupt(options?: { from?: string | string[] }): number {
    const s = this.#s;
    const native = s.native;
    const from = options?.from;
    let dropped: number;
    let branch: Set<number> | undefined;
    if (from === undefined) {
      dropped = native.symbols.rm_session_interrupt(s.h());
    } else {
      const ids = Array.isArray(from) ? from : [from];
      const indices = Uint32Array.from(ids, (id) => {
        const i = s.nodeIds.indexOf(id);
        if (i < 0) {
          throw new ArgumentError(
            `interrupt: no node "${id}" in this session (nodes: ${s.nodeIds.join(", ")})`,
          );
        }
        return i;
      });
      // The engine says which nodes the branch reached: TypeScript does not recompute the graph.
      const mask = new Uint8Array(s.nodeIds.length);
      dropped = native.symbols.rm_session_interrupt_branch(
        s.h(),
        indices,
        indices.length,
        mask,
        mask.length,
      );
      branch = new Set([...mask.keys()].filter((i) => mask[i] === 1));
    }
    if (dropped < 0) throw lastError(native);
    // In-flight TS tasks of the interrupted nodes were cancelled natively: their next emit stops them.
    // Every reset runs, even when one throws; failures are reported together afterwards.
    const failures = this.#tasks?.interrupt(branch) ?? [];
    s.progress.notify();
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

  /** Aborts if still running and frees the native session. Outputs already taken stay valid. */
  dispose(): void {
    const s = this.#s;
    const handle = s.handle;
    if (handle === 0) return;
    try {
      this.#observer.collect(); // a recording keeps what the session did up to its end
    } catch {
      // the report keeps what it had; freeing the session matters more
    }
    this.#observer.stop();
    s.handle = 0;
    sessionRegistry.unregister(this);
    if (this.#signal && this.#onAbort) this.#signal.removeEventListener("abort", this.#onAbort);
    // TypeScript nodes still working (a fetch, a timer) are told to stop.
    this.#tasks?.abort(s.abortReason ?? abortError("the session was disposed"));
    s.progress.notify();
    if (s.native.symbols.rm_session_free(handle) < 0) throw lastError(s.native);
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
