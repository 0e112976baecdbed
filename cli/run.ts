/**
 * `remotemedia run`: a manifest over a WAV file (or pushed text), with progress, per-node statistics,
 * `--json` events, `--output` WAV and a `--report` timeline (HTML).
 *
 * @module
 */
import { type FileHandle, open } from "node:fs/promises";
import {
  type AudioSpec,
  checkManifest,
  ManifestError,
  type NodeStats,
  PipelineError,
  Session,
  type SessionEntry,
  wavFrames,
} from "../mod.ts";
import { readFileSync, writeFileSync } from "node:fs";
import {
  applyParams,
  checkReadable,
  type CliIo,
  describeInsertion,
  EXIT,
  FileError,
  loadManifest,
  type Parsed,
  TAP_SUFFIX,
  UsageError,
  withOutput,
} from "./common.ts";

function describeEntries(entries: readonly SessionEntry[]): string {
  return entries.map((e) => `"${e.id}" (${e.type}) accepts ${e.accepts.join("/")}`).join("; ");
}

/** The bytes of a file as a stream, read 64 KiB at a time. */
function fileBytes(path: string): ReadableStream<Uint8Array> {
  let file: FileHandle | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller): Promise<void> {
      file ??= await open(path, "r");
      const buffer = new Uint8Array(64 * 1024);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) {
        await file.close();
        controller.close();
      } else {
        controller.enqueue(buffer.subarray(0, bytesRead));
      }
    },
    async cancel(): Promise<void> {
      await file?.close();
    },
  });
}

/**
 * Pushes the WAV at `path` into `session` in 20 ms frames: each frame goes to every entry that accepts
 * audio (the rule of `push`). Calls `onFrame` with each frame's duration.
 */
async function pushWav(
  session: Session,
  path: string,
  onFrame: (seconds: number) => void,
): Promise<void> {
  for await (const frame of wavFrames(fileBytes(path), { frameMs: 20 })) {
    try {
      await session.push(frame);
      onFrame(frame.asAudio().durationSeconds);
    } finally {
      frame.dispose();
    }
  }
}

/**
 * The format of a WAV file's audio as the library decodes it (its first frame), for format
 * negotiation; undefined when it cannot be read (pushing it then reports why).
 */
async function wavFormat(path: string): Promise<AudioSpec | undefined> {
  const frames = wavFrames(fileBytes(path), { frameMs: 20 });
  try {
    for await (const frame of frames) {
      using f = frame;
      const audio = f.asAudio();
      return { sampleRate: audio.sampleRate, channels: audio.channels, sampleFormat: audio.format };
    }
  } catch {
    // reported when it is pushed
  }
  return undefined;
}

/** Duration in seconds from a WAV header, or undefined when it cannot be read. */
export function wavDuration(path: string): number | undefined {
  try {
    const bytes = readFileSync(path);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let byteRate = 0;
    for (let at = 12; at + 8 <= bytes.length;) {
      const id = String.fromCharCode(...bytes.subarray(at, at + 4));
      const size = view.getUint32(at + 4, true);
      if (id === "fmt ") byteRate = view.getUint32(at + 16, true);
      if (id === "data") return byteRate ? size / byteRate : undefined;
      at += 8 + size + (size % 2);
    }
  } catch {
    // fall through
  }
  return undefined;
}

function table(rows: NodeStats[]): string {
  const head = [
    "node",
    "type",
    "in",
    "out",
    "total ms",
    "p50 ms",
    "p95 ms",
    "max ms",
    "dropped",
    "errors",
  ];
  const body = rows.map((m) => [
    m.id,
    m.type,
    String(m.itemsIn),
    String(m.itemsOut),
    m.totalMs.toFixed(2),
    m.p50Ms.toFixed(3),
    m.p95Ms.toFixed(3),
    m.maxMs.toFixed(3),
    String(m.dropped),
    String(m.errors),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ");
  return [line(head), ...body.map(line)].join("\n");
}

/** Runs `remotemedia run`; resolves with the exit code. */
export async function run(parsed: Parsed, io: CliIo): Promise<number> {
  const [manifestPath, ...extra] = parsed.positional;
  if (!manifestPath) {
    throw new UsageError("run needs a manifest file (remotemedia run <manifest.json>)");
  }
  if (extra.length) throw new UsageError(`unexpected argument ${extra[0]}`);
  const input = parsed.flags.get("--input")?.at(-1);
  const output = parsed.flags.get("--output")?.at(-1);
  const report = parsed.flags.get("--report")?.at(-1);
  if (report === "") throw new UsageError("--report needs a file name (--report report.html)");
  if (input !== undefined) checkReadable(input); // fail early, with exit code 4
  let manifest = applyParams(loadManifest(manifestPath), parsed.flags.get("--param") ?? []);
  // Format negotiation starts from the input file's format. The user's manifest is checked first
  // (its issues are theirs); what --output adds is checked after, and said in --output's terms.
  const audioInput = input === undefined ? undefined : await wavFormat(input);
  const negotiate = parsed.flags.has("--negotiate") ? true : undefined;
  let check = checkManifest(manifest, { audioInput, negotiate });
  if (!check.valid) throw new ManifestError(check.issues);
  if (output !== undefined) {
    const audio = new Set(check.formats.filter((f) => f.output).map((f) => f.id));
    manifest = withOutput(manifest, output, (id) => audio.has(id));
    check = checkManifest(manifest, { audioInput, negotiate });
    if (!check.valid) {
      // One file is one stream: the audio sinks differ in format.
      const issue = check.issues[0];
      const sink = /"([^"]+):audio" \(Filter\)/.exec(issue.message)?.[1];
      throw new UsageError(
        `--output: the audio sinks differ in format, and one file is one stream${
          sink ? ` (sink "${sink}": ${issue.message.replace(/^format mismatch: /, "")})` : ""
        }; give --negotiate to convert every sink to the first one's format, or write one sink`,
      );
    }
  }
  if (parsed.flags.has("--verbose")) {
    for (const c of check.inserted) io.err(describeInsertion(c) + "\n");
  }

  const session = Session.create(manifest, {
    record: report !== undefined,
    audioInput,
    negotiate,
  });
  // --input follows the rule of push: frames go to every entry node whose input accepts audio.
  const entries = session.entries;
  try {
    if (input === undefined && entries.length > 0) {
      throw new UsageError(
        `this pipeline takes input (${describeEntries(entries)}): give --input <file.wav>`,
      );
    }
    if (input !== undefined && !entries.some((e) => e.accepts.includes("audio"))) {
      throw new UsageError(
        entries.length === 0
          ? "--input: this pipeline has no entry node (its sources start by themselves)"
          : `--input: no entry node accepts audio (entries: ${describeEntries(entries)})`,
      );
    }
  } catch (error) {
    session.dispose();
    throw error;
  }
  const total = input ? wavDuration(input) : undefined;
  const started = performance.now();
  let pushedSeconds = 0;
  let progress: ReturnType<typeof setInterval> | undefined;
  if (io.isTty && input && total) {
    const draw = () => {
      const done = Math.min(1, pushedSeconds / total);
      const width = 30;
      const filled = Math.round(done * width);
      const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
      io.err(`\r[${bar}] ${(done * 100).toFixed(0).padStart(3)}% of ${total.toFixed(1)} s`);
    };
    draw();
    progress = setInterval(draw, 200);
  }
  let audioFrames = 0;
  try {
    // The input is pushed while the outputs are read (each side waits for the other's progress).
    const feeding = input === undefined
      ? Promise.resolve()
      : pushWav(session, input, (seconds) => pushedSeconds += seconds).catch((error) => {
        // A failing node is reported by the iteration; a bad file by this.
        if (error instanceof PipelineError) return;
        if (!session.finished) session.abort().catch(() => {});
        throw new FileError(`--input ${input}: ${(error as Error).message}`, { cause: error });
      });
    const closing = feeding.then(() => {
      if (!session.finished) session.close();
    });
    closing.catch(() => {}); // reported below, after the outputs
    try {
      for await (const out of session) {
        const type = out.dataType();
        const node = out.nodeId?.endsWith(TAP_SUFFIX)
          ? out.nodeId.slice(0, -TAP_SUFFIX.length)
          : out.nodeId;
        if (type === "json") {
          const value = out.asJson();
          if ((value as { type?: string })?.type !== "wav_written") {
            io.out(JSON.stringify({ node, ...asObject(value) }));
          }
        } else if (type === "text") {
          io.out(`${node}: ${out.asText()}`);
        } else if (type === "audio") {
          audioFrames += out.asAudio().numSamples;
        } else {
          io.out(`${node}: ${type}`);
        }
        out.dispose();
      }
    } catch (error) {
      await closing; // a bad input file is the cause of an abort: report it, not the abort
      throw error;
    }
    await closing;
    await session.done;
  } catch (error) {
    // A failed run is when a report helps most: it is written before the error is reported.
    if (report !== undefined) {
      try {
        writeReport(session, report, io);
      } catch {
        // the run's own error is the one to report
      }
    }
    session.dispose();
    throw error;
  } finally {
    if (progress !== undefined) {
      clearInterval(progress);
      io.err("\r" + " ".repeat(60) + "\r");
    }
  }
  if (output !== undefined) {
    const writer = session.stats().nodes.find((n) =>
      n.type === "WavWriter" && n.id.startsWith("output")
    );
    if (writer && writer.itemsIn === 0) {
      io.err(`warning: no audio reached ${output}; nothing was written\n`);
    }
  }
  if (!parsed.flags.has("--no-stats")) {
    const seconds = (performance.now() - started) / 1000;
    const stats = session.stats();
    io.err(table(stats.nodes) + "\n");
    io.err(
      `done in ${seconds.toFixed(2)} s` +
        (total ? ` (${(total / seconds).toFixed(0)}x real time)` : "") +
        (audioFrames ? `, ${audioFrames} audio frames not written (use --output)` : "") + "\n",
    );
  }
  if (report !== undefined) writeReport(session, report, io);
  session.dispose();
  return EXIT.ok;
}

/** Writes the session's timeline report to `path` (a file error exits with code 4). */
function writeReport(session: Session, path: string, io: CliIo): void {
  const html = session.report();
  try {
    writeFileSync(path, html);
  } catch (error) {
    throw new FileError(`--report ${path}: ${(error as Error).message}`, { cause: error });
  }
  io.err(`report: ${path} (${(html.length / 1024).toFixed(0)} KiB)\n`);
}

/** A JSON value as the fields of an object (`{ value }` when it is not an object). */
function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : { value };
}
