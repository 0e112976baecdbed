/**
 * The barge-in policy: reads a `TurnDetector`'s events and decides when the user's speech over the
 * bot is an interruption. Speech over the bot that lasts `minSpeechMs` (with enough confidence, when
 * the Vad gives one) stops the {@link Playout} at once (holding the rest of the utterance) and
 * interrupts the bot's branch of the session; if that speech then ends without becoming a turn of its
 * own (a cough, an "mm-hm": under `minTurnSpeechMs` of speech), it was a false interruption and the
 * bot resumes where the listener stopped hearing it. Turns the app should answer come out as
 * `user_turn`. Everything it decides is an event.
 *
 * @module
 */
import { ArgumentError } from "../errors.ts";
import type { TurnDetectorEvent, TurnEndEvent } from "../events.ts";
import { RuntimeData } from "../runtime_data.ts";
import type { Session } from "../session.ts";
import { type Listener, Listeners } from "./listeners.ts";
import type { Playout } from "./playout.ts";
import type { InterruptReport, ResumeReport } from "./playout_types.ts";

/** Options of a {@link BargeIn} policy. */
export interface BargeInOptions {
  /** The bot's playout: stopped on an interruption, resumed after a false one. */
  playout: Playout;
  /** The session whose bot branch is interrupted (with {@link BargeInOptions.from}). */
  session?: Session;
  /** The first node(s) of the bot's branch: `session.interrupt({ from })` on an interruption. */
  from?: string | string[];
  /** Called on an interruption, after the playout stopped (instead of, or besides, `session`). */
  onInterrupt?: (report: InterruptReport) => void;
  /** Speech over the bot must last this long (from its onset, as the Vad reports it), ms; default 300. */
  minSpeechMs?: number;
  /** Speech with a lower Vad probability never interrupts (0–1; default 0: off; no probability: passes). */
  minConfidence?: number;
  /**
   * An interruption whose turn ends with less speech than this was a false one (a cough, an
   * "mm-hm"), ms; default 600. Set 0 to treat every interruption as real.
   */
  minTurnSpeechMs?: number;
  /** After a false interruption, resume the held audio at once (default true); else call `resume()`. */
  resume?: boolean;
  /** Called with every {@link BargeInEvent}. */
  onEvent?: Listener<BargeInEvent>;
}

/** The user's speech over the bot interrupted it. */
export interface InterruptionEvent extends InterruptReport {
  /** Event kind. */
  type: "interruption";
  /** Onset of the user's speech (audio time), µs. */
  speechStartUs: number;
  /** How long it had lasted at the decision, ms. */
  speechMs: number;
  /** The Vad's probability, when its model gives one. */
  probability?: number;
  /** Clock time of the decision (the playout's clock), ms. */
  atMs: number;
}

/** The user's speech over the bot did not interrupt it. */
export interface InterruptionIgnoredEvent {
  /** Event kind. */
  type: "interruption_ignored";
  /** Shorter than `minSpeechMs`, or less probable than `minConfidence`. */
  reason: "too_short" | "low_confidence";
  /** Onset of the speech (audio time), µs. */
  speechStartUs: number;
  /** How long it lasted (too_short: all of it; low_confidence: when decided), ms. */
  speechMs: number;
  /** The Vad's probability, when its model gives one. */
  probability?: number;
}

/** An interruption turned out to be a cough or a backchannel: its turn had too little speech. */
export interface FalseInterruptionEvent {
  /** Event kind. */
  type: "false_interruption";
  /** The interrupted utterance. */
  utteranceId: string;
  /** Speech in the turn that interrupted, ms. */
  turnSpeechMs: number;
  /** Audio of the utterance held for a resume, ms. */
  heldMs: number;
}

/** The bot resumed after a false interruption. */
export interface BargeInResumedEvent extends ResumeReport {
  /** Event kind. */
  type: "resumed";
  /** Clock time of the resume, ms. */
  atMs: number;
}

/** A user turn the app should answer (a real interruption, or speech while the bot was quiet). */
export interface UserTurnEvent {
  /** Event kind. */
  type: "user_turn";
  /** The `TurnDetector`'s `turn_end`. */
  turn: TurnEndEvent;
  /** Whether this turn interrupted the bot. */
  interrupted: boolean;
}

/** Everything a {@link BargeIn} policy decides. */
export type BargeInEvent =
  | InterruptionEvent
  | InterruptionIgnoredEvent
  | FalseInterruptionEvent
  | BargeInResumedEvent
  | UserTurnEvent;

/** What the policy knows of the speech segment in progress. */
interface SegmentState {
  startUs: number;
  /** Decided: it interrupted, or was ignored for low confidence. */
  decided: boolean;
  /** It was heard while the bot spoke. */
  overBot: boolean;
  lastDurationUs: number;
  probability?: number;
}

/**
 * Barge-in with false-interruption recovery. Feed it every output of a `TurnDetector` with
 * {@link BargeIn.handle}.
 *
 * @example
 * ```ts
 * import { BargeIn, Playout } from "./mod.ts";
 * const playout = new Playout({ sampleRate: 16000, sink: () => {} });
 * const policy = new BargeIn({ playout, onEvent: (e) => console.log(e.type) });
 * playout.write(new Float32Array(32000), "reply"); // the bot speaks for 2 s
 * policy.handle({ type: "speaking", startUs: 0, durationUs: 320_000 }); // "interruption"
 * playout.close();
 * ```
 */
export class BargeIn {
  readonly #playout: Playout;
  readonly #session?: Session;
  readonly #from?: string | string[];
  readonly #onInterrupt?: (report: InterruptReport) => void;
  readonly #minSpeechUs: number;
  readonly #minConfidence: number;
  readonly #minTurnSpeechUs: number;
  readonly #autoResume: boolean;
  readonly #listeners: Listeners<BargeInEvent>;
  #segment: SegmentState | undefined;
  /** The current turn: whether a segment of it began while the bot was quiet. */
  #turnFreeFloor = false;
  /** The interruption waiting for its turn's verdict. */
  #pending: InterruptReport | undefined;
  /** A false interruption waiting for `resume()` (when `resume` is false). */
  #resumable = false;

  /** A policy over `options.playout` (and `options.session`'s branch `options.from`). */
  constructor(options: BargeInOptions) {
    const o = options ?? ({} as BargeInOptions);
    if (!o.playout || typeof o.playout.interrupt !== "function") {
      throw new ArgumentError("BargeIn: options.playout must be a Playout");
    }
    if ((o.session === undefined) !== (o.from === undefined)) {
      throw new ArgumentError("BargeIn: options.session and options.from go together");
    }
    const ms = (name: string, value: number | undefined, fallback: number): number => {
      const v = value ?? fallback;
      if (!(typeof v === "number" && v >= 0 && v <= 600_000)) {
        throw new ArgumentError(`BargeIn: ${name} must be a number of ms 0–600000, got ${v}`);
      }
      return v * 1000;
    };
    this.#playout = o.playout;
    this.#session = o.session;
    this.#from = o.from;
    this.#onInterrupt = o.onInterrupt;
    this.#minSpeechUs = ms("minSpeechMs", o.minSpeechMs, 300);
    this.#minTurnSpeechUs = ms("minTurnSpeechMs", o.minTurnSpeechMs, 600);
    const confidence = o.minConfidence ?? 0;
    if (!(typeof confidence === "number" && confidence >= 0 && confidence <= 1)) {
      throw new ArgumentError(`BargeIn: minConfidence must be 0–1, got ${confidence}`);
    }
    this.#minConfidence = confidence;
    this.#autoResume = o.resume ?? true;
    this.#listeners = new Listeners(o.onEvent);
  }

  /** Adds a listener of {@link BargeInEvent}s; the returned function removes it. */
  subscribe(listener: Listener<BargeInEvent>): () => void {
    return this.#listeners.subscribe(listener);
  }

  /** Whether an interruption waits for its turn to end (the bot is quiet, its rest held). */
  get interrupting(): boolean {
    return this.#pending !== undefined;
  }

  /**
   * Takes one output of a `TurnDetector` (a `RuntimeData` is read, not disposed). Other JSON and
   * other data are ignored.
   */
  handle(event: TurnDetectorEvent | RuntimeData): void {
    let e: TurnDetectorEvent;
    if (event instanceof RuntimeData) {
      if (event.dataType() !== "json") return;
      e = event.asJson<TurnDetectorEvent>();
    } else {
      e = event;
    }
    switch (e?.type) {
      case "turn_start":
        this.#turnFreeFloor = false;
        break;
      case "speaking":
        this.#speaking(e.startUs, e.durationUs, e.probability);
        break;
      case "speech_end":
        this.#speechEnd(e.startUs, e.durationUs);
        break;
      case "turn_end":
        this.#turnEnd(e);
        break;
    }
  }

  /** After a `false_interruption` with `resume: false`: plays the held audio; `undefined` if none. */
  resume(): ResumeReport | undefined {
    this.#resumable = false;
    const report = this.#playout.resume();
    if (report) {
      this.#listeners.emit({ type: "resumed", ...report, atMs: this.#playout.clock.now() });
    }
    return report;
  }

  #speaking(startUs: number, durationUs: number, probability?: number): void {
    let s = this.#segment;
    if (!s || s.startUs !== startUs) {
      s = { startUs, decided: false, overBot: false, lastDurationUs: 0, probability };
      this.#segment = s;
      // The user's speech over a held (falsely interrupted?) bot continues the same turn: no verdict yet.
      if (!this.#playout.active && this.#pending === undefined) this.#turnFreeFloor = true;
    }
    s.lastDurationUs = durationUs;
    if (s.decided || !this.#playout.active) return;
    s.overBot = true;
    if (this.#minConfidence > 0 && probability !== undefined && probability < this.#minConfidence) {
      s.decided = true;
      this.#listeners.emit({
        type: "interruption_ignored",
        reason: "low_confidence",
        speechStartUs: startUs,
        speechMs: durationUs / 1000,
        probability,
      });
      return;
    }
    if (durationUs < this.#minSpeechUs) return;
    s.decided = true;
    const report = this.#playout.interrupt({ hold: this.#minTurnSpeechUs > 0 });
    if (!report) return;
    this.#session?.interrupt({ from: this.#from! });
    this.#onInterrupt?.(report);
    this.#pending = report;
    this.#resumable = false;
    const event: InterruptionEvent = {
      type: "interruption",
      ...report,
      speechStartUs: startUs,
      speechMs: durationUs / 1000,
      atMs: this.#playout.clock.now(),
    };
    if (probability !== undefined) event.probability = probability;
    this.#listeners.emit(event);
  }

  #speechEnd(startUs: number, durationUs: number): void {
    const s = this.#segment;
    this.#segment = undefined;
    if (!s || s.startUs !== startUs || s.decided || !s.overBot) return;
    const event: InterruptionIgnoredEvent = {
      type: "interruption_ignored",
      reason: "too_short",
      speechStartUs: startUs,
      speechMs: durationUs / 1000,
    };
    if (s.probability !== undefined) event.probability = s.probability;
    this.#listeners.emit(event);
  }

  #turnEnd(turn: TurnEndEvent): void {
    this.#segment = undefined;
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending) {
      if (turn.speechUs < this.#minTurnSpeechUs) {
        const held = this.#playout.progress(pending.utteranceId);
        this.#listeners.emit({
          type: "false_interruption",
          utteranceId: pending.utteranceId,
          turnSpeechMs: turn.speechUs / 1000,
          heldMs: held && held.state === "held" ? held.receivedMs - held.playedMs : 0,
        });
        if (this.#autoResume) this.resume();
        else this.#resumable = true;
        return;
      }
      this.#playout.discardHeld();
      this.#listeners.emit({ type: "user_turn", turn, interrupted: true });
      return;
    }
    if (this.#resumable) {
      // A new turn after a false interruption that the app did not resume: it is over.
      this.#resumable = false;
      this.#playout.discardHeld();
    }
    // Speech only ever heard over the bot, without interrupting it, is a backchannel.
    if (this.#turnFreeFloor) this.#listeners.emit({ type: "user_turn", turn, interrupted: false });
    this.#turnFreeFloor = false;
  }
}
