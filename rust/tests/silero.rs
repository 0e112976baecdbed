//! Silero VAD in Rust against onnxruntime: the per-window probabilities that silero-vad's own
//! `OnnxWrapper` gets from onnxruntime for the WAVs of tests/data/silero/ (made by
//! tools/silero_test_audio.sh; reference by tools/silero_reference.py) must be matched within 0.01,
//! and the speech decisions at 0.5 must agree on at least 99 % of the windows of every file. The
//! streamed segmenter on those reference probabilities must give exactly the segments of silero-vad's
//! own `get_speech_timestamps_from_probs` (tests/data/silero/segments.json, tools/silero_reference.py
//! --segments) for every file and parameter set.

use remotemedia::silero::{SegmentParams, Segmenter, SileroStream, SpeechEvent, WindowProbability};
use serde_json::Value;
use std::path::Path;

const TOLERANCE: f32 = 0.01;
const AGREEMENT: f64 = 0.99;

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/silero")
        .join(name)
}

/// Mono 16-bit PCM scaled by 1/32768, as the reference script and torchaudio read it.
fn read_wav(name: &str) -> (Vec<f32>, u32) {
    let mut reader = hound::WavReader::open(data(name)).expect("wav");
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.bits_per_sample), (1, 16), "{name}");
    let samples = reader
        .samples::<i16>()
        .map(|s| f32::from(s.expect("sample")) / 32768.0)
        .collect();
    (samples, spec.sample_rate)
}

/// Probabilities the way silero-vad computes them for a whole file: window after window, the last one
/// padded with zeros.
fn probabilities(samples: &[f32], sample_rate: u32) -> Vec<f32> {
    let mut stream = SileroStream::new(sample_rate).expect("model");
    let mut out = Vec::new();
    stream.push(samples, |w| out.push(w.probability));
    stream.flush(|w| out.push(w.probability));
    out
}

struct Comparison {
    windows: usize,
    largest_difference: f32,
    agreement: f64,
}

fn compare(name: &str) -> Comparison {
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(data("reference.json")).expect("reference"))
            .expect("json");
    let entry = &reference["files"][name];
    let expected: Vec<f32> = entry["probabilities"]
        .as_array()
        .unwrap_or_else(|| panic!("{name} is not in reference.json"))
        .iter()
        .map(|p| p.as_f64().expect("number") as f32)
        .collect();
    let (samples, sample_rate) = read_wav(name);
    assert_eq!(
        u64::from(sample_rate),
        entry["sampleRate"].as_u64().unwrap()
    );
    let got = probabilities(&samples, sample_rate);
    assert_eq!(got.len(), expected.len(), "{name}: window count");
    let largest_difference = got
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    let agreeing = got
        .iter()
        .zip(&expected)
        .filter(|(a, b)| (**a > 0.5) == (**b > 0.5))
        .count();
    Comparison {
        windows: got.len(),
        largest_difference,
        agreement: agreeing as f64 / got.len() as f64,
    }
}

fn assert_matches_onnxruntime(name: &str) {
    let c = compare(name);
    eprintln!(
        "{name}: {} windows, largest |p_rust - p_ort| {:.2e}, decisions at 0.5 agree on {:.1} %",
        c.windows,
        c.largest_difference,
        c.agreement * 100.0
    );
    assert!(
        c.largest_difference <= TOLERANCE,
        "{name}: a window differs by {}",
        c.largest_difference
    );
    assert!(
        c.agreement >= AGREEMENT,
        "{name}: decisions agree on {:.1} % of windows",
        c.agreement * 100.0
    );
}

#[test]
fn clean_speech_matches_onnxruntime() {
    assert_matches_onnxruntime("speech.wav");
}

#[test]
fn speech_in_noise_matches_onnxruntime() {
    assert_matches_onnxruntime("speech_noise.wav");
}

#[test]
fn tones_and_chords_match_onnxruntime() {
    assert_matches_onnxruntime("tones.wav");
}

#[test]
fn silence_matches_onnxruntime() {
    assert_matches_onnxruntime("silence.wav");
}

#[test]
fn speech_at_8_khz_matches_onnxruntime() {
    assert_matches_onnxruntime("speech_8k.wav");
}

#[test]
fn every_reference_file_is_tested() {
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(data("reference.json")).unwrap()).unwrap();
    let mut names: Vec<&String> = reference["files"].as_object().unwrap().keys().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "silence.wav",
            "speech.wav",
            "speech_8k.wav",
            "speech_noise.wav",
            "tones.wav"
        ]
    );
}

#[test]
fn the_streamed_segmenter_on_onnxruntimes_probabilities_gives_silero_vads_segments() {
    let read = |name| -> Value {
        serde_json::from_str(&std::fs::read_to_string(data(name)).expect(name)).expect("json")
    };
    let (reference, segments) = (read("reference.json"), read("segments.json"));
    let sets = segments["params"].as_object().unwrap();
    assert_eq!(sets.len(), 4);
    for (file, entry) in reference["files"].as_object().unwrap() {
        let rate = entry["sampleRate"].as_u64().unwrap() as u32;
        let samples = entry["samples"].as_u64().unwrap();
        let window = if rate == 16000 { 512 } else { 256 };
        for (set, p) in sets {
            let ms = |k: &str| p[k].as_u64().unwrap();
            let params = SegmentParams::from_ms(
                rate,
                p["threshold"].as_f64().unwrap() as f32,
                p["negThreshold"].as_f64().map(|v| v as f32),
                ms("minSpeechMs"),
                ms("minSilenceMs"),
                ms("speechPadMs"),
            );
            let mut segmenter = Segmenter::new(params, window);
            let mut got = Vec::new();
            let mut collect = |e| {
                if let SpeechEvent::End { start, end, .. } = e {
                    got.push(vec![start, end]);
                }
            };
            for (i, p) in entry["probabilities"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
            {
                let w = WindowProbability {
                    start_sample: (i * window) as u64,
                    probability: p.as_f64().unwrap() as f32,
                };
                segmenter.window(w, samples, &mut collect);
            }
            segmenter.finish(samples, &mut collect);
            let expected: Vec<Vec<u64>> =
                serde_json::from_value(segments["files"][file]["segments"][set].clone()).unwrap();
            eprintln!("{file}, {set}: {} segments", got.len());
            assert_eq!(got, expected, "{file}, {set}");
        }
    }
}
