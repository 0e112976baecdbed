import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { RuntimeData, Session, type StreamHealthEvent } from "../mod.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
const suite = join(root, "tests/data/stream_health");

interface Case {
  name: string;
  file: string;
  timestamps: "exact" | "drift" | "jitter" | "gap";
  raise: Record<string, number | null>;
  notRaise: string[];
}

/** The timestamp of 20 ms item `i` under a labels.json rule (the Rust test's rule, bit for bit). */
function timestamp(rule: Case["timestamps"], i: number): number {
  const exact = i * 20_000;
  if (rule === "drift") return Math.floor(exact * 103 / 100);
  if (rule === "jitter") {
    const mask = (1n << 64n) - 1n;
    let x = (BigInt(i) * 6364136223846793005n + 1442695040888963407n) & mask;
    x ^= x >> 33n;
    return exact + Number(x % 20_001n) - 10_000;
  }
  if (rule === "gap" && exact >= 3_000_000) return exact + 1_000_000;
  return exact;
}

/** A 16-bit PCM WAV as f32 samples. */
function readWav(path: string): { samples: Float32Array; sampleRate: number; channels: number } {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 12;
  let sampleRate = 0;
  let channels = 0;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString("latin1", offset, offset + 4);
    const size = view.getUint32(offset + 4, true);
    if (id === "fmt ") {
      channels = view.getUint16(offset + 10, true);
      sampleRate = view.getUint32(offset + 12, true);
    } else if (id === "data") {
      const samples = new Float32Array(size / 2);
      for (let i = 0; i < samples.length; i++) {
        samples[i] = view.getInt16(offset + 8 + i * 2, true) / 32768;
      }
      return { samples, sampleRate, channels };
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error(`${path}: no data chunk`);
}

async function alerts(c: Case): Promise<StreamHealthEvent[]> {
  const wav = readWav(join(suite, c.file));
  const perItem = (wav.sampleRate / 50) * wav.channels;
  await using session = Session.create({
    version: 1,
    nodes: [{ id: "health", type: "StreamHealth" }],
  });
  const out: StreamHealthEvent[] = [];
  const reader = (async () => {
    for await (const item of session) {
      out.push(item.asJson<StreamHealthEvent>());
      item.dispose();
    }
  })();
  for (let i = 0; i * perItem < wav.samples.length; i++) {
    using frame = RuntimeData.audio({
      samples: wav.samples.subarray(i * perItem, (i + 1) * perItem),
      sampleRate: wav.sampleRate,
      channels: wav.channels,
      timestampUs: timestamp(c.timestamps, i),
    });
    await session.push(frame);
  }
  session.close();
  await reader;
  return out;
}

describe("StreamHealth on the labelled fault suite", () => {
  const labels = JSON.parse(readFileSync(join(suite, "labels.json"), "utf8")) as { cases: Case[] };
  for (const c of labels.cases) {
    test(`${c.name}: raises ${Object.keys(c.raise).join(", ") || "nothing"}`, async () => {
      const got = await alerts(c);
      const raised = got.filter((a) => a.type === "alert");
      for (const [kind, at] of Object.entries(c.raise)) {
        const mine = raised.filter((a) => a.kind === kind);
        assert.ok(mine.length > 0, `no ${kind} alert in ${JSON.stringify(got)}`);
        if (at !== null) {
          assert.ok(Math.abs(mine[0].startUs / 1e6 - at) <= 0.4, JSON.stringify(mine));
        }
        const ends = got.filter((a) => a.type === "alert_end" && a.kind === kind);
        assert.equal(ends.length, mine.length, "every alert ends");
        assert.ok(ends[0].endUs >= mine[0].startUs);
      }
      for (const kind of c.notRaise) {
        assert.deepEqual(raised.filter((a) => a.kind === kind), [], `${kind} must not be raised`);
      }
    });
  }

  test("alerts are node events too (session.events())", async () => {
    await using session = Session.create({
      version: 1,
      nodes: [{ id: "health", type: "StreamHealth", params: { silenceMs: 100 } }],
    });
    const events: { type: string; nodeId?: string }[] = [];
    const listener = (async () => {
      for await (const e of session.events()) events.push(e as { type: string; nodeId?: string });
    })();
    const reader = (async () => {
      for await (const item of session) item.dispose();
    })();
    for (let i = 0; i < 20; i++) {
      using frame = RuntimeData.audio({ samples: new Float32Array(160), sampleRate: 8000 });
      await session.push(frame);
    }
    session.close();
    await reader;
    await listener;
    const kinds = events.filter((e) => e.type === "alert" || e.type === "alert_end");
    assert.deepEqual(kinds.map((e) => e.type), ["alert", "alert_end"], JSON.stringify(events));
  });
});
