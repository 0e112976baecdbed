//! Format negotiation: every converter it can insert, where it puts them, and the mismatches it
//! reports instead when it is off.

use super::*;
use crate::pipeline::manifest::{external_types, plan};
use serde_json::json;

fn spec(rate: u32, channels: u32, format: SampleFormat) -> AudioSpec {
    AudioSpec::new(rate, channels, format)
}

/// An "asr" host node that accepts `format` (one input "in", audio only) behind `front` nodes.
fn host(format: Value) -> Vec<crate::nodes::schema::NodeSchema> {
    external_types(&json!([
        {"type": "Asr", "inputs": [{"name": "in", "accepts": ["audio"]}], "outputs": ["text"],
         "inputFormat": format}
    ]))
    .unwrap()
}

/// Plans and negotiates as a session does: `enabled` overrides the manifest's `negotiate`.
fn run(
    manifest: Value,
    externals: &[crate::nodes::schema::NodeSchema],
    input: AudioSpec,
    enabled: impl Into<Option<bool>>,
) -> Result<(Plan, Negotiated), Vec<Issue>> {
    let mut p = plan(&manifest, externals)?;
    let enabled = enabled.into().unwrap_or(p.negotiate);
    let n = negotiate(&mut p, &input, enabled)?;
    Ok((p, n))
}

fn ok(r: Result<(Plan, Negotiated), Vec<Issue>>) -> (Plan, Negotiated) {
    r.unwrap_or_else(|issues| {
        panic!(
            "{:?}",
            issues.iter().map(|i| i.to_string()).collect::<Vec<_>>()
        )
    })
}

fn messages(r: Result<(Plan, Negotiated), Vec<Issue>>) -> Vec<String> {
    match r {
        Ok((_, n)) => panic!("expected issues, got {:?}", summary(&n)),
        Err(issues) => issues.iter().map(|i| i.to_string()).collect(),
    }
}

fn summary(n: &Negotiated) -> Vec<(String, &'static str, Value)> {
    n.inserted
        .iter()
        .map(|i| (i.id.clone(), i.type_name, i.params.clone()))
        .collect()
}

fn edges(p: &Plan) -> Vec<(String, String, usize)> {
    let mut out: Vec<_> = p
        .edges
        .iter()
        .map(|e| (p.nodes[e.from].id.clone(), p.nodes[e.to].id.clone(), e.port))
        .collect();
    out.sort();
    out
}

#[test]
fn stereo_into_a_vad_gets_a_channel_mix_in_front_of_the_entry() {
    let m = json!({"version": 1, "nodes": [{"id": "vad", "type": "Vad"}]});
    let input = spec(48000, 2, SampleFormat::F32);
    let (p, n) = run(m.clone(), &[], input, true).unwrap();
    assert_eq!(
        summary(&n),
        vec![("vad:mono".into(), "ChannelMix", json!({"mode": "mono"}))]
    );
    let ins = &n.inserted[0];
    assert_eq!((ins.from.as_deref(), ins.to.as_str()), (None, "vad"));
    assert_eq!(ins.before, input);
    assert_eq!(ins.after, spec(48000, 1, SampleFormat::F32));
    assert_eq!(
        ins.reason,
        "\"vad\" (Vad) port \"in\" accepts 1 ch; the session input is 48000 Hz, 2 ch, f32"
    );
    // The converter receives the session's input on the Vad's behalf.
    assert_eq!(p.nodes[1].converts_for, Some(0));
    assert_eq!(edges(&p), vec![("vad:mono".into(), "vad".into(), 0)]);
    assert_eq!(p.order, vec![1, 0]);
    assert_eq!(n.formats[0].input, Some(spec(48000, 1, SampleFormat::F32)));

    // Off: the same graph is refused, naming the node and both formats.
    assert_eq!(
        messages(run(m, &[], input, false)),
        vec!["nodes[0] \"vad\": format mismatch: the session input is 48000 Hz, 2 ch, f32 but \"vad\" (Vad) port \"in\" \
         accepts 1 ch (not 2 ch); add ChannelMix before it, or set \"negotiate\": true to insert it"]
    );
}

#[test]
fn a_node_that_wants_16k_mono_f32_gets_mono_then_resample_then_format_on_its_connection() {
    let m = json!({"version": 1, "negotiate": true, "nodes": [
        {"id": "gain", "type": "Gain"},
        {"id": "asr", "type": "Asr"}
    ], "connections": [{"from": "gain", "to": "asr", "capacity": 3, "policy": "dropOldest"}]});
    let types = host(json!({"sampleRate": 16000, "channels": 1, "sampleFormat": "f32"}));
    let (p, n) = ok(run(
        m.clone(),
        &types,
        spec(44100, 2, SampleFormat::I16),
        None,
    ));
    assert_eq!(
        summary(&n),
        vec![
            ("asr:mono".into(), "ChannelMix", json!({"mode": "mono"})),
            (
                "asr:resample".into(),
                "Resample",
                json!({"targetRate": 16000})
            ),
            ("asr:format".into(), "AudioFormat", json!({"format": "f32"})),
        ]
    );
    assert!(n
        .inserted
        .iter()
        .all(|i| i.from.as_deref() == Some("gain") && i.to == "asr"));
    assert_eq!(n.inserted[1].before, spec(44100, 1, SampleFormat::I16));
    assert_eq!(n.inserted[2].after, spec(16000, 1, SampleFormat::F32));
    assert_eq!(
        edges(&p),
        vec![
            ("asr:format".into(), "asr".into(), 0),
            ("asr:mono".into(), "asr:resample".into(), 0),
            ("asr:resample".into(), "asr:format".into(), 0),
            ("gain".into(), "asr:mono".into(), 0),
        ]
    );
    // The connection's bound and policy stay on the hop into the node; the rest block.
    let last = p.edges.iter().find(|e| p.nodes[e.to].id == "asr").unwrap();
    assert_eq!((last.capacity, last.policy), (3, EdgePolicy::DropOldest));
    let first = &p.edges[0];
    assert_eq!(
        (p.nodes[first.to].id.as_str(), first.policy),
        ("asr:mono", EdgePolicy::Block)
    );
    let pos = |id: &str| p.order.iter().position(|&i| p.nodes[i].id == id).unwrap();
    assert!(pos("gain") < pos("asr:mono") && pos("asr:format") < pos("asr"));

    // The same manifest with negotiation off (the session's option overrides the manifest's): every
    // field that does not match is named.
    assert_eq!(
        messages(run(m, &types, spec(44100, 2, SampleFormat::I16), false)),
        vec![
            "connections[0]: format mismatch: \"gain\" (Gain) emits 44100 Hz, 2 ch, i16 but \"asr\" \
             (Asr) port \"in\" accepts 16000 Hz, 1 ch, f32 (not 44100 Hz, 2 ch, i16); add ChannelMix \
             → Resample → AudioFormat before it, or set \"negotiate\": true to insert it"
        ]
    );
}

#[test]
fn each_converter_alone_and_nothing_when_the_format_already_fits() {
    let m = json!({"version": 1, "negotiate": true, "nodes": [{"id": "asr", "type": "Asr"}]});
    let cases = [
        (
            json!({"sampleRate": 16000}),
            spec(48000, 1, SampleFormat::F32),
            vec![("Resample", json!({"targetRate": 16000}))],
        ),
        (
            json!({"sampleFormat": "i16"}),
            spec(16000, 1, SampleFormat::F32),
            vec![("AudioFormat", json!({"format": "i16"}))],
        ),
        (
            json!({"channels": 2}),
            spec(16000, 1, SampleFormat::F32),
            vec![("ChannelMix", json!({"mode": "upmix", "channels": 2}))],
        ),
        (
            json!({"channels": 1}),
            spec(16000, 6, SampleFormat::F32),
            vec![("ChannelMix", json!({"mode": "mono"}))],
        ),
        // 4 → 2 channels: down to mono, then up (the only way ChannelMix has)
        (
            json!({"channels": 2}),
            spec(16000, 4, SampleFormat::F32),
            vec![
                ("ChannelMix", json!({"mode": "mono"})),
                ("ChannelMix", json!({"mode": "upmix", "channels": 2})),
            ],
        ),
        // several accepted rates: the lowest at or above the stream's, else the highest
        (
            json!({"sampleRate": [8000, 16000, 24000]}),
            spec(11025, 1, SampleFormat::F32),
            vec![("Resample", json!({"targetRate": 16000}))],
        ),
        (
            json!({"sampleRate": [8000, 16000]}),
            spec(48000, 1, SampleFormat::F32),
            vec![("Resample", json!({"targetRate": 16000}))],
        ),
        (
            json!({"sampleFormat": ["i16", "i32"]}),
            spec(16000, 1, SampleFormat::F32),
            vec![("AudioFormat", json!({"format": "i16"}))],
        ),
        (
            json!({"sampleRate": 16000, "channels": 1, "sampleFormat": "f32"}),
            spec(16000, 1, SampleFormat::F32),
            vec![],
        ),
    ];
    for (format, input, want) in cases {
        let (_, n) = ok(run(m.clone(), &host(format.clone()), input, None));
        let got: Vec<_> = n
            .inserted
            .iter()
            .map(|i| (i.type_name, i.params.clone()))
            .collect();
        assert_eq!(got, want, "{format} from {input}");
        let last = n.inserted.last().map_or(input, |i| i.after);
        assert!(
            AudioAccepts::from_json(&format, "f").unwrap().admits(&last),
            "{format}: {last}"
        );
    }
}

#[test]
fn unknown_fields_get_a_converter_when_on_and_no_issue_when_off() {
    // No audioInput: the rate and channels are unknown until audio arrives.
    let m = json!({"version": 1, "nodes": [{"id": "asr", "type": "Asr"}]});
    let types = host(json!({"sampleRate": 16000, "channels": 1}));
    let (_, n) = ok(run(m.clone(), &types, AudioSpec::default(), true));
    assert_eq!(
        summary(&n),
        vec![
            ("asr:mono".into(), "ChannelMix", json!({"mode": "mono"})),
            (
                "asr:resample".into(),
                "Resample",
                json!({"targetRate": 16000})
            ),
        ]
    );
    assert_eq!(n.inserted[0].before.to_string(), "? Hz, ? ch, ?");
    let (p, n) = ok(run(m, &types, AudioSpec::default(), None));
    assert!(n.inserted.is_empty());
    assert_eq!(p.nodes.len(), 1);
}

#[test]
fn formats_propagate_through_converters_and_sources() {
    let wav = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/stream_health/one_channel.wav"
    );
    // A reader's file (8 kHz stereo i16) → Resample → Vad: the Vad gets stereo, which it refuses.
    let m = json!({"version": 1, "nodes": [
        {"id": "file", "type": "WavReader", "params": {"path": wav}},
        {"id": "res", "type": "Resample", "params": {"targetRate": 16000}},
        {"id": "fmt", "type": "AudioFormat", "params": {"format": "f32"}},
        {"id": "vad", "type": "Vad", "params": {"mode": "pass"}},
        {"id": "out", "type": "WavWriter", "params": {"path": "/dev/null"}}
    ], "connections": [
        {"from": "file", "to": "res"}, {"from": "res", "to": "fmt"}, {"from": "fmt", "to": "vad"},
        {"from": "vad", "to": "out"}
    ]});
    assert_eq!(
        messages(run(m.clone(), &[], AudioSpec::default(), None)),
        vec![
            "connections[2]: format mismatch: \"fmt\" (AudioFormat) emits 16000 Hz, 2 ch, f32 but \
             \"vad\" (Vad) port \"in\" accepts 1 ch (not 2 ch); add ChannelMix before it, or set \
             \"negotiate\": true to insert it"
        ]
    );
    let (_, n) = ok(run(m, &[], AudioSpec::default(), true));
    assert_eq!(
        summary(&n),
        vec![("vad:mono".into(), "ChannelMix", json!({"mode": "mono"}))]
    );
    let f = |id: &str| n.formats.iter().find(|f| f.id == id).unwrap().clone();
    assert_eq!(f("file").output, Some(spec(8000, 2, SampleFormat::I16)));
    assert_eq!(f("res").output, Some(spec(16000, 2, SampleFormat::I16)));
    assert_eq!(f("vad").input, Some(spec(16000, 1, SampleFormat::F32)));
    assert_eq!(f("out").input, Some(spec(16000, 1, SampleFormat::F32)));
}

#[test]
fn mixer_ports_are_brought_to_the_first_ports_rate_and_channels() {
    let m = json!({"version": 1, "nodes": [
        {"id": "a", "type": "Resample", "params": {"targetRate": 16000}},
        {"id": "b", "type": "Gain"},
        {"id": "mix", "type": "Mix"}
    ], "connections": [
        {"from": "a", "to": "mix", "port": "a"}, {"from": "b", "to": "mix", "port": "b"}
    ]});
    let input = spec(48000, 2, SampleFormat::F32);
    assert_eq!(
        messages(run(m.clone(), &[], input, false)),
        vec![
            "connections[1]: format mismatch: \"b\" (Gain) emits 48000 Hz, 2 ch, f32 but \"mix\" \
             (Mix) port \"b\" accepts 16000 Hz, 2 ch (not 48000 Hz); add Resample before it, or set \
             \"negotiate\": true to insert it (it takes one stream: every input in the format of the \
             first that says)"
        ]
    );
    let (p, n) = ok(run(m, &[], input, true));
    assert_eq!(
        summary(&n),
        vec![(
            "mix:b:resample".into(),
            "Resample",
            json!({"targetRate": 16000})
        )]
    );
    assert_eq!(
        n.formats.iter().find(|f| f.id == "mix").unwrap().output,
        Some(spec(16000, 2, SampleFormat::F32))
    );
    assert!(edges(&p).contains(&("mix:b:resample".into(), "mix".into(), 1)));
}

#[test]
fn what_cannot_be_converted_is_an_issue_either_way() {
    // Upmixing stereo, and selecting a channel the stream lacks: found before anything starts.
    let m = json!({"version": 1, "nodes": [
        {"id": "up", "type": "ChannelMix", "params": {"mode": "upmix", "channels": 4}},
        {"id": "pick", "type": "ChannelMix", "params": {"mode": "select", "channel": 3}}
    ]});
    assert_eq!(
        messages(run(m, &[], spec(16000, 2, SampleFormat::F32), true)),
        vec![
            "nodes[0] \"up\": \"up\" (ChannelMix): upmix expects mono input, gets 2 channels (16000 Hz, 2 ch, f32)",
            "nodes[1] \"pick\": \"pick\" (ChannelMix): select: channel 3 does not exist in its input (2 channels: 16000 Hz, 2 ch, f32)",
        ]
    );
    // A connection that carries JSON as well as audio cannot take a converter.
    let types = external_types(&json!([
        {"type": "Asr", "inputs": [{"name": "in", "accepts": ["audio", "json"]}], "outputs": ["text"],
         "inputFormat": {"sampleRate": 8000}}
    ]))
    .unwrap();
    let m = json!({"version": 1, "nodes": [
        {"id": "vad", "type": "Vad", "params": {"mode": "pass"}},
        {"id": "asr", "type": "Asr"}
    ], "connections": [{"from": "vad", "to": "asr"}]});
    let got = messages(run(
        m.clone(),
        &types,
        spec(16000, 1, SampleFormat::F32),
        true,
    ));
    assert_eq!(got.len(), 1);
    assert!(
        got[0].starts_with("connections[0]: \"vad\" (Vad) emits 16000 Hz, 1 ch, f32 but \"asr\" (Asr) port \"in\" accepts 8000 Hz (not 16000 Hz); converters cannot be inserted on this connection because it also carries json"),
        "{}",
        got[0]
    );
    // Unknown, no guard can go there either: nothing is inserted and nothing is wrong yet (the engine
    // checks the audio when it arrives); negotiation never makes a valid manifest invalid.
    let (_, n) = ok(run(m, &types, AudioSpec::default(), true));
    assert_eq!(
        summary(&n),
        vec![("vad:mono".into(), "ChannelMix", json!({"mode": "mono"}))]
    );
}

#[test]
fn a_manifest_input_format_narrows_the_type_and_a_contradiction_is_an_issue() {
    let m = json!({"version": 1, "nodes": [
        {"id": "vad", "type": "Vad", "inputFormat": {"sampleRate": 16000}},
        {"id": "vad2", "type": "Vad", "inputFormat": {"channels": 2}},
        {"id": "w", "type": "Gain", "inputFormat": {"sampleRate": "fast"}}
    ]});
    let issues: Vec<String> = plan(&m, &[])
        .err()
        .unwrap()
        .iter()
        .map(|i| i.to_string())
        .collect();
    assert_eq!(
        issues,
        vec![
            "nodes[1] \"vad2\".inputFormat: channels 2: Vad accepts only 1",
            "nodes[2] \"w\".inputFormat.sampleRate: expected a sample rate between 1000 and 384000 Hz (or a list of them), got \"fast\"",
        ]
    );
    let m = json!({"version": 1, "negotiate": true, "nodes": [
        {"id": "vad", "type": "Vad", "inputFormat": {"sampleRate": 16000}}
    ]});
    let (_, n) = ok(run(m, &[], spec(48000, 2, SampleFormat::I16), None));
    assert_eq!(
        summary(&n),
        vec![
            ("vad:mono".into(), "ChannelMix", json!({"mode": "mono"})),
            (
                "vad:resample".into(),
                "Resample",
                json!({"targetRate": 16000})
            ),
        ]
    );
}

#[test]
fn converter_ids_never_collide_with_the_users() {
    let m = json!({"version": 1, "negotiate": true, "nodes": [
        {"id": "vad", "type": "Vad"},
        {"id": "vad:mono", "type": "Gain"}
    ], "connections": [{"from": "vad:mono", "to": "vad"}]});
    let (_, n) = ok(run(m, &[], spec(16000, 2, SampleFormat::F32), None));
    assert_eq!(
        summary(&n),
        vec![("vad:mono2".into(), "ChannelMix", json!({"mode": "mono"}))]
    );
}

#[test]
fn an_unknown_field_gets_a_guard_only_where_it_leaves_fitting_audio_untouched() {
    // Lists, and a channel count above one: a converter would change audio the node accepts (16 kHz
    // into [8000, 16000] resampled to 8 kHz, stereo into [2] downmixed and copied back): nothing is
    // inserted; the engine checks the audio when it arrives.
    let m = json!({"version": 1, "negotiate": true, "nodes": [{"id": "asr", "type": "Asr"}]});
    for format in [
        json!({"sampleRate": [8000, 16000]}),
        json!({"channels": [1, 2]}),
        json!({"channels": 2}),
        json!({"sampleFormat": ["i16", "f32"]}),
    ] {
        let (p, n) = ok(run(
            m.clone(),
            &host(format.clone()),
            AudioSpec::default(),
            None,
        ));
        assert!(n.inserted.is_empty(), "{format}: {:?}", summary(&n));
        assert_eq!(p.nodes.len(), 1);
    }
    // Known, the same lists convert what does not fit, to the nearest accepted value.
    let (_, n) = ok(run(
        m,
        &host(json!({"sampleRate": [8000, 16000, 48000]})),
        spec(44100, 1, SampleFormat::F32),
        None,
    ));
    assert_eq!(
        summary(&n),
        vec![(
            "asr:resample".into(),
            "Resample",
            json!({"targetRate": 48000})
        )]
    );
}

#[test]
fn a_pass_through_carries_only_what_reaches_it() {
    // Asr takes every type; a PassThrough fed by a Gain only ever carries audio to it.
    let types =
        external_types(&json!([{"type": "Asr", "inputFormat": {"sampleRate": 16000}}])).unwrap();
    let m = json!({"version": 1, "negotiate": true, "nodes": [
        {"id": "g", "type": "Gain"}, {"id": "p", "type": "PassThrough"}, {"id": "asr", "type": "Asr"}
    ], "connections": [{"from": "g", "to": "p"}, {"from": "p", "to": "asr"}]});
    let (_, n) = ok(run(m, &types, spec(48000, 1, SampleFormat::F32), None));
    assert_eq!(
        summary(&n),
        vec![(
            "asr:resample".into(),
            "Resample",
            json!({"targetRate": 16000})
        )]
    );
    // As an entry it passes on whatever is pushed: JSON too, so no converter can go after it.
    let m = json!({"version": 1, "negotiate": true, "nodes": [
        {"id": "p", "type": "PassThrough"}, {"id": "asr", "type": "Asr"}
    ], "connections": [{"from": "p", "to": "asr"}]});
    let got = messages(run(m, &types, spec(48000, 1, SampleFormat::F32), None));
    assert!(
        got[0].contains("it also carries text/video/json/binary/tensor"),
        "{got:?}"
    );
    // A Filter carries what it keeps of what reaches it: a Vad's audio without its events.
    let m = json!({"version": 1, "negotiate": true, "nodes": [
        {"id": "vad", "type": "Vad", "params": {"mode": "pass"}},
        {"id": "f", "type": "Filter", "params": {"types": ["audio"]}},
        {"id": "asr", "type": "Asr"}
    ], "connections": [{"from": "vad", "to": "f"}, {"from": "f", "to": "asr"}]});
    let (_, n) = ok(run(m, &types, spec(48000, 1, SampleFormat::F32), None));
    assert_eq!(
        summary(&n),
        vec![(
            "asr:resample".into(),
            "Resample",
            json!({"targetRate": 16000})
        )]
    );
}

#[test]
fn unequal_branches_into_one_writer_are_one_stream() {
    // Two sinks of different formats into one WavWriter (what `remotemedia run --output` builds):
    // found before anything runs, or converted to the first branch's format.
    let m = json!({"version": 1, "nodes": [
        {"id": "hi", "type": "Gain"},
        {"id": "lo", "type": "Resample", "params": {"targetRate": 16000}},
        {"id": "fmt", "type": "AudioFormat", "params": {"format": "i16"}},
        {"id": "out", "type": "WavWriter", "params": {"path": "/dev/null"}}
    ], "connections": [
        {"from": "hi", "to": "out"}, {"from": "lo", "to": "fmt"}, {"from": "fmt", "to": "out"}
    ]});
    let input = spec(48000, 1, SampleFormat::F32);
    let got = messages(run(m.clone(), &[], input, false));
    assert_eq!(got.len(), 1);
    assert!(
        got[0].starts_with(
            "connections[2]: format mismatch: \"fmt\" (AudioFormat) emits 16000 Hz, 1 ch, i16 but \
             \"out\" (WavWriter) port \"in\" accepts 48000 Hz, 1 ch, f32 (not 16000 Hz, i16)"
        ),
        "{}",
        got[0]
    );
    assert!(
        got[0].ends_with("(it takes one stream: every input in the format of the first that says)")
    );
    let (_, n) = ok(run(m, &[], input, true));
    assert_eq!(
        summary(&n),
        vec![
            (
                "out:fmt:resample".into(),
                "Resample",
                json!({"targetRate": 48000})
            ),
            (
                "out:fmt:format".into(),
                "AudioFormat",
                json!({"format": "f32"})
            ),
        ]
    );
}

#[test]
fn one_stream_compares_each_field_with_the_first_input_that_knows_it() {
    // The first branch knows only its rate; the second and third differ in channels.
    let types = external_types(&json!([
        {"type": "Rate16", "inputs": [{"name": "in", "accepts": ["audio"]}], "outputs": ["audio"],
         "outputFormat": {"sampleRate": 16000}},
        {"type": "Mono16", "inputs": [{"name": "in", "accepts": ["audio"]}], "outputs": ["audio"],
         "outputFormat": {"sampleRate": 16000, "channels": 1, "sampleFormat": "i16"}},
        {"type": "Stereo16", "inputs": [{"name": "in", "accepts": ["audio"]}], "outputs": ["audio"],
         "outputFormat": {"sampleRate": 16000, "channels": 2, "sampleFormat": "i16"}}
    ]))
    .unwrap();
    let m = json!({"version": 1, "nodes": [
        {"id": "src", "type": "Gain"},
        {"id": "r", "type": "Rate16"}, {"id": "m", "type": "Mono16"}, {"id": "s", "type": "Stereo16"},
        {"id": "w", "type": "WavWriter", "params": {"path": "/dev/null"}}
    ], "connections": [
        {"from": "src", "to": "r"}, {"from": "src", "to": "m"}, {"from": "src", "to": "s"},
        {"from": "r", "to": "w"}, {"from": "m", "to": "w"}, {"from": "s", "to": "w"}
    ]});
    let got = messages(run(m.clone(), &types, AudioSpec::default(), false));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("connections[5]: format mismatch: \"s\" (Stereo16) emits 16000 Hz, 2 ch, i16 but \"w\" (WavWriter) port \"in\" accepts 16000 Hz, 1 ch, i16 (not 2 ch)"), "{}", got[0]);
    let (_, n) = ok(run(m, &types, AudioSpec::default(), true));
    assert_eq!(
        summary(&n),
        vec![("w:s:mono".into(), "ChannelMix", json!({"mode": "mono"}))]
    );
}
