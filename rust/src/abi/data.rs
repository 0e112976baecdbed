//! C ABI of RuntimeData values: constructors for each data type (copying in, or allocating to fill in
//! place), what describes a value (`rm_data_info` slots, attributes), its payload address, and the
//! handle lifecycle (retain, clone, equal, free).

use super::contract::{AudioInfoSlot, InfoSlot, TensorInfoSlot, VideoInfoSlot};
use super::error::{guard, guard_status, AbiError, Status};
use super::handles::{self, Object};
use super::{
    count_copy, input_attributes, input_bytes, input_str, store, RmHandle, RM_INFO_LEN,
    RM_MAX_TENSOR_RANK,
};
use crate::data::{
    AudioBuffer, Payload, PixelFormat, RuntimeData, SampleFormat, Samples, Tensor, TensorDtype,
    VideoFrame,
};
use std::sync::Arc;

/// The body of every constructor: `make` builds the value (validating its arguments first), then the
/// attributes are read from `attrs`/`attrs_len` and the value is stored under a new handle (0 on any
/// error, recorded for `rm_last_error_*`).
///
/// # Safety
/// `attrs`/`attrs_len` must be null with 0 or readable for the call.
unsafe fn create(
    attrs: *const u8,
    attrs_len: usize,
    make: impl FnOnce() -> Result<RuntimeData, AbiError>,
) -> RmHandle {
    guard(0, || {
        let data = make()?;
        // SAFETY: forwarded caller guarantee.
        let attributes = unsafe { input_attributes(attrs, attrs_len) }?;
        store(data, attributes)
    })
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
    // SAFETY: forwarded caller guarantees (both pointer/length pairs).
    unsafe {
        create(attrs, attrs_len, || {
            let text = input_str(ptr, len, "text")?;
            count_copy(len);
            Ok(RuntimeData::try_text(text)?)
        })
    }
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
    // SAFETY: forwarded caller guarantees (both pointer/length pairs).
    unsafe {
        create(attrs, attrs_len, || {
            Ok(RuntimeData::json_from_str(input_str(
                ptr,
                len,
                "json payload",
            )?)?)
        })
    }
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
    // SAFETY: forwarded caller guarantees (both pointer/length pairs).
    unsafe {
        create(attrs, attrs_len, || {
            let bytes = input_bytes(ptr, len, "binary payload")?;
            count_copy(len);
            Ok(RuntimeData::try_binary_copy(bytes)?)
        })
    }
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
    // SAFETY: forwarded caller guarantee.
    unsafe {
        create(attrs, attrs_len, || {
            Ok(RuntimeData::try_binary_zeroed(len)?)
        })
    }
}

/// Creates interleaved audio from native-endian sample bytes (copied). `format`: an `RmSampleFormat`.
/// `byte_len` must be a multiple of the sample size and of `channels`. Returns 0 on error.
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
    // SAFETY: forwarded caller guarantees (both pointer/length pairs).
    unsafe {
        create(attrs, attrs_len, || {
            let format = SampleFormat::from_code(format)?;
            let bytes = input_bytes(ptr, byte_len, "audio samples")?;
            let samples = Samples::from_bytes(format, bytes)?;
            count_copy(byte_len);
            Ok(RuntimeData::audio(AudioBuffer::new(
                samples,
                sample_rate,
                channels,
            )?))
        })
    }
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
    // SAFETY: forwarded caller guarantee.
    unsafe {
        create(attrs, attrs_len, || {
            let format = SampleFormat::from_code(format)?;
            let audio = AudioBuffer::zeroed(format, frames, sample_rate, channels)?;
            Ok(RuntimeData::audio(audio))
        })
    }
}

/// Creates one raw video frame from `len` pixel bytes (copied). `format`: an `RmPixelFormat`.
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
    // SAFETY: forwarded caller guarantees (both pointer/length pairs).
    unsafe {
        create(attrs, attrs_len, || {
            let format = PixelFormat::from_code(format)?;
            let bytes = input_bytes(ptr, len, "video pixels")?;
            let frame = VideoFrame::from_slice(width, height, format, bytes)?;
            count_copy(len);
            Ok(RuntimeData::video(frame))
        })
    }
}

/// Creates a tensor of rank `rank` (dimensions at `shape`) from `len` element bytes (copied).
/// `dtype`: an `RmTensorDtype`.
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
    // SAFETY: forwarded caller guarantees: `rank` u32 values at `shape` (`rank * 4` readable bytes,
    // read only once the rank is checked), and both pointer/length pairs.
    unsafe {
        create(attrs, attrs_len, || {
            let dtype = TensorDtype::from_code(dtype)?;
            if rank > RM_MAX_TENSOR_RANK {
                return Err(AbiError::new(
                    Status::InvalidArgument,
                    format!("tensor rank {rank} exceeds the maximum of {RM_MAX_TENSOR_RANK}"),
                ));
            }
            let shape_bytes = input_bytes(shape.cast(), rank * 4, "tensor shape")?;
            let dims: Vec<usize> = bytemuck::pod_collect_to_vec::<u8, u32>(shape_bytes)
                .into_iter()
                .map(|d| d as usize)
                .collect();
            let bytes = input_bytes(ptr, len, "tensor data")?;
            count_copy(len);
            Ok(RuntimeData::tensor(Tensor::from_bytes(dims, dtype, bytes)?))
        })
    }
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
        // A fixed array on the stack (this runs for every view): `len` slots are filled.
        let mut info = [0f64; RM_INFO_LEN];
        let mut len = InfoSlot::AttributesBytes as usize + 1;
        info[InfoSlot::Type as usize] = data.data_type() as i32 as f64;
        info[InfoSlot::PayloadBytes as usize] = data.payload_bytes().len() as f64;
        info[InfoSlot::AttributesBytes as usize] = attrs_len as f64;
        let mut set = |slot: usize, value: f64| {
            info[slot] = value;
            len = len.max(slot + 1);
        };
        match &data.payload {
            Payload::Audio(a) => {
                set(
                    AudioInfoSlot::Format as usize,
                    a.samples.format() as i32 as f64,
                );
                set(AudioInfoSlot::SampleRate as usize, a.sample_rate as f64);
                set(AudioInfoSlot::Channels as usize, a.channels as f64);
                set(AudioInfoSlot::Frames as usize, a.num_frames() as f64);
            }
            Payload::Video(v) => {
                set(VideoInfoSlot::PixelFormat as usize, v.format as i32 as f64);
                set(VideoInfoSlot::Width as usize, v.width as f64);
                set(VideoInfoSlot::Height as usize, v.height as f64);
            }
            Payload::Tensor(t) => {
                // The rank is at most RM_MAX_TENSOR_RANK (checked when a tensor is made), so the
                // dimensions fit in RM_INFO_LEN.
                set(TensorInfoSlot::Dtype as usize, t.dtype() as i32 as f64);
                set(TensorInfoSlot::Rank as usize, t.shape.len() as f64);
                for (i, &d) in t.shape.iter().enumerate() {
                    set(TensorInfoSlot::Dims as usize + i, d as f64);
                }
            }
            _ => {}
        }
        let info = &info[..len];
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
        // SAFETY: the caller guarantees `buf` null or `cap` writable bytes for this call.
        let out = unsafe { super::output_bytes(buf, cap) };
        Ok(super::copy_out(json.as_bytes(), out) as i32)
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
