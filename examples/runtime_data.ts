/**
 * RuntimeData tour: text, JSON and audio values held natively, audio samples viewed without copying.
 *
 * Run: `deno run --allow-ffi --allow-read --allow-env examples/runtime_data.ts` or
 * `bun run examples/runtime_data.ts`.
 *
 * @module
 */
import { audioFromFloat32, audioToFloat32, RuntimeData } from "../mod.ts";

/** Builds a few values and prints what they hold. */
export function main(): string[] {
  const lines: string[] = [];
  using text = RuntimeData.text("hello from remotemedia");
  lines.push(`${text.dataType()}: ${text.asText()}`);

  using json = RuntimeData.json({ event: "speech_start", atMs: 120 });
  lines.push(`${json.dataType()}: ${JSON.stringify(json.asJson())}`);

  // 20 ms of a 440 Hz stereo sine at 48 kHz, interleaved L R L R …
  const frames = 960;
  const samples = new Float32Array(frames * 2);
  for (let i = 0; i < frames; i++) {
    const v = 0.5 * Math.sin((2 * Math.PI * 440 * i) / 48000);
    samples[2 * i] = v;
    samples[2 * i + 1] = -v;
  }
  using audio = audioFromFloat32(samples, 48000, 2, { streamId: "demo" });
  const view = audio.asAudio();
  const right = view.channel(1);
  lines.push(
    `${audio.dataType()}: ${view.numSamples} frames x ${view.channels} ch @ ${view.sampleRate} Hz ` +
      `(${(view.durationSeconds * 1000).toFixed(0)} ms, stream ${view.streamId}); ` +
      `peak L ${Math.max(...audioToFloat32(audio)).toFixed(3)}, first R ${right[1].toFixed(4)}`,
  );

  // Zero-copy input: allocate native audio and fill it in place.
  using frame = RuntimeData.allocAudio({ format: "i16", numSamples: 320, sampleRate: 16000 });
  frame.writableAudio().samples.fill(1000); // unshared: no copy
  lines.push(`filled in place: ${frame.asAudio().samples.length} i16 samples`);
  return lines;
}

if (import.meta.main) {
  for (const line of main()) console.log(line);
}
