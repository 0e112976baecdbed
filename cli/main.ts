#!/usr/bin/env bun
/**
 * The `remotemedia` command line: run, validate and inspect pipelines. Works under `deno run`,
 * `bun run` and as a compiled binary.
 *
 * Exit codes: 0 success, 1 a node failed, 2 usage error, 3 invalid manifest, 4 file not readable,
 * 70 internal error.
 *
 * @module
 */
import { closeSync, openSync, readFileSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import {
  type Manifest,
  ManifestError,
  type NodeStats,
  nodeTypes,
  PipelineError,
  Session,
  type SessionEntry,
  validateManifest,
  wavFrames,
} from "../mod.ts";
import { LIBRARY_VERSION } from "../ffi/platform.ts";
import { args as processArgs, exit as processExit, runtime } from "../ffi/runtime.ts";
import { serveUntilSignal } from "../src/serve/command.ts";

/** The package version (that of deno.json and package.json; `tools/dist.ts` and a test check it). */
export const VERSION: string = LIBRARY_VERSION;

/** Where the CLI writes, and what it knows about its terminal. */
export interface CliIo {
  /** One line of program output. */
  out(line: string): void;
  /** Diagnostics, progress and the metrics summary (may contain `\r`). */
  err(text: string): void;
  /** True when stderr is a terminal (progress bar). */
  isTty: boolean;
}

/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  nodeFailed: 1,
  usage: 2,
  invalidManifest: 3,
  io: 4,
  internal: 70,
} as const;

const HELP: Record<string, string> = {
  main: `remotemedia — real-time media pipelines (Rust core) from the command line

Usage:
  remotemedia run <manifest.json> [--input in.wav] [--output out.wav] [--param node.key=value]...
  remotemedia validate <manifest.json>
  remotemedia serve <manifest.json> [--port 8080] [--host 127.0.0.1] [--param node.key=value]...
  remotemedia nodes [--json]
  remotemedia <command> --help
  remotemedia --version

Options for every command:
  --verbose   show stack traces of errors
  --help      show help

Exit codes: 0 ok, 1 a node failed, 2 usage error, 3 invalid manifest, 4 file not readable.`,
  run: `remotemedia run <manifest.json> [options]

Runs a pipeline once. Outputs are printed to stdout: JSON events as JSON lines, text as lines.
Sources (a WavReader with a path) start by themselves; entry nodes (no incoming connection) need --input.

  --input <in.wav>         push this WAV (as 20 ms frames) into every entry node that accepts audio
  --output <out.wav>       write the audio of every audio sink to this WAV
  --param <node.key=value> override a node param (value parsed as JSON, else a string); repeatable
  --stats                  print the per-node statistics table (counts, p50/p95/max) to stderr (default)
  --no-stats               do not print it
  --verbose                show stack traces of errors`,
  validate: `remotemedia validate <manifest.json>

Checks a manifest and lists every problem with its path. Exit code 0 when valid, 3 when not.`,
  serve: `remotemedia serve <manifest.json> [options]

Serves the pipeline over WebSocket, one session per connection: the native protocol on /, Twilio
Media Streams on /twilio (docs/PROTOCOL.md), /healthz and /metrics (Prometheus). Prints
"listening on <url>". SIGINT/SIGTERM drain the open sessions (outputs sent, close 1001), then exit 0.

  --port <n>                  port (default 8080; 0 picks a free one)
  --host <address>            interface (default 127.0.0.1; 0.0.0.0 for every interface)
  --param <node.key=value>    override a node param for every session; repeatable
  --max-sessions <n>          sessions at once (default 100); more are refused with close code 1013
  --max-message-bytes <n>     largest client message (default 1048576); larger closes with 1009
  --max-queued-frames <n>     input frames queued per connection before dropping the oldest (default 50)
  --idle-timeout-ms <n>       close a silent connection with 4408 (default 30000; 0: never)
  --drain-timeout-ms <n>      abort sessions still draining after this long at shutdown (default 10000)
  --barge-in-from <node>      on a speech_start output, interrupt this node's branch; repeatable
  --name <name>               this server's name in "ready" messages (default remotemedia-<pid>)`,
  nodes: `remotemedia nodes [--json]

Lists the built-in node types with their params and port types (--json: machine-readable).`,
};

class UsageError extends Error {}
class FileError extends Error {}

interface Parsed {
  positional: string[];
  flags: Map<string, string[]>;
}

const VALUE_FLAGS = new Set([
  "--input",
  "--output",
  "--param",
  ...["--port", "--host", "--max-sessions", "--max-message-bytes", "--max-queued-frames"],
  ...["--idle-timeout-ms", "--drain-timeout-ms", "--barge-in-from", "--name"],
]);
const BOOL_FLAGS = new Set([
  "--help",
  "-h",
  "--verbose",
  "--json",
  "--stats",
  "--no-stats",
  "--version",
]);

function parse(args: string[]): Parsed {
  const parsed: Parsed = { positional: [], flags: new Map() };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg.startsWith("-")) {
      const [name, inline] = arg.includes("=") && arg.startsWith("--")
        ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
        : [arg, undefined];
      if (VALUE_FLAGS.has(name)) {
        const value = inline ?? args[++i];
        if (value === undefined) throw new UsageError(`${name} needs a value`);
        parsed.flags.set(name, [...(parsed.flags.get(name) ?? []), value]);
      } else if (BOOL_FLAGS.has(name)) {
        parsed.flags.set(name, ["true"]);
      } else {
        throw new UsageError(`unknown option ${name}`);
      }
    } else {
      parsed.positional.push(arg);
    }
  }
  return parsed;
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new FileError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

function checkReadable(path: string): void {
  try {
    closeSync(openSync(path, "r"));
  } catch (error) {
    throw new FileError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

function loadManifest(path: string): Manifest {
  const text = readText(path);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ManifestError([{
      path: "",
      message: `${path} is not valid JSON: ${(error as Error).message}`,
    }]);
  }
}

/** Applies `--param node.key=value` overrides. */
export function applyParams(manifest: Manifest, params: string[]): Manifest {
  const out = structuredClone(manifest);
  for (const p of params) {
    const match = /^([^.=]+)\.([^=]+)=(.*)$/s.exec(p);
    if (!match) throw new UsageError(`--param expects node.key=value, got "${p}"`);
    const [, id, key, raw] = match;
    const node = out.nodes?.find((n) => n.id === id);
    if (!node) {
      throw new UsageError(
        `--param ${p}: no node "${id}" (nodes: ${out.nodes?.map((n) => n.id).join(", ")})`,
      );
    }
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: keep the string
    }
    node.params = { ...(node.params ?? {}), [key]: value };
  }
  return out;
}

/**
 * Adds a `WavWriter` fed by every audio sink (after the manifest's own nodes and connections, so that
 * error paths such as `nodes[2]` keep pointing at the user's manifest).
 */
export function withOutput(manifest: Manifest, output?: string): Manifest {
  const out = structuredClone(manifest);
  out.connections ??= [];
  const ids = out.nodes.map((n) => n.id);
  const hasOutgoing = new Set(out.connections.map((c) => c.from));
  const sinks = ids.filter((id) => !hasOutgoing.has(id));
  if (output !== undefined) {
    const types = new Map(nodeTypes().map((t) => [t.type, t]));
    const audioSinks = sinks.filter((id) => {
      const type = out.nodes.find((n) => n.id === id)!.type;
      return types.get(type)?.outputs.includes("audio") ?? true;
    });
    if (audioSinks.length === 0) {
      throw new UsageError("--output: no sink node of this pipeline emits audio");
    }
    const id = unique("output", ids);
    const keep = unique("output-audio", ids);
    out.nodes.push({ id: keep, type: "Filter", params: { types: ["audio"] } });
    out.nodes.push({ id, type: "WavWriter", params: { path: output } });
    out.connections.push({ from: keep, to: id });
    for (const sink of audioSinks) {
      // The sink keeps printing its other outputs (events, text) through a tap.
      const tap = unique(`${sink}${TAP_SUFFIX}`, ids);
      out.nodes.push({
        id: tap,
        type: "Filter",
        params: { types: ["text", "json", "video", "binary", "tensor"] },
      });
      out.connections.push({ from: sink, to: keep }, { from: sink, to: tap });
    }
  }
  return out;
}

/** Suffix of the tap nodes `--output` adds; outputs from a tap are reported under the sink's id. */
const TAP_SUFFIX = ":events";

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

function unique(base: string, ids: string[]): string {
  let id = base;
  for (let i = 2; ids.includes(id); i++) id = `${base}${i}`;
  return id;
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

async function run(parsed: Parsed, io: CliIo): Promise<number> {
  const [manifestPath, ...extra] = parsed.positional;
  if (!manifestPath) {
    throw new UsageError("run needs a manifest file (remotemedia run <manifest.json>)");
  }
  if (extra.length) throw new UsageError(`unexpected argument ${extra[0]}`);
  const input = parsed.flags.get("--input")?.at(-1);
  const output = parsed.flags.get("--output")?.at(-1);
  if (input !== undefined) checkReadable(input); // fail early, with exit code 4
  let manifest = applyParams(loadManifest(manifestPath), parsed.flags.get("--param") ?? []);
  manifest = withOutput(manifest, output);
  const issues = validateManifest(manifest);
  if (issues.length) throw new ManifestError(issues);

  const session = Session.create(manifest);
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
  session.dispose();
  return EXIT.ok;
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : { value };
}

async function serveCommand(parsed: Parsed, io: CliIo): Promise<number> {
  const [path, ...extra] = parsed.positional;
  if (!path) {
    throw new UsageError("serve needs a manifest file (remotemedia serve <manifest.json>)");
  }
  if (extra.length) throw new UsageError(`unexpected argument ${extra[0]}`);
  const manifest = applyParams(loadManifest(path), parsed.flags.get("--param") ?? []);
  const issues = validateManifest(manifest);
  if (issues.length) throw new ManifestError(issues);
  const int = (flag: string): number | undefined => {
    const raw = parsed.flags.get(flag)?.at(-1);
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw)) throw new UsageError(`${flag} expects a whole number, got "${raw}"`);
    return Number(raw);
  };
  const from = parsed.flags.get("--barge-in-from");
  await serveUntilSignal(
    {
      manifest,
      port: int("--port"),
      hostname: parsed.flags.get("--host")?.at(-1),
      name: parsed.flags.get("--name")?.at(-1),
      maxSessions: int("--max-sessions"),
      maxMessageBytes: int("--max-message-bytes"),
      maxQueuedFrames: int("--max-queued-frames"),
      idleTimeoutMs: int("--idle-timeout-ms"),
      drainTimeoutMs: int("--drain-timeout-ms"),
      bargeIn: from ? { from } : undefined,
    },
    io.out,
    io.err,
  );
  return EXIT.ok;
}

function validate(parsed: Parsed, io: CliIo): number {
  const [path, ...extra] = parsed.positional;
  if (!path) throw new UsageError("validate needs a manifest file");
  if (extra.length) throw new UsageError(`unexpected argument ${extra[0]}`);
  const text = readText(path);
  const issues = validateManifest(text);
  if (issues.length) {
    for (const i of issues) io.out(`${path}: ${i.path ? i.path + ": " : ""}${i.message}`);
    return EXIT.invalidManifest;
  }
  const m = JSON.parse(text) as Manifest;
  io.out(`${path}: ok (${m.nodes.length} nodes, ${m.connections?.length ?? 0} connections)`);
  return EXIT.ok;
}

function nodes(parsed: Parsed, io: CliIo): number {
  const types = nodeTypes();
  if (parsed.flags.has("--json")) {
    io.out(JSON.stringify(types, null, 2));
    return EXIT.ok;
  }
  for (const t of types) {
    const ports = t.inputs.map((p) => `${p.name}: ${p.accepts.join("|")}`).join(", ");
    io.out(`${t.type}  (${ports}) → ${t.outputs.join("|")}`);
    io.out(`    ${t.description}`);
    for (const p of t.params) {
      const domain = p.values
        ? p.values.join("|")
        : p.min !== undefined
        ? `${p.min}..${p.max}`
        : p.type;
      const dflt = p.default === null ? "required" : `default ${JSON.stringify(p.default)}`;
      io.out(`    --param <id>.${p.name}=<${domain}>  ${dflt}. ${p.description}`);
    }
  }
  return EXIT.ok;
}

/** Runs the CLI with `args` (without the program name); resolves with the exit code. */
export async function runCli(args: string[], io: CliIo): Promise<number> {
  let verbose = false;
  try {
    const parsed = parse(args);
    verbose = parsed.flags.has("--verbose");
    const [command, ...rest] = parsed.positional;
    parsed.positional = rest;
    if (parsed.flags.has("--version")) {
      io.out(`remotemedia ${VERSION}`);
      return EXIT.ok;
    }
    const help = parsed.flags.has("--help") || parsed.flags.has("-h");
    if (!command || command === "help") {
      io.out(HELP[rest[0] ?? "main"] ?? HELP.main);
      return command ? EXIT.ok : help ? EXIT.ok : EXIT.usage;
    }
    if (!(command in HELP) || command === "main") {
      throw new UsageError(`unknown command "${command}" (commands: run, validate, serve, nodes)`);
    }
    if (help) {
      io.out(HELP[command]);
      return EXIT.ok;
    }
    if (command === "run") return await run(parsed, io);
    if (command === "validate") return validate(parsed, io);
    if (command === "serve") return await serveCommand(parsed, io);
    return nodes(parsed, io);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.err(`error: ${message}\n`);
    if (verbose && error instanceof Error && error.stack) io.err(error.stack + "\n");
    if (error instanceof UsageError) {
      io.err("run `remotemedia --help` for usage\n");
      return EXIT.usage;
    }
    if (error instanceof ManifestError) return EXIT.invalidManifest;
    if (error instanceof FileError) return EXIT.io;
    if (error instanceof PipelineError) return EXIT.nodeFailed;
    return EXIT.internal;
  }
}

/** Arguments and I/O of the running process (Deno, Bun or a compiled binary). */
export function processIo(): { args: string[]; io: CliIo; exit(code: number): never } {
  if (runtime === "deno") {
    const deno = (globalThis as { Deno?: typeof Deno }).Deno!;
    const encoder = new TextEncoder();
    return {
      args: processArgs(),
      io: {
        out: (line) => console.log(line),
        err: (text) => deno.stderr.writeSync(encoder.encode(text)),
        isTty: deno.stderr.isTerminal(),
      },
      exit: processExit,
    };
  }
  const stderr = (globalThis as unknown as {
    process: { stderr: { write(text: string): void; isTTY?: boolean } };
  }).process.stderr;
  return {
    args: processArgs(),
    io: {
      out: (line) => console.log(line),
      err: (text) => stderr.write(text),
      isTty: stderr.isTTY === true,
    },
    exit: processExit,
  };
}

if (import.meta.main) {
  const { args, io, exit } = processIo();
  exit(await runCli(args, io));
}
