/**
 * The bot's playout: releases its audio to a sink (a speaker, a WebSocket, a phone line) at real-time
 * pace on a {@link Clock}, at most `leadMs` ahead, and knows at every moment how much of each utterance
 * the listener has heard. On interrupt it drops everything not yet played — the audio not released yet,
 * and (through `sink.clear()`) what was released ahead — and reports `{ utteranceId, playedMs,
 * droppedMs }`; afterwards not one sample of that utterance reaches the sink, even if more of it
 * arrives late from the pipeline, unless it is held and {@link Playout.resume}d.
 *
 * @module
 */
import { ArgumentError, DisposedError } from "../errors.ts";
import { toFloat32 } from "../audio.ts";
import type { RuntimeData } from "../runtime_data.ts";
import { type Clock, systemClock } from "./clock.ts";
import { type Listener, Listeners } from "./listeners.ts";
import type {
  InterruptReport,
  PlayoutEvent,
  PlayoutOptions,
  PlayoutSink,
  ResumeReport,
  UtteranceProgress,
  UtteranceState,
} from "./playout_types.ts";

interface Utterance {
  id: string;
  chunks: Float32Array[]; // samples from `base` on
  base: number;
  received: number;
  released: number;
  played: number; // settled: every frame up to here finished playing
  ended: boolean;
  state: UtteranceState;
  started: boolean;
}

interface Released {
  utterance: Utterance;
  offset: number;
  samples: number;
  playAt: number;
}

/** Utterance ids remembered after they finished or were cut (to drop their late audio). */
const REMEMBERED = 256;
/** Float tolerance on clock arithmetic, ms. */
const EPSILON_MS = 1e-6;

/**
 * The bot's audio out, paced by a clock. Write audio as it arrives (per utterance id); the playout
 * hands it to the sink frame by frame, `leadMs` ahead of real time.
 *
 * @example
 * ```ts
 * import { Playout, VirtualClock } from "./mod.ts";
 * const clock = new VirtualClock();
 * const heard: number[] = [];
 * const playout = new Playout({ sampleRate: 16000, clock, sink: (frame) => heard.push(frame.length) });
 * playout.write(new Float32Array(16000), "reply-1"); // 1 s
 * clock.advance(500);
 * const cut = playout.interrupt(); // { utteranceId: "reply-1", playedMs: 500, droppedMs: 500, heldMs: 0 }
 * ```
 */
export class Playout implements Disposable {
  readonly #rate: number;
  readonly #sink: PlayoutSink;
  readonly #lead: number;
  readonly #frameSamples: number;
  readonly #clock: Clock;
  readonly #listeners: Listeners<PlayoutEvent>;
  #utterances = new Map<string, Utterance>();
  #queue: Utterance[] = []; // in play order; those with audio to release or in flight
  #inFlight: Released[] = [];
  #cursor = -Infinity; // clock time at which released audio ends
  #cancelTimer: (() => void) | undefined;
  #closed = false;

  /** A playout for mono audio at `options.sampleRate`. */
  constructor(options: PlayoutOptions) {
    const { sampleRate, sink, leadMs = 40, frameMs = 20, clock = systemClock } = options ?? {};
    if (!Number.isInteger(sampleRate) || sampleRate < 1000 || sampleRate > 384000) {
      throw new ArgumentError(
        `Playout: sampleRate must be an integer 1000–384000, got ${sampleRate}`,
      );
    }
    if (typeof sink !== "function" && typeof sink?.write !== "function") {
      throw new ArgumentError("Playout: sink must be a function or an object with write()");
    }
    if (!(leadMs >= 0 && leadMs <= 10_000)) {
      throw new ArgumentError(`Playout: leadMs must be 0–10000, got ${leadMs}`);
    }
    if (!(frameMs >= 1 && frameMs <= 1000)) {
      throw new ArgumentError(`Playout: frameMs must be 1–1000, got ${frameMs}`);
    }
    this.#rate = sampleRate;
    this.#sink = typeof sink === "function" ? { write: sink } : sink;
    this.#lead = leadMs;
    this.#frameSamples = Math.max(1, Math.round((frameMs * sampleRate) / 1000));
    this.#clock = clock;
    this.#listeners = new Listeners(options.onEvent);
  }

  /** Adds a listener of {@link PlayoutEvent}s; the returned function removes it. */
  subscribe(listener: Listener<PlayoutEvent>): () => void {
    return this.#listeners.subscribe(listener);
  }

  /** The clock the playout runs on. */
  get clock(): Clock {
    return this.#clock;
  }

  /** The sample rate of the audio it plays. */
  get sampleRate(): number {
    return this.#rate;
  }

  /**
   * Appends audio to an utterance (`utteranceId` defaults to the data's `streamId`, else
   * `"utterance"`). Audio of an interrupted utterance is dropped (a `stale_dropped` event); audio of
   * a held one is held with it. A `RuntimeData` is copied; the caller keeps ownership.
   */
  write(audio: RuntimeData | Float32Array, utteranceId?: string): void {
    this.#check("write");
    let samples: Float32Array;
    if (audio instanceof Float32Array) {
      samples = audio.slice();
    } else {
      const view = audio?.asAudio?.();
      if (!view) throw new ArgumentError("Playout.write: expected audio data or a Float32Array");
      if (view.channels !== 1 || view.sampleRate !== this.#rate) {
        throw new ArgumentError(
          `Playout.write: expected mono ${this.#rate} Hz audio, got ${view.channels} channel(s) ` +
            `at ${view.sampleRate} Hz (resample it before the playout)`,
        );
      }
      // f32 would come back as the view itself (native memory, detached when the data is disposed).
      samples = view.format === "f32"
        ? (view.samples as Float32Array).slice()
        : toFloat32(view.samples);
      utteranceId ??= audio.attributes().streamId;
    }
    const id = utteranceId ?? "utterance";
    if (typeof id !== "string") {
      throw new ArgumentError("Playout.write: utteranceId must be a string");
    }
    let u = this.#utterances.get(id);
    if (u?.state === "interrupted") {
      this.#listeners.emit({
        type: "stale_dropped",
        utteranceId: id,
        droppedMs: this.#ms(samples.length),
      });
      return;
    }
    if (u?.ended) throw new ArgumentError(`Playout.write: utterance "${id}" was ended`);
    if (!u) {
      u = {
        id,
        chunks: [],
        base: 0,
        received: 0,
        released: 0,
        played: 0,
        ended: false,
        state: "queued",
        started: false,
      };
      this.#remember(u);
      this.#queue.push(u);
    }
    if (samples.length === 0) return;
    u.chunks.push(samples);
    u.received += samples.length;
    if (u.state === "queued") this.#pump();
  }

  /** Marks an utterance complete: no more audio comes (its `utterance_finished` follows its last sample). */
  end(utteranceId: string): void {
    this.#check("end");
    const u = this.#utterances.get(utteranceId);
    if (!u) throw new ArgumentError(`Playout.end: no utterance "${utteranceId}"`);
    u.ended = true;
    this.#pump();
  }

  /**
   * Whether the bot is speaking: audio is playing, released ahead or waiting, or an utterance has
   * started and not ended (its next audio is on the way: call {@link end} when it is complete).
   */
  get active(): boolean {
    return this.#audible() !== undefined;
  }

  /** The utterance audible now (or next), if any. */
  get current(): string | undefined {
    return this.#audible()?.id;
  }

  /** How far an utterance got (default: the current one); `undefined` for an unknown id. */
  progress(utteranceId?: string): UtteranceProgress | undefined {
    const u = utteranceId === undefined ? this.#audible() : this.#utterances.get(utteranceId);
    if (!u) return undefined;
    this.#settle(this.#clock.now());
    return {
      utteranceId: u.id,
      state: u.state,
      receivedMs: this.#ms(u.received),
      releasedMs: this.#ms(u.released),
      playedMs: this.#ms(this.#played(u)),
      ended: u.ended,
    };
  }

  /**
   * Stops now: everything not yet played is dropped (and `sink.clear()` discards what was released
   * ahead). With `hold`, the unplayed audio of the current utterance is kept for {@link resume}
   * instead (and audio of it that still arrives is added to it); any earlier held audio is dropped.
   * Returns what was cut, or `undefined` when nothing was playing or waiting.
   */
  interrupt(options?: { hold?: boolean }): InterruptReport | undefined {
    this.#check("interrupt");
    const now = this.#clock.now();
    this.#settle(now);
    const audible = this.#audible();
    if (!audible) return undefined;
    const played = this.#played(audible);
    if (this.#inFlight.length > 0) {
      try {
        this.#sink.clear?.();
      } catch (error) {
        this.#listeners.emit({ type: "sink_error", error });
      }
    }
    this.#inFlight = [];
    this.#cursor = now;
    for (const u of this.#queue) if (u !== audible && u.state === "queued") this.#cut(u);
    for (const u of this.#utterances.values()) {
      if (u.state === "held" && u !== audible) this.#cut(u);
    }
    this.#queue = [];
    audible.played = played;
    audible.released = played;
    const hold = options?.hold === true;
    const report: InterruptReport = {
      utteranceId: audible.id,
      playedMs: this.#ms(played),
      droppedMs: this.#ms(audible.received - played),
      heldMs: hold ? this.#ms(audible.received - played) : 0,
    };
    if (hold) audible.state = "held";
    else this.#cut(audible);
    this.#schedule();
    this.#listeners.emit({ type: "interrupted", ...report, atMs: now });
    return report;
  }

  /** Plays the held utterance again from where the listener stopped hearing it; `undefined` if none. */
  resume(): ResumeReport | undefined {
    this.#check("resume");
    const u = [...this.#utterances.values()].find((v) => v.state === "held");
    if (!u) return undefined;
    u.state = "queued";
    u.released = u.played;
    this.#queue.unshift(u);
    const report: ResumeReport = {
      utteranceId: u.id,
      fromMs: this.#ms(u.played),
      heldMs: this.#ms(u.received - u.played),
      complete: u.ended,
    };
    this.#listeners.emit({ type: "resumed", ...report, atMs: this.#clock.now() });
    this.#pump();
    return report;
  }

  /** Drops held audio (the interruption was real); returns whether there was some. */
  discardHeld(): boolean {
    const u = [...this.#utterances.values()].find((v) => v.state === "held");
    if (u) this.#cut(u);
    return u !== undefined;
  }

  /** Stops the playout's timer and drops everything; further use throws a `DisposedError`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelTimer?.();
    this.#queue = [];
    this.#inFlight = [];
    this.#utterances.clear();
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #check(what: string): void {
    if (this.#closed) throw new DisposedError(`Playout (${what})`);
  }

  #ms(samples: number): number {
    return (samples * 1000) / this.#rate;
  }

  #frameMs(f: Released): number {
    return this.#ms(f.samples);
  }

  /** Samples of `u` heard by now: settled frames plus the part of the playing one. */
  #played(u: Utterance): number {
    const now = this.#clock.now();
    let played = u.played;
    for (const f of this.#inFlight) {
      if (f.utterance !== u || f.playAt > now) continue;
      const heard = Math.floor(((now - f.playAt) * this.#rate) / 1000 + EPSILON_MS);
      played = Math.max(played, f.offset + Math.min(f.samples, heard));
    }
    return played;
  }

  /** What is playing, else what waits to play, else a started utterance waiting for its next audio. */
  #audible(): Utterance | undefined {
    return this.#inFlight[0]?.utterance ??
      this.#queue.find((u) => u.state === "queued" && u.released < u.received) ??
      this.#queue.find((u) => u.state === "queued" && u.started && !u.ended);
  }

  #remember(u: Utterance): void {
    this.#utterances.set(u.id, u);
    if (this.#utterances.size <= REMEMBERED) return;
    for (const [id, old] of this.#utterances) {
      if (old.state === "finished" || old.state === "interrupted") {
        this.#utterances.delete(id);
        if (this.#utterances.size <= REMEMBERED) return;
      }
    }
  }

  #cut(u: Utterance): void {
    u.state = "interrupted";
    u.chunks = [];
    u.base = u.received;
  }

  /** Frames whose end has passed count as played; ended utterances played to the end finish. */
  #settle(now: number): void {
    while (this.#inFlight.length > 0) {
      const f = this.#inFlight[0];
      const end = f.playAt + this.#frameMs(f);
      if (end > now + EPSILON_MS) break;
      this.#inFlight.shift();
      const u = f.utterance;
      u.played = Math.max(u.played, f.offset + f.samples);
      while (u.chunks.length > 0 && u.base + u.chunks[0].length <= u.played) {
        u.base += u.chunks.shift()!.length;
      }
      if (u.ended && u.played === u.received && u.state === "queued") {
        u.state = "finished";
        this.#queue.splice(this.#queue.indexOf(u), 1);
        this.#listeners.emit({
          type: "utterance_finished",
          utteranceId: u.id,
          playedMs: this.#ms(u.received),
          atMs: end,
        });
      }
    }
    // An ended utterance with nothing in flight and nothing left finishes too (e.g. ended empty).
    for (const u of [...this.#queue]) {
      if (u.ended && u.state === "queued" && u.played === u.received && u.released === u.received) {
        if (this.#inFlight.some((f) => f.utterance === u)) continue;
        u.state = "finished";
        this.#queue.splice(this.#queue.indexOf(u), 1);
        this.#listeners.emit({
          type: "utterance_finished",
          utteranceId: u.id,
          playedMs: this.#ms(u.received),
          atMs: now,
        });
      }
    }
  }

  /** Releases every frame due by now (`leadMs` ahead), then sets the timer for the next one. */
  #pump(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    this.#settle(now);
    if (this.#cursor < now) this.#cursor = now; // idle or underrun: the next frame plays now
    const ahead = Math.max(0, this.#lead - this.#ms(this.#frameSamples));
    while (this.#cursor - now <= ahead + EPSILON_MS) {
      const u = this.#queue.find((v) => v.state === "queued" && v.released < v.received);
      if (!u) break;
      const samples = Math.min(this.#frameSamples, u.received - u.released);
      const frame = this.#take(u, u.released, samples);
      const playAt = this.#cursor;
      this.#inFlight.push({ utterance: u, offset: u.released, samples, playAt });
      const offsetMs = this.#ms(u.released);
      u.released += samples;
      this.#cursor += this.#ms(samples);
      if (!u.started) {
        u.started = true;
        this.#listeners.emit({ type: "utterance_started", utteranceId: u.id, atMs: playAt });
      }
      try {
        this.#sink.write(frame, { utteranceId: u.id, offsetMs, playAtMs: playAt });
      } catch (error) {
        this.#listeners.emit({ type: "sink_error", error });
      }
      if (u.state !== "queued") break; // a listener or the sink interrupted it
    }
    this.#schedule();
  }

  /** `count` samples of `u` from sample `from` (a view when they lie in one chunk). */
  #take(u: Utterance, from: number, count: number): Float32Array {
    let offset = from - u.base;
    let i = 0;
    while (offset >= u.chunks[i].length) offset -= u.chunks[i++].length;
    if (offset + count <= u.chunks[i].length) return u.chunks[i].subarray(offset, offset + count);
    const out = new Float32Array(count);
    let filled = 0;
    while (filled < count) {
      const part = u.chunks[i++].subarray(offset, offset + count - filled);
      out.set(part, filled);
      filled += part.length;
      offset = 0;
    }
    return out;
  }

  /** One timer: the next release, or the end of the frame playing (to settle and finish). */
  #schedule(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    if (this.#closed) return;
    const now = this.#clock.now();
    let next = Infinity;
    if (this.#queue.some((u) => u.state === "queued" && u.released < u.received)) {
      next = this.#cursor - Math.max(0, this.#lead - this.#ms(this.#frameSamples));
    }
    const playing = this.#inFlight[0];
    if (playing) next = Math.min(next, playing.playAt + this.#frameMs(playing));
    if (next === Infinity) return;
    this.#cancelTimer = this.#clock.setTimer(Math.max(0, next - now), () => {
      this.#cancelTimer = undefined;
      this.#pump();
    });
  }
}
