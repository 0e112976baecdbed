/**
 * One served WebSocket and its session, whatever the protocol: the bounded input queue and the pump
 * that pushes it into the session, one output loop per sink that waits while the socket has too
 * much queued, the idle timer, and the one `end()` that every way of ending goes through (client
 * close, lost connection, idle, protocol error, node failure, server shutdown) so that the session
 * and every native value are released exactly once. Protocols (`native_protocol.ts`, `twilio.ts`)
 * extend {@link Connection} with their messages.
 *
 * @module
 */
import type { WebSocketPeer } from "../../ffi/http.ts";
import { PipelineError, RemoteMediaError } from "../errors.ts";
import type { AudioSpec, Manifest } from "../manifest.ts";
import type { SessionStats } from "../observability.ts";
import type { RuntimeData } from "../runtime_data.ts";
import { Session, type SessionOptions } from "../session.ts";
import type { ServerMetrics } from "./metrics.ts";
import { CloseCode, type ConnectionCounts } from "./protocol.ts";

/** Limits and settings every connection of a server shares. */
export interface ConnectionSettings {
  /** The manifest each session runs. */
  manifest: Manifest | string;
  /** Options of every session. */
  session: Omit<SessionOptions, "signal" | "tracer">;
  /** Input frames a connection queues before dropping the oldest. */
  maxQueuedFrames: number;
  /** Bytes a socket may have queued before output loops wait. */
  maxBufferedBytes: number;
  /** Largest message accepted. */
  maxMessageBytes: number;
  /** Closes a connection that sent nothing for this long (0: never). */
  idleTimeoutMs: number;
  /** JSON outputs whose `type` is `event` trigger barge-in; `from` is interrupted (if given). */
  bargeIn?: { event: string; from?: string[] };
  /** Identifies this server in `ready` messages. */
  serverName: string;
  /** The server's counters. */
  metrics: ServerMetrics;
  /** Diagnostics. */
  log(line: string): void;
}

/** Why a session ended (a label of `remotemedia_sessions_ended_total`). */
export type EndReason =
  | "closed"
  | "ended"
  | "shutdown"
  | "client_gone"
  | "idle"
  | "protocol"
  | "failed"
  | "too_big";

type QueueItem =
  | { kind: "data"; data: RuntimeData; to?: string; audio: boolean }
  | { kind: "encoded"; bytes: Uint8Array }
  | { kind: "close" };

/** A protocol error: the client is told, then the connection closes with 1008. */
export class ProtocolError extends RemoteMediaError {
  /** Creates the error. */
  constructor(message: string) {
    super("invalid_argument", message);
    this.name = "ProtocolError";
  }
}

const GRACEFUL: ReadonlySet<EndReason> = new Set(["closed", "ended", "shutdown"]);

const CLOSE_CODES: Record<EndReason, number> = {
  closed: CloseCode.normal,
  ended: CloseCode.normal,
  shutdown: CloseCode.shutdown,
  client_gone: CloseCode.normal,
  idle: CloseCode.idleTimeout,
  protocol: CloseCode.protocolError,
  failed: CloseCode.pipelineFailed,
  too_big: CloseCode.tooBig,
};

let sessionNumber = 0;

/** A served connection with (once started) its session. */
export abstract class Connection {
  /** The socket. */
  protected readonly peer: WebSocketPeer;
  /** Shared settings. */
  protected readonly settings: ConnectionSettings;
  /** The session, once the protocol's start message created it. */
  protected session?: Session;
  /** This connection's counts. */
  readonly counts: ConnectionCounts = { framesIn: 0, framesOut: 0, dropped: 0 };
  /** Number of this session on the server (1, 2, …). */
  readonly number: number = ++sessionNumber;
  #queue: QueueItem[] = [];
  #queuedFrames = 0;
  #pumping = false;
  #closeRequested?: EndReason;
  #outputs?: Promise<void>;
  #idle?: ReturnType<typeof setTimeout>;
  /** When the client last sent something (`performance.now()`). */
  #lastActivity = 0;
  #ending?: Promise<void>;
  #ended = false;
  #endedResolve!: () => void;
  /** Resolves once the connection ended and everything was released. */
  readonly ended: Promise<void> = new Promise((resolve) => this.#endedResolve = resolve);

  /** A connection on `peer`; its idle timer starts now. */
  constructor(peer: WebSocketPeer, settings: ConnectionSettings) {
    this.peer = peer;
    this.settings = settings;
    this.settings.metrics.sessionsActive++;
    this.#touch();
  }

  /** A message arrived (the protocol reads it). */
  protected abstract handle(data: string | Uint8Array): void;

  /** Sends one output of sink `sink` (index `index` in `session.sinkIds`). */
  protected abstract sendOutput(sink: string, index: number, out: RuntimeData): Promise<void>;

  /** Decodes G.711 bytes queued with {@link Connection.enqueueEncoded} into audio. */
  protected decode(_bytes: Uint8Array): Promise<RuntimeData> {
    return Promise.reject(new ProtocolError("this connection takes no encoded audio"));
  }

  /** Last words of a graceful end (flush encoders, send `end`); the socket is still open. */
  protected finish(_reason: EndReason): Promise<void> {
    return Promise.resolve();
  }

  /** Releases the protocol's own native values (codecs); runs once, at the end. */
  protected release(): void {}

  /** Tells the client about an error before the socket closes (if the protocol can). */
  protected reportError(_error: RemoteMediaError): void {}

  /** True once `end()` started. */
  get ending(): boolean {
    return this.#ending !== undefined;
  }

  /** The session's stats, while it exists. */
  stats(): SessionStats | undefined {
    try {
      return this.session?.stats();
    } catch {
      return undefined;
    }
  }

  /** Feeds a message from the socket: limits, idle timer, then the protocol. */
  receive(data: string | Uint8Array): void {
    if (this.ending) return;
    this.#touch();
    const size = typeof data === "string" ? data.length : data.byteLength;
    if (size > this.settings.maxMessageBytes) {
      void this.end(
        "too_big",
        new ProtocolError(
          `a message of ${size} bytes is over maxMessageBytes (${this.settings.maxMessageBytes})`,
        ),
      );
      return;
    }
    try {
      this.handle(data);
    } catch (error) {
      const protocol = error instanceof RemoteMediaError && error.code === "invalid_argument";
      void this.end(protocol ? "protocol" : "failed", asError(error));
    }
  }

  #socketGoneResolve!: () => void;
  /** Resolves once the socket has closed (the closing handshake is over, or the peer is gone). */
  readonly socketGone: Promise<void> = new Promise((resolve) => this.#socketGoneResolve = resolve);

  /** The socket closed: the session is aborted if it still runs (nobody is left to send to). */
  socketClosed(code: number, reason: string): void {
    this.#socketGoneResolve();
    if (this.ending) return;
    this.settings.log(`session ${this.number}: client gone (${code}${reason ? ` ${reason}` : ""})`);
    void this.end("client_gone");
  }

  /**
   * Starts `manifest`'s session for audio of `audioInput`'s format (format negotiation starts from it)
   * and the output loops; throws a ManifestError or PipelineError.
   */
  protected startSession(manifest: Manifest | string, audioInput: AudioSpec): Session {
    const session = Session.create(manifest, { ...this.settings.session, audioInput });
    this.session = session;
    this.#outputs = Promise.all(
      session.sinkIds.map((sink, index) => this.#outputLoop(session, sink, index)),
    ).then(() => session.done).then(
      () => void this.end(this.#closeRequested ?? "ended"),
      (error) => void this.end("failed", asError(error)),
    );
    return session;
  }

  /** Queues an input item (dropping the oldest audio frame when the queue is full). */
  protected enqueue(data: RuntimeData, options: { to?: string; audio: boolean }): void {
    this.#add({ kind: "data", data, ...options });
  }

  /** Queues G.711 bytes, decoded by {@link Connection.decode} in turn. */
  protected enqueueEncoded(bytes: Uint8Array): void {
    this.#add({ kind: "encoded", bytes });
  }

  #add(item: QueueItem): void {
    this.counts.framesIn++;
    this.settings.metrics.framesIn++;
    if (this.#closeRequested) { // after close (or during a drain) nothing more is taken
      this.#release(item);
      this.counts.dropped++;
      this.settings.metrics.dropped++;
      return;
    }
    const frame = item.kind === "encoded" || (item.kind === "data" && item.audio);
    if (frame && this.#queuedFrames >= this.settings.maxQueuedFrames) {
      const oldest = this.#queue.findIndex((q) =>
        q.kind === "encoded" || (q.kind === "data" && q.audio)
      );
      this.#release(this.#queue.splice(oldest, 1)[0]);
      this.#queuedFrames--;
      this.counts.dropped++;
      this.settings.metrics.dropped++;
    }
    if (frame) this.#queuedFrames++;
    this.#queue.push(item);
    this.#pump();
  }

  /**
   * Ends the input gracefully: queued frames are pushed, the session flushes, the outputs are sent,
   * then the connection ends with `reason` (`closed`; `shutdown` when the server drains).
   */
  requestClose(reason: "closed" | "shutdown"): void {
    if (this.ending) return;
    if (!this.session) {
      void this.end(reason);
      return;
    }
    if (this.#closeRequested) return;
    this.#closeRequested = reason;
    clearTimeout(this.#idle); // the client may stay silent while the outputs drain
    this.#idle = undefined;
    this.#queue.push({ kind: "close" });
    this.#pump();
  }

  #pump(): void {
    if (this.#pumping || !this.session) return;
    this.#pumping = true;
    void this.#drainQueue(this.session);
  }

  /**
   * Pushes the queue in order. `#pumping` is cleared in the same turn as the check that found the
   * queue empty: a message handled between them (Deno can dispatch one before pending promise
   * callbacks run) would otherwise find a pump that is about to stop.
   */
  async #drainQueue(session: Session): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.ending) {
        const item = this.#queue.shift()!;
        if (item.kind === "close") {
          if (!session.finished) session.close();
          continue;
        }
        if (item.kind === "encoded" || item.audio) this.#queuedFrames--;
        let data: RuntimeData | undefined;
        try {
          data = item.kind === "encoded" ? await this.decode(item.bytes) : item.data;
          await session.push(data, { to: item.kind === "data" ? item.to : undefined });
        } catch (error) {
          if (this.ending || session.finished) return; // the end is reported by whoever ended it
          if (error instanceof PipelineError) return void this.end("failed", error);
          return void this.end("protocol", new ProtocolError(asError(error).message));
        } finally {
          data?.dispose();
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  async #outputLoop(session: Session, sink: string, index: number): Promise<void> {
    try {
      for await (const out of session.outputs(sink)) {
        try {
          await this.#roomToSend();
          if (this.ending && !this.#closeRequested) continue;
          await this.sendOutput(sink, index, out);
          this.counts.framesOut++;
          this.settings.metrics.framesOut++;
        } finally {
          out.dispose();
        }
      }
    } catch (error) {
      if (!this.ending) throw error;
    }
  }

  /** Waits while the socket has more than `maxBufferedBytes` queued (a slow client). */
  async #roomToSend(): Promise<void> {
    while (this.peer.bufferedAmount() > this.settings.maxBufferedBytes && !this.#ended) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /**
   * Notes activity for the idle timeout. One timer per connection, not one per message (resetting a
   * timer costs ~1.2 µs a message in Deno): when it fires early it re-arms for the time that is left.
   */
  #touch(): void {
    this.#lastActivity = performance.now();
    if (this.settings.idleTimeoutMs > 0 && !this.#closeRequested && this.#idle === undefined) {
      this.#armIdle(this.settings.idleTimeoutMs);
    }
  }

  #armIdle(ms: number): void {
    // Timers take at most 2^31 - 1 ms (longer ones fire at once): a longer timeout re-arms.
    this.#idle = setTimeout(() => {
      this.#idle = undefined;
      if (this.#closeRequested || this.ending) return;
      const idle = performance.now() - this.#lastActivity;
      const limit = this.settings.idleTimeoutMs;
      if (idle < limit) return this.#armIdle(limit - idle);
      void this.end("idle", new ProtocolError(`nothing received for ${limit} ms`));
    }, Math.min(ms, 2 ** 31 - 1));
  }

  /** Sends a message if the socket is still open; counts a drop when the runtime refused it. */
  protected send(data: string | Uint8Array): void {
    if (!this.peer.send(data) && !this.#ended) {
      this.counts.dropped++;
      this.settings.metrics.dropped++;
    }
  }

  /**
   * Ends the connection (once; later calls return the same promise). Graceful reasons (`closed`,
   * `ended`, `shutdown`) come after the outputs were sent: `finish()` runs, then the socket closes.
   * The others abort the session first (what is in flight is dropped) and report `error`.
   */
  end(reason: EndReason, error?: RemoteMediaError): Promise<void> {
    this.#ending ??= this.#end(reason, error);
    return this.#ending;
  }

  async #end(reason: EndReason, error?: RemoteMediaError): Promise<void> {
    clearTimeout(this.#idle);
    const session = this.session;
    const metrics = this.settings.metrics;
    let stats: SessionStats | undefined;
    try {
      if (GRACEFUL.has(reason) && session?.finished !== false) {
        await this.finish(reason).catch((e) => this.settings.log(`session ${this.number}: ${e}`));
      } else if (session && !session.finished) {
        await session.abort(error ?? new RemoteMediaError("closed", `session ended: ${reason}`))
          .catch(() => {});
        await this.#outputs;
      }
      if (error) {
        metrics.errors += reason === "failed" || reason === "protocol" || reason === "too_big"
          ? 1
          : 0;
        this.settings.log(`session ${this.number}: ${reason}: ${error.message}`);
        if (reason !== "client_gone") this.reportError(error);
      }
      this.peer.close(
        CLOSE_CODES[reason],
        (error?.message ?? reason).slice(0, 120), // a close reason is at most 123 bytes
      );
      stats = this.stats();
    } finally {
      this.#ended = true;
      for (const item of this.#queue.splice(0)) this.#release(item);
      try {
        session?.dispose();
      } catch (e) {
        this.settings.log(`session ${this.number}: dispose: ${e}`);
      }
      this.release();
      metrics.sessionsActive--;
      metrics.recordEnded(stats, reason);
      this.#endedResolve();
    }
  }

  #release(item: QueueItem): void {
    if (item.kind === "data") item.data.dispose();
  }
}

/** `error` as a RemoteMediaError (wrapped with its message when it is not one). */
export function asError(error: unknown): RemoteMediaError {
  if (error instanceof RemoteMediaError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RemoteMediaError("invalid_argument", message, { cause: error });
}

/**
 * Applies param overrides `{ "node.key": value }` to a copy of `manifest` — what the CLI's
 * `--param node.key=value` does. An unknown node or a malformed key is a ProtocolError; the values
 * are validated with the manifest when the session is created (a ManifestError with paths).
 */
export function withParams(manifest: Manifest, params: Record<string, unknown>): Manifest {
  const out = structuredClone(manifest);
  for (const [key, value] of Object.entries(params)) {
    const dot = key.indexOf(".");
    if (dot <= 0 || dot === key.length - 1) {
      throw new ProtocolError(`params: expected "node.key", got "${key}"`);
    }
    const id = key.slice(0, dot);
    const node = out.nodes?.find((n) => n.id === id);
    if (!node) {
      throw new ProtocolError(
        `params: ${key}: no node "${id}" (nodes: ${out.nodes?.map((n) => n.id).join(", ")})`,
      );
    }
    node.params = { ...(node.params ?? {}), [key.slice(dot + 1)]: value };
  }
  return out;
}
