/**
 * An HTTP endpoint that streams a processed WAV back: POST a WAV, get it back as 16 kHz mono at -3 dB,
 * streamed as it is processed (Web Streams end to end: request body → frames → pipeline → WAV bytes →
 * response body, with backpressure). Works with `Deno.serve` and `Bun.serve`.
 *
 * Run: `deno run -A examples/http_server.ts` or `bun run examples/http_server.ts`, then
 * `curl --data-binary @examples/data/speech.wav http://127.0.0.1:8787/ -o out.wav`.
 *
 * @module
 */
import { Pipeline, PipelineBuilder, type RuntimeData, wavFrames, wavStream } from "../mod.ts";
import { listen } from "../ffi/http.ts";

const pipeline = Pipeline.from(
  new PipelineBuilder()
    .node("mono", "ChannelMix", { mode: "mono" })
    .node("resample", "Resample", { targetRate: 16000 })
    .node("gain", "Gain", { gainDb: -3 })
    .chain("mono", "resample", "gain")
    .build(),
);

/**
 * Handles one request. The WAV header is read before answering, so a bad upload (not a WAV, an
 * encoding we cannot read, a truncated header) gets a 415 with the reason instead of an empty 200. An
 * error later in the stream (a truncated data chunk) errors the response body, which cuts the
 * connection: the client sees an incomplete response, and the server logs why. A client that goes
 * away cancels the response body, which aborts the session (no `request.signal` needed: in Deno it
 * also fires after a successful response).
 */
export async function handler(request: Request): Promise<Response> {
  if (request.method !== "POST" || !request.body) {
    return new Response("POST a WAV file\n", { status: 405 });
  }
  const frames = wavFrames(request).getReader();
  let first: ReadableStreamReadResult<RuntimeData>;
  try {
    first = await frames.read(); // parses the header (and the first frame)
  } catch (error) {
    return new Response(`cannot read this upload as WAV: ${(error as Error).message}\n`, {
      status: 415,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
  const source = new ReadableStream<RuntimeData>({
    start(controller): void {
      if (first.done) controller.close();
      else controller.enqueue(first.value);
    },
    async pull(controller): Promise<void> {
      const { value, done } = await frames.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => frames.cancel(reason),
  }, { highWaterMark: 0 });
  // An error of the source aborts the transform's session with that error, so the readable side
  // (the response body) errors with the same cause.
  const output = source.pipeThrough(pipeline.transform());
  return new Response(wavStream(logErrors(output)), { headers: { "content-type": "audio/wav" } });
}

/** Passes `stream` through, logging the error that ends it (if any) before it reaches the client. */
function logErrors(stream: ReadableStream<RuntimeData>): ReadableStream<RuntimeData> {
  const reader = stream.getReader();
  return new ReadableStream<RuntimeData>({
    async pull(controller): Promise<void> {
      try {
        const { value, done } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        console.error(`http_server: response stream failed: ${(error as Error).message}`);
        controller.error(error);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}

/** A running server. */
export interface Server {
  /** The port it listens on (127.0.0.1). */
  port: number;
  /** Stops it. */
  close(): Promise<void>;
}

/**
 * Serves `handler` on 127.0.0.1 (`port` 0 picks a free one) with the runtime's own HTTP server
 * (`Deno.serve` or `Bun.serve`, through the library's one HTTP adapter).
 */
export async function serve(port = 0): Promise<Server> {
  const server = await listen({
    hostname: "127.0.0.1",
    port,
    maxMessageBytes: 1 << 20,
    handle: (request) => handler(request),
  });
  return { port: server.port, close: () => server.stop() };
}

if (import.meta.main) {
  const server = await serve(8787);
  console.log(`POST a WAV to http://127.0.0.1:${server.port}/`);
}
