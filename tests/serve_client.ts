/**
 * Test helpers for `serve()`: a WebSocket client that records what the server sends, the speech
 * recording as 20 ms wire frames, a reference run of a manifest in this process, a raw TCP
 * WebSocket whose connection can be cut without a closing handshake, and a `remotemedia serve`
 * subprocess in the runtime running the tests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import {
  decodeOutputFrame,
  type Manifest,
  type OutputFrame,
  RuntimeData,
  Session,
  wavFrames,
} from "../mod.ts";
import { runtime } from "./helpers.ts";

/** The repository root. */
export const root: string = decodeURIComponent(new URL("..", import.meta.url).pathname);
/** The speech recording (48 kHz stereo i16). */
export const speechWav: string = join(root, "examples/data/speech.wav");
/** The same as 8 kHz μ-law (what Twilio sends). */
export const speechUlaw: string = join(root, "examples/data/speech_8k.ulaw");

/** The voice front end: stereo 48 kHz → mono → 16 kHz → VAD events. */
export const vadManifest: Manifest = {
  version: 1,
  nodes: [
    { id: "mono", type: "ChannelMix", params: { mode: "mono" } },
    { id: "res", type: "Resample", params: { targetRate: 16000 } },
    { id: "vad", type: "Vad", params: { mode: "events" } },
  ],
  connections: [{ from: "mono", to: "res" }, { from: "res", to: "vad" }],
};

// deno-lint-ignore no-explicit-any
type Json = any;

/** A WebSocket client that keeps every message. */
export class WsClient {
  /** The socket. */
  readonly ws: WebSocket;
  /** JSON text messages, in order. */
  readonly json: Json[] = [];
  /** Binary messages, decoded (native protocol) — or raw when `raw` was asked. */
  readonly frames: OutputFrame[] = [];
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: (() => void)[] = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.binaryType = "arraybuffer";
    ws.onmessage = (event) => {
      if (typeof event.data === "string") this.json.push(JSON.parse(event.data));
      else this.frames.push(decodeOutputFrame(new Uint8Array(event.data as ArrayBuffer)));
      for (const wake of this.#waiters.splice(0)) wake();
    };
    this.closed = new Promise((resolve) => {
      ws.onclose = (event) => {
        resolve({ code: event.code, reason: event.reason });
        for (const wake of this.#waiters.splice(0)) wake();
      };
    });
  }

  /** Opens a connection to `url` (ws://…). */
  static open(url: string): Promise<WsClient> {
    const ws = new WebSocket(url);
    const client = new WsClient(ws);
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve(client);
      ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
  }

  /** Sends JSON text. */
  sendJson(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Waits for a JSON message matching `match` (already received or to come). */
  async waitFor(match: (message: Json) => boolean): Promise<Json> {
    for (;;) {
      const found = this.json.find(match);
      if (found !== undefined) return found;
      if (this.ws.readyState >= WebSocket.CLOSING) {
        throw new Error(`closed before the message came; got ${JSON.stringify(this.json)}`);
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }
}

/** The speech WAV's 20 ms frames as i16 little-endian bytes (48 kHz stereo: 3840 bytes each). */
export async function speechFrames(): Promise<Uint8Array<ArrayBuffer>[]> {
  const frames: Uint8Array<ArrayBuffer>[] = [];
  for await (const frame of wavFrames(readFileSync(speechWav), { frameMs: 20 })) {
    const samples = frame.asAudio().samples;
    frames.push(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength).slice());
    frame.dispose();
  }
  return frames;
}

/** Runs `manifest` in this process on i16 frames (rate, channels) and returns its JSON outputs. */
export async function localJsonOutputs(
  manifest: Manifest,
  frames: Uint8Array[],
  sampleRate: number,
  channels: number,
): Promise<unknown[]> {
  await using session = Session.create(manifest);
  const outputs: unknown[] = [];
  const reading = (async () => {
    for await (const out of session) {
      if (out.dataType() === "json") outputs.push(out.asJson());
      out.dispose();
    }
  })();
  for (const bytes of frames) {
    using frame = RuntimeData.audio({
      samples: new Int16Array(bytes.slice().buffer),
      sampleRate,
      channels,
    });
    await session.push(frame);
  }
  session.close();
  await reading;
  return outputs;
}

/**
 * A WebSocket opened over a raw TCP socket: `send` writes masked frames; `cut()` destroys the
 * connection without a closing handshake (what a network failure looks like to the server).
 */
export class RawWebSocket {
  #socket: Socket;

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Connects to `port` on 127.0.0.1 and completes the upgrade handshake for `path`. */
  static open(port: number, path = "/"): Promise<RawWebSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
            "Sec-WebSocket-Version: 13\r\n\r\n",
        );
      });
      socket.once("error", reject);
      socket.once("data", (data: Uint8Array) => {
        const head = new TextDecoder().decode(data);
        if (!head.startsWith("HTTP/1.1 101")) reject(new Error(head.split("\r\n")[0]));
        else resolve(new RawWebSocket(socket));
      });
    });
  }

  /** Sends one masked frame (text for a string). */
  send(data: string | Uint8Array): void {
    const payload = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const n = payload.length;
    const head = n < 126 ? [n | 0x80] : n < 65536 ? [126 | 0x80, n >> 8, n & 255] : [];
    if (head.length === 0) throw new Error("test frames stay below 64 KiB");
    const mask = [1, 2, 3, 4];
    const frame = new Uint8Array(2 + head.length - 1 + 4 + n);
    frame[0] = 0x80 | (typeof data === "string" ? 1 : 2);
    frame.set(head, 1);
    frame.set(mask, head.length + 1);
    const at = head.length + 5;
    for (let i = 0; i < n; i++) frame[at + i] = payload[i] ^ mask[i & 3];
    this.#socket.write(frame);
  }

  /** Destroys the TCP connection (no close frame). */
  cut(): void {
    this.#socket.destroy();
  }
}

/** A `remotemedia serve` subprocess in the runtime running the tests. */
export interface ServerProcess {
  /** The child. */
  child: ChildProcess;
  /** Its port. */
  port: number;
  /** Its stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

/** Starts `remotemedia serve <manifestPath> --port 0 …args` and waits for its `listening on` line. */
export function startServerProcess(
  manifestPath: string,
  args: string[] = [],
): Promise<ServerProcess> {
  const cli = join(root, "cli/main.ts");
  const [command, ...prefix] = runtime === "bun"
    ? [join(root, "node_modules/.bin/bun"), "run", cli]
    : [join(root, "node_modules/.bin/deno"), "run", "-A", cli];
  const child = spawn(command, [...prefix, "serve", manifestPath, "--port", "0", ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal ?? -1))
  );
  child.stderr!.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (chunk: Uint8Array) => {
      stdout += new TextDecoder().decode(chunk);
      const match = /listening on http:\/\/[^:]+:(\d+)/.exec(stdout);
      if (match) resolve({ child, port: Number(match[1]), stderr: () => stderr, exited });
    });
    void exited.then((code) =>
      reject(new Error(`remotemedia serve exited (${code}) before listening: ${stderr}`))
    );
  });
}
