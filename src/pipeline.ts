/**
 * Pipelines: `Pipeline` (a validated manifest: run it once, start a session, or use it as a
 * `TransformStream`), `run` and `session`. Manifests and the builder are in `manifest.ts`, sessions in
 * `session.ts`.
 *
 * @module
 */
import { ManifestError } from "./errors.ts";
import {
  attachInstances,
  convertManifest,
  localTypes,
  type Manifest,
  validateManifest,
} from "./manifest.ts";
import type { RuntimeData } from "./runtime_data.ts";
import { Session, type SessionOptions } from "./session.ts";

/**
 * A validated manifest, ready to run.
 *
 * @example
 * ```ts
 * import { Pipeline, RuntimeData } from "./mod.ts";
 * const pipeline = Pipeline.from({ version: 1, nodes: [{ id: "gain", type: "Gain", params: { gainDb: -6 } }] });
 * const [out] = await pipeline.run(RuntimeData.audio({ samples: new Float32Array(960), sampleRate: 48000 }));
 * ```
 */
export class Pipeline {
  /** The manifest. */
  readonly manifest: Manifest;

  private constructor(manifest: Manifest) {
    this.manifest = manifest;
  }

  /**
   * Validates a manifest (an object, or JSON or YAML text, ours or a RemoteMedia SDK v1 manifest);
   * throws {@link ManifestError} listing every issue. Text is kept in our form (`pipeline.manifest`).
   */
  static from(manifest: Manifest | string): Pipeline {
    const issues = validateManifest(manifest);
    if (issues.length > 0) throw new ManifestError(issues);
    return new Pipeline(
      typeof manifest === "string"
        ? convertManifest(manifest)
        : attachInstances(structuredClone(manifest), localTypes(manifest)),
    );
  }

  /** Starts a streaming session. */
  session(options?: SessionOptions): Session {
    return Session.create(this.manifest, options);
  }

  /**
   * A new session as a `TransformStream`, so that `source.pipeThrough(pipeline.transform())
   * .pipeTo(sink)` works with backpressure both ways. Its `readable` and `writable` are the session's
   * own streams (outputs are pulled by the reader, not pushed per input, which keeps backpressure exact
   * for nodes that emit many or no outputs per input); the session is `.session`.
   */
  transform(options?: SessionOptions): TransformStream<RuntimeData, RuntimeData> & {
    readonly session: Session;
  } {
    const session = Session.create(this.manifest, options);
    const stream = new TransformStream<RuntimeData, RuntimeData>();
    // Own properties shadow TransformStream's accessors: pipeThrough() reads these two.
    Object.defineProperties(stream, {
      readable: { value: session.readable, enumerable: true },
      writable: { value: session.writable, enumerable: true },
      session: { value: session, enumerable: true },
    });
    return stream as TransformStream<RuntimeData, RuntimeData> & { readonly session: Session };
  }

  /** Unary run: pushes the input(s), closes, and resolves with every output in order. */
  async run(
    input: RuntimeData | readonly RuntimeData[],
    options?: SessionOptions,
  ): Promise<RuntimeData[]> {
    const inputs = Array.isArray(input) ? input : [input as RuntimeData];
    using session = Session.create(this.manifest, options);
    const outputs: RuntimeData[] = [];
    const collect = (async () => {
      for await (const out of session) outputs.push(out);
    })();
    collect.catch(() => {}); // awaited below; never an unhandled rejection meanwhile
    try {
      for (const item of inputs) await session.push(item);
      session.close();
    } catch (error) {
      // A refused input (disposed, not RuntimeData, or a node failure seen by push) ends the run:
      // stop the session so the collector ends too, release what it gathered, and report the error.
      if (!session.finished) await session.abort().catch(() => {});
      await collect.catch(() => {});
      await session.done.catch(() => {}); // TS nodes' inputs released, cleanups run
      for (const out of outputs) out.dispose();
      throw error;
    }
    try {
      await collect;
      await session.done;
    } catch (error) {
      await session.done.catch(() => {}); // TS nodes' inputs released, cleanups run
      for (const out of outputs) out.dispose(); // a node failed: what came before is released
      throw error;
    }
    return outputs;
  }
}

/** Unary run of a manifest: `Pipeline.from(manifest).run(input, options)`. */
export function run(
  manifest: Manifest | string,
  input: RuntimeData | readonly RuntimeData[],
  options?: SessionOptions,
): Promise<RuntimeData[]> {
  return Pipeline.from(manifest).run(input, options);
}

/** A streaming session of a manifest: `Session.create(manifest, options)`. */
export function session(manifest: Manifest | string, options?: SessionOptions): Session {
  return Session.create(manifest, options);
}
