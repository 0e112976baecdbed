//! StreamHealth on the labelled fault suite (tests/data/stream_health: labels.json says what each case
//! must and must not raise; the TypeScript tests read the same labels) and on synthetic signals for
//! thresholds and hysteresis.

use crate::data::{AudioBuffer, RuntimeData, Samples};
use crate::nodes::testing::{build, run};
use serde_json::{json, Value};
use std::sync::Arc;

const SUITE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/stream_health");

/// The timestamp of item `i` (20 ms items) under a labels.json rule.
pub fn timestamp(rule: &str, i: i64) -> i64 {
    let exact = i * 20_000;
    match rule {
        "drift" => exact * 103 / 100,
        "jitter" => {
            // a small LCG, the same as the TypeScript test's: ±10 ms
            let mut x = (i as u64)
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x ^= x >> 33;
            exact + (x % 20_001) as i64 - 10_000
        }
        "gap" if exact >= 3_000_000 => exact + 1_000_000,
        _ => exact,
    }
}

fn items(file: &str, rule: &str) -> Vec<Arc<RuntimeData>> {
    let mut reader = hound::WavReader::open(format!("{SUITE}/{file}")).unwrap();
    let spec = reader.spec();
    let samples: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32768.0)
        .collect();
    let per_item = (spec.sample_rate / 50) as usize * spec.channels as usize;
    samples
        .chunks(per_item)
        .enumerate()
        .map(|(i, chunk)| {
            let buffer = AudioBuffer::new(
                Samples::F32(chunk.to_vec()),
                spec.sample_rate,
                spec.channels as u32,
            )
            .unwrap();
            let mut data = RuntimeData::audio(buffer);
            data.attributes.timestamp_us = Some(timestamp(rule, i as i64));
            Arc::new(data)
        })
        .collect()
}

fn alerts(file: &str, rule: &str, params: Value) -> Vec<Value> {
    let out = run(build("StreamHealth", params).as_mut(), items(file, rule));
    out.iter().filter_map(|d| d.as_json().cloned()).collect()
}

#[test]
fn the_fault_suite_raises_what_each_file_must_and_nothing_else() {
    let labels: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{SUITE}/labels.json")).unwrap())
            .unwrap();
    let mut failures = Vec::new();
    for case in labels["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let got = alerts(
            case["file"].as_str().unwrap(),
            case["timestamps"].as_str().unwrap(),
            json!({}),
        );
        let raised: Vec<&Value> = got.iter().filter(|a| a["type"] == "alert").collect();
        for (kind, at) in case["raise"].as_object().unwrap() {
            let found: Vec<&&Value> = raised
                .iter()
                .filter(|a| a["kind"] == kind.as_str())
                .collect();
            if found.is_empty() {
                failures.push(format!("{name}: no {kind} alert; got {got:?}"));
            } else if let Some(at) = at.as_f64() {
                let start = found[0]["startUs"].as_f64().unwrap() / 1e6;
                if (start - at).abs() > 0.4 {
                    failures.push(format!("{name}: {kind} starts at {start} s, not {at} s"));
                }
            }
            // Every alert ends (at the latest at the end of the stream).
            let ends = got
                .iter()
                .filter(|a| a["type"] == "alert_end" && a["kind"] == kind.as_str())
                .count();
            if ends != found.len() {
                failures.push(format!(
                    "{name}: {} {kind} alerts but {ends} alert_end",
                    found.len()
                ));
            }
        }
        for kind in case["notRaise"].as_array().unwrap() {
            if let Some(a) = raised.iter().find(|a| a["kind"] == *kind) {
                failures.push(format!("{name}: raised {kind}: {a}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `ms` milliseconds of a 440 Hz tone at `db` dBFS RMS, 8 kHz mono.
fn tone(db: f64, ms: usize) -> Vec<f32> {
    let amp = 10f64.powf(db / 20.0) * std::f64::consts::SQRT_2;
    (0..ms * 8)
        .map(|i| (amp * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 8000.0).sin()) as f32)
        .collect()
}

/// Untimed 20 ms items of `samples` (8 kHz mono).
fn untimed(samples: Vec<f32>) -> Vec<Arc<RuntimeData>> {
    samples
        .chunks(160)
        .map(|c| {
            Arc::new(RuntimeData::audio(
                AudioBuffer::new(Samples::F32(c.to_vec()), 8000, 1).unwrap(),
            ))
        })
        .collect()
}

fn kinds(out: &[Value], ty: &str) -> Vec<String> {
    out.iter()
        .filter(|a| a["type"] == ty)
        .map(|a| a["kind"].as_str().unwrap().to_string())
        .collect()
}

fn run_untimed(samples: Vec<f32>, params: Value) -> Vec<Value> {
    let out = run(build("StreamHealth", params).as_mut(), untimed(samples));
    assert_eq!(
        out.events().len(),
        out.len(),
        "every alert is also a node event"
    );
    out.iter().filter_map(|d| d.as_json().cloned()).collect()
}

#[test]
fn a_level_wobbling_around_the_silence_threshold_raises_once_and_does_not_flap() {
    // -57 / -63 dBFS every 100 ms for 10 s: around silenceDb -60, inside its 6 dB band
    let mut s = Vec::new();
    for i in 0..100 {
        s.extend(tone(if i % 2 == 0 { -57.0 } else { -63.0 }, 100));
    }
    let out = run_untimed(s, json!({"kinds": ["silence"]}));
    assert_eq!(kinds(&out, "alert"), ["silence"], "{out:?}");
    assert_eq!(kinds(&out, "alert_end"), ["silence"], "{out:?}");
    assert!(
        out[1]["detail"]
            .as_str()
            .unwrap()
            .starts_with("end of stream"),
        "{out:?}"
    );
}

#[test]
fn a_blip_shorter_than_the_release_time_does_not_end_an_alert() {
    let mut s = tone(-20.0, 500);
    s.extend(tone(-90.0, 1500));
    s.extend(tone(-20.0, 100)); // shorter than releaseMs (300)
    s.extend(tone(-90.0, 1500));
    s.extend(tone(-20.0, 1000));
    let out = run_untimed(s, json!({"kinds": ["silence"]}));
    assert_eq!(kinds(&out, "alert"), ["silence"], "{out:?}");
    assert_eq!(out[0]["startUs"], 500_000);
    assert_eq!(out[1]["type"], "alert_end");
    assert_eq!(out[1]["endUs"], 3_600_000, "{out:?}");
}

#[test]
fn pauses_shorter_than_silence_ms_raise_nothing() {
    let mut s = Vec::new();
    for _ in 0..8 {
        s.extend(tone(-20.0, 300));
        s.extend(tone(-90.0, 800));
    }
    assert!(run_untimed(s, json!({})).is_empty());
}

#[test]
fn thresholds_are_params() {
    let mut s = tone(-20.0, 500);
    s.extend(tone(-90.0, 600));
    s.extend(tone(-20.0, 500));
    assert!(run_untimed(s.clone(), json!({})).is_empty());
    let out = run_untimed(s, json!({"silenceMs": 500}));
    assert_eq!(kinds(&out, "alert"), ["silence"]);
    assert_eq!(out[1]["startUs"], 500_000);
    assert_eq!(out[1]["endUs"], 1_100_000);
}

#[test]
fn untimed_audio_is_not_judged_for_timing_and_kinds_filters() {
    let out = run_untimed(tone(-20.0, 3000), json!({}));
    assert!(out.is_empty(), "{out:?}");
    let t = crate::nodes::find("StreamHealth").unwrap();
    let p = crate::nodes::schema::validate_params(&(t.schema)(), Some(&json!({"kinds": ["hum"]})))
        .unwrap();
    let err = (t.build)(&p).err().unwrap();
    assert!(err.contains("unknown fault \"hum\""), "{err}");
}

#[test]
fn pass_audio_emits_the_audio_before_its_alerts() {
    let out = run(
        build("StreamHealth", json!({"passAudio": true, "silenceMs": 0})).as_mut(),
        untimed(tone(-90.0, 40)),
    );
    assert!(out[0].as_audio().is_ok());
    assert_eq!(out[1].as_json().unwrap()["kind"], "silence");
}
