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
import { Pipeline, PipelineBuilder, wavFrames, wavStream } from "../mod.ts";

const pipeline = Pipeline.from(
  new PipelineBuilder()
    .node("mono", "ChannelMix", { mode: "mono" })
    .node("resample", "Resample", { targetRate: 16000 })
    .node("gain", "Gain", { gainDb: -3 })
    .chain("mono", "resample", "gain")
    .build(),
);

/** Handles one request. */
export function handler(request: Request): Response {
  if (request.method !== "POST" || !request.body) {
    return new Response("POST a WAV file\n", { status: 405 });
  }
  const { readable, writable } = pipeline.transform();
  // Request bytes → frames → pipeline; errors end the response stream.
  wavFrames(request).pipeTo(writable).catch(() => {});
  return new Response(wavStream(readable), { headers: { "content-type": "audio/wav" } });
}

/** A running server. */
export interface Server {
  /** The port it listens on (127.0.0.1). */
  port: number;
  /** Stops it. */
  close(): Promise<void>;
}

/** Serves `handler` on 127.0.0.1 (`port` 0 picks a free one) with the runtime's own HTTP server. */
export function serve(port = 0): Server {
  const bun = (globalThis as {
    Bun?: {
      serve(o: { port: number; hostname: string; fetch: typeof handler }): {
        port: number;
        stop(force?: boolean): Promise<void> | void;
      };
    };
  }).Bun;
  if (bun) {
    const server = bun.serve({ port, hostname: "127.0.0.1", fetch: handler });
    return { port: server.port, close: async () => void (await server.stop(true)) };
  }
  const server = Deno.serve({ port, hostname: "127.0.0.1", onListen: () => {} }, handler);
  return { port: server.addr.port, close: () => server.shutdown() };
}

if (import.meta.main) {
  const server = serve(8787);
  console.log(`POST a WAV to http://127.0.0.1:${server.port}/`);
}
