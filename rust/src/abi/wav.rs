//! C ABI of the incremental WAV parser (`crate::wav`), which `wavFrames` in TypeScript is built on:
//! create, push bytes as they arrive, take ready audio items, finish at end of input, free.

use super::contract::{WavInfoSlot, RM_WAV_INFO_LEN};
use super::error::{guard, guard_status, AbiError, Status};
use super::handles::{self, Object};
use super::{count_copy, input_bytes, store, RmHandle};
use crate::data::Attributes;
use crate::wav::{WavError, WavParser};
use std::sync::{Arc, Mutex, MutexGuard};

impl From<WavError> for AbiError {
    fn from(e: WavError) -> Self {
        let status = match e {
            WavError::InvalidArgument(_) => Status::InvalidArgument,
            WavError::PushAfterFinish => Status::Closed,
            // Everything about the stream itself: a ShapeError in TypeScript.
            _ => Status::ShapeMismatch,
        };
        AbiError::new(status, e.to_string())
    }
}

fn lock(parser: &Mutex<WavParser>) -> Result<MutexGuard<'_, WavParser>, AbiError> {
    // A panic inside the parser (caught by `guard`) may have left it half-updated: refuse to go on.
    parser.lock().map_err(|_| {
        AbiError::new(
            Status::Panic,
            "this WAV parser is unusable after an internal panic",
        )
    })
}

/// Runs the body of a count-returning function: the count (clamped to `int32_t`; a parser never holds
/// 2^31 items, but never wrap), or the negated status of its error, which is recorded as the last one.
fn counted(body: impl FnOnce() -> Result<usize, AbiError>) -> i32 {
    guard_status(|| body().map(|n| i32::try_from(n).unwrap_or(i32::MAX)))
}

/// Creates a WAV parser that emits audio items of `frame_ms` milliseconds each (0 = the whole stream in
/// one item). Returns 0 on error (a negative or non-finite `frame_ms`). Free with `rm_wav_parser_free`.
#[no_mangle]
pub extern "C" fn rm_wav_parser_create(frame_ms: f64) -> RmHandle {
    guard(0, || {
        let parser = WavParser::new(frame_ms)?;
        handles::insert(Object::WavParser(Arc::new(Mutex::new(parser))))
    })
}

/// Feeds the next `len` bytes of the WAV stream (read during the call only: data bytes are decoded
/// into native samples, skipped chunks are not stored). Returns the number of items ready for
/// `rm_wav_parser_take`, or a negative status: the stream's error (`RM_STATUS_SHAPE_MISMATCH`) is
/// returned once every item made before it was taken.
///
/// # Safety
/// `ptr` must be null with `len == 0` or point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rm_wav_parser_push(parser: RmHandle, ptr: *const u8, len: usize) -> i32 {
    counted(|| {
        let parser = handles::get_wav_parser(parser)?;
        // SAFETY: forwarded caller guarantee.
        let bytes = unsafe { input_bytes(ptr, len, "WAV bytes") }?;
        let mut parser = lock(&parser)?;
        let copied = parser.stats().bytes_copied;
        let result = parser.push(bytes);
        count_copy((parser.stats().bytes_copied - copied) as usize);
        Ok(result?)
    })
}

/// Signals the end of the input: the last (possibly shorter) item becomes ready, or the stream's
/// error is reported (it ended inside the header, the data chunk or a frame). Returns like
/// `rm_wav_parser_push`; calling it again returns the same outcome.
#[no_mangle]
pub extern "C" fn rm_wav_parser_finish(parser: RmHandle) -> i32 {
    counted(|| {
        let parser = handles::get_wav_parser(parser)?;
        let result = lock(&parser)?.finish();
        Ok(result?)
    })
}

/// Takes the oldest ready item: a new audio data handle (interleaved samples, `timestampUs` set; free
/// with `rm_data_free`). Returns 0 on error, including when no item is ready (the count returned by
/// `rm_wav_parser_push`/`rm_wav_parser_finish` says how many are).
#[no_mangle]
pub extern "C" fn rm_wav_parser_take(parser: RmHandle) -> RmHandle {
    guard(0, || {
        let parser = handles::get_wav_parser(parser)?;
        let item = lock(&parser)?.take().ok_or_else(|| {
            AbiError::new(
                Status::InvalidArgument,
                "rm_wav_parser_take: no item is ready (push more bytes or finish first)",
            )
        })?;
        store(item, Attributes::default())
    })
}

/// Writes the parser's state into `out` (`cap` doubles, `RM_WAV_INFO_LEN` are written): the
/// `RmWavInfoSlot`s (phase, layout, byte counters, items ready). Returns the number of slots written or a negative status.
///
/// # Safety
/// `out` must point to `cap` writable doubles.
#[no_mangle]
pub unsafe extern "C" fn rm_wav_parser_info(parser: RmHandle, out: *mut f64, cap: usize) -> i32 {
    counted(|| {
        let parser = handles::get_wav_parser(parser)?;
        let parser = lock(&parser)?;
        if out.is_null() || cap < RM_WAV_INFO_LEN {
            return Err(AbiError::new(
                Status::InvalidArgument,
                format!("rm_wav_parser_info needs room for {RM_WAV_INFO_LEN} values, got {cap}"),
            ));
        }
        let layout = parser.layout();
        let stats = parser.stats();
        let mut info = [0f64; RM_WAV_INFO_LEN];
        let mut set = |slot: WavInfoSlot, value: f64| info[slot as usize] = value;
        set(WavInfoSlot::Phase, parser.phase() as i32 as f64);
        set(
            WavInfoSlot::SampleRate,
            layout.map_or(0.0, |l| l.sample_rate as f64),
        );
        set(
            WavInfoSlot::Channels,
            layout.map_or(0.0, |l| l.channels as f64),
        );
        set(
            WavInfoSlot::Format,
            layout.map_or(-1.0, |l| l.encoding.output() as i32 as f64),
        );
        set(
            WavInfoSlot::BitsPerSample,
            layout.map_or(0.0, |l| l.bits() as f64),
        );
        set(WavInfoSlot::BytesPushed, stats.bytes_pushed as f64);
        set(WavInfoSlot::BytesSkipped, stats.bytes_skipped as f64);
        set(WavInfoSlot::BytesCopied, stats.bytes_copied as f64);
        set(WavInfoSlot::BytesHeld, stats.held_bytes as f64);
        set(WavInfoSlot::MostBytesHeld, stats.peak_held_bytes as f64);
        set(WavInfoSlot::ItemsReady, parser.ready() as f64);
        // SAFETY: `out` is non-null with at least RM_WAV_INFO_LEN writable doubles (checked above,
        // `cap` guaranteed by the caller); the source is a local array.
        unsafe { std::ptr::copy_nonoverlapping(info.as_ptr(), out, RM_WAV_INFO_LEN) };
        Ok(RM_WAV_INFO_LEN)
    })
}

/// Frees a WAV parser and every item it still holds (items already taken live on). Returns 0 or a
/// status (freeing twice reports `RM_STATUS_INVALID_HANDLE`).
#[no_mangle]
pub extern "C" fn rm_wav_parser_free(parser: RmHandle) -> i32 {
    guard_status(|| {
        handles::get_wav_parser(parser)?;
        drop(handles::remove(parser)?);
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{rm_data_free, rm_data_info, rm_last_error_code, rm_last_error_message};

    fn last_message() -> String {
        let mut buf = vec![0u8; 512];
        // SAFETY: `buf` has 512 writable bytes.
        let n = unsafe { rm_last_error_message(buf.as_mut_ptr(), buf.len()) };
        String::from_utf8_lossy(&buf[..n.min(buf.len())]).into_owned()
    }

    fn push(parser: RmHandle, bytes: &[u8]) -> i32 {
        // SAFETY: a live slice.
        unsafe { rm_wav_parser_push(parser, bytes.as_ptr(), bytes.len()) }
    }

    /// RIFF header, 16-bit mono 8 kHz fmt, data of `data` bytes.
    fn wav(data: &[u8]) -> Vec<u8> {
        let mut b =
            b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0data"
                .to_vec();
        b.extend((data.len() as u32).to_le_bytes());
        b.extend(data);
        b
    }

    #[test]
    fn a_parser_handle_parses_takes_reports_and_frees() {
        let parser = rm_wav_parser_create(1.0); // 8 frames per item
        assert_ne!(parser, 0);
        let bytes = wav(&[1; 40]);
        assert_eq!(push(parser, &bytes[..30]), 0);
        assert_eq!(
            push(parser, &bytes[30..]),
            3,
            "8 + 8 + 4 frames, the data is complete"
        );
        let mut info = [0f64; RM_WAV_INFO_LEN];
        // SAFETY: `info` has RM_WAV_INFO_LEN writable doubles.
        let n = unsafe { rm_wav_parser_info(parser, info.as_mut_ptr(), info.len()) };
        assert_eq!(n, RM_WAV_INFO_LEN as i32);
        assert_eq!(
            &info[..5],
            &[2.0, 8000.0, 1.0, 1.0, 16.0],
            "complete, 8 kHz mono i16 16-bit"
        );
        assert_eq!(info[5], bytes.len() as f64);
        assert_eq!(info[10], 3.0);
        for frames in [8.0, 8.0, 4.0] {
            let item = rm_wav_parser_take(parser);
            assert_ne!(item, 0);
            let mut data_info = [0f64; crate::abi::RM_INFO_LEN];
            // SAFETY: RM_INFO_LEN writable doubles.
            unsafe { rm_data_info(item, data_info.as_mut_ptr(), data_info.len()) };
            assert_eq!(data_info[6], frames);
            assert_eq!(rm_data_free(item), 0);
        }
        assert_eq!(rm_wav_parser_take(parser), 0);
        assert_eq!(rm_last_error_code(), Status::InvalidArgument as i32);
        assert!(last_message().contains("no item is ready"));
        assert_eq!(rm_wav_parser_finish(parser), 0);
        assert_eq!(push(parser, b"x"), -(Status::Closed as i32));
        assert_eq!(rm_wav_parser_free(parser), 0);
        assert_eq!(rm_wav_parser_free(parser), -(Status::InvalidHandle as i32));
        assert!(last_message().contains("already freed"));
    }

    #[test]
    fn stream_errors_are_shape_mismatches_and_arguments_are_checked() {
        let parser = rm_wav_parser_create(20.0);
        assert_eq!(push(parser, &wav(&[0; 4])[..30]), 0);
        assert_eq!(
            rm_wav_parser_finish(parser),
            -(Status::ShapeMismatch as i32)
        );
        assert_eq!(
            last_message(),
            "WAV stream ended after 30 bytes, inside its header (the fmt chunk declares 16 bytes, got 10)"
        );
        // SAFETY: null with a non-zero length is rejected before any read.
        let status = unsafe { rm_wav_parser_push(parser, std::ptr::null(), 4) };
        assert_eq!(status, -(Status::InvalidArgument as i32));
        assert_eq!(rm_wav_parser_free(parser), 0);

        assert_eq!(rm_wav_parser_create(-1.0), 0);
        assert_eq!(rm_last_error_code(), Status::InvalidArgument as i32);
        let data = crate::abi::store(
            crate::data::RuntimeData::text("not a parser"),
            crate::data::Attributes::default(),
        )
        .unwrap();
        assert_eq!(rm_wav_parser_finish(data), -(Status::InvalidHandle as i32));
        assert!(last_message().contains("is a data handle, expected WAV parser"));
        assert_eq!(rm_data_free(data), 0);
    }
}
