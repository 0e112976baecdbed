/**
 * A voice agent's conversation loop: a WAV "microphone" → `Vad` (Silero) → `TurnDetector` → a
 * TypeScript reply node (a placeholder for ASR + LLM that echoes what it is told) → espeak-ng TTS →
 * a {@link Playout} with a {@link BargeIn} policy. The user says something; the bot answers; the user
 * interrupts the answer mid-sentence; the bot stops at once (nothing stale follows), then answers the
 * interruption. Prints the timeline of events.
 *
 * The microphone is two scenario recordings of `examples/data/turns/` joined with silence. By default
 * the whole conversation runs on a virtual clock (the TTS's own latency counts as zero, everything
 * else is exact); `--realtime` runs it on the wall clock, 20 ms of microphone every 20 ms.
 *
 * Run: `deno run -A examples/voice_agent.ts [--realtime] [--out heard.wav]` or
 * `bun run examples/voice_agent.ts`. Needs espeak-ng.
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import {
  BargeIn,
  type BargeInEvent,
  type Clock,
  type Node,
  type NodeContext,
  PipelineBuilder,
  Playout,
  type PlayoutEvent,
  RuntimeData,
  Session,
  systemClock,
  type TurnDetectorEvent,
  VirtualClock,
  wavFrames,
  wavStream,
} from "../mod.ts";
import { args } from "../ffi/runtime.ts";
import { espeakMissing, EspeakTtsNode } from "./streaming_tts.ts";

/** The placeholder for ASR + LLM: answers each text with a reply that echoes it. */
export class EchoReplyNode implements Node {
  /** Yields the reply text; its `streamId` names the utterance the bot will speak. */
  process(prompt: RuntimeData): RuntimeData {
    const { streamId } = prompt.attributes();
    return RuntimeData.text(
      `You said something for ${prompt.asText()}. I am only a placeholder for a language model, ` +
        "so all I can do is tell you how long you spoke, and keep talking until you stop me.",
      { streamId },
    );
  }
}

/**
 * espeak-ng as a streaming TTS (`EspeakTtsNode`), whose audio carries the reply's `streamId` (the
 * playout's utterance id), followed by `{type: "reply_end", utteranceId}` when the reply is spoken.
 */
export class ReplyTtsNode implements Node {
  #tts = new EspeakTtsNode("en-us", 175);

  /** Checks that espeak-ng runs. */
  initialize(): void {
    this.#tts.initialize();
  }

  /** Speaks one reply. */
  async *process(text: RuntimeData, ctx: NodeContext): AsyncGenerator<RuntimeData> {
    const streamId = text.attributes().streamId ?? "reply";
    for await (const chunk of this.#tts.process(text)) {
      if (ctx.signal.aborted) return; // barge-in: stop speaking
      const view = chunk.asAudio();
      const tagged = RuntimeData.audio({
        samples: view.samples as Int16Array,
        sampleRate: view.sampleRate,
        streamId,
      });
      chunk.dispose();
      yield tagged;
    }
    yield RuntimeData.json({ type: "reply_end", utteranceId: streamId });
  }
}

/** One line of the timeline. */
export interface AgentEvent {
  /** Clock time since the start, ms (= microphone time). */
  atMs: number;
  /** Who reported it. */
  source: "turns" | "agent" | "policy" | "playout";
  /** What happened. */
  event: { type: string; [key: string]: unknown };
}

/** What a conversation gave. */
export interface Conversation {
  /** Every event, in order. */
  timeline: AgentEvent[];
  /** The reply texts, in order. */
  replies: string[];
  /** Samples of an interrupted reply that reached the speaker after the interruption. */
  staleSamples: number;
  /** The bot's audio as the listener heard it (22050 Hz mono, f32). */
  heard: Float32Array;
}

const DATA = new URL("./data/turns/", import.meta.url);

/** The microphone: a turn, silence, an interruption, silence (16 kHz mono f32, 20 ms frames). */
async function microphone(): Promise<Float32Array[]> {
  const read = async (file: string, seconds: number): Promise<Float32Array> => {
    const out: number[] = [];
    for await (const frame of wavFrames(readFileSync(new URL(file, DATA)), { frameMs: 0 })) {
      out.push(...(frame.asAudio().samples as Int16Array).subarray(0, seconds * 16000));
      frame.dispose();
    }
    return Float32Array.from(out, (s) => s / 32768);
  };
  // "I would like to book a table, … for two people tomorrow." (0.5–3.7 s of pause.wav), then
  // "Wait, stop. How much does a table for two cost?" (1.5 s into interrupt.wav), over the reply.
  const parts = [await read("pause.wav", 4.4), new Float32Array(2.5 * 16000)];
  parts.push(await read("interrupt.wav", 6), new Float32Array(9 * 16000));
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const frames: Float32Array[] = [];
  for (let i = 0; i < all.length; i += 320) frames.push(all.subarray(i, i + 320));
  return frames;
}

/** Runs the conversation; `realtime` paces it on the wall clock instead of a virtual one. */
export async function converse(options: { realtime?: boolean } = {}): Promise<Conversation> {
  const virtual = options.realtime ? undefined : new VirtualClock();
  const clock: Clock = virtual ?? systemClock;
  const t0 = clock.now();
  const timeline: AgentEvent[] = [];
  const log = (source: AgentEvent["source"], event: AgentEvent["event"]): void => {
    timeline.push({ atMs: Math.round(clock.now() - t0), source, event });
  };
  await using session = Session.create(
    new PipelineBuilder()
      .name("voice-agent")
      .node("vad", "Vad", { mode: "pass" }) // Silero VAD; the audio passes on to keep the turn clock
      .node("turns", "TurnDetector", {})
      .chain("vad", "turns")
      .node("reply", new EchoReplyNode(), { accepts: ["text"], outputs: ["text"] })
      .node("tts", new ReplyTtsNode(), { accepts: ["text"], outputs: ["audio", "json"] })
      .chain("reply", "tts")
      .build(),
    { execution: "inline" },
  );

  // The speaker: what the listener hears (released audio, minus what `clear()` took back).
  const heard: { samples: Float32Array; playAt: number }[] = [];
  const cut = new Set<string>();
  let staleSamples = 0;
  const playout = new Playout({
    sampleRate: 22050, // espeak-ng's rate: no resampling on the way out
    clock,
    leadMs: 40,
    sink: {
      write(frame, info): void {
        if (cut.has(info.utteranceId)) staleSamples += frame.length;
        heard.push({ samples: frame.slice(), playAt: info.playAtMs });
      },
      clear(): void {
        const now = clock.now();
        for (let i = heard.length - 1; i >= 0 && heard[i].playAt + 1 > now; i--) {
          const keep = Math.max(0, Math.round(((now - heard[i].playAt) * 22050) / 1000));
          if (keep === 0) heard.splice(i, 1);
          else heard[i].samples = heard[i].samples.subarray(0, keep);
        }
      },
    },
    onEvent: (e: PlayoutEvent) => {
      if (e.type === "interrupted") cut.add(e.utteranceId);
      if (e.type === "resumed") cut.delete(e.utteranceId);
      if (e.type !== "sink_error") log("playout", e as unknown as AgentEvent["event"]);
    },
  });
  const replies: string[] = [];
  let replyDone: Promise<void> | undefined;
  let endReply: (() => void) | undefined;
  const policy = new BargeIn({
    playout,
    session,
    from: "reply", // the reply node and the TTS after it
    onEvent: (e: BargeInEvent) => {
      log("policy", e as unknown as AgentEvent["event"]);
      if (e.type !== "user_turn") return;
      // The user's turn: answer it (here: say how long they spoke).
      const id = `reply-${replies.length + 1}`;
      const prompt = `${(e.turn.speechUs / 1e6).toFixed(1)} seconds`;
      replies.push(id);
      log("agent", { type: "reply_requested", utteranceId: id, prompt });
      replyDone = new Promise((resolve) => endReply = resolve);
      using text = RuntimeData.text(prompt, { streamId: id });
      if (!session.tryPush(text, { to: "reply" })) throw new Error("the reply branch is busy");
    },
  });

  const route = (out: RuntimeData): void => {
    try {
      if (out.nodeId === "turns") {
        const event = out.asJson<TurnDetectorEvent>();
        if (event.type !== "speaking") log("turns", event as unknown as AgentEvent["event"]);
        policy.handle(event);
      } else if (out.dataType() === "audio") {
        playout.write(out); // the utterance is its streamId
      } else {
        const end = out.asJson<{ utteranceId: string }>();
        playout.end(end.utteranceId);
        endReply?.();
      }
    } finally {
      out.dispose();
    }
  };

  const frames = await microphone();
  for (let n = 0; n < frames.length; n++) {
    // Frame n is complete when the clock reaches its end.
    if (virtual) virtual.advance(20);
    else await sleepUntil(t0 + (n + 1) * 20);
    using frame = RuntimeData.audio({ samples: frames[n], sampleRate: 16000 });
    while (!session.tryPush(frame, { to: "vad" })) await drainOne(session, route);
    for (let out = session.poll(); out; out = session.poll()) route(out);
    if (virtual && replyDone) {
      // Virtual time stands still while the TTS works: its audio is all there before time moves on.
      const waiting = replyDone;
      replyDone = undefined;
      while (!(await settled(waiting))) await drainOne(session, route);
    }
  }
  session.close();
  for await (const out of session) route(out);
  for (let i = 0; i < 1000 && playout.active && virtual; i++) virtual.advance(20);
  while (!virtual && playout.active) await new Promise((r) => setTimeout(r, 20));
  playout.close();
  heard.sort((a, b) => a.playAt - b.playAt);
  const audio = new Float32Array(heard.reduce((n, h) => n + h.samples.length, 0));
  let at = 0;
  for (const h of heard) {
    audio.set(h.samples, at);
    at += h.samples.length;
  }
  timeline.sort((a, b) => a.atMs - b.atMs);
  return { timeline, replies, staleSamples, heard: audio };
}

/** Waits (wall clock) until `performance.now()` reaches `time`. */
async function sleepUntil(time: number): Promise<void> {
  const wait = time - systemClock.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

/** Takes one output (waiting for it) and routes it. */
async function drainOne(session: Session, route: (out: RuntimeData) => void): Promise<void> {
  const out = await session.next();
  if (out) route(out);
}

/** Whether `promise` has settled (checked after the pending microtasks). */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  void promise.then(() => done = true);
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

/** The timeline as text. */
export function formatConversation(c: Conversation): string[] {
  return c.timeline.map(({ atMs, source, event }) => {
    const { type, ...rest } = event;
    const detail = Object.entries(rest)
      .filter(([k]) => k !== "turn" && k !== "atMs")
      .map(([k, v]) => `${k}=${typeof v === "number" ? Math.round(v * 1000) / 1000 : v}`)
      .join(" ");
    return `${(atMs / 1000).toFixed(2).padStart(6)} s  ${source.padEnd(7)} ${type} ${detail}`;
  });
}

if (import.meta.main) {
  const missing = espeakMissing();
  if (missing) {
    console.error(missing);
  } else {
    const argv = args();
    const c = await converse({ realtime: argv.includes("--realtime") });
    for (const line of formatConversation(c)) console.log(line);
    console.log(`stale samples after the interruption: ${c.staleSamples}`);
    const out = argv[argv.indexOf("--out") + 1];
    if (argv.includes("--out") && out) {
      const wav = wavStream(
        new ReadableStream({
          start(controller): void {
            controller.enqueue(RuntimeData.audio({ samples: c.heard, sampleRate: 22050 }));
            controller.close();
          },
        }),
      );
      writeFileSync(out, new Uint8Array(await new Response(wav).arrayBuffer()));
      console.log(`wrote what the listener heard to ${out}`);
    }
  }
}
