// Where pushed items go (entries, `to`), sources that start by themselves, and errors that name the
// node at fault (issue #14, items 4, 6 and 7).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Node,
  PipelineBuilder,
  PipelineError,
  RemoteMediaError,
  run,
  RuntimeData,
  Session,
  type VadEvent,
} from "../mod.ts";

const speech = join(
  decodeURIComponent(new URL("..", import.meta.url).pathname),
  "examples/data/speech.wav",
);

function frame(): RuntimeData<"f32"> {
  return RuntimeData.audio({ samples: new Float32Array(160).fill(0.5), sampleRate: 16000 });
}

async function collect(session: Session): Promise<string[]> {
  const seen: string[] = [];
  for await (const out of session) {
    seen.push(`${out.nodeId}:${out.dataType()}`);
    out.dispose();
  }
  return seen;
}

/** An audio entry ("mic" → "level"), a text entry ("chat") and one that takes anything ("log"). */
function agent(): Session {
  return Session.create(
    new PipelineBuilder()
      .node("mic", "ChannelMix")
      .node("level", "AudioLevel")
      .node("chat", "TextTransform")
      .node("log", "PassThrough")
      .chain("mic", "level")
      .build(),
    { outputCapacity: 64 },
  );
}

describe("inputs per entry", () => {
  test("session.entries lists the entry nodes with the types their inputs accept", () => {
    using session = agent();
    assert.deepEqual(session.entries, [
      { id: "mic", type: "ChannelMix", accepts: ["audio"] },
      { id: "chat", type: "TextTransform", accepts: ["text"] },
      {
        id: "log",
        type: "PassThrough",
        accepts: ["text", "audio", "video", "json", "binary", "tensor"],
      },
    ]);
  });

  test("without `to`, an item goes to every entry whose input accepts its type", async () => {
    await using session = agent();
    using audio = frame();
    using text = RuntimeData.text("hi");
    using json = RuntimeData.json({ a: 1 });
    await session.push(audio); // mic and log
    await session.push(text); // chat and log
    await session.push(json); // log
    session.close();
    assert.deepEqual((await collect(session)).sort(), [
      "chat:text",
      "level:json",
      "log:audio",
      "log:json",
      "log:text",
    ]);
  });

  test("push(data, { to }) feeds one entry only; tryPush takes the same option", async () => {
    await using session = agent();
    using audio = frame();
    using text = RuntimeData.text("hi");
    await session.push(audio, { to: "mic" });
    assert.equal(session.tryPush(text, { to: "chat" }), true);
    await session.push(text, { to: "log" });
    session.close();
    assert.deepEqual(await collect(session), ["level:json", "chat:text", "log:text"]);
  });

  test("a refused push is a RemoteMediaError that leaves the session running", async () => {
    await using session = Session.create(
      new PipelineBuilder().node("mic", "ChannelMix").node("chat", "TextTransform").build(),
    );
    using json = RuntimeData.json({});
    await assert.rejects(session.push(json), (e: unknown) => {
      assert.ok(e instanceof RemoteMediaError);
      assert.equal(e.code, "invalid_argument");
      assert.equal(
        e.message,
        'push: no entry node accepts json (entries: "mic" (ChannelMix) accepts audio; ' +
          '"chat" (TextTransform) accepts text)',
      );
      return true;
    });
    using audio = frame();
    assert.throws(() => session.tryPush(audio, { to: "chat" }), /accepts text, got audio/);
    using text = RuntimeData.text("after");
    await session.push(text);
    session.close();
    assert.deepEqual(await collect(session), ["chat:text"]);
  });
});

describe("sources start by themselves", () => {
  test("a WavReader with a path produces from the start, with no push, and the session ends after it", async () => {
    for (const execution of ["threaded", "inline"] as const) {
      await using session = Session.create(
        new PipelineBuilder()
          .node("read", "WavReader", { path: speech })
          .node("mono", "ChannelMix")
          .node("res", "Resample", { targetRate: 16000 })
          .node("vad", "Vad")
          .chain("read", "mono", "res", "vad")
          .build(),
        { execution },
      );
      assert.deepEqual(session.entries, []);
      const ends: number[] = [];
      for await (const out of session) {
        const event = out.asJson<VadEvent>();
        if (event.type === "speech_end") ends.push(Math.round(event.endUs / 1e4) / 100);
        out.dispose();
      }
      assert.equal(ends.length, 3, execution);
      session.close(); // harmless afterwards
      await session.done;
    }
  });

  test("a WavReader without a path still reads the file whose path it receives as text", async () => {
    using path = RuntimeData.text(speech);
    const outs = await run(
      new PipelineBuilder().node("read", "WavReader", { chunkMs: 0 }).build(),
      path,
    );
    assert.equal(outs.length, 1);
    assert.equal(outs[0].asAudio().durationSeconds.toFixed(1), "8.6");
    outs.forEach((o) => o.dispose());
  });

  test("a source next to an entry: the source starts, the entry waits for pushes, close() ends both", async () => {
    await using session = Session.create(
      new PipelineBuilder()
        .node("read", "WavReader", { path: speech, chunkMs: 1000 })
        .node("chat", "TextTransform")
        .build(),
    );
    assert.deepEqual(session.entries.map((e) => e.id), ["chat"]);
    using text = RuntimeData.text("hello");
    await session.push(text); // text: to chat only (the reader is not an entry)
    session.close();
    const seen = await collect(session);
    assert.equal(seen.filter((s) => s === "read:audio").length, 9);
    assert.deepEqual(seen.filter((s) => s.startsWith("chat")), ["chat:text"]);
  });

  test("interrupt() stops a source (it does not restart) and the session ends; abort() ends it at once", async () => {
    const source = () =>
      Session.create(
        new PipelineBuilder().node("read", "WavReader", { path: speech, chunkMs: 10 }).build(),
        { outputCapacity: 2 },
      );
    {
      await using session = source();
      (await session.next())?.dispose();
      session.interrupt();
      let rest = 0;
      for await (const out of session) {
        rest++;
        out.dispose();
      }
      assert.ok(rest < 100, `${rest} items after the interrupt, of 860`);
      await session.done;
    }
    {
      await using session = source();
      (await session.next())?.dispose();
      await session.abort().catch(() => {});
      assert.equal(session.finished, true);
      assert.ok(session.stats().nodes[0].itemsOut < 860);
    }
  });
});

describe("errors name the right node", () => {
  test("a TS node that emits a type it did not declare fails itself", async () => {
    class Tts implements Node {
      process(): RuntimeData {
        return RuntimeData.text("oops");
      }
    }
    using input = RuntimeData.text("hi");
    await assert.rejects(
      run(
        new PipelineBuilder()
          .node("tts", new Tts(), { accepts: ["text"], outputs: ["audio"] })
          .node("out", "Resample", { targetRate: 16000 })
          .chain("tts", "out")
          .build(),
        input,
      ),
      (e: unknown) => {
        assert.ok(e instanceof PipelineError);
        assert.equal(e.nodeId, "tts");
        assert.equal(e.nodeType, "Tts");
        assert.equal(
          e.message,
          'node "tts" (Tts) failed: emitted text, but it declares outputs: audio',
        );
        return true;
      },
    );
  });

  test("builder instances show their class name or the name given, in errors, metrics and the manifest", async () => {
    class Upper implements Node {
      process(d: RuntimeData): RuntimeData {
        return RuntimeData.text(d.asText().toUpperCase());
      }
    }
    const manifest = new PipelineBuilder()
      .node("a", new Upper(), { accepts: ["text"], outputs: ["text"] })
      .node("b", new Upper(), { accepts: ["text"], outputs: ["text"] })
      .node("c", { process: (d: RuntimeData) => d }, { name: "MyTts" })
      .node("d", { process: (d: RuntimeData) => d })
      .node("e", new Upper(), { accepts: ["text"] }) // other ports than "a": a distinct type
      .chain("a", "b", "c", "d", "e")
      .build();
    assert.deepEqual(manifest.nodes.map((n) => n.type), [
      "Upper",
      "Upper",
      "MyTts",
      "Node",
      "Upper#e",
    ]);
    await using session = Session.create(manifest);
    using input = RuntimeData.text("hi");
    await session.push(input);
    session.close();
    assert.deepEqual(await collect(session), ["e:text"]);
    assert.deepEqual(
      session.stats().nodes.map((n) => `${n.id} ${n.type} ${n.itemsIn}`),
      ["a Upper 1", "b Upper 1", "c MyTts 1", "d Node 1", "e Upper#e 1"],
    );
  });
});
