/**
 * What a session lets you observe: its events as they happen (`events()`), one span per node call for
 * a `Tracer`, and `stats()` (per-node counts, timings and queue depths, with end-to-end output
 * latency). `Observer` (internal) keeps a session's counters and reads the native event log; when the
 * session records (`record: true`), it feeds the `Recorder` of its timeline report (`report/data.ts`).
 *
 * @module
 */
import type { NodeMetrics, SessionEvent } from "../ffi/contract.ts";
import { RemoteMediaError } from "./errors.ts";
import { checkHandle } from "./native.ts";
import { waitForProgress } from "./host_tasks.ts";
import { jsonFromHandle } from "./schemas.ts";
import type { SessionState } from "./session_state.ts";
import type { RuntimeData } from "./runtime_data.ts";
import { Recorder } from "./report/data.ts";
import { clearInterval, setInterval } from "node:timers";

/** A recording session drains its event log and samples its queues every this many pushes or takes. */
const RECORD_EVERY = 8;
/**
 * ... and, when threaded, every this many milliseconds: a source (a `WavReader` with a path) runs with
 * no push and may emit little, while the native log keeps only its newest 8192 events.
 */
const RECORD_INTERVAL_MS = 20;

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
  /** Set when the session records its timeline; nothing below costs anything otherwise. */
  #recorder?: Recorder;
  #sinceCollect = 0;
  /** True while `events()` iterates: events a recording drain took wait here for it. */
  #listening = false;
  #pending: SessionEvent[] = [];
  #timer?: ReturnType<typeof setInterval>;

  constructor(state: SessionState) {
    this.#s = state;
  }

  /** Starts recording the session's timeline (see `Session.reportData`). */
  record(manifest: unknown): void {
    // Lanes in the order people read the graph: a converter format negotiation inserted just before
    // the node it converts for (the native metrics list them so).
    this.#recorder = new Recorder(manifest, this.#metrics().nodes.map((n) => n.id));
    this.#s.native.symbols.rm_session_set_events(this.#s.handle, 1);
    if (!this.#s.threaded) return;
    // Held weakly and unref'd: the timer neither keeps a forgotten session alive nor the process.
    const observer = new WeakRef(this);
    const timer = setInterval(() => {
      const o = observer.deref();
      if (!o || o.#s.handle === 0 || o.#s.finished) {
        clearInterval(timer);
        return;
      }
      try {
        o.collect();
      } catch {
        // the session failed or ended meanwhile: its report keeps what it had
      }
    }, RECORD_INTERVAL_MS);
    timer.unref();
    this.#timer = timer;
  }

  /** Stops a recording's timer (the session is being freed). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The recorder, when the session records. */
  get recorder(): Recorder | undefined {
    return this.#recorder;
  }

  #nowUs(): number {
    return (performance.now() - this.#startedAt) * 1000;
  }

  /**
   * Takes what the session recorded so far (events, a metrics sample) into the recorder: every
   * `RECORD_EVERY` operations, at the end, and before a report.
   */
  collect(): void {
    const recorder = this.#recorder;
    if (!recorder || this.#s.handle === 0) return;
    this.#sinceCollect = 0;
    if (this.#tracer) this.#deliverSpans();
    else {
      const events = this.#drainEvents();
      if (this.#listening) { for (const e of events) this.#pending.push(e); }
    }
    const m = this.#metrics();
    recorder.sample(m.nodes, m.inputQueue, this.#nowUs());
  }

  /** Delivers a span per node call to `tracer` (starts the native event recording). */
  setTracer(tracer: Tracer): void {
    this.#tracer = tracer;
    this.#s.native.symbols.rm_session_set_events(this.#s.handle, 1);
  }

  /** Counts an item pushed. */
  pushed(data: RuntimeData): void {
    this.#pushed++;
    if (this.#recorder) {
      this.#recorder.pushed(data.isAudio() ? data.asAudio() : undefined, this.#nowUs());
      if (++this.#sinceCollect >= RECORD_EVERY) this.collect();
    }
  }

  /** Counts an output taken, with its end-to-end latency in microseconds. */
  taken(latency: number, out: RuntimeData): void {
    this.#taken++;
    if (this.#latencies.length >= 4096) this.#latencies[this.#taken % 4096] = latency;
    else this.#latencies.push(latency);
    if (latency > this.#latencyMax) this.#latencyMax = latency;
    if (this.#recorder) {
      if (out.isAudio()) this.#recorder.output(out.asAudio());
      if (++this.#sinceCollect >= RECORD_EVERY) this.collect();
    } else if (this.#tracer) this.flushTrace();
  }

  /** Delivers recorded events to the tracer (called as outputs are taken and at the end). */
  flushTrace(): void {
    if (this.#recorder) this.collect();
    else if (this.#tracer && this.#s.handle !== 0) this.#deliverSpans();
  }

  #deliverSpans(): void {
    if (!this.#tracer) return;
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
    this.#recorder?.events(batch.events, batch.dropped);
    return batch.events;
  }

  #metrics(): { nodes: NodeStats[]; inputQueue: number; outputQueue: number } {
    const native = this.#s.native;
    return jsonFromHandle<{ nodes: NodeStats[]; inputQueue: number; outputQueue: number }>(
      checkHandle(native.symbols.rm_session_metrics(this.#s.h()), native),
      native,
    );
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
    this.#listening = true;
    try {
      for (;;) {
        if (s.handle === 0) return;
        const seen = s.eventCounter();
        const batch = this.#take();
        for (const e of batch) yield e;
        if (batch.length === 0) {
          if (s.finished) {
            const rest = s.handle === 0 ? this.#pending.splice(0) : this.#take();
            for (const e of rest) yield e;
            return;
          }
          await waitForProgress(s, seen);
        }
      }
    } finally {
      this.#listening = false;
    }
  }

  /** Events a recording drain kept for `events()`, then the log's. */
  #take(): SessionEvent[] {
    const fresh = this.#drainEvents();
    if (this.#pending.length === 0) return fresh;
    const all = this.#pending.splice(0);
    for (const e of fresh) all.push(e);
    return all;
  }

  /** A snapshot of the session's statistics (see `Session.stats`). */
  stats(): SessionStats {
    const m = this.#metrics();
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
