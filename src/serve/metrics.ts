/**
 * The counters of one server and their Prometheus text rendering (`/metrics`): sessions active,
 * total, refused and ended (by reason), frames in and out, drops, errors, and per-node p50/p95
 * latencies taken from `session.stats()`.
 *
 * @module
 */
import type { SessionStats } from "../observability.ts";

/** Per-node timings kept for `/metrics`. */
interface NodeSummary {
  type: string;
  /** Items processed, summed over the sessions counted. */
  items: number;
  /** Σ p50 × items, Σ p95 × items (so the exported value is an items-weighted mean). */
  p50Weighted: number;
  p95Weighted: number;
}

/** How many ended sessions' node timings `/metrics` keeps next to the active sessions'. */
const RECENT_SESSIONS = 100;

/** A server's counters. */
export class ServerMetrics {
  /** Sessions open now. */
  sessionsActive = 0;
  /** Sessions started since the server started, per protocol. */
  readonly sessionsTotal: Record<string, number> = { native: 0, twilio: 0 };
  /** Connections refused (server full or draining). */
  sessionsRefused = 0;
  /** Sessions ended, per reason (closed, ended, shutdown, client_gone, idle, protocol, failed, too_big). */
  readonly sessionsEnded: Record<string, number> = {};
  /** Input frames received. */
  framesIn = 0;
  /** Outputs sent. */
  framesOut = 0;
  /** Input frames dropped (a connection's input queue was full) or outputs the socket dropped. */
  dropped = 0;
  /** Sessions that ended with an error (a node failure, a protocol error). */
  errors = 0;
  /** Node stats of the most recently ended sessions. */
  #recent: SessionStats[] = [];

  /** Records the final stats of an ended session. */
  recordEnded(stats: SessionStats | undefined, reason: string): void {
    this.sessionsEnded[reason] = (this.sessionsEnded[reason] ?? 0) + 1;
    if (!stats) return;
    this.#recent.push(stats);
    if (this.#recent.length > RECENT_SESSIONS) this.#recent.shift();
  }

  /**
   * The Prometheus text exposition. Node latencies are the items-weighted means of each node's
   * p50/p95 over the active sessions and the last 100 that ended (`active`: their stats now).
   */
  render(active: SessionStats[], draining: boolean): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    metric("remotemedia_sessions_active", "gauge", "Sessions open now.", [[
      "",
      this.sessionsActive,
    ]]);
    metric(
      "remotemedia_sessions_total",
      "counter",
      "Sessions started, per protocol.",
      Object.entries(this.sessionsTotal).map(([p, n]) => [`{protocol="${p}"}`, n]),
    );
    metric(
      "remotemedia_sessions_refused_total",
      "counter",
      "Connections refused (full or draining).",
      [[
        "",
        this.sessionsRefused,
      ]],
    );
    metric(
      "remotemedia_sessions_ended_total",
      "counter",
      "Sessions ended, per reason.",
      Object.entries(this.sessionsEnded).map(([r, n]) => [`{reason="${r}"}`, n]),
    );
    metric("remotemedia_frames_in_total", "counter", "Input frames received.", [[
      "",
      this.framesIn,
    ]]);
    metric("remotemedia_frames_out_total", "counter", "Outputs sent.", [["", this.framesOut]]);
    metric("remotemedia_frames_dropped_total", "counter", "Frames dropped (full queues).", [[
      "",
      this.dropped,
    ]]);
    metric("remotemedia_errors_total", "counter", "Sessions ended by an error.", [[
      "",
      this.errors,
    ]]);
    metric("remotemedia_draining", "gauge", "1 while the server drains before exiting.", [[
      "",
      draining ? 1 : 0,
    ]]);
    const nodes = new Map<string, NodeSummary>();
    for (const stats of [...this.#recent, ...active]) {
      for (const node of stats.nodes) {
        const summary = nodes.get(node.id) ??
          { type: node.type, items: 0, p50Weighted: 0, p95Weighted: 0 };
        summary.items += node.itemsIn;
        summary.p50Weighted += node.p50Ms * node.itemsIn;
        summary.p95Weighted += node.p95Ms * node.itemsIn;
        nodes.set(node.id, summary);
      }
    }
    const latency: [string, number][] = [];
    const items: [string, number][] = [];
    for (const [id, s] of nodes) {
      const labels = `node="${escapeLabel(id)}",type="${escapeLabel(s.type)}"`;
      const mean = (sum: number) => s.items > 0 ? sum / s.items : 0;
      latency.push([`{${labels},quantile="0.5"}`, round(mean(s.p50Weighted))]);
      latency.push([`{${labels},quantile="0.95"}`, round(mean(s.p95Weighted))]);
      items.push([`{${labels}}`, s.items]);
    }
    metric(
      "remotemedia_node_latency_ms",
      "gauge",
      "Per-node processing time per item (ms): items-weighted mean of the sessions' p50/p95.",
      latency,
    );
    metric("remotemedia_node_items", "gauge", "Items behind remotemedia_node_latency_ms.", items);
    return lines.join("\n") + "\n";
  }
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
