//! Native node throughput without any FFI: `cargo run --release --example node_bench`.
//! Prints one JSON line per node: microseconds per 20 ms item and the real-time factor. Then Silero VAD
//! (`remotemedia::silero`) alone and, side by side on the same audio, onnxruntime's Silero at one thread
//! through silero-vad's Python wrapper (tools/silero_reference.py --bench; skipped with a message when
//! no Python with onnxruntime and silero-vad is found: `SILERO_PYTHON`, target/silero-venv, python3).

use remotemedia::data::{AudioBuffer, RuntimeData, Samples};
use remotemedia::nodes::{find, schema::validate_params, Outputs};
use remotemedia::silero::SileroStream;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

fn bench(
    type_name: &str,
    params: serde_json::Value,
    input: &str,
    items: &[Arc<RuntimeData>],
    item_secs: f64,
) {
    let t = find(type_name).expect("node type");
    let p = validate_params(&(t.schema)(), Some(&params)).expect("params");
    let mut node = (t.build)(&p).expect("build");
    node.initialize().expect("initialize");
    let mut out = Outputs::default();
    let start = Instant::now();
    for item in items {
        node.process(0, item.clone(), &mut out).expect("process");
        out.clear();
    }
    node.flush(&mut out).expect("flush");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "node": type_name,
            "params": params,
            "input": input,
            "usPerItem": (secs * 1e6 / items.len() as f64 * 100.0).round() / 100.0,
            "realTimeFactor": (items.len() as f64 * item_secs / secs).round(),
        })
    );
}

fn main() {
    let minutes = 10;
    let frames_48k = 960;
    let make = |rate: u32, frames: usize, channels: u32, int: bool| -> Vec<Arc<RuntimeData>> {
        (0..minutes * 60 * 50)
            .map(|k| {
                let v: Vec<f32> = (0..frames * channels as usize)
                    .map(|i| (((k * frames + i) as f32) * 0.05).sin() * 0.3)
                    .collect();
                let samples = if int {
                    Samples::F32(v).convert(remotemedia::data::SampleFormat::I16)
                } else {
                    Samples::F32(v)
                };
                Arc::new(RuntimeData::audio(
                    AudioBuffer::new(samples, rate, channels).unwrap(),
                ))
            })
            .collect()
    };
    let stereo_i16 = make(48000, frames_48k, 2, true);
    let mono_i16 = make(48000, frames_48k, 1, true);
    let mono_f32 = make(48000, frames_48k, 1, false);
    let mono_16k_f32 = make(16000, 320, 1, false);
    bench(
        "ChannelMix",
        json!({"mode": "mono"}),
        "48k stereo i16",
        &stereo_i16,
        0.02,
    );
    bench(
        "Resample",
        json!({"targetRate": 16000}),
        "48k mono i16",
        &mono_i16,
        0.02,
    );
    bench(
        "Resample",
        json!({"targetRate": 16000}),
        "48k mono f32",
        &mono_f32,
        0.02,
    );
    let fast = json!({"targetRate": 16000, "quality": "fast"});
    bench("Resample", fast, "48k mono f32", &mono_f32, 0.02);
    let high = json!({"targetRate": 16000, "quality": "high"});
    bench("Resample", high, "48k mono f32", &mono_f32, 0.02);
    bench("Vad", json!({}), "16k mono f32", &mono_16k_f32, 0.02);
    let earshot = json!({"model": "earshot"});
    bench("Vad", earshot.clone(), "16k mono f32", &mono_16k_f32, 0.02);
    front_end_bench(json!({}), &stereo_i16);
    front_end_bench(earshot, &stereo_i16);
    bench(
        "Gain",
        json!({"gain": 0.5}),
        "48k mono f32",
        &mono_f32,
        0.02,
    );
    silero_bench(60);
}

/// The voice front end, ChannelMix → Resample (16 kHz) → Vad with `vad_params`, on 20 ms items of
/// 48 kHz stereo i16: one thread, each node's output fed to the next as the engine would.
fn front_end_bench(vad_params: serde_json::Value, items: &[Arc<RuntimeData>]) {
    let build = |type_name: &str, params: serde_json::Value| {
        let t = find(type_name).expect("node type");
        let p = validate_params(&(t.schema)(), Some(&params)).expect("params");
        let mut node = (t.build)(&p).expect("build");
        node.initialize().expect("initialize");
        node
    };
    let mut chain = [
        build("ChannelMix", json!({"mode": "mono"})),
        build("Resample", json!({"targetRate": 16000})),
        build("Vad", vad_params.clone()),
    ];
    let start = Instant::now();
    let (mut here, mut next) = (Outputs::default(), Outputs::default());
    for item in items.iter().map(Some).chain([None]) {
        here.clear();
        here.extend(item.cloned());
        for node in chain.iter_mut() {
            next.clear();
            for item in here.iter() {
                node.process(0, item.clone(), &mut next).expect("process");
            }
            if item.is_none() {
                node.flush(&mut next).expect("flush");
            }
            std::mem::swap(&mut here, &mut next);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "node": "ChannelMix → Resample → Vad",
            "params": vad_params,
            "input": "48k stereo i16",
            "usPerItem": (secs * 1e6 / items.len() as f64 * 100.0).round() / 100.0,
            "realTimeFactor": (items.len() as f64 * 0.02 / secs).round(),
        })
    );
}

/// Best of three passes of `run` in seconds.
fn best_of_three(mut run: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Silero VAD on `seconds` of the speech test file (16 kHz mono, repeated), one thread, fed in 20 ms
/// items (320 samples, so windows straddle items as in a pipeline), then onnxruntime on the same audio.
fn silero_bench(seconds: usize) {
    let wav = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/silero/speech.wav");
    let speech: Vec<f32> = hound::WavReader::open(&wav)
        .expect("speech.wav")
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect();
    let audio: Vec<f32> = speech
        .iter()
        .copied()
        .cycle()
        .take(seconds * 16000)
        .collect();
    let mut stream = SileroStream::new(16000).expect("model");
    let mut windows = 0usize;
    let secs = best_of_three(|| {
        stream.reset();
        windows = 0;
        for item in audio.chunks(320) {
            stream.push(item, |_| windows += 1);
        }
    });
    let line = |engine: &str, windows_per_second: f64, real_time: f64| {
        println!(
            "{}",
            json!({
                "node": "Silero VAD",
                "params": {"engine": engine},
                "input": "16k mono f32, speech.wav",
                "usPerItem": (0.02 / real_time * 1e6 * 100.0).round() / 100.0,
                "realTimeFactor": real_time.round(),
                "windowsPerSecond": windows_per_second.round(),
            })
        );
    };
    line(
        "remotemedia (Rust, 1 thread)",
        windows as f64 / secs,
        seconds as f64 / secs,
    );
    match onnxruntime_figures(&wav, seconds) {
        Ok(figures) => {
            let version = figures["onnxruntime"].as_str().unwrap_or("?").to_owned();
            for (key, how) in [("session", "session.run"), ("wrapper", "OnnxWrapper")] {
                line(
                    &format!("onnxruntime {version} (Python {how}, 1 thread)"),
                    figures[key]["windowsPerSecond"].as_f64().unwrap_or(0.0),
                    figures[key]["realTimeFactor"].as_f64().unwrap_or(0.0),
                );
            }
        }
        Err(why) => eprintln!("node_bench: onnxruntime's Silero skipped: {why}"),
    }
}

/// Runs tools/silero_reference.py --bench with the first Python that can (one with onnxruntime, numpy
/// and silero-vad installed).
fn onnxruntime_figures(wav: &Path, seconds: usize) -> Result<serde_json::Value, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut pythons: Vec<PathBuf> = std::env::var_os("SILERO_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    pythons.push(root.join("target/silero-venv/bin/python"));
    pythons.push("python3".into());
    let mut failures = Vec::new();
    for python in pythons {
        let output = Command::new(&python)
            .arg(root.join("tools/silero_reference.py"))
            .arg("--bench")
            .arg(wav)
            .arg(seconds.to_string())
            .output();
        match output {
            Ok(output) if output.status.success() => {
                return serde_json::from_slice(&output.stdout).map_err(|e| e.to_string());
            }
            Ok(output) => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let last = stderr.trim().lines().last().unwrap_or("failed").to_owned();
                failures.push(format!("{}: {last}", python.display()));
            }
            Err(e) => failures.push(format!("{}: {e}", python.display())),
        }
    }
    Err(format!(
        "no Python with onnxruntime, numpy and silero-vad (see tools/silero_reference.py); {}",
        failures.join("; ")
    ))
}
