//! Manifest parsing and validation must never panic, whatever the bytes; when a manifest validates,
//! building and initializing a session from it must not panic either.
#![no_main]
use libfuzzer_sys::fuzz_target;
use remotemedia::pipeline::{plan_from_str, Session, SessionOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if plan_from_str(text, &[]).is_ok() {
        if let Ok(value) = serde_json::from_str(text) {
            // File nodes would touch the disk: only build graphs without them.
            if !text.contains("Wav") {
                if let Ok(session) = Session::create(&value, SessionOptions::default()) {
                    session.close().ok();
                    while session.poll().0.is_some() {}
                }
            }
        }
    }
});
