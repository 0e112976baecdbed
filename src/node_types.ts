// Generated from the native node schemas by `make types` (tools/gen_node_types.ts).
// Do not edit.

/** Params of each built-in node type, as manifests and the builder accept them. */
export interface NodeParams {
  /** Emits every input unchanged (shares the payload, no copy). */
  PassThrough: Record<string, never>;
  /** Scales audio by `gain` × 10^(gainDb/20) and clips to [-1, 1]; keeps the sample format. With `clip: false`, f32 results beyond the f32 range saturate at ±3.4028235e38 (f32::MAX) instead of becoming infinite. */
  Gain: {
    /** Linear factor. Range 0..1000. Default 1. */
    gain?: number;
    /** Gain in decibels, applied on top of `gain`. Range -120..60. Default 0. */
    gainDb?: number;
    /** Clip the result to [-1, 1]; when false, only saturate at ±f32::MAX (never ±Infinity). Default true. */
    clip?: boolean;
  };
  /** Converts audio samples to f32, i16 or i32 (i16 → f32 divides by 32768; back multiplies, rounds and saturates). */
  AudioFormat: {
    /** Target sample format. Required. */
    format: "f32" | "i16" | "i32";
  };
  /** Downmixes to mono (average), upmixes to `channels` (copies), or selects one `channel`. */
  ChannelMix: {
    /** What to do. Default "mono". */
    mode?: "mono" | "upmix" | "select";
    /** Output channels for `upmix`. Range 1..64. Default 2. */
    channels?: number;
    /** Channel kept by `select`. Range 0..63. Default 0. */
    channel?: number;
  };
  /** Converts audio to `targetRate` (rubato). Streams across items without discontinuities; the output keeps the input's sample format; the total length is exact at end of stream. Input rates outside 1000..=384000 Hz are an error; samples beyond ±1e9 are clamped to ±1e9. */
  Resample: {
    /** Output sample rate in Hz. Range 1000..384000. Required. */
    targetRate: number;
    /** fast: cubic polynomial (least work, some aliasing); balanced: FFT with ~10 ms blocks, or a 128-tap sinc for rate pairs whose FFT block would be longer (first output after ~20 ms of input at 8 kHz and above); high: FFT with ~85 ms blocks (longest filter, most latency), or a 256-tap sinc for rate pairs whose FFT block would be longer. Default "balanced". */
    quality?: "fast" | "balanced" | "high";
  };
  /** Re-frames audio into frames of `frameMs` milliseconds (or `frames` frames); at end of stream the remainder is emitted, zero-padded or dropped. A frame larger than the maximum payload size (4 GiB) is an error at the first item. */
  Chunker: {
    /** Frame duration in milliseconds. Range 0.1..60000. Default 20. */
    frameMs?: number;
    /** Frame size in frames per channel; overrides frameMs when > 0. Range 0..100000000. Default 0. */
    frames?: number;
    /** What to do with a final partial frame. Default "emit". */
    remainder?: "emit" | "pad" | "drop";
  };
  /** Voice activity detection on mono audio: Silero VAD v6 (the default; bundled, 32 ms windows, silero-vad's own segmenter) or earshot. 8 and 16 kHz go to Silero as they are; other rates (1000..384000 Hz) are resampled to 16 kHz inside. Emits {type:"speech_start", timeUs, probability} once a segment is certain to be kept and {type:"speech_end", startUs, endUs, durationUs, probability} (probability: the highest window probability so far at the start, the mean over the segment at the end); `gate` also emits the speech audio, `pass` every audio item. */
  Vad: {
    /** silero: Silero VAD v6 (MIT, in the library), segments exactly as silero-vad's get_speech_timestamps; earshot: a smaller detector (16 ms frames, about a third of the CPU) with a run-length segmenter (no negThreshold, no padding). Default "silero". */
    model?: "silero" | "earshot";
    /** events: only JSON events; gate: events + speech audio; pass: events + all audio. Default "events". */
    mode?: "events" | "gate" | "pass";
    /** A window (Silero: 32 ms; earshot: 16 ms) with at least this speech probability is speech. Range 0..1. Default 0.5. */
    threshold?: number;
    /** Silero: in speech, a window below this probability is silence (hysteresis); 0 means silero-vad's default, max(threshold - 0.15, 0.01). Range 0..1. Default 0. */
    negThreshold?: number;
    /** Silero: segments no longer than this are dropped, and speech_start comes once a segment is certain to be longer; earshot: voice must last this long before speech starts. Range 0..10000. Default 250. */
    minSpeechMs?: number;
    /** Silence this long ends a segment (Silero: from its first window below negThreshold; silero-vad's default). Before Silero, earshot's default was 320. Range 0..10000. Default 100. */
    minSilenceMs?: number;
    /** Silero: segments are padded by this on each side (two segments closer than twice this split the gap); with minSilenceMs below twice this, speech_end waits until the next start is known. Range 0..10000. Default 30. */
    speechPadMs?: number;
    /** In gate mode, audio emitted from before each segment's start. Range 0..5000. Default 200. */
    preRollMs?: number;
  };
  /** Reads a WAV file (8/16/24/32-bit PCM or 32-bit float) and emits its audio in frames of `chunkMs` (0 = one item), streaming with backpressure. With `path` it is a source: it starts when the session starts and takes no input. Without, each text input is the path of a file to read. */
  WavReader: {
    /** File to read when the session starts (the node then takes no input); when empty, each input text is a path. Default "". */
    path?: string;
    /** Frame duration of emitted items (0 = whole file in one item). Range 0..3600000. Default 20. */
    chunkMs?: number;
  };
  /** Writes incoming audio to a WAV file in its sample format (f32 → 32-bit float, i16 → 16-bit, i32 → 32-bit PCM); at end of stream emits {type:"wav_written", path, frames, sampleRate, channels, durationSeconds}. */
  WavWriter: {
    /** File to create (overwritten). Required. */
    path: string;
    /** Also emit every audio item downstream. Default false. */
    passThrough?: boolean;
  };
  /** Transforms text: upper, lower, trim, or prefix/suffix. */
  TextTransform: {
    /** Case/whitespace operation. Default "upper". */
    op?: "upper" | "lower" | "trim" | "none";
    /** Prepended after the operation. Default "". */
    prefix?: string;
    /** Appended after the operation. Default "". */
    suffix?: string;
  };
  /** Buffers streamed text and emits one item per sentence (ending in . ! ? or a newline, followed by whitespace); the rest is emitted at end of stream. */
  TextCollector: {
    /** Sentences shorter than this many characters (Unicode scalar values) are held and joined with the next. Range 0..100000. Default 1. */
    minChars?: number;
    /** When more than this many characters (Unicode scalar values) are buffered without an end mark, emit up to the last space within them (or exactly this many characters when there is none). Range 1..1000000. Default 2000. */
    maxChars?: number;
  };
  /** Appends incoming audio (e.g. from a Vad in gate mode) and emits it as one utterance at each {type:"speech_end"} event, at end of stream, or when `maxMs` is reached (or before it would outgrow the 4 GiB maximum payload size); utterances shorter than `minMs` are dropped. */
  UtteranceAccumulator: {
    /** Shorter utterances are discarded. Range 0..600000. Default 200. */
    minMs?: number;
    /** An utterance this long is emitted even while speech continues. Range 1..3600000. Default 30000. */
    maxMs?: number;
  };
  /** Emits {type:"level", rmsDb, peakDb, silent, clipping, startUs, durationUs} per audio item. */
  AudioLevel: {
    /** Below this RMS the item is flagged silent. Range -200..0. Default -50. */
    silenceDb?: number;
    /** A sample at or above this magnitude flags clipping. Range 0..1. Default 0.999. */
    clipLevel?: number;
    /** Also emit the audio itself, before its level event. Default false. */
    passAudio?: boolean;
  };
  /** Sums audio from its input ports (each scaled by its gain), aligned by sample position, and clips to [-1, 1]. Items may have any length per port (a chunked branch and a raw branch mix correctly); audio is emitted as soon as every port has it. A port more than maxLagMs behind the others counts as silence for the part that is late (its late samples, when they come, are dropped and reported in the next output's metadata as lateFrames); at end of stream the rest is emitted with missing ports as silence. Ports must share rate and channel count. */
  Mix: {
    /** Names of the input ports (at least one). Default ["a","b"]. */
    inputs?: string[];
    /** Per-port linear gains (default 1 each). Default []. */
    gains?: number[];
    /** How far (ms of audio) one port may run ahead of another before the late one counts as silence. Range 1..600000. Default 1000. */
    maxLagMs?: number;
  };
  /** Passes only items whose data type is listed in `types`; drops the rest (counted as itemsIn − itemsOut). */
  Filter: {
    /** Data types to keep: text, audio, video, json, binary, tensor. Required. */
    types: string[];
  };
  /** User turns from a Vad's speech events, in audio time (feed it a Vad in `pass` mode: the audio keeps the clock). Emits the Vad's events unchanged, {type:"turn_start", timeUs}, {type:"speaking", startUs, durationUs, probability?} while the user speaks, and {type:"turn_end", startUs, endUs, durationUs, speechUs, segments, reason, silenceUs, cue, decidedUs}. */
  TurnDetector: {
    /** Silence after the user's last speech (from its end) that ends the turn. Decided once the Vad would have reported speech inside it (it reports speech minSpeechMs late; the node measures that delay). Range 0..30000. Default 500. */
    silenceMs?: number;
    /** Adapt the silence to the turn: shortSilenceMs after a falling pitch or a long turn (4 s of speech), longSilenceMs after a short fragment (under 2 s, pitch not falling), silenceMs otherwise. Default false. */
    adaptive?: boolean;
    /** adaptive: the silence after a falling pitch or a long turn. Range 0..30000. Default 300. */
    shortSilenceMs?: number;
    /** adaptive: the silence after a short fragment. Range 0..30000. Default 1200. */
    longSilenceMs?: number;
    /** A turn this long ends even while the user speaks (a new one starts if they go on). Range 100..3600000. Default 30000. */
    maxTurnMs?: number;
    /** While the user speaks, a `speaking` event at most every this much audio (0: one per audio item). Range 0..60000. Default 0. */
    progressMs?: number;
  };
  /** Stream-health monitor: emits {type:"alert", kind, startUs, endUs, detail} when a fault begins and {type:"alert_end", kind, startUs, endUs, detail} when it is over (also as node events). Content faults on the audio: silence, low_volume, clipping, channel_imbalance, dropouts; timing faults from the items' timestamps (no clock is read): drift, cadence, freeze (judged when the stream resumes). Thresholds have hysteresis and a release time, so alerts do not flap. */
  StreamHealth: {
    /** Faults to watch (silence, low_volume, clipping, channel_imbalance, dropouts, drift, cadence, freeze). Default ["silence","low_volume","clipping","channel_imbalance","dropouts","drift","cadence","freeze"]. */
    kinds?: string[];
    /** Analysis window for the content faults. Range 5..1000. Default 20. */
    windowMs?: number;
    /** How long a fault's leaving condition must last before alert_end. Range 0..60000. Default 300. */
    releaseMs?: number;
    /** silence: window RMS below this (dBFS); it ends above silenceDb + 6. Range -200..0. Default -60. */
    silenceDb?: number;
    /** silence: how long before the alert. Range 0..600000. Default 1000. */
    silenceMs?: number;
    /** low_volume: the loudest window of the last second below this (dBFS) but above silenceDb; it ends at lowVolumeDb + 3. Range -200..0. Default -30. */
    lowVolumeDb?: number;
    /** low_volume: how long before the alert. Range 0..600000. Default 2000. */
    lowVolumeMs?: number;
    /** clipping: a sample at or above this magnitude is clipped (a window with two is a clipped window). Range 0..1. Default 0.99. */
    clipLevel?: number;
    /** clipping: clipped windows within a second to raise; it ends after a second without one (plus releaseMs). Range 1..1000. Default 3. */
    clipWindows?: number;
    /** channel_imbalance: loudest minus quietest channel RMS at least this (dB); it ends below imbalanceDb - 6. Range 0..200. Default 20. */
    imbalanceDb?: number;
    /** channel_imbalance: how long before the alert. Range 0..600000. Default 1000. */
    imbalanceMs?: number;
    /** dropouts: cuts of 5–500 ms of digital silence into loud audio needed within dropoutWindowMs. Range 1..1000. Default 3. */
    dropoutCount?: number;
    /** dropouts: the sliding window; the alert ends when it holds fewer. Range 10..600000. Default 5000. */
    dropoutWindowMs?: number;
    /** drift: timestamps ahead of or behind the audio by this much (mean over the last second); it ends under half. Range 1..600000. Default 50. */
    driftMs?: number;
    /** cadence: the standard deviation of the item intervals' deviations over the mean item duration (last 50 items) at least this; it ends under 0.6x. Range 0.01..100. Default 0.25. */
    cadenceCv?: number;
    /** freeze: an item that starts this long after the previous one ended. Range 1..600000. Default 500. */
    freezeMs?: number;
    /** Also emit the audio itself (before the alerts it raises). Default false. */
    passAudio?: boolean;
  };
  /** G.711 μ-law / A-law (telephony): `encode` turns audio into binary (one byte per sample, channels interleaved); `decode` turns such bytes into i16 audio at `sampleRate` with `channels`. Bit-exact with sox. */
  G711: {
    /** encode: audio → bytes; decode: bytes → i16 audio. Required. */
    mode: "encode" | "decode";
    /** μ-law (North America, Japan; Twilio) or A-law (Europe). Default "mulaw". */
    law?: "mulaw" | "alaw";
    /** decode: sample rate of the decoded audio (the bytes carry none). Range 1000..384000. Default 8000. */
    sampleRate?: number;
    /** decode: channels interleaved in the bytes. Range 1..64. Default 1. */
    channels?: number;
  };
}

/** Names of the built-in node types. */
export type BuiltinNodeType = keyof NodeParams;
