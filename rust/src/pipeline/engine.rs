//! The executor: runs a planned graph "until blocked". Items move through bounded edge queues in
//! topological order; a node runs only when it has input and room downstream, so a slow consumer
//! stops the graph (and then `push`) instead of growing memory. Nothing is dropped except on edges the
//! manifest marks `dropOldest`, and those drops are counted.

use super::entries::{bit, Entries, Route};
use super::manifest::{EdgePolicy, Plan};
use crate::data::{DataType, RuntimeData};
use crate::nodes::{Node, NodeError, Outputs};
use serde_json::json;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Phase {
    /// Accepting input.
    Running = 0,
    /// Input closed; draining and flushing.
    Closing = 1,
    /// Every node flushed and cleaned up.
    Ended = 2,
    /// A node failed; every node cleaned up.
    Failed = 3,
    /// Aborted by the caller; every node cleaned up.
    Aborted = 4,
}

impl Phase {
    /// True once no more work will happen.
    pub fn is_terminal(self) -> bool {
        matches!(self, Phase::Ended | Phase::Failed | Phase::Aborted)
    }
}

/// Per-node counters.
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    /// Items received.
    pub items_in: u64,
    /// Items emitted.
    pub items_out: u64,
    /// Time spent in the node (process, resume, flush).
    pub total_ns: u64,
    /// Longest single call.
    pub max_ns: u64,
    /// Items skipped after an error (nodes with `skipErrors`).
    pub errors: u64,
}

/// An item in a queue, with the time it entered the session (for end-to-end latency).
type Queued = (Arc<RuntimeData>, Instant);

struct Edge {
    port: usize,
    /// Index of the node the edge feeds.
    to: usize,
    queue: VecDeque<Queued>,
    capacity: usize,
    policy: EdgePolicy,
    dropped: u64,
}

impl Edge {
    fn has_room(&self) -> bool {
        self.policy == EdgePolicy::DropOldest || self.queue.len() < self.capacity
    }

    /// Queues an item; returns true when the oldest item was dropped to make room.
    fn push(&mut self, item: Queued) -> bool {
        let mut dropped = false;
        if self.policy == EdgePolicy::DropOldest && self.queue.len() >= self.capacity {
            self.queue.pop_front();
            self.dropped += 1;
            dropped = true;
        }
        self.queue.push_back(item);
        dropped
    }
}

struct Slot {
    id: String,
    type_name: String,
    /// `None` for host (TypeScript) nodes: their work is dispatched as [`Task`]s.
    node: Option<Box<dyn Node>>,
    /// Ticket of the host task in progress (host nodes handle one item at a time, in order).
    busy: Option<u64>,
    dispatched_at: Option<Instant>,
    /// Edges into each port.
    inputs: Vec<Vec<usize>>,
    outputs: Vec<usize>,
    joins: bool,
    skip_errors: bool,
    /// Data types the node declares it emits (a bit per type): a host node emitting another type fails.
    emits: u8,
    metrics: Metrics,
    initialized: bool,
    cleaned: bool,
    /// Round-robin cursor over input edges, so no upstream starves another.
    cursor: usize,
    /// Number of input edges over all ports.
    edge_count: usize,
    /// When the input being processed entered the session (outputs inherit it).
    entered: Instant,
    /// The last DURATION_WINDOW call durations (ns), for percentiles.
    durations: Vec<u32>,
    durations_next: usize,
}

/// How many recent call durations each node keeps for its p50/p95.
const DURATION_WINDOW: usize = 1024;

impl Slot {
    fn record(&mut self, elapsed_ns: u64) {
        self.metrics.total_ns += elapsed_ns;
        self.metrics.max_ns = self.metrics.max_ns.max(elapsed_ns);
        let d = elapsed_ns.min(u32::MAX as u64) as u32;
        if self.durations.len() < DURATION_WINDOW {
            self.durations.push(d);
        } else {
            self.durations[self.durations_next] = d;
        }
        self.durations_next = (self.durations_next + 1) % DURATION_WINDOW;
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

/// The earliest entry time of joined items.
fn earliest(items: &[(usize, Queued)]) -> Instant {
    items
        .iter()
        .map(|(_, (_, t))| *t)
        .min()
        .unwrap_or_else(Instant::now)
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

/// A node failure, with the node's identity.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Node id.
    pub node_id: String,
    /// Node type.
    pub node_type: String,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "node \"{}\" ({}) failed: {}",
            self.node_id, self.node_type, self.message
        )
    }
}

/// What a host node is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum TaskKind {
    /// Process the task's items (one, or one per port for joining nodes).
    Process = 0,
    /// End of stream: emit whatever is buffered.
    Flush = 1,
}

/// Work for a host (TypeScript) node, identified by a ticket.
#[derive(Debug)]
pub struct Task {
    /// Identifies the task in `emit` / `complete` / `fail_task`.
    pub ticket: u64,
    /// Node index (manifest order).
    pub node: usize,
    /// Input port of a single item.
    pub port: usize,
    /// Process or flush.
    pub kind: TaskKind,
    /// The items (empty for a flush).
    pub items: Vec<Arc<RuntimeData>>,
    /// The input port of each item (`[port]` for one item; for a join, the ports that had an item:
    /// all of them normally, fewer when the join stopped waiting — see [`Engine`]'s join rules).
    pub ports: Vec<usize>,
}

/// Result of a host node's emit.
#[derive(Debug, PartialEq, Eq)]
pub enum Emit {
    /// Routed downstream.
    Accepted,
    /// No room downstream: emit again after progress.
    Full,
    /// The task no longer exists (interrupted, aborted, failed): stop producing.
    Cancelled,
}

/// The output side of the executor: where sink outputs go, and how much room there is.
pub trait Sink {
    /// Room for one more output of sink node `node` (each sink is bounded on its own).
    fn has_room(&self, node: usize) -> bool;
    /// Delivers an output from node `node`; `entered` is when the input it derives from entered.
    fn deliver(&mut self, node: usize, item: Arc<RuntimeData>, entered: Instant);
    /// Hands work to the host (TypeScript nodes).
    fn dispatch(&mut self, task: Task);
}

/// A running graph.
pub struct Engine {
    slots: Vec<Slot>,
    edges: Vec<Edge>,
    /// Session input edges, one per entry node (no incoming connection, not a source), in the order
    /// of `entry_table`.
    entries: Vec<usize>,
    entry_table: Entries,
    order: Vec<usize>,
    /// Nodes whose `flush` ran (at end of stream, each once its upstream is done and its input drained).
    flushed: Vec<bool>,
    /// The nodes feeding each node (by edge), for the end-of-stream order.
    upstream: Vec<Vec<usize>>,
    phase: Phase,
    failure: Option<Failure>,
    scratch: Outputs,
    next_ticket: u64,
    /// Present while an event listener is attached.
    events: Option<EventLog>,
    /// `node_started` events of the native nodes (recorded at creation, replayed to a new listener).
    started: Vec<serde_json::Value>,
    origin: Instant,
}

enum Work {
    One(usize, Queued),
    /// One item per port that had one, with its port index.
    Joined(Vec<(usize, Queued)>),
    Resume,
}

impl Engine {
    /// Instantiates every node of a plan; `input_capacity` bounds each entry queue.
    pub fn new(plan: Plan, input_capacity: usize) -> Result<Self, Failure> {
        let mut slots = Vec::with_capacity(plan.nodes.len());
        for n in &plan.nodes {
            let node = match n.node_type {
                Some(t) => Some((t.build)(&n.params).map_err(|message| Failure {
                    node_id: n.id.clone(),
                    node_type: n.schema.type_name.to_string(),
                    message,
                })?),
                None => None,
            };
            slots.push(Slot {
                id: n.id.clone(),
                type_name: n.schema.type_name.to_string(),
                node,
                busy: None,
                dispatched_at: None,
                inputs: vec![Vec::new(); n.ports.len().max(1)],
                outputs: Vec::new(),
                joins: n.schema.joins_inputs,
                skip_errors: n.skip_errors,
                emits: n.schema.outputs.iter().fold(0, |m, &t| m | bit(t)),
                metrics: Metrics::default(),
                initialized: false,
                cleaned: false,
                cursor: 0,
                edge_count: 0,
                entered: Instant::now(),
                durations: Vec::new(),
                durations_next: 0,
            });
        }
        let mut edges = Vec::new();
        let mut upstream = vec![Vec::new(); slots.len()];
        for e in &plan.edges {
            upstream[e.to].push(e.from);
            let index = edges.len();
            edges.push(Edge {
                port: e.port,
                to: e.to,
                queue: VecDeque::new(),
                capacity: e.capacity,
                policy: e.policy,
                dropped: 0,
            });
            slots[e.from].outputs.push(index);
            slots[e.to].inputs[e.port].push(index);
        }
        let mut entries = Vec::new();
        let mut entry_table = Entries::new(slots.iter().map(|s| s.id.clone()).collect());
        for (i, slot) in slots.iter_mut().enumerate() {
            let ports = &plan.nodes[i].ports;
            if ports.is_empty() {
                entry_table.add_source(i, &slot.type_name); // starts by itself: no entry edge
            } else if slot.inputs.iter().all(Vec::is_empty) {
                entry_table.add(i, &slot.type_name, &ports[0].accepts);
                let index = edges.len();
                edges.push(Edge {
                    port: 0,
                    to: i,
                    queue: VecDeque::new(),
                    capacity: input_capacity.max(1),
                    policy: EdgePolicy::Block,
                    dropped: 0,
                });
                slot.inputs[0].push(index);
                entries.push(index);
            }
        }
        for slot in slots.iter_mut() {
            slot.edge_count = slot.inputs.iter().map(Vec::len).sum();
        }
        Ok(Engine {
            slots,
            edges,
            entries,
            entry_table,
            order: plan.order,
            flushed: vec![false; upstream.len()],
            upstream,
            phase: Phase::Running,
            failure: None,
            scratch: Vec::new(),
            next_ticket: 1,
            events: None,
            started: Vec::new(),
            origin: Instant::now(),
        })
    }

    /// Calls `initialize` on every node in topological order; on failure cleans up those initialized.
    pub fn initialize(&mut self) -> Result<(), Failure> {
        for i in self.order.clone() {
            let slot = &mut self.slots[i];
            let Some(node) = slot.node.as_mut() else {
                slot.initialized = true; // host nodes are initialized by the host
                continue;
            };
            let result = catch_unwind(AssertUnwindSafe(|| node.initialize()));
            match flatten(result) {
                Ok(()) => {
                    slot.initialized = true;
                    let id = slot.id.clone();
                    self.lifecycle("node_started", id);
                }
                Err(message) => {
                    self.fail(i, format!("initialize: {message}"));
                    return Err(self.failure.clone().expect("just failed"));
                }
            }
        }
        Ok(())
    }

    /// Current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The failure that ended the session, if any.
    pub fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    /// Node ids in manifest order.
    pub fn node_ids(&self) -> Vec<String> {
        self.slots.iter().map(|s| s.id.clone()).collect()
    }

    /// The entry nodes (and sources), to route pushed items.
    pub fn entries(&self) -> &Entries {
        &self.entry_table
    }

    /// True when entry `k` (position in [`Engine::entries`]) is on `route`.
    fn on_route(&self, k: usize, route: Route) -> bool {
        match route {
            Route::Entry(target) => k == target,
            Route::ByType(t) => self.entry_table.list()[k].accepts(t),
        }
    }

    /// True when every entry queue `route` leads to has room for one more input item.
    pub fn can_accept(&self, route: Route) -> bool {
        self.phase == Phase::Running
            && (0..self.entries.len())
                .all(|k| !self.on_route(k, route) || self.edges[self.entries[k]].has_room())
    }

    /// Feeds one input item to the entry nodes of `route` (see [`Entries::route`]). Call only when
    /// [`Engine::can_accept`].
    pub fn accept(&mut self, item: Arc<RuntimeData>, route: Route) {
        let now = Instant::now();
        for k in 0..self.entries.len() {
            if self.on_route(k, route) {
                let e = self.entries[k];
                self.edges[e].push((item.clone(), now));
            }
        }
    }

    /// Marks the input closed; remaining items drain, then nodes flush in order.
    pub fn close_input(&mut self) {
        if self.phase == Phase::Running {
            self.phase = Phase::Closing;
        }
    }

    fn next_work(&mut self, n: usize, sink: &dyn Sink) -> Option<Work> {
        let slot = &self.slots[n];
        let room = if slot.outputs.is_empty() {
            sink.has_room(n)
        } else {
            slot.outputs.iter().all(|&e| self.edges[e].has_room())
        };
        if !room || slot.busy.is_some() {
            return None;
        }
        if slot.node.as_ref().is_some_and(|n| n.pending()) {
            return Some(Work::Resume);
        }
        if slot.joins {
            // A join waits for one item on every port, but not without bound: once a port's queue is
            // full, waiting longer would stall its producer (and, through shared upstream nodes, the
            // branch the join waits for): then it runs with the ports that have an item.
            let waiting = |port: &Vec<usize>| port.iter().any(|&e| !self.edges[e].queue.is_empty());
            let all = slot.inputs.iter().all(waiting);
            let full = slot
                .inputs
                .iter()
                .flatten()
                .any(|&e| !self.edges[e].has_room());
            if all || full {
                return self.take_join(n);
            }
            return None;
        }
        // Round robin over every input edge (flattened across ports) without allocating.
        let count = slot.edge_count;
        for k in 0..count {
            let at = (slot.cursor + k) % count;
            let e = slot
                .inputs
                .iter()
                .flatten()
                .nth(at)
                .copied()
                .expect("at < edge_count");
            if let Some(item) = self.edges[e].queue.pop_front() {
                let port = self.edges[e].port;
                self.slots[n].cursor = (at + 1) % count;
                return Some(Work::One(port, item));
            }
        }
        None
    }

    /// Takes the front item of every port of join `n` that has one (`None` when none has).
    fn take_join(&mut self, n: usize) -> Option<Work> {
        let mut items = Vec::new();
        for (p, port) in self.slots[n].inputs.iter().enumerate() {
            if let Some(&e) = port.iter().find(|&&e| !self.edges[e].queue.is_empty()) {
                items.push((p, self.edges[e].queue.pop_front().expect("not empty")));
            }
        }
        (!items.is_empty()).then_some(Work::Joined(items))
    }

    /// Runs one call on node `n` (or dispatches it to the host), routes its outputs, and records
    /// metrics. Returns false on failure.
    fn execute(&mut self, n: usize, work: Work, sink: &mut dyn Sink) -> bool {
        if self.slots[n].node.is_none() {
            let (items, ports): (Vec<_>, Vec<_>) = match work {
                Work::One(port, item) => (vec![(port, item)], vec![port]),
                Work::Joined(items) => {
                    let ports = items.iter().map(|(p, _)| *p).collect();
                    (items, ports)
                }
                Work::Resume => return true,
            };
            self.slots[n].entered = earliest(&items);
            let items = items.into_iter().map(|(_, (d, _))| d).collect();
            self.dispatch(n, TaskKind::Process, ports, items, sink);
            return true;
        }
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let slot = &mut self.slots[n];
        let node = slot.node.as_mut().expect("native node");
        let start = Instant::now();
        let result = match work {
            Work::One(port, (item, entered)) => {
                slot.metrics.items_in += 1;
                slot.entered = entered;
                catch_unwind(AssertUnwindSafe(|| node.process(port, item, &mut out)))
            }
            Work::Joined(items) => {
                slot.metrics.items_in += items.len() as u64;
                slot.entered = earliest(&items);
                let mut inputs = vec![None; slot.inputs.len()];
                for (p, (d, _)) in items {
                    inputs[p] = Some(d);
                }
                catch_unwind(AssertUnwindSafe(|| node.process_joined(inputs, &mut out)))
            }
            Work::Resume => catch_unwind(AssertUnwindSafe(|| node.resume(&mut out))),
        };
        self.finished_call(n, start, Some(out.len()));
        let skip_errors = self.slots[n].skip_errors;
        self.settle(n, flatten(result), skip_errors, "", out, sink)
    }

    /// Records a finished call of node `n` (metrics, and a `process` event while someone listens).
    fn finished_call(&mut self, n: usize, start: Instant, items_out: Option<usize>) {
        let elapsed = start.elapsed().as_nanos() as u64;
        let slot = &mut self.slots[n];
        slot.record(elapsed);
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

    /// Ends a native call: on success routes its outputs; on error skips the item (counted) when the
    /// node skips errors, else fails the session (message prefixed with `what`). Returns false on
    /// failure. Gives the output buffer back for reuse.
    fn settle(
        &mut self,
        n: usize,
        result: Result<(), String>,
        skip_errors: bool,
        what: &str,
        mut out: Outputs,
        sink: &mut dyn Sink,
    ) -> bool {
        let ok = match result {
            Ok(()) => true,
            Err(_) if skip_errors => {
                self.slots[n].metrics.errors += 1;
                true
            }
            Err(message) => {
                self.fail(n, format!("{what}{message}"));
                false
            }
        };
        if ok {
            self.route(n, &mut out, sink);
        }
        self.scratch = out;
        ok
    }

    fn dispatch(
        &mut self,
        n: usize,
        kind: TaskKind,
        ports: Vec<usize>,
        items: Vec<Arc<RuntimeData>>,
        sink: &mut dyn Sink,
    ) {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        let slot = &mut self.slots[n];
        slot.metrics.items_in += items.len() as u64;
        slot.busy = Some(ticket);
        slot.dispatched_at = Some(Instant::now());
        sink.dispatch(Task {
            ticket,
            node: n,
            port: ports.first().copied().unwrap_or(0),
            kind,
            items,
            ports,
        });
    }

    fn slot_of_ticket(&self, ticket: u64) -> Option<usize> {
        self.slots.iter().position(|s| s.busy == Some(ticket))
    }

    /// A host node emits one output for the task `ticket`.
    pub fn emit(&mut self, ticket: u64, item: Arc<RuntimeData>, sink: &mut dyn Sink) -> Emit {
        let Some(n) = self.slot_of_ticket(ticket) else {
            return Emit::Cancelled;
        };
        let slot = &self.slots[n];
        let kind = item.data_type();
        if slot.emits & bit(kind) == 0 {
            // The node broke its own declaration: its error, not the next node's "expected … input".
            let declared: Vec<&str> = DataType::all()
                .into_iter()
                .filter(|&t| slot.emits & bit(t) != 0)
                .map(DataType::name)
                .collect();
            let message = format!(
                "emitted {}, but it declares outputs: {}",
                kind.name(),
                declared.join("/")
            );
            self.fail_task(ticket, message);
            return Emit::Cancelled;
        }
        let room = if slot.outputs.is_empty() {
            sink.has_room(n)
        } else {
            slot.outputs.iter().all(|&e| self.edges[e].has_room())
        };
        if !room {
            return Emit::Full;
        }
        let mut out = vec![item];
        self.route(n, &mut out, sink);
        Emit::Accepted
    }

    /// The host finished task `ticket`; returns false when it had been cancelled.
    pub fn complete(&mut self, ticket: u64) -> bool {
        let Some(n) = self.slot_of_ticket(ticket) else {
            return false;
        };
        let slot = &mut self.slots[n];
        slot.busy = None;
        if let Some(at) = slot.dispatched_at.take() {
            self.finished_call(n, at, None);
        }
        true
    }

    /// A host node failed outside any task (e.g. in its initialize): the session fails with its id.
    pub fn fail_node(&mut self, n: usize, message: String) {
        if !self.phase.is_terminal() && n < self.slots.len() {
            self.fail(n, message);
        }
    }

    /// The host node of task `ticket` failed: the session fails with that node's id (or, with
    /// `skipErrors`, the item is counted and skipped).
    pub fn fail_task(&mut self, ticket: u64, message: String) {
        let Some(n) = self.slot_of_ticket(ticket) else {
            return;
        };
        if self.slots[n].skip_errors {
            self.slots[n].metrics.errors += 1;
            self.complete(ticket);
            return;
        }
        self.fail(n, message);
    }

    fn route(&mut self, n: usize, out: &mut Outputs, sink: &mut dyn Sink) {
        let slot = &mut self.slots[n];
        slot.metrics.items_out += out.len() as u64;
        let entered = slot.entered;
        if let Some(log) = self.events.as_mut() {
            for item in out.iter() {
                if let RuntimeData::Json(v, ..) = &**item {
                    if v["type"] == "speech_start" || v["type"] == "speech_end" {
                        let mut event = v.clone();
                        event["node"] = slot.id.clone().into();
                        log.push(event);
                    }
                }
            }
        }
        if slot.outputs.is_empty() {
            for item in out.drain(..) {
                sink.deliver(n, item, entered);
            }
            return;
        }
        let outputs = slot.outputs.clone();
        for item in out.drain(..) {
            for &e in &outputs {
                if self.edges[e].push((item.clone(), entered)) {
                    if let Some(log) = self.events.as_mut() {
                        let to = self.edges[e].to;
                        log.push(json!({"type": "drop", "node": self.slots[to].id, "from": self.slots[n].id}));
                    }
                }
            }
        }
    }

    /// Nothing runs, nothing is queued anywhere: the end, once every node is flushed.
    fn idle(&self) -> bool {
        self.edges.iter().all(|e| e.queue.is_empty())
            && self
                .slots
                .iter()
                .all(|s| s.busy.is_none() && !s.node.as_ref().is_some_and(|n| n.pending()))
    }

    /// True once node `n` has been flushed and has no call in flight: it will emit nothing more (a sink
    /// in that state has ended, even while other branches still run).
    pub fn node_done(&self, n: usize) -> bool {
        self.flushed.get(n).copied().unwrap_or(false) && self.slots[n].busy.is_none()
    }

    /// End of stream, per node in topological order: a node whose upstream nodes are all flushed and
    /// whose input is drained is flushed now, without waiting for unrelated branches (a branch held up
    /// by a sink nobody reads yet must not keep another branch from ending). A join first runs what
    /// still waits for a partner item, with the ports that have one. Returns `None` when no node was
    /// ready, else whether the call succeeded.
    fn flush_ready(&mut self, sink: &mut dyn Sink) -> Option<bool> {
        for k in 0..self.order.len() {
            let n = self.order[k];
            let slot = &self.slots[n];
            if self.flushed[n]
                || slot.busy.is_some()
                || slot.node.as_ref().is_some_and(|node| node.pending())
                || !self.upstream[n].iter().all(|&u| self.node_done(u))
            {
                continue;
            }
            let room = if slot.outputs.is_empty() {
                sink.has_room(n)
            } else {
                slot.outputs.iter().all(|&e| self.edges[e].has_room())
            };
            let waiting = slot
                .inputs
                .iter()
                .flatten()
                .any(|&e| !self.edges[e].queue.is_empty());
            if waiting {
                if !slot.joins || !room {
                    continue;
                }
                let work = self.take_join(n).expect("a port has an item");
                return Some(self.execute(n, work, sink));
            }
            self.flushed[n] = true;
            return Some(self.flush_node(n, sink));
        }
        None
    }

    /// Runs until nothing can move: no input, no room downstream, or the end. Outputs go to `sink` as
    /// they are made (a threaded session's sink wakes waiting threads); `should_stop` is checked
    /// between calls.
    pub fn run(&mut self, sink: &mut dyn Sink, should_stop: &dyn Fn() -> bool) {
        loop {
            if self.phase.is_terminal() || should_stop() {
                return;
            }
            let mut progressed = false;
            for k in 0..self.order.len() {
                let n = self.order[k];
                while let Some(work) = self.next_work(n, sink) {
                    progressed = true;
                    if !self.execute(n, work, sink) {
                        return;
                    }
                    if should_stop() {
                        return;
                    }
                }
            }
            if !progressed && self.phase == Phase::Closing {
                match self.flush_ready(sink) {
                    Some(false) => return,
                    Some(true) => progressed = true,
                    None if self.flushed.iter().all(|&f| f) && self.idle() => {
                        self.cleanup_all();
                        self.phase = Phase::Ended;
                        return;
                    }
                    None => {}
                }
            }
            if !progressed {
                return;
            }
        }
    }

    fn flush_node(&mut self, n: usize, sink: &mut dyn Sink) -> bool {
        if self.slots[n].node.is_none() {
            self.dispatch(n, TaskKind::Flush, Vec::new(), Vec::new(), sink);
            return true;
        }
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let slot = &mut self.slots[n];
        let node = slot.node.as_mut().expect("native node");
        let start = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| node.flush(&mut out)));
        slot.record(start.elapsed().as_nanos() as u64);
        self.settle(n, flatten(result), false, "flush: ", out, sink)
    }

    fn cleanup_all(&mut self) {
        for i in self.order.clone() {
            let slot = &mut self.slots[i];
            slot.busy = None;
            if !slot.cleaned {
                slot.cleaned = true;
                if let Some(node) = slot.node.as_mut() {
                    let _ = catch_unwind(AssertUnwindSafe(|| node.cleanup()));
                    let id = slot.id.clone();
                    self.lifecycle("node_finished", id);
                }
            }
        }
        for e in &mut self.edges {
            e.queue.clear();
        }
    }

    /// Node `n` failed: record it (with the node's id and type), end the session, clean up every node.
    fn fail(&mut self, n: usize, message: String) {
        let slot = &self.slots[n];
        let failure = Failure {
            node_id: slot.id.clone(),
            node_type: slot.type_name.clone(),
            message,
        };
        if let Some(log) = self.events.as_mut() {
            log.push(json!({"type": "error", "node": failure.node_id, "nodeType": failure.node_type, "message": failure.message}));
        }
        self.failure = Some(failure);
        self.phase = Phase::Failed;
        self.cleanup_all();
    }

    /// Stops everything: queued items are released and every node is cleaned up (once).
    pub fn abort(&mut self) {
        if !self.phase.is_terminal() {
            self.phase = Phase::Aborted;
            self.cleanup_all();
        }
    }

    /// Interruption (barge-in): drops every queued item and resets every node, keeping the session open.
    /// Returns how many queued items were dropped.
    pub fn interrupt(&mut self) -> usize {
        let all: Vec<bool> = vec![true; self.slots.len()];
        self.interrupt_nodes(&all)
    }

    /// The nodes reachable from `from` (included), as a mask over node indices: a branch.
    pub fn downstream(&self, from: &[usize]) -> Vec<bool> {
        let mut mask = vec![false; self.slots.len()];
        let mut stack: Vec<usize> = from.iter().copied().filter(|&n| n < mask.len()).collect();
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut mask[n], true) {
                continue;
            }
            stack.extend(self.slots[n].outputs.iter().map(|&e| self.edges[e].to));
        }
        mask
    }

    /// Interruption of the nodes in `mask`: drops the items queued into them, cancels their host tasks
    /// and resets them; the rest of the graph is untouched. Returns how many queued items were dropped.
    pub fn interrupt_nodes(&mut self, mask: &[bool]) -> usize {
        let mut dropped = 0;
        for e in &mut self.edges {
            if mask.get(e.to).copied().unwrap_or(false) {
                dropped += e.queue.len();
                e.queue.clear();
            }
        }
        for (slot, _) in self.slots.iter_mut().zip(mask).filter(|(_, &m)| m) {
            slot.busy = None; // in-flight host tasks are cancelled: their emits are refused
            if let Some(node) = slot.node.as_mut() {
                let _ = catch_unwind(AssertUnwindSafe(|| node.reset()));
            }
        }
        dropped
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

    /// Records a native node's start or end: always for starts (they happen before anyone can listen,
    /// at most one per node), and for ends while someone listens.
    fn lifecycle(&mut self, kind: &str, node: String) {
        let at = (self.origin.elapsed().as_nanos() as f64 / 1000.0).round();
        let event = json!({ "type": kind, "node": node, "atUs": at });
        if kind == "node_started" {
            self.started.push(event.clone());
        }
        if let Some(log) = self.events.as_mut() {
            log.push(event);
        }
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
                    "itemsIn": s.metrics.items_in,
                    "itemsOut": s.metrics.items_out,
                    "totalMs": s.metrics.total_ns as f64 / 1e6,
                    "maxMs": s.metrics.max_ns as f64 / 1e6,
                    "p50Ms": s.percentile_ms(0.5),
                    "p95Ms": s.percentile_ms(0.95),
                    "errors": s.metrics.errors,
                    "queueDepth": queue,
                    "dropped": dropped,
                })
            })
            .collect();
        json!({ "phase": self.phase as i32, "nodes": nodes })
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Cleanup runs exactly once even when the session is dropped without close or abort.
        self.cleanup_all();
    }
}

fn flatten(result: std::thread::Result<Result<(), NodeError>>) -> Result<(), String> {
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(payload) => Err(format!(
            "panicked: {}",
            crate::abi::error::panic_message(payload.as_ref())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nodes::schema::{NodeSchema, Params};
    use crate::nodes::{single_input, NodeType};
    use crate::pipeline::manifest::{EdgePlan, NodePlan};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    const TEXT: Route = Route::ByType(DataType::Text);
    static INITS: AtomicUsize = AtomicUsize::new(0);
    static CLEANUPS: AtomicUsize = AtomicUsize::new(0);
    static SERIAL: Mutex<()> = Mutex::new(());

    /// Counts lifecycle calls; fails on text "fail", panics on text "panic".
    struct Probe;

    impl Node for Probe {
        fn initialize(&mut self) -> Result<(), NodeError> {
            INITS.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        fn process(
            &mut self,
            _: usize,
            input: Arc<RuntimeData>,
            out: &mut Outputs,
        ) -> Result<(), NodeError> {
            match input.as_text() {
                Ok("fail") => Err(NodeError::BadInput("asked to fail".into())),
                Ok("panic") => panic!("asked to panic"),
                _ => {
                    out.push(input);
                    Ok(())
                }
            }
        }
        fn cleanup(&mut self) {
            CLEANUPS.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn probe_schema() -> NodeSchema {
        NodeSchema {
            type_name: "Probe".into(),
            description: "",
            params: vec![],
            inputs: single_input(&[crate::data::DataType::Text]),
            outputs: vec![crate::data::DataType::Text],
            joins_inputs: false,
            heavy: false,
        }
    }

    static PROBE: NodeType = NodeType {
        schema: probe_schema,
        ports: crate::nodes::schema_ports,
        build: |_| Ok(Box::new(Probe)),
    };

    fn engine() -> Engine {
        let node = |id: &str| NodePlan {
            id: id.into(),
            node_type: Some(&PROBE),
            schema: probe_schema(),
            params: Params::default(),
            ports: probe_schema().inputs,
            skip_errors: false,
        };
        let plan = Plan {
            nodes: vec![node("a"), node("b")],
            edges: vec![EdgePlan {
                from: 0,
                to: 1,
                port: 0,
                capacity: 4,
                policy: EdgePolicy::Block,
            }],
            order: vec![0, 1],
        };
        let mut e = Engine::new(plan, 4).unwrap();
        e.initialize().unwrap();
        e
    }

    struct Collect(Vec<Arc<RuntimeData>>);
    impl Sink for Collect {
        fn has_room(&self, _: usize) -> bool {
            true
        }
        fn deliver(&mut self, _: usize, item: Arc<RuntimeData>, _: Instant) {
            self.0.push(item);
        }
        fn dispatch(&mut self, _: Task) {
            unreachable!("no host nodes here")
        }
    }

    fn counts() -> (usize, usize) {
        (
            INITS.load(Ordering::SeqCst),
            CLEANUPS.load(Ordering::SeqCst),
        )
    }

    #[test]
    fn initialize_once_and_cleanup_exactly_once_on_end_error_panic_abort_and_drop() {
        let _serial = SERIAL.lock().unwrap();
        let (i0, c0) = counts();
        // Normal end.
        let mut e = engine();
        e.accept(Arc::new(RuntimeData::text("x")), TEXT);
        e.close_input();
        let mut sink = Collect(vec![]);
        e.run(&mut sink, &|| false);
        assert_eq!(e.phase(), Phase::Ended);
        assert_eq!(sink.0.len(), 1);
        drop(e);
        assert_eq!(counts(), (i0 + 2, c0 + 2));
        // Error, then panic: both fail the session with the node id; cleanup still once per node.
        for (text, expected) in [
            ("fail", "asked to fail"),
            ("panic", "panicked: asked to panic"),
        ] {
            let mut e = engine();
            e.accept(Arc::new(RuntimeData::text(text)), TEXT);
            e.run(&mut Collect(vec![]), &|| false);
            assert_eq!(e.phase(), Phase::Failed);
            let f = e.failure().unwrap();
            assert_eq!((f.node_id.as_str(), f.message.as_str()), ("a", expected));
            e.abort(); // no second cleanup
            drop(e);
        }
        assert_eq!(counts(), (i0 + 6, c0 + 6));
        // Abort, then drop.
        let mut e = engine();
        e.abort();
        e.abort();
        drop(e);
        let e = engine();
        drop(e);
        assert_eq!(counts(), (i0 + 10, c0 + 10));
    }
}
