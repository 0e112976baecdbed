import { test } from "node:test";
import assert from "node:assert/strict";
import { PipelineError, RuntimeData, Session } from "../mod.ts";
import { digest, input, manifest } from "./concurrency_shared.ts";

test("many sessions at once give the same outputs as running them one by one", async () => {
  const inputs = Array.from({ length: 8 }, (_, i) => input(i));
  const serial: string[] = [];
  for (let i = 0; i < inputs.length; i++) {
    serial.push(await digest(inputs[i], i % 2 ? "threaded" : "inline"));
  }
  const concurrent = await Promise.all(
    inputs.map((frames, i) => digest(frames, i % 2 ? "threaded" : "inline")),
  );
  assert.deepEqual(concurrent, serial);
  assert.equal(new Set(serial).size, inputs.length, "different inputs, different outputs");
});

test("one session's node error does not disturb the others", async () => {
  const good = input(1);
  const expected = await digest(good, "inline");
  const failing = (async () => {
    await using s = Session.create(manifest);
    using bad = RuntimeData.audio({ samples: new Float32Array(8), sampleRate: 500 }); // Resample refuses it
    await s.push(bad);
  })();
  const [ok, failed] = await Promise.allSettled([digest(good, "threaded"), failing]);
  assert.equal(ok.status, "fulfilled");
  assert.equal((ok as PromiseFulfilledResult<string>).value, expected);
  assert.equal(failed.status, "rejected");
  assert.ok((failed as PromiseRejectedResult).reason instanceof PipelineError);
});

test("sessions on Worker threads give the same outputs as on the main thread", async () => {
  const seeds = [2, 3];
  const expected = await Promise.all(seeds.map((s) => digest(input(s), "inline")));
  const url = new URL("./concurrency_worker.ts", import.meta.url).href;
  const results = await Promise.all(seeds.map((seed) =>
    new Promise<string>((resolve, reject) => {
      const worker = new Worker(url, { type: "module" });
      worker.onmessage = (e: MessageEvent<string>) => {
        worker.terminate();
        resolve(e.data);
      };
      worker.onerror = (e) => {
        worker.terminate();
        reject(e);
      };
      worker.postMessage(seed);
    })
  ));
  assert.deepEqual(results, expected);
});
