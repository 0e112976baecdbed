//! The C ABI used as C would use it: handles, the error model and caught panics.

use remotemedia::abi::*;

fn last_message() -> String {
    let mut buf = vec![0u8; 8];
    // SAFETY: `buf` has `buf.len()` writable bytes.
    let len = unsafe { rm_last_error_message(buf.as_mut_ptr(), buf.len()) };
    if len > buf.len() {
        buf.resize(len, 0);
        // SAFETY: as above, with the larger buffer.
        unsafe { rm_last_error_message(buf.as_mut_ptr(), buf.len()) };
    }
    String::from_utf8(buf[..len].to_vec()).unwrap()
}

fn text(s: &str) -> RmHandle {
    // SAFETY: the pointer/length pair describes a live &str; no attributes.
    unsafe { rm_data_text(s.as_ptr(), s.len(), std::ptr::null(), 0) }
}

#[test]
fn panics_are_caught_and_reported() {
    assert_eq!(rm_debug_panic(), -1);
    assert_eq!(rm_last_error_code(), error::Status::Panic as i32);
    assert_eq!(last_message(), "internal panic: rm_debug_panic was called");
}

#[test]
fn long_messages_are_retrieved_with_a_second_call() {
    assert_eq!(rm_data_type(0), -1);
    assert_eq!(last_message(), "null handle (0)");
}

#[test]
fn double_free_is_an_error_not_a_crash() {
    let h = text("hello");
    assert_ne!(h, 0);
    assert_eq!(rm_data_type(h), 0, "text");
    assert_eq!(rm_data_free(h), 0);
    assert_eq!(rm_data_free(h), error::Status::InvalidHandle as i32);
    assert!(last_message().contains("already freed"));
}

#[test]
fn retained_handles_share_the_payload_until_the_last_is_freed() {
    let h = text("shared");
    let r = rm_data_retain(h);
    assert_eq!(rm_data_ptr(h), rm_data_ptr(r));
    assert_eq!(rm_data_free(h), 0);
    let mut info = [0f64; RM_INFO_LEN];
    // SAFETY: `info` holds RM_INFO_LEN writable doubles.
    assert_eq!(unsafe { rm_data_info(r, info.as_mut_ptr(), info.len()) }, 3);
    assert_eq!(info[1], 6.0);
    assert_eq!(rm_data_free(r), 0);
}

#[test]
fn audio_info_describes_layout() {
    let samples = [0i16; 8];
    // SAFETY: pointer/length describe `samples`; no attributes.
    let h = unsafe {
        rm_data_audio(
            1,
            samples.as_ptr().cast(),
            16,
            16000,
            2,
            std::ptr::null(),
            0,
        )
    };
    assert_ne!(h, 0, "{}", last_message());
    let mut info = [0f64; RM_INFO_LEN];
    // SAFETY: `info` holds RM_INFO_LEN writable doubles.
    let n = unsafe { rm_data_info(h, info.as_mut_ptr(), info.len()) };
    assert_eq!(
        &info[..n as usize],
        &[1.0, 16.0, 0.0, 1.0, 16000.0, 2.0, 4.0]
    );
    // Too small an output buffer is reported, not overrun.
    // SAFETY: `info` has at least 2 writable doubles.
    assert!(unsafe { rm_data_info(h, info.as_mut_ptr(), 2) } < 0);
    assert!(last_message().contains("needs room for 7 values, got 2"));
    assert_eq!(rm_data_free(h), 0);
}

#[test]
fn bad_format_codes_are_named() {
    // SAFETY: null pointers with zero lengths.
    let h = unsafe { rm_data_audio(7, std::ptr::null(), 0, 16000, 1, std::ptr::null(), 0) };
    assert_eq!(h, 0);
    assert!(last_message().contains("sample format code 7"));
}
