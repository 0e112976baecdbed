// Run by tests/examples.test.ts in fresh processes (Deno and Bun): 20 barge-ins on the streaming
// espeak-ng TTS node. Closing its generator must leave no unhandled rejection behind (Deno 2.9 used to
// die with `Uncaught (in promise) AbortError` from node:stream) and no live handle.
import { liveHandles, PipelineBuilder, RuntimeData, Session } from "../mod.ts";
import { EspeakTtsNode } from "../examples/streaming_tts.ts";

const session = Session.create(
  new PipelineBuilder().node("tts", new EspeakTtsNode()).build(),
  { outputCapacity: 1 },
);
const reader = (async () => {
  let outputs = 0;
  for await (const out of session) {
    out.dispose();
    outputs++;
    await new Promise((resolve) => setTimeout(resolve, 2)); // a slow listener: the TTS waits
  }
  return outputs;
})();
let dropped = 0;
for (let i = 0; i < 20; i++) {
  using text = RuntimeData.text(
    "This sentence is long enough that espeak is still speaking when it is interrupted.",
  );
  await session.push(text);
  await new Promise((resolve) => setTimeout(resolve, 20 + (i % 5) * 10));
  dropped += session.interrupt();
}
session.close();
const outputs = await reader;
await session.done;
session.dispose();
console.log(JSON.stringify({ outputs, dropped, liveHandles: liveHandles() }));
