/**
 * The turn-taking scenarios of `examples/data/turns/` (made by `tools/make_turn_scenarios.sh`), replayed
 * on a virtual clock: the "microphone" WAV is pushed 10 ms at a time as the clock reaches the end of
 * each frame, through `Vad` (pass) → `TurnDetector`; the bot's utterance goes through its own branch of
 * the same session into a {@link Playout}; a {@link BargeIn} policy reads the turn events. Every event
 * is put on one timeline, and the bot's audio is followed to the sample: what the listener heard, what
 * reached the sink after an interruption (stale), and how long from the user's speech onset the bot
 * took to go quiet. Nothing here depends on wall-clock time, so the results are exact.
 *
 * Run: `deno run -A examples/turn_scenarios.ts [name…]` or `bun run examples/turn_scenarios.ts`.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import {
  BargeIn,
  type BargeInEvent,
  type BargeInOptions,
  type NodeParams,
  PipelineBuilder,
  Playout,
  type PlayoutEvent,
  RuntimeData,
  Session,
  type TurnDetectorEvent,
  VirtualClock,
  wavFrames,
} from "../mod.ts";
import { args } from "../ffi/runtime.ts";

const DATA = new URL("./data/turns/", import.meta.url);

/** One stretch of the user's speech in a scenario, as the script placed it (seconds). */
export interface ScriptedSpeech {
  /** What is said. */
  what: string;
  /** Where it starts. */
  start: number;
  /** Where it ends. */
  end: number;
}

/** A scenario of `scenarios.json`. */
export interface Scenario {
  /** The microphone WAV. */
  file: string;
  /** Its length, s. */
  seconds: number;
  /** When the bot starts speaking, s (`null`: the bot is silent). */
  botStartsAt: number | null;
  /** The user's speech. */
  user: ScriptedSpeech[];
}

/** One line of a timeline. */
export interface TimelineEntry {
  /** Clock time, ms (= microphone audio time: the mic is pushed as the clock reaches it). */
  atMs: number;
  /** Who reported it. */
  source: "script" | "turns" | "policy" | "playout";
  /** The event. */
  event: { type: string; [key: string]: unknown };
}

/** What a scenario run gives. */
export interface ScenarioResult {
  /** Scenario name. */
  name: string;
  /** The script. */
  scenario: Scenario;
  /** Every event, in order. */
  timeline: TimelineEntry[];
  /** Of the policy's events: */
  policy: BargeInEvent[];
  /** Of the TurnDetector's `turn_end`s. */
  turnEnds: number;
  /** Samples of an interrupted utterance written to the sink after its interruption (and before any resume). */
  staleSamples: number;
  /** The bot's audio as the listener heard it (sink writes, with `clear()` honoured). */
  heard: Float32Array;
  /** The bot's utterance as written to the playout. */
  bot: Float32Array;
  /** Per interruption: ms from the onset of the user's speech (script) to the bot going quiet. */
  quietAfterOnsetMs: number[];
  /** Per interruption: ms from the decision point (Vad onset + minSpeechMs) to the interruption. */
  decisionLagMs: number[];
}

/** Options of {@link runScenario}. */
export interface ScenarioOptions {
  /** Microphone frame size, ms (default 10). */
  frameMs?: number;
  /** `Vad` params (mode is always `pass`). */
  vad?: Omit<NodeParams["Vad"], "mode">;
  /** `TurnDetector` params. */
  turns?: NodeParams["TurnDetector"];
  /** Policy options (beyond playout and session). */
  policy?: Omit<BargeInOptions, "playout" | "session" | "from" | "onEvent">;
  /** Playout lead, ms (default 40). */
  leadMs?: number;
}

/** The scenarios' script. */
export function scenarios(): Record<string, Scenario> {
  const json = JSON.parse(readFileSync(new URL("scenarios.json", DATA), "utf8"));
  return json.scenarios;
}

async function readWav(file: string, frameMs: number): Promise<Float32Array[]> {
  const frames: Float32Array[] = [];
  for await (const frame of wavFrames(readFileSync(new URL(file, DATA)), { frameMs })) {
    const view = frame.asAudio();
    frames.push(Float32Array.from(view.samples as ArrayLike<number>, (s) => s / 32768));
    frame.dispose();
  }
  return frames;
}

/** Replays scenario `name` on a virtual clock and follows every event and every bot sample. */
export async function runScenario(
  name: string,
  options: ScenarioOptions = {},
): Promise<ScenarioResult> {
  const scenario = scenarios()[name];
  if (!scenario) throw new Error(`no scenario "${name}"`);
  const frameMs = options.frameMs ?? 10;
  const mic = await readWav(scenario.file, frameMs);
  const bot = (await readWav("bot.wav", 0))[0];
  const clock = new VirtualClock();
  const timeline: TimelineEntry[] = [];
  const log = (source: TimelineEntry["source"], event: TimelineEntry["event"]): void => {
    timeline.push({ atMs: clock.now(), source, event });
  };
  for (const s of scenario.user) {
    timeline.push({
      atMs: s.start * 1000,
      source: "script",
      event: { type: "user_speech", what: s.what, endMs: s.end * 1000 },
    });
  }
  if (scenario.botStartsAt !== null) {
    timeline.push({
      atMs: scenario.botStartsAt * 1000,
      source: "script",
      event: { type: "bot_speech" },
    });
  }

  await using session = Session.create(
    new PipelineBuilder()
      .node("mic", "Vad", { ...options.vad, mode: "pass" })
      .node("turns", "TurnDetector", options.turns ?? {})
      .chain("mic", "turns")
      .node("bot", "PassThrough") // the bot's branch: TTS output would come through here
      .build(),
    { execution: "inline", outputCapacity: 256 },
  );

  // The listener's device: frames play at `playAtMs`; `clear()` cuts what has not played yet.
  const played: { id: string; offset: number; samples: Float32Array; playAt: number }[] = [];
  const cutAt = new Map<string, number>(); // utterance → clock time it was interrupted (until resumed)
  let staleSamples = 0;
  const playout = new Playout({
    sampleRate: 16000,
    clock,
    leadMs: options.leadMs ?? 40,
    sink: {
      write(frame, info): void {
        if (cutAt.has(info.utteranceId)) staleSamples += frame.length;
        played.push({
          id: info.utteranceId,
          offset: info.offsetMs,
          samples: frame.slice(),
          playAt: info.playAtMs,
        });
      },
      clear(): void {
        const now = clock.now();
        for (let i = played.length - 1; i >= 0; i--) {
          const f = played[i];
          if (f.playAt >= now) played.splice(i, 1);
          else {
            const heard = Math.round(((now - f.playAt) * 16000) / 1000);
            if (heard < f.samples.length) f.samples = f.samples.subarray(0, heard);
          }
        }
      },
    },
    onEvent: (e: PlayoutEvent) => {
      // Stale: audio of an utterance written after its interruption (until it is resumed).
      if (e.type === "interrupted") cutAt.set(e.utteranceId, e.atMs);
      if (e.type === "resumed") cutAt.delete(e.utteranceId);
      log("playout", e as unknown as TimelineEntry["event"]);
    },
  });
  const policyEvents: BargeInEvent[] = [];
  const policy = new BargeIn({
    ...options.policy,
    playout,
    session,
    from: "bot",
    onEvent: (e) => {
      policyEvents.push(e);
      log("policy", e as unknown as TimelineEntry["event"]);
    },
  });

  let turnEnds = 0;
  const drain = (): void => {
    for (let out = session.poll(); out; out = session.poll()) {
      try {
        if (out.nodeId === "bot") playout.write(out, "bot-reply");
        else {
          const event = out.asJson<TurnDetectorEvent>();
          if (event.type === "turn_end") turnEnds++;
          if (event.type !== "speaking") log("turns", event as unknown as TimelineEntry["event"]);
          policy.handle(event);
        }
      } finally {
        out.dispose();
      }
    }
  };
  const push = (data: RuntimeData, to: string): void => {
    while (!session.tryPush(data, { to })) drain();
    drain();
  };

  let botPushed = scenario.botStartsAt === null;
  for (const samples of mic) {
    if (!botPushed && clock.now() >= scenario.botStartsAt! * 1000) {
      // The bot's reply arrives faster than real time, in 100 ms pieces (as a TTS would send it).
      for (let i = 0; i < bot.length; i += 1600) {
        using piece = RuntimeData.audio({ samples: bot.subarray(i, i + 1600), sampleRate: 16000 });
        push(piece, "bot");
      }
      playout.end("bot-reply");
      botPushed = true;
    }
    clock.advance((samples.length * 1000) / 16000); // the frame is complete when the clock reaches its end
    using frame = RuntimeData.audio({ samples, sampleRate: 16000 });
    push(frame, "mic");
  }
  session.close();
  for (let out = await session.next(); out; out = await session.next()) {
    try {
      if (out.nodeId === "turns") {
        const event = out.asJson<TurnDetectorEvent>();
        if (event.type === "turn_end") turnEnds++;
        if (event.type !== "speaking") log("turns", event as unknown as TimelineEntry["event"]);
        policy.handle(event);
      } else playout.write(out, "bot-reply");
    } finally {
      out.dispose();
    }
  }
  // Let the bot finish (or stay quiet) on the clock.
  for (let i = 0; i < 2000 && playout.active; i++) clock.advance(10);
  playout.close();

  const heard = new Float32Array(played.reduce((n, f) => n + f.samples.length, 0));
  let at = 0;
  for (const f of played.sort((a, b) => a.playAt - b.playAt)) {
    heard.set(f.samples, at);
    at += f.samples.length;
  }
  const minSpeechMs = options.policy?.minSpeechMs ?? 300;
  const quietAfterOnsetMs: number[] = [];
  const decisionLagMs: number[] = [];
  for (const e of policyEvents) {
    if (e.type !== "interruption") continue;
    const onset = scenario.user.find((s) =>
      e.speechStartUs / 1e6 < s.end && e.speechStartUs / 1e6 > s.start - 0.3
    );
    if (onset) quietAfterOnsetMs.push(e.atMs - onset.start * 1000);
    decisionLagMs.push(e.atMs - (e.speechStartUs / 1000 + minSpeechMs));
  }
  timeline.sort((a, b) => a.atMs - b.atMs);
  return {
    name,
    scenario,
    timeline,
    policy: policyEvents,
    turnEnds,
    staleSamples,
    heard,
    bot,
    quietAfterOnsetMs,
    decisionLagMs,
  };
}

/** A timeline as text, one event a line. */
export function formatTimeline(result: ScenarioResult): string[] {
  const s = (us: unknown) => (Number(us) / 1e6).toFixed(3);
  return result.timeline.flatMap(({ atMs, source, event: e }) => {
    let what: string;
    switch (e.type) {
      case "user_speech":
        what = `user says "${e.what}" (until ${(Number(e.endMs) / 1000).toFixed(3)} s)`;
        break;
      case "bot_speech":
        what = "bot starts its reply";
        break;
      case "speech_start":
        what = `speech_start, onset ${s(e.timeUs)} s`;
        break;
      case "speech_end":
        what = `speech_end ${s(e.startUs)}–${s(e.endUs)} s`;
        break;
      case "turn_start":
        what = `turn_start at ${s(e.timeUs)} s`;
        break;
      case "turn_end":
        what = `turn_end ${s(e.startUs)}–${s(e.endUs)} s, ${
          Number(e.speechUs) / 1000
        } ms of speech (${e.reason}, ${e.cue})`;
        break;
      case "interruption":
        what = `INTERRUPTION: the bot is quiet; the listener heard ${
          Number(e.playedMs).toFixed(0)
        } ms of "${e.utteranceId}", ${Number(e.droppedMs).toFixed(0)} ms not (held)`;
        break;
      case "interrupted":
      case "resumed":
        if (source === "playout") return []; // the policy's event says it
        what = `RESUMED "${e.utteranceId}" from ${Number(e.fromMs).toFixed(0)} ms (${
          Number(e.heldMs).toFixed(0)
        } ms left)`;
        break;
      case "false_interruption":
        what = `false interruption: ${e.turnSpeechMs} ms of speech is not a turn`;
        break;
      case "user_turn":
        what = `user turn to answer${e.interrupted ? " (it interrupted the bot)" : ""}`;
        break;
      case "utterance_started":
        what = `bot audio "${e.utteranceId}" starts playing`;
        break;
      case "utterance_finished":
        what = `bot audio "${e.utteranceId}" played to its end (${
          Number(e.playedMs).toFixed(0)
        } ms)`;
        break;
      default: {
        const { type, ...rest } = e;
        what = `${type} ${JSON.stringify(rest)}`;
      }
    }
    return [`${(atMs / 1000).toFixed(3).padStart(7)} s  ${source.padEnd(7)} ${what}`];
  });
}

if (import.meta.main) {
  const names = args().length > 0 ? args() : Object.keys(scenarios());
  for (const name of names) {
    const r = await runScenario(name);
    console.log(`--- ${name}`);
    for (const line of formatTimeline(r)) console.log(line);
    console.log(
      `stale samples after interruption: ${r.staleSamples}; quiet after onset: ${
        r.quietAfterOnsetMs.join(", ") || "-"
      } ms`,
    );
  }
}
