//! A session's queues between its callers and its engine: pushed input not yet taken by the graph,
//! outputs per sink (each bounded on its own), tasks for host nodes, and the phase, failure and
//! metrics callers read without locking the engine. [`OutboxSink`] is the engine's side of them.

use super::{Output, SessionError, SessionOptions};
use crate::data::RuntimeData;
use crate::pipeline::engine::{Engine, Failure, Phase, SessionMetrics, Sink, Task};
use crate::pipeline::entries::Route;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// Locks a mutex; a poisoned one is still used (every critical section leaves it consistent).
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) struct Io {
    /// Pushed items not yet taken by the graph, with where each goes and when it was pushed.
    pub inbox: VecDeque<(Arc<RuntimeData>, Route, Instant)>,
    /// Outputs of every sink in production order; each sink's share is bounded separately.
    outbox: VecDeque<Output>,
    /// Outputs queued per node (sinks only are ever non-zero): the per-sink bound.
    queued: Vec<usize>,
    /// Nodes that will emit nothing more (flushed, no call in flight): a sink in that state has ended.
    done: Vec<bool>,
    pub tasks: VecDeque<Task>,
    pub input_capacity: usize,
    output_capacity: usize,
    pub input_closed: bool,
    pub phase: Phase,
    pub failure: Option<Failure>,
    /// The last metrics a threaded session published (readers cannot lock the engine while a slice
    /// runs).
    pub metrics: SessionMetrics,
}

impl Io {
    /// Empty queues for a graph of `nodes` nodes; `input_closed` for a graph nothing can be pushed to.
    pub fn new(
        nodes: usize,
        options: &SessionOptions,
        input_closed: bool,
        engine: &Engine,
    ) -> Self {
        Io {
            inbox: VecDeque::new(),
            outbox: VecDeque::new(),
            queued: vec![0; nodes],
            done: vec![false; nodes],
            tasks: VecDeque::new(),
            input_capacity: options.input_capacity,
            output_capacity: options.output_capacity,
            input_closed,
            phase: Phase::Running,
            failure: None,
            metrics: engine.metrics(),
        }
    }

    /// An error when the session no longer takes `what` (a push): failed, ended, or input closed.
    pub fn check_open(&self, what: &str) -> Result<(), SessionError> {
        if let Some(f) = &self.failure {
            return Err(SessionError::Node(f.clone()));
        }
        if self.phase.is_terminal() {
            return Err(SessionError::Closed(format!(
                "{what} after the session ended"
            )));
        }
        if self.input_closed {
            return Err(SessionError::Closed(format!("{what} after close()")));
        }
        Ok(())
    }

    /// Moves pushed items into the engine in push order (an item whose entries are full waits, and so
    /// do the items after it), and closes the engine's input once input is closed and all taken.
    /// Returns true when an item was taken.
    pub fn feed(&mut self, engine: &mut Engine) -> bool {
        let mut took = false;
        while let Some(&(_, route, _)) = self.inbox.front() {
            if !engine.can_accept(route) {
                break;
            }
            let (item, route, pushed) = self.inbox.pop_front().expect("front exists");
            engine.accept_at(item, route, pushed);
            took = true;
        }
        if self.input_closed && self.inbox.is_empty() {
            engine.close_input();
        }
        took
    }

    /// True when the first pushed item waiting here would be taken by the engine now.
    pub fn can_feed(&self, engine: &Engine) -> bool {
        self.inbox
            .front()
            .is_some_and(|&(_, route, _)| engine.can_accept(route))
    }

    /// True when sink `node` was full before its last output was taken (the graph may have been
    /// waiting for that room).
    pub fn was_full(&self, node: usize) -> bool {
        self.queued.get(node).copied().unwrap_or(0) + 1 >= self.output_capacity
    }

    /// Publishes the engine's state after a run (`metrics` too when asked); an aborted session drops
    /// what it still holds. Returns true when the phase changed.
    pub fn publish(&mut self, engine: &Engine, metrics: bool) -> bool {
        for (n, done) in self.done.iter_mut().enumerate() {
            *done = engine.node_done(n);
        }
        let changed = self.phase != engine.phase();
        self.phase = engine.phase();
        if changed {
            self.failure = engine.failure().cloned();
        }
        if metrics {
            self.metrics = engine.metrics();
        }
        if engine.phase() == Phase::Aborted {
            self.outbox.clear();
            self.queued.fill(0);
            self.inbox.clear();
        }
        if engine.phase().is_terminal() {
            self.tasks.clear();
        }
        changed
    }

    /// Takes the oldest output of `sink` (any sink when `None`).
    pub fn take(&mut self, sink: Option<usize>) -> Option<Output> {
        let at = match sink {
            None => 0,
            Some(n) => self
                .outbox
                .iter()
                .position(|(node, ..)| *node as usize == n)?,
        };
        let out = self.outbox.remove(at)?;
        if let Some(count) = self.queued.get_mut(out.0 as usize) {
            *count -= 1;
        }
        Some(out)
    }

    /// The session's phase, or `Ended` for a sink that has ended while the session goes on.
    pub fn sink_phase(&self, sink: Option<usize>) -> Phase {
        match sink {
            Some(n) if self.phase == Phase::Running || self.phase == Phase::Closing => {
                if self.done.get(n).copied().unwrap_or(false) && self.left(sink) == 0 {
                    Phase::Ended
                } else {
                    self.phase
                }
            }
            _ => self.phase,
        }
    }

    /// Outputs still queued for `sink` (all sinks when `None`).
    pub fn left(&self, sink: Option<usize>) -> usize {
        match sink {
            None => self.outbox.len(),
            Some(n) => self.queued.get(n).copied().unwrap_or(0),
        }
    }

    /// Drops the undelivered outputs and the tasks of the nodes in `mask` (an interrupted branch), and
    /// the pushed input too when `input`. Returns how many items were dropped.
    pub fn drop_branch(&mut self, mask: &[bool], input: bool) -> usize {
        let hit = |n: usize| mask.get(n).copied().unwrap_or(false);
        let mut dropped = 0;
        if input {
            dropped += self.inbox.len();
            self.inbox.clear();
        }
        let before = self.outbox.len();
        self.outbox.retain(|(n, _, _)| !hit(*n as usize));
        dropped += before - self.outbox.len();
        for (n, count) in self.queued.iter_mut().enumerate() {
            if hit(n) {
                *count = 0;
            }
        }
        let tasks: Vec<_> = self.tasks.drain(..).collect();
        for task in tasks {
            if hit(task.node) {
                dropped += task.items.len();
            } else {
                self.tasks.push_back(task);
            }
        }
        dropped
    }
}

/// Delivers the engine's outputs and host tasks into the session's queues, noting that it did (a
/// threaded session then wakes its waiters once, after the run).
pub(super) struct OutboxSink<'a> {
    io: &'a Mutex<Io>,
    /// True once an output or a task was delivered.
    pub progress: bool,
}

impl<'a> OutboxSink<'a> {
    pub fn new(io: &'a Mutex<Io>) -> Self {
        OutboxSink {
            io,
            progress: false,
        }
    }
}

impl Sink for OutboxSink<'_> {
    fn has_room(&self, node: usize) -> bool {
        let io = lock(self.io);
        io.queued.get(node).copied().unwrap_or(0) < io.output_capacity
    }

    fn deliver(&mut self, node: usize, item: Arc<RuntimeData>, entered: Instant) {
        let mut io = lock(self.io);
        if let Some(count) = io.queued.get_mut(node) {
            *count += 1;
        }
        io.outbox.push_back((node as u32, item, entered));
        self.progress = true;
    }

    fn dispatch(&mut self, task: Task) {
        lock(self.io).tasks.push_back(task);
        self.progress = true;
    }
}
