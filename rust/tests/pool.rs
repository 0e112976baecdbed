//! Threaded sessions share the worker pool: 1,000 idle threaded sessions add no more OS threads than
//! the pool's size (one per core by default), whatever their number. A test binary of its own, so the
//! process's thread count (`/proc/self/task`) is not disturbed by other tests.

use remotemedia::abi::pipeline::*;
use remotemedia::abi::*;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

fn json(handle: RmHandle) -> serde_json::Value {
    let mut info = [0f64; RM_INFO_LEN];
    // SAFETY: `info` holds RM_INFO_LEN writable doubles.
    assert!(unsafe { rm_data_info(handle, info.as_mut_ptr(), info.len()) } > 0);
    let len = info[1] as usize;
    let ptr = rm_data_ptr(handle);
    // SAFETY: the payload has `len` readable bytes at `ptr` while the handle lives (freed below).
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec();
    assert_eq!(rm_data_free(handle), 0);
    serde_json::from_slice(&bytes).unwrap()
}

fn create(manifest: &str, options: &str) -> RmHandle {
    // SAFETY: both pointer/length pairs describe live strings.
    unsafe {
        rm_session_create(
            manifest.as_ptr(),
            manifest.len(),
            options.as_ptr(),
            options.len(),
        )
    }
}

#[test]
#[cfg(target_os = "linux")]
fn idle_threaded_sessions_cost_no_thread_of_their_own_and_the_size_is_set() {
    let manifest = r#"{"version": 1, "nodes": [
        {"id": "mono", "type": "ChannelMix", "params": {"mode": "mono"}},
        {"id": "res", "type": "Resample", "params": {"targetRate": 16000}},
        {"id": "vad", "type": "Vad"}
    ], "connections": [{"from": "mono", "to": "res"}, {"from": "res", "to": "vad"}]}"#;
    let options = r#"{"threaded": true}"#;
    let size = json(rm_worker_threads_stats())["size"].as_u64().unwrap() as usize;
    let before = threads();
    let sessions: Vec<RmHandle> = (0..1000).map(|_| create(manifest, options)).collect();
    assert!(sessions.iter().all(|&h| h != 0));
    // Each session was queued once when it was created; let the pool run those first slices.
    let start = std::time::Instant::now();
    while json(rm_worker_threads_stats())["queued"].as_u64() != Some(0) {
        assert!(
            start.elapsed().as_secs() < 30,
            "the pool never ran the first slices"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let during = threads();
    eprintln!(
        "threads: {before} before, {during} with 1000 idle threaded sessions (pool size {size})"
    );
    assert!(
        during <= before + size,
        "{during} threads with 1000 idle sessions, {before} before; the pool has {size}"
    );
    for h in sessions {
        assert_eq!(rm_session_free(h), 0);
    }
    let stats = json(rm_worker_threads_stats());
    assert!(
        stats["threads"].as_u64().unwrap() as usize <= size,
        "{stats}"
    );

    // The size can be set (and reset to the default), within bounds.
    assert_eq!(rm_worker_threads_set(3), 3);
    assert_eq!(json(rm_worker_threads_stats())["size"], 3);
    assert_eq!(
        rm_worker_threads_set(contract::RM_MAX_WORKER_THREADS + 1),
        -(error::Status::InvalidArgument as i32)
    );
    let default = rm_worker_threads_set(0);
    assert!(default >= 1);
    assert_eq!(json(rm_worker_threads_stats())["size"], default);
}
