/**
 * `serve()`: a WebSocket + HTTP server that runs one session of a manifest per connection — the
 * native protocol on `/` (and `/ws`), Twilio Media Streams on `/twilio`, `/healthz` and `/metrics`
 * — with its limits (sessions, message size, queues, idle time) and its shutdown: `close()` (or the
 * `signal`) stops taking sessions, drains the open ones (their input ends, their outputs are sent)
 * and closes them with 1001, aborting what is still running after `drainTimeoutMs`. The listener is
 * `ffi/http.ts`, the one place that knows Deno from Bun.
 *
 * @module
 */
import {
  listen,
  processId,
  type Upgrade,
  type UpgradeResult,
  type WebSocketPeer,
} from "../../ffi/http.ts";
import { ArgumentError, ManifestError, RemoteMediaError } from "../errors.ts";
import { type Manifest, validateManifest } from "../manifest.ts";
import type { SessionOptions } from "../session.ts";
import type { Connection, ConnectionSettings } from "./connection.ts";
import { ServerMetrics } from "./metrics.ts";
import { NativeConnection } from "./native_protocol.ts";
import { CloseCode } from "./protocol.ts";
import { TwilioConnection } from "./twilio.ts";

/** Options of {@link serve}. */
export interface ServeOptions {
  /** The pipeline each connection runs (validated before the server starts). */
  manifest: Manifest | string;
  /** Port to listen on (default 8080; 0 picks a free one: read `server.port`). */
  port?: number;
  /** Interface to listen on (default `127.0.0.1`; `0.0.0.0` for every interface). */
  hostname?: string;
  /** Aborting it closes the server as {@link RemoteMediaServer.close} does (drain, then stop). */
  signal?: AbortSignal;
  /** Names this server in `ready` messages (default `<hostname>:<pid>`-like `remotemedia-<pid>`). */
  name?: string;
  /** Sessions at once (default 100); more are refused with close code 1013. */
  maxSessions?: number;
  /** Largest message a client may send, in bytes (default 1 MiB); larger closes with 1009. */
  maxMessageBytes?: number;
  /** Input frames queued per connection before the oldest is dropped (default 50: 1 s of 20 ms). */
  maxQueuedFrames?: number;
  /** Bytes a socket may have unsent before its outputs wait (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Closes a connection that sent nothing for this long, with 4408 (default 30000; 0: never). */
  idleTimeoutMs?: number;
  /** How long `close()` lets sessions drain before aborting them (default 10000). */
  drainTimeoutMs?: number;
  /**
   * Barge-in: a JSON output whose `type` is `event` (default `speech_start`) interrupts the `from`
   * nodes (the reply branch, e.g. `["tts"]`; nothing when absent) and tells the client: Twilio gets
   * `clear` (when audio may still be playing), native clients an `interrupted` message. Twilio
   * connections use the default event even when this is not set; native ones only when it is.
   */
  bargeIn?: { event?: string; from?: string | string[] };
  /** Options of every session (execution, queue capacities). */
  session?: Omit<SessionOptions, "signal" | "tracer">;
  /**
   * Extra HTTP routes, by path (e.g. a page for a browser client); a route returning `undefined`
   * falls through to the built-in ones.
   */
  routes?: Record<
    string,
    (request: Request) => Response | undefined | Promise<Response | undefined>
  >;
  /** Diagnostics (session ends, errors, drain); default: none. */
  log?: (line: string) => void;
}

/** A running server (see {@link serve}). */
export interface RemoteMediaServer extends AsyncDisposable {
  /** `http://hostname:port`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** The interface it listens on. */
  readonly hostname: string;
  /** Sessions open now. */
  readonly sessions: number;
  /** True once `close()` started. */
  readonly draining: boolean;
  /** The `/metrics` text now. */
  metrics(): string;
  /** Stops taking sessions, drains the open ones, stops listening. Harmless twice. */
  close(): Promise<void>;
  /** Resolves once the server has closed (by `close()` or the `signal`). */
  readonly closed: Promise<void>;
}

/**
 * Starts a server that runs one session of `manifest` per WebSocket connection: the native protocol
 * on `/` and Twilio Media Streams on `/twilio` (docs/PROTOCOL.md), `/healthz` and `/metrics`.
 *
 * @example
 * ```ts
 * import { serve } from "./mod.ts";
 * const server = await serve({
 *   manifest: { version: 1, nodes: [{ id: "vad", type: "Vad" }] },
 *   port: 8080,
 *   signal: AbortSignal.timeout(60_000),
 * });
 * console.log(`listening on ${server.url}`);
 * await server.closed;
 * ```
 */
export async function serve(options: ServeOptions): Promise<RemoteMediaServer> {
  const settings = serverSettings(options);
  const maxSessions = positive("maxSessions", options.maxSessions ?? 100);
  const drainTimeoutMs = nonNegative("drainTimeoutMs", options.drainTimeoutMs ?? 10_000);
  const metrics = settings.metrics;
  const connections = new Set<Connection>();
  const log = settings.log;
  let reserved = 0;
  let draining = false;
  let closing: Promise<void> | undefined;
  let closedResolve!: () => void;
  const closed = new Promise<void>((resolve) => closedResolve = resolve);

  const accept = (kind: "native" | "twilio", upgrade: Upgrade): UpgradeResult => {
    const refuse = draining
      ? "the server is shutting down"
      : reserved >= maxSessions
      ? `the server is full (${maxSessions} sessions)`
      : undefined;
    if (!refuse) reserved++;
    let connection: Connection | undefined;
    return upgrade({
      open(peer: WebSocketPeer): void {
        if (refuse) {
          metrics.sessionsRefused++;
          peer.close(CloseCode.tryAgainLater, refuse);
          return;
        }
        connection = kind === "twilio"
          ? new TwilioConnection(peer, settings)
          : new NativeConnection(peer, settings);
        const current = connection;
        connections.add(current);
        void current.ended.then(() => {
          connections.delete(current);
          reserved--;
        });
      },
      message: (_peer, data) => connection?.receive(data),
      close(_peer, code, reason): void {
        if (connection) connection.socketClosed(code, reason);
        else if (!refuse) reserved--; // closed before it opened
      },
    });
  };

  const hostname = options.hostname ?? "127.0.0.1";
  const port = options.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ArgumentError(`serve: port must be an integer in 0..65535, got ${port}`);
  }
  const listener = await listen({
    hostname,
    port,
    // The runtime's own cap sits above ours, so that ours answers first with 1009 and a reason.
    maxMessageBytes: settings.maxMessageBytes * 2 + 1024,
    async handle(request, upgrade): Promise<UpgradeResult> {
      // Bun gives a relative URL for an HTTP/1.0 request without Host (HAProxy's health check).
      const path = new URL(request.url, "http://localhost").pathname;
      const route = options.routes?.[path];
      if (route) {
        const response = await route(request);
        if (response) return response;
      }
      const wantsSocket = request.headers.get("upgrade")?.toLowerCase() === "websocket";
      if (path === "/healthz") {
        const body = {
          status: draining ? "draining" : "ok",
          sessions: connections.size,
          maxSessions,
        };
        return Response.json(body, { status: draining ? 503 : 200 });
      }
      if (path === "/metrics") {
        const active = [...connections].map((c) => c.stats()).filter((s) => s !== undefined);
        return new Response(metrics.render(active, draining), {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        });
      }
      if (path === "/twilio" || path === "/" || path === "/ws") {
        if (!wantsSocket) {
          return new Response(
            `remotemedia: open a WebSocket here (${
              path === "/twilio" ? "Twilio Media Streams" : "native protocol"
            }); see docs/PROTOCOL.md\n`,
            { status: 426, headers: { upgrade: "websocket" } },
          );
        }
        return accept(path === "/twilio" ? "twilio" : "native", upgrade);
      }
      return new Response("not found\n", { status: 404 });
    },
  }).catch((error) => {
    throw new RemoteMediaError(
      "invalid_argument",
      `serve: cannot listen on ${hostname}:${port}: ${(error as Error)?.message ?? error}`,
      { cause: error },
    );
  });

  const close = (): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      log(`draining ${connections.size} session(s)`);
      const open = [...connections];
      for (const c of open) c.requestClose("shutdown");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, drainTimeoutMs));
      await Promise.race([Promise.all(open.map((c) => c.ended)), timeout]);
      clearTimeout(timer);
      const late = [...connections];
      if (late.length > 0) {
        log(`aborting ${late.length} session(s) still running after ${drainTimeoutMs} ms`);
      }
      await Promise.all(late.map((c) => c.end("shutdown")));
      // Let the closing handshakes finish (at most a second): stopping the listener first would
      // close the sockets with the runtime's own reason (Deno: "Server shutting down").
      let handshakes: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(open.map((c) => c.socketGone)),
        new Promise<void>((resolve) => handshakes = setTimeout(resolve, 1000)),
      ]);
      clearTimeout(handshakes);
      await listener.stop();
      log("closed");
      closedResolve();
    })();
    return closing;
  };
  if (options.signal) {
    if (options.signal.aborted) void close();
    else options.signal.addEventListener("abort", () => void close(), { once: true });
  }

  const url = `http://${
    listener.hostname.includes(":") ? `[${listener.hostname}]` : listener.hostname
  }:${listener.port}`;
  return {
    url,
    port: listener.port,
    hostname: listener.hostname,
    get sessions(): number {
      return connections.size;
    },
    get draining(): boolean {
      return draining;
    },
    metrics: () =>
      metrics.render(
        [...connections].map((c) => c.stats()).filter((s) => s !== undefined),
        draining,
      ),
    close,
    closed,
    [Symbol.asyncDispose]: close,
  };
}

function serverSettings(options: ServeOptions): ConnectionSettings {
  if (options === null || typeof options !== "object") {
    throw new ArgumentError("serve: expected options with a manifest");
  }
  const issues = validateManifest(options.manifest);
  if (issues.length > 0) throw new ManifestError(issues);
  const bargeIn = options.bargeIn;
  const from = bargeIn?.from;
  return {
    manifest: options.manifest,
    session: options.session ?? {},
    maxQueuedFrames: positive("maxQueuedFrames", options.maxQueuedFrames ?? 50),
    maxBufferedBytes: positive("maxBufferedBytes", options.maxBufferedBytes ?? 1 << 20),
    maxMessageBytes: positive("maxMessageBytes", options.maxMessageBytes ?? 1 << 20),
    idleTimeoutMs: nonNegative("idleTimeoutMs", options.idleTimeoutMs ?? 30_000),
    bargeIn: bargeIn === undefined ? undefined : {
      event: bargeIn.event ?? "speech_start",
      from: from === undefined ? undefined : Array.isArray(from) ? from : [from],
    },
    serverName: options.name ?? `remotemedia-${processId()}`,
    metrics: new ServerMetrics(),
    log: options.log ?? (() => {}),
  };
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ArgumentError(`serve: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new ArgumentError(`serve: ${name} must be an integer ≥ 0, got ${value}`);
  }
  return value;
}
