//! Sessions: a running pipeline fed with `push`, drained with `poll`, ended with `close` or `abort`.
//!
//! Two execution modes share one engine:
//! - **inline** (the default for real-time frames): `push` and `poll` run the graph on the caller's thread
//!   until it blocks, so a frame costs a few FFI calls and no thread hop;
//! - **threaded** (long native jobs, e.g. whole files, and many sessions per process): the shared worker
//!   pool (`pipeline::pool`) runs the graph in bounded slices whenever the session has work; the
//!   caller is woken through [`wait_events`] (one wake per batch of outputs), so the JS event loop
//!   never blocks. An idle threaded session is on no thread.
//!
//! This file owns a session's life (create, push, poll, host-task calls, close, abort, interrupt) and
//! its slices on the pool; `io` owns the queues between callers and the engine; the global event
//! counter behind [`wait_events`] lives in `pipeline::wake` (re-exported here).

mod io;
#[cfg(test)]
mod tests;

pub use super::wake::{current_events, wait_events};

use super::engine::{Emit, Engine, EventBatch, Failure, Phase, SessionMetrics, Task};
use super::entries::Entries;
use super::manifest::formats::{negotiate, Negotiated};
use super::manifest::{external_types, plan, Issue, Plan};
use super::pool::{self, Schedule, Slice};
use super::wake::Waker;
use crate::data::RuntimeData;
use crate::nodes::formats::{AudioAccepts, AudioSpec};
use io::{lock, Io, OutboxSink};
use serde_json::Value;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// Options a session is created with (JSON, camelCase).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionOptions {
    /// Run the graph on the shared worker pool.
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
    /// Record session events from the start (a listener that is attached at creation: a threaded
    /// session, or a source, may run before a later `set_events` call).
    #[serde(default)]
    pub events: bool,
    /// The format of the audio that will be pushed (`{sampleRate?, channels?, sampleFormat?}`), from
    /// which format negotiation starts.
    #[serde(default)]
    pub audio_input: Option<Value>,
    /// Insert converters where a node does not accept the format it would get (overrides the
    /// manifest's `negotiate`).
    #[serde(default)]
    pub negotiate: Option<bool>,
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
            events: false,
            audio_input: None,
            negotiate: None,
        }
    }
}

/// The declared format of the pushed audio (`audioInput`; unknown fields when absent).
fn audio_input(options: &SessionOptions) -> Result<AudioSpec, SessionError> {
    match &options.audio_input {
        None | Some(Value::Null) => Ok(AudioSpec::default()),
        Some(v) => {
            AudioSpec::from_json(v, "audioInput").map_err(|e| SessionError::Options(e.join("; ")))
        }
    }
}

/// Validates a manifest and negotiates its formats as a session with `options` would (`validate` and
/// sessions share it): the plan with any converters inserted, and what negotiation did.
pub fn negotiated_plan(
    manifest: &Value,
    externals: &[crate::nodes::schema::NodeSchema],
    options: &SessionOptions,
) -> Result<(Plan, Negotiated), SessionError> {
    let input = audio_input(options)?;
    let mut plan = plan(manifest, externals).map_err(SessionError::Manifest)?;
    let enabled = options.negotiate.unwrap_or(plan.negotiate);
    let negotiated = negotiate(&mut plan, &input, enabled).map_err(SessionError::Manifest)?;
    Ok((plan, negotiated))
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
    io: Mutex<Io>,
    stop: AtomicBool,
    threaded: bool,
    /// Its place in the worker pool (threaded sessions).
    schedule: Schedule,
    /// This session, for the pool's queue (which holds it weakly).
    me: Weak<Session>,
    /// A reader found a slice running and took the last published metrics: the next slice publishes
    /// fresh ones (computing percentiles costs more than a 20 ms frame's work, so a threaded session
    /// publishes only when asked, and at its end; readers lock the engine when no slice runs).
    metrics_wanted: AtomicBool,
    /// How a threaded session tells waiters it made progress.
    waker: Waker,
    /// True while session events are recorded (a listener waits for them).
    recording: AtomicBool,
    /// A host node's emit found downstream full (its pump waits for room).
    emit_waiting: AtomicBool,
    node_ids: Vec<String>,
    /// Ids of the sink nodes.
    sinks: Vec<String>,
    /// The declared format of pushed audio: a pushed item that contradicts it is refused.
    audio_input: AudioSpec,
    /// The entry nodes, to route pushed items without locking the engine.
    entries: Entries,
}

impl pool::Task for Session {
    fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    fn run_slice(&self, budget: Duration) -> Slice {
        let mut engine = lock(&self.engine);
        let more = self.step(&mut engine, Some(Instant::now() + budget));
        if engine.phase().is_terminal() {
            Slice::Done
        } else if more {
            Slice::More
        } else {
            Slice::Idle
        }
    }
}

impl Session {
    /// Validates the manifest, builds and initializes every node, and (threaded) queues the session on
    /// the worker pool for its first slice (sources start reading then).
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
        let (plan, _) = negotiated_plan(manifest, &externals, &options)?;
        let audio_input = audio_input(&options)?;
        // Nodes that block in file I/O make the pool lend a thread while the session runs.
        let blocking = plan.nodes.iter().any(|n| n.schema.heavy);
        let mut engine = Engine::new(plan, options.input_capacity).map_err(SessionError::Node)?;
        engine.initialize().map_err(SessionError::Node)?;
        engine.set_events(options.events);
        let node_ids = engine.node_ids();
        let sinks = engine.sinks();
        let entries = engine.entries().clone();
        // Nothing can be pushed into a graph of sources: its input is closed from the start, so it
        // ends once its sources are read (close() stays harmless).
        let input_closed = entries.list().is_empty();
        let io = Io::new(node_ids.len(), &options, input_closed, &engine);
        let session = Arc::new_cyclic(|me| Session {
            engine: Mutex::new(engine),
            io: Mutex::new(io),
            stop: AtomicBool::new(false),
            threaded: options.threaded,
            schedule: Schedule::new(blocking),
            me: me.clone(),
            metrics_wanted: AtomicBool::new(true),
            waker: Waker::default(),
            recording: AtomicBool::new(options.events),
            emit_waiting: AtomicBool::new(false),
            node_ids,
            sinks,
            entries,
            audio_input,
        });
        if options.threaded {
            let task: Weak<dyn pool::Task> = session.me.clone();
            pool::wake(&task, &session.schedule)
                .map_err(|e| SessionError::Options(format!("cannot start a worker thread: {e}")))?;
        }
        Ok(session)
    }

    /// Lists the session as `id` in ready list `group` when it makes progress (see `pipeline::wake`):
    /// the ABI passes the session's handle and the thread that made it.
    pub fn set_wake_target(&self, id: u64, group: u64) {
        self.waker.set_target(id, group);
    }

    /// Node ids in manifest order (output items name their node by index into this).
    pub fn node_ids(&self) -> &[String] {
        &self.node_ids
    }

    /// Refuses pushed audio that contradicts the declared `audioInput` (validation and negotiation
    /// counted on it).
    fn check_declared(&self, item: &RuntimeData) -> Result<(), SessionError> {
        let declared = &self.audio_input;
        if *declared == AudioSpec::default() {
            return Ok(());
        }
        let Ok(audio) = item.as_audio() else {
            return Ok(());
        };
        let have = AudioSpec::of(audio);
        if AudioAccepts::exactly(declared).admits(&have) {
            return Ok(());
        }
        Err(SessionError::Input(format!(
            "push: audio of {have} does not match the session's audioInput ({declared}), which \
             validation and format negotiation counted on"
        )))
    }

    /// Ids of the sink nodes, whose outputs the session emits.
    pub fn sinks(&self) -> &[String] {
        &self.sinks
    }

    /// The entry nodes pushed items go to (nodes without incoming connections that are not sources).
    pub fn entries(&self) -> &Entries {
        &self.entries
    }

    /// Moves queued input into the engine and runs it until blocked (or, given a deadline, until the
    /// deadline passes: then it returns true, with work left); publishes phase and metrics.
    fn step(&self, engine: &mut Engine, deadline: Option<Instant>) -> bool {
        let stop = &self.stop;
        let out_of_time = Cell::new(false);
        let should_stop = || {
            if stop.load(Ordering::Relaxed) {
                return true;
            }
            let late = deadline.is_some_and(|d| Instant::now() >= d);
            out_of_time.set(late);
            late
        };
        let mut sink = OutboxSink::new(&self.io);
        let mut took_input = false;
        let calls = engine.calls();
        loop {
            took_input |= lock(&self.io).feed(engine);
            engine.run(&mut sink, &should_stop);
            // The run may have made room for input that did not fit before it: take it now.
            if out_of_time.get() || stop.load(Ordering::Relaxed) || engine.phase().is_terminal() {
                break;
            }
            if !lock(&self.io).can_feed(engine) {
                break;
            }
        }
        if stop.load(Ordering::Relaxed) {
            engine.abort();
        }
        // Readers cannot lock the engine while a slice runs: a threaded session publishes snapshots.
        let metrics = self.threaded
            && (self.metrics_wanted.swap(false, Ordering::Relaxed) || engine.phase().is_terminal());
        let changed = lock(&self.io).publish(engine, metrics);
        let recording = self.recording.load(Ordering::Relaxed);
        // Nodes ran: a host emit that found downstream full may fit now.
        let room = engine.calls() != calls && self.emit_waiting.swap(false, Ordering::Relaxed);
        if self.threaded && (sink.progress || changed || took_input || recording || room) {
            // One wake per slice: outputs and tasks, a phase change, room for a waiting push or
            // emit, or events recorded for a listener.
            self.waker.wake();
        }
        out_of_time.get() && !engine.phase().is_terminal()
    }

    /// A threaded session has something new to look at: the pool gives it a slice.
    fn wake(&self) {
        if self.threaded {
            let task: Weak<dyn pool::Task> = self.me.clone();
            // Without a thread (the system refused one) the session stays queued for the next wake.
            let _ = pool::wake(&task, &self.schedule);
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
        self.check_declared(&item)?;
        {
            let mut io = lock(&self.io);
            io.check_open("push")?;
            if io.inbox.len() >= io.input_capacity {
                if self.threaded {
                    return Ok(PushResult::Full);
                }
            } else {
                io.inbox.push_back((item, route, Instant::now()));
                drop(io);
                if self.threaded {
                    self.wake();
                    return Ok(PushResult::Accepted);
                }
                return self.run_inline();
            }
        }
        // Inline and full: run the graph (room may have appeared) and try once more.
        let mut engine = lock(&self.engine);
        self.step(&mut engine, None);
        drop(engine);
        let mut io = lock(&self.io);
        io.check_open("push")?;
        if io.inbox.len() >= io.input_capacity {
            return Ok(PushResult::Full);
        }
        io.inbox.push_back((item, route, Instant::now()));
        drop(io);
        self.run_inline()
    }

    /// Runs the graph on the caller's thread after an inline push; a node failure it caused is
    /// reported by this push (outputs produced before it stay available to `poll`).
    fn run_inline(&self) -> Result<PushResult, SessionError> {
        let mut engine = lock(&self.engine);
        self.step(&mut engine, None);
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
            let mut io = lock(&self.io);
            if let Some(out) = io.take(sink) {
                let left = io.left(sink);
                let phase = io.phase;
                // A full sink may have held the graph back: it has room now.
                let was_full = io.was_full(out.0 as usize);
                drop(io);
                if was_full {
                    self.wake();
                }
                return (Some(out), phase, left);
            }
            if self.threaded || io.phase.is_terminal() {
                return (None, io.sink_phase(sink), 0);
            }
        }
        let mut engine = lock(&self.engine);
        self.step(&mut engine, None);
        drop(engine);
        let mut io = lock(&self.io);
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
        lock(&self.io).tasks.push_front(task);
    }

    pub fn take_task(&self) -> Option<Task> {
        if let Some(task) = lock(&self.io).tasks.pop_front() {
            return Some(task);
        }
        if self.threaded {
            return None;
        }
        let mut engine = lock(&self.engine);
        self.step(&mut engine, None);
        drop(engine);
        lock(&self.io).tasks.pop_front()
    }

    /// Runs `f` on the engine with the output sink, then lets the graph continue (inline: now, on this
    /// thread; threaded: the pool gives it a slice).
    fn with_engine<R>(&self, f: impl FnOnce(&mut Engine, &mut OutboxSink<'_>) -> R) -> R {
        let mut engine = lock(&self.engine);
        let mut sink = OutboxSink::new(&self.io);
        let result = f(&mut engine, &mut sink);
        if self.threaded {
            drop(engine);
            if sink.progress {
                self.waker.wake();
            }
            self.wake();
        } else {
            self.step(&mut engine, None);
        }
        result
    }

    /// A host node emits one output for task `ticket`.
    pub fn emit(&self, ticket: u64, item: Arc<RuntimeData>) -> Emit {
        self.with_engine(|engine, sink| {
            let emit = engine.emit(ticket, item, sink);
            if emit == Emit::Full {
                // The host waits for room downstream: the slice that makes some wakes it.
                self.emit_waiting.store(true, Ordering::Relaxed);
            }
            emit
        })
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
            let mut io = lock(&self.io);
            if io.phase.is_terminal() || io.input_closed {
                return Ok(()); // closing twice is harmless
            }
            io.input_closed = true;
        }
        if self.threaded {
            self.wake();
        } else {
            let mut engine = lock(&self.engine);
            self.step(&mut engine, None);
        }
        Ok(())
    }

    /// Stops now: queued items are released and every node is cleaned up. Threaded sessions finish the
    /// call in progress first (on the pool); [`Session::phase`] reads `Aborted` once done.
    pub fn abort(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if self.threaded {
            self.wake();
        } else {
            let mut engine = lock(&self.engine);
            self.step(&mut engine, None);
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
        let mut io = lock(&self.io);
        dropped += io.drop_branch(&mask, from.is_none());
        drop(io);
        drop(engine);
        self.wake();
        dropped
    }

    /// Current phase and failure.
    pub fn phase(&self) -> (Phase, Option<Failure>) {
        let io = lock(&self.io);
        (io.phase, io.failure.clone())
    }

    /// Starts or stops recording events (node lifecycle, calls, drops, errors and node events).
    pub fn set_events(&self, enabled: bool) {
        self.recording.store(enabled, Ordering::Relaxed);
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
            Err(_) => {
                // A slice is running: the last snapshot now, a fresh one from the next slice.
                self.metrics_wanted.store(true, Ordering::Relaxed);
                None
            }
        };
        let io = lock(&self.io);
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

    /// Aborts if still running, on the calling thread: once this returns, every node has been cleaned
    /// up (a slice running on the pool is waited for; it ends after its current node call).
    pub fn shutdown(&self) {
        if self.phase().0.is_terminal() {
            return;
        }
        self.stop.store(true, Ordering::Relaxed);
        let mut engine = lock(&self.engine);
        self.step(&mut engine, None);
    }
}
