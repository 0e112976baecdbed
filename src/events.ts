/**
 * The JSON the built-in nodes emit, as types: read an output with `asJson<VadEvent>()` (or narrow a
 * {@link NodeEvent} by its `type`). Times are microseconds; levels are dBFS.
 *
 * @example
 * ```ts
 * import { type NodeEvent, RuntimeData } from "./mod.ts";
 * using out = RuntimeData.json({ type: "speech_start", timeUs: 560000 });
 * const event = out.asJson<NodeEvent>();
 * if (event.type === "speech_start") console.log(event.timeUs / 1e6); // 0.56
 * ```
 *
 * @module
 */

/** `Vad`: speech started (after `minSpeechMs` of voice). */
export interface SpeechStartEvent {
  /** Event kind. */
  type: "speech_start";
  /** Start of the speech in audio time (the input's timestamps, or frames counted from 0), µs. */
  timeUs: number;
}

/** `Vad`: speech ended (after `minSilenceMs` of silence, or at end of stream). */
export interface SpeechEndEvent {
  /** Event kind. */
  type: "speech_end";
  /** Start of the segment in audio time, µs. */
  startUs: number;
  /** End of the segment in audio time, µs. */
  endUs: number;
  /** `endUs - startUs`. */
  durationUs: number;
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

/** Any JSON event a built-in node emits; narrow it by `type`. */
export type NodeEvent = VadEvent | LevelEvent | WavWriterSummary;
