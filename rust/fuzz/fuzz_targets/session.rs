//! Sessions driven by random sequences of push (to any entry) / poll (any sink) / close / abort / interrupt and host-task
//! answers (emit, complete, fail), inline and threaded, over graphs with uneven joins and a host node.
//! Nothing may panic or hang, and the invariants below must hold after every sequence.
#![no_main]
use libfuzzer_sys::fuzz_target;
use remotemedia::data::{AudioBuffer, RuntimeData, Samples};
use remotemedia::pipeline::{Phase, Session, SessionOptions};
use serde_json::json;
use std::sync::Arc;

fn manifests() -> Vec<serde_json::Value> {
    vec![
        json!({"version": 1, "nodes": [{"id": "p", "type": "PassThrough"}]}),
        json!({"version": 1,
            "nodes": [{"id": "src", "type": "PassThrough"}, {"id": "chunk", "type": "Chunker", "params": {"frames": 48}},
                      {"id": "mix", "type": "Mix", "params": {"maxLagMs": 5}}, {"id": "gain", "type": "Gain", "params": {"gainDb": 12, "clip": false}}],
            "connections": [{"from": "src", "to": "mix", "port": "a"}, {"from": "src", "to": "chunk"},
                            {"from": "chunk", "to": "mix", "port": "b"}, {"from": "mix", "to": "gain"}]}),
        json!({"version": 1,
            "nodes": [{"id": "src", "type": "PassThrough"}, {"id": "host", "type": "Host"},
                      {"id": "res", "type": "Resample", "params": {"targetRate": 8000}}],
            "connections": [{"from": "src", "to": "host", "port": "a"}, {"from": "src", "to": "res"},
                            {"from": "res", "to": "host", "port": "b"}]}),
        // Format negotiation: converters in front of the Vad (an entry) and of a host node that takes
        // 8 kHz mono only; interrupts of either branch reset them; stereo pushes meet the run-time
        // check (or the audioInput check).
        json!({"version": 1, "negotiate": true,
            "nodes": [{"id": "vad", "type": "Vad", "params": {"model": "earshot", "mode": "pass"}},
                      {"id": "narrow", "type": "Narrow"},
                      {"id": "level", "type": "AudioLevel", "params": {"passAudio": true},
                       "inputFormat": {"sampleRate": [8000, 16000]}}],
            "connections": [{"from": "vad", "to": "narrow"}, {"from": "vad", "to": "level"}]}),
    ]
}

fn host_types() -> serde_json::Value {
    json!([{"type": "Host", "inputs": [{"name": "a"}, {"name": "b"}], "joinsInputs": true},
           {"type": "Narrow", "inputs": [{"name": "in", "accepts": ["audio"]}],
            "inputFormat": {"sampleRate": 8000, "channels": 1}}])
}

fn stereo(len: u8, value: u8) -> Arc<RuntimeData> {
    let v = (value as f32 - 128.0) / 128.0;
    Arc::new(RuntimeData::audio(
        AudioBuffer::new(Samples::F32(vec![v; 2 * len as usize]), 48000, 2).unwrap(),
    ))
}

fn audio(len: u8, value: u8) -> Arc<RuntimeData> {
    let v = (value as f32 - 128.0) / 64.0; // beyond ±1 on purpose
    Arc::new(RuntimeData::audio(
        AudioBuffer::new(Samples::F32(vec![v; len as usize]), 16000, 1).unwrap(),
    ))
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    let all = manifests();
    let manifest = &all[first as usize % all.len()];
    let options = SessionOptions {
        threaded: first & 0x80 != 0,
        input_capacity: 1 + (first as usize >> 3 & 3),
        output_capacity: 1 + (first as usize >> 5 & 3),
        node_types: Some(host_types()),
        events: first & 0x04 != 0,
        // Negotiation on or off (the last graph asks for it; the option overrides).
        negotiate: Some(first & 0x02 != 0),
        audio_input: (first & 0x01 != 0).then(|| json!({"sampleRate": 16000, "channels": 1})),
    };
    let Ok(session) = Session::create(manifest, options) else {
        return;
    };
    let mut tasks = Vec::new();
    for pair in ops.chunks(2).take(256) {
        let (op, arg) = (pair[0], *pair.get(1).unwrap_or(&0));
        match op % 10 {
            0 => {
                let _ = session.push(audio(arg, op));
            }
            1 => {
                // to one entry (or a node that is not one: an error, never a panic)
                let to = arg as usize % session.node_ids().len();
                let _ = session.push_to(audio(arg, op), Some(to));
            }
            2 => {
                if arg & 1 == 0 {
                    let _ = session.push(Arc::new(RuntimeData::text("x")));
                } else {
                    let _ = session.push(stereo(arg, op));
                }
            }
            3 => {
                if arg & 1 == 0 {
                    let _ = session.poll();
                } else {
                    let _ = session.poll_sink(Some(arg as usize / 2 % session.node_ids().len()));
                }
            }
            4 => {
                let _ = session.close();
            }
            5 => session.abort(),
            6 => {
                session.interrupt();
            }
            7 => {
                session.interrupt_branch(Some(&[arg as usize % session.node_ids().len()]));
            }
            8 => {
                if let Some(task) = session.take_task() {
                    tasks.push(task);
                }
            }
            _ => {
                if let Some(task) = tasks.pop() {
                    match arg % 3 {
                        0 => {
                            if let Some(item) = task.items.first() {
                                let _ = session.emit(task.ticket, item.clone());
                            }
                            session.complete_task(task.ticket);
                        }
                        1 => session.fail_task(task.ticket, "fuzz".into()),
                        _ => {
                            session.complete_task(task.ticket);
                        }
                    }
                }
            }
        }
    }
    // Finish: answer every host task, close, and drain; a session must end (no hang) once closed.
    let _ = session.close();
    for _ in 0..100_000 {
        while let Some(task) = session.take_task() {
            session.complete_task(task.ticket);
        }
        for task in tasks.drain(..) {
            session.complete_task(task.ticket);
        }
        let (out, phase, _) = session.poll();
        if out.is_none() && matches!(phase, Phase::Ended | Phase::Failed | Phase::Aborted) {
            break;
        }
        std::thread::yield_now(); // a threaded session's worker needs the core now and then
    }
    let (phase, _) = session.phase();
    assert!(
        matches!(phase, Phase::Ended | Phase::Failed | Phase::Aborted),
        "a closed session whose host tasks were answered did not end: {phase:?}"
    );
    session.shutdown();
});
