/**
 * G.711 at the edge of a served session: {@link G711Decoder} turns the bytes a client sends (Twilio's
 * μ-law, or a native client's `mulaw`/`alaw` frames) into audio, and {@link TelephonyEncoder} turns
 * a pipeline's audio outputs (any rate, any channels) into 8 kHz mono G.711 bytes. Both are small
 * inline sessions of native nodes (`G711`, `ChannelMix`, `Resample`): no sample is touched in
 * TypeScript.
 *
 * @module
 */
import type { Manifest, NodeSpec } from "../manifest.ts";
import { RuntimeData } from "../runtime_data.ts";
import { Session } from "../session.ts";

/** The G.711 law. */
export type Law = "mulaw" | "alaw";

/** Takes every output that is ready now. */
function ready(session: Session): RuntimeData[] {
  const outputs: RuntimeData[] = [];
  for (let out = session.poll(); out !== undefined; out = session.poll()) outputs.push(out);
  return outputs;
}

/** Pushes one item and takes the outputs it produced (inline sessions run the graph in the call). */
async function pushAndTake(session: Session, data: RuntimeData): Promise<RuntimeData[]> {
  const outputs: RuntimeData[] = [];
  while (!session.tryPush(data)) {
    const out = await session.next(); // queues full: take an output to make room
    if (out === undefined) break;
    outputs.push(out);
  }
  outputs.push(...ready(session));
  return outputs;
}

/** G.711 bytes → i16 audio with a fixed layout. */
export class G711Decoder {
  #session: Session;

  /** A decoder of `law` bytes carrying `channels` interleaved channels at `sampleRate`. */
  constructor(law: Law, sampleRate: number, channels: number) {
    this.#session = Session.create({
      version: 1,
      nodes: [{
        id: "decode",
        type: "G711",
        params: { mode: "decode", law, sampleRate, channels },
      }],
    }, { execution: "inline" });
  }

  /** Decodes `bytes` (copied once into native memory); the caller owns the returned audio. */
  async decode(bytes: Uint8Array): Promise<RuntimeData> {
    using input = RuntimeData.binary(bytes);
    const outputs = await pushAndTake(this.#session, input);
    return outputs[0];
  }

  /** Frees the native session. */
  dispose(): void {
    this.#session.dispose();
  }
}

/**
 * Audio of any layout → G.711 bytes at `sampleRate` (8 kHz) mono: `ChannelMix` when the audio is
 * not mono, `Resample` when its rate differs, then `G711` encode. The chain is built for the first
 * item's layout and rebuilt (the old one flushed first) when the layout changes.
 */
export class TelephonyEncoder {
  #law: Law;
  #rate: number;
  #session?: Session;
  #layout = "";

  /** An encoder to `law` at `sampleRate` mono. */
  constructor(law: Law, sampleRate = 8000) {
    this.#law = law;
    this.#rate = sampleRate;
  }

  /** Encodes one audio item; returns the bytes ready so far (a resampler holds ~20 ms back). */
  async encode(audio: RuntimeData): Promise<Uint8Array[]> {
    const view = audio.asAudio();
    const layout = `${view.sampleRate}/${view.channels}`;
    const bytes: Uint8Array[] = [];
    if (layout !== this.#layout) {
      bytes.push(...await this.flush());
      this.#session = Session.create(this.#manifest(view.sampleRate, view.channels), {
        execution: "inline",
      });
      this.#layout = layout;
    }
    return [...bytes, ...take(await pushAndTake(this.#session!, audio))];
  }

  /** Ends the current chain and returns its last bytes (a resampler's tail). */
  async flush(): Promise<Uint8Array[]> {
    const session = this.#session;
    if (!session) return [];
    this.#session = undefined;
    this.#layout = "";
    const outputs: RuntimeData[] = [];
    try {
      session.close();
      for (let out = await session.next(); out; out = await session.next()) outputs.push(out);
    } finally {
      session.dispose();
    }
    return take(outputs);
  }

  /** Drops what the chain holds (barge-in: that audio is stale). */
  interrupt(): void {
    this.#session?.interrupt();
  }

  /** Frees the native session. */
  dispose(): void {
    this.#session?.dispose();
    this.#session = undefined;
    this.#layout = "";
  }

  #manifest(sampleRate: number, channels: number): Manifest {
    const nodes: NodeSpec[] = [];
    if (channels !== 1) nodes.push({ id: "mono", type: "ChannelMix", params: { mode: "mono" } });
    if (sampleRate !== this.#rate) {
      nodes.push({ id: "resample", type: "Resample", params: { targetRate: this.#rate } });
    }
    nodes.push({ id: "encode", type: "G711", params: { mode: "encode", law: this.#law } });
    const connections = nodes.slice(1).map((n, i) => ({ from: nodes[i].id, to: n.id }));
    return { version: 1, nodes, connections };
  }
}

/** The bytes of binary outputs (copied out, then the outputs released). */
function take(outputs: RuntimeData[]): Uint8Array[] {
  return outputs.map((out) => {
    try {
      return out.asBinary().slice();
    } finally {
      out.dispose();
    }
  });
}
