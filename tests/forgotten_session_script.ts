// Run by tests/reliability_cases.ts in a fresh process: a threaded session with a TypeScript node that
// is neither closed nor disposed must not keep the process alive.
import { PipelineBuilder, RuntimeData, Session } from "../mod.ts";

const manifest = new PipelineBuilder()
  .node("ts", { process: (d: RuntimeData) => d.clone() })
  .node("gain", "Gain", { gainDb: 0 })
  .chain("ts", "gain")
  .build();
for (let i = 0; i < 3; i++) {
  const session = Session.create(manifest, { execution: "threaded" });
  using frame = RuntimeData.audio({ samples: new Float32Array(160), sampleRate: 16000 });
  await session.push(frame);
  // forgotten: no close(), no dispose()
}
console.log("end of script");
