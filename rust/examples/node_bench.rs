//! Native node throughput without any FFI: `cargo run --release --example node_bench`.
//! Prints one JSON line per node: microseconds per 20 ms item and the real-time factor.

use remotemedia::data::{AudioBuffer, RuntimeData, Samples};
use remotemedia::nodes::{find, schema::validate_params, Outputs};
use serde_json::json;
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
    bench(
        "Gain",
        json!({"gain": 0.5}),
        "48k mono f32",
        &mono_f32,
        0.02,
    );
}
