/**
 * The types of the `Playout`'s API: its sink, options, reports and events (the playout itself is
 * in `playout.ts`).
 *
 * @module
 */
import type { Clock } from "./clock.ts";
import type { Listener } from "./listeners.ts";

/** Where the playout sends the audio it releases. */
export interface PlayoutSink {
  /** Receives released audio in play order, at most `leadMs` before it plays. Do not modify it. */
  write(frame: Float32Array, info: FrameInfo): void;
  /**
   * Discards audio written but not yet played (called on interrupt when there is some), e.g. a
   * device buffer flush or Twilio's `clear` message. Without it, up to `leadMs` may still sound.
   */
  clear?(): void;
}

/** What a released frame is. */
export interface FrameInfo {
  /** The utterance it belongs to. */
  utteranceId: string;
  /** Its position in the utterance, ms. */
  offsetMs: number;
  /** The clock time at which it starts playing, ms. */
  playAtMs: number;
}

/** Options of a `Playout`. */
export interface PlayoutOptions {
  /** Sample rate of the audio written (mono). */
  sampleRate: number;
  /** Where released audio goes (a function is a sink without `clear`). */
  sink: PlayoutSink | ((frame: Float32Array, info: FrameInfo) => void);
  /** How far ahead of playing audio is released, ms (default 40). */
  leadMs?: number;
  /** Size of the frames released, ms (default 20). */
  frameMs?: number;
  /** The consumer's clock (default `systemClock`; a `VirtualClock` in tests). */
  clock?: Clock;
  /** Called with every {@link PlayoutEvent}. */
  onEvent?: Listener<PlayoutEvent>;
}

/** What an interrupt cut. Durations are ms of audio. */
export interface InterruptReport {
  /** The utterance that was playing (or about to). */
  utteranceId: string;
  /** How much of it the listener heard: what an LLM context should keep of the reply. */
  playedMs: number;
  /** How much of what had arrived was not heard (dropped, or held). */
  droppedMs: number;
  /** How much of that is held for `Playout.resume()` (0 unless `hold`). */
  heldMs: number;
}

/** What a resume plays. */
export interface ResumeReport {
  /** The utterance resumed. */
  utteranceId: string;
  /** Where it resumes (= `playedMs` at the interrupt), ms. */
  fromMs: number;
  /** Audio held and now played again, ms (more may arrive if the utterance was not ended). */
  heldMs: number;
  /** Whether the utterance had ended (all its audio had arrived) — if not, its rest was never made. */
  complete: boolean;
}

/** An utterance began playing. */
export interface UtteranceStartedEvent {
  /** Event kind. */
  type: "utterance_started";
  /** The utterance. */
  utteranceId: string;
  /** Clock time of its first sample, ms. */
  atMs: number;
}

/** An ended utterance played to its last sample. */
export interface UtteranceFinishedEvent {
  /** Event kind. */
  type: "utterance_finished";
  /** The utterance. */
  utteranceId: string;
  /** Its length, ms. */
  playedMs: number;
  /** Clock time after its last sample, ms. */
  atMs: number;
}

/** The playout was interrupted. */
export interface InterruptedEvent extends InterruptReport {
  /** Event kind. */
  type: "interrupted";
  /** Clock time of the interrupt, ms. */
  atMs: number;
}

/** Audio of an interrupted utterance arrived after the interrupt and was dropped. */
export interface StaleDroppedEvent {
  /** Event kind. */
  type: "stale_dropped";
  /** The utterance. */
  utteranceId: string;
  /** How much, ms. */
  droppedMs: number;
}

/** Held audio plays again. */
export interface ResumedEvent extends ResumeReport {
  /** Event kind. */
  type: "resumed";
  /** Clock time of the resume, ms. */
  atMs: number;
}

/** The sink threw; the frame counts as released. */
export interface SinkErrorEvent {
  /** Event kind. */
  type: "sink_error";
  /** What it threw. */
  error: unknown;
}

/** Everything a `Playout` reports. */
export type PlayoutEvent =
  | UtteranceStartedEvent
  | UtteranceFinishedEvent
  | InterruptedEvent
  | StaleDroppedEvent
  | ResumedEvent
  | SinkErrorEvent;

/** Where an utterance is: waiting or playing, held after an interrupt, cut, or played to its end. */
export type UtteranceState = "queued" | "held" | "interrupted" | "finished";

/** How far an utterance got (ms of audio). */
export interface UtteranceProgress {
  /** The utterance. */
  utteranceId: string;
  /** Its state. */
  state: UtteranceState;
  /** Audio received so far. */
  receivedMs: number;
  /** Audio handed to the sink (the listener hears it at most `leadMs` later). */
  releasedMs: number;
  /** Audio the listener has heard, by the clock. */
  playedMs: number;
  /** Whether `Playout.end()` was called (no more audio will come). */
  ended: boolean;
}
