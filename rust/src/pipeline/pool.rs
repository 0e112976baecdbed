//! The shared worker pool that runs threaded sessions: a few native threads (one per core by default;
//! `REMOTEMEDIA_WORKER_THREADS`, or [`set_size`] through `rm_worker_threads_set`) take the sessions that
//! have work from one FIFO queue and run each for one bounded slice ([`SLICE`]) before it goes back to
//! the end of the queue, so a busy session cannot starve the others. A session without work is in no
//! queue and on no thread: it costs its memory and nothing else.
//!
//! A task's [`Schedule`] moves idle → queued (on [`wake`]) → running (a worker took it) → idle (it
//! blocked and nothing new came), or queued again (its slice ran out, or it was woken while it ran), or
//! done (it ended: it is never queued again). A wake of a queued or running task is one atomic
//! operation.
//!
//! **Blocking work.** A task whose graph does file I/O (a node marked `heavy` in its schema:
//! `WavReader`, `WavWriter`) may block its worker in a system call. While a worker runs a slice of such
//! a task it does not count against the pool size: when work is waiting and no idle worker can take it,
//! a thread is added, so blocked slices never leave the other sessions without their `size` threads.
//! Surplus threads leave once they are no longer needed; there are at most [`MAX_EXTRA`] of them (past
//! that, blocking slices share the pool's threads like any other). Idle threads leave after
//! [`KEEP_ALIVE`] without work.
//!
//! The queue holds tasks weakly: a session whose last handle goes while it waits in the queue is
//! dropped then and there (its nodes are cleaned up by the engine's `Drop`), and its entry is skipped.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// How long a task runs before it goes back to the end of the queue (it may overrun by one node call).
pub(crate) const SLICE: Duration = Duration::from_millis(1);
/// Threads beyond the pool size while slices of blocking tasks run.
pub(crate) const MAX_EXTRA: usize = 128;
/// An idle worker leaves after this long without work.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(10);
/// The largest pool size accepted.
pub(crate) const MAX_SIZE: usize = 1024;
/// The environment variable that sets the default pool size.
pub(crate) const ENV: &str = "REMOTEMEDIA_WORKER_THREADS";

/// How a slice ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slice {
    /// Nothing left to do until the next wake.
    Idle,
    /// The slice ran out with work left: run again after the others.
    More,
    /// The task ended for good.
    Done,
}

/// Work the pool runs.
pub trait Task: Send + Sync + 'static {
    /// The task's scheduling state.
    fn schedule(&self) -> &Schedule;
    /// Runs for about `budget` at most (one call may overrun it); must not block waiting for a wake.
    fn run_slice(&self, budget: Duration) -> Slice;
}

const IDLE: u8 = 0;
const QUEUED: u8 = 1;
const RUNNING: u8 = 2;
/// Running, and woken meanwhile: queued again after the slice.
const NOTIFIED: u8 = 3;
const DONE: u8 = 4;

/// A task's place in the pool (see the module comment for its states).
#[derive(Debug)]
pub struct Schedule {
    state: AtomicU8,
    blocking: bool,
}

impl Schedule {
    /// A task that was never queued; `blocking` when its slices may block in I/O.
    pub fn new(blocking: bool) -> Self {
        Schedule {
            state: AtomicU8::new(IDLE),
            blocking,
        }
    }

    /// True when the task's slices may block in I/O.
    pub fn is_blocking(&self) -> bool {
        self.blocking
    }

    /// True once the task ended (it is never run again).
    pub fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) == DONE
    }
}

struct State {
    queue: VecDeque<Weak<dyn Task>>,
    /// The pool size (0 until first use: then the environment variable, else one per core).
    size: usize,
    /// Worker threads alive.
    threads: usize,
    /// Workers waiting for work.
    idle: usize,
    /// Workers running a slice of a blocking task.
    blocking: usize,
    /// Threads started since the library was loaded.
    started: u64,
    /// When each running non-blocking slice started.
    slices: Vec<Instant>,
}

static STATE: Mutex<State> = Mutex::new(State {
    queue: VecDeque::new(),
    size: 0,
    threads: 0,
    idle: 0,
    blocking: 0,
    started: 0,
    slices: Vec::new(),
});
static WORK: Condvar = Condvar::new();

fn lock() -> MutexGuard<'static, State> {
    // Every critical section leaves the state consistent, so a poisoned lock is still usable.
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The size from the environment, else one per core.
fn default_size() -> usize {
    std::env::var(ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| (1..=MAX_SIZE).contains(n))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn size(st: &mut State) -> usize {
    if st.size == 0 {
        st.size = default_size();
    }
    st.size
}

/// Workers free to run non-blocking work (alive, not inside a blocking slice).
fn available(st: &State) -> usize {
    st.threads - st.blocking
}

/// Starts a worker; false when the system refused a thread.
fn spawn(st: &mut State) -> bool {
    st.threads += 1;
    let started = std::thread::Builder::new()
        .name("remotemedia-worker".into())
        .spawn(worker);
    match started {
        Ok(_) => {
            st.started += 1;
            true
        }
        Err(_) => {
            st.threads -= 1;
            false
        }
    }
}

/// After work was queued: when the queue holds more tasks than there are workers that will take one
/// soon without being woken (those in a non-blocking slice that started less than a [`SLICE`] ago),
/// wake an idle worker, or add one while the pool is below its size. Sparing wake-ups matters: many
/// sessions with a little work each (a 20 ms frame is ~15 µs) would otherwise cost a thread switch
/// per frame. Err when no worker exists and none could be started.
fn dispatch(st: &mut State) -> Result<(), String> {
    let now = Instant::now();
    let soon = st.slices.iter().filter(|&&t| now - t < SLICE).count();
    if st.queue.len() <= soon {
        return Ok(());
    }
    if st.idle > 0 {
        WORK.notify_one();
        return Ok(());
    }
    let size = size(st);
    if available(st) < size && st.threads < size + MAX_EXTRA && !spawn(st) && st.threads == 0 {
        return Err("the system refused to start a worker thread".into());
    }
    Ok(())
}

/// Queues `task` when it is idle (a queued or running task only notes the wake). Err when the pool
/// has no thread and cannot start one (the task stays queued for the next wake).
pub fn wake(task: &Weak<dyn Task>, schedule: &Schedule) -> Result<(), String> {
    let mut current = schedule.state.load(Ordering::Acquire);
    loop {
        let next = match current {
            IDLE => QUEUED,
            RUNNING => NOTIFIED,
            _ => return Ok(()), // queued, notified or done
        };
        match schedule.state.compare_exchange_weak(
            current,
            next,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) if next == QUEUED => {
                let mut st = lock();
                st.queue.push_back(task.clone());
                return dispatch(&mut st);
            }
            Ok(_) => return Ok(()),
            Err(now) => current = now,
        }
    }
}

fn worker() {
    let mut st = lock();
    // When this worker's current non-blocking slice started (listed in `st.slices` meanwhile).
    let mut slice: Option<Instant> = None;
    loop {
        if let Some(started) = slice.take() {
            if let Some(at) = st.slices.iter().position(|&t| t == started) {
                st.slices.swap_remove(at);
            }
        }
        if available(&st) > size(&mut st) {
            st.threads -= 1; // surplus: the pool shrank, or a blocking slice ended
            return;
        }
        let Some(weak) = st.queue.pop_front() else {
            st.idle += 1;
            let (guard, waited) = WORK
                .wait_timeout(st, KEEP_ALIVE)
                .unwrap_or_else(|e| e.into_inner());
            st = guard;
            st.idle -= 1;
            if waited.timed_out() && st.queue.is_empty() {
                st.threads -= 1;
                return;
            }
            continue;
        };
        let Some(task) = weak.upgrade() else {
            continue; // its session is gone
        };
        if !task.schedule().blocking {
            let now = Instant::now();
            st.slices.push(now);
            slice = Some(now);
        }
        drop(st);
        run(task, weak);
        st = lock();
    }
}

/// Runs one slice of `task` and puts it back in the queue when it has more to do.
fn run(task: Arc<dyn Task>, weak: Weak<dyn Task>) {
    let schedule = task.schedule();
    schedule.state.store(RUNNING, Ordering::Release);
    let blocking = schedule.blocking;
    if blocking {
        let mut st = lock();
        st.blocking += 1;
        // This thread may block: waiting work goes to an idle worker, or to a new one.
        let _ = dispatch(&mut st);
    }
    // Node calls catch their own panics; one escaping the engine ends the task, not the worker.
    let end = catch_unwind(AssertUnwindSafe(|| task.run_slice(SLICE))).unwrap_or(Slice::Done);
    if blocking {
        lock().blocking -= 1;
    }
    let again = match end {
        Slice::Done => {
            schedule.state.store(DONE, Ordering::Release);
            false
        }
        Slice::More => true,
        Slice::Idle => schedule
            .state
            .compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire)
            .is_err(), // woken while running
    };
    if again {
        schedule.state.store(QUEUED, Ordering::Release);
        let mut st = lock();
        st.queue.push_back(weak);
        let _ = dispatch(&mut st); // this worker is alive: the task will run
    }
    drop(task); // outside the lock: the last reference runs the session's cleanup here
}

/// Sets the pool size (0: the default, `REMOTEMEDIA_WORKER_THREADS` or one per core); returns the size
/// now in effect. Surplus workers leave after their current slice; missing ones start when work comes.
pub fn set_size(threads: usize) -> Result<usize, String> {
    if threads > MAX_SIZE {
        return Err(format!(
            "worker threads: expected 0 (one per core) to {MAX_SIZE}, got {threads}"
        ));
    }
    let mut st = lock();
    st.size = if threads == 0 {
        default_size()
    } else {
        threads
    };
    WORK.notify_all(); // idle surplus workers leave
    while !st.queue.is_empty() && available(&st) < st.size && spawn(&mut st) {}
    Ok(st.size)
}

/// The pool now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PoolStats {
    /// Threads the pool keeps for non-blocking work.
    pub size: usize,
    /// Worker threads alive (idle ones included; more than `size` while blocking slices run).
    pub threads: usize,
    /// Workers waiting for work.
    pub idle: usize,
    /// Workers inside a slice of a session that does file I/O.
    pub blocking: usize,
    /// Sessions waiting for a worker.
    pub queued: usize,
    /// Threads started since the library was loaded.
    #[cfg_attr(test, ts(type = "number"))]
    pub started: u64,
}

/// A snapshot of the pool.
pub fn stats() -> PoolStats {
    let mut st = lock();
    PoolStats {
        size: size(&mut st),
        threads: st.threads,
        idle: st.idle,
        blocking: st.blocking,
        queued: st.queue.len(),
        started: st.started,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A task that needs `slices` slices, each spinning for `spin`.
    struct Spinner {
        schedule: Schedule,
        left: AtomicUsize,
        ran: AtomicUsize,
        spin: Duration,
    }

    impl Task for Spinner {
        fn schedule(&self) -> &Schedule {
            &self.schedule
        }
        fn run_slice(&self, _budget: Duration) -> Slice {
            let start = Instant::now();
            while start.elapsed() < self.spin {}
            self.ran.fetch_add(1, Ordering::SeqCst);
            match self.left.fetch_sub(1, Ordering::SeqCst) {
                1 => Slice::Done,
                _ => Slice::More,
            }
        }
    }

    fn spinner(slices: usize, blocking: bool) -> Arc<Spinner> {
        Arc::new(Spinner {
            schedule: Schedule::new(blocking),
            left: AtomicUsize::new(slices),
            ran: AtomicUsize::new(0),
            spin: Duration::from_micros(50),
        })
    }

    fn wait_until(what: &str, done: impl Fn() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "timed out: {what}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn tasks_run_until_done_and_a_woken_done_task_stays_done() {
        let tasks: Vec<_> = (0..20).map(|i| spinner(1 + i % 5, false)).collect();
        for t in &tasks {
            let weak: Weak<dyn Task> = Arc::downgrade(&(t.clone() as Arc<dyn Task>));
            wake(&weak, &t.schedule).unwrap();
        }
        wait_until("every task done", || {
            tasks.iter().all(|t| t.schedule.is_done())
        });
        for (i, t) in tasks.iter().enumerate() {
            assert_eq!(t.ran.load(Ordering::SeqCst), 1 + i % 5);
            let weak: Weak<dyn Task> = Arc::downgrade(&(t.clone() as Arc<dyn Task>));
            wake(&weak, &t.schedule).unwrap();
            assert!(t.schedule.is_done());
        }
        assert!(stats().threads <= stats().size + MAX_EXTRA);
    }

    #[test]
    fn a_task_dropped_while_queued_is_skipped() {
        let t = spinner(1, false);
        let weak: Weak<dyn Task> = Arc::downgrade(&(t.clone() as Arc<dyn Task>));
        let schedule = Schedule::new(false);
        drop(t);
        // Its Arc is gone: the queue entry cannot be upgraded and is skipped.
        wake(&weak, &schedule).unwrap();
        wait_until("queue drained", || stats().queued == 0);
    }

    /// A blocking task: its slice waits until released (at most 30 s).
    struct Blocker {
        schedule: Schedule,
        entered: AtomicUsize,
        release: Arc<(Mutex<bool>, Condvar)>,
    }

    impl Task for Blocker {
        fn schedule(&self) -> &Schedule {
            &self.schedule
        }
        fn run_slice(&self, _budget: Duration) -> Slice {
            self.entered.fetch_add(1, Ordering::SeqCst);
            let (m, cv) = &*self.release;
            let released = m.lock().unwrap();
            let _released = cv
                .wait_timeout_while(released, Duration::from_secs(30), |r| !*r)
                .unwrap();
            Slice::Done
        }
    }

    #[test]
    fn blocked_slices_do_not_hold_back_other_tasks() {
        // More blocking tasks than the pool has threads: every one of them runs at once on a thread
        // of its own, and a plain task still gets a thread while they are all blocked.
        let release = Arc::new((Mutex::new(false), Condvar::new()));
        let count = stats().size + 1;
        let blockers: Vec<_> = (0..count)
            .map(|_| {
                Arc::new(Blocker {
                    schedule: Schedule::new(true),
                    entered: AtomicUsize::new(0),
                    release: release.clone(),
                })
            })
            .collect();
        for b in &blockers {
            let weak: Weak<dyn Task> = Arc::downgrade(&(b.clone() as Arc<dyn Task>));
            wake(&weak, &b.schedule).unwrap();
        }
        wait_until("every blocking task running", || {
            blockers
                .iter()
                .all(|b| b.entered.load(Ordering::SeqCst) == 1)
        });
        assert!(stats().blocking >= count);
        let plain = spinner(3, false);
        let weak: Weak<dyn Task> = Arc::downgrade(&(plain.clone() as Arc<dyn Task>));
        wake(&weak, &plain.schedule).unwrap();
        wait_until("the plain task done", || plain.schedule.is_done());
        assert!(blockers.iter().all(|b| !b.schedule.is_done()));
        *release.0.lock().unwrap() = true;
        release.1.notify_all();
        wait_until("every blocking task done", || {
            blockers.iter().all(|b| b.schedule.is_done())
        });
    }

    #[test]
    fn sizes_out_of_range_are_refused() {
        assert!(set_size(MAX_SIZE + 1).is_err());
    }
}
