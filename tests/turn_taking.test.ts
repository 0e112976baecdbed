// Playout, barge-in policy and virtual clock, on a virtual clock: exact times, no waiting.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ArgumentError,
  BargeIn,
  type BargeInEvent,
  DisposedError,
  type FrameInfo,
  Playout,
  type PlayoutEvent,
  RemoteMediaError,
  RuntimeData,
  VirtualClock,
} from "../mod.ts";

const RATE = 16000;

/** A ramp: sample i is i (so every sample says where it came from). */
function ramp(samples: number, from = 0): Float32Array {
  return Float32Array.from({ length: samples }, (_, i) => from + i);
}

interface Device {
  frames: { frame: Float32Array; info: FrameInfo; writtenAt: number }[];
  readonly clears: number;
  sink: { write(frame: Float32Array, info: FrameInfo): void; clear(): void };
  heard(): number[];
  releasedUntil(): number;
}

/** A listener's device on the clock: frames play at `playAtMs`; `clear()` cuts what has not played. */
function device(clock: VirtualClock): Device {
  const frames: { frame: Float32Array; info: FrameInfo; writtenAt: number }[] = [];
  let clears = 0;
  return {
    frames,
    get clears() {
      return clears;
    },
    sink: {
      write: (frame: Float32Array, info: FrameInfo) => {
        frames.push({ frame: frame.slice(), info, writtenAt: clock.now() });
      },
      clear: () => {
        clears++;
        const now = clock.now();
        for (let i = frames.length - 1; i >= 0; i--) {
          const f = frames[i];
          if (f.info.playAtMs >= now) frames.splice(i, 1);
          else {
            const heard = Math.round(((now - f.info.playAtMs) * RATE) / 1000);
            if (heard < f.frame.length) f.frame = f.frame.subarray(0, heard);
          }
        }
      },
    },
    /** Everything heard, in play order. */
    heard(): number[] {
      return frames.toSorted((a, b) => a.info.playAtMs - b.info.playAtMs).flatMap((
        f,
      ) => [...f.frame]);
    },
    /** End of the released audio (clock time). */
    releasedUntil(): number {
      const last = frames.at(-1);
      return last ? last.info.playAtMs + (last.frame.length * 1000) / RATE : -Infinity;
    },
  };
}

test("the virtual clock fires timers in time order, each at its own time", () => {
  const clock = new VirtualClock(100);
  const fired: [string, number][] = [];
  clock.setTimer(30, () => fired.push(["b", clock.now()]));
  clock.setTimer(10, () => {
    fired.push(["a", clock.now()]);
    clock.setTimer(5, () => fired.push(["a2", clock.now()]));
  });
  const cancel = clock.setTimer(20, () => fired.push(["never", clock.now()]));
  cancel();
  clock.advance(50);
  assert.deepEqual(fired, [["a", 110], ["a2", 115], ["b", 130]]);
  assert.equal(clock.now(), 150);
  assert.throws(() => clock.advanceTo(10), ArgumentError);
  assert.throws(() => clock.advance(-1), ArgumentError);
});

test("the playout releases audio at real-time pace, between one frame and leadMs ahead", () => {
  const clock = new VirtualClock();
  const dev = device(clock);
  using playout = new Playout({ sampleRate: RATE, clock, sink: dev.sink, leadMs: 40, frameMs: 20 });
  playout.write(ramp(RATE), "a"); // 1 s
  for (let t = 0; t < 960; t += 5) {
    const ahead = dev.releasedUntil() - clock.now();
    assert.ok(ahead > 20 - 1e-9 && ahead <= 40 + 1e-9, `at ${t} ms: ${ahead} ms ahead`);
    assert.ok(dev.frames.every((f) => f.info.playAtMs - f.writtenAt <= 40));
    clock.advance(5);
  }
  clock.advance(100);
  assert.deepEqual(dev.heard(), [...ramp(RATE)], "every sample once, in order");
  assert.ok(dev.frames.every((f) => f.frame.length === 320), "20 ms frames");
});

test("the playout knows at every moment how much of each utterance was played", () => {
  const clock = new VirtualClock();
  const dev = device(clock);
  using playout = new Playout({ sampleRate: RATE, clock, sink: dev.sink });
  playout.write(ramp(8000), "a"); // 500 ms
  playout.write(ramp(4000), "b"); // 250 ms, after a
  playout.end("a");
  playout.end("b");
  clock.advance(333);
  assert.equal(playout.progress("a")?.playedMs, 333);
  assert.equal(playout.progress("b")?.playedMs, 0);
  assert.equal(playout.current, "a");
  clock.advance(250); // 583
  assert.equal(playout.progress("a")?.playedMs, 500);
  assert.equal(playout.progress("a")?.state, "finished");
  assert.equal(playout.progress("b")?.playedMs, 83);
  assert.equal(playout.progress("b")?.receivedMs, 250);
  clock.advance(1000);
  assert.equal(playout.progress("b")?.state, "finished");
  assert.equal(playout.active, false);
});

test("an interrupt drops everything not yet played, reports it, and clears the sink", () => {
  const clock = new VirtualClock();
  const dev = device(clock);
  const events: PlayoutEvent[] = [];
  using playout = new Playout({
    sampleRate: RATE,
    clock,
    sink: dev.sink,
    onEvent: (e) => events.push(e),
  });
  playout.write(ramp(RATE), "reply");
  playout.write(ramp(RATE), "next"); // queued behind it: dropped too
  clock.advance(250.5);
  const report = playout.interrupt();
  assert.deepEqual(report, { utteranceId: "reply", playedMs: 250.5, droppedMs: 749.5, heldMs: 0 });
  assert.equal(dev.clears, 1, "what was released ahead is cleared");
  assert.deepEqual(dev.heard(), [...ramp(4008)], "the listener heard exactly 250.5 ms");
  assert.equal(playout.progress("next")?.state, "interrupted");
  assert.equal(playout.active, false);
  const written = dev.frames.length;
  playout.write(ramp(1600), "reply"); // late audio of the interrupted utterance
  clock.advance(2000);
  assert.equal(dev.frames.length, written, "not one sample of the interrupted utterance comes out");
  const stale = events.filter((e) => e.type === "stale_dropped");
  assert.deepEqual(stale, [{ type: "stale_dropped", utteranceId: "reply", droppedMs: 100 }]);
  assert.deepEqual(events.find((e) => e.type === "interrupted"), {
    type: "interrupted",
    ...report,
    atMs: 250.5,
  });
  assert.equal(playout.interrupt(), undefined, "nothing to interrupt");
});

test("held audio resumes where the listener stopped, sample-exact", () => {
  const clock = new VirtualClock();
  const dev = device(clock);
  using playout = new Playout({ sampleRate: RATE, clock, sink: dev.sink, leadMs: 60 });
  playout.write(ramp(8000), "reply");
  clock.advance(123.4);
  const cut = playout.interrupt({ hold: true })!;
  assert.equal(cut.playedMs, 123.375); // 1974 samples
  assert.equal(cut.heldMs, 500 - 123.375);
  const written = dev.frames.length;
  playout.write(ramp(8000, 8000), "reply"); // more of it arrives while held: held too
  clock.advance(700);
  assert.equal(dev.frames.length, written, "held audio does not play");
  assert.equal(playout.active, false);
  const resumed = playout.resume()!;
  assert.deepEqual(resumed, {
    utteranceId: "reply",
    fromMs: 123.375,
    heldMs: 876.625,
    complete: false,
  });
  clock.advance(2000);
  assert.deepEqual(dev.heard(), [...ramp(16000)], "heard once, in order, nothing lost or repeated");
  assert.equal(playout.resume(), undefined);
});

test("audio that arrives late plays from now, not in the past (underrun)", () => {
  const clock = new VirtualClock();
  const dev = device(clock);
  using playout = new Playout({ sampleRate: RATE, clock, sink: dev.sink });
  playout.write(ramp(1600), "a"); // 100 ms
  clock.advance(300);
  playout.write(ramp(1600, 1600), "a");
  assert.equal(dev.frames.at(-1)!.info.playAtMs, 320); // frames released at once: 300, 320
  assert.equal(dev.frames.find((f) => f.info.offsetMs === 100)!.info.playAtMs, 300);
  assert.equal(playout.active, true, "an utterance not ended keeps the bot active");
  clock.advance(500);
  assert.equal(playout.active, true);
  playout.end("a");
  assert.equal(playout.active, false);
});

test("a RuntimeData's streamId names its utterance; wrong rates and channels are refused", () => {
  const clock = new VirtualClock();
  const dev = device(clock);
  using playout = new Playout({ sampleRate: RATE, clock, sink: dev.sink });
  using i16 = RuntimeData.audio({
    samples: new Int16Array(320).fill(16384),
    sampleRate: RATE,
    streamId: "s1",
  });
  playout.write(i16);
  assert.equal(dev.frames[0].info.utteranceId, "s1");
  assert.equal(dev.frames[0].frame[0], 0.5);
  using f32 = RuntimeData.audio({ samples: new Float32Array(320).fill(0.25), sampleRate: RATE });
  playout.write(f32, "s2");
  f32.dispose(); // the playout copied it
  clock.advance(40);
  assert.equal(dev.frames.find((f) => f.info.utteranceId === "s2")?.frame[319], 0.25);
  using stereo = RuntimeData.audio({
    samples: new Float32Array(640),
    sampleRate: RATE,
    channels: 2,
  });
  assert.throws(() => playout.write(stereo), /expected mono 16000 Hz audio, got 2 channel/);
  using wrongRate = RuntimeData.audio({ samples: new Float32Array(480), sampleRate: 24000 });
  assert.throws(() => playout.write(wrongRate), ArgumentError);
  using text = RuntimeData.text("hi");
  assert.throws(() => playout.write(text), RemoteMediaError);
  playout.end("s2");
  assert.throws(() => playout.write(ramp(10), "s2"), /was ended/);
  for (const bad of [{ sampleRate: 10 }, { leadMs: -1 }, { frameMs: 0 }, { sink: 5 }]) {
    assert.throws(
      () => new Playout({ sampleRate: RATE, sink: () => {}, ...bad } as never),
      (e: unknown) => e instanceof ArgumentError && e.code === "invalid_argument",
    );
  }
  playout.close();
  assert.throws(() => playout.write(ramp(10)), DisposedError);
});

interface Bot {
  clock: VirtualClock;
  dev: Device;
  playout: Playout;
  policy: BargeIn;
  events: BargeInEvent[];
  interrupts: string[];
  speak(startMs: number, durationMs: number, probability?: number): void;
  turnEnd(startMs: number, speechMs: number): void;
}

/** A bot speaking `ms` (ramp audio) and a policy over it; events collected. */
function botAndPolicy(
  ms: number,
  options: Partial<ConstructorParameters<typeof BargeIn>[0]> = {},
): Bot {
  const clock = new VirtualClock();
  const dev = device(clock);
  const playout = new Playout({ sampleRate: RATE, clock, sink: dev.sink });
  playout.write(ramp((ms * RATE) / 1000), "reply");
  playout.end("reply");
  const events: BargeInEvent[] = [];
  const interrupts: string[] = [];
  const policy = new BargeIn({
    playout,
    onInterrupt: (r) => interrupts.push(r.utteranceId),
    onEvent: (e) => events.push(e),
    ...options,
  });
  /** Feeds a speech segment of `durationMs` starting at clock time `startMs`, in 10 ms steps. */
  const speak = (startMs: number, durationMs: number, probability?: number): void => {
    clock.advanceTo(Math.max(clock.now(), startMs + 250)); // the Vad reports it 250 ms late
    const startUs = startMs * 1000;
    policy.handle({ type: "speech_start", timeUs: startUs, probability } as never);
    for (let t = clock.now(); t < startMs + durationMs + 320; t += 10) {
      clock.advanceTo(t);
      policy.handle({ type: "speaking", startUs, durationUs: (t - startMs) * 1000, probability });
    }
    policy.handle({
      type: "speech_end",
      startUs,
      endUs: (startMs + durationMs) * 1000,
      durationUs: durationMs * 1000,
    } as never);
  };
  const turnEnd = (startMs: number, speechMs: number): void => {
    policy.handle({
      type: "turn_end",
      startUs: startMs * 1000,
      endUs: (startMs + speechMs) * 1000,
      durationUs: speechMs * 1000,
      speechUs: speechMs * 1000,
      segments: 1,
      reason: "silence",
      silenceUs: 500_000,
      cue: "fixed",
      decidedUs: clock.now() * 1000,
    });
  };
  return { clock, dev, playout, policy, events, interrupts, speak, turnEnd };
}

test("speech over the bot interrupts it once it lasts minSpeechMs, at that moment", () => {
  const { clock, dev, playout, policy, events, interrupts, speak, turnEnd } = botAndPolicy(5000);
  policy.handle({ type: "turn_start", timeUs: 1_000_000 });
  speak(1000, 1500);
  const interruption = events.find((e) => e.type === "interruption");
  assert.ok(interruption?.type === "interruption");
  assert.equal(interruption.atMs, 1300, "onset + 300 ms");
  assert.equal(interruption.playedMs, 1300);
  assert.equal(interruption.speechMs, 300);
  assert.deepEqual(interrupts, ["reply"]);
  assert.ok(dev.frames.every((f) => f.info.playAtMs < 1300), "quiet from the decision on");
  assert.equal(policy.interrupting, true);
  turnEnd(1000, 1500);
  assert.deepEqual(events.map((e) => e.type), ["interruption", "user_turn"]);
  assert.deepEqual(events[1], {
    type: "user_turn",
    turn: events[1].type === "user_turn" && events[1].turn,
    interrupted: true,
  });
  assert.equal(playout.resume(), undefined, "a real interruption drops the held audio");
  clock.advance(5000);
  assert.ok(dev.frames.every((f) => f.info.playAtMs < 1300));
  playout.close();
});

test("a short sound over the bot is ignored and its turn is not answered", () => {
  const { clock, dev, playout, policy, events, speak, turnEnd } = botAndPolicy(5000, {
    minSpeechMs: 700,
  });
  policy.handle({ type: "turn_start", timeUs: 1_000_000 });
  speak(1000, 200); // the Vad reports it for 250 + 320 ms: 570 ms < 700
  turnEnd(1000, 200);
  assert.deepEqual(events.map((e) => e.type), ["interruption_ignored"]);
  assert.equal(events[0].type === "interruption_ignored" && events[0].reason, "too_short");
  clock.advance(5000);
  assert.equal(dev.heard().length, 5 * RATE, "the bot said everything");
  playout.close();
});

test("a false interruption resumes the bot where the listener stopped", () => {
  const { clock, dev, playout, policy, events, speak, turnEnd } = botAndPolicy(3000);
  policy.handle({ type: "turn_start", timeUs: 1_000_000 });
  speak(1000, 400);
  turnEnd(1000, 400); // 400 ms < minTurnSpeechMs (600): a cough
  assert.deepEqual(events.map((e) => e.type), ["interruption", "false_interruption", "resumed"]);
  const resumed = events[2];
  assert.ok(resumed.type === "resumed");
  assert.equal(resumed.fromMs, 1300);
  assert.equal(resumed.complete, true);
  clock.advance(5000);
  assert.deepEqual(dev.heard(), [...ramp(3 * RATE)], "every sample heard once");
  playout.close();
});

test("with resume: false the app is told it may resume, and decides", () => {
  const { clock, dev, playout, policy, events, speak, turnEnd } = botAndPolicy(3000, {
    resume: false,
  });
  policy.handle({ type: "turn_start", timeUs: 1_000_000 });
  speak(1000, 400);
  turnEnd(1000, 400);
  assert.deepEqual(events.map((e) => e.type), ["interruption", "false_interruption"]);
  const held = events[1];
  assert.ok(held.type === "false_interruption");
  assert.equal(held.heldMs, 1700);
  clock.advance(500);
  assert.equal(policy.resume()?.fromMs, 1300);
  clock.advance(5000);
  assert.equal(dev.heard().length, 3 * RATE);
  playout.close();
});

test("minConfidence ignores improbable speech; speech without a probability passes", () => {
  const low = botAndPolicy(5000, { minConfidence: 0.8 });
  low.policy.handle({ type: "turn_start", timeUs: 1_000_000 });
  low.speak(1000, 1500, 0.6);
  assert.deepEqual(low.events.map((e) => e.type), ["interruption_ignored"]);
  assert.equal(
    low.events[0].type === "interruption_ignored" && low.events[0].reason,
    "low_confidence",
  );
  const none = botAndPolicy(5000, { minConfidence: 0.8 });
  none.speak(1000, 1500);
  assert.deepEqual(none.events.map((e) => e.type), ["interruption"]);
  const high = botAndPolicy(5000, { minConfidence: 0.8 });
  high.speak(1000, 1500, 0.95);
  assert.equal(high.events[0].type === "interruption" && high.events[0].probability, 0.95);
  for (const p of [low, none, high]) p.playout.close();
});

test("speech while the bot is quiet is a user turn, without an interruption", () => {
  const { clock, playout, policy, events, speak, turnEnd } = botAndPolicy(500);
  clock.advance(1000);
  policy.handle({ type: "turn_start", timeUs: 2_000_000 });
  speak(2000, 300); // short, but the floor was free: "Yes."
  using item = RuntimeData.json({ type: "level" });
  policy.handle(item); // other JSON is ignored
  turnEnd(2000, 300);
  assert.deepEqual(events.map((e) => e.type), ["user_turn"]);
  assert.equal(events[0].type === "user_turn" && events[0].interrupted, false);
  playout.close();
});

test("barge-in options are checked", () => {
  const playout = new Playout({ sampleRate: RATE, sink: () => {}, clock: new VirtualClock() });
  for (
    const bad of [
      {},
      { playout, minSpeechMs: -1 },
      { playout, minConfidence: 2 },
      { playout, minTurnSpeechMs: Number.NaN },
      { playout, from: "tts" },
    ]
  ) {
    assert.throws(
      () => new BargeIn(bad as never),
      (e: unknown) => e instanceof ArgumentError && e.code === "invalid_argument",
    );
  }
  playout.close();
});
