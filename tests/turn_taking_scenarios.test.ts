// The scripted turn-taking scenarios of examples/data/turns/ (tools/make_turn_scenarios.sh), replayed on
// a virtual clock through Vad → TurnDetector → BargeIn → Playout (examples/turn_scenarios.ts): exact
// expectations, the same in Deno and Bun.
import { test } from "node:test";
import assert from "node:assert/strict";
import { liveHandles, nodeTypes } from "../mod.ts";
import { runScenario, type ScenarioResult } from "../examples/turn_scenarios.ts";

// One VAD window: Silero decides per 32 ms window at 16 kHz, earshot per 16 ms frame.
const vadModel = nodeTypes().find((t) => t.type === "Vad")?.params.find((p) => p.name === "model");
const WINDOW_MS = vadModel?.default === "silero" ? 32 : 16;

const types = (r: ScenarioResult) => r.policy.map((e) => e.type);

/** The bot's samples [from, to). */
const botPart = (r: ScenarioResult, from: number, to: number) => [...r.bot.subarray(from, to)];

test("interrupt: the user's speech stops the bot within one VAD window of the decision", async () => {
  const before = liveHandles();
  const r = await runScenario("interrupt");
  assert.deepEqual(types(r), ["interruption", "user_turn"], JSON.stringify(r.policy));
  const interruption = r.policy[0];
  assert.ok(interruption.type === "interruption");
  // The decision: the Vad's onset + minSpeechMs (300); the bot is quiet at most one window later.
  assert.equal(r.decisionLagMs.length, 1);
  assert.ok(r.decisionLagMs[0] >= 0 && r.decisionLagMs[0] <= WINDOW_MS, `${r.decisionLagMs[0]} ms`);
  // Onset of "Wait, stop…" at 1.5 s in the script.
  assert.ok(
    Math.abs(interruption.speechStartUs / 1000 - 1500) <= 60,
    `${interruption.speechStartUs}`,
  );
  assert.equal(r.staleSamples, 0, "no sample of the interrupted reply after the interruption");
  // The listener heard exactly the reply's first playedMs, nothing after.
  const heard = Math.round((interruption.playedMs * 16000) / 1000);
  assert.equal(r.heard.length, heard);
  assert.deepEqual([...r.heard], botPart(r, 0, heard));
  assert.equal(interruption.playedMs, interruption.atMs, "the reply started at 0 s");
  assert.equal(interruption.droppedMs + interruption.playedMs, (r.bot.length * 1000) / 16000);
  // "Wait, stop. How much does a table for two cost?" has a pause; it is one turn.
  assert.equal(r.turnEnds, 1);
  const turn = r.policy[1];
  assert.ok(turn.type === "user_turn" && turn.interrupted);
  assert.ok(turn.turn.segments >= 2, `${turn.turn.segments} segments`);
  assert.equal(liveHandles(), before);
});

test("cough: a cough does not interrupt; a backchannel interrupts and the bot resumes exactly", async () => {
  const r = await runScenario("cough");
  // The cough (1.0–1.25 s) is not speech at all; "uh huh" (2.5 s) is: an interruption, then its turn
  // has too little speech to be one, so the bot resumes.
  assert.deepEqual(
    types(r),
    ["interruption", "false_interruption", "resumed"],
    JSON.stringify(r.policy),
  );
  const [interruption, , resumed] = r.policy;
  assert.ok(interruption.type === "interruption" && resumed.type === "resumed");
  assert.ok(interruption.speechStartUs > 2_300_000, "nothing before the backchannel");
  assert.ok(r.decisionLagMs[0] >= 0 && r.decisionLagMs[0] <= WINDOW_MS);
  assert.equal(resumed.fromMs, interruption.playedMs);
  assert.equal(resumed.complete, true);
  assert.equal(r.staleSamples, 0, "quiet between the interruption and the resume");
  // The listener heard the whole reply once, in order: nothing lost, nothing repeated.
  assert.equal(r.heard.length, r.bot.length);
  assert.deepEqual([...r.heard], [...r.bot]);
  assert.equal(r.turnEnds, 1, "the backchannel's turn ended…");
  assert.equal(types(r).filter((t) => t === "user_turn").length, 0, "…but is not answered");
});

test("music: background music never interrupts the bot; the user's turn over it is found", async () => {
  const r = await runScenario("music");
  assert.deepEqual(types(r), ["user_turn"], JSON.stringify(r.policy));
  const turn = r.policy[0];
  assert.ok(turn.type === "user_turn" && !turn.interrupted);
  // "And can I bring my dog?" at 5.8 s, over the music.
  assert.ok(Math.abs(turn.turn.startUs / 1000 - 5800) <= 60, `${turn.turn.startUs}`);
  assert.equal(turn.turn.reason, "silence");
  assert.deepEqual([...r.heard], [...r.bot], "the bot said everything");
  assert.equal(r.turnEnds, 1);
});

test("pause: a short pause inside a sentence stays in its turn; two turns", async () => {
  const r = await runScenario("pause");
  const turns = r.policy.filter((e) => e.type === "user_turn").map((e) =>
    e.type === "user_turn" && e.turn
  );
  assert.equal(turns.length, 2, JSON.stringify(r.policy));
  assert.equal(r.turnEnds, 2);
  const [first, second] = turns as Exclude<(typeof turns)[number], false>[];
  // "I would like to book a table, [0.45 s] for two people tomorrow." then "And can I bring my dog?"
  assert.equal(first.segments, 2);
  assert.ok(
    Math.abs(first.startUs / 1000 - 500) <= 60 && Math.abs(first.endUs / 1000 - 3685) <= 150,
  );
  assert.ok(Math.abs(second.startUs / 1000 - 5185) <= 60);
  assert.equal(r.heard.length, 0, "the bot never spoke");
});

test("the bot goes quiet ~minSpeechMs after the user's onset (median over the scenarios)", async () => {
  const quiet: number[] = [];
  for (const name of ["interrupt", "cough", "music", "pause"]) {
    quiet.push(...(await runScenario(name)).quietAfterOnsetMs);
  }
  quiet.sort((a, b) => a - b);
  const median = quiet[Math.floor(quiet.length / 2)];
  console.log(`speech onset → bot quiet: ${quiet.join(", ")} ms (median ${median} ms)`);
  assert.equal(quiet.length, 2);
  // minSpeechMs (300) counted from the Vad's onset, which may lie a little before the scripted one
  // (Silero pads segments by speechPadMs) or after it (the first voiced window).
  for (const ms of quiet) assert.ok(Math.abs(ms - 300) <= 50, `${ms} ms`);
});
