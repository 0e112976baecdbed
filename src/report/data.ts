/**
 * What a recording session keeps for its timeline report (`Session.create(m, { record: true })`), and
 * the JSON `Session.reportData()` returns. `Recorder` (internal) is fed by the session's `Observer`:
 * the native events it drains (process calls, drops, errors, node events such as speech and turns),
 * queue-depth samples, and the audio pushed and taken (a min/max envelope computed as it arrives).
 *
 * Bounded: every time series is a fixed number of buckets. A bucket starts narrow (10 ms of audio for a
 * waveform, 1 ms for node calls); when a series reaches its cap, neighbouring buckets are merged pairwise
 * and the bucket width doubles, so older detail is downsampled and nothing grows without bound. Node
 * events and errors are lists with a cap (what comes after it is counted, not kept). See {@link LIMITS}.
 *
 * @module
 */
import type { NodeEventRecord, SessionEvent } from "../../ffi/contract.ts";
import type { AudioView } from "../data_types.ts";
import type { NodeStats } from "../observability.ts";

/**
 * The caps of a recording. They do not depend on the run's length: an hour (or ten) of audio is
 * recorded in the same space as a minute, at a coarser bucket width.
 */
export const LIMITS = {
  /** Columns of each waveform (input, output); each holds min and max. */
  waveformColumns: 8192,
  /** Buckets of each node's call lane (calls, total and longest duration per bucket). */
  callBuckets: 4096,
  /** Buckets of each queue-depth series (and of each node's drops). */
  queueBuckets: 2048,
  /** Node events kept (speech, turns, alerts); later ones are counted in `lost.nodeEvents`. */
  nodeEvents: 10000,
  /** Errors kept; later ones are counted in `lost.errors`. */
  errors: 1000,
} as const;

/**
 * A downsampled time series: bucket `i` covers `[startUs + i * widthUs, startUs + (i + 1) * widthUs)` on the
 * report's time axis; each field is an array with one value per bucket.
 */
export interface ReportSeries<K extends string> {
  /** Axis time of bucket 0, µs. */
  startUs: number;
  /** Width of a bucket, µs. */
  widthUs: number;
  /** One array per field, all of the same length (the number of buckets). */
  values: Record<K, number[]>;
}

/** One node's lane in a report. */
export interface ReportNode {
  /** Node id. */
  id: string;
  /** Node type. */
  type: string;
  /** Its calls: per bucket how many (`count`), their total and longest duration (`totalUs`, `maxUs`). */
  calls: ReportSeries<"count" | "totalUs" | "maxUs">;
  /** Items waiting in its input queues (the highest sample per bucket). */
  queue: ReportSeries<"max">;
  /** Items dropped on its `dropOldest` input edges, per bucket. */
  drops: ReportSeries<"count">;
}

/** An error a node reported, at its axis time. */
export interface ReportError {
  /** Node id. */
  node: string;
  /** Node type. */
  nodeType: string;
  /** What went wrong. */
  message: string;
  /** Axis time, µs. */
  atUs: number;
}

/** The JSON of a timeline report (see `Session.reportData`). */
export interface ReportData {
  /** Format version (1). */
  version: 1;
  /**
   * The shared time axis. `audio`: the input's audio time (the pushed audio's timestamps, or its
   * samples counted from 0) — node calls, drops, errors and queue samples are placed at the audio time
   * of the input most recently pushed when they happened. `session`: no audio was pushed (a source
   * reads its own file), so the session's clock is used (node events keep their audio times).
   */
  clock: "audio" | "session";
  /** End of the axis, µs. */
  durationUs: number;
  /** The manifest the session ran (as given, parsed when it was JSON). */
  manifest: unknown;
  /** Per node, in manifest order. */
  nodes: ReportNode[];
  /** The per-node statistics at the end of the recording (the CLI's table). */
  stats: NodeStats[];
  /** Items waiting to enter the graph (the highest sample per bucket). */
  inputQueue: ReportSeries<"max">;
  /** Envelope of the pushed audio (all channels), samples scaled to [-1, 1]. */
  input?: ReportSeries<"min" | "max">;
  /** Envelope of the audio taken from the session, on the same axis. */
  output?: ReportSeries<"min" | "max">;
  /** Node events (speech_start/end, turn_start/end, alert/alert_end), in their own audio times. */
  events: NodeEventRecord[];
  /** Node errors. */
  errors: ReportError[];
  /** What the caps or the native event log left out. */
  lost: {
    /** Events the native log dropped before they were read (it keeps the newest 8192). */
    nativeEvents: number;
    /** Node events beyond `LIMITS.nodeEvents`. */
    nodeEvents: number;
    /** Errors beyond `LIMITS.errors`. */
    errors: number;
  };
  /** The caps this report was recorded with. */
  limits: typeof LIMITS;
}

type Merge = "min" | "max" | "sum";

/** A fixed-capacity bucketed series whose bucket width doubles (pairwise merge) when it fills. @internal */
export class Buckets<K extends string> {
  #width: number;
  #cap: number;
  #names: K[];
  #merge: Merge[];
  #data: Float64Array[];
  #used = 0;

  constructor(widthUs: number, cap: number, fields: Record<K, Merge>) {
    this.#width = widthUs;
    this.#cap = cap;
    this.#names = Object.keys(fields) as K[];
    this.#merge = this.#names.map((k) => fields[k]);
    this.#data = this.#names.map((_, i) => this.#fresh(i, cap));
  }

  #fresh(field: number, length: number): Float64Array {
    const empty = this.#merge[field] === "sum" ? 0 : NaN;
    return new Float64Array(length).fill(empty);
  }

  /** Bucket index of axis time `tUs`, merging until it fits. */
  index(tUs: number): number {
    let i = Math.floor(Math.max(0, tUs) / this.#width);
    while (i >= this.#cap) {
      this.#halve();
      i = Math.floor(Math.max(0, tUs) / this.#width);
    }
    if (i + 1 > this.#used) this.#used = i + 1;
    return i;
  }

  /** Merges neighbouring buckets pairwise; the width doubles. */
  #halve(): void {
    for (let f = 0; f < this.#data.length; f++) {
      const d = this.#data[f];
      const merge = this.#merge[f];
      const half = this.#cap / 2;
      for (let i = 0; i < half; i++) {
        const a = d[2 * i], b = d[2 * i + 1];
        d[i] = merge === "sum"
          ? a + b
          : Number.isNaN(a)
          ? b
          : Number.isNaN(b)
          ? a
          : merge === "min"
          ? Math.min(a, b)
          : Math.max(a, b);
      }
      d.fill(merge === "sum" ? 0 : NaN, half);
    }
    this.#width *= 2;
    this.#used = Math.ceil(this.#used / 2);
  }

  /** Folds `value` into field `field` (its position in the field list) of bucket `i`. */
  put(i: number, field: number, value: number): void {
    const d = this.#data[field];
    const old = d[i];
    const merge = this.#merge[field];
    d[i] = merge === "sum"
      ? old + value
      : Number.isNaN(old)
      ? value
      : merge === "min"
      ? Math.min(old, value)
      : Math.max(old, value);
  }

  /** Width of a bucket now, µs. */
  get widthUs(): number {
    return this.#width;
  }

  /** The series as JSON (empty min/max buckets become 0), values rounded to `digits` decimals. */
  json(digits = 0): ReportSeries<K> {
    const scale = 10 ** digits;
    const values = {} as Record<K, number[]>;
    this.#names.forEach((name, f) => {
      const out = new Array<number>(this.#used);
      const d = this.#data[f];
      for (let i = 0; i < this.#used; i++) {
        const v = d[i];
        out[i] = Number.isNaN(v) ? 0 : Math.round(v * scale) / scale;
      }
      values[name] = out;
    });
    return { startUs: 0, widthUs: this.#width, values };
  }
}

/** The min/max envelope of audio as it passes, on the report's axis. @internal */
class Envelope {
  readonly buckets = new Buckets(10_000, LIMITS.waveformColumns, { min: "min", max: "max" });
  #nextUs = 0;

  add(audio: AudioView): void {
    const { samples, channels, sampleRate } = audio;
    const scale = samples instanceof Float32Array
      ? 1
      : samples instanceof Int16Array
      ? 1 / 32768
      : 1 / 2147483648;
    const startUs = audio.timestampUs ?? this.#nextUs;
    const frames = audio.numSamples;
    this.#nextUs = startUs + frames * 1e6 / sampleRate;
    let frame = 0;
    while (frame < frames) {
      const i = this.buckets.index(startUs + frame * 1e6 / sampleRate);
      // The frames of this bucket: up to the next bucket's start.
      const endUs = (i + 1) * this.buckets.widthUs;
      const end = Math.min(
        frames,
        Math.max(frame + 1, Math.ceil((endUs - startUs) * sampleRate / 1e6)),
      );
      let lo = Infinity, hi = -Infinity;
      for (let s = frame * channels, e = end * channels; s < e; s++) {
        const v = samples[s];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      this.buckets.put(i, 0, lo * scale);
      this.buckets.put(i, 1, hi * scale);
      frame = end;
    }
  }

  /** End of the audio seen so far, µs. */
  get endUs(): number {
    return this.#nextUs;
  }
}

interface Lane {
  id: string;
  type: string;
  calls: Buckets<"count" | "totalUs" | "maxUs">;
  queue: Buckets<"max">;
  drops: Buckets<"count">;
}

/** How many recent pushes map session time to audio time (the events between two drains). */
const PUSH_RING = 1024;

/** Records what a session did, for its report (see the module comment). @internal */
export class Recorder {
  #manifest: unknown;
  #lanes = new Map<string, Lane>();
  #order: string[];
  #inputQueue = new Buckets(10_000, LIMITS.queueBuckets, { max: "max" });
  #input?: Envelope;
  #output?: Envelope;
  #events: NodeEventRecord[] = [];
  #errors: ReportError[] = [];
  #lost = { nativeEvents: 0, nodeEvents: 0, errors: 0 };
  #stats: NodeStats[] = [];
  #pushSession = new Float64Array(PUSH_RING);
  #pushAudio = new Float64Array(PUSH_RING);
  #pushes = 0;
  #lastSessionUs = 0;

  constructor(manifest: unknown, nodeIds: readonly string[]) {
    this.#manifest = manifest;
    this.#order = [...nodeIds];
    for (const id of nodeIds) this.#lane(id);
  }

  #lane(id: string): Lane {
    let lane = this.#lanes.get(id);
    if (!lane) {
      lane = {
        id,
        type: "",
        calls: new Buckets(1_000, LIMITS.callBuckets, {
          count: "sum",
          totalUs: "sum",
          maxUs: "max",
        }),
        queue: new Buckets(10_000, LIMITS.queueBuckets, { max: "max" }),
        drops: new Buckets(10_000, LIMITS.queueBuckets, { count: "sum" }),
      };
      this.#lanes.set(id, lane);
      if (!this.#order.includes(id)) this.#order.push(id);
    }
    return lane;
  }

  /** Axis time of session time `sessionUs`: the audio time of the latest push at or before it. */
  #axis(sessionUs: number): number {
    if (this.#pushes === 0) return sessionUs;
    // Binary search over the ring (pushes are in session-time order).
    const n = Math.min(this.#pushes, PUSH_RING);
    const first = this.#pushes - n;
    let lo = first, hi = this.#pushes - 1;
    if (this.#pushSession[lo % PUSH_RING] > sessionUs) return this.#pushAudio[lo % PUSH_RING];
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#pushSession[mid % PUSH_RING] <= sessionUs) lo = mid;
      else hi = mid - 1;
    }
    return this.#pushAudio[lo % PUSH_RING];
  }

  /** An item was pushed at session time `sessionUs`. */
  pushed(audio: AudioView | undefined, sessionUs: number): void {
    this.#lastSessionUs = sessionUs;
    if (!audio) return;
    this.#input ??= new Envelope();
    this.#input.add(audio);
    const at = this.#pushes % PUSH_RING;
    this.#pushSession[at] = sessionUs;
    this.#pushAudio[at] = this.#input.endUs;
    this.#pushes++;
  }

  /** Audio was taken from the session. */
  output(audio: AudioView): void {
    this.#output ??= new Envelope();
    this.#output.add(audio);
  }

  /** Native events drained from the session's log (`dropped`: what the log lost before). */
  events(events: SessionEvent[], dropped: number): void {
    this.#lost.nativeEvents += dropped;
    for (const e of events) {
      switch (e.type) {
        case "process": {
          const lane = this.#lane(e.node);
          const i = lane.calls.index(this.#axis(e.startUs));
          lane.calls.put(i, 0, 1);
          lane.calls.put(i, 1, e.durationUs);
          lane.calls.put(i, 2, e.durationUs);
          break;
        }
        case "drop": {
          const lane = this.#lane(e.node);
          lane.drops.put(lane.drops.index(this.#axis(e.atUs)), 0, 1);
          break;
        }
        case "error":
          if (this.#errors.length >= LIMITS.errors) this.#lost.errors++;
          else {
            this.#errors.push({
              node: e.node,
              nodeType: e.nodeType,
              message: e.message,
              atUs: Math.round(this.#axis(e.atUs)),
            });
          }
          break;
        case "node_started":
        case "node_finished":
          break;
        default:
          if (this.#events.length >= LIMITS.nodeEvents) this.#lost.nodeEvents++;
          else this.#events.push(e);
      }
    }
  }

  /** A metrics sample (queue depths) at session time `sessionUs`. */
  sample(nodes: NodeStats[], inputQueue: number, sessionUs: number): void {
    if (sessionUs > this.#lastSessionUs) this.#lastSessionUs = sessionUs;
    const t = this.#axis(sessionUs);
    this.#inputQueue.put(this.#inputQueue.index(t), 0, inputQueue);
    for (const n of nodes) {
      const lane = this.#lane(n.id);
      lane.type = n.type;
      lane.queue.put(lane.queue.index(t), 0, n.queueDepth);
    }
    this.#stats = nodes;
  }

  /** The report's JSON. */
  data(): ReportData {
    const clock = this.#input ? "audio" : "session";
    let durationUs = this.#input ? this.#input.endUs : this.#lastSessionUs;
    if (this.#output && this.#output.endUs > durationUs) durationUs = this.#output.endUs;
    if (clock === "audio") {
      for (const e of this.#events) {
        const end = "endUs" in e ? e.endUs : "timeUs" in e ? e.timeUs : 0;
        if (end > durationUs) durationUs = end;
      }
    }
    return {
      version: 1,
      clock,
      durationUs: Math.round(durationUs),
      manifest: this.#manifest,
      nodes: this.#order.map((id) => {
        const lane = this.#lanes.get(id)!;
        return {
          id,
          type: lane.type,
          calls: lane.calls.json(),
          queue: lane.queue.json(),
          drops: lane.drops.json(),
        };
      }),
      stats: this.#stats,
      inputQueue: this.#inputQueue.json(),
      ...(this.#input ? { input: this.#input.buckets.json(4) } : {}),
      ...(this.#output ? { output: this.#output.buckets.json(4) } : {}),
      events: [...this.#events],
      errors: [...this.#errors],
      lost: { ...this.#lost },
      limits: LIMITS,
    };
  }
}
