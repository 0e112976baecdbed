// Errors cross the C ABI as data (code, node, issues, expected vs actual) and every error the API
// throws is a RemoteMediaError with a code: no RangeError/TypeError escapes, nothing is parsed from text.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ArgumentError,
  type Manifest,
  ManifestError,
  PipelineError,
  registerNode,
  RemoteMediaError,
  RuntimeData,
  Session,
} from "../mod.ts";
import { lastError, lib } from "../src/native.ts";

const PASS: Manifest = { version: 1, nodes: [{ id: "p", type: "PassThrough" }] };

function rejectsWith(code: string, run: () => unknown): RemoteMediaError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, "expected an error");
  assert.ok(
    caught instanceof RemoteMediaError,
    `expected a RemoteMediaError, got ${(caught as Error)?.constructor?.name}: ${caught}`,
  );
  assert.equal(caught.code, code, caught.message);
  return caught;
}

describe("errors as data", () => {
  test("an invalid manifest is a ManifestError built from the native issue list", () => {
    const error = rejectsWith("invalid_manifest", () =>
      Session.create({
        version: 1,
        nodes: [{ id: "g", type: "Gain", params: { gain: -1 } }, { id: "x", type: "Nope" }],
      }));
    assert.ok(error instanceof ManifestError);
    assert.equal(error.issues.length, 2, error.message);
    assert.match(error.issues[0].path, /"g"\.params\.gain/);
    assert.match(error.issues[1].message, /Nope/);
    assert.equal(error.cause, undefined, "the cause no longer repeats the message");
    assert.ok(error.message.includes(error.issues[0].message));
  });

  test("manifest text that is not JSON is one issue, not a parse error", () => {
    const error = rejectsWith("invalid_manifest", () => Session.create("{ nodes: "));
    assert.ok(error instanceof ManifestError);
    assert.equal(error.issues.length, 1);
    assert.match(error.issues[0].message, /not valid JSON/);
  });

  test("a native node failing to start is a PipelineError with its id and type", () => {
    const error = rejectsWith("node_failed", () =>
      Session.create({
        version: 1,
        nodes: [{ id: "mic", type: "WavReader", params: { path: "/nonexistent/in.wav" } }],
      }));
    assert.ok(error instanceof PipelineError);
    assert.equal(error.nodeId, "mic");
    assert.equal(error.nodeType, "WavReader");
    assert.match(error.message, /^node "mic" \(WavReader\) failed: .*nonexistent/);
  });

  test("the native record carries the code; status results are negated statuses", () => {
    const native = lib();
    assert.ok(native.symbols.rm_data_free(0) < 0);
    const error = lastError(native);
    assert.equal(error.code, "invalid_handle");
    assert.match(error.message, /null handle/);
  });
});

describe("every error the API throws is a RemoteMediaError with a code", () => {
  const cases: [string, () => unknown][] = [
    ["RuntimeData.text of a number", () => RuntimeData.text(1 as unknown as string)],
    ["RuntimeData.json of undefined", () => RuntimeData.json(undefined)],
    [
      "audio with 0 channels",
      () => RuntimeData.audio({ samples: new Float32Array(4), sampleRate: 16000, channels: 0 }),
    ],
    ["a manifest that is a number", () => Session.create(42 as unknown as string)],
    [
      "an unknown execution mode",
      () => Session.create(PASS, { execution: "fast" as unknown as "inline" }),
    ],
    ["a capacity of 0", () => Session.create(PASS, { inputCapacity: 0 })],
    ["pushing a string", () => {
      using s = Session.create(PASS);
      s.tryPush("x" as unknown as RuntimeData);
    }],
    ["interrupting an unknown node", () => {
      using s = Session.create(PASS);
      s.interrupt({ from: "nope" });
    }],
    ["the outputs of a node that is not a sink", () => {
      using s = Session.create({
        version: 1,
        nodes: [{ id: "a", type: "PassThrough" }, { id: "b", type: "PassThrough" }],
        connections: [{ from: "a", to: "b" }],
      });
      s.outputs("a");
    }],
    ["registering a bad type name", () => registerNode("1 bad", () => ({ process: (d) => d }))],
    [
      "registering a factory that is not a function",
      () => registerNode("NotAFactory", 5 as unknown as () => never),
    ],
    ["registering over a built-in", () => registerNode("Gain", () => ({ process: (d) => d }))],
  ];
  for (const [name, run] of cases) {
    test(name, () => {
      const error = rejectsWith("invalid_argument", run);
      assert.ok(error instanceof ArgumentError, `${error.name}: ${error.message}`);
    });
  }
});
