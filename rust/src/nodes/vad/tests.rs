//! `Vad` tests: Silero segments against silero-vad's own segmenter (tests/data/silero/segments.json,
//! made by tools/silero_reference.py --segments from onnxruntime's probabilities) for every file and
//! item size, end to end; no speech in tones, chords and noise; gate mode; reset; earshot.

use crate::data::RuntimeData;
use crate::nodes::testing::*;
use crate::nodes::NodeEvent;
use serde_json::{json, Value};
use std::sync::Arc;

fn events(out: &[Arc<RuntimeData>]) -> Vec<Value> {
    out.iter().filter_map(|d| d.as_json().cloned()).collect()
}

/// The (startUs, endUs) of every speech_end, after checking that starts and ends alternate and agree.
fn segments(events: &[Value]) -> Vec<(i64, i64)> {
    let mut open = None;
    let mut spans = Vec::new();
    for e in events {
        let us = |k: &str| e[k].as_i64().unwrap_or_else(|| panic!("{k} in {e}"));
        match e["type"].as_str() {
            Some("speech_start") => {
                assert!(open.is_none(), "two starts in a row: {events:?}");
                assert!((0.0..=1.0).contains(&e["probability"].as_f64().unwrap()));
                open = Some(us("timeUs"));
            }
            Some("speech_end") => {
                assert_eq!(open.take(), Some(us("startUs")), "{events:?}");
                assert_eq!(us("durationUs"), us("endUs") - us("startUs"));
                assert!((0.0..=1.0).contains(&e["probability"].as_f64().unwrap()));
                spans.push((us("startUs"), us("endUs")));
            }
            _ => panic!("not a Vad event: {e}"),
        }
    }
    assert!(open.is_none(), "a start without an end: {events:?}");
    spans
}

fn silero_data(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/silero")
        .join(name)
}

/// Mono 16-bit WAV as f32 (÷ 32768, as the reference reads it) and its rate.
fn read_wav(path: &std::path::Path) -> (Vec<f32>, u32) {
    let mut reader = hound::WavReader::open(path).expect("wav");
    let spec = reader.spec();
    let channels = spec.channels as usize;
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let mono = samples
        .chunks(channels)
        .map(|f| f.iter().map(|&s| f32::from(s)).sum::<f32>() / channels as f32 / 32768.0)
        .collect();
    (mono, spec.sample_rate)
}

fn items(samples: &[f32], rate: u32, item_ms: usize) -> Vec<Arc<RuntimeData>> {
    samples
        .chunks(rate as usize * item_ms / 1000)
        .map(|c| audio(c.to_vec(), rate, 1))
        .collect()
}

fn vad_segments(params: Value, samples: &[f32], rate: u32, item_ms: usize) -> Vec<(i64, i64)> {
    let out = run(build("Vad", params).as_mut(), items(samples, rate, item_ms));
    let emitted = events(&out);
    let reported: Vec<Value> = out.events().iter().map(NodeEvent::to_json).collect();
    assert_eq!(reported, emitted, "each event is reported and emitted");
    segments(&emitted)
}

/// tests/data/silero/segments.json: silero-vad's segments per file and parameter set.
fn reference_segments() -> Value {
    let text = std::fs::read_to_string(silero_data("segments.json")).expect("segments.json");
    serde_json::from_str(&text).unwrap()
}

/// The expected segments of `file` with parameter set `set`, in samples.
fn expected_samples(reference: &Value, file: &str, set: &str) -> Vec<(u64, u64)> {
    reference["files"][file]["segments"][set]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s[0].as_u64().unwrap(), s[1].as_u64().unwrap()))
        .collect()
}

/// The node on every file of tests/data/silero in items of `item_ms`, with the parameter sets `sets`
/// of segments.json: the segments must be silero-vad's.
fn node_segments_are_silero_vads(item_ms: usize, sets: &[&str]) {
    let reference = reference_segments();
    let files = reference["files"].as_object().unwrap();
    assert_eq!(files.len(), 5);
    for (name, entry) in files {
        let (samples, rate) = read_wav(&silero_data(name));
        assert_eq!(u64::from(rate), entry["sampleRate"].as_u64().unwrap());
        assert_eq!(samples.len() as u64, entry["samples"].as_u64().unwrap());
        for &set in sets {
            let params = &reference["params"][set];
            // Sample → µs as the node counts (rounded down).
            let us = |s: u64| (s * 1_000_000 / u64::from(rate)) as i64;
            let expected: Vec<(i64, i64)> = expected_samples(&reference, name, set)
                .iter()
                .map(|&(s, e)| (us(s), us(e)))
                .collect();
            let got = vad_segments(params.clone(), &samples, rate, item_ms);
            assert_eq!(got, expected, "{name}, {set} {params}, {item_ms} ms items");
        }
    }
}

// The node end to end (one test per item size, so they run in parallel): silero-vad's defaults at
// every size, the other parameter sets at 20 ms (tests/silero.rs runs the segmenter alone on
// onnxruntime's probabilities with all of them).

#[test]
fn node_segments_are_silero_vads_in_10_ms_items() {
    node_segments_are_silero_vads(10, &["default"]);
}

#[test]
fn node_segments_are_silero_vads_in_20_ms_items() {
    node_segments_are_silero_vads(20, &["default", "tight", "hysteresis", "low"]);
}

#[test]
fn node_segments_are_silero_vads_in_32_ms_items() {
    node_segments_are_silero_vads(32, &["default"]);
}

#[test]
fn node_segments_are_silero_vads_in_100_ms_items() {
    node_segments_are_silero_vads(100, &["default"]);
}

#[test]
fn node_segments_are_silero_vads_in_1_s_items() {
    node_segments_are_silero_vads(1000, &["default"]);
}

/// Deterministic white noise in [-amp, amp].
fn noise(frames: usize, amp: f32) -> Vec<f32> {
    let mut state = 0x2545_f491_u32;
    (0..frames)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32 * 2.0 - 1.0) * amp
        })
        .collect()
}

/// Brown-ish noise: white noise through a leaky integrator (most energy low, like rumble or traffic).
fn rumble(frames: usize, amp: f32) -> Vec<f32> {
    let mut y = 0.0f32;
    let white = noise(frames, 1.0);
    let raw: Vec<f32> = white
        .iter()
        .map(|w| {
            y = 0.98 * y + w;
            y
        })
        .collect();
    let peak = raw.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    raw.iter().map(|s| s / peak * amp).collect()
}

#[test]
fn tones_chords_and_noise_are_not_speech() {
    for rate in [16000, 48000] {
        let n = rate as usize * 5;
        let chord: Vec<f32> = [261.63, 329.63, 392.0]
            .iter()
            .map(|&f| sine(f, rate, n, 0.25))
            .fold(vec![0.0; n], |acc, s| {
                acc.iter().zip(&s).map(|(a, b)| a + b).collect()
            });
        let signals = [
            ("440 Hz", sine(440.0, rate, n, 0.5)),
            ("1 kHz", sine(1000.0, rate, n, 0.5)),
            ("C major", chord),
            ("white noise", noise(n, 0.1)),
            ("loud white noise", noise(n, 0.8)),
            ("rumble", rumble(n, 0.5)),
            ("silence", vec![0.0; n]),
        ];
        for (what, signal) in signals {
            for params in [json!({}), json!({"threshold": 0.3})] {
                let got = vad_segments(params.clone(), &signal, rate, 20);
                assert!(got.is_empty(), "{what} at {rate} Hz, {params}: {got:?}");
            }
        }
    }
}

/// The example speech file, downmixed to mono f32 at its 48 kHz rate.
fn speech_48k_mono() -> Vec<f32> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/speech.wav");
    read_wav(std::path::Path::new(path)).0
}

#[test]
fn speech_at_48k_is_resampled_inside_and_segmented_like_16k() {
    let at_16k = {
        let (samples, rate) = read_wav(&silero_data("speech.wav"));
        vad_segments(json!({}), &samples, rate, 20)
    };
    let at_48k = vad_segments(json!({}), &speech_48k_mono(), 48000, 20);
    assert_eq!(at_48k.len(), at_16k.len(), "{at_48k:?} vs {at_16k:?}");
    for (a, b) in at_48k.iter().zip(&at_16k) {
        // Within one window (32 ms): sox and the node resample differently.
        assert!(
            (a.0 - b.0).abs() <= 32_000 && (a.1 - b.1).abs() <= 32_000,
            "{at_48k:?} vs {at_16k:?}"
        );
    }
    // Speech: 0.5–4.16 s and 5.16–8.10 s (see examples/data/README.md); nothing in the 1 s pause.
    for &(s, e) in &at_48k {
        assert!(e <= 4_300_000 || s >= 5_000_000, "{at_48k:?}");
        assert!(s >= 400_000 && e <= 8_200_000, "{at_48k:?}");
    }
}

#[test]
fn gate_mode_emits_each_segment_from_its_pre_roll_to_its_end() {
    let samples = speech_48k_mono();
    for (model, pre_roll) in [("silero", 200), ("silero", 0), ("earshot", 200)] {
        let params = json!({"model": model, "mode": "gate", "preRollMs": pre_roll});
        let out = run(build("Vad", params).as_mut(), items(&samples, 48000, 20));
        // Audio between a start and its end, as (first, last) item times.
        let (mut t, mut open, mut spans) = (0i64, None, Vec::new());
        let mut audio_in_segment = Vec::new();
        for d in &out {
            if let Some(e) = d.as_json() {
                if e["type"] == "speech_start" {
                    open = Some(e["timeUs"].as_i64().unwrap());
                } else {
                    spans.push((open.take().unwrap(), e["endUs"].as_i64().unwrap()));
                    audio_in_segment.push(std::mem::take(&mut t));
                }
            } else {
                assert!(open.is_some(), "{model}: audio outside a segment");
                t += (crate::nodes::expect_audio(d).unwrap().duration_secs() * 1e6) as i64;
            }
        }
        assert!(spans.len() >= 2, "{model}: {spans:?}");
        for ((s, e), gated) in spans.iter().zip(audio_in_segment) {
            // From the pre-roll before the start (item-aligned) to the end (item-aligned, plus the
            // end's decision delay).
            let least = e - s + pre_roll * 1000;
            assert!(
                gated >= least && gated < least + 700_000,
                "{model}: {gated} µs gated for {s}..{e} µs"
            );
        }
    }
}

#[test]
fn reset_starts_over_like_a_new_node() {
    let samples = speech_48k_mono();
    let fresh = run(build("Vad", json!({})).as_mut(), items(&samples, 48000, 20));
    let mut node = build("Vad", json!({}));
    let mut out = Outputs::default();
    node.initialize().unwrap();
    for item in items(&samples[..48000 * 3], 48000, 20) {
        node.process(0, item, &mut out).unwrap();
    }
    assert!(!events(&out).is_empty(), "speech began before the reset");
    node.reset();
    let again = run(node.as_mut(), items(&samples, 48000, 20));
    assert_eq!(events(&again), events(&fresh));
}

#[test]
fn speech_start_comes_min_speech_after_the_onset() {
    // At 16 kHz in 10 ms items: when speech_start is reported, in audio time.
    let (samples, rate) = read_wav(&silero_data("speech.wav"));
    let mut node = build("Vad", json!({}));
    node.initialize().unwrap();
    let mut first = None;
    for (i, item) in items(&samples, rate, 10).into_iter().enumerate() {
        let mut out = Outputs::default();
        node.process(0, item, &mut out).unwrap();
        if let Some(e) = events(&out).first() {
            first = Some((e["timeUs"].as_i64().unwrap(), (i as i64 + 1) * 10_000));
            break;
        }
    }
    let (start, reported_at) = first.expect("speech");
    // The first speech window is 30 ms after the padded start; it is kept once 256 ms (8 windows,
    // more than minSpeechMs) of it are in, reported with the 10 ms item that completes them.
    let delay = reported_at - (start + 30_000);
    assert!((256_000..266_000).contains(&delay), "{delay}");
}

#[test]
fn rejects_stereo_and_rates_out_of_range_with_a_hint() {
    for model in ["silero", "earshot"] {
        let mut node = build("Vad", json!({"model": model}));
        let mut out = Outputs::default();
        let err = node
            .process(0, audio(vec![0.0; 4], 16000, 2), &mut out)
            .unwrap_err();
        assert!(err.to_string().contains("needs mono audio, got 2 channels"));
        let err = node
            .process(0, audio(vec![0.0; 4], 500, 1), &mut out)
            .unwrap_err();
        assert!(err.to_string().contains("got 500 Hz (add a Resample node"));
        // Any rate in range is taken (resampled inside), but not a change of rate.
        node.process(0, audio(vec![0.0; 441], 44100, 1), &mut out)
            .unwrap();
        let err = node
            .process(0, audio(vec![0.0; 4], 16000, 1), &mut out)
            .unwrap_err();
        assert!(err.to_string().contains("changed mid-stream"));
    }
}

#[test]
fn full_scale_square_waves_at_48k_reach_the_detector_within_its_range() {
    // Resampling a full-scale square wave overshoots ±1 (Gibbs); earshot asserts [-1, 1] in debug.
    let square: Vec<f32> = (0..48000)
        .map(|i| if (i / 48) % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    for model in ["silero", "earshot"] {
        for rate in [16000, 48000] {
            let out = run(
                build("Vad", json!({"model": model, "mode": "pass"})).as_mut(),
                items(&square, rate, 20),
            );
            for e in events(&out) {
                assert!(e["probability"].is_number(), "{e}");
            }
        }
    }
}

#[test]
fn timestamps_near_the_ends_of_i64_do_not_overflow() {
    for model in ["silero", "earshot"] {
        for start in [i64::MAX - 1000, i64::MIN + 1000] {
            let mut item = (*audio(speech_48k_mono()[..48000].to_vec(), 48000, 1)).clone();
            item.attributes.timestamp_us = Some(start);
            let params = json!({"model": model, "minSpeechMs": 0, "minSilenceMs": 0});
            let out = run(build("Vad", params).as_mut(), vec![Arc::new(item)]);
            for e in events(&out) {
                assert!(e.to_string().len() < 200, "{e}");
            }
        }
    }
}

// earshot (`model: "earshot"`), as before Silero became the default.

#[test]
fn earshot_silence_and_noise_have_no_speech() {
    for signal in [vec![0.0; 48000], noise(48000, 0.1)] {
        let got = vad_segments(json!({"model": "earshot"}), &signal, 16000, 20);
        assert!(got.is_empty(), "{got:?}");
    }
}

#[test]
fn earshot_finds_the_sentences_of_a_real_speech_file_and_nothing_in_the_pause() {
    let params = json!({"model": "earshot", "minSilenceMs": 320});
    let ends: Vec<(f64, f64)> = vad_segments(params, &speech_48k_mono(), 48000, 20)
        .iter()
        .map(|&(s, e)| (s as f64 / 1e6, e as f64 / 1e6))
        .collect();
    assert!(!ends.is_empty());
    // Speech: 0.5–4.16 s and 5.16–8.10 s (see examples/data/README.md).
    assert!(ends.iter().any(|&(s, e)| s < 1.0 && e > 0.8), "{ends:?}");
    assert!(
        ends.iter().any(|&(s, e)| s > 5.0 && s < 5.6 && e > 7.0),
        "{ends:?}"
    );
    for &(s, e) in &ends {
        assert!(
            e <= 4.6 || s >= 5.0,
            "no speech inside the 1 s pause: {ends:?}"
        );
        assert!(
            s >= 0.4 && e <= 8.2,
            "nothing in the leading/trailing silence: {ends:?}"
        );
    }
}
