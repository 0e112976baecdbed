//! Scheduling: which node runs next and with what, one call of a node, routing its outputs, and the
//! end of stream.
//!
//! [`Engine::run`] visits the nodes in topological order and gives each one work while it has input
//! and room downstream. Every call of a native node — `process`, `process_joined`, `resume` and
//! `flush` — goes through [`Engine::execute`], so each has the same accounting (call statistics and a
//! `process` event); a host node's call becomes a task instead (see `tasks`).

use super::{flatten, Engine, Phase, Queued, Sink, TaskKind};
use crate::data::RuntimeData;
use crate::nodes::formats::AudioSpec;
use crate::nodes::Outputs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

/// One call of a node.
pub(super) enum Work {
    /// An item that arrived on a port.
    One(usize, Queued),
    /// One item per port that had one, with its port index (joining nodes).
    Joined(Vec<(usize, Queued)>),
    /// More pending output, without new input (a file reader between batches).
    Resume,
    /// End of stream: emit what is buffered.
    Flush,
}

/// The earliest entry time of joined items.
fn earliest(items: &[(usize, Queued)]) -> Instant {
    items
        .iter()
        .map(|(_, (_, t))| *t)
        .min()
        .unwrap_or_else(Instant::now)
}

impl Engine {
    /// Room for one more output of node `n`: in every edge it feeds, or in the sink's queue for a sink.
    pub(super) fn has_room(&self, n: usize, sink: &dyn Sink) -> bool {
        let slot = &self.slots[n];
        if slot.outputs.is_empty() {
            sink.has_room(n)
        } else {
            slot.outputs.iter().all(|&e| self.edges[e].has_room())
        }
    }

    fn next_work(&mut self, n: usize, sink: &dyn Sink) -> Option<Work> {
        if self.slots[n].busy.is_some() || !self.has_room(n, sink) {
            return None;
        }
        let slot = &self.slots[n];
        if slot.pending() {
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

    /// Runs one call of node `n` (or hands it to the host as a task), records it and routes its
    /// outputs. A failed call fails the session (prefixed "flush: " for a flush) unless the node skips
    /// errors (a flush never does). Returns false on failure.
    fn execute(&mut self, n: usize, work: Work, sink: &mut dyn Sink) -> bool {
        self.calls += 1;
        let work = match self.screen(n, work) {
            Ok(work) => work,
            Err(ok) => return ok,
        };
        if self.slots[n].node.is_none() {
            self.dispatch_work(n, work, sink);
            return true;
        }
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let slot = &mut self.slots[n];
        let node = slot.node.as_mut().expect("native node");
        let (skip_errors, what) = match work {
            Work::Flush => (false, "flush: "),
            _ => (slot.skip_errors, ""),
        };
        let start = Instant::now();
        let result = match work {
            Work::One(port, (item, entered)) => {
                slot.stats.items_in += 1;
                slot.entered = entered;
                catch_unwind(AssertUnwindSafe(|| node.process(port, item, &mut out)))
            }
            Work::Joined(items) => {
                slot.stats.items_in += items.len() as u64;
                slot.entered = earliest(&items);
                let mut inputs = vec![None; slot.inputs.len()];
                for (p, (d, _)) in items {
                    inputs[p] = Some(d);
                }
                catch_unwind(AssertUnwindSafe(|| node.process_joined(inputs, &mut out)))
            }
            Work::Resume => catch_unwind(AssertUnwindSafe(|| node.resume(&mut out))),
            Work::Flush => catch_unwind(AssertUnwindSafe(|| node.flush(&mut out))),
        };
        self.finished_call(n, start, Some(out.len()));
        let ok = match flatten(result) {
            Ok(()) => true,
            Err(_) if skip_errors => {
                self.slots[n].stats.errors += 1;
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
        self.scratch = out; // reused by the next call
        ok
    }

    /// Audio that does not fit what node `n` accepts (its type's formats narrowed by its
    /// `inputFormat`) never reaches it — a TypeScript node that declares `inputFormat` gets nothing
    /// else. Such an item fails the node, or with `skipErrors` is counted and left out (a joined call
    /// goes on with the other ports' items). `Err(ok)`: the call is over (`ok`: the session goes on).
    fn screen(&mut self, n: usize, work: Work) -> Result<Work, bool> {
        let Some(accepts) = self.slots[n].audio_in.as_ref() else {
            return Ok(work);
        };
        let slot = &self.slots[n];
        let problem = |port: usize, item: &RuntimeData| {
            let have = AudioSpec::of(item.as_audio().ok()?);
            let bad = accepts.mismatches(&have);
            (!bad.is_empty()).then(|| {
                let port = match slot.ports.get(port) {
                    Some(name) if slot.ports.len() > 1 => format!("port \"{name}\" "),
                    _ => String::new(),
                };
                format!(
                    "{port}gets audio of {have} but accepts {} (not {}): convert it before this node \
                     (ChannelMix / Resample / AudioFormat; format negotiation inserts them where the \
                     format is known before the run: the session's audioInput, a node's outputFormat)",
                    accepts.describe(),
                    bad.join(", ")
                )
            })
        };
        let (work, problems, bad_items) = match work {
            Work::One(port, queued) => match problem(port, &queued.0) {
                None => return Ok(Work::One(port, queued)),
                Some(p) => (None, vec![p], 1),
            },
            Work::Joined(items) => {
                let (good, bad): (Vec<_>, Vec<_>) = items
                    .into_iter()
                    .map(|(p, q)| {
                        let why = problem(p, &q.0);
                        (p, q, why)
                    })
                    .partition(|(_, _, why)| why.is_none());
                if bad.is_empty() {
                    let good = good.into_iter().map(|(p, q, _)| (p, q)).collect();
                    return Ok(Work::Joined(good));
                }
                let count = bad.len();
                let problems = bad.into_iter().filter_map(|(_, _, why)| why).collect();
                let good: Vec<_> = good.into_iter().map(|(p, q, _)| (p, q)).collect();
                (
                    (!good.is_empty()).then_some(Work::Joined(good)),
                    problems,
                    count,
                )
            }
            other => return Ok(other),
        };
        let slot = &mut self.slots[n];
        slot.stats.items_in += bad_items as u64;
        if slot.skip_errors {
            slot.stats.errors += bad_items as u64;
            return work.ok_or(true);
        }
        if let Some(Work::Joined(good)) = &work {
            slot.stats.items_in += good.len() as u64;
        }
        self.fail(n, problems.join("; "));
        Err(false)
    }

    /// A call of host node `n` becomes a task (a host node never has pending output to resume).
    fn dispatch_work(&mut self, n: usize, work: Work, sink: &mut dyn Sink) {
        let (kind, items) = match work {
            Work::One(port, item) => (TaskKind::Process, vec![(port, item)]),
            Work::Joined(items) => (TaskKind::Process, items),
            Work::Flush => (TaskKind::Flush, Vec::new()),
            Work::Resume => return,
        };
        if kind == TaskKind::Process {
            self.slots[n].entered = earliest(&items);
        }
        let (ports, items) = items.into_iter().map(|(p, (d, _))| (p, d)).unzip();
        self.dispatch(n, kind, ports, items, sink);
    }

    /// Sends the outputs of node `n` downstream (or to the sink), counting them and any drops.
    pub(super) fn route(&mut self, n: usize, out: &mut Outputs, sink: &mut dyn Sink) {
        let slot = &mut self.slots[n];
        slot.stats.items_out += out.len() as u64;
        let entered = slot.entered;
        self.record_node_events(n, out);
        let slot = &self.slots[n];
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
                    self.record_drop(self.edges[e].to, n);
                }
            }
        }
    }

    /// Nothing runs, nothing is queued anywhere: the end, once every node is flushed.
    fn idle(&self) -> bool {
        self.edges.iter().all(|e| e.queue.is_empty())
            && self.slots.iter().all(|s| s.busy.is_none() && !s.pending())
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
                || slot.pending()
                || !self.upstream[n].iter().all(|&u| self.node_done(u))
            {
                continue;
            }
            let waiting = slot
                .inputs
                .iter()
                .flatten()
                .any(|&e| !self.edges[e].queue.is_empty());
            if waiting {
                if !slot.joins || !self.has_room(n, sink) {
                    continue;
                }
                let work = self.take_join(n).expect("a port has an item");
                return Some(self.execute(n, work, sink));
            }
            self.flushed[n] = true;
            return Some(self.execute(n, Work::Flush, sink));
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
}
