// A Worker that streams through a threaded session (native + TS nodes) until it is terminated, for the
// reliability row "worker.terminate() in the middle of a stream" (tests/reliability_cases.ts).
import { PipelineBuilder, RuntimeData, Session } from "../mod.ts";

const scope = globalThis as unknown as { postMessage(value: unknown): void };
const session = Session.create(
  new PipelineBuilder()
    .node("gain", "Gain", { gainDb: -6 })
    .node("ts", { process: (d: RuntimeData) => d.clone() })
    .chain("gain", "ts")
    .build(),
  { execution: "threaded" },
);
const held = RuntimeData.text("held by the worker when it is terminated");
let outputs = 0;
(async () => {
  for await (const out of session) {
    out.dispose();
    if (++outputs === 10) scope.postMessage({ streaming: true, held: held.isText() });
  }
})();
for (let i = 0;; i++) {
  using frame = RuntimeData.audio({ samples: new Float32Array(320).fill(0.1), sampleRate: 16000 });
  await session.push(frame);
}
