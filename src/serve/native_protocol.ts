/**
 * The native WebSocket protocol of `serve()` (docs/PROTOCOL.md): a JSON `start` with the layout of
 * the audio to come (and param overrides), binary PCM (or G.711) frames, JSON text/json inputs and
 * control (`interrupt`, `close`) in; `ready`, JSON outputs, binary outputs with a 16-byte header,
 * `interrupted`, `error` and `end` out.
 *
 * @module
 */
import type { WebSocketPeer } from "../../ffi/http.ts";
import { ManifestError, type RemoteMediaError } from "../errors.ts";
import { type Manifest, parsedManifest } from "../manifest.ts";
import { RuntimeData } from "../runtime_data.ts";
import type { SampleFormat } from "../data_types.ts";
import { toFloat32, toInt16 } from "../audio.ts";
import { G711Decoder } from "./codec.ts";
import {
  Connection,
  type ConnectionSettings,
  type EndReason,
  ProtocolError,
  withParams,
} from "./connection.ts";
import {
  type ClientMessage,
  encodeOutputFrame,
  type ServerMessage,
  type StartMessage,
  type WireFormat,
} from "./protocol.ts";

const FORMATS: readonly WireFormat[] = ["i16", "f32", "mulaw", "alaw"];
const BYTES_PER_SAMPLE: Record<WireFormat, number> = { i16: 2, f32: 4, mulaw: 1, alaw: 1 };

/** A connection speaking the native protocol. */
export class NativeConnection extends Connection {
  #layout?: { sampleRate: number; channels: number; format: WireFormat };
  #outputFormat?: "i16" | "f32";
  #decoder?: G711Decoder;
  #sequence: number[] = [];

  /** A connection on `peer` waiting for its `start`. */
  constructor(peer: WebSocketPeer, settings: ConnectionSettings) {
    super(peer, settings);
  }

  #json(message: ServerMessage): void {
    this.send(JSON.stringify(message));
  }

  protected handle(data: string | Uint8Array): void {
    if (typeof data !== "string") return this.#frame(data);
    let message: ClientMessage;
    try {
      message = JSON.parse(data);
    } catch {
      throw new ProtocolError(
        `a text message must be JSON, got ${JSON.stringify(data.slice(0, 40))}`,
      );
    }
    const type = (message as { type?: unknown })?.type;
    if (type === "start") return this.#start(message as StartMessage);
    if (!this.session) {
      throw new ProtocolError(`expected "start" first, got ${JSON.stringify(type)}`);
    }
    switch (message.type) {
      case "text":
        if (typeof message.text !== "string") throw new ProtocolError("text: expected a string");
        return this.enqueue(RuntimeData.text(message.text), {
          to: target(message.to),
          audio: false,
        });
      case "json":
        return this.enqueue(RuntimeData.json(message.value), {
          to: target(message.to),
          audio: false,
        });
      case "interrupt": {
        const from = message.from;
        const dropped = this.session.interrupt(from === undefined ? undefined : { from });
        return this.#json({ type: "interrupted", dropped, reason: "client" });
      }
      case "close":
        return this.requestClose("closed");
      default:
        throw new ProtocolError(
          `unknown message type ${
            JSON.stringify(type)
          } (expected start, text, json, interrupt, close)`,
        );
    }
  }

  #start(message: StartMessage): void {
    if (this.session) throw new ProtocolError("start: the session has started already");
    const { sampleRate, channels = 1, format = "i16", params, outputFormat } = message;
    if (!Number.isInteger(sampleRate) || sampleRate < 1000 || sampleRate > 384_000) {
      throw new ProtocolError(
        `start.sampleRate: expected an integer in 1000..384000, got ${sampleRate}`,
      );
    }
    if (!Number.isInteger(channels) || channels < 1 || channels > 64) {
      throw new ProtocolError(`start.channels: expected an integer in 1..64, got ${channels}`);
    }
    if (!FORMATS.includes(format)) {
      throw new ProtocolError(
        `start.format: expected ${FORMATS.join(", ")}, got ${JSON.stringify(format)}`,
      );
    }
    if (outputFormat !== undefined && outputFormat !== "i16" && outputFormat !== "f32") {
      throw new ProtocolError(
        `start.outputFormat: expected i16 or f32, got ${JSON.stringify(outputFormat)}`,
      );
    }
    if (
      params !== undefined &&
      (typeof params !== "object" || params === null || Array.isArray(params))
    ) {
      throw new ProtocolError('start.params: expected an object of "node.key": value');
    }
    let manifest = this.settings.manifest;
    if (params && Object.keys(params).length > 0) {
      manifest = withParams(parsedManifest(manifest) as Manifest, params);
    }
    // The pipeline gets i16 for G.711 (decoded natively), else the wire format.
    const sampleFormat = format === "f32" ? "f32" : "i16";
    try {
      this.startSession(manifest, { sampleRate, channels, sampleFormat });
    } catch (error) {
      if (error instanceof ManifestError) {
        // A bad param, or a layout the pipeline cannot take (format negotiation off).
        throw new ProtocolError(
          `${params ? "start.params" : "start"}: ${
            error.issues.map((i) => `${i.path}: ${i.message}`).join("; ")
          }`,
        );
      }
      throw error;
    }
    this.#layout = { sampleRate, channels, format };
    this.#outputFormat = outputFormat;
    if (format === "mulaw" || format === "alaw") {
      this.#decoder = new G711Decoder(format, sampleRate, channels);
    }
    this.settings.metrics.sessionsTotal.native++;
    const session = this.session!;
    this.#sequence = session.sinkIds.map(() => 0);
    this.#json({
      type: "ready",
      server: this.settings.serverName,
      session: this.number,
      sinks: [...session.sinkIds],
      entries: session.entries.map((e) => ({ id: e.id, type: e.type, accepts: e.accepts })),
    });
  }

  #frame(bytes: Uint8Array): void {
    const layout = this.#layout;
    if (!layout) throw new ProtocolError("binary frame before start");
    const frameBytes = BYTES_PER_SAMPLE[layout.format] * layout.channels;
    if (bytes.byteLength === 0 || bytes.byteLength % frameBytes !== 0) {
      throw new ProtocolError(
        `a binary frame of ${bytes.byteLength} bytes is not a whole number of ${layout.format} ` +
          `frames of ${layout.channels} channel(s) (${frameBytes} bytes each)`,
      );
    }
    if (layout.format === "mulaw" || layout.format === "alaw") {
      return this.enqueueEncoded(bytes.slice());
    }
    // One copy, straight from the message into native memory (any alignment): half the cost of
    // allocating native audio, viewing it and copying into the view.
    const format: SampleFormat = layout.format;
    const { sampleRate, channels } = layout;
    this.enqueue(RuntimeData.audio({ samples: bytes, format, sampleRate, channels }), {
      audio: true,
    });
  }

  protected override decode(bytes: Uint8Array): Promise<RuntimeData> {
    return this.#decoder!.decode(bytes);
  }

  /** Barge-in: the `from` branch (if configured) is interrupted; the client is told to stop playing. */
  #bargeIn(from: string[] | undefined, reason: string): void {
    const dropped = from ? this.session!.interrupt({ from }) : 0;
    this.#json({ type: "interrupted", dropped, reason });
  }

  protected sendOutput(sink: string, index: number, out: RuntimeData): Promise<void> {
    const type = out.dataType();
    const timestampUs = out.attributes().timestampUs;
    if (type === "audio") {
      const view = out.asAudio();
      let samples = view.samples as Float32Array | Int16Array | Int32Array;
      let format = view.format;
      if (this.#outputFormat === "i16" && format !== "i16") {
        samples = toInt16(toFloat32(samples));
        format = "i16";
      } else if (this.#outputFormat === "f32" && format !== "f32") {
        samples = toFloat32(samples);
        format = "f32";
      }
      this.send(encodeOutputFrame({
        kind: "audio",
        format,
        sampleRate: view.sampleRate,
        channels: view.channels,
        sink: index,
        sequence: this.#sequence[index]++,
        payload: new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength),
      }));
    } else if (type === "binary") {
      this.send(encodeOutputFrame({
        kind: "binary",
        sink: index,
        sequence: this.#sequence[index]++,
        payload: out.asBinary(),
      }));
    } else if (type === "json") {
      const value = out.asJson();
      this.#json({ type: "output", sink, dataType: "json", value, timestampUs });
      const bargeIn = this.settings.bargeIn;
      if (bargeIn && (value as { type?: unknown })?.type === bargeIn.event) {
        this.#bargeIn(bargeIn.from, bargeIn.event);
      }
    } else if (type === "text") {
      this.#json({ type: "output", sink, dataType: "text", text: out.asText(), timestampUs });
    }
    return Promise.resolve();
  }

  protected override finish(reason: EndReason): Promise<void> {
    if (reason === "closed" || reason === "ended" || reason === "shutdown") {
      this.#json({ type: "end", reason, stats: { ...this.counts } });
    }
    return Promise.resolve();
  }

  protected override reportError(error: RemoteMediaError): void {
    const nodeId = (error as { nodeId?: string }).nodeId;
    this.#json({ type: "error", code: error.code, message: error.message, nodeId });
  }

  protected override release(): void {
    this.#decoder?.dispose();
  }
}

function target(to: unknown): string | undefined {
  if (to === undefined) return undefined;
  if (typeof to !== "string") {
    throw new ProtocolError(`to: expected a node id, got ${JSON.stringify(to)}`);
  }
  return to;
}
