/**
 * A voice pipeline: WAV → native mono / 16 kHz / VAD (gate) → utterances → a TypeScript node that reacts to
 * each utterance with a reply → streaming TTS (espeak-ng) → native resample → WAV out.
 *
 * Run: `deno run -A examples/voice_pipeline.ts [in.wav] [reply.wav]` or
 * `bun run examples/voice_pipeline.ts [in.wav] [reply.wav]`.
 *
 * @module
 */
import { type Node, PipelineBuilder, RuntimeData, Session, type WavWriterSummary } from "../mod.ts";
import { espeakMissing, EspeakTtsNode } from "./streaming_tts.ts";
import { args as commandLine } from "../ffi/runtime.ts";

/** Turns each utterance into a reply text (a stand-in for ASR + LLM). */
export class ResponderNode implements Node {
  /** Replies produced so far. */
  readonly replies: string[] = [];

  /** One reply per utterance, naming its length. */
  process(utterance: RuntimeData): RuntimeData {
    const audio = utterance.asAudio();
    const reply = `I heard ${audio.durationSeconds.toFixed(1)} seconds of speech.`;
    this.replies.push(reply);
    return RuntimeData.text(reply);
  }
}

/** Runs the pipeline; resolves with the replies and the reply WAV summary. */
export async function respond(
  input: string,
  output: string,
): Promise<{ replies: string[]; durationSeconds: number }> {
  const responder = new ResponderNode();
  const manifest = new PipelineBuilder()
    .name("voice-pipeline")
    .node("read", "WavReader", { path: input, chunkMs: 20 })
    .node("mono", "ChannelMix", { mode: "mono" })
    .node("resample", "Resample", { targetRate: 16000 })
    .node("vad", "Vad", { mode: "gate" })
    .node("utterances", "UtteranceAccumulator", { minMs: 300 })
    .node("respond", responder, { accepts: ["audio"], outputs: ["text"] })
    .node("tts", new EspeakTtsNode(), { accepts: ["text"], outputs: ["audio"] })
    .node("resample-out", "Resample", { targetRate: 16000 })
    .node("write", "WavWriter", { path: output })
    .chain(
      "read",
      "mono",
      "resample",
      "vad",
      "utterances",
      "respond",
      "tts",
      "resample-out",
      "write",
    )
    .build();
  await using session = Session.create(manifest); // the reader starts by itself; the session ends after it
  let durationSeconds = 0;
  for await (const out of session) {
    durationSeconds = out.asJson<WavWriterSummary>().durationSeconds;
    out.dispose();
  }
  await session.done;
  return { replies: responder.replies, durationSeconds };
}

if (import.meta.main) {
  const missing = espeakMissing();
  if (missing) {
    console.error(missing);
  } else {
    const args = commandLine();
    const input = args[0] ?? new URL("./data/speech.wav", import.meta.url).pathname;
    const output = args[1] ?? "reply.wav";
    const { replies, durationSeconds } = await respond(input, output);
    for (const r of replies) console.log(`reply: ${r}`);
    console.log(`${output}: ${durationSeconds.toFixed(2)} s`);
  }
}
