/**
 * Tracing: map the session's per-node spans onto OpenTelemetry-style spans (trace id, span id, parent,
 * start/end in nanoseconds, attributes) without depending on an OTel package — hand them to your
 * exporter. One root span per run, one child span per node call.
 *
 * Run: `deno run -A examples/tracing.ts` or `bun run examples/tracing.ts`.
 *
 * @module
 */
import { PipelineBuilder, RuntimeData, Session, type TraceSpan } from "../mod.ts";

/** The shape OTLP exporters take (the fields that matter here). */
export interface OtelSpan {
  /** 32 hex digits, shared by every span of the run. */
  traceId: string;
  /** 16 hex digits. */
  spanId: string;
  /** The root span's id, for node spans. */
  parentSpanId?: string;
  /** Span name. */
  name: string;
  /** Start, in nanoseconds since the Unix epoch. */
  startTimeUnixNano: bigint;
  /** End, in nanoseconds since the Unix epoch. */
  endTimeUnixNano: bigint;
  /** Attributes. */
  attributes: Record<string, string | number>;
}

function hex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

const toUnixNano = (ms: number) => BigInt(Math.round((performance.timeOrigin + ms) * 1e6));

/** Runs `frames` 20 ms frames through a small graph and returns the spans it produced. */
export async function traceRun(frames = 10): Promise<OtelSpan[]> {
  const traceId = hex(16);
  const rootId = hex(8);
  const spans: OtelSpan[] = [];
  const started = performance.now();
  const session = Session.create(
    new PipelineBuilder()
      .node("gain", "Gain", { gainDb: -6 })
      .node("resample", "Resample", { targetRate: 16000 })
      .chain("gain", "resample")
      .build(),
    {
      tracer: {
        onSpan: (s: TraceSpan) =>
          spans.push({
            traceId,
            spanId: hex(8),
            parentSpanId: rootId,
            name: s.name,
            startTimeUnixNano: toUnixNano(s.startTime),
            endTimeUnixNano: toUnixNano(s.endTime),
            attributes: { "remotemedia.node.id": s.nodeId },
          }),
      },
    },
  );
  for (let i = 0; i < frames; i++) {
    using frame = RuntimeData.audio({ samples: new Float32Array(960), sampleRate: 48000 });
    await session.push(frame);
  }
  session.close();
  for await (const out of session) out.dispose();
  session.dispose();
  spans.unshift({
    traceId,
    spanId: rootId,
    name: "remotemedia.session",
    startTimeUnixNano: toUnixNano(started),
    endTimeUnixNano: toUnixNano(performance.now()),
    attributes: { "remotemedia.frames": frames },
  });
  return spans;
}

if (import.meta.main) {
  for (const s of await traceRun(3)) {
    const us = Number(s.endTimeUnixNano - s.startTimeUnixNano) / 1000;
    console.log(`${s.parentSpanId ? "  " : ""}${s.name} ${us.toFixed(1)} µs`);
  }
}
