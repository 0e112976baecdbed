/**
 * The TypeScript nodes of a session (internal): `HostTasks` makes them, runs the pump (initialize,
 * then each task the native graph hands over, then cleanup), hands their outputs back (`emit`, waiting
 * while downstream is full), and resets or aborts them. Also the waiting machinery every room uses:
 * `waitForProgress` (a caller's wait — for threaded sessions through `wakeups.ts`, whose completed native
 * waits also wake the pumps: pumps never wait natively themselves) and `yieldIfBusy` (long runs of
 * promise reactions yield to the event loop).
 *
 * @module
 */
import { PipelineError, RemoteMediaError } from "./errors.ts";
import { encoder, lastError } from "./native.ts";
import {
  drainResult,
  instantiate,
  type LocalTypes,
  type Node,
  type NodeContext,
  type NodeResult,
} from "./node.ts";
import type { NodeSpec } from "./manifest.ts";
import { RuntimeData } from "./runtime_data.ts";
import { EmitOutcome, HostTaskKind } from "../ffi/contract.ts";
import {
  abortError,
  errorMessage,
  readTask,
  type SessionState,
  Signal,
  type Task,
  TASK_INFO_LEN,
} from "./session_state.ts";
import { onNativeWake, watchSession } from "./wakeups.ts";

/** How long an aborted session waits for TypeScript nodes to notice the cancellation. */
const ABORT_GRACE_MS = 500;

/**
 * How long a chain of promise reactions (a fast producer read by `for await`, a push loop that never
 * waits) may run before it yields to the event loop, so that timers, I/O and `AbortSignal.timeout` get
 * their turn. Checking costs one clock read per item; yielding costs one macrotask per slice.
 */
const SLICE_MS = 8;
let sliceStart = performance.now();
/** The clock is read every 16th item only (`performance.now()` costs ~85 ns in Deno). */
let sliceItems = 0;

/**
 * Yields to the event loop (a macrotask) when the current run of microtasks has lasted `SLICE_MS`.
 * @internal
 */
export function yieldIfBusy(): Promise<void> | undefined {
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

function wakePumps(count: number): void {
  if (count > eventsSeen) eventsSeen = count;
  for (const ref of pumps) {
    const signal = ref.deref();
    if (signal) signal.notify();
    else pumps.delete(ref);
  }
}
onNativeWake(wakePumps);

/**
 * Waits until something may have changed since the counter read `seen` (read before the caller's
 * check): outputs taken or input pushed on this thread (inline), or progress of this session on the
 * worker pool (threaded: the session is listed as ready, see `wakeups.ts`). A `signal` that fires ends
 * the wait.
 * @internal
 */
export async function waitForProgress(
  state: SessionState,
  _seen: number,
  signal?: AbortSignal,
): Promise<void> {
  const waits: Promise<unknown>[] = [state.progress.wait()];
  let watch: { progress: Promise<void>; release: () => void } | undefined;
  if (state.threaded && state.handle !== 0) {
    watch = watchSession(state.native, state.handle);
    waits.push(watch.progress);
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
    watch?.release();
    if (onAbort) signal!.removeEventListener("abort", onAbort);
  }
}

/** A TypeScript node of a session. */
interface HostNode {
  id: string;
  type: string;
  node: Node;
  ports: string[];
  /** Aborted on an interrupt reaching the node or on session abort; replaced after an interrupt. */
  controller: AbortController;
}

/** The TypeScript nodes of one session and the pump that runs them. @internal */
export class HostTasks {
  #s: SessionState;
  #nodes = new Map<number, HostNode>();
  /** Errors thrown by `cleanup()` (the session's `cleanupErrors`). */
  #cleanupErrors: PipelineError[];
  /** The pump's own wake-up (threaded sessions; registered in `pumps`). */
  #pumpSignal?: Signal;
  #unregisterPump?: () => void;
  #taskItems = new Set<RuntimeData>();
  /** `[ticket, node, port, kind, count, handles…]` of the next task; grows for many-port nodes. */
  #taskInfo = new BigUint64Array(TASK_INFO_LEN);

  constructor(state: SessionState, cleanupErrors: PipelineError[]) {
    this.#s = state;
    this.#cleanupErrors = cleanupErrors;
  }

  /**
   * Makes the node of each manifest node `spec` at manifest index `index` (a builder instance, or made
   * by its registered type); throws what a factory threw.
   */
  add(specs: readonly { spec: NodeSpec; index: number }[], local?: LocalTypes): void {
    for (const { spec, index } of specs) {
      const { node, ports } = instantiate(spec.type, spec.id, spec.params ?? {}, local);
      this.#nodes.set(index, {
        id: spec.id,
        type: spec.type,
        node,
        ports,
        controller: new AbortController(),
      });
    }
  }

  /**
   * Starts the pump; the promise settles once the session ended and every node's `cleanup()` ran.
   * A threaded session's pump is woken by callers' completed native waits (see `pumps`).
   */
  start(): Promise<void> {
    if (this.#s.threaded) {
      const signal = new Signal();
      this.#pumpSignal = signal;
      this.#s.progress.linked = signal;
      const ref = new WeakRef(signal);
      pumps.add(ref);
      this.#unregisterPump = () => pumps.delete(ref);
    }
    return this.#pump();
  }

  /** True when the pump only moves while someone waits natively on the session's behalf. */
  get needsDriving(): boolean {
    return this.#pumpSignal !== undefined;
  }

  /** Aborts every node's `ctx.signal` with `reason`. */
  abort(reason: unknown): void {
    for (const host of this.#nodes.values()) host.controller.abort(reason);
  }

  /**
   * After a native interrupt: aborts the signal of the nodes in `branch` (every node without it), gives
   * them a fresh one and calls their `reset()`. Every reset runs, even when one throws; the failures are
   * returned.
   */
  interrupt(branch?: ReadonlySet<number>): PipelineError[] {
    const failures: PipelineError[] = [];
    for (const [index, host] of this.#nodes) {
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
    return failures;
  }

  /** Runs TypeScript nodes: initialize, then tasks as the native graph hands them over, then cleanup. */
  async #pump(): Promise<void> {
    const s = this.#s;
    const native = s.native;
    for (const [index, host] of this.#nodes) {
      try {
        await host.node.initialize?.({ nodeId: host.id, signal: host.controller.signal });
      } catch (error) {
        s.causes.set(host.id, error);
        const message = encoder.encode(`initialize: ${errorMessage(error)}`);
        if (s.handle !== 0) {
          native.symbols.rm_session_fail_node(s.handle, index, message, message.length);
        }
        s.progress.notify();
        break;
      }
    }
    const running = new Set<Promise<void>>();
    while (s.handle !== 0) {
      const seen = s.eventCounter();
      const count = native.symbols.rm_session_take_task(
        s.handle,
        this.#taskInfo,
        this.#taskInfo.length,
      );
      if (count > this.#taskInfo.length) {
        // A node with many input ports: the task waits, first in line, for a buffer that fits.
        this.#taskInfo = new BigUint64Array(count);
        continue;
      }
      if (count > 0) {
        const pause = yieldIfBusy();
        if (pause) await pause;
        const task = this.#runTask(readTask(this.#taskInfo));
        running.add(task);
        task.finally(() => running.delete(task));
        continue;
      }
      if (count < 0 || s.finished) break;
      await this.#sleep(seen);
    }
    // Running tasks finish first (after an abort their next emit is refused, which closes generators
    // and runs their `finally`). A node stuck in an await (a generator that never yields) gets
    // ABORT_GRACE_MS after an abort, then the session ends without it.
    const settled = Promise.allSettled(running);
    if (s.aborted || s.handle === 0) {
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
    for (const host of this.#nodes.values()) {
      try {
        await host.node.cleanup?.();
      } catch (error) {
        this.#cleanupErrors.push(
          new PipelineError(host.id, host.type, `cleanup: ${errorMessage(error)}`, {
            cause: error,
          }),
        );
      }
    }
  }

  async #runTask({ ticket, node: nodeIndex, kind, handles, ports }: Task): Promise<void> {
    const s = this.#s;
    const native = s.native;
    const host = this.#nodes.get(nodeIndex)!;
    const ctx: NodeContext = { nodeId: host.id, signal: host.controller.signal };
    const items = handles.map((h) => RuntimeData.fromHandle(h, native));
    for (const item of items) this.#taskItems.add(item);
    try {
      let result: NodeResult;
      const node = host.node;
      if (kind === HostTaskKind.Flush) {
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
      if (s.handle !== 0) native.symbols.rm_session_task_done(s.handle, ticket);
    } catch (error) {
      s.causes.set(host.id, error);
      const message = encoder.encode(errorMessage(error));
      if (s.handle !== 0) {
        native.symbols.rm_session_task_fail(s.handle, ticket, message, message.length);
      }
    } finally {
      for (const item of items) {
        item.dispose();
        this.#taskItems.delete(item);
      }
      s.progress.notify();
    }
  }

  /** Hands one output of a TypeScript node to the graph, waiting while downstream is full. */
  async #emit(ticket: number, data: RuntimeData): Promise<boolean> {
    const s = this.#s;
    const native = s.native;
    if (data.disposed) {
      // Reported with the node's id and type by the task's failure path.
      throw new RemoteMediaError(
        "disposed",
        "emitted a RuntimeData that was already handed to the pipeline (or disposed): each output " +
          "can be emitted once — emit data.clone() to send the same value again",
      );
    }
    for (;;) {
      if (s.handle === 0) return false;
      const seen = s.eventCounter();
      const status = native.symbols.rm_session_emit(s.handle, ticket, data.handle());
      if (status === EmitOutcome.Accepted || status === EmitOutcome.Cancelled) {
        data.dispose(); // the graph holds its own reference
        s.progress.notify();
        return status === EmitOutcome.Accepted;
      }
      if (status !== EmitOutcome.Full) throw lastError(native);
      await this.#sleep(seen);
    }
  }

  /**
   * The pump's and TypeScript nodes' wait: local progress, or (threaded) a completed native wait of a
   * caller — never a native wait of its own (see `pumps`).
   */
  #sleep(seen: number): Promise<void> {
    if (!this.#pumpSignal) return this.#s.progress.wait();
    return eventsSeen > seen ? Promise.resolve() : this.#pumpSignal.wait();
  }
}
