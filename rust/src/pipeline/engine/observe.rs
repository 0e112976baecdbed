//! Observation: per-node call statistics (counts, time, recent durations for percentiles), the event
//! log (kept only while someone listens) and metrics snapshots.

use super::Engine;
use crate::data::RuntimeData;
use crate::nodes::Outputs;
use serde_json::json;
use std::collections::VecDeque;
use std::time::Instant;

/// How many recent call durations each node keeps for its p50/p95.
const DURATION_WINDOW: usize = 1024;

/// Per-node counters and recent call durations.
#[derive(Debug, Default, Clone)]
pub(super) struct CallStats {
    /// Items received.
    pub items_in: u64,
    /// Items emitted.
    pub items_out: u64,
    /// Time spent in the node (every call: process, resume, flush; a host task from dispatch to
    /// completion).
    pub total_ns: u64,
    /// Longest single call.
    pub max_ns: u64,
    /// Items skipped after an error (nodes with `skipErrors`).
    pub errors: u64,
    /// The last DURATION_WINDOW call durations (ns), for percentiles.
    durations: Vec<u32>,
    durations_next: usize,
}

impl CallStats {
    fn record(&mut self, elapsed_ns: u64) {
        self.total_ns += elapsed_ns;
        self.max_ns = self.max_ns.max(elapsed_ns);
        let d = elapsed_ns.min(u32::MAX as u64) as u32;
        if self.durations.len() < DURATION_WINDOW {
            self.durations.push(d);
        } else {
            self.durations[self.durations_next] = d;
        }
        self.durations_next = (self.durations_next + 1) % DURATION_WINDOW;
    }

    /// How many calls the percentiles are computed over (at most the window).
    #[cfg(test)]
    pub fn recent_calls(&self) -> usize {
        self.durations.len()
    }

    /// The q-quantile (0..=1) of recent durations, in milliseconds.
    fn percentile_ms(&self, q: f64) -> f64 {
        if self.durations.is_empty() {
            return 0.0;
        }
        let mut sorted = self.durations.clone();
        sorted.sort_unstable();
        let i = ((sorted.len() - 1) as f64 * q).round() as usize;
        sorted[i] as f64 / 1e6
    }
}

/// A bounded log of what happened in a session, kept only while someone listens.
pub struct EventLog {
    events: VecDeque<serde_json::Value>,
    dropped: u64,
    origin: Instant,
}

/// Events kept before the oldest are dropped (and counted).
const EVENT_CAPACITY: usize = 8192;

impl EventLog {
    fn new(origin: Instant) -> Self {
        EventLog {
            events: VecDeque::new(),
            dropped: 0,
            origin,
        }
    }

    fn push(&mut self, mut event: serde_json::Value) {
        if event.get("atUs").is_none() {
            event["atUs"] = self.since(Instant::now()).into();
        }
        if self.events.len() >= EVENT_CAPACITY {
            self.events.pop_front();
            self.dropped += 1;
        }
        self.events.push_back(event);
    }

    /// Microseconds from the session's start to `t`.
    fn since(&self, t: Instant) -> f64 {
        (t.saturating_duration_since(self.origin).as_nanos() as f64 / 1000.0).round()
    }
}

impl Engine {
    /// Records a finished call of node `n` that started at `start` (statistics, and a `process` event
    /// while someone listens); `items_out` is known for native calls.
    pub(super) fn finished_call(&mut self, n: usize, start: Instant, items_out: Option<usize>) {
        let elapsed = start.elapsed().as_nanos() as u64;
        let slot = &mut self.slots[n];
        slot.stats.record(elapsed);
        if let Some(log) = self.events.as_mut() {
            let mut event = json!({
                "type": "process",
                "node": slot.id,
                "startUs": log.since(start),
                "durationUs": elapsed as f64 / 1000.0,
            });
            if let Some(count) = items_out {
                event["itemsOut"] = count.into();
            }
            log.push(event);
        }
    }

    /// Records the events among the outputs of node `n` while someone listens.
    pub(super) fn record_node_events(&mut self, n: usize, out: &Outputs) {
        if let Some(log) = self.events.as_mut() {
            for item in out.iter() {
                if let RuntimeData::Json(v, ..) = &**item {
                    if v["type"] == "speech_start" || v["type"] == "speech_end" {
                        let mut event = v.clone();
                        event["node"] = self.slots[n].id.clone().into();
                        log.push(event);
                    }
                }
            }
        }
    }

    /// Records an item dropped on a `dropOldest` edge from node `from` into node `to`.
    pub(super) fn record_drop(&mut self, to: usize, from: usize) {
        if let Some(log) = self.events.as_mut() {
            log.push(
                json!({"type": "drop", "node": self.slots[to].id, "from": self.slots[from].id}),
            );
        }
    }

    /// Records a node failure while someone listens.
    pub(super) fn record_failure(&mut self, failure: &super::Failure) {
        if let Some(log) = self.events.as_mut() {
            log.push(json!({"type": "error", "node": failure.node_id, "nodeType": failure.node_type, "message": failure.message}));
        }
    }

    /// Records a native node's start (`started`) or end: always for starts (they happen before anyone
    /// can listen, at most one per node), and for ends while someone listens.
    pub(super) fn lifecycle(&mut self, n: usize, started: bool) {
        let kind = if started {
            "node_started"
        } else {
            "node_finished"
        };
        let at = (self.origin.elapsed().as_nanos() as f64 / 1000.0).round();
        let event = json!({ "type": kind, "node": self.slots[n].id, "atUs": at });
        if started {
            self.started.push(event.clone());
        }
        if let Some(log) = self.events.as_mut() {
            log.push(event);
        }
    }

    /// Starts or stops recording events. Stopping discards what was not drained.
    pub fn set_events(&mut self, enabled: bool) {
        self.events = if enabled {
            Some(self.events.take().unwrap_or_else(|| {
                // A new listener first hears how the native nodes started (they start at creation).
                let mut log = EventLog::new(self.origin);
                for event in &self.started {
                    log.push(event.clone());
                }
                log
            }))
        } else {
            None
        };
    }

    /// Takes the recorded events (and how many were dropped because nobody drained them in time).
    pub fn drain_events(&mut self) -> serde_json::Value {
        match self.events.as_mut() {
            Some(log) => {
                let events: Vec<serde_json::Value> = log.events.drain(..).collect();
                let dropped = std::mem::take(&mut log.dropped);
                json!({ "events": events, "dropped": dropped })
            }
            None => json!({ "events": [], "dropped": 0 }),
        }
    }

    /// Per-node metrics as JSON (manifest order).
    pub fn metrics_json(&self) -> serde_json::Value {
        let nodes: Vec<serde_json::Value> = self
            .slots
            .iter()
            .map(|s| {
                let queue: usize = s
                    .inputs
                    .iter()
                    .flatten()
                    .map(|&e| self.edges[e].queue.len())
                    .sum();
                let dropped: u64 = s
                    .inputs
                    .iter()
                    .flatten()
                    .map(|&e| self.edges[e].dropped)
                    .sum();
                json!({
                    "id": s.id,
                    "type": s.type_name,
                    "itemsIn": s.stats.items_in,
                    "itemsOut": s.stats.items_out,
                    "totalMs": s.stats.total_ns as f64 / 1e6,
                    "maxMs": s.stats.max_ns as f64 / 1e6,
                    "p50Ms": s.stats.percentile_ms(0.5),
                    "p95Ms": s.stats.percentile_ms(0.95),
                    "errors": s.stats.errors,
                    "queueDepth": queue,
                    "dropped": dropped,
                })
            })
            .collect();
        json!({ "phase": self.phase as i32, "nodes": nodes })
    }
}
