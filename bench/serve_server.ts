/**
 * The server side of the sessions-per-core benchmark (`bench/serve.ts` starts it in Deno or Bun):
 * `serve()` with the manifest it is given (the voice front end), one session per WebSocket. Argument:
 * JSON `{ manifest, execution, workers? }` (workers: the worker pool size). Prints `listening on
 * <url>`; stops on SIGTERM / SIGINT.
 *
 * @module
 */
import process from "node:process";
import { type Manifest, serve, setWorkerThreads, workerThreads } from "../mod.ts";
import { onTerminationSignal } from "../ffi/http.ts";

const options = JSON.parse(process.argv[2] ?? "{}") as {
  manifest: Manifest;
  execution?: "inline" | "threaded";
  workers?: number;
};
if (options.workers !== undefined) setWorkerThreads(options.workers);
const manifest = options.manifest;
const controller = new AbortController();
const server = await serve({
  manifest,
  port: 0,
  maxSessions: 100_000,
  idleTimeoutMs: 0,
  drainTimeoutMs: 1000,
  session: { execution: options.execution ?? "inline" },
  signal: controller.signal,
});
onTerminationSignal(() => controller.abort());
console.log(
  `listening on ${server.url} (execution ${options.execution ?? "inline"}, pool ${
    JSON.stringify(workerThreads())
  })`,
);
await server.closed;
process.exit(0);
