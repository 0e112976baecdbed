/**
 * A voice agent's conversation loop, with barge-in: the bot speaks a streamed reply (a stand-in LLM →
 * sentences → espeak-ng TTS → 16 kHz), the user starts talking over it (a real speech WAV through
 * mono → 16 kHz → VAD), and on the user's `speech_start` the reply branch is interrupted: the LLM's
 * pending work is cancelled through `ctx.signal`, queued sentences and audio are dropped, and the bot
 * goes quiet.
 *
 * It shows the three real-time API pieces together:
 * - **inputs per entry**: text goes to the `llm` entry and microphone audio to the `mic` entry with
 *   `push(data, { to })`;
 * - **outputs per sink**: the VAD events (`vad`) and the bot's audio (`speaker`) are read by two loops
 *   at their own pace with `session.outputs(sinkId)` — the speaker loop plays in (accelerated) real
 *   time and does not delay the events;
 * - **cancellable TypeScript nodes**: the LLM node waits with `ctx.signal`, so barge-in stops it at
 *   once instead of after its next token.
 *
 * Run: `deno run -A examples/voice_agent.ts` or `bun run examples/voice_agent.ts`.
 *
 * @module
 */
import {
  type Node,
  type NodeContext,
  PipelineBuilder,
  RuntimeData,
  Session,
  type VadEvent,
  wavFrames,
} from "../mod.ts";
import { espeakMissing, EspeakTtsNode } from "./streaming_tts.ts";

/** Waits `ms`, or rejects with the signal's reason as soon as it fires. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** A stand-in for a streaming LLM: answers a prompt word by word, `msPerWord` apart. */
export class FakeLlmNode implements Node {
  /** How many replies were cut short by `ctx.signal` (barge-in). */
  cancelled = 0;
  #msPerWord: number;

  /** An LLM that produces a word every `msPerWord` milliseconds. */
  constructor(msPerWord = 15) {
    this.#msPerWord = msPerWord;
  }

  /** Streams the reply; stops (and counts it) when the call's signal fires. */
  async *process(prompt: RuntimeData, ctx: NodeContext): AsyncGenerator<RuntimeData> {
    const reply = `You asked: ${prompt.asText()}. ` +
      "Here is a long answer with several sentences. It goes on for a while. " +
      "Nobody should have to hear all of it. The user will surely interrupt me. " +
      "And when they do, I stop talking at once.";
    try {
      for (const word of reply.split(" ")) {
        await sleep(this.#msPerWord, ctx.signal);
        yield RuntimeData.text(word + " ");
      }
    } catch (error) {
      if (ctx.signal.aborted) {
        this.cancelled++;
        return; // barge-in: not an error
      }
      throw error;
    }
  }
}

/** What a conversation turn produced. */
export interface Turn {
  /** VAD events seen, with the bot audio (seconds) played when each arrived. */
  events: { type: string; atSpokenSeconds: number }[];
  /** Seconds of bot audio played in all. */
  spokenSeconds: number;
  /** Seconds of bot audio that reached the speaker after the barge-in (what was already in flight). */
  afterBargeInSeconds: number;
  /** Replies the LLM node abandoned because its signal fired. */
  cancelledReplies: number;
}

/**
 * One turn: the bot answers `prompt`; meanwhile the microphone plays `micWav`; the user's speech
 * interrupts the bot. `speed` accelerates the real-time pacing of both the microphone and the speaker.
 */
export async function converse(prompt: string, micWav: string, speed = 20): Promise<Turn> {
  const llm = new FakeLlmNode();
  const manifest = new PipelineBuilder()
    .name("voice-agent")
    // listening branch
    .node("mic", "ChannelMix", { mode: "mono" })
    .node("mic-16k", "Resample", { targetRate: 16000 })
    .node("vad", "Vad", { mode: "events" })
    .chain("mic", "mic-16k", "vad")
    // speaking branch
    .node("llm", llm, { accepts: ["text"], outputs: ["text"] })
    .node("sentences", "TextCollector")
    .node("tts", new EspeakTtsNode("en-us", 220), { accepts: ["text"], outputs: ["audio"] })
    .node("speaker", "Resample", { targetRate: 16000 })
    .chain("llm", "sentences", "tts", "speaker")
    .build();
  await using session = Session.create(manifest, { outputCapacity: 4 });
  const turn: Turn = { events: [], spokenSeconds: 0, afterBargeInSeconds: 0, cancelledReplies: 0 };
  let bargedIn = false;

  // The speaker: plays the bot's audio in (accelerated) real time.
  let botIsTalking!: () => void;
  const talking = new Promise<void>((resolve) => botIsTalking = resolve);
  const speaker = (async () => {
    for await (const audio of session.outputs("speaker")) {
      const seconds = audio.asAudio().durationSeconds;
      audio.dispose();
      if (bargedIn) turn.afterBargeInSeconds += seconds;
      await new Promise((r) => setTimeout(r, (seconds * 1000) / speed));
      turn.spokenSeconds += seconds;
      if (turn.spokenSeconds >= 0.5) botIsTalking();
    }
    botIsTalking();
  })();
  // The listener: VAD events as they happen; the user's speech interrupts the bot.
  const listener = (async () => {
    for await (const out of session.outputs("vad")) {
      const event = out.asJson<VadEvent>();
      out.dispose();
      turn.events.push({ type: event.type, atSpokenSeconds: turn.spokenSeconds });
      if (event.type === "speech_start") {
        bargedIn = true;
        session.interrupt({ from: "llm" }); // barge-in
      }
    }
  })();

  using text = RuntimeData.text(prompt);
  await session.push(text, { to: "llm" });
  await talking; // the user starts talking while the bot speaks
  // The microphone, paced like a real one (accelerated by `speed`).
  const mic = await import("node:fs/promises").then((fs) => fs.readFile(micWav));
  for await (const frame of wavFrames(new Uint8Array(mic))) {
    const seconds = frame.asAudio().durationSeconds;
    try {
      await session.push(frame, { to: "mic" });
    } finally {
      frame.dispose();
    }
    await new Promise((r) => setTimeout(r, (seconds * 1000) / speed));
  }
  session.close();
  await Promise.all([speaker, listener]);
  await session.done;
  turn.cancelledReplies = llm.cancelled;
  return turn;
}

if (import.meta.main) {
  const missing = espeakMissing();
  if (missing) {
    console.error(missing);
  } else {
    const wav = new URL("./data/speech.wav", import.meta.url).pathname;
    const turn = await converse("what is the weather like", wav);
    for (const e of turn.events) {
      console.log(`${e.type} (bot had spoken ${e.atSpokenSeconds.toFixed(2)} s)`);
    }
    console.log(
      `bot spoke ${
        turn.spokenSeconds.toFixed(2)
      } s; replies cut by barge-in: ${turn.cancelledReplies}`,
    );
  }
}
