/**
 * The Twilio Media Streams protocol on `/twilio` (docs/PROTOCOL.md, "Twilio"): `connected`,
 * `start` (μ-law 8 kHz mono), `media` (base64 μ-law, 20 ms), `mark`, `dtmf` and `stop` in; `media`,
 * `mark` and `clear` out. Inbound μ-law is decoded natively (`G711Decoder`) before the pipeline;
 * its audio outputs are mixed to mono, resampled to 8 kHz and μ-law encoded natively
 * (`TelephonyEncoder`), then sent in 20 ms `media` messages, each output followed by a `mark`.
 * On barge-in (a JSON output whose `type` is the configured event, `speech_start` by default) while
 * the phone may still be playing (marks not yet echoed), the reply branch is interrupted (when
 * `bargeIn.from` names it) and `clear` makes Twilio drop the audio it buffered.
 *
 * @module
 */
import type { WebSocketPeer } from "../../ffi/http.ts";
import { ManifestError } from "../errors.ts";
import { type Manifest, parsedManifest } from "../manifest.ts";
import { RuntimeData } from "../runtime_data.ts";
import { G711Decoder, TelephonyEncoder } from "./codec.ts";
import {
  Connection,
  type ConnectionSettings,
  type EndReason,
  ProtocolError,
  withParams,
} from "./connection.ts";

/** Bytes of one 20 ms μ-law `media` message at 8 kHz. */
const MEDIA_BYTES = 160;

interface TwilioMessage {
  event?: string;
  streamSid?: string;
  start?: {
    streamSid?: string;
    callSid?: string;
    customParameters?: Record<string, string>;
    mediaFormat?: { encoding?: string; sampleRate?: number; channels?: number };
  };
  media?: { track?: string; timestamp?: string; payload?: string };
  mark?: { name?: string };
  dtmf?: { digit?: string };
}

/** A connection speaking Twilio Media Streams. */
export class TwilioConnection extends Connection {
  #streamSid = "";
  #decoder?: G711Decoder;
  #encoder = new TelephonyEncoder("mulaw", 8000);
  /** μ-law bytes waiting to fill a 20 ms `media` message. */
  #pending = new Uint8Array(0);
  /** Marks sent and not yet echoed back (audio the phone may still be playing). */
  #marks = new Set<string>();
  #markNumber = 0;
  #acceptsJson = false;
  /** The encoder's last job: audio outputs are encoded one at a time. */
  #encoding: Promise<void> = Promise.resolve();

  /** A connection on `peer` waiting for Twilio's `start`. */
  constructor(peer: WebSocketPeer, settings: ConnectionSettings) {
    super(peer, settings);
  }

  /** Marks sent and not yet played (echoed) by the other end. */
  get marksOutstanding(): number {
    return this.#marks.size;
  }

  protected handle(data: string | Uint8Array): void {
    if (typeof data !== "string") {
      throw new ProtocolError("Twilio Media Streams send JSON text only");
    }
    let message: TwilioMessage;
    try {
      message = JSON.parse(data);
    } catch {
      throw new ProtocolError(`expected a JSON message, got ${JSON.stringify(data.slice(0, 40))}`);
    }
    switch (message.event) {
      case "connected":
        return;
      case "start":
        return this.#start(message);
      case "media": {
        if (!this.session) throw new ProtocolError('"media" before "start"');
        const track = message.media?.track;
        if (track !== undefined && track !== "inbound") return; // only the caller's audio is heard
        const payload = message.media?.payload;
        if (typeof payload !== "string") {
          throw new ProtocolError("media.payload: expected base64 text");
        }
        return this.enqueueEncoded(fromBase64(payload));
      }
      case "mark":
        this.#marks.delete(message.mark?.name ?? "");
        return;
      case "dtmf":
        if (this.session && this.#acceptsJson && message.dtmf?.digit !== undefined) {
          this.enqueue(RuntimeData.json({ type: "dtmf", digit: message.dtmf.digit }), {
            audio: false,
          });
        }
        return;
      case "stop":
        return this.requestClose("closed");
      default:
        throw new ProtocolError(`unknown Twilio event ${JSON.stringify(message.event)}`);
    }
  }

  #start(message: TwilioMessage): void {
    if (this.session) throw new ProtocolError('"start" twice');
    const start = message.start ?? {};
    const format = start.mediaFormat ?? {};
    const encoding = format.encoding ?? "audio/x-mulaw";
    if (encoding !== "audio/x-mulaw") {
      throw new ProtocolError(
        `start.mediaFormat.encoding: expected audio/x-mulaw, got ${encoding}`,
      );
    }
    const sampleRate = format.sampleRate ?? 8000;
    const channels = format.channels ?? 1;
    if (!Number.isInteger(sampleRate) || sampleRate < 1000 || sampleRate > 384_000) {
      throw new ProtocolError(
        `start.mediaFormat.sampleRate: expected an integer, got ${sampleRate}`,
      );
    }
    if (!Number.isInteger(channels) || channels < 1 || channels > 64) {
      throw new ProtocolError(`start.mediaFormat.channels: expected 1..64, got ${channels}`);
    }
    this.#streamSid = message.streamSid ?? start.streamSid ?? "";
    // customParameters with a dot are param overrides ("vad.threshold": "0.6"): JSON values, else text.
    const params: Record<string, unknown> = {};
    for (const [key, raw] of Object.entries(start.customParameters ?? {})) {
      if (!key.includes(".")) continue;
      try {
        params[key] = JSON.parse(raw);
      } catch {
        params[key] = raw;
      }
    }
    let manifest = this.settings.manifest;
    if (Object.keys(params).length > 0) {
      manifest = withParams(parsedManifest(manifest) as Manifest, params);
    }
    try {
      // μ-law is decoded natively to i16 before the pipeline.
      this.startSession(manifest, { sampleRate, channels, sampleFormat: "i16" });
    } catch (error) {
      if (error instanceof ManifestError) {
        throw new ProtocolError(
          `${Object.keys(params).length > 0 ? "customParameters" : "start"}: ${
            error.issues.map((i) => `${i.path}: ${i.message}`).join("; ")
          }`,
        );
      }
      throw error;
    }
    this.#decoder = new G711Decoder("mulaw", sampleRate, channels);
    this.#acceptsJson = this.session!.entries.some((e) => e.accepts.includes("json"));
    this.settings.metrics.sessionsTotal.twilio++;
    this.settings.log(
      `session ${this.number}: Twilio stream ${this.#streamSid} (call ${start.callSid ?? "?"})`,
    );
  }

  protected override decode(bytes: Uint8Array): Promise<RuntimeData> {
    return this.#decoder!.decode(bytes);
  }

  protected async sendOutput(sink: string, _index: number, out: RuntimeData): Promise<void> {
    const type = out.dataType();
    if (type === "audio") {
      // One encoder for the call: outputs of several audio sinks take turns (their order is kept).
      const turn = this.#encoding.then(async () => {
        this.#media(await this.#encoder.encode(out), false);
        const name = `${sink}:${this.#markNumber++}`;
        this.#marks.add(name);
        this.#twilio({ event: "mark", mark: { name } });
      });
      this.#encoding = turn.catch(() => {});
      await turn;
    } else if (type === "json") {
      const bargeIn = this.settings.bargeIn ?? { event: "speech_start" };
      if ((out.asJson() as { type?: unknown })?.type === bargeIn.event) this.#bargeIn(bargeIn.from);
    }
  }

  /** Stale reply audio: interrupt its branch (if configured), drop what is buffered, `clear`. */
  #bargeIn(from: string[] | undefined): void {
    if (this.#marks.size === 0 && this.#pending.length === 0) return; // nothing is playing
    if (from) this.session!.interrupt({ from });
    this.#encoder.interrupt();
    this.#pending = new Uint8Array(0);
    this.#marks.clear();
    this.#twilio({ event: "clear" });
  }

  /** Sends `chunks` in 20 ms `media` messages (the remainder waits for more, or for the end). */
  #media(chunks: Uint8Array[], last: boolean): void {
    let bytes = this.#pending;
    if (chunks.length > 0) {
      const total = chunks.reduce((n, c) => n + c.length, bytes.length);
      const joined = new Uint8Array(total);
      joined.set(bytes);
      let at = bytes.length;
      for (const chunk of chunks) {
        joined.set(chunk, at);
        at += chunk.length;
      }
      bytes = joined;
    }
    let at = 0;
    for (; at + MEDIA_BYTES <= bytes.length || (last && at < bytes.length); at += MEDIA_BYTES) {
      const payload = toBase64(bytes.subarray(at, Math.min(at + MEDIA_BYTES, bytes.length)));
      this.#twilio({ event: "media", media: { payload } });
    }
    this.#pending = bytes.slice(at);
  }

  #twilio(message: Record<string, unknown>): void {
    this.send(JSON.stringify({ event: message.event, streamSid: this.#streamSid, ...message }));
  }

  protected override async finish(_reason: EndReason): Promise<void> {
    await this.#encoding;
    const tail = await this.#encoder.flush();
    if (tail.length > 0 || this.#pending.length > 0) {
      this.#media(tail, true);
      const name = `end:${this.#markNumber++}`;
      this.#marks.add(name);
      this.#twilio({ event: "mark", mark: { name } });
    }
  }

  protected override release(): void {
    this.#decoder?.dispose();
    this.#encoder.dispose();
  }
}

/** Base64 text → bytes. */
export function fromBase64(text: string): Uint8Array {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new ProtocolError("media.payload is not base64");
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Bytes → base64 text. */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
