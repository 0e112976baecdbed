//! C ABI for node types, manifests, sessions, the worker pool of threaded sessions and the event wait
//! they use (the tasks of TypeScript nodes are in `tasks.rs`).

use super::contract::{PollSlot, PushOutcome, RM_POLL_INFO_LEN};
use super::error::{guard, guard_status, manifest_error, AbiError, ErrorDetail, Status};
use super::handles::{self, Object};
use super::{input_str, store, RmHandle};
use crate::data::{Attributes, RuntimeData};
use crate::nodes;
use crate::pipeline::manifest::formats::ManifestCheck;
use crate::pipeline::session::{negotiated_plan, PushResult, SessionError, SessionOptions};
use crate::pipeline::{pool, wake};
use crate::pipeline::{Issue, Phase, Session};
use serde_json::{json, Value};
use std::time::Duration;

impl From<SessionError> for AbiError {
    fn from(e: SessionError) -> Self {
        let status = match &e {
            SessionError::Manifest(issues) => return manifest_error(issues),
            SessionError::Options(_) => Status::InvalidArgument,
            SessionError::Node(f) => {
                return AbiError::new(Status::NodeFailed, e.to_string()).with_detail(ErrorDetail {
                    node_id: Some(f.node_id.clone()),
                    node_type: Some(f.node_type.clone()),
                    reason: Some(f.message.clone()),
                    ..ErrorDetail::default()
                })
            }
            SessionError::Closed(_) => Status::Closed,
            SessionError::Input(_) => Status::InvalidArgument,
        };
        AbiError::new(status, e.to_string())
    }
}

fn json_handle(value: Value) -> Result<RmHandle, AbiError> {
    store(RuntimeData::json(value), Attributes::default())
}

/// Every node type's schema as a JSON array (a data handle; free with `rm_data_free`).
#[no_mangle]
pub extern "C" fn rm_node_types() -> RmHandle {
    guard(0, || {
        let schemas: Vec<Value> = nodes::registry()
            .iter()
            .map(|t| serde_json::to_value((t.schema)()).expect("schemas serialise"))
            .collect();
        json_handle(Value::Array(schemas))
    })
}

/// Validates manifest text (JSON or YAML, ours or a RemoteMedia SDK v1 manifest) as a session created
/// with `options` would (the session options' JSON: `nodeTypes` for host node types, `audioInput` and
/// `negotiate` for format negotiation; null/0 for defaults) and returns a data handle with
/// `{issues: [{path, message}], inserted: [..], formats: [{id, input?, output?}]}`: every issue (none
/// when valid), the converters format negotiation inserted, and each node's audio formats. Returns 0
/// with `InvalidArgument` when the options are wrong.
///
/// # Safety
/// Both pointer/length pairs must be null with 0 or readable for the call.
#[no_mangle]
pub unsafe extern "C" fn rm_manifest_check(
    ptr: *const u8,
    len: usize,
    options: *const u8,
    options_len: usize,
) -> RmHandle {
    guard(0, || {
        // SAFETY: forwarded caller guarantees.
        let text = unsafe { input_str(ptr, len, "manifest") }?;
        // SAFETY: forwarded caller guarantees.
        let options = unsafe { session_options(options, options_len) }?;
        let externals = match &options.node_types {
            Some(v) => crate::pipeline::manifest::external_types(v)
                .map_err(|e| AbiError::new(Status::InvalidArgument, e))?,
            None => Vec::new(),
        };
        let check = match crate::pipeline::manifest::source::load(text) {
            Err(issues) => ManifestCheck {
                issues,
                ..ManifestCheck::default()
            },
            Ok(source) => match negotiated_plan(&source.value, &externals, &options) {
                Ok((_, n)) => ManifestCheck {
                    issues: Vec::new(),
                    inserted: n.inserted,
                    formats: n.formats,
                },
                Err(SessionError::Manifest(issues)) => ManifestCheck {
                    issues: source.locate(issues),
                    ..ManifestCheck::default()
                },
                Err(e) => return Err(e.into()),
            },
        };
        let report = serde_json::to_value(check).expect("reports serialise");
        json_handle(report)
    })
}

/// Session options from JSON (defaults for null/0).
///
/// # Safety
/// `ptr`/`len` must be null with 0 or readable for the call.
unsafe fn session_options(ptr: *const u8, len: usize) -> Result<SessionOptions, AbiError> {
    if len == 0 {
        return Ok(SessionOptions::default());
    }
    // SAFETY: forwarded caller guarantee.
    let text = unsafe { input_str(ptr, len, "session options") }?;
    serde_json::from_str(text).map_err(|e| {
        AbiError::new(
            Status::InvalidArgument,
            format!("invalid session options: {e}"),
        )
    })
}

/// Reads manifest text (JSON or YAML; ours or a RemoteMedia SDK v1 manifest, which is translated) and
/// returns the manifest in our JSON form in a data handle, without validating it. Returns 0 with
/// `InvalidManifest` when the text does not parse (the issue gives the line).
///
/// # Safety
/// `ptr`/`len` must be null with 0 or readable for the call.
#[no_mangle]
pub unsafe extern "C" fn rm_manifest_convert(ptr: *const u8, len: usize) -> RmHandle {
    guard(0, || {
        // SAFETY: forwarded caller guarantees.
        let text = unsafe { input_str(ptr, len, "manifest") }?;
        let source =
            crate::pipeline::manifest::source::load(text).map_err(|i| manifest_error(&i))?;
        json_handle(source.value)
    })
}

/// Creates a session from manifest text and options JSON (`{threaded?, inputCapacity?, outputCapacity?,
/// nodeTypes?, events?, audioInput?, negotiate?}`, or null/0 for defaults; `threaded`: run on the
/// shared worker pool; `events`: record session events from the first call; `audioInput` and
/// `negotiate`: format negotiation, as in `rm_manifest_check`). Every node is built and initialized before this
/// returns. Returns 0 on error: `InvalidManifest` lists every issue; `NodeFailed` names the node whose
/// initialize failed.
/// Free with `rm_session_free`.
///
/// # Safety
/// Both pointer/length pairs must be null with 0 or readable for the call.
#[no_mangle]
pub unsafe extern "C" fn rm_session_create(
    manifest: *const u8,
    manifest_len: usize,
    options: *const u8,
    options_len: usize,
) -> RmHandle {
    guard(0, || {
        if manifest_len > crate::pipeline::manifest::MAX_MANIFEST_BYTES {
            return Err(manifest_error(&[Issue {
                path: String::new(),
                message: format!(
                    "manifest is {manifest_len} bytes; the limit is {}",
                    crate::pipeline::manifest::MAX_MANIFEST_BYTES
                ),
            }]));
        }
        // SAFETY: forwarded caller guarantees.
        let text = unsafe { input_str(manifest, manifest_len, "manifest") }?;
        // JSON or YAML, ours or a RemoteMedia SDK v1 manifest; issues point at the user's text.
        let source =
            crate::pipeline::manifest::source::load(text).map_err(|i| manifest_error(&i))?;
        // SAFETY: forwarded caller guarantees.
        let options = unsafe { session_options(options, options_len) }?;
        let session = Session::create(&source.value, options).map_err(|e| match e {
            SessionError::Manifest(issues) => SessionError::Manifest(source.locate(issues)),
            e => e,
        })?;
        let handle = handles::insert(Object::Session(session.clone()))?;
        session.set_wake_target(handle, handles::current_owner());
        Ok(handle)
    })
}

/// Offers a data item to a session (the session shares it; the caller still frees its handle): to every
/// entry node (a node without incoming connections that is not a source) whose input accepts its data
/// type. Same as `rm_session_push_to(session, data, -1)`.
/// Returns an `RmPushOutcome` (accepted, or full: poll outputs, then push again), or a negative
/// status (`NodeFailed` after a node error, `Closed` after close/abort, `InvalidArgument` when no entry
/// accepts the item's type: the message names the type and every entry with the types it accepts).
#[no_mangle]
pub extern "C" fn rm_session_push(session: RmHandle, data: RmHandle) -> i32 {
    rm_session_push_to(session, data, -1)
}

/// Offers a data item to one entry node: `entry` is its index in manifest order, or -1 (any negative
/// value) for every entry whose input accepts the item's data type. Returns as `rm_session_push`;
/// `InvalidArgument` also when `entry` is not an entry node (the message lists the entries) or does not
/// accept the item's type. Such an error leaves the session running.
#[no_mangle]
pub extern "C" fn rm_session_push_to(session: RmHandle, data: RmHandle, entry: i32) -> i32 {
    guard_status(|| {
        let s = handles::get_session(session)?;
        let d = handles::get_data(data)?;
        let to = usize::try_from(entry).ok();
        Ok(match s.push_to(d, to)? {
            PushResult::Accepted => PushOutcome::Accepted,
            PushResult::Full => PushOutcome::Full,
        } as i32)
    })
}

/// Takes the next output: returns a new data handle (free with `rm_data_free`) or 0 when none is ready,
/// and writes the `RmPollSlot`s into `out`: the emitting node, the `RmSessionPhase` (-1 on error), the
/// outputs still queued and the end-to-end latency.
///
/// # Safety
/// `out` must point to `RM_POLL_INFO_LEN` writable doubles.
#[no_mangle]
pub unsafe extern "C" fn rm_session_poll(session: RmHandle, out: *mut f64) -> RmHandle {
    // SAFETY: forwarded caller guarantee.
    unsafe { poll(session, None, out) }
}

/// Like `rm_session_poll`, for the outputs of one sink node only (`sink`: its index in manifest order;
/// each sink's queue is bounded on its own, so every branch can be read at its own pace). `out[2]` counts
/// that sink's queued outputs. A node that is not a sink never has outputs here.
///
/// # Safety
/// `out` must point to `RM_POLL_INFO_LEN` writable doubles.
#[no_mangle]
pub unsafe extern "C" fn rm_session_poll_sink(
    session: RmHandle,
    sink: u32,
    out: *mut f64,
) -> RmHandle {
    // SAFETY: forwarded caller guarantee.
    unsafe { poll(session, Some(sink as usize), out) }
}

/// # Safety
/// `out` must be null or point to `RM_POLL_INFO_LEN` writable doubles.
unsafe fn poll(session: RmHandle, sink: Option<usize>, out: *mut f64) -> RmHandle {
    let write = |values: [f64; RM_POLL_INFO_LEN]| {
        if !out.is_null() {
            // SAFETY: the caller guarantees RM_POLL_INFO_LEN writable doubles at `out`.
            unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), out, RM_POLL_INFO_LEN) };
        }
    };
    let result = guard(None, || {
        let s = handles::get_session(session)?;
        let (item, phase, left) = s.poll_sink(sink);
        let mut values = [0.0; RM_POLL_INFO_LEN];
        values[PollSlot::Phase as usize] = phase as i32 as f64;
        values[PollSlot::Node as usize] = -1.0;
        let h = match item {
            Some((node, data, entered)) => {
                values[PollSlot::Node as usize] = node as f64;
                values[PollSlot::Queued as usize] = left as f64;
                values[PollSlot::LatencyUs as usize] = entered.elapsed().as_nanos() as f64 / 1000.0;
                handles::insert(Object::Data(data))?
            }
            None => 0,
        };
        Ok(Some((h, values)))
    });
    match result {
        Some((h, values)) => {
            write(values);
            h
        }
        None => {
            let mut values = [0.0; RM_POLL_INFO_LEN];
            values[PollSlot::Node as usize] = -1.0;
            values[PollSlot::Phase as usize] = -1.0;
            write(values);
            0
        }
    }
}

/// Ends the input: queued items drain, nodes flush in order, then every node is cleaned up. Calling it
/// again is harmless. Returns 0 or a negative status.
#[no_mangle]
pub extern "C" fn rm_session_close(session: RmHandle) -> i32 {
    guard_status(|| {
        handles::get_session(session)?.close()?;
        Ok(0)
    })
}

/// Stops the session now and cleans up every node (threaded sessions finish the call in progress;
/// watch `rm_session_phase`). Returns 0 or a negative status.
#[no_mangle]
pub extern "C" fn rm_session_abort(session: RmHandle) -> i32 {
    guard_status(|| {
        handles::get_session(session)?.abort();
        Ok(0)
    })
}

/// Barge-in: drops every queued or undelivered item and resets every node; the session stays open.
/// Returns the number of items dropped, or a negative status.
#[no_mangle]
pub extern "C" fn rm_session_interrupt(session: RmHandle) -> i32 {
    guard_status(|| Ok(handles::get_session(session)?.interrupt() as i32))
}

/// Barge-in on a branch: the nodes listed in `nodes` (`count` manifest indices) and everything downstream
/// of them drop their queued items, in-flight host tasks and undelivered outputs, and are reset; the rest
/// of the graph goes on. When `mask` is not null, `mask[i]` is set to 1 for every node `i` that was
/// interrupted and 0 for the others (`mask_len` must be at least the number of nodes). Returns the number
/// of items dropped, or a negative status.
///
/// # Safety
/// `nodes` must point to `count` readable `u32`s (or be null with `count == 0`); `mask` must be null or
/// point to `mask_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rm_session_interrupt_branch(
    session: RmHandle,
    nodes: *const u32,
    count: usize,
    mask: *mut u8,
    mask_len: usize,
) -> i32 {
    guard_status(|| {
        let s = handles::get_session(session)?;
        // SAFETY: forwarded caller guarantee: `count` u32 values = `count * 4` readable bytes.
        let bytes = unsafe { super::input_bytes(nodes.cast(), count * 4, "node indices") }?;
        let indices: Vec<usize> = bytemuck::pod_collect_to_vec::<u8, u32>(bytes)
            .into_iter()
            .map(|n| n as usize)
            .collect();
        if let Some(&bad) = indices.iter().find(|&&n| n >= s.node_ids().len()) {
            return Err(AbiError::new(
                Status::InvalidArgument,
                format!(
                    "node index {bad} out of range (the session has {} nodes)",
                    s.node_ids().len()
                ),
            ));
        }
        let total = s.node_ids().len();
        if !mask.is_null() && mask_len < total {
            return Err(AbiError::new(
                Status::InvalidArgument,
                format!(
                    "the interrupt mask has room for {mask_len} nodes; the session has {total}"
                ),
            ));
        }
        let branch = s.downstream(&indices);
        let dropped = s.interrupt_branch(Some(&indices));
        if !mask.is_null() {
            let flags: Vec<u8> = branch.iter().map(|&b| b as u8).collect();
            // SAFETY: `mask` is non-null with `mask_len >= total == flags.len()` writable bytes
            // (checked above; caller guarantee); the source is a local vector.
            unsafe { std::ptr::copy_nonoverlapping(flags.as_ptr(), mask, flags.len()) };
        }
        Ok(i32::try_from(dropped).unwrap_or(i32::MAX))
    })
}

/// Current `RmSessionPhase`, or a negative status.
#[no_mangle]
pub extern "C" fn rm_session_phase(session: RmHandle) -> i32 {
    guard_status(|| Ok(handles::get_session(session)?.phase().0 as i32))
}

/// The failure that ended the session as JSON `{nodeId, nodeType, message}` (a data handle), or 0 when
/// the session did not fail (last error code stays 0 then).
#[no_mangle]
pub extern "C" fn rm_session_failure(session: RmHandle) -> RmHandle {
    guard(0, || {
        let (phase, failure) = handles::get_session(session)?.phase();
        match (phase, failure) {
            (Phase::Failed, Some(f)) => json_handle(json!({
                "nodeId": f.node_id,
                "nodeType": f.node_type,
                "message": f.message,
            })),
            _ => Ok(0),
        }
    })
}

/// Per-node metrics as JSON (a data handle).
#[no_mangle]
pub extern "C" fn rm_session_metrics(session: RmHandle) -> RmHandle {
    guard(0, || json_handle(handles::get_session(session)?.metrics()))
}

/// Starts (`enabled` = 1) or stops (0) recording session events; nothing is recorded while stopped.
/// Returns 0 or a negative status.
#[no_mangle]
pub extern "C" fn rm_session_set_events(session: RmHandle, enabled: i32) -> i32 {
    guard_status(|| {
        handles::get_session(session)?.set_events(enabled != 0);
        Ok(0)
    })
}

/// Takes the recorded events as JSON `{events: [...], dropped}` (a data handle).
#[no_mangle]
pub extern "C" fn rm_session_events(session: RmHandle) -> RmHandle {
    guard(0, || {
        json_handle(handles::get_session(session)?.drain_events())
    })
}

/// Node ids as a JSON array (a data handle): the manifest's in its order, then any converters format
/// negotiation inserted.
#[no_mangle]
pub extern "C" fn rm_session_node_ids(session: RmHandle) -> RmHandle {
    guard(0, || {
        json_handle(json!(handles::get_session(session)?.node_ids()))
    })
}

/// Ids of the sink nodes (no outgoing connection: the session's outputs come from them) as a JSON
/// array in node order (a data handle). Converters that format negotiation inserted are never sinks.
#[no_mangle]
pub extern "C" fn rm_session_sinks(session: RmHandle) -> RmHandle {
    guard(0, || {
        json_handle(json!(handles::get_session(session)?.sinks()))
    })
}

/// The entry nodes (where pushed items go: nodes without incoming connections, except sources that
/// start by themselves) as a JSON array of `{id, index, type, accepts}` in manifest order (a data
/// handle).
#[no_mangle]
pub extern "C" fn rm_session_entries(session: RmHandle) -> RmHandle {
    guard(0, || {
        json_handle(handles::get_session(session)?.entries().to_json())
    })
}

/// Aborts the session if it is still running (on the calling thread, after a slice in progress on the
/// worker pool: every node is cleaned up when this returns), and frees the handle.
/// Outputs already taken stay valid. Returns 0 or a negative status.
#[no_mangle]
pub extern "C" fn rm_session_free(session: RmHandle) -> i32 {
    guard_status(|| {
        let s = handles::get_session(session)?;
        s.shutdown();
        drop(handles::remove(session)?);
        Ok(0)
    })
}

/// The global event counter (bumped whenever a threaded session produces output or changes phase).
#[no_mangle]
pub extern "C" fn rm_events_current() -> f64 {
    guard(0.0, || Ok(wake::current_events() as f64))
}

/// Blocks until the event counter differs from `last` or `timeout_ms` passes; returns the counter.
/// Meant to be called off the JS thread (Deno `nonblocking`, a Bun worker).
#[no_mangle]
pub extern "C" fn rm_events_wait(last: f64, timeout_ms: u32) -> f64 {
    guard(0.0, || {
        Ok(wake::wait_events(last as u64, Duration::from_millis(timeout_ms as u64)) as f64)
    })
}

/// Takes the handles of the calling thread's threaded sessions that made progress (outputs, host tasks,
/// a phase change, room for input) since they were last taken: writes up to `cap` of them into `out`
/// and returns how many (call again while it returns `cap`), or a negative status. A session is listed
/// once however often it signalled; call this after `rm_events_wait` returns, then look at those
/// sessions only.
///
/// # Safety
/// `out` must point to `cap` writable doubles (or be null with `cap` 0).
#[no_mangle]
pub unsafe extern "C" fn rm_events_ready(out: *mut f64, cap: usize) -> i32 {
    guard_status(|| {
        if out.is_null() && cap > 0 {
            return Err(AbiError::new(
                Status::InvalidArgument,
                format!("rm_events_ready: null buffer with room for {cap}"),
            ));
        }
        let mut ids = vec![0.0; cap.min(4096)];
        let n = wake::take_ready(handles::current_owner(), &mut ids);
        if n > 0 {
            // SAFETY: `out` is non-null (checked above) with `cap >= n` writable doubles (caller
            // guarantee); the source is a local vector of at least `n` values.
            unsafe { std::ptr::copy_nonoverlapping(ids.as_ptr(), out, n) };
        }
        Ok(n as i32)
    })
}

/// Sets the number of worker threads that run threaded sessions (the pool is shared by every session of
/// the process): `threads` = 0 for the default, `REMOTEMEDIA_WORKER_THREADS` or else one per core; at
/// most `RM_MAX_WORKER_THREADS`. Workers over the new size leave after their current slice. Returns the
/// size now in effect, or a negative status (`InvalidArgument` above the maximum).
#[no_mangle]
pub extern "C" fn rm_worker_threads_set(threads: u32) -> i32 {
    guard_status(|| {
        let size = pool::set_size(threads as usize)
            .map_err(|e| AbiError::new(Status::InvalidArgument, e))?;
        Ok(i32::try_from(size).unwrap_or(i32::MAX))
    })
}

/// The worker pool now, as JSON `{size, threads, idle, blocking, queued, started}` (a data handle; free
/// with `rm_data_free`).
#[no_mangle]
pub extern "C" fn rm_worker_threads_stats() -> RmHandle {
    guard(0, || {
        json_handle(serde_json::to_value(pool::stats()).expect("pool stats serialise"))
    })
}
