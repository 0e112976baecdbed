//! The C ABI: the only `extern "C"` functions and the only `unsafe` code of the crate.
//!
//! Conventions (also in the generated header):
//! - Every function catches panics and reports failure through its return value: handle-returning
//!   functions return 0, pointer-returning ones null, and every `int32_t` result is `>= 0` on success
//!   (0, a count or an outcome code of [`contract`]) and `-status` on failure. `rm_last_error_code`,
//!   `rm_last_error_message` and `rm_last_error_detail` (structured JSON) then describe the failure on
//!   the calling thread.
//! - Handles are opaque `u64` values below 2^53; every call validates them (null, stale, freed, foreign).
//! - Pointer + length pairs are read during the call only; nothing keeps them.

pub mod contract;
pub mod data;
pub mod error;
pub mod handles;
pub mod pipeline;
pub mod tasks;
pub mod view;
pub mod wav;

pub use data::*;

use crate::data::{Attributes, DataError, RuntimeData};
use error::{guard, guard_status, AbiError, Status};
use handles::Object;
use std::mem::MaybeUninit;
use std::sync::Arc;

/// An opaque handle to a library object (RuntimeData, ...). 0 is never a valid handle.
pub type RmHandle = u64;

/// Version of this ABI; bindings refuse a library whose version differs from theirs. 3:
/// `rm_manifest_check` (options JSON; issues, inserted converters and formats) replaced
/// `rm_manifest_validate`, and `rm_session_sinks` was added.
pub const RM_ABI_VERSION: u32 = 3;

/// Largest tensor rank accepted (and reported by `rm_data_info`).
pub const RM_MAX_TENSOR_RANK: usize = 16;

/// Number of `f64` slots `rm_data_info` writes at most.
pub const RM_INFO_LEN: usize = 8 + RM_MAX_TENSOR_RANK;

/// Largest payload of one data value, in bytes (4 GiB): larger sizes (a byte length, frames × channels ×
/// sample size, video or tensor dimensions) fail with `RM_STATUS_INVALID_ARGUMENT` naming the request,
/// and an allocation the system refuses below it fails with `RM_STATUS_RESOURCE_EXHAUSTED`; neither
/// aborts the process.
pub const RM_MAX_PAYLOAD_BYTES: u64 = 4294967296;
const _: () = assert!(RM_MAX_PAYLOAD_BYTES == crate::data::MAX_PAYLOAD_BYTES);

static BYTES_COPIED_IN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Counts payload bytes copied from the caller into native memory (the only boundary copies: outputs
/// and `*_alloc` buffers are shared, not copied).
pub(crate) fn count_copy(bytes: usize) {
    BYTES_COPIED_IN.fetch_add(bytes as u64, std::sync::atomic::Ordering::Relaxed);
}

/// Payload bytes copied from callers into native memory since the library was loaded (instrumentation
/// for the zero-copy benchmark).
#[no_mangle]
pub extern "C" fn rm_bytes_copied() -> f64 {
    BYTES_COPIED_IN.load(std::sync::atomic::Ordering::Relaxed) as f64
}

/// Borrows `len` bytes at `ptr` for the duration of a call.
///
/// # Safety
/// `ptr` must be null with `len == 0`, or point to `len` readable bytes that stay valid and unmodified
/// for the duration of the call.
pub(crate) unsafe fn input_bytes<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a [u8], AbiError> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(AbiError::new(
            Status::InvalidArgument,
            format!("{what}: null pointer with length {len}"),
        ));
    }
    // SAFETY: non-null, and the caller guarantees `len` readable bytes for the duration of the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// # Safety
/// As for [`input_bytes`].
pub(crate) unsafe fn input_str<'a>(
    ptr: *const u8,
    len: usize,
    what: &'static str,
) -> Result<&'a str, AbiError> {
    // SAFETY: forwarded caller guarantee.
    let bytes = unsafe { input_bytes(ptr, len, what) }?;
    std::str::from_utf8(bytes).map_err(|e| {
        DataError::InvalidUtf8 {
            what,
            reason: e.to_string(),
        }
        .into()
    })
}

/// # Safety
/// As for [`input_bytes`].
pub(crate) unsafe fn input_attributes(ptr: *const u8, len: usize) -> Result<Attributes, AbiError> {
    if len == 0 {
        return Ok(Attributes::default());
    }
    // SAFETY: forwarded caller guarantee.
    let text = unsafe { input_str(ptr, len, "attributes") }?;
    Ok(Attributes::from_json(text)?)
}

/// The caller's buffer of `cap` bytes at `buf`, for the duration of a call (empty when `buf` is null).
/// Its bytes may be uninitialised, hence `MaybeUninit`; write them with [`copy_out`].
///
/// # Safety
/// `buf` must be null, or point to `cap` writable bytes that nothing else reads or writes until the
/// returned slice is dropped.
pub(crate) unsafe fn output_bytes<'a>(buf: *mut u8, cap: usize) -> &'a mut [MaybeUninit<u8>] {
    if buf.is_null() {
        return &mut [];
    }
    // SAFETY: non-null, and the caller guarantees `cap` writable bytes, not accessed elsewhere while
    // the slice lives; `MaybeUninit<u8>` has the layout of `u8` and makes no claim on the contents.
    unsafe { std::slice::from_raw_parts_mut(buf.cast::<MaybeUninit<u8>>(), cap) }
}

/// Copies as much of `bytes` as fits into `out` and returns the full length of `bytes`: the caller
/// calls again with a larger buffer when that exceeds the buffer's size.
pub(crate) fn copy_out(bytes: &[u8], out: &mut [MaybeUninit<u8>]) -> usize {
    for (slot, byte) in out.iter_mut().zip(bytes) {
        slot.write(*byte);
    }
    bytes.len()
}

pub(crate) fn store(mut data: RuntimeData, attributes: Attributes) -> Result<RmHandle, AbiError> {
    if !attributes.is_empty() {
        *data.attributes_mut() = attributes;
    }
    handles::insert(Object::Data(Arc::new(data)))
}

/// The ABI version of this library (compare with `RM_ABI_VERSION` of the bindings).
#[no_mangle]
pub extern "C" fn rm_abi_version() -> u32 {
    RM_ABI_VERSION
}

/// Status code of the last failed call on this thread (0 if none failed yet).
#[no_mangle]
pub extern "C" fn rm_last_error_code() -> i32 {
    error::last_status() as i32
}

/// Copies the last error message of this thread (UTF-8, not NUL-terminated) into `buf`, at most `cap`
/// bytes, and returns the full length of the message: call again with a larger buffer if it exceeds `cap`.
///
/// # Safety
/// `buf` must be null with `cap == 0` or point to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rm_last_error_message(buf: *mut u8, cap: usize) -> usize {
    guard(0, || {
        // SAFETY: forwarded caller guarantee (null with `cap == 0`, or `cap` writable bytes).
        let out = unsafe { output_bytes(buf, cap) };
        Ok(error::with_last_message(|message| {
            copy_out(message.as_bytes(), out)
        }))
    })
}

/// Copies the last error of this thread as JSON into `buf` (at most `cap` bytes) and returns the full
/// length: `{"code", "status", "message"}` plus, where known, `nodeId`, `nodeType`, `reason` (the
/// node's own message), `issues` (`[{path, message}]` of an invalid manifest), `expected` and
/// `actual`. Call again with a larger buffer if the length exceeds `cap`.
///
/// # Safety
/// `buf` must be null with `cap == 0` or point to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rm_last_error_detail(buf: *mut u8, cap: usize) -> usize {
    // SAFETY: forwarded caller guarantee (null with `cap == 0`, or `cap` writable bytes).
    let out = unsafe { output_bytes(buf, cap) };
    copy_out(error::last_detail_json().as_bytes(), out)
}

/// Number of live handles of any kind (0 after everything was freed: leak checks).
#[no_mangle]
pub extern "C" fn rm_live_handles() -> u32 {
    guard(0, || Ok(handles::live() as u32))
}

/// Deliberately panics inside the boundary; for tests proving that no panic escapes (returns `-RM_STATUS_PANIC` always).
#[no_mangle]
pub extern "C" fn rm_debug_panic() -> i32 {
    guard_status(|| -> Result<i32, AbiError> { panic!("rm_debug_panic was called") })
}
