/**
 * What the commands of the CLI share: where they write (`CliIo`), exit codes, the two error kinds of a
 * command line, and reading manifests with `--param`/`--output` applied.
 *
 * @module
 */
import { closeSync, openSync, readFileSync } from "node:fs";
import {
  type AudioSpec,
  convertManifest,
  type Insertion,
  type Manifest,
  ManifestError,
  nodeTypes,
  validateManifest,
} from "../mod.ts";

/** Suffix of the tap node `--output` adds after a sink that also emits events. */
export const TAP_SUFFIX = ":events";

/** `base`, or `base-2`, `base-3`, … : the first that is not in `ids`. */
export function unique(base: string, ids: string[]): string {
  let id = base;
  for (let i = 2; ids.includes(id); i++) id = `${base}${i}`;
  return id;
}

/** `48000 Hz, 2 ch, i16`, with `?` for what is not known. */
export function describeFormat(f: AudioSpec): string {
  return `${f.sampleRate ?? "?"} Hz, ${f.channels ?? "?"} ch, ${f.sampleFormat ?? "?"}`;
}

/** One line for a converter format negotiation inserted. */
export function describeInsertion(c: Insertion): string {
  return `format: inserted ${c.type} "${c.id}" ${JSON.stringify(c.params)} before "${c.to}" ` +
    `(${describeFormat(c.before)} → ${describeFormat(c.after)}): ${c.reason}`;
}

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

/** A command line that cannot be run as given (exit code 2). */
export class UsageError extends Error {}
/** A file that cannot be read (exit code 4). */
export class FileError extends Error {}

/** A parsed command line: positional arguments and flag values. */
export interface Parsed {
  positional: string[];
  flags: Map<string, string[]>;
}

/** A file's text, or a FileError naming it. */
export function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new FileError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Throws a FileError naming `path` unless it can be opened. */
export function checkReadable(path: string): void {
  try {
    closeSync(openSync(path, "r"));
  } catch (error) {
    throw new FileError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/**
 * The manifest in a file, in our form: JSON or YAML, ours or a RemoteMedia SDK v1 manifest
 * (translated). A manifest with issues is a ManifestError whose issues point at the file itself (its
 * keys, and lines for YAML), checked before `--param`/`--output` change anything. Node types the library
 * does not have are left for the session to report (a TypeScript node may be registered under the name).
 */
export function loadManifest(path: string): Manifest {
  const text = readText(path);
  const manifest = convertManifest(text); // a ManifestError with the line when it does not parse
  const issues = validateManifest(text).filter((i) => !i.message.startsWith("unknown node type"));
  if (issues.length) throw new ManifestError(issues);
  return manifest;
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
 * error paths such as `nodes[2]` keep pointing at the user's manifest). `emitsAudio`, when given, says
 * which nodes emit audio with their params (format negotiation's `formats`: an `AudioLevel` without
 * `passAudio` emits none); otherwise the node types' declared outputs decide.
 */
export function withOutput(
  manifest: Manifest,
  output?: string,
  emitsAudio?: (id: string) => boolean,
): Manifest {
  const out = structuredClone(manifest);
  out.connections ??= [];
  const ids = out.nodes.map((n) => n.id);
  const hasOutgoing = new Set(out.connections.map((c) => c.from));
  const sinks = ids.filter((id) => !hasOutgoing.has(id));
  if (output !== undefined) {
    const types = new Map(nodeTypes().map((t) => [t.type, t]));
    const audioSinks = sinks.filter((id) => {
      if (emitsAudio) return emitsAudio(id);
      const type = out.nodes.find((n) => n.id === id)!.type;
      return types.get(type)?.outputs.includes("audio") ?? true;
    });
    if (audioSinks.length === 0) {
      throw new UsageError("--output: no sink node of this pipeline emits audio");
    }
    const id = unique("output", ids);
    out.nodes.push({ id, type: "WavWriter", params: { path: output } });
    for (const sink of audioSinks) {
      // Each sink's audio goes to the writer through a filter of its own, so that validation sees
      // each branch's format at the writer (one file is one stream: unequal branches are refused, or
      // converted with --negotiate); the sink keeps printing its other outputs through a tap.
      const keep = unique(`${sink}:audio`, ids);
      const tap = unique(`${sink}${TAP_SUFFIX}`, ids);
      out.nodes.push(
        { id: keep, type: "Filter", params: { types: ["audio"] } },
        {
          id: tap,
          type: "Filter",
          params: { types: ["text", "json", "video", "binary", "tensor"] },
        },
      );
      out.connections.push(
        { from: sink, to: keep },
        { from: keep, to: id },
        { from: sink, to: tap },
      );
    }
  }
  return out;
}

/** Suffix of the tap nodes `--output` adds; outputs from a tap are reported under the sink's id. */
