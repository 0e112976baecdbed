//! Host-node tasks: work for nodes implemented by the host (TypeScript) is handed out as a [`Task`]
//! identified by a ticket; the host answers with `emit` (any number of outputs), then `complete` or
//! `fail_task`. A host node has at most one task in flight, so its items stay in order; a ticket whose
//! node was interrupted, failed or aborted is no longer known and its emits are refused.

use super::{Engine, Sink};
use crate::data::{DataType, RuntimeData};
use crate::pipeline::entries::bit;
use std::sync::Arc;
use std::time::Instant;

/// What a host (TypeScript) node is asked to do (`RM_TASK_SLOT_KIND`).
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

impl Engine {
    /// Hands a call of host node `n` to the host as a new task; the node is busy until it completes.
    pub(super) fn dispatch(
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
        slot.stats.items_in += items.len() as u64;
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
        if !self.has_room(n, sink) {
            return Emit::Full;
        }
        let mut out = vec![item].into();
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
            self.slots[n].stats.errors += 1;
            self.complete(ticket);
            return;
        }
        self.fail(n, message);
    }
}
