import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  audioFromFloat32,
  audioToFloat32,
  deinterleave,
  interleave,
  RuntimeData,
  ShapeError,
  toFloat32,
  toInt16,
} from "../mod.ts";

describe("audio helpers", () => {
  test("audioFromFloat32 makes f32 audio with the given layout", () => {
    using data = audioFromFloat32(new Float32Array([0.1, 0.2, 0.3, 0.4]), 16000, 2);
    const audio = data.asAudio();
    assert.equal(audio.format, "f32");
    assert.equal(audio.channels, 2);
    assert.equal(audio.numSamples, 2);
    assert.equal(audio.durationSeconds, 2 / 16000);
  });

  test("audioFromFloat32 rejects other arrays and bad shapes", () => {
    assert.throws(
      () => audioFromFloat32(new Int16Array(2) as unknown as Float32Array, 8000),
      /expects a Float32Array, got Int16Array/,
    );
    assert.throws(() => audioFromFloat32(new Float32Array(5), 8000, 2), ShapeError);
  });

  test("audioToFloat32 returns the f32 view itself and scales integers into [-1, 1]", () => {
    using f = audioFromFloat32(new Float32Array([0.5]), 8000);
    assert.equal(audioToFloat32(f).buffer, f.asAudio().samples.buffer);
    using i16 = RuntimeData.audio({
      samples: new Int16Array([-32768, 16384, 32767]),
      sampleRate: 8000,
    });
    const a = audioToFloat32(i16);
    assert.equal(a[0], -1);
    assert.equal(a[1], 0.5);
    assert.ok(a[2] < 1 && a[2] > 0.9999);
    using i32 = RuntimeData.audio({
      samples: new Int32Array([-(2 ** 31), 2 ** 30]),
      sampleRate: 8000,
    });
    assert.deepEqual([...audioToFloat32(i32)], [-1, 0.5]);
  });

  test("channel(i) and deinterleave() split interleaved audio", () => {
    using data = RuntimeData.audio({
      samples: new Int16Array([1, 10, 2, 20, 3, 30]),
      sampleRate: 8000,
      channels: 2,
    });
    const audio = data.asAudio();
    assert.deepEqual([...audio.channel(0)], [1, 2, 3]);
    assert.deepEqual([...audio.channel(1)], [10, 20, 30]);
    assert.ok(audio.channel(1) instanceof Int16Array);
    assert.deepEqual(audio.deinterleave().map((c) => [...c]), [[1, 2, 3], [10, 20, 30]]);
    assert.throws(() => audio.channel(2), /channel index 2 is out of range for 2-channel audio/);
  });

  test("interleave and deinterleave are inverse", () => {
    const left = new Float32Array([1, 2, 3]);
    const right = new Float32Array([4, 5, 6]);
    const mixed = interleave([left, right]);
    assert.deepEqual([...mixed], [1, 4, 2, 5, 3, 6]);
    const [l, r] = deinterleave(mixed, 2);
    assert.deepEqual([...l], [1, 2, 3]);
    assert.deepEqual([...r], [4, 5, 6]);
  });

  test("interleave and deinterleave report shape errors", () => {
    assert.throws(() => interleave([]), /at least one channel/);
    assert.throws(
      () => interleave([new Float32Array(2), new Float32Array(3)]),
      /channel 1 has 3 samples, channel 0 has 2/,
    );
    assert.throws(
      () => interleave([new Float32Array(2), new Int16Array(2)] as Float32Array[]),
      /channel 1 is i16, channel 0 is f32/,
    );
    assert.throws(() => deinterleave(new Float32Array(5), 2), /5 samples is not a multiple of 2/);
    assert.throws(
      () => deinterleave(new Float32Array(4), 0),
      /channels must be an integer ≥ 1, got 0/,
    );
  });

  test("toInt16 clips and rounds, and inverts toFloat32 exactly", () => {
    assert.deepEqual([...toInt16(new Float32Array([2, -2, 0.5, 0]))], [32767, -32768, 16384, 0]);
    const all = new Int16Array(65536).map((_, i) => i - 32768);
    assert.deepEqual(toInt16(toFloat32(all)), all);
  });
});
