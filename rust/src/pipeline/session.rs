//! Sessions: a running pipeline fed with `push`, drained with `poll`, ended with `close` or `abort`.
//!
//! Two execution modes share one engine:
//! - **inline** (the default for real-time frames): `push` and `poll` run the graph on the caller's thread
//!   until it blocks, so a frame costs a few FFI calls and no thread hop;
//! - **threaded** (long native jobs, e.g. whole files): a worker thread runs the graph; the caller is woken
//!   through [`wait_events`] (one wake per batch of outputs), so the JS event loop never blocks.

use super::engine::{Emit, Engine, EventBatch, Failure, Phase, SessionMetrics, Sink, Task};
use super::entries::{Entries, Route};
use super::manifest::{external_types, plan, Issue};
use crate::data::RuntimeData;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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

struct Io {
    /// Pushed items not yet taken by the graph, with where each goes.
    inbox: VecDeque<(Arc<RuntimeData>, Route)>,
    /// Outputs of every sink in production order; each sink's share is bounded separately.
    outbox: VecDeque<(u32, Arc<RuntimeData>, Instant)>,
    /// Outputs queued per node (sinks only are ever non-zero): the per-sink bound.
    queued: Vec<usize>,
    /// Nodes that will emit nothing more (flushed, no call in flight): a sink in that state has ended.
    done: Vec<bool>,
    tasks: VecDeque<Task>,
    input_capacity: usize,
    output_capacity: usize,
    input_closed: bool,
    phase: Phase,
    failure: Option<Failure>,
    version: u64,
    metrics: SessionMetrics,
}

/// A running pipeline.
pub struct Session {
    engine: Mutex<Engine>,
    io: Arc<(Mutex<Io>, Condvar)>,
    stop: Arc<AtomicBool>,
    threaded: bool,
    runner: Mutex<Option<JoinHandle<()>>>,
    node_ids: Vec<String>,
    /// The entry nodes, to route pushed items without locking the engine.
    entries: Entries,
}

static EVENTS: (Mutex<u64>, Condvar) = (Mutex::new(0), Condvar::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Tells every waiter in [`wait_events`] that some threaded session made progress.
fn notify_events() {
    let mut seq = lock(&EVENTS.0);
    *seq += 1;
    EVENTS.1.notify_all();
}

/// Blocks until the global event counter differs from `last` or `timeout` passes; returns the counter.
pub fn wait_events(last: u64, timeout: Duration) -> u64 {
    let seq = lock(&EVENTS.0);
    let (seq, _) = EVENTS
        .1
        .wait_timeout_while(seq, timeout, |s| *s == last)
        .unwrap_or_else(|e| e.into_inner());
    *seq
}

/// The global event counter now.
pub fn current_events() -> u64 {
    *lock(&EVENTS.0)
}

/// Delivers outputs into the session's output queue.
struct OutboxSink<'a> {
    io: &'a (Mutex<Io>, Condvar),
    notify: bool,
}

impl Io {
    /// Takes the oldest output of `sink` (any sink when `None`).
    fn take(&mut self, sink: Option<usize>) -> Option<Output> {
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
    fn sink_phase(&self, sink: Option<usize>) -> Phase {
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
    fn left(&self, sink: Option<usize>) -> usize {
        match sink {
            None => self.outbox.len(),
            Some(n) => self.queued.get(n).copied().unwrap_or(0),
        }
    }
}

impl Sink for OutboxSink<'_> {
    fn has_room(&self, node: usize) -> bool {
        let io = lock(&self.io.0);
        io.queued.get(node).copied().unwrap_or(0) < io.output_capacity
    }

    fn deliver(&mut self, node: usize, item: Arc<RuntimeData>, entered: Instant) {
        let mut io = lock(&self.io.0);
        if let Some(count) = io.queued.get_mut(node) {
            *count += 1;
        }
        io.outbox.push_back((node as u32, item, entered));
        drop(io);
        if self.notify {
            notify_events();
        }
    }

    fn dispatch(&mut self, task: Task) {
        lock(&self.io.0).tasks.push_back(task);
        if self.notify {
            notify_events();
        }
    }
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
        let io = Arc::new((
            Mutex::new(Io {
                inbox: VecDeque::new(),
                outbox: VecDeque::new(),
                queued: vec![0; node_ids.len()],
                done: vec![false; node_ids.len()],
                tasks: VecDeque::new(),
                input_capacity: options.input_capacity,
                output_capacity: options.output_capacity,
                input_closed,
                phase: Phase::Running,
                failure: None,
                version: 0,
                metrics: engine.metrics(),
            }),
            Condvar::new(),
        ));
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
        let io_pair = &*self.io;
        let mut took_input = false;
        {
            let mut io = lock(&io_pair.0);
            // In push order: an item whose entries are full waits, and so do the items after it.
            while let Some(&(_, route)) = io.inbox.front() {
                if !engine.can_accept(route) {
                    break;
                }
                let (item, route) = io.inbox.pop_front().expect("front exists");
                engine.accept(item, route);
                took_input = true;
            }
            if io.input_closed && io.inbox.is_empty() {
                engine.close_input();
            }
        }
        let stop = &self.stop;
        let mut sink = OutboxSink {
            io: io_pair,
            notify: self.threaded,
        };
        engine.run(&mut sink, &|| stop.load(Ordering::Relaxed));
        if stop.load(Ordering::Relaxed) {
            engine.abort();
        }
        let mut io = lock(&io_pair.0);
        for (n, done) in io.done.iter_mut().enumerate() {
            *done = engine.node_done(n);
        }
        let changed = io.phase != engine.phase();
        io.phase = engine.phase();
        if changed {
            io.failure = engine.failure().cloned();
        }
        if self.threaded {
            // Readers cannot lock the engine while the worker runs: publish a snapshot per batch.
            io.metrics = engine.metrics();
        }
        if engine.phase() == Phase::Aborted {
            io.outbox.clear();
            io.queued.fill(0);
            io.inbox.clear();
        }
        if engine.phase().is_terminal() {
            io.tasks.clear();
        }
        drop(io);
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
            self.check_open(&io, "push")?;
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
        self.check_open(&io, "push")?;
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

    fn check_open(&self, io: &Io, what: &str) -> Result<(), SessionError> {
        if let Some(f) = &io.failure {
            return Err(SessionError::Node(f.clone()));
        }
        if io.phase.is_terminal() {
            return Err(SessionError::Closed(format!(
                "{what} after the session ended"
            )));
        }
        if io.input_closed {
            return Err(SessionError::Closed(format!("{what} after close()")));
        }
        Ok(())
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
        let hit = |n: usize| mask.get(n).copied().unwrap_or(false);
        let mut io = lock(&self.io.0);
        if from.is_none() {
            dropped += io.inbox.len();
            io.inbox.clear();
        }
        let before = io.outbox.len();
        io.outbox.retain(|(n, _, _)| !hit(*n as usize));
        dropped += before - io.outbox.len();
        for (n, count) in io.queued.iter_mut().enumerate() {
            if hit(n) {
                *count = 0;
            }
        }
        let tasks: Vec<_> = io.tasks.drain(..).collect();
        for task in tasks {
            if hit(task.node) {
                dropped += task.items.len();
            } else {
                io.tasks.push_back(task);
            }
        }
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
        m.output_queue = io.outbox.len();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{AudioBuffer, Samples};
    use serde_json::json;

    fn audio(n: usize, value: f32) -> Arc<RuntimeData> {
        Arc::new(RuntimeData::Audio(
            AudioBuffer::new(Samples::F32(vec![value; n]), 16000, 1).unwrap(),
        ))
    }

    fn drain(s: &Session) -> Vec<(u32, Arc<RuntimeData>)> {
        let mut out = vec![];
        loop {
            let (item, phase, _) = s.poll();
            match item {
                Some((n, d, _)) => out.push((n, d)),
                None if phase.is_terminal() => return out,
                None if s.threaded => {
                    wait_events(current_events(), Duration::from_millis(50));
                }
                None => return out,
            }
        }
    }

    fn chain() -> Value {
        json!({"version": 1, "nodes": [
            {"id": "gain", "type": "Gain", "params": {"gain": 2.0}},
            {"id": "chunk", "type": "Chunker", "params": {"frames": 100}}
        ], "connections": [{"from": "gain", "to": "chunk"}]})
    }

    #[test]
    fn inline_session_processes_in_order_and_flushes() {
        let s = Session::create(&chain(), SessionOptions::default()).unwrap();
        for i in 0..5 {
            assert_eq!(
                s.push(audio(150, i as f32 * 0.1)).unwrap(),
                PushResult::Accepted
            );
        }
        s.close().unwrap();
        let out = drain(&s);
        let frames: Vec<usize> = out
            .iter()
            .map(|(_, d)| d.as_audio().unwrap().num_frames())
            .collect();
        assert_eq!(
            frames,
            vec![100; 7].into_iter().chain([50]).collect::<Vec<_>>()
        );
        assert_eq!(s.phase().0, Phase::Ended);
        assert!(out.iter().all(|(n, _)| *n == 1));
    }

    #[test]
    fn threaded_session_gives_the_same_result() {
        let s = Session::create(
            &chain(),
            SessionOptions {
                threaded: true,
                ..Default::default()
            },
        )
        .unwrap();
        let mut out = vec![];
        for i in 0..5 {
            while s.push(audio(150, i as f32 * 0.1)).unwrap() == PushResult::Full {
                out.extend(drain(&s));
            }
        }
        s.close().unwrap();
        out.extend(drain(&s));
        assert_eq!(out.len(), 8);
        s.shutdown();
    }

    #[test]
    fn a_slow_consumer_fills_queues_and_push_reports_full() {
        let opts = SessionOptions {
            input_capacity: 2,
            output_capacity: 2,
            ..Default::default()
        };
        let s = Session::create(
            &json!({"version": 1, "nodes": [{"id": "p", "type": "PassThrough"}]}),
            opts,
        )
        .unwrap();
        let mut accepted = 0;
        while s.push(audio(10, 0.0)).unwrap() == PushResult::Accepted {
            accepted += 1;
            assert!(accepted < 100, "push never reported Full");
        }
        // output queue (2) + entry edge (2) + inbox (2)
        assert_eq!(accepted, 6);
        let m = s.metrics();
        assert_eq!(m["outputQueue"], json!(2));
        assert_eq!(drain(&s).len(), 6, "nothing was dropped");
    }

    fn stereo() -> Arc<RuntimeData> {
        Arc::new(RuntimeData::Audio(
            AudioBuffer::new(Samples::F32(vec![0.0; 4]), 16000, 2).unwrap(),
        ))
    }

    #[test]
    fn node_errors_end_the_session_with_the_node_id() {
        let s = Session::create(
            &json!({"version": 1, "nodes": [{"id": "v", "type": "Vad"}]}),
            SessionOptions::default(),
        )
        .unwrap();
        let err = s.push(stereo()).unwrap_err();
        assert!(
            matches!(err, SessionError::Node(_)),
            "the push that caused it reports it"
        );
        let (phase, failure) = s.phase();
        assert_eq!(phase, Phase::Failed);
        assert_eq!(
            failure.unwrap().to_string(),
            "node \"v\" (Vad) failed: Vad needs mono audio, got 2 channels (add a ChannelMix node before it)"
        );
        let err = s.push(audio(1, 0.0)).unwrap_err();
        assert!(err.to_string().contains("node \"v\" (Vad) failed"));
    }

    #[test]
    fn items_go_to_the_entries_that_accept_their_type_or_to_the_one_named() {
        let m = json!({"version": 1, "nodes": [
            {"id": "mic", "type": "ChannelMix"},
            {"id": "gain", "type": "Gain"},
            {"id": "chat", "type": "TextTransform"},
            {"id": "any", "type": "PassThrough"},
        ], "connections": [{"from": "mic", "to": "gain"}]});
        let opts = SessionOptions {
            output_capacity: 64,
            ..Default::default()
        };
        let s = Session::create(&m, opts).unwrap();
        s.push(audio(2, 0.5)).unwrap(); // mic and any accept audio
        s.push(Arc::new(RuntimeData::text("hi"))).unwrap(); // chat and any accept text
        s.push_to(Arc::new(RuntimeData::text("only")), Some(2))
            .unwrap();
        let err = s
            .push_to(Arc::new(RuntimeData::text("x")), Some(1))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "push: to \"gain\": not an entry node (it takes its input from other nodes); \
             entries: \"mic\" (ChannelMix) accepts audio; \"chat\" (TextTransform) accepts text; \
             \"any\" (PassThrough) accepts text/audio/video/json/binary/tensor"
        );
        let err = s
            .push_to(Arc::new(RuntimeData::text("x")), Some(0))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "push: entry \"mic\" (ChannelMix) accepts audio, got text"
        );
        s.close().unwrap();
        let outputs: Vec<u32> = drain(&s).iter().map(|(n, _)| *n).collect();
        assert_eq!(outputs, [1, 3, 2, 3, 2], "by type, then to chat alone");
        assert_eq!(s.phase().0, Phase::Ended, "refused items change nothing");
    }

    #[test]
    fn a_graph_of_sources_starts_and_ends_by_itself() {
        let dir = std::env::temp_dir().join(format!("rm-source-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("in.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for _ in 0..800 {
            w.write_sample(0i16).unwrap();
        }
        w.finalize().unwrap();
        let m = json!({"version": 1, "nodes": [
            {"id": "read", "type": "WavReader", "params": {"path": path}},
            {"id": "gain", "type": "Gain"}
        ], "connections": [{"from": "read", "to": "gain"}]});
        for threaded in [false, true] {
            let opts = SessionOptions {
                threaded,
                ..Default::default()
            };
            let s = Session::create(&m, opts).unwrap();
            let err = s.push(audio(1, 0.0)).unwrap_err();
            assert_eq!(
                err.to_string(),
                "push: this pipeline has no entry node to push to (\"read\" (WavReader) starts by itself)"
            );
            assert_eq!(
                drain(&s).len(),
                5,
                "100 ms in 20 ms frames, no push, no close"
            );
            assert_eq!(s.phase().0, Phase::Ended);
            s.close().unwrap(); // harmless
            s.shutdown();
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_host_node_emitting_a_type_it_did_not_declare_fails_itself() {
        let m = json!({"version": 1, "nodes": [
            {"id": "tts", "type": "Tts"}, {"id": "gain", "type": "Gain"}
        ], "connections": [{"from": "tts", "to": "gain"}]});
        let opts = SessionOptions {
            node_types: Some(json!([{"type": "Tts", "outputs": ["audio"]}])),
            ..Default::default()
        };
        let s = Session::create(&m, opts).unwrap();
        s.push(Arc::new(RuntimeData::text("hi"))).unwrap();
        let t = s.take_task().unwrap();
        assert_eq!(
            s.emit(t.ticket, Arc::new(RuntimeData::text("oops"))),
            Emit::Cancelled
        );
        let (phase, failure) = s.phase();
        assert_eq!(phase, Phase::Failed);
        assert_eq!(
            failure.unwrap().to_string(),
            "node \"tts\" (Tts) failed: emitted text, but it declares outputs: audio"
        );
    }

    #[test]
    fn an_item_no_entry_accepts_is_refused_and_the_session_goes_on() {
        let s = Session::create(
            &json!({"version": 1, "nodes": [{"id": "g", "type": "Gain"}]}),
            SessionOptions::default(),
        )
        .unwrap();
        let err = s
            .push(Arc::new(RuntimeData::text("not audio")))
            .unwrap_err();
        assert!(matches!(err, SessionError::Input(_)));
        assert_eq!(
            err.to_string(),
            "push: no entry node accepts text (entries: \"g\" (Gain) accepts audio)"
        );
        assert_eq!(s.push(audio(1, 0.5)).unwrap(), PushResult::Accepted);
        s.close().unwrap();
        assert_eq!(drain(&s).len(), 1);
        assert_eq!(s.phase().0, Phase::Ended);
    }

    #[test]
    fn skip_errors_counts_and_continues() {
        let s = Session::create(
            &json!({"version": 1, "nodes": [
                {"id": "v", "type": "Vad", "params": {"mode": "pass"}, "skipErrors": true}
            ]}),
            SessionOptions::default(),
        )
        .unwrap();
        s.push(stereo()).unwrap();
        s.push(audio(4, 0.25)).unwrap();
        s.close().unwrap();
        assert_eq!(drain(&s).len(), 1);
        assert_eq!(s.metrics()["nodes"][0]["errors"], json!(1));
    }

    #[test]
    fn drop_oldest_edges_keep_the_newest_items_and_count_drops() {
        let m = json!({"version": 1, "nodes": [
            {"id": "src", "type": "PassThrough"}, {"id": "sink", "type": "PassThrough"}
        ], "connections": [{"from": "src", "to": "sink", "policy": "dropOldest", "capacity": 2}]});
        let opts = SessionOptions {
            output_capacity: 1,
            ..Default::default()
        };
        let s = Session::create(&m, opts).unwrap();
        for i in 0..10 {
            assert_eq!(
                s.push(audio(1, i as f32)).unwrap(),
                PushResult::Accepted,
                "never blocks"
            );
        }
        assert_eq!(s.metrics()["nodes"][1]["dropped"], json!(7));
        s.close().unwrap();
        let values: Vec<f32> = drain(&s)
            .iter()
            .map(|(_, d)| d.as_audio().unwrap().samples.to_f32()[0])
            .collect();
        assert_eq!(values, vec![0.0, 8.0, 9.0]);
    }

    #[test]
    fn abort_cleans_up_and_rejects_more_input() {
        let s = Session::create(&chain(), SessionOptions::default()).unwrap();
        s.push(audio(150, 0.1)).unwrap();
        s.abort();
        assert_eq!(s.phase().0, Phase::Aborted);
        assert!(s
            .push(audio(1, 0.0))
            .unwrap_err()
            .to_string()
            .contains("after the session ended"));
    }

    #[test]
    fn host_nodes_get_tasks_and_their_emits_flow_downstream_in_order() {
        let m = json!({"version": 1, "nodes": [
            {"id": "src", "type": "PassThrough"},
            {"id": "host", "type": "Host"},
            {"id": "gain", "type": "Gain", "params": {"gain": 2.0}}
        ], "connections": [{"from": "src", "to": "host"}, {"from": "host", "to": "gain"}]});
        let opts = SessionOptions {
            node_types: Some(
                json!([{"type": "Host", "inputs": [{"name": "in", "accepts": ["audio"]}], "outputs": ["audio"]}]),
            ),
            ..Default::default()
        };
        let s = Session::create(&m, opts).unwrap();
        s.push(audio(2, 0.1)).unwrap();
        s.push(audio(2, 0.2)).unwrap();
        // One task at a time per host node: the second waits until the first is done.
        let t1 = s.take_task().unwrap();
        assert_eq!((t1.node, t1.items.len()), (1, 1));
        assert!(s.take_task().is_none());
        // A streaming host node emits twice for one input.
        assert_eq!(s.emit(t1.ticket, t1.items[0].clone()), Emit::Accepted);
        assert_eq!(s.emit(t1.ticket, audio(1, 0.3)), Emit::Accepted);
        assert!(s.complete_task(t1.ticket));
        let t2 = s.take_task().unwrap();
        assert_eq!(s.emit(t2.ticket, t2.items[0].clone()), Emit::Accepted);
        s.complete_task(t2.ticket);
        s.close().unwrap();
        let flush = s.take_task().unwrap();
        assert_eq!(flush.kind, crate::pipeline::engine::TaskKind::Flush);
        s.complete_task(flush.ticket);
        let values: Vec<f32> = drain(&s)
            .iter()
            .map(|(_, d)| d.as_audio().unwrap().samples.to_f32()[0])
            .collect();
        assert_eq!(values, vec![0.2, 0.6, 0.4]);
        assert_eq!(s.phase().0, Phase::Ended);
        // A late emit for a finished task is refused, not routed.
        assert_eq!(s.emit(t1.ticket, audio(1, 0.0)), Emit::Cancelled);
    }

    #[test]
    fn interrupting_a_branch_leaves_the_other_branch_alone() {
        let m = json!({"version": 1, "nodes": [
            {"id": "src", "type": "PassThrough"},
            {"id": "a", "type": "PassThrough"},
            {"id": "b", "type": "Chunker", "params": {"frames": 4}}
        ], "connections": [{"from": "src", "to": "a"}, {"from": "src", "to": "b"}]});
        let s = Session::create(
            &m,
            SessionOptions {
                output_capacity: 64,
                ..Default::default()
            },
        )
        .unwrap();
        s.push(audio(3, 0.5)).unwrap(); // b buffers 3 of 4 frames; a emits at once
        assert_eq!(
            s.interrupt_branch(Some(&[2])),
            0,
            "nothing queued into b, one output of a kept"
        );
        s.push(audio(2, 0.5)).unwrap(); // b was reset: 2 frames buffered, not 5
        s.close().unwrap();
        let outs = drain(&s);
        let from_a = outs.iter().filter(|(n, _)| *n == 1).count();
        let b_frames: Vec<usize> = outs
            .iter()
            .filter(|(n, _)| *n == 2)
            .map(|(_, d)| d.as_audio().unwrap().num_frames())
            .collect();
        assert_eq!(from_a, 2, "branch a untouched");
        assert_eq!(b_frames, vec![2], "branch b restarted after the interrupt");
    }

    #[test]
    fn a_host_failure_names_the_host_node() {
        let m = json!({"version": 1, "nodes": [{"id": "tts", "type": "Tts"}]});
        let opts = SessionOptions {
            node_types: Some(json!([{"type": "Tts"}])),
            ..Default::default()
        };
        let s = Session::create(&m, opts).unwrap();
        s.push(Arc::new(RuntimeData::text("hi"))).unwrap();
        let t = s.take_task().unwrap();
        s.fail_task(t.ticket, "espeak-ng exited with 1".into());
        let (phase, failure) = s.phase();
        assert_eq!(phase, Phase::Failed);
        assert_eq!(
            failure.unwrap().to_string(),
            "node \"tts\" (Tts) failed: espeak-ng exited with 1"
        );
    }

    #[test]
    fn invalid_manifests_list_every_issue() {
        let err = Session::create(
            &json!({"version": 1, "nodes": [{"id": "x", "type": "Nope"}, {"id": "y"}]}),
            SessionOptions::default(),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.starts_with("invalid manifest:\n  - nodes[0] \"x\".type: unknown node type"),
            "{err}"
        );
        assert!(err.contains("nodes[1] \"y\".type: missing"), "{err}");
    }
}
