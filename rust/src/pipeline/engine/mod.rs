//! The executor: runs a planned graph "until blocked". Items move through bounded edge queues in
//! topological order; a node runs only when it has input and room downstream, so a slow consumer
//! stops the graph (and then `push`) instead of growing memory. Nothing is dropped except on edges the
//! manifest marks `dropOldest`, and those drops are counted.
//!
//! This file owns the graph's state (slots, edges, phase) and the nodes' lifecycle: building the
//! nodes, `initialize`, `cleanup` (exactly once), failure, abort and interruption. The rest of the
//! engine lives in rooms of its own:
//! - `schedule`: what runs next and one call of a node (process, join, resume, flush), routing its
//!   outputs, and the end of stream;
//! - `tasks`: work handed to host (TypeScript) nodes by ticket, and what the host reports back;
//! - [`observe`]: per-node call statistics, the event log and metrics snapshots (typed events and
//!   metrics, the JSON TypeScript reads).

pub mod observe;
mod schedule;
mod tasks;
#[cfg(test)]
mod tests;

pub use observe::{EventBatch, NodeMetrics, SessionEvent, SessionMetrics};
pub use tasks::{Emit, Task, TaskKind};

use super::entries::{Entries, Route};
use super::manifest::{EdgePolicy, Plan};
use crate::data::{DataType, RuntimeData};
use crate::nodes::formats::AudioAccepts;
use crate::nodes::{Node, NodeError, Outputs};
use observe::{CallStats, EventLog};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

/// Where a session (or one sink's output queue) stands: `rm_session_phase`, `RM_POLL_SLOT_PHASE`.
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

/// The output side of the executor: where sink outputs go, and how much room there is.
pub trait Sink {
    /// Room for one more output of sink node `node` (each sink is bounded on its own).
    fn has_room(&self, node: usize) -> bool;
    /// Delivers an output from node `node`; `entered` is when the input it derives from entered.
    fn deliver(&mut self, node: usize, item: Arc<RuntimeData>, entered: Instant);
    /// Hands work to the host (TypeScript nodes).
    fn dispatch(&mut self, task: Task);
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
    fn new(port: usize, to: usize, capacity: usize, policy: EdgePolicy) -> Self {
        Edge {
            port,
            to,
            queue: VecDeque::new(),
            capacity,
            policy,
            dropped: 0,
        }
    }

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

/// One node of the running graph.
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
    /// Kinds of node events the node declares (see [`crate::nodes::NodeEvent`]).
    events: &'static [&'static str],
    stats: CallStats,
    initialized: bool,
    cleaned: bool,
    /// Round-robin cursor over input edges, so no upstream starves another.
    cursor: usize,
    /// Number of input edges over all ports.
    edge_count: usize,
    /// When the input being processed entered the session (outputs inherit it).
    entered: Instant,
    /// The audio formats it accepts, when it constrains them: audio that does not fit fails it (or is
    /// skipped) before it reaches the node, for TypeScript nodes too.
    audio_in: Option<AudioAccepts>,
    /// For a converter format negotiation inserted: the node it converts for (reset with it).
    converts_for: Option<usize>,
    /// Input port names (for messages).
    ports: Vec<String>,
}

impl Slot {
    /// True while the native node has output to produce without new input.
    fn pending(&self) -> bool {
        self.node.as_ref().is_some_and(|node| node.pending())
    }
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
    /// Node calls made (host tasks included): a caller can tell whether a run moved anything.
    calls: u64,
    /// Present while an event listener is attached.
    events: Option<EventLog>,
    /// `node_started` events of the native nodes (recorded at creation, replayed to a new listener).
    started: Vec<SessionEvent>,
    origin: Instant,
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
                emits: super::entries::mask(&n.schema.outputs),
                events: n.schema.events,
                stats: CallStats::default(),
                initialized: false,
                cleaned: false,
                cursor: 0,
                edge_count: 0,
                entered: Instant::now(),
                audio_in: (!n.audio_in.is_any()).then(|| n.audio_in.clone()),
                converts_for: n.converts_for,
                ports: n.ports.iter().map(|p| p.name.clone()).collect(),
            });
        }
        let mut edges = Vec::new();
        let mut upstream = vec![Vec::new(); slots.len()];
        for e in &plan.edges {
            upstream[e.to].push(e.from);
            slots[e.from].outputs.push(edges.len());
            slots[e.to].inputs[e.port].push(edges.len());
            edges.push(Edge::new(e.port, e.to, e.capacity, e.policy));
        }
        let mut entries = Vec::new();
        let mut entry_table = Entries::new(slots.iter().map(|s| s.id.clone()).collect());
        // (the entry pushes name, the node that receives them): a converter that format negotiation put
        // in front of an entry receives its input, and pushes still name the entry (audio only: the
        // converter takes nothing else).
        let mut receivers = Vec::new();
        for (i, slot) in slots.iter().enumerate() {
            if let Some(of) = plan.nodes[i].converts_for {
                entry_table.add_converter(i, of);
            }
            if plan.nodes[i].ports.is_empty() {
                entry_table.add_source(i, &slot.type_name); // starts by itself: no entry edge
            } else if slot.inputs.iter().all(Vec::is_empty) {
                receivers.push((plan.nodes[i].converts_for.unwrap_or(i), i));
            }
        }
        receivers.sort_unstable();
        for (entry, receiver) in receivers {
            let accepts = if entry == receiver {
                plan.nodes[entry].ports[0].accepts.clone()
            } else {
                vec![DataType::Audio]
            };
            entry_table.add(entry, &slots[entry].type_name, &accepts);
            slots[receiver].inputs[0].push(edges.len());
            entries.push(edges.len());
            edges.push(Edge::new(
                0,
                receiver,
                input_capacity.max(1),
                EdgePolicy::Block,
            ));
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
            scratch: Outputs::default(),
            next_ticket: 1,
            calls: 0,
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
            match flatten(catch_unwind(AssertUnwindSafe(|| node.initialize()))) {
                Ok(()) => {
                    slot.initialized = true;
                    self.lifecycle(i, true);
                }
                Err(message) => {
                    self.fail(i, format!("initialize: {message}"));
                    return Err(self.failure.clone().expect("just failed"));
                }
            }
        }
        Ok(())
    }

    /// Node calls made so far (host tasks included): it changes when a run moved anything.
    pub fn calls(&self) -> u64 {
        self.calls
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

    /// Ids of the sink nodes (no outgoing connection: their outputs are the session's), in node order.
    pub fn sinks(&self) -> Vec<String> {
        self.slots
            .iter()
            .filter(|s| s.outputs.is_empty())
            .map(|s| s.id.clone())
            .collect()
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
        self.accept_at(item, route, Instant::now());
    }

    /// [`Engine::accept`] for an item pushed at `entered` (the start of its outputs' latency).
    pub fn accept_at(&mut self, item: Arc<RuntimeData>, route: Route, entered: Instant) {
        for k in 0..self.entries.len() {
            if self.on_route(k, route) {
                let e = self.entries[k];
                self.edges[e].push((item.clone(), entered));
            }
        }
    }

    /// Marks the input closed; remaining items drain, then nodes flush in order.
    pub fn close_input(&mut self) {
        if self.phase == Phase::Running {
            self.phase = Phase::Closing;
        }
    }

    fn cleanup_all(&mut self) {
        for i in self.order.clone() {
            let slot = &mut self.slots[i];
            slot.busy = None;
            if !slot.cleaned {
                slot.cleaned = true;
                if let Some(node) = slot.node.as_mut() {
                    let _ = catch_unwind(AssertUnwindSafe(|| node.cleanup()));
                    self.lifecycle(i, false);
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
        self.record_failure(&failure);
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

    /// The nodes reachable from `from` (included), as a mask over node indices: a branch. The
    /// converters format negotiation put in front of a node of the branch belong to it (their
    /// buffered audio is that node's input).
    pub fn downstream(&self, from: &[usize]) -> Vec<bool> {
        let mut mask = vec![false; self.slots.len()];
        let mut stack: Vec<usize> = from.iter().copied().filter(|&n| n < mask.len()).collect();
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut mask[n], true) {
                continue;
            }
            stack.extend(self.slots[n].outputs.iter().map(|&e| self.edges[e].to));
        }
        for (i, slot) in self.slots.iter().enumerate() {
            if slot.converts_for.is_some_and(|to| mask[to]) {
                mask[i] = true;
            }
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
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Cleanup runs exactly once even when the session is dropped without close or abort.
        self.cleanup_all();
    }
}

/// The result of a node call caught with `catch_unwind`: a panic becomes an error message too.
fn flatten(result: std::thread::Result<Result<(), NodeError>>) -> Result<(), String> {
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(payload) => Err(format!(
            "panicked: {}",
            crate::panic::panic_message(payload.as_ref())
        )),
    }
}
