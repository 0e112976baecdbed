/**
 * Rows of the reliability table (see tests/reliability_cases.ts) for WAV parsing (WavReader and wavFrames share one parser).
 * Also the WAV builders and readers the stream tests use.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Manifest, type RuntimeData, Session, ShapeError, wavFrames } from "../mod.ts";
import { lib } from "../src/native.ts";
import type { Case } from "./reliability_cases.ts";

/** How to build a test WAV file. */
export interface WavSpec {
  /** Format code (1 PCM, 3 IEEE float, 7 mu-law, …). Default 1. */
  code?: number;
  /** Bits per sample. */
  bits: number;
  /** Channels (default 1). */
  channels?: number;
  /** Frames per second (default 48000). */
  sampleRate?: number;
  /** Write WAVE_FORMAT_EXTENSIBLE with `code` as the sub-format. */
  extensible?: boolean;
  /** The data chunk's size field, when it should not be the data's length (0xFFFFFFFF: streamed). */
  dataSize?: number;
  /** Chunks placed before the fmt chunk. */
  before?: Uint8Array[];
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A RIFF chunk: id, size, body, and a padding byte when the size is odd. */
export function chunk(id: string, body: Uint8Array, size = body.length): Uint8Array {
  const out = new Uint8Array(8 + body.length + (body.length % 2));
  out.set(ascii(id));
  new DataView(out.buffer).setUint32(4, size, true);
  out.set(body, 8);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The fmt chunk body for a spec. */
export function fmtBody(spec: WavSpec): Uint8Array {
  const channels = spec.channels ?? 1;
  const rate = spec.sampleRate ?? 48000;
  const block = channels * Math.ceil(spec.bits / 8);
  const body = new Uint8Array(spec.extensible ? 40 : 16);
  const v = new DataView(body.buffer);
  v.setUint16(0, spec.extensible ? 0xfffe : spec.code ?? 1, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, rate, true);
  v.setUint32(8, rate * block, true);
  v.setUint16(12, block, true);
  v.setUint16(14, spec.bits, true);
  if (spec.extensible) {
    v.setUint16(16, 22, true);
    v.setUint16(18, spec.bits, true);
    v.setUint32(20, channels === 2 ? 3 : 4, true);
    v.setUint16(24, spec.code ?? 1, true);
    body.set([0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71], 26);
  }
  return body;
}

/** A whole WAV file: RIFF header, chunks before fmt, fmt, data. */
export function wavFile(data: Uint8Array, spec: WavSpec): Uint8Array {
  const body = concat([
    ascii("WAVE"),
    ...(spec.before ?? []),
    chunk("fmt ", fmtBody(spec)),
    chunk("data", data, spec.dataSize ?? data.length),
  ]);
  const head = new Uint8Array(8);
  head.set(ascii("RIFF"));
  new DataView(head.buffer).setUint32(4, body.length, true);
  return concat([head, body]);
}

/** Samples in [-1, 1] encoded as the file stores them. */
export function encode(samples: number[], spec: WavSpec): Uint8Array {
  const size = Math.ceil(spec.bits / 8);
  const out = new Uint8Array(samples.length * size);
  const v = new DataView(out.buffer);
  samples.forEach((x, i) => {
    const at = i * size;
    if ((spec.code ?? 1) === 3) v.setFloat32(at, x, true);
    else if (spec.bits === 8) v.setUint8(at, Math.round(x * 127) + 128);
    else if (spec.bits === 16) v.setInt16(at, Math.round(x * 32767), true);
    else if (spec.bits === 24) {
      const s = Math.round(x * 8388607);
      v.setUint8(at, s & 0xff);
      v.setUint8(at + 1, (s >> 8) & 0xff);
      v.setInt8(at + 2, s >> 16);
    } else v.setInt32(at, Math.round(x * 2147483647), true);
  });
  return out;
}

/** What a reader produced: each item's layout and timestamp, and every sample. */
export interface Decoded {
  /** Per item: format, rate, channels, frames, timestamp. */
  items: string[];
  /** All samples, concatenated (numbers, in the storage format's scale). */
  samples: number[];
}

function describe(frame: RuntimeData, into: Decoded): void {
  const a = frame.asAudio();
  into.items.push(
    `${a.format} ${a.sampleRate} Hz ${a.channels} ch ${a.numSamples} @${a.timestampUs}`,
  );
  for (const s of a.samples) into.samples.push(s);
}

/** Reads with wavFrames, releasing each frame; rejects with the stream's error. */
export async function readWithWavFrames(
  source: Uint8Array | ReadableStream<Uint8Array>,
  frameMs = 20,
): Promise<Decoded> {
  const out: Decoded = { items: [], samples: [] };
  for await (
    const frame of wavFrames(source, { frameMs }) as unknown as AsyncIterable<RuntimeData>
  ) {
    try {
      describe(frame, out);
    } finally {
      frame.dispose();
    }
  }
  return out;
}

/** Writes the bytes to a temporary file and reads it with a `WavReader` node, releasing each output. */
export async function readWithWavReader(bytes: Uint8Array, chunkMs = 20): Promise<Decoded> {
  const dir = mkdtempSync(join(tmpdir(), "rm-wav-"));
  try {
    const path = join(dir, "in.wav");
    writeFileSync(path, bytes);
    const manifest: Manifest = {
      version: 1,
      nodes: [{ id: "read", type: "WavReader", params: { path, chunkMs } }],
    };
    using session = Session.create(manifest); // a source: it starts, and ends, by itself
    const out: Decoded = { items: [], samples: [] };
    for await (const frame of session) {
      try {
        describe(frame, out);
      } finally {
        frame.dispose();
      }
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Reads with both readers; both must fail, with the parser's message in both errors. Throws
 * wavFrames' error (a ShapeError) for the row to check.
 */
async function rejectedByBoth(bytes: Uint8Array, copied?: number): Promise<never> {
  const before = lib().symbols.rm_bytes_copied();
  const streamError = await readWithWavFrames(bytes).then(
    () => assert.fail("wavFrames accepted it"),
    (e: Error) => e,
  );
  if (copied !== undefined) {
    assert.equal(lib().symbols.rm_bytes_copied() - before, copied, "bytes copied natively");
  }
  const nodeError = await readWithWavReader(bytes).then(
    () => assert.fail("WavReader accepted it"),
    (e: Error) => e,
  );
  assert.ok(
    nodeError.message.endsWith(`: ${streamError.message}`),
    `WavReader said "${nodeError.message}", wavFrames said "${streamError.message}"`,
  );
  throw streamError;
}

function sine(frames: number, channels = 1, amplitude = 0.5): number[] {
  return Array.from(
    { length: frames * channels },
    (_, i) => amplitude * Math.sin((2 * Math.PI * 440 * Math.floor(i / channels)) / 48000),
  );
}

/** A small valid 16-bit file whose first 30 bytes end inside the fmt chunk. */
const small16 = wavFile(encode(sine(100), { bits: 16 }), { bits: 16 });

/** The rows. */
export const wavCases: Case[] = [
  {
    area: "WAV",
    name: "24-bit WAV through wavFrames (read 4 bytes per sample before)",
    expect: "20 ms frames of the right length; a 0.5 sine comes back within 1e-6 of the amplitude",
    run: async () => {
      const input = sine(4800);
      const got = await readWithWavFrames(wavFile(encode(input, { bits: 24 }), { bits: 24 }));
      assert.deepEqual(got.items.slice(0, 2), [
        "i32 48000 Hz 1 ch 960 @0",
        "i32 48000 Hz 1 ch 960 @20000",
      ]);
      assert.equal(got.samples.length, input.length);
      const worst = Math.max(...got.samples.map((s, i) => Math.abs(s / 2 ** 31 - input[i])));
      assert.ok(worst / 0.5 < 1e-6, `largest error ${worst}`);
    },
    error: null,
  },
  {
    area: "WAV",
    name: "8-bit WAV (accepted by one reader, rejected by the other before)",
    expect: "accepted by both wavFrames and WavReader, identically, as i16 ((byte − 128) << 8)",
    run: async () => {
      const bytes = wavFile(Uint8Array.of(0, 64, 128, 255), { bits: 8, sampleRate: 8000 });
      const stream = await readWithWavFrames(bytes);
      assert.deepEqual(stream, await readWithWavReader(bytes));
      assert.deepEqual(stream.samples, [-32768, -16384, 0, 32512]);
      assert.deepEqual(stream.items, ["i16 8000 Hz 1 ch 4 @0"]);
    },
    error: null,
  },
  {
    area: "WAV",
    name: "truncated WAV (data chunk shorter than declared; wavFrames accepted it silently)",
    expect: "ShapeError from both readers naming declared vs received bytes",
    run: () => rejectedByBoth(small16.subarray(0, 144)),
    error: /^WAV data chunk declares 200 bytes, the stream ended after 100 of them$/,
    type: ShapeError,
  },
  {
    area: "WAV",
    name: "30-byte WAV (was a RangeError from DataView)",
    expect: "ShapeError from both: ended after 30 bytes, inside its header",
    run: () => rejectedByBoth(small16.subarray(0, 30)),
    error:
      /^WAV stream ended after 30 bytes, inside its header \(the fmt chunk declares 16 bytes, got 10\)$/,
    type: ShapeError,
  },
  {
    area: "WAV",
    name:
      "unknown chunk of size 0xFFFFFFF0, then the end of the stream (was buffered and re-copied)",
    expect: "ShapeError from both at once, naming the chunk; only the 44 header bytes are copied",
    run: () => {
      const huge = small16.subarray(0, 44).slice();
      huge.set(ascii("junk"), 36);
      new DataView(huge.buffer).setUint32(40, 0xfffffff0, true);
      return rejectedByBoth(huge, 44); // the header pieces, nothing more
    },
    error:
      /^WAV stream ended after 44 bytes, inside its header \(chunk "junk" declares 4294967280 bytes, got 0\)$/,
    type: ShapeError,
  },
  {
    area: "WAV",
    name: "data chunk before the fmt chunk",
    expect: "ShapeError from both",
    run: () => {
      const bytes = concat([
        ascii("RIFF"),
        new Uint8Array(4),
        ascii("WAVE"),
        chunk("data", new Uint8Array(4)),
        chunk("fmt ", fmtBody({ bits: 16 })),
      ]);
      return rejectedByBoth(bytes);
    },
    error: /^WAV data chunk before its fmt chunk$/,
    type: ShapeError,
  },
  {
    area: "WAV",
    name: "mu-law WAV (format 7)",
    expect:
      "ShapeError from both with the same message: unsupported encoding, and what is supported",
    run: () => rejectedByBoth(wavFile(new Uint8Array(8), { code: 7, bits: 8 })),
    error:
      /^unsupported WAV encoding: format 7 \(mu-law\), 8-bit \(supported: PCM 8\/16\/24\/32-bit, IEEE float 32-bit\)$/,
    type: ShapeError,
  },
  {
    area: "WAV",
    name: "12-bit PCM WAV",
    expect: "ShapeError from both with the same message",
    run: () => rejectedByBoth(wavFile(new Uint8Array(8), { bits: 12 })),
    error: /^unsupported WAV encoding: PCM 12-bit \(supported: /,
    type: ShapeError,
  },
  {
    area: "WAV",
    name: "streamed WAV (unknown size) ending inside a frame",
    expect: "ShapeError from both naming the bytes and the frame size",
    run: () =>
      rejectedByBoth(wavFile(new Uint8Array(6), { bits: 16, channels: 2, dataSize: 0xffffffff })),
    error:
      /^WAV data ends inside a frame: 6 bytes is not a whole number of 4-byte frames \(2 ch × 16-bit\); 2 bytes left over$/,
    type: ShapeError,
  },
  {
    area: "WAV",
    name: "bytes that are not a WAV",
    expect: "ShapeError from both: not a WAV stream",
    run: () => rejectedByBoth(ascii("ID3\u0004 an mp3, not a wav")),
    error: /^not a WAV stream: it does not start with RIFF\.\.\.\.WAVE$/,
    type: ShapeError,
  },
  {
    area: "WAV",
    name: "50 MB unknown chunk streamed in 64 KB pieces before the fmt chunk",
    expect:
      "parsed in one pass: none of its bytes is copied natively, only the headers and samples",
    run: async () => {
      const native = lib().symbols;
      const skipped = 50 * 1024 * 1024;
      const wav = wavFile(encode(sine(960), { bits: 16 }), {
        bits: 16,
        before: [chunk("junk", new Uint8Array(0), skipped)],
      });
      // The junk chunk's header is in `wav`; its body is streamed between the two halves.
      const junkEnd = 12 + 8;
      const piece = new Uint8Array(64 * 1024);
      let sent = 0;
      const source = new ReadableStream<Uint8Array>({
        pull(c): void {
          if (sent === 0) c.enqueue(wav.subarray(0, junkEnd));
          else if (sent <= skipped / piece.length) c.enqueue(piece);
          else if (sent === skipped / piece.length + 1) c.enqueue(wav.subarray(junkEnd));
          else c.close();
          sent++;
        },
      }, { highWaterMark: 0 });
      const before = native.rm_bytes_copied();
      const got = await readWithWavFrames(source);
      const copied = native.rm_bytes_copied() - before;
      assert.deepEqual(got.items, ["i16 48000 Hz 1 ch 960 @0"]);
      assert.equal(copied, wav.length, "header pieces and samples only, each byte once");
    },
    error: null,
  },
];
