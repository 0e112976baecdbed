/**
 * What the rooms of a session share (internal; nothing here is exported by `mod.ts`): the numbers of
 * the session protocol (phases, push and emit results, the task-info layout), the state of one session
 * (`SessionState`: its native handle, wake-up signal, abort state, what its TypeScript nodes threw),
 * and the `Signal` it wakes its waiters with. `session.ts` (the public class and its core), `host_tasks.ts`
 * (TypeScript nodes) and `observability.ts` (events, tracer, stats) work on that state.
 *
 * @module
 */
import { RM_TASK_HEADER_LEN, SessionPhase, TaskSlot } from "../ffi/contract.ts";
import type { NativeLibrary } from "../ffi/symbols.ts";
import { DisposedError, PipelineError } from "./errors.ts";
import { jsonFromHandle } from "./schemas.ts";

// The numbers of the session protocol (phases, push/emit outcomes, the task layout) come from the
// generated contract (ffi/contract.ts), never from here.

/** Size of a new task-info buffer (room for 8 inputs; grown for many-port nodes). @internal */
export const TASK_INFO_LEN: number = RM_TASK_HEADER_LEN + 8;

/** One task of a TypeScript node, as `rm_session_take_task` describes it. @internal */
export interface Task {
  /** Ticket to answer with (`rm_session_emit`, `rm_session_task_done`, `rm_session_task_fail`). */
  ticket: number;
  /** Manifest index of the node. */
  node: number;
  /** `HostTaskKind.Flush`, or `HostTaskKind.Process` for a call with inputs. */
  kind: number;
  /** The inputs' data handles (owned by the task). */
  handles: number[];
  /** For each input, the index of its port. */
  ports: number[];
}

/** Reads the task `rm_session_take_task` wrote into `info`. @internal */
export function readTask(info: BigUint64Array): Task {
  const count = Number(info[TaskSlot.Count]);
  const items = RM_TASK_HEADER_LEN;
  return {
    ticket: Number(info[TaskSlot.Ticket]),
    node: Number(info[TaskSlot.Node]),
    kind: Number(info[TaskSlot.Kind]),
    handles: Array.from(info.subarray(items, items + count), Number),
    ports: Array.from(info.subarray(items + count, items + 2 * count), Number),
  };
}

/** A wake-up signal: `wait()` resolves on the next `notify()`. @internal */
export class Signal {
  /** Another signal notified with this one (a session's progress wakes its pump). */
  linked?: Signal;
  #resolve: (() => void) | undefined;
  #promise: Promise<void> | undefined;

  /** Resolves on the next `notify()`. */
  wait(): Promise<void> {
    this.#promise ??= new Promise<void>((resolve) => {
      this.#resolve = resolve;
    });
    return this.#promise;
  }

  /** Wakes every waiter (and the linked signal). */
  notify(): void {
    this.linked?.notify();
    const resolve = this.#resolve;
    this.#promise = undefined;
    this.#resolve = undefined;
    resolve?.();
  }
}

/** The state of one session, shared by its rooms. @internal */
export class SessionState {
  /** The library the session belongs to. */
  readonly native: NativeLibrary;
  /** The native session; 0 once disposed. */
  handle: number;
  /** True when the native worker pool runs the graph. */
  readonly threaded: boolean;
  /** Node ids in manifest order. */
  readonly nodeIds: string[];
  /** Notified on local progress: an item pushed or taken, a task done, a close or abort. */
  readonly progress: Signal = new Signal();
  /** True once aborted. */
  aborted = false;
  /** Why the session was aborted: thrown by `next()`, iteration and `done` (like `fetch`). */
  abortReason: unknown;
  /** What TypeScript nodes threw, by node id: the `cause` of the session's `PipelineError`. */
  readonly causes: Map<string, unknown> = new Map();
  /**
   * The public `Session`, held so that whatever holds this state (a running TypeScript task, an
   * `events()` iterator) keeps the session alive, and its GC backstop does not free it meanwhile.
   */
  readonly owner: object;

  constructor(
    owner: object,
    native: NativeLibrary,
    handle: number,
    threaded: boolean,
    nodeIds: string[],
  ) {
    this.owner = owner;
    this.native = native;
    this.handle = handle;
    this.threaded = threaded;
    this.nodeIds = nodeIds;
  }

  /** The handle, or a `DisposedError` once the session was disposed. */
  h(): number {
    if (this.handle === 0) throw new DisposedError("Session");
    return this.handle;
  }

  /** The native event counter, read before a check so that a wait after it cannot miss progress. */
  eventCounter(): number {
    return this.threaded ? this.native.symbols.rm_events_current() : 0;
  }

  /** The error that ended the session, if a node failed. */
  failure(): PipelineError | undefined {
    const native = this.native;
    const handle = native.symbols.rm_session_failure(this.h());
    if (handle === 0) return undefined;
    const f = jsonFromHandle<{ nodeId: string; nodeType: string; message: string }>(
      handle,
      native,
    );
    const cause = this.causes.get(f.nodeId);
    return new PipelineError(
      f.nodeId,
      f.nodeType,
      f.message,
      cause === undefined ? undefined : { cause },
    );
  }

  /** Ended, failed or aborted (or disposed). */
  get finished(): boolean {
    if (this.handle === 0) return true;
    const phase = this.native.symbols.rm_session_phase(this.handle);
    return phase >= SessionPhase.Ended || phase < 0;
  }
}

/** The `AbortError` a session uses when it is aborted or interrupted without a reason of its own. @internal */
export function abortError(message: string): DOMException {
  return new DOMException(message, "AbortError");
}

/** The message of a thrown value. @internal */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
