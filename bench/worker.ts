/**
 * Benchmark worker: resamples `frames` 20 ms frames of 48 kHz audio to 16 kHz in its own session.
 *
 * @module
 */
import { RuntimeData, Session } from "../mod.ts";

const scope = globalThis as unknown as {
  onmessage: ((e: { data: { frames: number } }) => void) | null;
  postMessage(value: unknown): void;
};

scope.onmessage = (e: { data: { frames: number } }): void => {
  const session = Session.create({
    version: 1,
    nodes: [{ id: "r", type: "Resample", params: { targetRate: 16000, quality: "high" } }],
  });
  const samples = Float32Array.from({ length: 960 }, (_, i) => Math.sin(i / 7) * 0.4);
  using frame = RuntimeData.audio({ samples, sampleRate: 48000 });
  for (let i = 0; i < e.data.frames; i++) {
    session.tryPush(frame);
    for (let out = session.poll(); out; out = session.poll()) out.dispose();
  }
  session.dispose();
  scope.postMessage("done");
};
