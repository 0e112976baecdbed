//! C ABI of host-node tasks: a TypeScript node's work is handed out as tasks (`rm_session_take_task`),
//! answered with its outputs (`rm_session_emit`) and an end (`rm_session_task_done` / `_task_fail`);
//! `rm_session_fail_node` reports a failure outside a task (its initialize).

use super::contract::{EmitOutcome, TaskSlot, RM_TASK_HEADER_LEN};
use super::error::{guard_status, AbiError, Status};
use super::handles::{self, Object};
use super::{input_str, RmHandle};

/// Takes the next task for a host (TypeScript) node. Writes the `RmTaskSlot` header (ticket, node, port,
/// `RmHostTaskKind`, count), then `count` item handles, then the input port of each item, into `out`
/// (`cap` `uint64_t`s; a join whose wait was cut short lists only the ports that had an item) and
/// returns the number of slots written: 0 when no task is ready, negative on error. When the task needs
/// more than `cap` slots
/// (a node with many input ports) nothing is written, the task stays first in line, and the return
/// value is the number of slots needed (greater than `cap`): call again with a buffer that large.
/// The item handles are new: free each with `rm_data_free`. Answer with `rm_session_emit`, then
/// `rm_session_task_done` or `rm_session_task_fail`.
///
/// # Safety
/// `out` must point to `cap` writable `uint64_t`s.
#[no_mangle]
pub unsafe extern "C" fn rm_session_take_task(session: RmHandle, out: *mut u64, cap: usize) -> i32 {
    guard_status(|| {
        let s = handles::get_session(session)?;
        let Some(task) = s.take_task() else {
            return Ok(0);
        };
        let needed = RM_TASK_HEADER_LEN + 2 * task.items.len();
        if out.is_null() || cap < needed {
            // Never drop a task: hand it back and say how much room it needs.
            s.return_task(task);
            return i32::try_from(needed).map_err(|_| {
                AbiError::new(
                    Status::InvalidArgument,
                    format!("a task with {needed} values cannot be described"),
                )
            });
        }
        let mut values = vec![0u64; RM_TASK_HEADER_LEN];
        values[TaskSlot::Ticket as usize] = task.ticket;
        values[TaskSlot::Node as usize] = task.node as u64;
        values[TaskSlot::Port as usize] = task.port as u64;
        values[TaskSlot::Kind as usize] = task.kind as u64;
        values[TaskSlot::Count as usize] = task.items.len() as u64;
        for item in task.items {
            values.push(handles::insert(Object::Data(item))?);
        }
        values.extend(task.ports.iter().map(|&p| p as u64));
        // SAFETY: `out` is non-null with `cap >= values.len()` writable u64s (checked above).
        unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), out, values.len()) };
        Ok(values.len() as i32)
    })
}

/// Emits one output of host task `ticket` (the session shares the data; the caller still frees its
/// handle). Returns an `RmEmitOutcome` (routed; downstream full: emit again after progress; the task
/// was cancelled by an interrupt, abort or failure: stop producing), or a negative status.
#[no_mangle]
pub extern "C" fn rm_session_emit(session: RmHandle, ticket: u64, data: RmHandle) -> i32 {
    guard_status(|| {
        let s = handles::get_session(session)?;
        let d = handles::get_data(data)?;
        Ok(match s.emit(ticket, d) {
            crate::pipeline::engine::Emit::Accepted => EmitOutcome::Accepted,
            crate::pipeline::engine::Emit::Full => EmitOutcome::Full,
            crate::pipeline::engine::Emit::Cancelled => EmitOutcome::Cancelled,
        } as i32)
    })
}

/// Marks host task `ticket` finished. Returns `RM_EMIT_OUTCOME_ACCEPTED`, `RM_EMIT_OUTCOME_CANCELLED`
/// when it had been cancelled, or a negative status.
#[no_mangle]
pub extern "C" fn rm_session_task_done(session: RmHandle, ticket: u64) -> i32 {
    guard_status(|| {
        Ok(if handles::get_session(session)?.complete_task(ticket) {
            EmitOutcome::Accepted
        } else {
            EmitOutcome::Cancelled
        } as i32)
    })
}

/// Host task `ticket` failed with a UTF-8 message: the session fails with that node's id (unless the
/// node skips errors). Returns 0 or a negative status.
///
/// # Safety
/// `msg`/`len` must be null with 0 or readable for the call.
#[no_mangle]
pub unsafe extern "C" fn rm_session_task_fail(
    session: RmHandle,
    ticket: u64,
    msg: *const u8,
    len: usize,
) -> i32 {
    guard_status(|| {
        // SAFETY: forwarded caller guarantee.
        let message = unsafe { input_str(msg, len, "failure message") }?;
        handles::get_session(session)?.fail_task(ticket, message.to_string());
        Ok(0)
    })
}

/// Host node `node` (manifest index) failed outside a task, e.g. in its initialize: the session fails
/// with that node's id. Returns 0 or a negative status.
///
/// # Safety
/// `msg`/`len` must be null with 0 or readable for the call.
#[no_mangle]
pub unsafe extern "C" fn rm_session_fail_node(
    session: RmHandle,
    node: u32,
    msg: *const u8,
    len: usize,
) -> i32 {
    guard_status(|| {
        // SAFETY: forwarded caller guarantee.
        let message = unsafe { input_str(msg, len, "failure message") }?;
        handles::get_session(session)?.fail_node(node as usize, message.to_string());
        Ok(0)
    })
}
