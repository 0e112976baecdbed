/**
 * The JSON the built-in nodes emit, as types: read an output with `asJson<VadEvent>()` (or narrow a
 * {@link NodeEvent} by its `type`). Times are microseconds; levels are dBFS.
 *
 * @example
 * ```ts
 * import { type NodeEvent, RuntimeData } from "./mod.ts";
 * using out = RuntimeData.json({ type: "speech_start", timeUs: 560000, probability: 0.98 });
 * const event = out.asJson<NodeEvent>();
 * if (event.type === "speech_start") console.log(event.timeUs / 1e6); // 0.56
 * ```
 *
 * @module
 */

/** `Vad`: speech started (reported once the segment is certain to last `minSpeechMs`). */
export interface SpeechStartEvent {
  /** Event kind. */
  type: "speech_start";
  /**
   * Start of the speech in audio time (the input's timestamps, or frames counted from 0), µs; with
   * Silero, `speechPadMs` before the first speech window.
   */
  timeUs: number;
  /**
   * The highest speech probability of the segment's windows so far (Silero: 32 ms windows; earshot:
   * its 16 ms frame scores), rounded to 1e-4.
   */
  probability: number;
}

/** `Vad`: speech ended (after `minSilenceMs` of silence, or at end of stream). */
export interface SpeechEndEvent {
  /** Event kind. */
  type: "speech_end";
  /** Start of the segment in audio time, µs (as its `speech_start` reported it). */
  startUs: number;
  /** End of the segment in audio time, µs; with Silero, padded by `speechPadMs`. */
  endUs: number;
  /** `endUs - startUs`. */
  durationUs: number;
  /** The mean speech probability of the segment's windows (padding left out), rounded to 1e-4. */
  probability: number;
}

/** What a `Vad` node emits as JSON. */
export type VadEvent = SpeechStartEvent | SpeechEndEvent;

/** `AudioLevel`: the level of one audio item. */
export interface LevelEvent {
  /** Event kind. */
  type: "level";
  /** RMS level in dBFS (rounded to 0.01). */
  rmsDb: number;
  /** Peak level in dBFS (rounded to 0.01). */
  peakDb: number;
  /** RMS below the node's `silenceDb`. */
  silent: boolean;
  /** Peak at or above the node's `clipLevel`. */
  clipping: boolean;
  /** Start of the item in audio time, µs. */
  startUs: number;
  /** Duration of the item, µs. */
  durationUs: number;
}

/** `WavWriter`: the file was finalized (emitted at end of stream). */
export interface WavWriterSummary {
  /** Event kind. */
  type: "wav_written";
  /** The file written. */
  path: string;
  /** Frames written (per channel). */
  frames: number;
  /** Frames per second. */
  sampleRate: number;
  /** Channels. */
  channels: number;
  /** `frames / sampleRate`. */
  durationSeconds: number;
}

/** `Mix`: the metadata of an output after a port fell more than `maxLagMs` behind. */
export interface MixMetadata {
  /** Frames dropped as late since the previous output, per port name. */
  lateFrames: Record<string, number>;
}

/** `TurnDetector`: the user began a turn (their first speech since the previous turn ended). */
export interface TurnStartEvent {
  /** Event kind. */
  type: "turn_start";
  /** Start of the turn's first speech in audio time, µs. */
  timeUs: number;
}

/** `TurnDetector`: the user's turn ended. All times are audio time, µs. */
export interface TurnEndEvent {
  /** Event kind. */
  type: "turn_end";
  /** Start of the turn's first speech. */
  startUs: number;
  /** End of its last speech. */
  endUs: number;
  /** `endUs - startUs`. */
  durationUs: number;
  /** Speech in the turn, its pauses left out. */
  speechUs: number;
  /** Speech segments (`Vad` speech_start…speech_end) in the turn. */
  segments: number;
  /** Why it ended: enough silence, `maxTurnMs`, or the end of the input. */
  reason: "silence" | "max_length" | "end_of_stream";
  /** The silence that ended it (the timeout applied); 0 unless `reason` is `silence`. */
  silenceUs: number;
  /** Why that silence: `fixed`, or with `adaptive`: the cue that chose it. */
  cue: "fixed" | "falling_pitch" | "long_turn" | "short_fragment" | "default";
  /** When the end was decided (the end of the audio processed then). */
  decidedUs: number;
}

/** `TurnDetector`: the user is speaking (emitted at most every `progressMs` of audio while they do). */
export interface SpeakingEvent {
  /** Event kind. */
  type: "speaking";
  /** Start of the current speech segment in audio time, µs. */
  startUs: number;
  /** How long it has lasted so far (until the end of the audio processed), µs. */
  durationUs: number;
  /** The Vad's speech probability, when its model gives one. */
  probability?: number;
}

/** What a `TurnDetector` emits: the Vad's events it passes on, and its own. */
export type TurnDetectorEvent = VadEvent | TurnStartEvent | SpeakingEvent | TurnEndEvent;

/** The faults a `StreamHealth` node watches (content faults first, then timing faults). */
export type StreamHealthKind =
  | "silence"
  | "low_volume"
  | "clipping"
  | "channel_imbalance"
  | "dropouts"
  | "drift"
  | "cadence"
  | "freeze";

/** `StreamHealth`: a fault began (raised once it lasted its onset time). */
export interface StreamHealthAlert {
  /** Event kind. */
  type: "alert";
  /** The fault. */
  kind: StreamHealthKind;
  /** When the fault began, in audio time (the input's timestamps, or frames counted from 0), µs. */
  startUs: number;
  /** When it was confirmed (for a `freeze`: when the stream resumed), µs. */
  endUs: number;
  /** What was measured, for people. */
  detail: string;
}

/** `StreamHealth`: a raised fault is over (its release time passed without it, or the stream ended). */
export interface StreamHealthAlertEnd {
  /** Event kind. */
  type: "alert_end";
  /** The fault, as its `alert` said. */
  kind: StreamHealthKind;
  /** When the fault began (as its `alert` said), µs. */
  startUs: number;
  /** When it ended in audio time, µs. */
  endUs: number;
  /** Why it is over (`recovered: …`, `end of stream: …`). */
  detail: string;
}

/** What a `StreamHealth` node emits. */
export type StreamHealthEvent = StreamHealthAlert | StreamHealthAlertEnd;

/** Any JSON event a built-in node emits; narrow it by `type`. */
export type NodeEvent =
  | VadEvent
  | LevelEvent
  | WavWriterSummary
  | TurnStartEvent
  | SpeakingEvent
  | TurnEndEvent
  | StreamHealthAlert
  | StreamHealthAlertEnd;
