//! `TurnDetector` tests: scripted speech events over a silent clock (exact times), and the real
//! scenario recordings through a `Vad` (examples/data/turns/, made by tools/make_turn_scenarios.sh).

use crate::data::RuntimeData;
use crate::nodes::testing::*;
use serde_json::{json, Value};
use std::sync::Arc;

/// A script: audio advances the clock (`Ms`), events are the `Vad`'s.
enum Step {
    Ms(usize),
    Start(i64),
    End(i64, i64),
}
use Step::*;

/// Runs a script through a TurnDetector in 10 ms items; returns the JSON it emitted.
fn script(params: Value, steps: &[Step]) -> Vec<Value> {
    let mut items = Vec::new();
    for step in steps {
        match *step {
            Ms(ms) => {
                for _ in 0..ms / 10 {
                    items.push(audio(vec![0.0; 160], 16000, 1));
                }
            }
            Start(t) => items.push(Arc::new(RuntimeData::json(
                json!({"type": "speech_start", "timeUs": t * 1000}),
            ))),
            End(s, e) => items.push(Arc::new(RuntimeData::json(json!({
                "type": "speech_end", "startUs": s * 1000, "endUs": e * 1000, "durationUs": (e - s) * 1000
            })))),
        }
    }
    let out = run(build("TurnDetector", params).as_mut(), items);
    out.iter().filter_map(|d| d.as_json().cloned()).collect()
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

fn ms(v: &Value) -> i64 {
    v.as_i64().unwrap() / 1000
}

#[test]
fn a_short_pause_stays_inside_the_turn_and_a_long_one_ends_it() {
    // Speech 100–900 ms, a 400 ms pause, speech 1300–2000 ms; 1 s of silence; speech 3000–3500 ms.
    // Like a Vad, the script reports each speech_start 250 ms after the speech began.
    let events = script(
        json!({}),
        &[
            Ms(350),
            Start(100),
            Ms(870),
            End(100, 900),
            Ms(330),
            Start(1300),
            Ms(1100),
            End(1300, 2000),
            Ms(500),
            Ms(100),
            Start(3000),
            Ms(800),
            End(3000, 3500),
            Ms(1000),
        ],
    );
    let ends = of_type(&events, "turn_end");
    assert_eq!(ends.len(), 2, "{events:#?}");
    let first = ends[0];
    assert_eq!((ms(&first["startUs"]), ms(&first["endUs"])), (100, 2000));
    assert_eq!(ms(&first["speechUs"]), 800 + 700);
    assert_eq!(first["segments"], 2);
    assert_eq!(first["reason"], "silence");
    assert_eq!(first["cue"], "fixed");
    assert_eq!(ms(&first["silenceUs"]), 500);
    // Decided when the clock reached end + 500 ms + the Vad's 250 ms reporting delay (speech that
    // began before end + 500 ms would have been reported by then); 10 ms items: exactly.
    assert_eq!(ms(&first["decidedUs"]), 2750);
    assert_eq!(ms(&ends[1]["decidedUs"]), 4250);
    let starts = of_type(&events, "turn_start");
    assert_eq!(starts.len(), 2);
    assert_eq!(ms(&starts[1]["timeUs"]), 3000);
    // The Vad's events pass through, in order, before the turn events they cause.
    assert_eq!(events[0]["type"], "speech_start");
    assert_eq!(events[1]["type"], "turn_start");
    assert_eq!(of_type(&events, "speech_end").len(), 3);
}

#[test]
fn speech_reported_before_the_decision_keeps_the_turn_open() {
    // The pause (900–1300 ms) is shorter than silenceMs, but the Vad reports the new speech only at
    // 1550 ms, after 900 + 500 ms: the turn must not have ended in between.
    let events = script(
        json!({}),
        &[
            Ms(350),
            Start(100),
            Ms(870),
            End(100, 900),
            Ms(330),
            Start(1300),
            Ms(1000),
        ],
    );
    assert!(of_type(&events, "turn_end")
        .iter()
        .all(|e| e["reason"] == "end_of_stream"));
    assert_eq!(of_type(&events, "turn_start").len(), 1);
}

#[test]
fn the_silence_is_counted_from_the_end_of_speech_not_from_the_late_speech_end_event() {
    // The Vad reports the end 620 ms after the voice stops; with silenceMs 200 (+ its 260 ms delay)
    // the turn ends as soon as that report arrives.
    let events = script(
        json!({"silenceMs": 200}),
        &[Ms(260), Start(0), Ms(1040), End(0, 680), Ms(500)],
    );
    let end = of_type(&events, "turn_end")[0];
    assert_eq!(ms(&end["decidedUs"]), 1300);
    assert_eq!(ms(&end["endUs"]), 680);
}

#[test]
fn speaking_progress_reports_the_duration_so_far_with_the_probability() {
    let mut items = vec![audio(vec![0.0; 4000], 16000, 1)]; // 250 ms
    items.push(Arc::new(RuntimeData::json(
        json!({"type": "speech_start", "timeUs": 0, "probability": 0.9}),
    )));
    for _ in 0..10 {
        items.push(audio(vec![0.0; 160], 16000, 1));
    }
    let out = run(
        build("TurnDetector", json!({"progressMs": 20})).as_mut(),
        items,
    );
    let events: Vec<Value> = out.iter().filter_map(|d| d.as_json().cloned()).collect();
    let speaking = of_type(&events, "speaking");
    let durations: Vec<i64> = speaking.iter().map(|e| ms(&e["durationUs"])).collect();
    // One at the start (250 ms of speech so far), then every 20 ms of audio.
    assert_eq!(durations, vec![250, 270, 290, 310, 330, 350]);
    assert!(speaking.iter().all(|e| e["probability"] == 0.9));
    // Only turn events are reported to the event log (speaking is too frequent for it).
    let kinds: Vec<&str> = out.events().iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, vec!["turn_start", "turn_end"]);
}

#[test]
fn a_turn_at_max_length_ends_and_the_speech_goes_on_in_a_new_turn() {
    let events = script(
        json!({"maxTurnMs": 1000}),
        &[Ms(250), Start(0), Ms(1500), End(0, 1700), Ms(700)],
    );
    let ends = of_type(&events, "turn_end");
    assert_eq!(ends.len(), 2, "{events:#?}");
    assert_eq!(ends[0]["reason"], "max_length");
    assert_eq!((ms(&ends[0]["startUs"]), ms(&ends[0]["endUs"])), (0, 1000));
    assert_eq!(ms(&ends[0]["speechUs"]), 1000);
    assert_eq!(ends[1]["reason"], "silence");
    assert_eq!(ms(&ends[1]["decidedUs"]), 1700 + 500 + 250);
    assert_eq!(
        (ms(&ends[1]["startUs"]), ms(&ends[1]["endUs"])),
        (1000, 1700)
    );
    assert_eq!(ms(&ends[1]["speechUs"]), 700);
}

#[test]
fn end_of_stream_ends_the_open_turn() {
    let events = script(
        json!({}),
        &[Ms(300), Start(0), Ms(300), End(0, 550), Ms(100)],
    );
    let ends = of_type(&events, "turn_end");
    assert_eq!(ends.len(), 1);
    assert_eq!(ends[0]["reason"], "end_of_stream");
    assert_eq!(ms(&ends[0]["endUs"]), 550);
}

#[test]
fn reset_forgets_the_turn_and_the_clock() {
    let mut node = build("TurnDetector", json!({}));
    let mut out = Outputs::default();
    node.process(0, audio(vec![0.0; 8000], 16000, 1), &mut out)
        .unwrap();
    let start = json!({"type": "speech_start", "timeUs": 100_000});
    node.process(0, Arc::new(RuntimeData::json(start)), &mut out)
        .unwrap();
    node.reset();
    out.clear();
    node.flush(&mut out).unwrap();
    assert!(out.is_empty(), "no turn after a reset");
}

#[test]
fn timestamps_and_rates_keep_the_vad_s_clock() {
    // Items stamped from 10 s, at 48 kHz: the clock starts at the first timestamp like the Vad's.
    let mut first = (*audio(vec![0.0; 48000], 48000, 1)).clone();
    first.attributes.timestamp_us = Some(10_000_000);
    let items = vec![
        Arc::new(first),
        Arc::new(RuntimeData::json(
            json!({"type": "speech_start", "timeUs": 10_750_000}),
        )),
        Arc::new(RuntimeData::json(json!({
            "type": "speech_end", "startUs": 10_750_000, "endUs": 10_900_000, "durationUs": 150_000
        }))),
        audio(vec![0.0; 48000], 48000, 1),
    ];
    let out = run(build("TurnDetector", json!({})).as_mut(), items);
    let events: Vec<Value> = out.iter().filter_map(|d| d.as_json().cloned()).collect();
    let end = of_type(&events, "turn_end")[0];
    assert_eq!(
        ms(&end["decidedUs"]),
        12_000,
        "decided at the end of the second item"
    );
}

#[test]
fn rejects_text_and_ignores_other_json() {
    let mut node = build("TurnDetector", json!({}));
    let mut out = Outputs::default();
    let err = node
        .process(0, Arc::new(RuntimeData::text("hi".to_string())), &mut out)
        .unwrap_err();
    assert!(err
        .to_string()
        .contains("expected audio or json input, got text"));
    node.process(
        0,
        Arc::new(RuntimeData::json(json!({"type": "level"}))),
        &mut out,
    )
    .unwrap();
    assert!(out.is_empty());
}

/// A scenario recording through Vad (pass) → TurnDetector, in 20 ms items.
fn scenario(file: &str, params: Value) -> Vec<Value> {
    let path = format!(
        "{}/../examples/data/turns/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut reader = hound::WavReader::open(&path).expect("scenario WAV");
    let samples: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32768.0)
        .collect();
    let mut vad = build("Vad", json!({"mode": "pass"}));
    let mut turns = build("TurnDetector", params);
    let mut events = Vec::new();
    let mut feed = |items: Vec<Arc<RuntimeData>>, turns: &mut Box<dyn crate::nodes::Node>| {
        let mut out = Outputs::default();
        for item in items {
            turns.process(0, item, &mut out).unwrap();
        }
        events.extend(out.iter().filter_map(|d| d.as_json().cloned()));
    };
    for chunk in samples.chunks(320) {
        let mut out = Outputs::default();
        vad.process(0, audio(chunk.to_vec(), 16000, 1), &mut out)
            .unwrap();
        feed(out.to_vec(), &mut turns);
    }
    let mut out = Outputs::default();
    vad.flush(&mut out).unwrap();
    feed(out.to_vec(), &mut turns);
    let mut out = Outputs::default();
    turns.flush(&mut out).unwrap();
    events.extend(out.iter().filter_map(|d| d.as_json().cloned()));
    events
}

#[test]
fn the_pause_scenario_has_two_turns_fixed_or_adaptive() {
    for params in [json!({}), json!({"adaptive": true})] {
        let events = scenario("pause.wav", params.clone());
        let ends = of_type(&events, "turn_end");
        let spans: Vec<(i64, i64, &str)> = ends
            .iter()
            .map(|e| {
                (
                    ms(&e["startUs"]),
                    ms(&e["endUs"]),
                    e["cue"].as_str().unwrap(),
                )
            })
            .collect();
        eprintln!("{params}: {spans:?}");
        assert_eq!(ends.len(), 2, "{params}: {spans:?}");
        // "I would like to book a table, … for two people tomorrow." then "And can I bring my dog?"
        assert!(spans[0].0 >= 450 && spans[0].0 <= 600, "{spans:?}");
        assert!(spans[0].1 >= 3600 && spans[0].1 <= 3800, "{spans:?}");
        assert!(spans[1].0 >= 5150 && spans[1].0 <= 5300, "{spans:?}");
    }
}

#[test]
fn adaptive_silence_keeps_a_fragment_open_and_ends_a_falling_statement_sooner() {
    // With a short fixed silence (350 ms) the pause after "I would like to book a table," splits
    // the sentence; adaptive waits longSilenceMs after that fragment (its pitch rises at the comma)
    // and only shortSilenceMs after "…for two people tomorrow." (its pitch falls).
    let fixed = scenario("pause.wav", json!({"silenceMs": 350}));
    assert_eq!(of_type(&fixed, "turn_end").len(), 3);
    let adaptive = scenario("pause.wav", json!({"silenceMs": 350, "adaptive": true}));
    let ends = of_type(&adaptive, "turn_end");
    assert_eq!(ends.len(), 2, "{ends:#?}");
    assert_eq!(ends[0]["cue"], "falling_pitch");
    assert_eq!(ms(&ends[0]["silenceUs"]), 300);
    let with_default = scenario("pause.wav", json!({}));
    let default_end = of_type(&with_default, "turn_end")[0];
    assert_eq!(
        ms(&default_end["decidedUs"]) - ms(&ends[0]["decidedUs"]),
        200,
        "the statement's end is decided 200 ms sooner than with the default 500 ms"
    );
}

#[test]
fn extreme_samples_and_timestamps_do_not_panic() {
    for start in [i64::MAX - 1000, i64::MIN + 1000, 0] {
        let mut item = (*audio(vec![3.4e38; 16000], 16000, 1)).clone();
        item.attributes.timestamp_us = Some(start);
        let items = vec![
            Arc::new(item),
            Arc::new(RuntimeData::json(
                json!({"type": "speech_start", "timeUs": start.saturating_add(100)}),
            )),
            Arc::new(RuntimeData::json(json!({
                "type": "speech_end", "startUs": start.saturating_add(100),
                "endUs": start.saturating_add(900), "durationUs": 800
            }))),
            audio(vec![-3.4e38; 16000], 16000, 1),
        ];
        let out = run(
            build("TurnDetector", json!({"adaptive": true})).as_mut(),
            items,
        );
        assert!(out.iter().all(|d| d.as_json().is_some()));
    }
}
