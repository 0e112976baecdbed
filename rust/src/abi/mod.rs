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
pub mod error;
pub mod handles;
pub mod pipeline;
pub mod view;
pub mod wav;

use crate::data::{
    Attributes, AudioBuffer, DataError, Payload, PixelFormat, RuntimeData, SampleFormat, Samples,
    Tensor, TensorDtype, VideoFrame,
};
use contract::{AudioInfoSlot, InfoSlot, TensorInfoSlot, VideoInfoSlot};
use error::{guard, guard_status, AbiError, Status};
use handles::Object;
use std::sync::Arc;

/// An opaque handle to a library object (RuntimeData, ...). 0 is never a valid handle.
pub type RmHandle = u64;

/// Version of this ABI; bindings refuse a library whose version differs from theirs.
pub const RM_ABI_VERSION: u32 = 2;

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
fn count_copy(bytes: usize) {
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
unsafe fn input_attributes(ptr: *const u8, len: usize) -> Result<Attributes, AbiError> {
    if len == 0 {
        return Ok(Attributes::default());
    }
    // SAFETY: forwarded caller guarantee.
    let text = unsafe { input_str(ptr, len, "attributes") }?;
    Ok(Attributes::from_json(text)?)
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
        Ok(error::with_last_message(|message| {
            let n = message.len().min(cap);
            if n > 0 && !buf.is_null() {
                // SAFETY: the caller guarantees `cap >= n` writable bytes at `buf`; source and
                // destination cannot overlap (the message is Rust-owned).
                unsafe { std::ptr::copy_nonoverlapping(message.as_ptr(), buf, n) };
            }
            message.len()
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
    let json = error::last_detail_json();
    let n = json.len().min(cap);
    if n > 0 && !buf.is_null() {
        // SAFETY: the caller guarantees `cap >= n` writable bytes at `buf`; the source is a local
        // string, so the two cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(json.as_ptr(), buf, n) };
    }
    json.len()
}

/// Number of live handles of any kind (0 after everything was freed: leak checks).
#[no_mangle]
pub extern "C" fn rm_live_handles() -> u32 {
    guard(0, || Ok(handles::live() as u32))
}

/// Creates text from `len` bytes of UTF-8 (copied). `attrs`/`attrs_len`: optional JSON attributes
/// `{"timestampUs","streamId","metadata"}` (pass null and 0 for none). Returns 0 on error.
/// Free the result with `rm_data_free`.
///
/// # Safety
/// `ptr`/`len` and `attrs`/`attrs_len` must each be null with length 0 or readable for the call.
#[no_mangle]
pub unsafe extern "C" fn rm_data_text(
    ptr: *const u8,
    len: usize,
    attrs: *const u8,
    attrs_len: usize,
) -> RmHandle {
    guard(0, || {
        // SAFETY: forwarded caller guarantees.
        let text = unsafe { input_str(ptr, len, "text") }?;
        let attributes = unsafe { input_attributes(attrs, attrs_len) }?;
        count_copy(len);
        store(RuntimeData::try_text(text)?, attributes)
    })
}

/// Creates JSON data by parsing `len` bytes of UTF-8 JSON text. Returns 0 on error.
///
/// # Safety
/// As for `rm_data_text`.
#[no_mangle]
pub unsafe extern "C" fn rm_data_json(
    ptr: *const u8,
    len: usize,
    attrs: *const u8,
    attrs_len: usize,
) -> RmHandle {
    guard(0, || {
        // SAFETY: forwarded caller guarantees.
        let text = unsafe { input_str(ptr, len, "json payload") }?;
        let attributes = unsafe { input_attributes(attrs, attrs_len) }?;
        store(RuntimeData::json_from_str(text)?, attributes)
    })
}

/// Creates binary data from `len` bytes (copied). Returns 0 on error.
///
/// # Safety
/// As for `rm_data_text`.
#[no_mangle]
pub unsafe extern "C" fn rm_data_binary(
    ptr: *const u8,
    len: usize,
    attrs: *const u8,
    attrs_len: usize,
) -> RmHandle {
    guard(0, || {
        // SAFETY: forwarded caller guarantees.
        let bytes = unsafe { input_bytes(ptr, len, "binary payload") }?;
        let attributes = unsafe { input_attributes(attrs, attrs_len) }?;
        count_copy(len);
        store(RuntimeData::try_binary_copy(bytes)?, attributes)
    })
}

/// Creates zero-filled binary data of `len` bytes (at most `RM_MAX_PAYLOAD_BYTES`), to be filled in
/// place through `rm_data_ptr`.
///
/// # Safety
/// `attrs`/`attrs_len` as for `rm_data_text`.
#[no_mangle]
pub unsafe extern "C" fn rm_data_binary_alloc(
    len: usize,
    attrs: *const u8,
    attrs_len: usize,
) -> RmHandle {
    guard(0, || {
        // SAFETY: forwarded caller guarantee.
        let attributes = unsafe { input_attributes(attrs, attrs_len) }?;
        store(RuntimeData::try_binary_zeroed(len)?, attributes)
    })
}

/// Creates interleaved audio from native-endian sample bytes (copied).
/// `format`: 0 = f32, 1 = i16, 2 = i32. `byte_len` must be a multiple of the sample size and of
/// `channels`. Returns 0 on error.
///
/// # Safety
/// As for `rm_data_text`.
#[no_mangle]
pub unsafe extern "C" fn rm_data_audio(
    format: i32,
    ptr: *const u8,
    byte_len: usize,
    sample_rate: u32,
    channels: u32,
    attrs: *const u8,
    attrs_len: usize,
) -> RmHandle {
    guard(0, || {
        let format = SampleFormat::from_code(format)?;
        // SAFETY: forwarded caller guarantees.
        let bytes = unsafe { input_bytes(ptr, byte_len, "audio samples") }?;
        let attributes = unsafe { input_attributes(attrs, attrs_len) }?;
        let samples = Samples::from_bytes(format, bytes)?;
        count_copy(byte_len);
        store(
            RuntimeData::audio(AudioBuffer::new(samples, sample_rate, channels)?),
            attributes,
        )
    })
}

/// Creates zero-filled audio of `frames` frames per channel, to be filled in place through `rm_data_ptr`.
/// `frames × channels × sample size` must be at most `RM_MAX_PAYLOAD_BYTES`.
///
/// # Safety
/// `attrs`/`attrs_len` as for `rm_data_text`.
#[no_mangle]
pub unsafe extern "C" fn rm_data_audio_alloc(
    format: i32,
    frames: usize,
    sample_rate: u32,
    channels: u32,
    attrs: *const u8,
    attrs_len: usize,
) -> RmHandle {
    guard(0, || {
        let format = SampleFormat::from_code(format)?;
        // SAFETY: forwarded caller guarantee.
        let attributes = unsafe { input_attributes(attrs, attrs_len) }?;
        let audio = AudioBuffer::zeroed(format, frames, sample_rate, channels)?;
        store(RuntimeData::audio(audio), attributes)
    })
}

/// Creates one raw video frame from `len` pixel bytes (copied). `format`: 0 = rgba, 1 = rgb24, 2 = i420.
///
/// # Safety
/// As for `rm_data_text`.
#[no_mangle]
pub unsafe extern "C" fn rm_data_video(
    format: i32,
    width: u32,
    height: u32,
    ptr: *const u8,
    len: usize,
    attrs: *const u8,
    attrs_len: usize,
) -> RmHandle {
    guard(0, || {
        let format = PixelFormat::from_code(format)?;
        // SAFETY: forwarded caller guarantees.
        let bytes = unsafe { input_bytes(ptr, len, "video pixels") }?;
        let attributes = unsafe { input_attributes(attrs, attrs_len) }?;
        let frame = VideoFrame::from_slice(width, height, format, bytes)?;
        count_copy(len);
        store(RuntimeData::video(frame), attributes)
    })
}

/// Creates a tensor of rank `rank` (dimensions at `shape`) from `len` element bytes (copied).
/// `dtype`: 0 = f32, 1 = i32, 2 = u8.
///
/// # Safety
/// `shape` must point to `rank` readable `u32`s (or be null with rank 0); the rest as for `rm_data_text`.
#[no_mangle]
pub unsafe extern "C" fn rm_data_tensor(
    dtype: i32,
    shape: *const u32,
    rank: usize,
    ptr: *const u8,
    len: usize,
    attrs: *const u8,
    attrs_len: usize,
) -> RmHandle {
    guard(0, || {
        let dtype = TensorDtype::from_code(dtype)?;
        if rank > RM_MAX_TENSOR_RANK {
            return Err(AbiError::new(
                Status::InvalidArgument,
                format!("tensor rank {rank} exceeds the maximum of {RM_MAX_TENSOR_RANK}"),
            ));
        }
        // SAFETY: forwarded caller guarantee: `rank` u32 values = `rank * 4` readable bytes.
        let shape_bytes = unsafe { input_bytes(shape.cast(), rank * 4, "tensor shape") }?;
        let dims: Vec<usize> = bytemuck::pod_collect_to_vec::<u8, u32>(shape_bytes)
            .into_iter()
            .map(|d| d as usize)
            .collect();
        // SAFETY: forwarded caller guarantees.
        let bytes = unsafe { input_bytes(ptr, len, "tensor data") }?;
        let attributes = unsafe { input_attributes(attrs, attrs_len) }?;
        count_copy(len);
        store(
            RuntimeData::tensor(Tensor::from_bytes(dims, dtype, bytes)?),
            attributes,
        )
    })
}

/// `RmDataType` code of a data handle, or a negative status.
#[no_mangle]
pub extern "C" fn rm_data_type(handle: RmHandle) -> i32 {
    guard_status(|| Ok(handles::get_data(handle)?.data_type() as i32))
}

/// Writes what describes a data value into `out` (`cap` doubles, at most `RM_INFO_LEN` are written):
/// the `RmInfoSlot`s, then for audio the `RmAudioInfoSlot`s, for video the `RmVideoInfoSlot`s, for
/// tensors the `RmTensorInfoSlot`s (dtype, rank, then `rank` dimensions).
/// Returns the number of slots written, or a negative status.
///
/// # Safety
/// `out` must point to `cap` writable `f64`s.
#[no_mangle]
pub unsafe extern "C" fn rm_data_info(handle: RmHandle, out: *mut f64, cap: usize) -> i32 {
    guard_status(|| {
        let data = handles::get_data(handle)?;
        let attrs = data.attributes();
        let attrs_len = if attrs.is_empty() {
            0
        } else {
            attrs.to_json().len()
        };
        let mut info = vec![0f64; InfoSlot::AttributesBytes as usize + 1];
        info[InfoSlot::Type as usize] = data.data_type() as i32 as f64;
        info[InfoSlot::PayloadBytes as usize] = data.payload_bytes().len() as f64;
        info[InfoSlot::AttributesBytes as usize] = attrs_len as f64;
        let mut set = |slot: i32, value: f64| {
            let slot = slot as usize;
            if info.len() <= slot {
                info.resize(slot + 1, 0.0);
            }
            info[slot] = value;
        };
        match &data.payload {
            Payload::Audio(a) => {
                set(
                    AudioInfoSlot::Format as i32,
                    a.samples.format() as i32 as f64,
                );
                set(AudioInfoSlot::SampleRate as i32, a.sample_rate as f64);
                set(AudioInfoSlot::Channels as i32, a.channels as f64);
                set(AudioInfoSlot::Frames as i32, a.num_frames() as f64);
            }
            Payload::Video(v) => {
                set(VideoInfoSlot::PixelFormat as i32, v.format as i32 as f64);
                set(VideoInfoSlot::Width as i32, v.width as f64);
                set(VideoInfoSlot::Height as i32, v.height as f64);
            }
            Payload::Tensor(t) => {
                set(TensorInfoSlot::Dtype as i32, t.dtype() as i32 as f64);
                set(TensorInfoSlot::Rank as i32, t.shape.len() as f64);
                for (i, &d) in t.shape.iter().enumerate() {
                    set(TensorInfoSlot::Dims as i32 + i as i32, d as f64);
                }
            }
            _ => {}
        }
        if out.is_null() || cap < info.len() {
            return Err(AbiError::new(
                Status::InvalidArgument,
                format!(
                    "rm_data_info needs room for {} values, got {cap}",
                    info.len()
                ),
            ));
        }
        // SAFETY: `out` is non-null with at least `info.len()` writable f64s (checked above, caller
        // guarantees `cap`).
        unsafe { std::ptr::copy_nonoverlapping(info.as_ptr(), out, info.len()) };
        Ok(info.len() as i32)
    })
}

/// Address of the payload bytes (text/JSON UTF-8, samples, pixels, bytes, tensor elements), valid while
/// any handle to this data lives. Length: slot 1 of `rm_data_info`. Null on error (and for empty payloads
/// it may be a dangling non-null address: never read 0 bytes' worth past it).
///
/// The memory is shared with every holder of the data: writing through it is allowed for data made with
/// `rm_data_*_alloc` before the data is handed to a pipeline, and is seen by everyone.
#[no_mangle]
pub extern "C" fn rm_data_ptr(handle: RmHandle) -> *mut u8 {
    guard(std::ptr::null_mut(), || {
        let data = handles::get_data(handle)?;
        // The pointer stays valid after `data` (one Arc clone) drops: the handle table keeps another.
        Ok(data.payload_bytes().as_ptr() as *mut u8)
    })
}

/// Copies the attributes JSON (see `rm_data_text`) into `buf` (at most `cap` bytes) and returns its full
/// length (0 when the data has no attributes), or a negative status.
///
/// # Safety
/// `buf` must be null with `cap == 0` or point to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rm_data_attributes(handle: RmHandle, buf: *mut u8, cap: usize) -> i32 {
    guard_status(|| {
        let data = handles::get_data(handle)?;
        if data.attributes().is_empty() {
            return Ok(0);
        }
        let json = data.attributes().to_json();
        let n = json.len().min(cap);
        if n > 0 && !buf.is_null() {
            // SAFETY: the caller guarantees `cap >= n` writable bytes; the source is Rust-owned.
            unsafe { std::ptr::copy_nonoverlapping(json.as_ptr(), buf, n) };
        }
        Ok(json.len() as i32)
    })
}

/// A second handle to the same data (shares the payload; no copy). Free it with `rm_data_free`.
#[no_mangle]
pub extern "C" fn rm_data_retain(handle: RmHandle) -> RmHandle {
    guard(0, || {
        handles::insert(Object::Data(handles::get_data(handle)?))
    })
}

/// A deep copy of the data under a new handle (`RM_STATUS_RESOURCE_EXHAUSTED` when memory runs out).
/// Free it with `rm_data_free`.
#[no_mangle]
pub extern "C" fn rm_data_clone(handle: RmHandle) -> RmHandle {
    guard(0, || {
        let data = handles::get_data(handle)?;
        handles::insert(Object::Data(Arc::new(data.try_clone()?)))
    })
}

/// 1 if both handles hold equal values (type, payload, attributes), 0 if not, or a negative status.
#[no_mangle]
pub extern "C" fn rm_data_equal(a: RmHandle, b: RmHandle) -> i32 {
    guard_status(|| Ok((*handles::get_data(a)? == *handles::get_data(b)?) as i32))
}

/// Frees a data handle. The payload is released when its last handle is freed. Returns 0 or a negative
/// status (freeing twice reports `-RM_STATUS_INVALID_HANDLE`, never a crash).
#[no_mangle]
pub extern "C" fn rm_data_free(handle: RmHandle) -> i32 {
    guard_status(|| {
        handles::get_data(handle)?;
        drop(handles::remove(handle)?);
        Ok(0)
    })
}

/// Deliberately panics inside the boundary; for tests proving that no panic escapes (returns `-RM_STATUS_PANIC` always).
#[no_mangle]
pub extern "C" fn rm_debug_panic() -> i32 {
    guard_status(|| -> Result<i32, AbiError> { panic!("rm_debug_panic was called") })
}
