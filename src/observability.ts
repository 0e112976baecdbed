/**
 * What a session lets you observe: its events as they happen (`events()`), one span per node call for
 * a `Tracer`, and `stats()` (per-node counts, timings and queue depths, with end-to-end output
 * latency). `Observer` (internal) keeps a session's counters and reads the native event log.
 *
 * @module
 */
import type { NodeMetrics, SessionEvent } from "../ffi/contract.ts";
import { RemoteMediaError } from "./errors.ts";
import { checkHandle } from "./native.ts";
import { waitForProgress } from "./host_tasks.ts";
import { jsonFromHandle } from "./schemas.ts";
import type { SessionState } from "./session_state.ts";

/**
 * Per-node statistics of a session (see {@link Session.stats}): the native metrics of one node, typed
 * from the crate (generated into `ffi/contract.ts`).
 */
export type NodeStats = NodeMetrics;

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

/** A session's counters, tracer and event log (one per session). @internal */
export class Observer {
  #s: SessionState;
  #tracer?: Tracer;
  #startedAt = performance.now();
  #pushed = 0;
  #taken = 0;
  #latencies: number[] = [];
  #latencyMax = 0;

  constructor(state: SessionState) {
    this.#s = state;
  }

  /** Delivers a span per node call to `tracer` (starts the native event recording). */
  setTracer(tracer: Tracer): void {
    this.#tracer = tracer;
    this.#s.native.symbols.rm_session_set_events(this.#s.handle, 1);
  }

  /** Counts an item pushed. */
  pushed(): void {
    this.#pushed++;
  }

  /** Counts an output taken, with its end-to-end latency in microseconds. */
  taken(latency: number): void {
    this.#taken++;
    if (this.#latencies.length >= 4096) this.#latencies[this.#taken % 4096] = latency;
    else this.#latencies.push(latency);
    if (latency > this.#latencyMax) this.#latencyMax = latency;
    if (this.#tracer) this.flushTrace();
  }

  /** Delivers recorded events to the tracer (called as outputs are taken and at the end). */
  flushTrace(): void {
    if (!this.#tracer || this.#s.handle === 0) return;
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
    const native = this.#s.native;
    const batch = jsonFromHandle<{ events: SessionEvent[]; dropped: number }>(
      checkHandle(native.symbols.rm_session_events(this.#s.h()), native),
      native,
    );
    return batch.events;
  }

  /** The session's events as they happen (see `Session.events`). */
  async *events(): AsyncGenerator<SessionEvent, void, undefined> {
    const s = this.#s;
    if (this.#tracer) {
      throw new RemoteMediaError(
        "invalid_argument",
        "events() and a tracer cannot share a session",
      );
    }
    s.native.symbols.rm_session_set_events(s.h(), 1);
    for (;;) {
      if (s.handle === 0) return;
      const seen = s.eventCounter();
      const batch = this.#drainEvents();
      for (const e of batch) yield e;
      if (batch.length === 0) {
        if (s.finished) {
          const rest = s.handle === 0 ? [] : this.#drainEvents();
          for (const e of rest) yield e;
          return;
        }
        await waitForProgress(s, seen);
      }
    }
  }

  /** A snapshot of the session's statistics (see `Session.stats`). */
  stats(): SessionStats {
    const native = this.#s.native;
    const m = jsonFromHandle<{ nodes: NodeStats[]; inputQueue: number; outputQueue: number }>(
      checkHandle(native.symbols.rm_session_metrics(this.#s.h()), native),
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
}
