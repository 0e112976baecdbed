/**
 * Items in and out of a session (internal, behind `Session`): pushes routed to entries and served in
 * call order with backpressure, outputs taken from every sink or from one, the waits between them, the
 * errors that end them (a node failure, an abort), and the pull-based streams built on them. Also the
 * public `SessionEntry` type.
 *
 * @module
 */
import { POLL_INFO_LEN } from "../ffi/symbols.ts";
import { waitForProgress, yieldIfBusy } from "./host_tasks.ts";
import { checkHandle, lastError } from "./native.ts";
import { describe } from "./node.ts";
import type { Observer } from "./observability.ts";
import type { DataType } from "./data_types.ts";
import { RuntimeData } from "./runtime_data.ts";
import { jsonFromHandle } from "./schemas.ts";
import { abortError, type SessionState } from "./session_state.ts";
import { PollSlot, PushOutcome, SessionPhase, Status } from "../ffi/contract.ts";
import { ArgumentError } from "./errors.ts";

/** An entry node of a session: where pushed items go (see {@link Session.entries}). */
export interface SessionEntry {
  /** Node id (the `to` of `push(data, { to })`). */
  readonly id: string;
  /** Node type. */
  readonly type: string;
  /** Data types its input accepts: a push without `to` goes to every entry accepting the item's type. */
  readonly accepts: readonly DataType[];
}

/** The input and output side of one session. @internal */
export class SessionIo {
  #s: SessionState;
  #observer: Observer;
  /** Aborts the session now (`Session`'s abort without the wait). */
  #abortNow: (reason: unknown) => void;
  #info = new Float64Array(POLL_INFO_LEN);
  #entries?: readonly SessionEntry[];
  #sinkIds?: string[];
  /** Pushes waiting for their turn (they are served in call order). */
  #pushesWaiting = 0;
  #pushTail: Promise<void> = Promise.resolve();

  constructor(
    state: SessionState,
    observer: Observer,
    abortNow: (reason: unknown) => void,
  ) {
    this.#s = state;
    this.#observer = observer;
    this.#abortNow = abortNow;
  }

  /** The entry nodes (see `Session.entries`). */
  get entries(): readonly SessionEntry[] {
    if (!this.#entries) {
      const native = this.#s.native;
      this.#entries = jsonFromHandle<SessionEntry[]>(
        checkHandle(native.symbols.rm_session_entries(this.#s.h()), native),
        native,
      ).map((e) => Object.freeze({ id: e.id, type: e.type, accepts: Object.freeze(e.accepts) }));
    }
    return this.#entries;
  }

  /** Manifest index of entry `to` (-1 without `to`: every entry accepting the item's type). */
  #entryIndex(to: string | undefined): number {
    if (to === undefined) return -1;
    const index = this.#s.nodeIds.indexOf(to);
    if (index >= 0) return index; // the native side checks that it is an entry accepting the item
    const entries = this.entries.map((e) => `"${e.id}" (${e.type}) accepts ${e.accepts.join("/")}`);
    throw new ArgumentError(
      `push: to "${to}": no node has this id; entries: ${entries.join("; ") || "none"}`,
    );
  }

  /** See `Session.tryPush`. */
  tryPush(data: RuntimeData, options?: { to?: string }): boolean {
    if (!(data instanceof RuntimeData)) {
      throw new ArgumentError(`push expects a RuntimeData, got ${describe(data)}`);
    }
    const s = this.#s;
    const entry = this.#entryIndex(options?.to);
    const status = s.native.symbols.rm_session_push_to(s.h(), data.handle(), entry);
    if (status === PushOutcome.Accepted) {
      this.#observer.pushed(data);
      s.progress.notify();
      return true;
    }
    if (status === PushOutcome.Full) return false;
    // A bad route (no entry takes the item's type, or `to` is not an entry): the session goes on.
    if (status === -Status.InvalidArgument) throw lastError(s.native);
    s.progress.notify(); // a reader waiting for outputs must see the failure too
    const failure = s.failure();
    if (failure) throw failure;
    if (s.aborted) throw s.abortReason;
    throw lastError(s.native);
  }

  /** See `Session.push`. */
  async push(data: RuntimeData, options: { signal?: AbortSignal; to?: string }): Promise<void> {
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
        const seen = this.#s.eventCounter();
        if (this.tryPush(data, options)) return;
        await waitForProgress(this.#s, seen, options.signal);
      }
    } finally {
      this.#pushesWaiting--;
      release();
    }
  }

  /** Aborts the session (and throws the signal's reason) when `signal` has fired. */
  #abortOn(signal?: AbortSignal): void {
    if (signal?.aborted) {
      if (this.#s.handle !== 0 && !this.#s.finished) this.#abortNow(signal.reason);
      throw signal.reason ?? abortError("aborted");
    }
  }

  /** Takes the next output of sink node `sink` (its index), or of any sink when `sink` is -1. */
  poll(sink: number): RuntimeData | undefined {
    const s = this.#s;
    const native = s.native;
    const handle = sink < 0
      ? native.symbols.rm_session_poll(s.h(), this.#info)
      : native.symbols.rm_session_poll_sink(s.h(), sink, this.#info);
    if (handle !== 0) {
      s.progress.notify();
      const out = RuntimeData.fromHandle(
        handle,
        native,
        s.nodeIds[this.#info[PollSlot.Node]],
        this.#info[PollSlot.LatencyUs],
      );
      this.#observer.taken(this.#info[PollSlot.LatencyUs], out);
      return out;
    }
    const phase = this.#info[PollSlot.Phase];
    if (phase === SessionPhase.Failed) {
      s.progress.notify(); // a push waiting for room must see the failure too
      throw s.failure() ?? lastError(native);
    }
    if (phase < 0) throw lastError(native);
    return undefined;
  }

  /** The next output of sink `sink` (-1: any sink), waiting for it; `undefined` once ended. */
  async next(sink: number, signal?: AbortSignal): Promise<RuntimeData | undefined> {
    const s = this.#s;
    for (;;) {
      this.#abortOn(signal);
      const seen = s.eventCounter();
      const out = this.poll(sink);
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
      const phase = this.#info[PollSlot.Phase];
      if (phase === SessionPhase.Ended) {
        this.#observer.flushTrace();
        return undefined;
      }
      if (phase === SessionPhase.Aborted) {
        this.#observer.flushTrace();
        throw s.abortReason ?? abortError("the session was aborted");
      }
      await waitForProgress(s, seen, signal);
    }
  }

  /** The outputs of sink `sink` (-1: every sink) until the session ends. */
  async *iterate(
    sink: number,
    signal?: AbortSignal,
  ): AsyncGenerator<RuntimeData, void, undefined> {
    for (;;) {
      const out = await this.next(sink, signal);
      if (!out) return;
      yield out;
    }
  }

  /** A pull-based stream of the outputs of sink `sink` (-1: every sink); cancelling it aborts. */
  stream(sink: number, abort: (reason: unknown) => Promise<void>): ReadableStream<RuntimeData> {
    return new ReadableStream<RuntimeData>({
      pull: async (controller) => {
        const out = await this.next(sink);
        if (out) controller.enqueue(out);
        else controller.close();
      },
      cancel: (reason) => abort(reason),
    }, { highWaterMark: 0 });
  }

  /** Ids of the sink nodes (no outgoing connections), as the native graph has them. */
  get sinkIds(): readonly string[] {
    if (!this.#sinkIds) {
      const native = this.#s.native;
      this.#sinkIds = jsonFromHandle<string[]>(
        checkHandle(native.symbols.rm_session_sinks(this.#s.h()), native),
        native,
      );
    }
    return this.#sinkIds;
  }

  /** Manifest index of sink `sinkId`; an `ArgumentError` listing the sinks when it is not one. */
  sinkIndex(sinkId: string): number {
    if (!this.sinkIds.includes(sinkId)) {
      throw new ArgumentError(
        `"${sinkId}" is not a sink of this session: outputs come from ${
          this.sinkIds.map((id) => `"${id}"`).join(", ")
        }`,
      );
    }
    return this.#s.nodeIds.indexOf(sinkId);
  }
}
