//! Sessions: a running pipeline fed with `push`, drained with `poll`, ended with `close` or `abort`.
//!
//! Two execution modes share one engine:
//! - **inline** (the default for real-time frames): `push` and `poll` run the graph on the caller's thread
//!   until it blocks, so a frame costs a few FFI calls and no thread hop;
//! - **threaded** (long native jobs, e.g. whole files): a worker thread runs the graph; the caller is woken
//!   through [`wait_events`] (one wake per batch of outputs), so the JS event loop never blocks.
//!
//! This file owns a session's life (create, push, poll, host-task calls, close, abort, interrupt) and
//! the worker thread; `io` owns the queues between callers and the engine; the global event counter
//! behind [`wait_events`] lives in `pipeline::wake` (re-exported here).

mod io;
#[cfg(test)]
mod tests;

pub use super::wake::{current_events, wait_events};

use super::engine::{Emit, Engine, EventBatch, Failure, Phase, SessionMetrics, Task};
use super::entries::Entries;
use super::manifest::{external_types, plan, Issue};
use super::wake::notify_events;
use crate::data::RuntimeData;
use io::{lock, Io, OutboxSink, Shared};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

/// Options a session is created with (JSON, camelCase).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionOptions {
    /// Run the graph on a worker thread.
    #[serde(default)]
    pub threaded: bool,
    /// Bound of the input queue (items).
    #[serde(default = "default_capacity")]
    pub input_capacity: usize,
    /// Bound of the output queue (items).
    #[serde(default = "default_capacity")]
    pub output_capacity: usize,
    /// Node types implemented by the host (TypeScript): `[{type, inputs?, outputs?, joinsInputs?}]`.
    #[serde(default)]
    pub node_types: Option<Value>,
}

fn default_capacity() -> usize {
    16
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            threaded: false,
            input_capacity: default_capacity(),
            output_capacity: default_capacity(),
            node_types: None,
        }
    }
}

/// Why a session could not be created or used.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The manifest has problems (all of them are listed).
    #[error("invalid manifest:\n{}", .0.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n"))]
    Manifest(Vec<Issue>),
    /// Bad options.
    #[error("invalid session options: {0}")]
    Options(String),
    /// A node failed (during initialize or processing).
    #[error("{0}")]
    Node(Failure),
    /// The session no longer accepts this call.
    #[error("{0}")]
    Closed(String),
    /// A pushed item has nowhere to go (no entry accepts its type, or `to` is not an entry). The
    /// session goes on.
    #[error("{0}")]
    Input(String),
}

/// An output: emitting node index, the item, and when the input it derives from entered the session.
pub type Output = (u32, Arc<RuntimeData>, Instant);

/// Result of a push.
#[derive(Debug, PartialEq, Eq)]
pub enum PushResult {
    /// The item was taken.
    Accepted,
    /// Queues are full: try again after outputs were polled.
    Full,
}

/// A running pipeline.
pub struct Session {
    engine: Mutex<Engine>,
    io: Arc<Shared>,
    stop: Arc<AtomicBool>,
    threaded: bool,
    runner: Mutex<Option<JoinHandle<()>>>,
    node_ids: Vec<String>,
    /// The entry nodes, to route pushed items without locking the engine.
    entries: Entries,
}

impl Session {
    /// Validates the manifest, builds and initializes every node, and starts the worker when threaded.
    pub fn create(manifest: &Value, options: SessionOptions) -> Result<Arc<Session>, SessionError> {
        if options.input_capacity == 0 || options.output_capacity == 0 {
            return Err(SessionError::Options(
                "inputCapacity and outputCapacity must be at least 1".into(),
            ));
        }
        let externals = match &options.node_types {
            Some(v) => external_types(v).map_err(SessionError::Options)?,
            None => Vec::new(),
        };
        let plan = plan(manifest, &externals).map_err(SessionError::Manifest)?;
        let mut engine = Engine::new(plan, options.input_capacity).map_err(SessionError::Node)?;
        engine.initialize().map_err(SessionError::Node)?;
        let node_ids = engine.node_ids();
        let entries = engine.entries().clone();
        // Nothing can be pushed into a graph of sources: its input is closed from the start, so it
        // ends once its sources are read (close() stays harmless).
        let input_closed = entries.list().is_empty();
        let io = Io::new(node_ids.len(), &options, input_closed, &engine);
        let io = Arc::new((Mutex::new(io), Condvar::new()));
        let session = Arc::new(Session {
            engine: Mutex::new(engine),
            io,
            stop: Arc::new(AtomicBool::new(false)),
            threaded: options.threaded,
            runner: Mutex::new(None),
            node_ids,
            entries,
        });
        if options.threaded {
            let worker = Arc::clone(&session);
            let handle = std::thread::Builder::new()
                .name("remotemedia-session".into())
                .spawn(move || worker.run_worker())
                .map_err(|e| {
                    SessionError::Options(format!("cannot start the session thread: {e}"))
                })?;
            *lock(&session.runner) = Some(handle);
        }
        Ok(session)
    }

    /// Node ids in manifest order (output items name their node by index into this).
    pub fn node_ids(&self) -> &[String] {
        &self.node_ids
    }

    /// The entry nodes pushed items go to (nodes without incoming connections that are not sources).
    pub fn entries(&self) -> &Entries {
        &self.entries
    }

    /// Moves queued input into the engine and runs it until blocked; publishes phase and metrics.
    fn step(&self, engine: &mut Engine) {
        let took_input = lock(&self.io.0).feed(engine);
        let stop = &self.stop;
        let mut sink = OutboxSink {
            io: &self.io,
            notify: self.threaded,
        };
        engine.run(&mut sink, &|| stop.load(Ordering::Relaxed));
        if stop.load(Ordering::Relaxed) {
            engine.abort();
        }
        // Readers cannot lock the engine while a worker runs: it publishes a snapshot per batch.
        let changed = lock(&self.io.0).publish(engine, self.threaded);
        if (changed || took_input) && self.threaded {
            // Phase changes end waits; taken input means a waiting `push` has room again.
            notify_events();
        }
    }

    fn run_worker(self: Arc<Self>) {
        loop {
            let seen = lock(&self.io.0).version;
            {
                let mut engine = lock(&self.engine);
                self.step(&mut engine);
                if engine.phase().is_terminal() {
                    return;
                }
            }
            let (m, cv) = &*self.io;
            let io = lock(m);
            let _io = cv
                .wait_while(io, |io| {
                    io.version == seen && !self.stop.load(Ordering::Relaxed)
                })
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    fn bump(&self, io: &mut Io) {
        io.version += 1;
        if self.threaded {
            self.io.1.notify_all(); // only the worker thread waits on this
        }
    }

    /// Offers one item to every entry node whose input accepts its type. `Full` means: poll outputs,
    /// then offer it again.
    pub fn push(&self, item: Arc<RuntimeData>) -> Result<PushResult, SessionError> {
        self.push_to(item, None)
    }

    /// Offers one item to entry node `to` (manifest index), or without `to` to every entry whose input
    /// accepts its type. An item with nowhere to go is an [`SessionError::Input`] naming its type and
    /// the entries (the session goes on). `Full` means: poll outputs, then offer it again.
    pub fn push_to(
        &self,
        item: Arc<RuntimeData>,
        to: Option<usize>,
    ) -> Result<PushResult, SessionError> {
        let route = self
            .entries
            .route(item.data_type(), to)
            .map_err(SessionError::Input)?;
        {
            let mut io = lock(&self.io.0);
            io.check_open("push")?;
            if io.inbox.len() >= io.input_capacity {
                if self.threaded {
                    return Ok(PushResult::Full);
                }
            } else {
                io.inbox.push_back((item, route));
                self.bump(&mut io);
                if self.threaded {
                    return Ok(PushResult::Accepted);
                }
                drop(io);
                return self.run_inline();
            }
        }
        // Inline and full: run the graph (room may have appeared) and try once more.
        let mut engine = lock(&self.engine);
        self.step(&mut engine);
        drop(engine);
        let mut io = lock(&self.io.0);
        io.check_open("push")?;
        if io.inbox.len() >= io.input_capacity {
            return Ok(PushResult::Full);
        }
        io.inbox.push_back((item, route));
        drop(io);
        self.run_inline()
    }

    /// Runs the graph on the caller's thread after an inline push; a node failure it caused is
    /// reported by this push (outputs produced before it stay available to `poll`).
    fn run_inline(&self) -> Result<PushResult, SessionError> {
        let mut engine = lock(&self.engine);
        self.step(&mut engine);
        match engine.failure() {
            Some(f) if engine.phase() == Phase::Failed => Err(SessionError::Node(f.clone())),
            _ => Ok(PushResult::Accepted),
        }
    }

    /// Takes the next output `(node index, item, when its input entered the session)`, or `None` with
    /// the current phase.
    pub fn poll(&self) -> (Option<Output>, Phase, usize) {
        self.poll_sink(None)
    }

    /// Like [`Session::poll`], for one sink's outputs only (each sink's queue is bounded on its own, so
    /// a slow reader of one branch does not hold up another's).
    /// For one sink, the phase reads `Ended` as soon as that sink has ended (flushed, nothing queued),
    /// even while other branches still run.
    pub fn poll_sink(&self, sink: Option<usize>) -> (Option<Output>, Phase, usize) {
        {
            let mut io = lock(&self.io.0);
            if let Some(out) = io.take(sink) {
                let left = io.left(sink);
                let phase = io.phase;
                self.bump(&mut io);
                return (Some(out), phase, left);
            }
            if self.threaded || io.phase.is_terminal() {
                return (None, io.sink_phase(sink), 0);
            }
        }
        let mut engine = lock(&self.engine);
        self.step(&mut engine);
        drop(engine);
        let mut io = lock(&self.io.0);
        let out = io.take(sink);
        let left = io.left(sink);
        let phase = if out.is_some() {
            io.phase
        } else {
            io.sink_phase(sink)
        };
        (out, phase, left)
    }

    /// The next task for a host (TypeScript) node, if any.
    /// Puts back a task the host could not accept yet (its buffer was too small): it stays first in line.
    pub fn return_task(&self, task: Task) {
        lock(&self.io.0).tasks.push_front(task);
    }

    pub fn take_task(&self) -> Option<Task> {
        if let Some(task) = lock(&self.io.0).tasks.pop_front() {
            return Some(task);
        }
        if self.threaded {
            return None;
        }
        let mut engine = lock(&self.engine);
        self.step(&mut engine);
        drop(engine);
        lock(&self.io.0).tasks.pop_front()
    }

    /// Runs `f` on the engine with the output sink, then lets the graph continue (inline: now, on this
    /// thread; threaded: the worker is woken).
    fn with_engine<R>(&self, f: impl FnOnce(&mut Engine, &mut OutboxSink<'_>) -> R) -> R {
        let mut engine = lock(&self.engine);
        let mut sink = OutboxSink {
            io: &self.io,
            notify: self.threaded,
        };
        let result = f(&mut engine, &mut sink);
        if self.threaded {
            let mut io = lock(&self.io.0);
            self.bump(&mut io);
        } else {
            self.step(&mut engine);
        }
        result
    }

    /// A host node emits one output for task `ticket`.
    pub fn emit(&self, ticket: u64, item: Arc<RuntimeData>) -> Emit {
        self.with_engine(|engine, sink| engine.emit(ticket, item, sink))
    }

    /// A host node finished task `ticket`; false when it had been cancelled.
    pub fn complete_task(&self, ticket: u64) -> bool {
        self.with_engine(|engine, _| engine.complete(ticket))
    }

    /// A host node failed on task `ticket`.
    pub fn fail_task(&self, ticket: u64, message: String) {
        self.with_engine(|engine, _| engine.fail_task(ticket, message))
    }

    /// A host node failed outside a task (initialize): the session fails with its id.
    pub fn fail_node(&self, node: usize, message: String) {
        self.with_engine(|engine, _| engine.fail_node(node, message))
    }

    /// No more input: remaining items drain, nodes flush in order, then every node is cleaned up.
    pub fn close(&self) -> Result<(), SessionError> {
        {
            let mut io = lock(&self.io.0);
            if io.phase.is_terminal() || io.input_closed {
                return Ok(()); // closing twice is harmless
            }
            io.input_closed = true;
            self.bump(&mut io);
        }
        if !self.threaded {
            let mut engine = lock(&self.engine);
            self.step(&mut engine);
        }
        Ok(())
    }

    /// Stops now: queued items are released and every node is cleaned up. Threaded sessions finish the
    /// call in progress first; [`Session::phase`] reads `Aborted` once done.
    pub fn abort(&self) {
        self.stop.store(true, Ordering::Relaxed);
        {
            let mut io = lock(&self.io.0);
            self.bump(&mut io);
        }
        if !self.threaded {
            let mut engine = lock(&self.engine);
            self.step(&mut engine);
        }
    }

    /// Barge-in: drops queued and undelivered items and resets every node; the session stays open.
    /// Returns the number of items dropped.
    pub fn interrupt(&self) -> usize {
        self.interrupt_branch(None)
    }

    /// The nodes reachable from `from` (included), one flag per node in manifest order.
    pub fn downstream(&self, from: &[usize]) -> Vec<bool> {
        lock(&self.engine).downstream(from)
    }

    /// Barge-in on a branch: the nodes `from` and everything downstream of them lose their queued items,
    /// in-flight host tasks and undelivered outputs, and are reset; other branches go on untouched.
    /// `None` interrupts the whole graph (including queued input). Returns the number of items dropped.
    pub fn interrupt_branch(&self, from: Option<&[usize]>) -> usize {
        let mut engine = lock(&self.engine);
        let mask = match from {
            Some(nodes) => engine.downstream(nodes),
            None => vec![true; self.node_ids.len()],
        };
        let mut dropped = engine.interrupt_nodes(&mask);
        let mut io = lock(&self.io.0);
        dropped += io.drop_branch(&mask, from.is_none());
        self.bump(&mut io);
        dropped
    }

    /// Current phase and failure.
    pub fn phase(&self) -> (Phase, Option<Failure>) {
        let io = lock(&self.io.0);
        (io.phase, io.failure.clone())
    }

    /// Starts or stops recording events (node lifecycle, calls, drops, errors and node events).
    pub fn set_events(&self, enabled: bool) {
        lock(&self.engine).set_events(enabled);
    }

    /// Takes the recorded events.
    pub fn take_events(&self) -> EventBatch {
        lock(&self.engine).drain_events()
    }

    /// [`Session::take_events`] as JSON: `{events: [...], dropped}`.
    pub fn drain_events(&self) -> Value {
        serde_json::to_value(self.take_events()).expect("events serialise")
    }

    /// Metrics snapshot, with the queue lengths of the session itself.
    pub fn snapshot(&self) -> SessionMetrics {
        let fresh = match self.engine.try_lock() {
            Ok(engine) => Some(engine.metrics()),
            Err(_) => None, // the worker is running a batch: use its last snapshot
        };
        let io = lock(&self.io.0);
        let mut m = fresh.unwrap_or_else(|| io.metrics.clone());
        m.input_queue = io.inbox.len();
        m.output_queue = io.left(None);
        m.phase = io.phase as i32;
        m
    }

    /// [`Session::snapshot`] as JSON.
    pub fn metrics(&self) -> Value {
        serde_json::to_value(self.snapshot()).expect("metrics serialise")
    }

    /// Aborts if still running and waits for the worker thread.
    pub fn shutdown(&self) {
        if !self.phase().0.is_terminal() {
            self.abort();
        }
        if let Some(handle) = lock(&self.runner).take() {
            let _ = handle.join();
        }
    }
}
