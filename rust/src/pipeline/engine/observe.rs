//! Observation: per-node call statistics (counts, time, recent durations for percentiles), the event
//! log (kept only while someone listens) and metrics snapshots — as typed values whose JSON is what
//! TypeScript reads (`session.events()`, `session.stats()`); `ts_declarations` (tests only) gives their
//! TypeScript types for the generated contract module.

use super::{Engine, Failure};
use crate::nodes::{NodeEvent, Outputs};
use serde::Serialize;
use std::collections::VecDeque;
use std::time::Instant;

/// Something that happened in a session (JSON: `{type: "<snake_case kind>", ...camelCase fields}`).
/// Times are microseconds since the session started.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum SessionEvent {
    /// A native node finished `initialize` (replayed to a new listener).
    NodeStarted {
        /// Node id.
        node: String,
        /// When.
        at_us: f64,
    },
    /// A native node ran `cleanup`.
    NodeFinished {
        /// Node id.
        node: String,
        /// When.
        at_us: f64,
    },
    /// A node finished one call (`process`, a join, `resume`, a flush, a host task).
    Process {
        /// Node id.
        node: String,
        /// When the call started.
        start_us: f64,
        /// How long it took.
        duration_us: f64,
        /// Items the call emitted (native nodes; a host task's emits are counted in the metrics).
        #[serde(skip_serializing_if = "Option::is_none")]
        #[cfg_attr(test, ts(optional))]
        items_out: Option<usize>,
        /// When the event was recorded.
        at_us: f64,
    },
    /// An item was dropped on a `dropOldest` edge into `node`.
    Drop {
        /// The node whose input queue dropped it.
        node: String,
        /// The node that produced it.
        from: String,
        /// When.
        at_us: f64,
    },
    /// A node failed.
    Error {
        /// Node id.
        node: String,
        /// Node type.
        node_type: String,
        /// What went wrong.
        message: String,
        /// When.
        at_us: f64,
    },
    /// An event a node reported (its kinds are listed in the node's schema).
    #[serde(untagged)]
    Node(NodeEventRecord),
}

/// A node event with the node that reported it: `{type, ...event fields, node, atUs}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct NodeEventRecord {
    /// The event.
    #[serde(flatten)]
    pub event: NodeEvent,
    /// Node id.
    pub node: String,
    /// When it was recorded.
    pub at_us: f64,
}

/// The recorded events taken at once, and how many were dropped because nobody took them in time.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct EventBatch {
    /// Oldest first.
    pub events: Vec<SessionEvent>,
    /// Events dropped since the previous batch (the log keeps the newest 8192).
    #[cfg_attr(test, ts(type = "number"))]
    pub dropped: u64,
}

/// Counters and call durations of one node.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct NodeMetrics {
    /// Node id.
    pub id: String,
    /// Node type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Items received.
    #[cfg_attr(test, ts(type = "number"))]
    pub items_in: u64,
    /// Items emitted.
    #[cfg_attr(test, ts(type = "number"))]
    pub items_out: u64,
    /// Time spent in the node's calls.
    pub total_ms: f64,
    /// Longest single call.
    pub max_ms: f64,
    /// Median duration of the node's recent calls (last 1024).
    pub p50_ms: f64,
    /// 95th percentile of the node's recent calls (last 1024).
    pub p95_ms: f64,
    /// Items skipped after errors (`skipErrors`).
    #[cfg_attr(test, ts(type = "number"))]
    pub errors: u64,
    /// Items waiting in the node's input queues.
    pub queue_depth: usize,
    /// Items dropped on the node's `dropOldest` input edges.
    #[cfg_attr(test, ts(type = "number"))]
    pub dropped: u64,
    /// For a converter that format negotiation inserted: the id of the node it converts for.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub converts_for: Option<String>,
}

/// A snapshot of a session's metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SessionMetrics {
    /// The session's phase (`Phase` as a number).
    pub phase: i32,
    /// Per node, in manifest order, each converter format negotiation inserted just before the node
    /// it converts for.
    pub nodes: Vec<NodeMetrics>,
    /// Items waiting to enter the graph.
    pub input_queue: usize,
    /// Outputs waiting to be taken.
    pub output_queue: usize,
}

/// The TypeScript declarations of the event and metrics types (`/** doc */ type X = ...;`), for the
/// generated contract module.
#[cfg(test)]
pub(crate) fn ts_declarations() -> Vec<String> {
    use ts_rs::TS;
    fn documented<T: TS>() -> String {
        format!("{}{}", T::DOCS.unwrap_or_default(), T::decl())
    }
    vec![
        documented::<NodeEvent>(),
        documented::<NodeEventRecord>(),
        documented::<SessionEvent>(),
        documented::<EventBatch>(),
        documented::<NodeMetrics>(),
        documented::<SessionMetrics>(),
    ]
}

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
    total_ns: u64,
    /// Longest single call.
    max_ns: u64,
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
pub(super) struct EventLog {
    events: VecDeque<SessionEvent>,
    dropped: u64,
}

/// Events kept before the oldest are dropped (and counted).
const EVENT_CAPACITY: usize = 8192;

impl EventLog {
    fn push(&mut self, event: SessionEvent) {
        if self.events.len() >= EVENT_CAPACITY {
            self.events.pop_front();
            self.dropped += 1;
        }
        self.events.push_back(event);
    }
}

impl Engine {
    /// Microseconds from the session's start to `t`.
    fn since(&self, t: Instant) -> f64 {
        (t.saturating_duration_since(self.origin).as_nanos() as f64 / 1000.0).round()
    }

    /// Records an event while someone listens.
    fn record(&mut self, event: impl FnOnce(&Self) -> SessionEvent) {
        if let Some(mut log) = self.events.take() {
            log.push(event(self));
            self.events = Some(log);
        }
    }

    /// Records a finished call of node `n` that started at `start` (statistics, and a `process` event
    /// while someone listens); `items_out` is known for native calls.
    pub(super) fn finished_call(&mut self, n: usize, start: Instant, items_out: Option<usize>) {
        let elapsed = start.elapsed().as_nanos() as u64;
        self.slots[n].stats.record(elapsed);
        self.record(|e| SessionEvent::Process {
            node: e.slots[n].id.clone(),
            start_us: e.since(start),
            duration_us: elapsed as f64 / 1000.0,
            items_out,
            at_us: e.since(Instant::now()),
        });
    }

    /// Forwards the node events node `n` reported during a call while someone listens (and drops
    /// them otherwise).
    pub(super) fn record_node_events(&mut self, n: usize, out: &mut Outputs) {
        if out.events().is_empty() {
            return;
        }
        let Some(log) = self.events.as_mut() else {
            out.take_events();
            return;
        };
        let slot = &self.slots[n];
        let at_us = (self.origin.elapsed().as_nanos() as f64 / 1000.0).round();
        for event in out.take_events() {
            debug_assert!(
                slot.events.contains(&event.kind()),
                "node {} ({}) reported an event its schema does not list: {}",
                slot.id,
                slot.type_name,
                event.kind()
            );
            log.push(SessionEvent::Node(NodeEventRecord {
                event,
                node: slot.id.clone(),
                at_us,
            }));
        }
    }

    /// Records an item dropped on a `dropOldest` edge from node `from` into node `to`.
    pub(super) fn record_drop(&mut self, to: usize, from: usize) {
        self.record(|e| SessionEvent::Drop {
            node: e.slots[to].id.clone(),
            from: e.slots[from].id.clone(),
            at_us: e.since(Instant::now()),
        });
    }

    /// Records a node failure while someone listens.
    pub(super) fn record_failure(&mut self, failure: &Failure) {
        self.record(|e| SessionEvent::Error {
            node: failure.node_id.clone(),
            node_type: failure.node_type.clone(),
            message: failure.message.clone(),
            at_us: e.since(Instant::now()),
        });
    }

    /// Records a native node's start (`started`) or end: always for starts (they happen before anyone
    /// can listen, at most one per node), and for ends while someone listens.
    pub(super) fn lifecycle(&mut self, n: usize, started: bool) {
        let node = self.slots[n].id.clone();
        let at_us = self.since(Instant::now());
        if started {
            self.started.push(SessionEvent::NodeStarted { node, at_us });
            let event = self.started.last().expect("just pushed").clone();
            self.record(|_| event);
        } else {
            self.record(|_| SessionEvent::NodeFinished { node, at_us });
        }
    }

    /// Starts or stops recording events. Stopping discards what was not drained.
    pub fn set_events(&mut self, enabled: bool) {
        self.events = if enabled {
            Some(self.events.take().unwrap_or_else(|| {
                // A new listener first hears how the native nodes started (they start at creation).
                EventLog {
                    events: self.started.iter().cloned().collect(),
                    dropped: 0,
                }
            }))
        } else {
            None
        };
    }

    /// Takes the recorded events (and how many were dropped because nobody drained them in time).
    pub fn drain_events(&mut self) -> EventBatch {
        match self.events.as_mut() {
            Some(log) => EventBatch {
                events: log.events.drain(..).collect(),
                dropped: std::mem::take(&mut log.dropped),
            },
            None => EventBatch::default(),
        }
    }

    /// Node indices in manifest order, each converter (in the order it was inserted) just before the
    /// node it converts for: how people read a graph.
    pub fn display_order(&self) -> Vec<usize> {
        let mut order = Vec::with_capacity(self.slots.len());
        for (i, slot) in self.slots.iter().enumerate() {
            if slot.converts_for.is_some() {
                continue;
            }
            order.extend((0..self.slots.len()).filter(|&c| self.slots[c].converts_for == Some(i)));
            order.push(i);
        }
        order
    }

    /// Per-node metrics (manifest order, converters before the node they convert for); the session's
    /// own queues are left at 0 for it to fill in.
    pub fn metrics(&self) -> SessionMetrics {
        let nodes = self
            .display_order()
            .into_iter()
            .map(|i| &self.slots[i])
            .map(|s| {
                let inputs = || s.inputs.iter().flatten().map(|&e| &self.edges[e]);
                NodeMetrics {
                    id: s.id.clone(),
                    type_name: s.type_name.clone(),
                    items_in: s.stats.items_in,
                    items_out: s.stats.items_out,
                    total_ms: s.stats.total_ns as f64 / 1e6,
                    max_ms: s.stats.max_ns as f64 / 1e6,
                    p50_ms: s.stats.percentile_ms(0.5),
                    p95_ms: s.stats.percentile_ms(0.95),
                    errors: s.stats.errors,
                    queue_depth: inputs().map(|e| e.queue.len()).sum(),
                    dropped: inputs().map(|e| e.dropped).sum(),
                    converts_for: s.converts_for.map(|to| self.slots[to].id.clone()),
                }
            })
            .collect();
        SessionMetrics {
            phase: self.phase as i32,
            nodes,
            input_queue: 0,
            output_queue: 0,
        }
    }
}
