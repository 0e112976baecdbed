/**
 * Voice front end: a stereo 48 kHz WAV → mono → 16 kHz → voice activity detection, printing the speech
 * segments with timestamps. Every node is native; the file is read on a worker thread, so the JS event
 * loop stays free.
 *
 * Run: `deno run --allow-ffi --allow-read --allow-env examples/voice_activity.ts [file.wav]` or
 * `bun run examples/voice_activity.ts [file.wav]`.
 *
 * @module
 */
import { PipelineBuilder, Session, type VadEvent } from "../mod.ts";
import { args } from "../ffi/runtime.ts";

/** One detected speech segment, in seconds. */
export interface Segment {
  /** Start of speech. */
  start: number;
  /** End of speech. */
  end: number;
}

/** Detects the speech segments of a WAV file. */
export async function speechSegments(path: string): Promise<Segment[]> {
  const manifest = new PipelineBuilder()
    .name("voice-activity")
    .node("read", "WavReader", { path, chunkMs: 20 })
    .node("mono", "ChannelMix", { mode: "mono" })
    .node("resample", "Resample", { targetRate: 16000 })
    .node("vad", "Vad", { mode: "events" })
    .chain("read", "mono", "resample", "vad")
    .build();
  // The reader is a source: it starts with the session, which ends once the file is read.
  await using session = Session.create(manifest);
  const segments: Segment[] = [];
  for await (const event of session) {
    const e = event.asJson<VadEvent>();
    if (e.type === "speech_end") segments.push({ start: e.startUs / 1e6, end: e.endUs / 1e6 });
    event.dispose();
  }
  return segments;
}

if (import.meta.main) {
  const path = args()[0] ?? new URL("./data/speech.wav", import.meta.url).pathname;
  for (const { start, end } of await speechSegments(path)) {
    console.log(
      `speech ${start.toFixed(2)} s – ${end.toFixed(2)} s (${(end - start).toFixed(2)} s)`,
    );
  }
}
