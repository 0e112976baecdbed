//! Manifest parsing and validation must never panic, whatever the bytes; when a manifest validates,
//! format negotiation over it (on, from a stereo 48 kHz input and from an unknown one) and building and
//! initializing a session from it must not panic either.
#![no_main]
use libfuzzer_sys::fuzz_target;
use remotemedia::pipeline::session::negotiated_plan;
use remotemedia::pipeline::{plan_from_str, Session, SessionOptions};
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if plan_from_str(text, &[]).is_ok() {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
            for audio_input in [None, Some(json!({"sampleRate": 48000, "channels": 2}))] {
                let options = SessionOptions {
                    negotiate: Some(true),
                    audio_input,
                    ..SessionOptions::default()
                };
                let _ = negotiated_plan(&value, &[], &options);
            }
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
