//! Waking waiters off the engine's threads. A threaded session signals whenever it makes progress a
//! caller may wait for (outputs, a host task, a phase change, room for input): it bumps one global
//! event counter, and a waiter blocks until the counter differs from the value it last saw — one
//! waiting thread (Deno's `nonblocking` call of `rm_events_wait`, Bun's Worker) serves every session.
//! So that a wake does not make every waiting session look at itself, a session that has its
//! [`Waker`] target set (the ABI sets it to the session's handle and the JavaScript thread that made
//! it) is also listed, once until taken, in that thread's ready list: after a wake, each thread takes
//! its list ([`take_ready`]) and wakes only those sessions.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

static EVENTS: (Mutex<u64>, Condvar) = (Mutex::new(0), Condvar::new());

/// Sessions that made progress since their thread last looked: `(group, [(id, listed flag)])`.
type ReadyLists = Vec<(u64, Vec<(u64, Arc<AtomicBool>)>)>;
static READY: Mutex<ReadyLists> = Mutex::new(Vec::new());

fn counter() -> MutexGuard<'static, u64> {
    EVENTS.0.lock().unwrap_or_else(|e| e.into_inner())
}

fn ready() -> MutexGuard<'static, ReadyLists> {
    READY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Tells every waiter in [`wait_events`] that some threaded session made progress.
pub(super) fn notify_events() {
    let mut seq = counter();
    *seq += 1;
    EVENTS.1.notify_all();
}

/// A session's way of signalling progress: the global counter, and (once its target is set) its entry
/// in its thread's ready list.
#[derive(Debug, Default)]
pub struct Waker {
    /// What the ready list reports (the session's handle); 0 until set.
    id: AtomicU64,
    /// The ready list it goes to (the thread that made the handle).
    group: AtomicU64,
    /// True while listed and not yet taken.
    listed: Arc<AtomicBool>,
}

impl Waker {
    /// Lists the session as `id` in ready list `group` from now on (`id` 0: never listed).
    pub fn set_target(&self, id: u64, group: u64) {
        self.group.store(group, Ordering::Relaxed);
        self.id.store(id, Ordering::Release);
    }

    /// Signals progress: lists the session (unless listed already), then wakes the waiters.
    pub fn wake(&self) {
        let id = self.id.load(Ordering::Acquire);
        if id != 0 && !self.listed.swap(true, Ordering::AcqRel) {
            let group = self.group.load(Ordering::Relaxed);
            let mut lists = ready();
            let entry = (id, self.listed.clone());
            match lists.iter_mut().find(|(g, _)| *g == group) {
                Some((_, list)) => list.push(entry),
                None => lists.push((group, vec![entry])),
            }
        }
        notify_events();
    }
}

/// Takes up to `out.len()` ids of group `group`'s ready list (the sessions that made progress since
/// they were last taken) into `out`; returns how many (the rest stay listed for the next call).
pub fn take_ready(group: u64, out: &mut [f64]) -> usize {
    let mut lists = ready();
    let Some(at) = lists.iter().position(|(g, _)| *g == group) else {
        return 0;
    };
    let list = &mut lists[at].1;
    let n = list.len().min(out.len());
    for (slot, (id, listed)) in out.iter_mut().zip(list.drain(..n)) {
        // Unlisted before the caller looks at the session: progress after this lists it again.
        listed.store(false, Ordering::Release);
        *slot = id as f64;
    }
    if list.is_empty() {
        lists.swap_remove(at);
    }
    n
}

/// Forgets group `group`'s ready list (its thread exited).
pub fn drop_group(group: u64) {
    ready().retain(|(g, _)| *g != group);
}

/// Blocks until the global event counter differs from `last` or `timeout` passes; returns the counter.
pub fn wait_events(last: u64, timeout: Duration) -> u64 {
    let (seq, _) = EVENTS
        .1
        .wait_timeout_while(counter(), timeout, |s| *s == last)
        .unwrap_or_else(|e| e.into_inner());
    *seq
}

/// The global event counter now.
pub fn current_events() -> u64 {
    *counter()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_waiter_wakes_on_progress_and_times_out_without() {
        // Other tests' sessions may bump the counter too: wait for "any change after `seen`".
        let seen = current_events();
        let waiter = std::thread::spawn(move || wait_events(seen, Duration::from_secs(10)));
        notify_events();
        assert!(waiter.join().unwrap() > seen);
        let now = current_events();
        let start = Instant::now();
        let after = wait_events(now, Duration::from_millis(20));
        assert!(after > now || start.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn a_session_is_listed_once_until_taken_in_its_own_group() {
        const GROUP: u64 = u64::MAX - 7; // no thread has this token
        let a = Waker::default();
        let b = Waker::default();
        let untargeted = Waker::default();
        a.set_target(11, GROUP);
        b.set_target(12, GROUP);
        let seen = current_events();
        a.wake();
        a.wake();
        b.wake();
        untargeted.wake();
        assert!(current_events() >= seen + 4);
        let mut out = [0.0; 1];
        assert_eq!(take_ready(GROUP, &mut out), 1);
        assert_eq!(out, [11.0]);
        a.wake(); // taken, so listed again
        let mut out = [0.0; 8];
        assert_eq!(take_ready(GROUP, &mut out), 2);
        assert_eq!(&out[..2], &[12.0, 11.0]);
        assert_eq!(take_ready(GROUP, &mut out), 0);
        b.wake();
        drop_group(GROUP);
        assert_eq!(take_ready(GROUP, &mut out), 0);
    }
}
