import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ArgumentError,
  AudioView,
  DataTypeError,
  DisposedError,
  liveHandles,
  liveViews,
  RemoteMediaError,
  RuntimeData,
  ShapeError,
} from "../mod.ts";
import { lib } from "../src/native.ts";
import { collectUntil, rss } from "./helpers.ts";

describe("RuntimeData constructors and accessors", () => {
  test("text round-trips UTF-8 and reports its type", () => {
    using data = RuntimeData.text("héllo 🌍");
    assert.equal(data.dataType(), "text");
    assert.equal(data.isText(), true);
    assert.equal(data.isAudio(), false);
    assert.equal(data.asText(), "héllo 🌍");
  });

  test("empty text is valid", () => {
    using data = RuntimeData.text("");
    assert.equal(data.asText(), "");
  });

  test("json round-trips nested values", () => {
    const value = { a: [1, 2.5, null], b: { c: "d" }, e: true };
    using data = RuntimeData.json(value);
    assert.equal(data.dataType(), "json");
    assert.equal(data.isJson(), true);
    assert.deepEqual(data.asJson(), value);
  });

  test("json text that does not parse names line and column", () => {
    assert.throws(() => RuntimeData.jsonText('{"a": }'), (e: unknown) => {
      assert.ok(e instanceof RemoteMediaError);
      assert.equal(e.code, "invalid_json");
      assert.match(e.message, /invalid JSON in json payload: .*line 1 column 7/);
      return true;
    });
  });

  test("json of a non-serialisable value is an ArgumentError (invalid_argument)", () => {
    assert.throws(() => RuntimeData.json(undefined), (e: unknown) => {
      assert.ok(e instanceof ArgumentError);
      assert.equal(e.code, "invalid_argument");
      assert.match(e.message, /not JSON-serialisable/);
      return true;
    });
  });

  test("binary copies the input once and exposes a view", () => {
    const input = new Uint8Array([1, 2, 3, 255]);
    using data = RuntimeData.binary(input);
    input[0] = 9; // the native copy is independent of the caller's array
    assert.equal(data.dataType(), "binary");
    assert.deepEqual([...data.asBinary()], [1, 2, 3, 255]);
  });

  test("audio keeps format, rate, channels and frame count for every sample format", () => {
    const cases = [
      new Float32Array([0.5, -0.5, 0.25, -0.25]),
      new Int16Array([100, -100, 200, -200]),
      new Int32Array([1 << 20, -(1 << 20), 7, -7]),
    ];
    for (const samples of cases) {
      using data = RuntimeData.audio({ samples, sampleRate: 48000, channels: 2 });
      const audio = data.asAudio();
      assert.ok(audio instanceof AudioView);
      assert.equal(audio.sampleRate, 48000);
      assert.equal(audio.channels, 2);
      assert.equal(audio.numSamples, 2);
      assert.equal(audio.samples.constructor, samples.constructor);
      assert.deepEqual([...audio.samples], [...samples]);
    }
  });

  test("audio from raw bytes needs and uses the format", () => {
    const samples = new Int16Array([1, 2, 3]);
    using data = RuntimeData.audio({
      samples: new Uint8Array(samples.buffer),
      format: "i16",
      sampleRate: 8000,
    });
    assert.deepEqual([...data.asAudio().samples], [1, 2, 3]);
    assert.throws(
      () => RuntimeData.audio({ samples: new Uint8Array(4), sampleRate: 8000 }),
      /format is required when samples are raw bytes/,
    );
    assert.throws(
      () => RuntimeData.audio({ samples: new Uint8Array(3), format: "i16", sampleRate: 8000 }),
      (e: unknown) => e instanceof ShapeError && /multiple of 2 bytes, got 3/.test(e.message),
    );
  });

  test("audio carries timestamp, stream id and metadata", () => {
    using data = RuntimeData.audio({
      samples: new Float32Array(4),
      sampleRate: 16000,
      timestampUs: 20_000,
      streamId: "mic-1",
      metadata: { lang: "en" },
    });
    const audio = data.asAudio();
    assert.equal(audio.timestampUs, 20_000);
    assert.equal(audio.streamId, "mic-1");
    assert.deepEqual(audio.metadata, { lang: "en" });
    assert.deepEqual(data.attributes(), {
      timestampUs: 20_000,
      streamId: "mic-1",
      metadata: { lang: "en" },
    });
  });

  test("video checks the byte count against the pixel format", () => {
    using data = RuntimeData.video({
      width: 2,
      height: 2,
      format: "rgb24",
      pixels: new Uint8Array(12).fill(7),
      timestampUs: 33_333,
    });
    const video = data.asVideo();
    assert.equal(video.width, 2);
    assert.equal(video.format, "rgb24");
    assert.equal(video.pixels.length, 12);
    assert.equal(video.timestampUs, 33_333);
    assert.throws(
      () => RuntimeData.video({ width: 2, height: 2, format: "rgba", pixels: new Uint8Array(12) }),
      (e: unknown) =>
        e instanceof ShapeError && /rgba frame 2x2 needs 16 bytes, got 12/.test(e.message),
    );
  });

  test("i420 frames need Y plus quarter-size U and V planes", () => {
    using data = RuntimeData.video({
      width: 4,
      height: 2,
      format: "i420",
      pixels: new Uint8Array(8 + 2 + 2),
    });
    assert.equal(data.asVideo().pixels.length, 12);
  });

  test("tensor keeps shape and dtype and rejects a mismatched shape", () => {
    using data = RuntimeData.tensor({ shape: [2, 3], data: new Int32Array([1, 2, 3, 4, 5, 6]) });
    const tensor = data.asTensor();
    assert.deepEqual(tensor.shape, [2, 3]);
    assert.equal(tensor.dtype, "i32");
    assert.deepEqual([...tensor.data], [1, 2, 3, 4, 5, 6]);
    assert.throws(
      () => RuntimeData.tensor({ shape: [2, 2], data: new Float32Array(5) }),
      (e: unknown) =>
        e instanceof ShapeError && /needs 16 bytes \(4 elements\), got 20/.test(e.message),
    );
    assert.throws(
      () => RuntimeData.tensor({ shape: [1.5], data: new Uint8Array(1) }),
      /shape\[0\] must be an integer/,
    );
  });

  test("clone is a deep copy that compares equal", () => {
    using a = RuntimeData.json({ x: 1 });
    using b = a.clone();
    assert.ok(a.equals(b));
    using c = RuntimeData.json({ x: 2 });
    assert.ok(!a.equals(c));
  });
});

describe("RuntimeData errors", () => {
  test("asX on the wrong type throws a DataTypeError naming expected and actual", () => {
    using data = RuntimeData.text("hi");
    for (
      const [call, expected] of [
        [() => data.asAudio(), "audio"],
        [() => data.asJson(), "json"],
        [() => data.asBinary(), "binary"],
        [() => data.asVideo(), "video"],
        [() => data.asTensor(), "tensor"],
      ] as const
    ) {
      assert.throws(call, (e: unknown) => {
        assert.ok(e instanceof DataTypeError);
        assert.equal(e.expected, expected);
        assert.equal(e.actual, "text");
        assert.match(e.message, new RegExp(`expected ${expected} data, got text`));
        return true;
      });
    }
    using audio = RuntimeData.audio({ samples: new Float32Array(1), sampleRate: 1 });
    assert.throws(() => audio.asText(), /asText\(\): expected text data, got audio/);
  });

  test("audio shape errors are clear", () => {
    assert.throws(
      () => RuntimeData.audio({ samples: new Float32Array(3), sampleRate: 48000, channels: 2 }),
      (e: unknown) =>
        e instanceof ShapeError && e.message.includes("3 samples is not a multiple of 2 channels"),
    );
    assert.throws(
      () => RuntimeData.audio({ samples: new Float32Array(2), sampleRate: 48000, channels: 0 }),
      /channels must be an integer between 1 and 65535, got 0/,
    );
    assert.throws(
      () => RuntimeData.audio({ samples: new Float32Array(2), sampleRate: 0 }),
      /sampleRate must be an integer between 1 and 4294967295, got 0/,
    );
    assert.throws(
      () => RuntimeData.audio({ samples: new Float32Array(2), sampleRate: 44100.5 }),
      /sampleRate must be an integer/,
    );
    assert.throws(
      () =>
        RuntimeData.audio({
          samples: new Float64Array(2) as unknown as Float32Array,
          sampleRate: 8000,
        }),
      /samples must be a Float32Array, Int16Array or Int32Array, got Float64Array/,
    );
    assert.throws(
      () => RuntimeData.audio({ samples: new Int16Array(2), sampleRate: 8000, format: "f32" }),
      /format "f32" does not match samples of type Int16Array/,
    );
  });

  test("bad attributes are rejected with the field name", () => {
    assert.throws(
      () => RuntimeData.text("x", { timestampUs: 1.5 }),
      /timestampUs must be an integer/,
    );
    assert.throws(
      () => RuntimeData.text("x", { streamId: 3 as unknown as string }),
      /streamId must be a string, got number/,
    );
  });
});

describe("zero copy and memory safety", () => {
  test("audio samples are a view over the native buffer (same address)", () => {
    using data = RuntimeData.allocAudio({ format: "f32", numSamples: 960, sampleRate: 48000 });
    const native = lib();
    const samples = data.asAudio().samples;
    const nativeAddress = native.address(native.symbols.rm_data_ptr(data.handle()));
    assert.notEqual(nativeAddress, 0n);
    assert.equal(native.addressOfView(samples), nativeAddress);
  });

  test("a write through the view is seen by native code", () => {
    using data = RuntimeData.allocAudio({
      format: "i16",
      numSamples: 4,
      sampleRate: 16000,
      channels: 2,
    });
    data.asAudio().samples.set([1, 2, 3, 4, 5, 6, 7, 8]);
    using copy = data.clone(); // a native deep copy reads the native buffer
    assert.deepEqual([...copy.asAudio().samples], [1, 2, 3, 4, 5, 6, 7, 8]);
    using expected = RuntimeData.audio({
      samples: new Int16Array([1, 2, 3, 4, 5, 6, 7, 8]),
      sampleRate: 16000,
      channels: 2,
    });
    assert.ok(data.equals(expected));
  });

  test("binary payloads are views too", () => {
    using data = RuntimeData.allocBinary(16);
    const bytes = data.asBinary();
    bytes.fill(0xab);
    const native = lib();
    assert.equal(
      native.addressOfView(bytes),
      native.address(native.symbols.rm_data_ptr(data.handle())),
    );
    using copy = data.clone();
    assert.equal(copy.asBinary()[15], 0xab);
  });

  test("two views of one value share memory", () => {
    using data = RuntimeData.audio({ samples: new Float32Array(8), sampleRate: 8000 });
    const a = data.writableAudio().samples;
    const b = data.asAudio().samples;
    a[3] = 0.75;
    assert.equal(b[3], 0.75);
  });

  test("after dispose every accessor throws and old views are detached", () => {
    const data = RuntimeData.audio({ samples: new Float32Array([1, 2, 3]), sampleRate: 8000 });
    const samples = data.asAudio().samples;
    assert.equal(samples.length, 3);
    data.dispose();
    assert.equal(data.disposed, true);
    assert.equal(samples.length, 0); // detached: it can no longer reach freed memory
    assert.equal(samples[0], undefined);
    for (const call of [() => data.asAudio(), () => data.dataType(), () => data.clone()]) {
      assert.throws(
        call,
        (e: unknown) => e instanceof DisposedError && /already disposed/.test(e.message),
      );
    }
    data.dispose(); // idempotent
    assert.equal(String(data), "RuntimeData(disposed)");
  });

  test("`using` frees at scope end", () => {
    const before = liveHandles();
    {
      using _a = RuntimeData.text("a");
      using _b = RuntimeData.binary(new Uint8Array(10));
      assert.equal(liveHandles(), before + 2);
    }
    assert.equal(liveHandles(), before);
  });

  test("garbage collection frees values that were never disposed", async () => {
    const before = liveHandles();
    (() => {
      for (let i = 0; i < 1000; i++) RuntimeData.text(`leak ${i}`);
    })();
    assert.ok(liveHandles() >= before + 1000);
    assert.ok(await collectUntil(() => liveHandles() <= before), "GC backstop freed the handles");
  });

  test("a view outliving its RuntimeData keeps the memory alive until the view is collected", async () => {
    const before = liveHandles();
    const viewsBefore = liveViews();
    // Held through an object property, not a local: JavaScriptCore scans the stack conservatively.
    const holder: { samples?: Float32Array } = {};
    (() => {
      const data = RuntimeData.audio({ samples: new Float32Array([0.5, 0.25]), sampleRate: 8000 });
      holder.samples = data.asAudio().samples as Float32Array;
    })();
    assert.ok(await collectUntil(() => liveHandles() === before), "the wrapper and its handle go");
    assert.equal(liveViews(), viewsBefore + 1, "the view keeps its own reference to the payload");
    assert.deepEqual([...holder.samples!], [0.5, 0.25]);
    delete holder.samples;
    assert.ok(await collectUntil(() => liveViews() === viewsBefore), "freed once the view is gone");
  });

  test("a transferred view keeps its samples after dispose, while other frames come and go", async () => {
    const viewsBefore = liveViews();
    const holder: { moved?: ArrayBuffer } = {};
    (() => {
      const data = RuntimeData.audio({ samples: new Float32Array([0.5, -0.5]), sampleRate: 8000 });
      holder.moved = (data.asAudio().samples.buffer as ArrayBuffer).transfer();
      data.dispose();
    })();
    for (let i = 0; i < 1000; i++) {
      using other = RuntimeData.audio({ samples: new Float32Array([9, 9]), sampleRate: 8000 });
      other.asAudio().samples.fill(7);
    }
    await collectUntil(() => false, 50);
    assert.deepEqual([...new Float32Array(holder.moved!)], [0.5, -0.5]);
    delete holder.moved;
    assert.ok(
      await collectUntil(() => liveViews() === viewsBefore),
      "released with the moved buffer",
    );
  });

  test("1,000,000 create/dispose cycles do not grow RSS beyond a few MB", () => {
    const samples = new Float32Array(960);
    const warm = () => {
      for (let i = 0; i < 20_000; i++) {
        const d = RuntimeData.audio({ samples, sampleRate: 48000 });
        d.asAudio();
        d.dispose();
      }
    };
    warm();
    const before = rss();
    const handlesBefore = liveHandles();
    for (let i = 0; i < 50; i++) warm();
    const growth = rss() - before;
    assert.equal(liveHandles(), handlesBefore);
    assert.ok(growth < 16 * 1024 * 1024, `RSS grew by ${(growth / 1048576).toFixed(1)} MB`);
  });
});
