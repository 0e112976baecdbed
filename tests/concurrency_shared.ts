// Shared by tests/concurrency.test.ts and its worker: one pipeline, one input generator, one digest.
import { PipelineBuilder, RuntimeData, Session } from "../mod.ts";

export const manifest = new PipelineBuilder()
  .node("gain", "Gain", { gain: 0.8 })
  .node("res", "Resample", { targetRate: 16000 })
  .node("chunk", "Chunker", { frameMs: 10 })
  .node("level", "AudioLevel", { passAudio: true })
  .chain("gain", "res", "chunk", "level")
  .build();

export function input(seed: number, frames = 40): Float32Array[] {
  return Array.from(
    { length: frames },
    (_, f) =>
      Float32Array.from({ length: 960 }, (_, i) => Math.sin((f * 960 + i) / (7 + seed)) * 0.5),
  );
}

/** Runs one session over `frames` and returns a digest of every output, in order. */
export async function digest(
  frames: Float32Array[],
  execution: "inline" | "threaded",
): Promise<string> {
  await using session = Session.create(manifest, { execution });
  const parts: string[] = [];
  const reader = (async () => {
    for await (const out of session) {
      if (out.isAudio()) {
        const s = out.asAudio().samples;
        let h = 0;
        for (let i = 0; i < s.length; i++) h = (h * 31 + Math.round(s[i] * 1e6)) | 0;
        parts.push(`a${s.length}:${h}`);
      } else {
        parts.push(JSON.stringify(out.asJson()));
      }
      out.dispose();
    }
  })();
  for (const f of frames) {
    using d = RuntimeData.audio({ samples: f, sampleRate: 48000 });
    await session.push(d);
  }
  session.close();
  await reader;
  return parts.join("|");
}
