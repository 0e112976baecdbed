//! The global event counter that wakes waiters off the engine's threads: a threaded session bumps it
//! whenever it makes progress a caller may wait for (an output, a host task, a phase change, room for
//! input), and a waiter blocks until it differs from the value it last saw. One counter for every
//! session, so one waiting thread (Deno's `nonblocking` call of `rm_events_wait`, Bun's Worker) serves
//! them all.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

static EVENTS: (Mutex<u64>, Condvar) = (Mutex::new(0), Condvar::new());

fn counter() -> MutexGuard<'static, u64> {
    EVENTS.0.lock().unwrap_or_else(|e| e.into_inner())
}

/// Tells every waiter in [`wait_events`] that some threaded session made progress.
pub(super) fn notify_events() {
    let mut seq = counter();
    *seq += 1;
    EVENTS.1.notify_all();
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
}
