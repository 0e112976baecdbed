/**
 * The body of `remotemedia serve`: starts {@link serve}, prints where it listens, and on SIGINT or
 * SIGTERM drains the open sessions and returns (a second signal exits at once). The CLI
 * (`cli/main.ts`) parses the flags and calls {@link serveUntilSignal}.
 *
 * @module
 */
import { onTerminationSignal } from "../../ffi/http.ts";
import { exit } from "../../ffi/runtime.ts";
import { serve, type ServeOptions } from "./server.ts";

/** Exit status after a second signal (128 + SIGINT). */
const FORCED_EXIT = 130;

/**
 * Serves until SIGINT/SIGTERM, then drains and resolves. `out` gets the `listening on <url>` line
 * (scripts read the port from it), `err` the diagnostics.
 */
export async function serveUntilSignal(
  options: Omit<ServeOptions, "signal" | "log">,
  out: (line: string) => void,
  err: (text: string) => void,
): Promise<void> {
  const controller = new AbortController();
  let signals = 0;
  const removeListener = onTerminationSignal((signal) => {
    if (++signals === 1) {
      err(`${signal}: draining, then exiting (send it again to exit now)\n`);
      controller.abort();
    } else {
      err(`${signal} again: exiting now\n`);
      exit(FORCED_EXIT);
    }
  });
  try {
    const server = await serve({
      ...options,
      signal: controller.signal,
      log: (line) => err(`${line}\n`),
    });
    const ws = server.url.replace(/^http/, "ws");
    const page = options.routes?.["/"] ? `, a page at ${server.url}/` : "";
    out(
      `listening on ${server.url} (native protocol ${ws}/, Twilio Media Streams ${ws}/twilio, ` +
        `${server.url}/healthz, ${server.url}/metrics${page})`,
    );
    await server.closed;
  } finally {
    removeListener();
  }
}
