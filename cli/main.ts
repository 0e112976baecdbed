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
import {
  checkManifest,
  convertManifest,
  ManifestError,
  nodeTypes,
  PipelineError,
  setWorkerThreads,
  validateManifest,
} from "../mod.ts";
import { LIBRARY_VERSION } from "../ffi/platform.ts";
import { args as processArgs, exit as processExit, runtime } from "../ffi/runtime.ts";
import { serveUntilSignal } from "../src/serve/command.ts";
import { staticRoutes } from "../src/serve/static.ts";
import {
  applyParams,
  type CliIo,
  describeInsertion,
  EXIT,
  FileError,
  loadManifest,
  type Parsed,
  readText,
  UsageError,
} from "./common.ts";
import { convert, CONVERT_HELP } from "./convert.ts";
import { run } from "./run.ts";

export { applyParams, type CliIo, EXIT, withOutput } from "./common.ts";
export { wavDuration } from "./run.ts";

/** The package version (that of deno.json and package.json; `tools/dist.ts` and a test check it). */
export const VERSION: string = LIBRARY_VERSION;

const HELP: Record<string, string> = {
  main: `remotemedia — real-time media pipelines (Rust core) from the command line

Usage:
  remotemedia run <manifest.json> [--input in.wav] [--output out.wav] [--param node.key=value]...
                  [--report report.html] [--negotiate]
  remotemedia validate <manifest.json> [--negotiate]
  remotemedia convert <old.yaml>          (a RemoteMedia SDK or YAML manifest → our JSON)
  remotemedia serve <manifest.json> [--port 8080] [--host 127.0.0.1] [--param node.key=value]...
                    [--static <dir>]
  remotemedia nodes [--json]
  remotemedia <command> --help
  remotemedia --version

Options for every command:
  --verbose   show stack traces of errors (run, validate: also the converters format
              negotiation inserted)
  --help      show help

Exit codes: 0 ok, 1 a node failed, 2 usage error, 3 invalid manifest, 4 file not readable.`,
  run: `remotemedia run <manifest.json> [options]

Runs a pipeline once. Outputs are printed to stdout: JSON events as JSON lines, text as lines.
Sources (a WavReader with a path) start by themselves; entry nodes (no incoming connection) need --input.

  --input <in.wav>         push this WAV (as 20 ms frames) into every entry node that accepts audio
  --output <out.wav>       write the audio of every audio sink to this WAV
  --report <report.html>   record the run and write its timeline (one self-contained HTML page:
                           waveform, speech and turns, a lane per node, statistics, manifest)
  --param <node.key=value> override a node param (value parsed as JSON, else a string); repeatable
  --stats                  print the per-node statistics table (counts, p50/p95/max) to stderr (default)
  --no-stats               do not print it
  --negotiate              format negotiation even if the manifest does not ask for it: insert
                           ChannelMix / Resample / AudioFormat where a node cannot take the audio
                           (it starts from the --input file's format)
  --verbose                show stack traces of errors, and the converters format negotiation
                           inserted`,
  validate: `remotemedia validate <manifest.json> [--negotiate] [--verbose]

Checks a manifest and lists every problem with its path. Exit code 0 when valid, 3 when not.
With --verbose, also lists the converters format negotiation inserts (manifests with
"negotiate": true, and RemoteMedia SDK manifests): the pushed audio's format is not known here,
so each one is inserted as a no-op-if-it-already-matches guard (run --input declares it).`,
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
  --name <name>               this server's name in "ready" messages (default remotemedia-<pid>)
  --threaded                  run every session on the shared native worker pool (the native work
                              leaves the JavaScript thread: more sessions per process)
  --workers <n>               worker pool size (default: REMOTEMEDIA_WORKER_THREADS, else one per core)
  --negotiate                 format negotiation: insert converters where a node cannot take the
                              client's start layout (default: the manifest's "negotiate"; without it
                              such a start is refused with 1008, naming both formats)
  --static <dir>              also serve the files of <dir> over HTTP, its index.html at /
                              (examples/web: the browser client)`,
  convert: CONVERT_HELP,
  nodes: `remotemedia nodes [--json]

Lists the built-in node types with their params and port types (--json: machine-readable).`,
};

const VALUE_FLAGS = new Set([
  "--input",
  "--output",
  "--report",
  "--param",
  ...["--port", "--host", "--max-sessions", "--max-message-bytes", "--max-queued-frames"],
  ...["--idle-timeout-ms", "--drain-timeout-ms", "--barge-in-from", "--name", "--static"],
  "--workers",
]);
const BOOL_FLAGS = new Set([
  "--help",
  "-h",
  "--verbose",
  "--json",
  "--stats",
  "--no-stats",
  "--version",
  "--threaded",
  "--negotiate",
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
  const workers = int("--workers");
  if (workers !== undefined) {
    if (workers > 1024) {
      throw new UsageError(`--workers expects 0 (the default) to 1024, got ${workers}`);
    }
    setWorkerThreads(workers);
  }
  const staticDir = parsed.flags.get("--static")?.at(-1);
  let routes;
  try {
    routes = staticDir === undefined ? undefined : staticRoutes(staticDir);
  } catch (error) {
    throw new FileError((error as Error).message);
  }
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
      routes,
      session: {
        ...(parsed.flags.has("--threaded") ? { execution: "threaded" as const } : {}),
        ...(parsed.flags.has("--negotiate") ? { negotiate: true } : {}),
      },
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
  const check = checkManifest(text, {
    negotiate: parsed.flags.has("--negotiate") ? true : undefined,
  });
  if (!check.valid) {
    for (const i of check.issues) io.out(`${path}: ${i.path ? i.path + ": " : ""}${i.message}`);
    return EXIT.invalidManifest;
  }
  const m = convertManifest(text);
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  io.out(
    `${path}: ok (${count(m.nodes.length, "node")}, ${
      count(m.connections?.length ?? 0, "connection")
    })`,
  );
  if (parsed.flags.has("--verbose")) {
    for (const c of check.inserted) io.out(describeInsertion(c));
  }
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
      throw new UsageError(
        `unknown command "${command}" (commands: run, validate, convert, serve, nodes)`,
      );
    }
    if (help) {
      io.out(HELP[command]);
      return EXIT.ok;
    }
    if (command === "run") return await run(parsed, io);
    if (command === "validate") return validate(parsed, io);
    if (command === "convert") return convert(parsed, io);
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
