/**
 * `serve()` in this process: the native protocol end to end, its limits, and every way a session
 * ends (client close, lost connection, idle, protocol error, node failure, server shutdown) —
 * each leaving no native handle behind.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import {
  CloseCode,
  liveHandles,
  type Manifest,
  outputSamples,
  PipelineBuilder,
  RemoteMediaError,
  RuntimeData,
  serve,
  type ServeOptions,
  Session,
  toInt16,
} from "../mod.ts";
import {
  localJsonOutputs,
  RawWebSocket,
  speechFrames,
  speechUlaw,
  vadManifest,
  WsClient,
} from "./serve_client.ts";

const frames = await speechFrames();

async function withServer(
  options: Omit<ServeOptions, "port">,
  body: (url: string, port: number) => Promise<void>,
): Promise<void> {
  const before = liveHandles();
  const server = await serve({ port: 0, ...options });
  try {
    await body(server.url.replace(/^http/, "ws"), server.port);
  } finally {
    await server.close();
  }
  assert.equal(server.sessions, 0);
  assert.equal(liveHandles(), before, "every native handle was released");
}

function until(condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => condition() ? resolve() : setTimeout(check, 5);
    check();
  });
}

/** An HTTP/1.0 request without Host (as HAProxy's health check sends); resolves with the response. */
function http10(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let response = "";
    const socket = connect(port, "127.0.0.1", () => socket.write(`GET ${path} HTTP/1.0\r\n\r\n`));
    socket.on("data", (chunk: Uint8Array) => response += new TextDecoder().decode(chunk));
    socket.on("end", () => resolve(response));
    socket.on("error", reject);
  });
}

const gainManifest: Manifest = {
  version: 1,
  nodes: [{ id: "gain", type: "Gain", params: { gain: 0.5 } }],
};

describe("serve: the native protocol", () => {
  test("a streamed recording gets the same speech events as a local session, then end and 1000", async () => {
    const expected = await localJsonOutputs(vadManifest, frames, 48000, 2);
    assert.ok(expected.length >= 4, "the recording has speech");
    await withServer({ manifest: vadManifest, maxQueuedFrames: frames.length }, async (url) => {
      const client = await WsClient.open(url);
      client.sendJson({ type: "start", sampleRate: 48000, channels: 2, format: "i16" });
      const ready = await client.waitFor((m) => m.type === "ready");
      assert.deepEqual(ready.sinks, ["vad"]);
      assert.deepEqual(ready.entries, [{ id: "mono", type: "ChannelMix", accepts: ["audio"] }]);
      for (const frame of frames) client.ws.send(frame);
      client.sendJson({ type: "close" });
      const end = await client.waitFor((m) => m.type === "end");
      const events = client.json.filter((m) => m.type === "output").map((m) => m.value);
      assert.deepEqual(events, expected);
      assert.ok(client.json.every((m) => m.type !== "output" || m.sink === "vad"));
      assert.deepEqual(end, {
        type: "end",
        reason: "closed",
        stats: { framesIn: frames.length, framesOut: expected.length, dropped: 0 },
      });
      assert.equal((await client.closed).code, CloseCode.normal);
    });
  });

  test("the start layout is the session's audio format: a bare Vad refuses stereo, or negotiates it", async () => {
    const bareVad: Manifest = { version: 1, nodes: [{ id: "vad", type: "Vad" }] };
    const expected = await localJsonOutputs(vadManifest, frames, 48000, 2);
    await withServer({ manifest: bareVad }, async (url) => {
      const client = await WsClient.open(url);
      client.sendJson({ type: "start", sampleRate: 48000, channels: 2, format: "i16" });
      const error = await client.waitFor((m) => m.type === "error");
      assert.match(
        error.message,
        /^start: nodes\[0\] "vad": format mismatch: the session input is 48000 Hz, 2 ch, i16 but "vad" \(Vad\) port "in" accepts 1 ch/,
      );
      assert.equal((await client.closed).code, CloseCode.protocolError);
    });
    // With negotiation (serve's session options), a ChannelMix goes in front: the same events as the
    // explicit ChannelMix → Resample → Vad chain (the Vad resamples 48 kHz to 16 kHz inside).
    await withServer(
      { manifest: bareVad, session: { negotiate: true }, maxQueuedFrames: frames.length },
      async (url) => {
        const client = await WsClient.open(url);
        client.sendJson({ type: "start", sampleRate: 48000, channels: 2, format: "i16" });
        const ready = await client.waitFor((m) => m.type === "ready");
        assert.deepEqual(ready.entries, [{ id: "vad", type: "Vad", accepts: ["audio"] }]);
        for (const frame of frames) client.ws.send(frame);
        client.sendJson({ type: "close" });
        await client.waitFor((m) => m.type === "end");
        const events = client.json.filter((m) => m.type === "output").map((m) => m.value);
        assert.equal(events.length, expected.length);
        assert.deepEqual(
          events.map((e) => e.type),
          expected.map((e) => (e as { type: string }).type),
        );
      },
    );
  });

  test("audio outputs come as binary frames with a header; outputFormat converts them", async () => {
    await withServer({ manifest: gainManifest }, async (url) => {
      const samples = new Float32Array([0.5, -0.25, 1, -1, 0.125, 0]);
      for (const outputFormat of [undefined, "i16"] as const) {
        const client = await WsClient.open(url);
        client.sendJson({
          type: "start",
          sampleRate: 24000,
          channels: 2,
          format: "f32",
          outputFormat,
        });
        client.ws.send(samples);
        client.ws.send(samples);
        client.sendJson({ type: "close" });
        await client.waitFor((m) => m.type === "end");
        assert.equal(client.frames.length, 2);
        const halved = samples.map((x) => x * 0.5);
        client.frames.forEach((frame, i) => {
          assert.equal(frame.kind, "audio");
          assert.equal(frame.sink, 0);
          assert.equal(frame.sequence, i);
          assert.equal(frame.sampleRate, 24000);
          assert.equal(frame.channels, 2);
          assert.equal(frame.format, outputFormat ?? "f32");
          assert.deepEqual(outputSamples(frame), outputFormat ? toInt16(halved) : halved);
        });
      }
    });
  });

  test("μ-law frames are decoded natively, bit-exact with the G711 node", async () => {
    const ulaw = readFileSync(speechUlaw).subarray(0, 1600);
    using reference = Session.create({
      version: 1,
      nodes: [{ id: "d", type: "G711", params: { mode: "decode", law: "mulaw" } }],
    });
    using input = RuntimeData.binary(ulaw);
    await reference.push(input);
    reference.close();
    using decoded = (await reference.next())!;
    const expected = Array.from(decoded.asAudio().samples);
    await withServer({
      manifest: { version: 1, nodes: [{ id: "pass", type: "PassThrough" }] },
    }, async (url) => {
      const client = await WsClient.open(url);
      client.sendJson({ type: "start", sampleRate: 8000, format: "mulaw" });
      for (let at = 0; at < ulaw.length; at += 160) client.ws.send(ulaw.subarray(at, at + 160));
      client.sendJson({ type: "close" });
      await client.waitFor((m) => m.type === "end");
      assert.ok(client.frames.every((f) => f.format === "i16" && f.sampleRate === 8000));
      assert.deepEqual(client.frames.flatMap((f) => Array.from(outputSamples(f))), expected);
    });
  });

  test("params in start override node params like --param, and are validated with paths", async () => {
    await withServer({ manifest: vadManifest }, async (url) => {
      const ok = await WsClient.open(url);
      ok.sendJson({
        type: "start",
        sampleRate: 48000,
        channels: 2,
        params: { "vad.threshold": 0.9 },
      });
      await ok.waitFor((m) => m.type === "ready");
      ok.sendJson({ type: "close" });
      assert.equal((await ok.closed).code, CloseCode.normal);

      const bad = await WsClient.open(url);
      bad.sendJson({ type: "start", sampleRate: 48000, params: { "vad.threshold": 7 } });
      const error = await bad.waitFor((m) => m.type === "error");
      assert.match(error.message, /nodes\[2\] "vad"\.params\.threshold/);
      assert.equal((await bad.closed).code, CloseCode.protocolError);

      const unknown = await WsClient.open(url);
      unknown.sendJson({ type: "start", sampleRate: 48000, params: { "nope.x": 1 } });
      assert.match((await unknown.waitFor((m) => m.type === "error")).message, /no node "nope"/);
      assert.equal((await unknown.closed).code, CloseCode.protocolError);
    });
  });

  test("protocol errors are reported, then closed with 1008", async () => {
    await withServer({ manifest: gainManifest }, async (url) => {
      const cases: [(c: WsClient) => void, RegExp][] = [
        [(c) => c.ws.send(new Uint8Array(4)), /binary frame before start/],
        [(c) => c.ws.send("not json"), /must be JSON/],
        [(c) => c.sendJson({ type: "dance" }), /expected "start" first/],
        [(c) => c.sendJson({ type: "start", sampleRate: 5 }), /sampleRate/],
        [(c) => {
          c.sendJson({ type: "start", sampleRate: 16000, format: "i16" });
          c.ws.send(new Uint8Array(3));
        }, /3 bytes is not a whole number of i16 frames/],
      ];
      for (const [act, message] of cases) {
        const client = await WsClient.open(url);
        act(client);
        assert.match((await client.waitFor((m) => m.type === "error")).message, message);
        const closed = await client.closed;
        assert.equal(closed.code, CloseCode.protocolError);
        assert.match(closed.reason, message);
      }
    });
  });

  test("text inputs reach text entries; interrupt answers with interrupted", async () => {
    const manifest = new PipelineBuilder()
      .node("upper", "TextTransform", { op: "upper" })
      .build();
    await withServer({ manifest }, async (url) => {
      const client = await WsClient.open(url);
      client.sendJson({ type: "start", sampleRate: 16000 });
      client.sendJson({ type: "text", text: "hello" });
      const out = await client.waitFor((m) => m.type === "output");
      assert.deepEqual(out, { type: "output", sink: "upper", dataType: "text", text: "HELLO" });
      client.sendJson({ type: "interrupt" });
      assert.equal((await client.waitFor((m) => m.type === "interrupted")).reason, "client");
      client.sendJson({ type: "close" });
      assert.equal((await client.closed).code, CloseCode.normal);
    });
  });
});

describe("serve: its own errors", () => {
  test("bad options, a bad manifest and a taken port are RemoteMediaErrors with codes", async () => {
    await assert.rejects(serve({ manifest: gainManifest, maxSessions: 0 }), {
      name: "ArgumentError",
      code: "invalid_argument",
    });
    await assert.rejects(serve({ manifest: gainManifest, port: 70000 }), {
      code: "invalid_argument",
    });
    await assert.rejects(
      serve({ manifest: { version: 1, nodes: [{ id: "x", type: "Nope" }] }, port: 0 }),
      { name: "ManifestError", code: "invalid_manifest" },
    );
    const server = await serve({ manifest: gainManifest, port: 0 });
    try {
      await assert.rejects(serve({ manifest: gainManifest, port: server.port }), (error) => {
        assert.ok(error instanceof RemoteMediaError);
        assert.equal(error.code, "invalid_argument");
        assert.match(error.message, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${server.port}`));
        return true;
      });
    } finally {
      await server.close();
    }
  });
});

describe("serve: limits", () => {
  test("a full server refuses with 1013; a large message closes with 1009; silence with 4408", async () => {
    await withServer(
      { manifest: gainManifest, maxSessions: 1, maxMessageBytes: 4096 },
      async (url) => {
        const first = await WsClient.open(url);
        const second = await WsClient.open(url);
        const refused = await second.closed;
        assert.equal(refused.code, CloseCode.tryAgainLater);
        assert.match(refused.reason, /full \(1 sessions\)/);
        first.sendJson({ type: "start", sampleRate: 16000 });
        await first.waitFor((m) => m.type === "ready");
        first.ws.send(new Uint8Array(8192));
        const tooBig = await first.closed;
        assert.equal(tooBig.code, CloseCode.tooBig);
        assert.match(tooBig.reason, /8192 bytes is over maxMessageBytes \(4096\)/);
      },
    );
    await withServer({ manifest: gainManifest, idleTimeoutMs: 50 }, async (url) => {
      const client = await WsClient.open(url);
      client.sendJson({ type: "start", sampleRate: 16000 });
      assert.equal((await client.closed).code, CloseCode.idleTimeout);
    });
    // The idle timer is one per connection, re-armed for what is left when it fires early: a client
    // that keeps talking for four timeouts stays, and is closed once it goes quiet.
    await withServer({ manifest: gainManifest, idleTimeoutMs: 200 }, async (url) => {
      const client = await WsClient.open(url);
      client.sendJson({ type: "start", sampleRate: 16000 });
      await client.waitFor((m) => m.type === "ready");
      let open = true;
      void client.closed.then(() => open = false);
      for (let i = 0; i < 20 && open; i++) {
        client.ws.send(new Uint8Array(640));
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      assert.ok(open, "closed while the client was sending");
      assert.equal((await client.closed).code, CloseCode.idleTimeout);
    });
  });

  test("an idle timeout beyond what a timer holds (2^31 - 1 ms) is armed in pieces, never spinning", async () => {
    const delays: number[] = [];
    const original = globalThis.setTimeout;
    // deno-lint-ignore no-explicit-any
    (globalThis as any).setTimeout = (fn: () => void, ms?: number, ...rest: unknown[]) => {
      delays.push(ms ?? 0);
      return original(fn, ms, ...rest);
    };
    try {
      await withServer({ manifest: gainManifest, idleTimeoutMs: 4_000_000_000 }, async (url) => {
        const client = await WsClient.open(url);
        client.sendJson({ type: "start", sampleRate: 16000 });
        await client.waitFor((m) => m.type === "ready");
        client.sendJson({ type: "close" });
        await client.closed;
      });
    } finally {
      globalThis.setTimeout = original;
    }
    const idle = delays.filter((ms) => ms > 1_000_000);
    assert.ok(idle.length >= 1, "the idle timer was armed");
    assert.ok(idle.every((ms) => ms <= 2 ** 31 - 1), `delays ${idle.join(", ")}`);
  });

  test("a full input queue drops the oldest frames and counts them", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    const manifest = new PipelineBuilder()
      .node("slow", { process: async (d: RuntimeData) => (await gate, d.clone()) }, {
        accepts: ["audio"],
        outputs: ["audio"],
      })
      .build();
    await withServer(
      { manifest, maxQueuedFrames: 2, session: { inputCapacity: 1 } },
      async (url, port) => {
        const client = await WsClient.open(url);
        client.sendJson({ type: "start", sampleRate: 16000 });
        await client.waitFor((m) => m.type === "ready");
        for (let i = 0; i < 100; i++) client.ws.send(new Uint8Array(640));
        // The node holds the first frame until every frame has reached the server.
        for (;;) {
          const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          if (metrics.includes("remotemedia_frames_in_total 100\n")) break;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        release();
        client.sendJson({ type: "close" });
        const end = await client.waitFor((m) => m.type === "end");
        assert.equal(end.stats.framesIn, 100);
        assert.ok(end.stats.dropped > 0, JSON.stringify(end.stats));
        assert.equal(end.stats.framesOut + end.stats.dropped, 100);
      },
    );
  });
});

describe("serve: every way a session ends releases it", () => {
  test("a lost connection (no closing handshake) aborts the session", async () => {
    await withServer({ manifest: vadManifest }, async (_url, port) => {
      const before = liveHandles();
      const socket = await RawWebSocket.open(port);
      socket.send(JSON.stringify({ type: "start", sampleRate: 48000, channels: 2 }));
      for (const frame of frames.slice(0, 10)) socket.send(frame);
      const server = (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
      assert.equal((await server).status, "ok");
      await until(() => liveHandles() > before);
      socket.cut();
      await until(() => liveHandles() === before);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /remotemedia_sessions_ended_total\{reason="client_gone"\} 1/);
      assert.match(metrics, /remotemedia_sessions_active 0/);
    });
  });

  test("a client that closes its socket mid-stream (no close message) ends its session", async () => {
    await withServer({ manifest: vadManifest }, async (url, port) => {
      const client = await WsClient.open(url);
      client.sendJson({ type: "start", sampleRate: 48000, channels: 2 });
      await client.waitFor((m) => m.type === "ready");
      for (const frame of frames.slice(0, 20)) client.ws.send(frame);
      client.ws.close(1000, "bye");
      await client.closed;
      for (;;) {
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        if (metrics.includes('remotemedia_sessions_ended_total{reason="client_gone"} 1')) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    });
  });

  test("a node failure is reported with the node id, then closed with 1011", async () => {
    const manifest = new PipelineBuilder()
      .node("broken", {
        process(): RuntimeData {
          throw new Error("boom");
        },
      }, { accepts: ["audio"], outputs: ["audio"] })
      .build();
    await withServer({ manifest }, async (url) => {
      const client = await WsClient.open(url);
      client.sendJson({ type: "start", sampleRate: 16000 });
      client.ws.send(new Uint8Array(640));
      const error = await client.waitFor((m) => m.type === "error");
      assert.equal(error.code, "node_failed");
      assert.equal(error.nodeId, "broken");
      assert.equal((await client.closed).code, CloseCode.pipelineFailed);
    });
  });

  test("close() drains: outputs still arrive, then end and 1001; meanwhile healthz is 503", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    const manifest = new PipelineBuilder()
      .node("slow", { process: async (d: RuntimeData) => (await gate, d.clone()) }, {
        accepts: ["audio"],
        outputs: ["audio"],
      })
      .build();
    const before = liveHandles();
    const server = await serve({ port: 0, manifest });
    const url = server.url.replace(/^http/, "ws");
    const clients = await Promise.all([WsClient.open(url), WsClient.open(url)]);
    for (const client of clients) {
      client.sendJson({ type: "start", sampleRate: 16000, format: "f32" });
      for (let i = 0; i < 20; i++) client.ws.send(new Float32Array(320).fill(0.5));
      await client.waitFor((m) => m.type === "ready");
    }
    // Frames that arrive after close() are not taken: wait until the server has them all.
    await until(() => server.metrics().includes("remotemedia_frames_in_total 40\n"));
    const closing = server.close();
    assert.equal(server.draining, true);
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 503);
    assert.equal((await health.json()).status, "draining");
    const late = await WsClient.open(url);
    assert.equal((await late.closed).code, CloseCode.tryAgainLater);
    release();
    await closing;
    for (const client of clients) {
      const end = await client.waitFor((m) => m.type === "end");
      assert.equal(end.reason, "shutdown");
      assert.equal(client.frames.length, 20, "every output was sent before closing");
      const closed = await client.closed;
      assert.equal(closed.code, CloseCode.shutdown);
      assert.equal(closed.reason, "shutdown", "the server's own reason, in both runtimes");
    }
    await assert.rejects(fetch(`${server.url}/healthz`), "no longer listening");
    assert.equal(liveHandles(), before);
  });

  test("an aborted signal closes the server the same way", async () => {
    const controller = new AbortController();
    const server = await serve({ port: 0, manifest: gainManifest, signal: controller.signal });
    const client = await WsClient.open(server.url.replace(/^http/, "ws"));
    client.sendJson({ type: "start", sampleRate: 16000 });
    await client.waitFor((m) => m.type === "ready");
    controller.abort();
    await server.closed;
    assert.equal((await client.closed).code, CloseCode.shutdown);
  });
});

describe("serve: health and metrics", () => {
  test("/healthz answers ok; /metrics has sessions, frames and per-node latencies", async () => {
    await withServer({ manifest: vadManifest, maxQueuedFrames: 1000 }, async (url, port) => {
      const http = `http://127.0.0.1:${port}`;
      const health = await fetch(`${http}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: "ok", sessions: 0, maxSessions: 100 });
      const client = await WsClient.open(url);
      client.sendJson({ type: "start", sampleRate: 48000, channels: 2 });
      for (const frame of frames.slice(0, 100)) client.ws.send(frame);
      client.sendJson({ type: "close" });
      await client.closed;
      const response = await fetch(`${http}/metrics`);
      assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      for (
        const line of [
          "remotemedia_sessions_active 0",
          'remotemedia_sessions_total{protocol="native"} 1',
          "remotemedia_frames_in_total 100",
          "remotemedia_frames_dropped_total 0",
          "remotemedia_errors_total 0",
          'remotemedia_sessions_ended_total{reason="closed"} 1',
        ]
      ) assert.ok(text.includes(line), `${line} in\n${text}`);
      assert.match(
        text,
        /remotemedia_node_latency_ms\{node="vad",type="Vad",quantile="0\.95"\} \d/,
      );
      assert.match(text, /remotemedia_node_items\{node="res",type="Resample"\} 100/);
      assert.match(
        await http10(port, "/healthz"),
        /^HTTP\/1\.[01] 200/,
        "a health check without Host",
      );
      assert.equal((await fetch(`${http}/nothing`)).status, 404);
      assert.equal((await fetch(`${http}/`)).status, 426);
    });
  });
});
