/**
 * Rows of the reliability table (see tests/reliability_cases.ts) for where items go and who is to
 * blame: pushes with nowhere to go, sources, and TypeScript nodes that break their own declarations.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ArgumentError,
  ManifestError,
  PipelineBuilder,
  PipelineError,
  registerNode,
  RemoteMediaError,
  RuntimeData,
  Session,
  unregisterNode,
} from "../mod.ts";
import type { Case } from "./reliability_cases.ts";

/** An audio entry ("mic" → "gain") next to a text entry ("chat"). */
function twoEntries(): Session {
  return Session.create(
    new PipelineBuilder()
      .node("mic", "ChannelMix")
      .node("gain", "Gain")
      .node("chat", "TextTransform")
      .connect("mic", "gain")
      .build(),
  );
}

const ENTRIES =
  /entries: "mic" \(ChannelMix\) accepts audio; "chat" \(TextTransform\) accepts text/;

/** Runs `push` on a fresh two-entry session; checks the session still takes input, then rethrows. */
async function refusedPush(push: (s: Session) => Promise<void>): Promise<void> {
  using session = twoEntries();
  try {
    await push(session);
  } catch (error) {
    using text = RuntimeData.text("still open");
    await session.push(text);
    session.close();
    const outs: string[] = [];
    for await (const out of session) {
      outs.push(out.asText());
      out.dispose();
    }
    assert.deepEqual(outs, ["STILL OPEN"], "the session goes on after a refused push");
    throw error;
  }
}

/** A one-second silent 16-bit WAV file, removed after `body`. */
async function withWav(body: (path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "rm-api-"));
  const path = join(dir, "in.wav");
  const bytes = new Uint8Array(44 + 1600);
  const v = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode("RIFF"), 0);
  v.setUint32(4, 36 + 1600, true);
  bytes.set(new TextEncoder().encode("WAVEfmt "), 8);
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, 8000, true);
  v.setUint32(28, 16000, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  bytes.set(new TextEncoder().encode("data"), 36);
  v.setUint32(40, 1600, true);
  writeFileSync(path, bytes);
  try {
    await body(path);
  } finally {
    rmSync(dir, { recursive: true });
  }
}

/** The rows. */
export const apiCases: Case[] = [
  {
    area: "push",
    name: "an item no entry node accepts (json into an audio entry and a text entry)",
    expect:
      "RemoteMediaError naming the item's type and each entry with the types it accepts; the session goes on",
    run: () =>
      refusedPush(async (s) => {
        using json = RuntimeData.json({ hello: 1 });
        await s.push(json);
      }),
    error: new RegExp(`^push: no entry node accepts json \\(${ENTRIES.source}\\)$`),
    type: RemoteMediaError,
  },
  {
    area: "push",
    name: "push(data, { to }) naming no node",
    expect: "ArgumentError naming the id and listing the entries; the session goes on",
    run: () =>
      refusedPush(async (s) => {
        using text = RuntimeData.text("hi");
        await s.push(text, { to: "ghost" });
      }),
    error: new RegExp(`^push: to "ghost": no node has this id; ${ENTRIES.source}$`),
    type: ArgumentError,
  },
  {
    area: "push",
    name: "push(data, { to }) naming a node that has incoming connections",
    expect:
      "RemoteMediaError saying it is not an entry and listing the entries; the session goes on",
    run: () =>
      refusedPush((s) => {
        using audio = RuntimeData.audio({ samples: new Float32Array(4), sampleRate: 16000 });
        s.tryPush(audio, { to: "gain" });
        return Promise.resolve();
      }),
    error: new RegExp(
      `^push: to "gain": not an entry node \\(it takes its input from other nodes\\); ${ENTRIES.source}$`,
    ),
    type: RemoteMediaError,
  },
  {
    area: "push",
    name: "push(data, { to }) naming an entry that does not accept the item's type",
    expect: "RemoteMediaError naming the entry, the types it accepts and the item's type",
    run: () =>
      refusedPush(async (s) => {
        using text = RuntimeData.text("hi");
        await s.push(text, { to: "mic" });
      }),
    error: /^push: entry "mic" \(ChannelMix\) accepts audio, got text$/,
    type: RemoteMediaError,
  },
  {
    area: "push",
    name: "push into a pipeline of sources only (a WavReader with a path)",
    expect:
      "RemoteMediaError saying there is nothing to push to and which sources start by themselves",
    run: () =>
      withWav(async (path) => {
        using session = Session.create(
          new PipelineBuilder().node("read", "WavReader", { path }).build(),
        );
        using audio = RuntimeData.audio({ samples: new Float32Array(4), sampleRate: 8000 });
        await assert.rejects(
          session.push(audio, { to: "read" }),
          /not an entry node \(it is a source/,
        );
        await session.push(audio);
      }),
    error:
      /^push: this pipeline has no entry node to push to \("read" \(WavReader\) starts by itself\)$/,
    type: RemoteMediaError,
  },
  {
    area: "push",
    name: "a connection into a WavReader that has a path (a source)",
    expect: "ManifestError at the connection: the node takes no input with these params",
    run: () =>
      Session.create(
        new PipelineBuilder()
          .node("names", "TextTransform")
          .node("read", "WavReader", { path: "in.wav" })
          .connect("names", "read")
          .build(),
      ),
    error:
      /connections\[0\]\.to: "read" \(WavReader\) takes no input with these params: it is a source that starts by itself/,
    type: ManifestError,
  },
  {
    area: "push",
    name: "a WavReader source whose file does not exist",
    expect:
      "PipelineError from Session.create naming the node and the path (the file opens when the session starts)",
    run: () =>
      Session.create(
        new PipelineBuilder().node("read", "WavReader", { path: "/nonexistent/in.wav" }).build(),
      ),
    error: /^node "read" \(WavReader\) failed: initialize: \/nonexistent\/in\.wav: /,
    type: PipelineError,
  },
  {
    area: "TS nodes",
    name: 'a TS node declaring outputs: ["audio"] that emits text',
    expect:
      "PipelineError of that node (not of the next one) with the declared and the emitted type",
    run: async () => {
      class Tts {
        process(): RuntimeData {
          return RuntimeData.text("not audio");
        }
      }
      await using s = Session.create(
        new PipelineBuilder()
          .node("tts", new Tts(), { accepts: ["text"], outputs: ["audio"] })
          .node("gain", "Gain")
          .chain("tts", "gain")
          .build(),
      );
      using t = RuntimeData.text("hi");
      await s.push(t);
      s.close();
      try {
        for await (const out of s) out.dispose();
      } finally {
        await s.done.catch(() => {}); // the TS node's items are released by then (no handle leaks)
      }
    },
    error: /^node "tts" \(Tts\) failed: emitted text, but it declares outputs: audio$/,
    type: PipelineError,
  },
  {
    area: "TS nodes",
    name: "a builder instance given a name that is not an identifier",
    expect: "ArgumentError naming the node and the bad name",
    run: () => new PipelineBuilder().node("tts", { process: () => {} }, { name: "my tts" }),
    error: /^node "tts": name must be an identifier-like string, got my tts$/,
    type: ArgumentError,
  },
  {
    area: "TS nodes",
    name: "a builder instance named like a type registered later with other ports",
    expect: "RemoteMediaError when the session is created, suggesting another name",
    run: () => {
      const manifest = new PipelineBuilder()
        .node("a", { process: (d) => d }, { name: "Echo", accepts: ["text"] })
        .node("b", "Echo" as never)
        .build();
      registerNode("Echo", () => ({ process: (d) => d }), { accepts: ["audio"] });
      try {
        Session.create(manifest);
      } finally {
        unregisterNode("Echo");
      }
    },
    error: /node type "Echo" is declared twice with different ports or outputs .*\{ name: "…" \}/,
    type: RemoteMediaError,
  },
];
