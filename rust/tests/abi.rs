//! The C ABI used as C would use it: handles, the error model and caught panics.

use remotemedia::abi::pipeline::*;
use remotemedia::abi::tasks::*;
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

#[test]
fn error_buffers_receive_what_fits_and_the_full_length() {
    assert_eq!(rm_debug_panic(), -(error::Status::Panic as i32));
    let message = "internal panic: rm_debug_panic was called";
    // SAFETY: a null buffer with `cap == 0`.
    let len = unsafe { rm_last_error_message(std::ptr::null_mut(), 0) };
    assert_eq!(len, message.len());
    let mut buf = [0xffu8; 8];
    // SAFETY: `buf` has 8 writable bytes; 4 are offered, the others must stay untouched.
    let len = unsafe { rm_last_error_message(buf.as_mut_ptr(), 4) };
    assert_eq!((len, &buf), (message.len(), b"inte\xff\xff\xff\xff"));

    // SAFETY: a null buffer with `cap == 0`.
    let len = unsafe { rm_last_error_detail(std::ptr::null_mut(), 0) };
    assert_eq!(len, last_detail().to_string().len());
    let mut buf = [0xffu8; 8];
    // SAFETY: as above.
    let len = unsafe { rm_last_error_detail(buf.as_mut_ptr(), 4) };
    assert_eq!(&buf, b"{\"co\xff\xff\xff\xff");
    assert!(len > 4);
}

fn text(s: &str) -> RmHandle {
    // SAFETY: the pointer/length pair describes a live &str; no attributes.
    unsafe { rm_data_text(s.as_ptr(), s.len(), std::ptr::null(), 0) }
}

#[test]
fn panics_are_caught_and_reported() {
    assert_eq!(rm_debug_panic(), -(error::Status::Panic as i32));
    assert_eq!(rm_last_error_code(), error::Status::Panic as i32);
    assert_eq!(last_message(), "internal panic: rm_debug_panic was called");
}

#[test]
fn long_messages_are_retrieved_with_a_second_call() {
    assert_eq!(rm_data_type(0), -(error::Status::InvalidHandle as i32));
    assert_eq!(last_message(), "null handle (0)");
}

#[test]
fn double_free_is_an_error_not_a_crash() {
    let h = text("hello");
    assert_ne!(h, 0);
    assert_eq!(rm_data_type(h), 0, "text");
    assert_eq!(rm_data_free(h), 0);
    assert_eq!(rm_data_free(h), -(error::Status::InvalidHandle as i32));
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

fn last_detail() -> serde_json::Value {
    let mut buf = vec![0u8; 16];
    // SAFETY: `buf` has `buf.len()` writable bytes.
    let len = unsafe { rm_last_error_detail(buf.as_mut_ptr(), buf.len()) };
    if len > buf.len() {
        buf.resize(len, 0);
        // SAFETY: as above, with the larger buffer.
        let again = unsafe { rm_last_error_detail(buf.as_mut_ptr(), buf.len()) };
        assert_eq!(again, len);
    }
    serde_json::from_slice(&buf[..len]).expect("the detail is JSON")
}

fn create(manifest: &str) -> RmHandle {
    // SAFETY: the manifest is a live &str; no options.
    unsafe { rm_session_create(manifest.as_ptr(), manifest.len(), std::ptr::null(), 0) }
}

#[test]
fn errors_cross_as_data_code_issues_node_and_expected_vs_actual() {
    // An invalid manifest: every issue with its path, in the detail.
    let bad = r#"{"version":1,"nodes":[{"id":"g","type":"Gain","params":{"gain":-1}},{"id":"x","type":"Nope"}]}"#;
    assert_eq!(create(bad), 0);
    let d = last_detail();
    assert_eq!(d["code"], "invalid_manifest");
    assert_eq!(d["status"], error::Status::InvalidManifest as i32);
    let issues = d["issues"].as_array().expect("issues");
    assert_eq!(issues.len(), 2, "{d}");
    assert!(issues[0]["path"].as_str().unwrap().contains("gain"), "{d}");
    assert!(
        issues[1]["message"].as_str().unwrap().contains("Nope"),
        "{d}"
    );
    assert!(d["message"]
        .as_str()
        .unwrap()
        .starts_with("invalid manifest:"));
    // Not JSON at all: still an issue list.
    assert_eq!(create("{"), 0);
    let d = last_detail();
    assert_eq!(d["issues"][0]["path"], "");
    assert!(d["issues"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not valid JSON"));

    // Wrong type: expected and actual by name.
    let h = text("hi");
    let mut info = [0f64; RM_INFO_LEN];
    // SAFETY: RM_INFO_LEN writable doubles.
    assert!(unsafe { rm_data_info(h, info.as_mut_ptr(), info.len()) } > 0);
    let session = create(r#"{"version":1,"nodes":[{"id":"g","type":"Gain"}]}"#);
    assert_ne!(session, 0);
    let pushed = rm_session_push(session, h);
    assert_eq!(
        pushed,
        -(error::Status::InvalidArgument as i32),
        "no entry takes text"
    );
    assert_eq!(d_code(), "invalid_argument");
    assert_eq!(rm_session_free(session), 0);
    assert_eq!(rm_data_free(h), 0);
    // A success leaves the record of the last failure alone, and no detail fields are invented.
    let d = last_detail();
    assert!(
        d.get("nodeId").is_none() && d.get("expected").is_none(),
        "{d}"
    );
}

fn d_code() -> String {
    last_detail()["code"].as_str().unwrap().to_string()
}

#[test]
fn every_int32_failure_is_the_negated_status() {
    assert_eq!(rm_data_free(0), -(error::Status::InvalidHandle as i32));
    assert_eq!(rm_session_close(0), -(error::Status::InvalidHandle as i32));
    assert_eq!(rm_session_abort(0), -(error::Status::InvalidHandle as i32));
    assert_eq!(
        rm_session_set_events(0, 1),
        -(error::Status::InvalidHandle as i32)
    );
    assert_eq!(rm_session_phase(0), -(error::Status::InvalidHandle as i32));
    assert_eq!(rm_session_free(0), -(error::Status::InvalidHandle as i32));
    assert_eq!(
        rm_session_emit(0, 1, 0),
        -(error::Status::InvalidHandle as i32)
    );
    assert_eq!(rm_data_equal(0, 0), -(error::Status::InvalidHandle as i32));
    assert_eq!(last_detail()["code"], "invalid_handle");
}

#[test]
fn interrupt_branch_reports_the_nodes_it_reached() {
    let m = r#"{"version":1,"nodes":[{"id":"a","type":"PassThrough"},{"id":"b","type":"PassThrough"},
        {"id":"c","type":"PassThrough"},{"id":"d","type":"PassThrough"}],
        "connections":[{"from":"a","to":"b"},{"from":"b","to":"c"},{"from":"a","to":"d"}]}"#;
    let session = create(m);
    assert_ne!(session, 0);
    let from = [1u32];
    let mut mask = [9u8; 4];
    // SAFETY: one readable u32 and four writable bytes.
    let dropped = unsafe {
        rm_session_interrupt_branch(session, from.as_ptr(), 1, mask.as_mut_ptr(), mask.len())
    };
    assert_eq!(dropped, 0);
    assert_eq!(mask, [0, 1, 1, 0], "b and what follows it");
    let mut short = [0u8; 3];
    // SAFETY: as above, with three writable bytes (too few: refused before any write).
    let status = unsafe {
        rm_session_interrupt_branch(session, from.as_ptr(), 1, short.as_mut_ptr(), short.len())
    };
    assert_eq!(status, -(error::Status::InvalidArgument as i32));
    assert!(last_message().contains("room for 3 nodes"));
    assert_eq!(rm_session_free(session), 0);
}
