/**
 * The Twilio Media Streams path of `serve()` with a scripted client that speaks Twilio's format and
 * sends a real μ-law recording (examples/data/speech_8k.ulaw) in 20 ms `media` messages.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { CloseCode, liveHandles, type Manifest, serve } from "../mod.ts";
import { fromBase64, toBase64 } from "../src/serve/twilio.ts";
import { speechUlaw, WsClient } from "./serve_client.ts";

const ulaw = new Uint8Array(readFileSync(speechUlaw));

/** The caller's audio comes back (an echo), and a VAD listens on a 16 kHz branch. */
const echoManifest: Manifest = {
  version: 1,
  nodes: [
    { id: "in", type: "PassThrough" },
    { id: "echo", type: "PassThrough" },
    { id: "res", type: "Resample", params: { targetRate: 16000 } },
    { id: "vad", type: "Vad", params: { mode: "events" } },
  ],
  connections: [
    { from: "in", to: "echo" },
    { from: "in", to: "res" },
    { from: "res", to: "vad" },
  ],
};

/** Sends the recording as Twilio does: connected, start, media every 20 ms (160 bytes), stop. */
function sendCall(client: WsClient, streamSid: string, stop = true): void {
  client.sendJson({ event: "connected", protocol: "Call", version: "1.0.0" });
  client.sendJson({
    event: "start",
    sequenceNumber: "1",
    streamSid,
    start: {
      accountSid: "AC0",
      streamSid,
      callSid: "CA0",
      tracks: ["inbound"],
      customParameters: {},
      mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
    },
  });
  let sequence = 2;
  for (let at = 0, chunk = 1; at < ulaw.length; at += 160, chunk++) {
    client.sendJson({
      event: "media",
      sequenceNumber: String(sequence++),
      streamSid,
      media: {
        track: "inbound",
        chunk: String(chunk),
        timestamp: String((at / 8) | 0),
        payload: toBase64(ulaw.subarray(at, at + 160)),
      },
    });
  }
  if (stop) sendStop(client, streamSid);
}

function sendStop(client: WsClient, streamSid: string): void {
  client.sendJson({ event: "stop", streamSid, stop: { accountSid: "AC0", callSid: "CA0" } });
}

function mediaBytes(client: WsClient): number {
  return client.json.filter((m) => m.event === "media")
    .reduce((n, m) => n + fromBase64(m.media.payload).length, 0);
}

test("a Twilio call's μ-law comes back bit-exact in 20 ms media messages, with marks; clear on barge-in", async () => {
  const before = liveHandles();
  const server = await serve({ port: 0, manifest: echoManifest, maxQueuedFrames: 1000 });
  try {
    const client = await WsClient.open(`${server.url.replace(/^http/, "ws")}/twilio`);
    sendCall(client, "MZ1");
    const closed = await client.closed;
    assert.equal(closed.code, CloseCode.normal);
    assert.ok(client.json.every((m) => m.streamSid === "MZ1"), "every message names the stream");
    const media = client.json.filter((m) => m.event === "media");
    const echoed = media.map((m) => fromBase64(m.media.payload));
    assert.ok(echoed.slice(0, -1).every((b) => b.length === 160), "20 ms per media message");
    const bytes = new Uint8Array(echoed.reduce((n, b) => n + b.length, 0));
    echoed.reduce((at, b) => (bytes.set(b, at), at + b.length), 0);
    // μ-law → native decode → i16 → native encode gives every byte back (0x7F, -0, becomes 0xFF).
    assert.deepEqual(bytes, ulaw.map((b) => b === 0x7f ? 0xff : b));
    const marks = client.json.filter((m) => m.event === "mark");
    assert.ok(marks.length > 0 && marks.every((m) => typeof m.mark.name === "string"));
    // The client never echoes marks, so the phone "is still playing" when speech starts: clear.
    const clears = client.json.filter((m) => m.event === "clear");
    assert.ok(clears.length >= 1, `a clear on barge-in, got ${clears.length}`);
    const firstClear = client.json.indexOf(clears[0]);
    assert.ok(firstClear > client.json.indexOf(marks[0]), "clear comes after audio was sent");
    assert.match(server.metrics(), /remotemedia_sessions_total\{protocol="twilio"\} 1/);
  } finally {
    await server.close();
  }
  assert.equal(liveHandles(), before);
});

test("Twilio: a reply at 16 kHz is resampled to 8 kHz μ-law, all of it; echoed marks are taken", async () => {
  // The reply branch is the caller's audio upsampled: the server must bring it back to 8 kHz.
  const reply: Manifest = {
    version: 1,
    nodes: [{ id: "up", type: "Resample", params: { targetRate: 16000 } }],
  };
  const server = await serve({ port: 0, manifest: reply, maxQueuedFrames: 1000 });
  try {
    const client = await WsClient.open(`${server.url.replace(/^http/, "ws")}/twilio`);
    // Echo every mark back at once: the phone has played everything. (Twilio sends nothing after
    // `stop`, so neither does this client.)
    let stopped = false;
    client.ws.addEventListener("message", (event) => {
      const message = JSON.parse(event.data as string);
      if (message.event === "mark" && !stopped) {
        client.sendJson({ event: "mark", streamSid: "MZ2", mark: message.mark });
      }
    });
    sendCall(client, "MZ2", false);
    // The resamplers hold a few ms back until the end; the rest has come back.
    while (mediaBytes(client) < ulaw.length - 1600) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    stopped = true;
    sendStop(client, "MZ2");
    assert.equal((await client.closed).code, CloseCode.normal);
    assert.equal(
      mediaBytes(client),
      ulaw.length,
      "8 kHz in, 16 kHz in the pipeline, 8 kHz back: same length",
    );
  } finally {
    await server.close();
  }
});

test("Twilio protocol errors: media before start, a non-μ-law stream, binary messages", async () => {
  const server = await serve({ port: 0, manifest: echoManifest });
  const url = `${server.url.replace(/^http/, "ws")}/twilio`;
  try {
    const early = await WsClient.open(url);
    early.sendJson({ event: "media", media: { payload: "AAAA" } });
    assert.equal((await early.closed).code, CloseCode.protocolError);
    const alaw = await WsClient.open(url);
    alaw.sendJson({ event: "start", start: { mediaFormat: { encoding: "audio/x-alaw" } } });
    const closed = await alaw.closed;
    assert.equal(closed.code, CloseCode.protocolError);
    assert.match(closed.reason, /expected audio\/x-mulaw/);
    const binary = await WsClient.open(url);
    binary.ws.send(new Uint8Array(4));
    assert.equal((await binary.closed).code, CloseCode.protocolError);
  } finally {
    await server.close();
  }
});
