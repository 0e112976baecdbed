//! Session tests: inline and threaded runs, backpressure, routing, host tasks, interruption, failures.

use super::*;
use crate::data::{AudioBuffer, Samples};
use serde_json::json;
use std::time::Duration;

fn audio(n: usize, value: f32) -> Arc<RuntimeData> {
    Arc::new(RuntimeData::audio(
        AudioBuffer::new(Samples::F32(vec![value; n]), 16000, 1).unwrap(),
    ))
}

fn drain(s: &Session) -> Vec<(u32, Arc<RuntimeData>)> {
    let mut out = vec![];
    loop {
        let (item, phase, _) = s.poll();
        match item {
            Some((n, d, _)) => out.push((n, d)),
            None if phase.is_terminal() => return out,
            None if s.threaded => {
                wait_events(current_events(), Duration::from_millis(50));
            }
            None => return out,
        }
    }
}

fn chain() -> Value {
    json!({"version": 1, "nodes": [
        {"id": "gain", "type": "Gain", "params": {"gain": 2.0}},
        {"id": "chunk", "type": "Chunker", "params": {"frames": 100}}
    ], "connections": [{"from": "gain", "to": "chunk"}]})
}

#[test]
fn inline_session_processes_in_order_and_flushes() {
    let s = Session::create(&chain(), SessionOptions::default()).unwrap();
    for i in 0..5 {
        assert_eq!(
            s.push(audio(150, i as f32 * 0.1)).unwrap(),
            PushResult::Accepted
        );
    }
    s.close().unwrap();
    let out = drain(&s);
    let frames: Vec<usize> = out
        .iter()
        .map(|(_, d)| d.as_audio().unwrap().num_frames())
        .collect();
    assert_eq!(
        frames,
        vec![100; 7].into_iter().chain([50]).collect::<Vec<_>>()
    );
    assert_eq!(s.phase().0, Phase::Ended);
    assert!(out.iter().all(|(n, _)| *n == 1));
}

#[test]
fn threaded_session_gives_the_same_result() {
    let s = Session::create(
        &chain(),
        SessionOptions {
            threaded: true,
            ..Default::default()
        },
    )
    .unwrap();
    let mut out = vec![];
    for i in 0..5 {
        while s.push(audio(150, i as f32 * 0.1)).unwrap() == PushResult::Full {
            out.extend(drain(&s));
        }
    }
    s.close().unwrap();
    out.extend(drain(&s));
    assert_eq!(out.len(), 8);
    s.shutdown();
}

#[test]
fn a_slow_consumer_fills_queues_and_push_reports_full() {
    let opts = SessionOptions {
        input_capacity: 2,
        output_capacity: 2,
        ..Default::default()
    };
    let s = Session::create(
        &json!({"version": 1, "nodes": [{"id": "p", "type": "PassThrough"}]}),
        opts,
    )
    .unwrap();
    let mut accepted = 0;
    while s.push(audio(10, 0.0)).unwrap() == PushResult::Accepted {
        accepted += 1;
        assert!(accepted < 100, "push never reported Full");
    }
    // output queue (2) + entry edge (2) + inbox (2)
    assert_eq!(accepted, 6);
    let m = s.metrics();
    assert_eq!(m["outputQueue"], json!(2));
    assert_eq!(drain(&s).len(), 6, "nothing was dropped");
}

fn stereo() -> Arc<RuntimeData> {
    Arc::new(RuntimeData::audio(
        AudioBuffer::new(Samples::F32(vec![0.0; 4]), 16000, 2).unwrap(),
    ))
}

#[test]
fn node_errors_end_the_session_with_the_node_id() {
    let s = Session::create(
        &json!({"version": 1, "nodes": [{"id": "v", "type": "Vad"}]}),
        SessionOptions::default(),
    )
    .unwrap();
    let err = s.push(stereo()).unwrap_err();
    assert!(
        matches!(err, SessionError::Node(_)),
        "the push that caused it reports it"
    );
    let (phase, failure) = s.phase();
    assert_eq!(phase, Phase::Failed);
    assert_eq!(
        failure.unwrap().to_string(),
        "node \"v\" (Vad) failed: gets audio of 16000 Hz, 2 ch, f32 but accepts 1 ch (not 2 ch): \
         convert it before this node (ChannelMix / Resample / AudioFormat; format negotiation inserts \
         them where the format is known before the run: the session's audioInput, a node's \
         outputFormat)"
    );
    let err = s.push(audio(1, 0.0)).unwrap_err();
    assert!(err.to_string().contains("node \"v\" (Vad) failed"));
}

#[test]
fn items_go_to_the_entries_that_accept_their_type_or_to_the_one_named() {
    let m = json!({"version": 1, "nodes": [
        {"id": "mic", "type": "ChannelMix"},
        {"id": "gain", "type": "Gain"},
        {"id": "chat", "type": "TextTransform"},
        {"id": "any", "type": "PassThrough"},
    ], "connections": [{"from": "mic", "to": "gain"}]});
    let opts = SessionOptions {
        output_capacity: 64,
        ..Default::default()
    };
    let s = Session::create(&m, opts).unwrap();
    s.push(audio(2, 0.5)).unwrap(); // mic and any accept audio
    s.push(Arc::new(RuntimeData::text("hi"))).unwrap(); // chat and any accept text
    s.push_to(Arc::new(RuntimeData::text("only")), Some(2))
        .unwrap();
    let err = s
        .push_to(Arc::new(RuntimeData::text("x")), Some(1))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "push: to \"gain\": not an entry node (it takes its input from other nodes); \
         entries: \"mic\" (ChannelMix) accepts audio; \"chat\" (TextTransform) accepts text; \
         \"any\" (PassThrough) accepts text/audio/video/json/binary/tensor"
    );
    let err = s
        .push_to(Arc::new(RuntimeData::text("x")), Some(0))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "push: entry \"mic\" (ChannelMix) accepts audio, got text"
    );
    s.close().unwrap();
    let outputs: Vec<u32> = drain(&s).iter().map(|(n, _)| *n).collect();
    assert_eq!(outputs, [1, 3, 2, 3, 2], "by type, then to chat alone");
    assert_eq!(s.phase().0, Phase::Ended, "refused items change nothing");
}

#[test]
fn a_graph_of_sources_starts_and_ends_by_itself() {
    let dir = std::env::temp_dir().join(format!("rm-source-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("in.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for _ in 0..800 {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
    let m = json!({"version": 1, "nodes": [
        {"id": "read", "type": "WavReader", "params": {"path": path}},
        {"id": "gain", "type": "Gain"}
    ], "connections": [{"from": "read", "to": "gain"}]});
    for threaded in [false, true] {
        let opts = SessionOptions {
            threaded,
            ..Default::default()
        };
        let s = Session::create(&m, opts).unwrap();
        let err = s.push(audio(1, 0.0)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "push: this pipeline has no entry node to push to (\"read\" (WavReader) starts by itself)"
        );
        assert_eq!(
            drain(&s).len(),
            5,
            "100 ms in 20 ms frames, no push, no close"
        );
        assert_eq!(s.phase().0, Phase::Ended);
        s.close().unwrap(); // harmless
        s.shutdown();
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_host_node_emitting_a_type_it_did_not_declare_fails_itself() {
    let m = json!({"version": 1, "nodes": [
        {"id": "tts", "type": "Tts"}, {"id": "gain", "type": "Gain"}
    ], "connections": [{"from": "tts", "to": "gain"}]});
    let opts = SessionOptions {
        node_types: Some(json!([{"type": "Tts", "outputs": ["audio"]}])),
        ..Default::default()
    };
    let s = Session::create(&m, opts).unwrap();
    s.push(Arc::new(RuntimeData::text("hi"))).unwrap();
    let t = s.take_task().unwrap();
    assert_eq!(
        s.emit(t.ticket, Arc::new(RuntimeData::text("oops"))),
        Emit::Cancelled
    );
    let (phase, failure) = s.phase();
    assert_eq!(phase, Phase::Failed);
    assert_eq!(
        failure.unwrap().to_string(),
        "node \"tts\" (Tts) failed: emitted text, but it declares outputs: audio"
    );
}

#[test]
fn an_item_no_entry_accepts_is_refused_and_the_session_goes_on() {
    let s = Session::create(
        &json!({"version": 1, "nodes": [{"id": "g", "type": "Gain"}]}),
        SessionOptions::default(),
    )
    .unwrap();
    let err = s
        .push(Arc::new(RuntimeData::text("not audio")))
        .unwrap_err();
    assert!(matches!(err, SessionError::Input(_)));
    assert_eq!(
        err.to_string(),
        "push: no entry node accepts text (entries: \"g\" (Gain) accepts audio)"
    );
    assert_eq!(s.push(audio(1, 0.5)).unwrap(), PushResult::Accepted);
    s.close().unwrap();
    assert_eq!(drain(&s).len(), 1);
    assert_eq!(s.phase().0, Phase::Ended);
}

#[test]
fn skip_errors_counts_and_continues() {
    let s = Session::create(
        &json!({"version": 1, "nodes": [
            {"id": "v", "type": "Vad", "params": {"mode": "pass"}, "skipErrors": true}
        ]}),
        SessionOptions::default(),
    )
    .unwrap();
    s.push(stereo()).unwrap();
    s.push(audio(4, 0.25)).unwrap();
    s.close().unwrap();
    assert_eq!(drain(&s).len(), 1);
    assert_eq!(s.metrics()["nodes"][0]["errors"], json!(1));
}

#[test]
fn drop_oldest_edges_keep_the_newest_items_and_count_drops() {
    let m = json!({"version": 1, "nodes": [
        {"id": "src", "type": "PassThrough"}, {"id": "sink", "type": "PassThrough"}
    ], "connections": [{"from": "src", "to": "sink", "policy": "dropOldest", "capacity": 2}]});
    let opts = SessionOptions {
        output_capacity: 1,
        ..Default::default()
    };
    let s = Session::create(&m, opts).unwrap();
    for i in 0..10 {
        assert_eq!(
            s.push(audio(1, i as f32)).unwrap(),
            PushResult::Accepted,
            "never blocks"
        );
    }
    assert_eq!(s.metrics()["nodes"][1]["dropped"], json!(7));
    s.close().unwrap();
    let values: Vec<f32> = drain(&s)
        .iter()
        .map(|(_, d)| d.as_audio().unwrap().samples.to_f32()[0])
        .collect();
    assert_eq!(values, vec![0.0, 8.0, 9.0]);
}

#[test]
fn abort_cleans_up_and_rejects_more_input() {
    let s = Session::create(&chain(), SessionOptions::default()).unwrap();
    s.push(audio(150, 0.1)).unwrap();
    s.abort();
    assert_eq!(s.phase().0, Phase::Aborted);
    assert!(s
        .push(audio(1, 0.0))
        .unwrap_err()
        .to_string()
        .contains("after the session ended"));
}

#[test]
fn host_nodes_get_tasks_and_their_emits_flow_downstream_in_order() {
    let m = json!({"version": 1, "nodes": [
        {"id": "src", "type": "PassThrough"},
        {"id": "host", "type": "Host"},
        {"id": "gain", "type": "Gain", "params": {"gain": 2.0}}
    ], "connections": [{"from": "src", "to": "host"}, {"from": "host", "to": "gain"}]});
    let opts = SessionOptions {
        node_types: Some(
            json!([{"type": "Host", "inputs": [{"name": "in", "accepts": ["audio"]}], "outputs": ["audio"]}]),
        ),
        ..Default::default()
    };
    let s = Session::create(&m, opts).unwrap();
    s.push(audio(2, 0.1)).unwrap();
    s.push(audio(2, 0.2)).unwrap();
    // One task at a time per host node: the second waits until the first is done.
    let t1 = s.take_task().unwrap();
    assert_eq!((t1.node, t1.items.len()), (1, 1));
    assert!(s.take_task().is_none());
    // A streaming host node emits twice for one input.
    assert_eq!(s.emit(t1.ticket, t1.items[0].clone()), Emit::Accepted);
    assert_eq!(s.emit(t1.ticket, audio(1, 0.3)), Emit::Accepted);
    assert!(s.complete_task(t1.ticket));
    let t2 = s.take_task().unwrap();
    assert_eq!(s.emit(t2.ticket, t2.items[0].clone()), Emit::Accepted);
    s.complete_task(t2.ticket);
    s.close().unwrap();
    let flush = s.take_task().unwrap();
    assert_eq!(flush.kind, crate::pipeline::engine::TaskKind::Flush);
    s.complete_task(flush.ticket);
    let values: Vec<f32> = drain(&s)
        .iter()
        .map(|(_, d)| d.as_audio().unwrap().samples.to_f32()[0])
        .collect();
    assert_eq!(values, vec![0.2, 0.6, 0.4]);
    assert_eq!(s.phase().0, Phase::Ended);
    // A late emit for a finished task is refused, not routed.
    assert_eq!(s.emit(t1.ticket, audio(1, 0.0)), Emit::Cancelled);
}

#[test]
fn interrupting_a_branch_leaves_the_other_branch_alone() {
    let m = json!({"version": 1, "nodes": [
        {"id": "src", "type": "PassThrough"},
        {"id": "a", "type": "PassThrough"},
        {"id": "b", "type": "Chunker", "params": {"frames": 4}}
    ], "connections": [{"from": "src", "to": "a"}, {"from": "src", "to": "b"}]});
    let s = Session::create(
        &m,
        SessionOptions {
            output_capacity: 64,
            ..Default::default()
        },
    )
    .unwrap();
    s.push(audio(3, 0.5)).unwrap(); // b buffers 3 of 4 frames; a emits at once
    assert_eq!(
        s.interrupt_branch(Some(&[2])),
        0,
        "nothing queued into b, one output of a kept"
    );
    s.push(audio(2, 0.5)).unwrap(); // b was reset: 2 frames buffered, not 5
    s.close().unwrap();
    let outs = drain(&s);
    let from_a = outs.iter().filter(|(n, _)| *n == 1).count();
    let b_frames: Vec<usize> = outs
        .iter()
        .filter(|(n, _)| *n == 2)
        .map(|(_, d)| d.as_audio().unwrap().num_frames())
        .collect();
    assert_eq!(from_a, 2, "branch a untouched");
    assert_eq!(b_frames, vec![2], "branch b restarted after the interrupt");
}

#[test]
fn a_host_failure_names_the_host_node() {
    let m = json!({"version": 1, "nodes": [{"id": "tts", "type": "Tts"}]});
    let opts = SessionOptions {
        node_types: Some(json!([{"type": "Tts"}])),
        ..Default::default()
    };
    let s = Session::create(&m, opts).unwrap();
    s.push(Arc::new(RuntimeData::text("hi"))).unwrap();
    let t = s.take_task().unwrap();
    s.fail_task(t.ticket, "espeak-ng exited with 1".into());
    let (phase, failure) = s.phase();
    assert_eq!(phase, Phase::Failed);
    assert_eq!(
        failure.unwrap().to_string(),
        "node \"tts\" (Tts) failed: espeak-ng exited with 1"
    );
}

#[test]
fn invalid_manifests_list_every_issue() {
    let err = Session::create(
        &json!({"version": 1, "nodes": [{"id": "x", "type": "Nope"}, {"id": "y"}]}),
        SessionOptions::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.starts_with("invalid manifest:\n  - nodes[0] \"x\".type: unknown node type"),
        "{err}"
    );
    assert!(err.contains("nodes[1] \"y\".type: missing"), "{err}");
}

/// Threaded sessions run on the shared pool: a session that has a lot to do runs in bounded slices, so
/// a session with a little to do gets its turn long before the busy ones end.
#[test]
fn a_busy_threaded_session_does_not_starve_the_others() {
    let busy_graph = json!({"version": 1, "nodes": [
        {"id": "chunk", "type": "Chunker", "params": {"frames": 480}},
        {"id": "res", "type": "Resample", "params": {"targetRate": 16000}}
    ], "connections": [{"from": "chunk", "to": "res"}]});
    let options = || SessionOptions {
        threaded: true,
        output_capacity: 1 << 20,
        ..Default::default()
    };
    // As many busy sessions as the pool has threads (each: 30 s of 48 kHz audio in 10 ms calls).
    let count = super::pool::stats().size.min(8);
    let busy: Vec<_> = (0..count)
        .map(|_| Session::create(&busy_graph, options()).unwrap())
        .collect();
    for s in &busy {
        let long = Arc::new(RuntimeData::audio(
            AudioBuffer::new(Samples::F32(vec![0.1; 48000 * 30]), 48000, 1).unwrap(),
        ));
        assert_eq!(s.push(long).unwrap(), PushResult::Accepted);
        s.close().unwrap();
    }
    let light = Session::create(&chain(), options()).unwrap();
    light.push(audio(100, 0.1)).unwrap();
    loop {
        let seen = current_events();
        if light.poll().0.is_some() {
            break;
        }
        wait_events(seen, Duration::from_millis(50));
    }
    let ended = busy.iter().filter(|s| s.phase().0.is_terminal()).count();
    assert_eq!(ended, 0, "the light session waited for busy ones to end");
    for s in busy.iter().chain([&light]) {
        s.shutdown();
        assert_eq!(s.phase().0, Phase::Aborted);
    }
}

/// A threaded session whose last reference goes without close or abort (a forgotten handle) is
/// cleaned up: its WavWriter finalizes the file.
#[test]
fn a_dropped_threaded_session_is_cleaned_up() {
    let dir = std::env::temp_dir().join(format!("rm-pool-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dropped.wav");
    let graph = json!({"version": 1, "nodes": [
        {"id": "w", "type": "WavWriter", "params": {"path": path.to_str().unwrap()}}
    ], "connections": []});
    let s = Session::create(
        &graph,
        SessionOptions {
            threaded: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(s.schedule.is_blocking());
    for _ in 0..3 {
        while s.push(audio(160, 0.25)).unwrap() == PushResult::Full {
            drain(&s);
        }
    }
    // Wait until the pool took the items (the writer has them), then forget the session.
    while !lock(&s.io).inbox.is_empty() {
        wait_events(current_events(), Duration::from_millis(10));
    }
    drop(s);
    // Forgetting a session aborts it: items still queued may be dropped (under valgrind's slow
    // clock the pool may not have written all three), but the writer is cleaned up — the file is
    // finalized with whole items.
    let start = std::time::Instant::now();
    let frames = loop {
        if let Ok(reader) = hound::WavReader::open(&path) {
            if reader.duration() > 0 {
                break reader.duration();
            }
        }
        assert!(start.elapsed() < Duration::from_secs(30), "never finalized");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(
        [160, 320, 480].contains(&frames),
        "{frames} frames: not whole items"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A session with a host node type `Asr` that accepts 16 kHz mono.
fn with_asr(manifest: serde_json::Value, negotiate: bool) -> Arc<Session> {
    Session::create(
        &manifest,
        SessionOptions {
            node_types: Some(serde_json::json!([
                {"type": "Asr", "inputs": [{"name": "in", "accepts": ["audio"]}], "outputs": ["json"],
                 "inputFormat": {"sampleRate": 16000, "channels": 1}}
            ])),
            negotiate: Some(negotiate),
            ..SessionOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn interrupting_a_node_resets_the_converters_in_front_of_it() {
    // 48 kHz into a node that takes 16 kHz: `p:resample` holds audio of p's input. Interrupting p
    // must drop it, or stale audio reaches p after the interrupt.
    let m = serde_json::json!({"version": 1, "negotiate": true, "nodes": [
        {"id": "p", "type": "PassThrough", "inputFormat": {"sampleRate": 16000}}
    ]});
    let s = Session::create(
        &m,
        SessionOptions {
            audio_input: Some(serde_json::json!({"sampleRate": 48000, "channels": 1})),
            ..SessionOptions::default()
        },
    )
    .unwrap();
    assert_eq!(s.node_ids(), ["p", "p:resample"]);
    let p = s.node_ids().iter().position(|id| id == "p").unwrap();
    let mask = s.downstream(&[p]);
    assert_eq!(
        mask,
        vec![true, true],
        "the converter belongs to p's branch"
    );
    for _ in 0..3 {
        let frame = AudioBuffer::new(Samples::F32(vec![0.5; 480]), 48000, 1).unwrap();
        s.push(Arc::new(RuntimeData::audio(frame))).unwrap();
    }
    drain(&s);
    s.interrupt_branch(Some(&[p]));
    let mut after = Vec::new();
    for _ in 0..20 {
        let frame = AudioBuffer::new(Samples::F32(vec![0.0; 480]), 48000, 1).unwrap();
        s.push(Arc::new(RuntimeData::audio(frame))).unwrap();
        for (_, d) in drain(&s) {
            after.extend(d.as_audio().unwrap().samples.to_f32());
        }
    }
    s.close().unwrap();
    for (_, d) in drain(&s) {
        after.extend(d.as_audio().unwrap().samples.to_f32());
    }
    assert!(
        after.len() >= 16000 * 20 / 100 - 320,
        "{} samples after",
        after.len()
    );
    let stale = after.iter().filter(|x| x.abs() > 1e-3).count();
    assert_eq!(stale, 0, "no audio from before the interrupt after it");
}

#[test]
fn pushed_audio_that_contradicts_audio_input_is_refused_and_the_session_goes_on() {
    let m = serde_json::json!({"version": 1, "nodes": [{"id": "g", "type": "Gain"}]});
    let s = Session::create(
        &m,
        SessionOptions {
            audio_input: Some(serde_json::json!({"sampleRate": 16000, "channels": 1})),
            ..SessionOptions::default()
        },
    )
    .unwrap();
    let err = s.push(stereo()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "push: audio of 16000 Hz, 2 ch, f32 does not match the session's audioInput (16000 Hz, 1 ch, \
         ?), which validation and format negotiation counted on"
    );
    assert!(matches!(err, SessionError::Input(_)));
    s.push(audio(4, 0.25)).unwrap();
    assert_eq!(s.phase().0, Phase::Running);
}

#[test]
fn a_host_node_that_declares_its_input_format_gets_nothing_else() {
    // Nothing declared and negotiation off: the engine refuses the audio before the host node sees it.
    let m = serde_json::json!({"version": 1, "nodes": [{"id": "asr", "type": "Asr"}]});
    let s = with_asr(m.clone(), false);
    let frame = AudioBuffer::new(Samples::F32(vec![0.0; 960]), 48000, 1).unwrap();
    let frame = Arc::new(RuntimeData::audio(frame));
    let _ = s.push(frame.clone());
    let (phase, failure) = s.phase();
    assert_eq!(phase, Phase::Failed);
    assert!(
        failure
            .unwrap()
            .to_string()
            .starts_with("node \"asr\" (Asr) failed: gets audio of 48000 Hz, 1 ch, f32 but accepts 16000 Hz, 1 ch (not 48000 Hz)"),
    );
    // With negotiation, guards (one rate, mono) convert it: the host node gets a task of 16 kHz audio.
    let s = with_asr(m, true);
    s.push(frame).unwrap();
    assert_eq!(s.phase().0, Phase::Running);
    assert_eq!(s.node_ids(), ["asr", "asr:mono", "asr:resample"]);
    // Metrics list the converters just before the node they convert for, and say which it is.
    let metrics = s.metrics();
    let rows: Vec<(&str, Option<&str>)> = metrics["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n["convertsFor"].as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("asr:mono", Some("asr")),
            ("asr:resample", Some("asr")),
            ("asr", None)
        ]
    );
}

#[test]
fn pushing_to_a_converter_names_the_node_to_push_to() {
    let m = json!({"version": 1, "negotiate": true, "nodes": [{"id": "vad", "type": "Vad"}]});
    let s = Session::create(&m, SessionOptions::default()).unwrap();
    assert_eq!(s.node_ids(), ["vad", "vad:mono"]);
    let err = s.push_to(audio(320, 0.0), Some(1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "push: to \"vad:mono\": not an entry node (it is a converter format negotiation put in front \
         of \"vad\": push to \"vad\"); entries: \"vad\" (Vad) accepts audio"
    );
    s.push_to(audio(320, 0.0), Some(0)).unwrap();
}
