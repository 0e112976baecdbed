/**
 * The HTTP + WebSocket listener of `serve()`: the one place that names `Deno.serve` and `Bun.serve`
 * (and the runtimes' signal APIs). Everything above it — routing, sessions, protocols — is the same
 * code in both runtimes and sees only {@link listen}'s small interface: a request handler that may
 * upgrade a request to a WebSocket with handlers, and a socket with `send`, `close` and the bytes it
 * still has to send. The runtimes differ: Deno upgrades with `Deno.upgradeWebSocket(request)` and
 * returns its response; Bun calls `server.upgrade(request)` and the handler returns nothing, with
 * the socket's events going to the `websocket` handlers given to `Bun.serve`.
 *
 * @module
 */
import { runtime } from "./runtime.ts";

/** One accepted WebSocket, as the server sees it. */
export interface WebSocketPeer {
  /** Sends a text (string) or binary (bytes) message; false when the socket is closed. */
  send(data: string | Uint8Array): boolean;
  /** Starts the closing handshake with `code` and `reason` (harmless when already closing). */
  close(code: number, reason: string): void;
  /** Bytes queued by `send` and not yet written to the network. */
  bufferedAmount(): number;
}

/** What happens on one WebSocket. */
export interface WebSocketHandlers {
  /** The socket is open: messages can be sent. */
  open(peer: WebSocketPeer): void;
  /** A message arrived: text as a string, binary as bytes (valid during the call only). */
  message(peer: WebSocketPeer, data: string | Uint8Array): void;
  /** The socket closed (`code` 1006 when the connection was lost without a closing handshake). */
  close(peer: WebSocketPeer, code: number, reason: string): void;
}

/** Upgrades the request being handled to a WebSocket; return its result from the handler. */
export type Upgrade = (handlers: WebSocketHandlers) => UpgradeResult;

/** The result of an upgrade: return it from the request handler as it is. */
export type UpgradeResult = Response | undefined;

/** Options of {@link listen}. */
export interface ListenOptions {
  /** Interface to listen on. */
  hostname: string;
  /** Port (0: any free port). */
  port: number;
  /** Largest message the runtime accepts before closing the socket itself (Bun), in bytes. */
  maxMessageBytes: number;
  /** Handles a request; `upgrade` turns it into a WebSocket (a `GET` with `Upgrade: websocket`). */
  handle(request: Request, upgrade: Upgrade): UpgradeResult | Promise<UpgradeResult>;
}

/** A listening server. */
export interface HttpListener {
  /** The interface it listens on. */
  readonly hostname: string;
  /** The port it listens on (the one picked when 0 was asked). */
  readonly port: number;
  /** Stops listening and closes the remaining connections. */
  stop(): Promise<void>;
}

interface DenoSocket {
  binaryType: string;
  bufferedAmount: number;
  readyState: number;
  onopen: (() => void) | null;
  onmessage: ((event: { data: string | ArrayBuffer }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: (() => void) | null;
  send(data: string | Uint8Array): void;
  close(code: number, reason: string): void;
}

interface DenoServe {
  serve(
    options: { hostname: string; port: number; onListen(): void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { addr: { hostname: string; port: number }; shutdown(): Promise<void> };
  upgradeWebSocket(request: Request): { socket: DenoSocket; response: Response };
}

interface BunSocket {
  data: { handlers: WebSocketHandlers; peer?: WebSocketPeer };
  readyState: number;
  send(data: string | Uint8Array): number;
  close(code: number, reason: string): void;
  getBufferedAmount(): number;
}

interface BunServer {
  hostname: string;
  port: number;
  upgrade(request: Request, options: { data: BunSocket["data"] }): boolean;
  stop(closeActiveConnections?: boolean): Promise<void>;
}

interface BunServe {
  serve(options: {
    hostname: string;
    port: number;
    fetch(request: Request, server: BunServer): Promise<Response | undefined>;
    websocket: {
      maxPayloadLength: number;
      backpressureLimit: number;
      open(ws: BunSocket): void;
      message(ws: BunSocket, data: string | Uint8Array): void;
      close(ws: BunSocket, code: number, reason: string): void;
    };
  }): BunServer;
}

const OPEN = 1;

/** Starts listening; resolves once the port is bound, rejects when it cannot be (a taken port). */
export async function listen(options: ListenOptions): Promise<HttpListener> {
  return await (runtime === "bun" ? listenBun(options) : listenDeno(options));
}

function listenDeno(options: ListenOptions): Promise<HttpListener> {
  const deno = (globalThis as unknown as { Deno: DenoServe }).Deno;
  return new Promise((resolve) => {
    const server = deno.serve(
      { hostname: options.hostname, port: options.port, onListen: () => {} },
      async (request) => {
        const upgrade: Upgrade = (handlers) => {
          const { socket, response } = deno.upgradeWebSocket(request);
          socket.binaryType = "arraybuffer";
          const peer: WebSocketPeer = {
            send(data): boolean {
              if (socket.readyState !== OPEN) return false;
              socket.send(data);
              return true;
            },
            close(code, reason): void {
              if (socket.readyState <= OPEN) socket.close(code, reason);
            },
            bufferedAmount: () => socket.bufferedAmount,
          };
          socket.onopen = () => handlers.open(peer);
          socket.onmessage = (event) =>
            handlers.message(
              peer,
              typeof event.data === "string" ? event.data : new Uint8Array(event.data),
            );
          socket.onclose = (event) => handlers.close(peer, event.code, event.reason);
          socket.onerror = () => {}; // a close event follows
          return response;
        };
        return await options.handle(request, upgrade) ??
          new Response("upgrade failed\n", { status: 500 });
      },
    );
    resolve({
      hostname: server.addr.hostname,
      port: server.addr.port,
      stop: () => server.shutdown(),
    });
  });
}

function listenBun(options: ListenOptions): Promise<HttpListener> {
  const bun = (globalThis as unknown as { Bun: BunServe }).Bun;
  const peerOf = (ws: BunSocket): WebSocketPeer =>
    ws.data.peer ??= {
      send: (data) => ws.readyState === OPEN && ws.send(data) !== 0, // -1: queued (backpressure), 0: dropped
      close(code, reason): void {
        if (ws.readyState <= OPEN) ws.close(code, reason);
      },
      bufferedAmount: () => ws.getBufferedAmount(),
    };
  const server = bun.serve({
    hostname: options.hostname,
    port: options.port,
    async fetch(request, server): Promise<Response | undefined> {
      const upgrade: Upgrade = (handlers) =>
        server.upgrade(request, { data: { handlers } })
          ? undefined
          : new Response("expected a WebSocket upgrade\n", { status: 400 });
      return await options.handle(request, upgrade);
    },
    websocket: {
      maxPayloadLength: options.maxMessageBytes,
      // The server waits while a socket has more than its own bound queued (see serve()); Bun's
      // limit, past which send() drops silently, must never be reached before that.
      backpressureLimit: 0,
      open: (ws) => ws.data.handlers.open(peerOf(ws)),
      message: (ws, data) => ws.data.handlers.message(peerOf(ws), data),
      close: (ws, code, reason) => ws.data.handlers.close(peerOf(ws), code, reason),
    },
  });
  return Promise.resolve({
    hostname: server.hostname,
    port: server.port,
    stop: () => server.stop(true),
  });
}

/** The signals that ask a server to drain and exit. */
export type TerminationSignal = "SIGINT" | "SIGTERM";

/**
 * Calls `listener` on SIGINT and SIGTERM (instead of the default exit); returns a function that
 * removes it. Not on Windows (only SIGINT there; unsupported here).
 */
export function onTerminationSignal(listener: (signal: TerminationSignal) => void): () => void {
  const signals: TerminationSignal[] = ["SIGINT", "SIGTERM"];
  const handlers = signals.map((signal) => [signal, () => listener(signal)] as const);
  if (runtime === "deno") {
    const deno = (globalThis as unknown as {
      Deno: {
        addSignalListener(s: string, f: () => void): void;
        removeSignalListener(s: string, f: () => void): void;
      };
    }).Deno;
    for (const [signal, handler] of handlers) deno.addSignalListener(signal, handler);
    return () => {
      for (const [signal, handler] of handlers) deno.removeSignalListener(signal, handler);
    };
  }
  const process = (globalThis as unknown as {
    process: { on(s: string, f: () => void): void; off(s: string, f: () => void): void };
  }).process;
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

/** This process's id. */
export function processId(): number {
  const g = globalThis as { process?: { pid?: number }; Deno?: { pid?: number } };
  return runtime === "deno" ? g.Deno?.pid ?? 0 : g.process?.pid ?? 0;
}
