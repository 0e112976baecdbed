/**
 * Scale-out with a standard balancer: two `remotemedia serve` processes behind HAProxy (Debian's
 * package, with the committed deploy/haproxy.cfg) on 127.0.0.1, 200 concurrent WebSocket sessions
 * through it. Every session must end normally with the same speech events as a local run, and both
 * processes must have served some. Skipped, with a message, where haproxy is not installed
 * (`.ci/run` installs it).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { CloseCode, type Manifest, RuntimeData, Session } from "../mod.ts";
import {
  localJsonOutputs,
  root,
  type ServerProcess,
  speechFrames,
  startServerProcess,
  WsClient,
} from "./serve_client.ts";

const SESSIONS = 200;
const haproxyMissing = spawnSync("haproxy", ["-v"]).error !== undefined;
if (haproxyMissing) {
  console.warn(
    "skipping the HAProxy scale-out test: haproxy is not installed (apt-get install haproxy)",
  );
}

const vad: Manifest = {
  version: 1,
  nodes: [{ id: "vad", type: "Vad", params: { mode: "events" } }],
};

/** The first 2 s of the speech (its first sentence starts at 0.56 s) as 16 kHz mono i16 frames. */
async function shortSpeech(): Promise<Uint8Array<ArrayBuffer>[]> {
  const frames = (await speechFrames()).slice(0, 100);
  await using session = Session.create({
    version: 1,
    nodes: [
      { id: "mono", type: "ChannelMix", params: { mode: "mono" } },
      { id: "res", type: "Resample", params: { targetRate: 16000 } },
      { id: "i16", type: "AudioFormat", params: { format: "i16" } },
    ],
    connections: [{ from: "mono", to: "res" }, { from: "res", to: "i16" }],
  });
  const out: Uint8Array<ArrayBuffer>[] = [];
  const reading = (async () => {
    for await (const frame of session) {
      const samples = frame.asAudio().samples;
      out.push(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength).slice());
      frame.dispose();
    }
  })();
  for (const bytes of frames) {
    using frame = RuntimeData.audio({
      samples: new Int16Array(bytes.slice().buffer),
      sampleRate: 48000,
      channels: 2,
    });
    await session.push(frame);
  }
  session.close();
  await reading;
  return out;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function healthy(url: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${url} never answered 200`);
}

interface SessionResult {
  server: string;
  // deno-lint-ignore no-explicit-any
  end: any;
  closed: { code: number; reason: string };
  events: unknown[];
}

async function session(url: string, frames: Uint8Array<ArrayBuffer>[]): Promise<SessionResult> {
  const client = await WsClient.open(url);
  client.sendJson({ type: "start", sampleRate: 16000, channels: 1, format: "i16" });
  const ready = await client.waitFor((m) => m.type === "ready");
  for (const frame of frames) client.ws.send(frame);
  client.sendJson({ type: "close" });
  const end = await client.waitFor((m) => m.type === "end");
  const closed = await client.closed;
  const events = client.json.filter((m) => m.type === "output").map((m) => m.value);
  return { server: ready.server, end, closed, events };
}

test(
  "200 concurrent sessions through HAProxy to two server processes all complete, on both",
  { skip: haproxyMissing ? "haproxy is not installed" : false },
  async () => {
    const frames = await shortSpeech();
    const expected = await localJsonOutputs(vad, frames, 16000, 1);
    assert.ok(expected.length >= 2, "the excerpt has a speech segment");
    const dir = mkdtempSync(join(tmpdir(), "rm-haproxy-"));
    const manifestPath = join(dir, "vad.json");
    writeFileSync(manifestPath, JSON.stringify(vad));
    const servers: ServerProcess[] = [];
    let haproxy: ChildProcess | undefined;
    try {
      for (const name of ["s1", "s2"]) {
        servers.push(
          // Clients send each excerpt at once (not in real time): the queue must hold all of it.
          await startServerProcess(manifestPath, [
            ...["--name", name, "--max-sessions", "400", "--max-queued-frames", "200"],
          ]),
        );
      }
      const front = await freePort();
      let haproxyLog = "";
      haproxy = spawn("haproxy", ["-db", "-f", join(root, "deploy/haproxy.cfg")], {
        env: {
          ...process.env,
          RM_FRONTEND: `127.0.0.1:${front}`,
          RM_SERVER1: `127.0.0.1:${servers[0].port}`,
          RM_SERVER2: `127.0.0.1:${servers[1].port}`,
        },
        stdio: ["ignore", "ignore", "pipe"],
      });
      haproxy.stderr!.on("data", (c: Uint8Array) => haproxyLog += new TextDecoder().decode(c));
      await healthy(`http://127.0.0.1:${front}/healthz`);

      const results = await Promise.all(
        Array.from({ length: SESSIONS }, () => session(`ws://127.0.0.1:${front}/`, frames)),
      );
      const perServer = new Map<string, number>();
      for (const r of results) {
        assert.equal(r.closed.code, CloseCode.normal, haproxyLog);
        assert.deepEqual(r.end.stats, {
          framesIn: frames.length,
          framesOut: expected.length,
          dropped: 0,
        });
        assert.deepEqual(r.events, expected);
        perServer.set(r.server, (perServer.get(r.server) ?? 0) + 1);
      }
      console.log(`HAProxy: sessions per server ${JSON.stringify(Object.fromEntries(perServer))}`);
      assert.deepEqual(
        [...perServer.keys()].sort(),
        ["s1", "s2"],
        `both served some: ${haproxyLog}`,
      );
      let total = 0;
      for (const server of servers) {
        const metrics = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
        const served = Number(
          /remotemedia_sessions_total\{protocol="native"\} (\d+)/.exec(metrics)![1],
        );
        assert.ok(served > 0);
        total += served;
      }
      assert.equal(total, SESSIONS);
    } finally {
      haproxy?.kill("SIGKILL");
      for (const server of servers) process.kill(server.child.pid!, "SIGTERM");
      for (const server of servers) assert.equal(await server.exited, 0, server.stderr());
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
