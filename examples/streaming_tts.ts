/**
 * A streaming TTS node: text in, audio chunks out as espeak-ng produces them (a real offline engine run
 * as a subprocess), feeding the native `Resample` and `WavWriter`.
 *
 * Needs espeak-ng (`apt-get install espeak-ng`, `brew install espeak-ng`).
 * Run: `deno run -A examples/streaming_tts.ts "Hello there" out.wav` or
 * `bun run examples/streaming_tts.ts "Hello there" out.wav`.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { type Node, PipelineBuilder, RuntimeData, Session } from "../mod.ts";
import { args as commandLine } from "../ffi/runtime.ts";

/** Why espeak-ng cannot be used here, or `undefined` when it can. */
export function espeakMissing(): string | undefined {
  const probe = spawnSync("espeak-ng", ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    return "espeak-ng is not installed: install it with `apt-get install espeak-ng` " +
      "(Debian/Ubuntu) or `brew install espeak-ng` (macOS)";
  }
  return undefined;
}

/** Text → 16-bit mono audio chunks, streamed from espeak-ng's stdout while it speaks. */
export class EspeakTtsNode implements Node {
  #voice: string;
  #rate: number;

  /** A node speaking with `voice` at `wordsPerMinute`. */
  constructor(voice = "en-us", wordsPerMinute = 160) {
    this.#voice = voice;
    this.#rate = wordsPerMinute;
  }

  /** Checks the engine once, before the first item. */
  initialize(): void {
    const missing = espeakMissing();
    if (missing) throw new Error(missing);
  }

  /** Yields audio as espeak-ng writes it: the WAV header first gives the rate, then PCM chunks. */
  async *process(data: RuntimeData): AsyncGenerator<RuntimeData> {
    const text = data.asText();
    const child = spawn("espeak-ng", ["--stdout", "-v", this.#voice, "-s", String(this.#rate)], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.on("error", () => {}); // a spawn failure surfaces as a non-zero exit code below
    child.stdin.on("error", () => {}); // EPIPE when the child is killed before it read everything
    child.stdin.end(text);
    let header: Uint8Array = new Uint8Array(0);
    let sampleRate = 0;
    let carry: number | undefined; // an odd byte waiting for its pair
    try {
      for await (const chunk of chunksOf(child.stdout)) {
        let bytes: Uint8Array = new Uint8Array(chunk);
        if (sampleRate === 0) {
          header = concat(header, bytes);
          if (header.length < 44) continue;
          sampleRate = new DataView(header.buffer, header.byteOffset).getUint32(24, true);
          bytes = header.subarray(44);
        }
        if (carry !== undefined) {
          bytes = concat(Uint8Array.of(carry), bytes);
          carry = undefined;
        }
        if (bytes.length % 2 === 1) {
          carry = bytes[bytes.length - 1];
          bytes = bytes.subarray(0, bytes.length - 1);
        }
        if (bytes.length === 0) continue;
        const out = RuntimeData.allocAudio({
          format: "i16",
          numSamples: bytes.length / 2,
          sampleRate,
        });
        new Uint8Array(out.writableAudio().samples.buffer).set(bytes); // one copy: pipe → native
        yield out;
      }
      const code: number = await new Promise((resolve) => {
        if (child.exitCode !== null) resolve(child.exitCode);
        else child.once("close", (c: number | null) => resolve(c ?? -1));
      });
      if (code !== 0) throw new Error(`espeak-ng exited with code ${code}`);
    } finally {
      if (child.exitCode === null) child.kill(); // aborted or interrupted: stop speaking
    }
  }
}

/** The part of a Node.js readable stream that {@link chunksOf} uses. */
interface ByteReadable {
  on(event: "data", listener: (chunk: Uint8Array) => void): unknown;
  on(event: "end" | "close", listener: () => void): unknown;
  on(event: "error", listener: (error: unknown) => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

/**
 * A pipe's chunks as an async iterable that can be left early without destroying the pipe: leaving a
 * `for await` over the stream itself destroys it with an `AbortError`, which Deno's `node:stream`
 * also reports as an unhandled rejection (observed with Deno 2.9 on interrupt). Here leaving just stops
 * reading; the caller then kills the child, which ends the pipe. At most a few chunks are buffered
 * (the pipe is paused while the consumer is behind).
 */
async function* chunksOf(stream: ByteReadable): AsyncGenerator<Uint8Array> {
  const queue: Uint8Array[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  stream.on("data", (chunk) => {
    queue.push(chunk);
    if (queue.length >= 4) stream.pause();
    notify();
  });
  stream.on("end", () => {
    ended = true;
    notify();
  });
  stream.on("close", () => {
    ended = true;
    notify();
  });
  stream.on("error", (error) => {
    failure ??= error;
    notify();
  });
  for (;;) {
    const chunk = queue.shift();
    if (chunk) {
      if (queue.length === 0) stream.resume();
      yield chunk;
      continue;
    }
    if (failure !== undefined) throw failure;
    if (ended) return;
    await new Promise<void>((resolve) => wake = resolve);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Speaks each text into one WAV at `sampleRate`; resolves with the WAV summary and the chunk count. */
export async function speakToWav(
  texts: string[],
  path: string,
  sampleRate = 16000,
): Promise<{ chunks: number; frames: number; durationSeconds: number }> {
  const manifest = new PipelineBuilder()
    .node("tts", new EspeakTtsNode(), { accepts: ["text"], outputs: ["audio"] })
    .node("resample", "Resample", { targetRate: sampleRate })
    .node("wav", "WavWriter", { path })
    .chain("tts", "resample", "wav")
    .build();
  await using session = Session.create(manifest);
  const reader = (async () => {
    let summary = { frames: 0, durationSeconds: 0 };
    for await (const out of session) {
      summary = out.asJson();
      out.dispose();
    }
    return summary;
  })();
  for (const text of texts) {
    using item = RuntimeData.text(text);
    await session.push(item);
  }
  session.close();
  const summary = await reader;
  const chunks = session.stats().nodes[0].itemsOut;
  return { chunks, frames: summary.frames, durationSeconds: summary.durationSeconds };
}

if (import.meta.main) {
  const missing = espeakMissing();
  if (missing) {
    console.error(missing);
  } else {
    const args = commandLine();
    const text = args[0] ?? "Hello from a streaming text to speech node.";
    const path = args[1] ?? "tts.wav";
    const r = await speakToWav([text], path);
    console.log(
      `${path}: ${r.durationSeconds.toFixed(2)} s at 16 kHz, from ${r.chunks} streamed chunks`,
    );
  }
}
