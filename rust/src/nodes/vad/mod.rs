//! `Vad`: voice activity detection with earshot on 8/16/32/48 kHz mono audio. Emits speech start/end
//! events and, in `gate` mode, only the audio that belongs to speech (with a pre-roll so onsets are kept).

use super::resample::{Resample, ResampleParams};
use super::schema::{NodeSchema, ParamKind, ParamSchema, Params};
use super::{
    expect_audio, schema_ports, single_input, Node, NodeError, NodeEvent, NodeType, Outputs,
};
use crate::data::{DataType, RuntimeData, Samples};
use serde::Deserialize;
use std::collections::VecDeque;
use std::sync::Arc;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports: schema_ports,
    build: |p: &Params| Ok(Box::new(Vad::new(p.parse()?))),
};

const FRAME: usize = 256; // earshot: 16 ms at 16 kHz
const FRAME_US: i64 = 16_000;

fn schema() -> NodeSchema {
    NodeSchema {
        type_name: "Vad".into(),
        description: "Voice activity detection (earshot) on mono 8/16/32/48 kHz audio. Emits {type:\"speech_start\", timeUs} and {type:\"speech_end\", startUs, endUs, durationUs}; `gate` also emits the speech audio, `pass` every audio item.",
        params: vec![
            ParamSchema::optional("mode", ParamKind::Enum { values: &["events", "gate", "pass"] }, "events", "events: only JSON events; gate: events + speech audio; pass: events + all audio."),
            ParamSchema::optional("threshold", ParamKind::Number { min: 0.0, max: 1.0 }, 0.5, "Score above which a 16 ms frame counts as voice."),
            ParamSchema::optional("minSpeechMs", ParamKind::Integer { min: 0, max: 10_000 }, 250, "Voice must last this long before speech starts."),
            ParamSchema::optional("minSilenceMs", ParamKind::Integer { min: 0, max: 10_000 }, 320, "Silence must last this long before speech ends."),
            ParamSchema::optional("preRollMs", ParamKind::Integer { min: 0, max: 5_000 }, 200, "In gate mode, audio kept from before the detected start."),
        ],
        inputs: single_input(&[DataType::Audio]),
        outputs: vec![DataType::Json, DataType::Audio],
        events: &["speech_start", "speech_end"],
        joins_inputs: false,
        heavy: false,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VadParams {
    mode: String,
    threshold: f32,
    min_speech_ms: i64,
    min_silence_ms: i64,
    pre_roll_ms: i64,
}

struct Vad {
    params: VadParams,
    detector: Box<earshot::Detector>,
    resampler: Option<Resample>,
    rate: Option<u32>,
    pending: Vec<f32>,
    frames_done: i64,
    in_speech: bool,
    /// Start of the current run of voiced frames (µs), while not yet in speech.
    voiced_since: Option<i64>,
    /// Start of the current run of silent frames (µs), while in speech.
    silent_since: Option<i64>,
    speech_start: i64,
    base_us: i64,
    pre_roll: VecDeque<Arc<RuntimeData>>,
}

impl Vad {
    fn new(params: VadParams) -> Self {
        Vad {
            params,
            detector: earshot::Detector::default_boxed(),
            resampler: None,
            rate: None,
            pending: Vec::new(),
            frames_done: 0,
            in_speech: false,
            voiced_since: None,
            silent_since: None,
            speech_start: 0,
            base_us: 0,
            pre_roll: VecDeque::new(),
        }
    }

    /// Runs the detector over whole frames; appends speech start/end events.
    fn detect(&mut self, events: &mut Vec<NodeEvent>) {
        let mut offset = 0;
        while self.pending.len() - offset >= FRAME {
            let frame = &self.pending[offset..offset + FRAME];
            offset += FRAME;
            let score = self.detector.predict_f32(frame);
            // Saturating: timestamps come from the caller and may be anywhere in the i64 range.
            let t = self.frame_time(self.frames_done);
            self.frames_done += 1;
            let voiced = score >= self.params.threshold;
            if !self.in_speech {
                if voiced {
                    let since = *self.voiced_since.get_or_insert(t);
                    if t.saturating_add(FRAME_US).saturating_sub(since)
                        >= self.params.min_speech_ms * 1000
                    {
                        self.in_speech = true;
                        self.speech_start = since;
                        self.silent_since = None;
                        events.push(NodeEvent::SpeechStart { time_us: since });
                    }
                } else {
                    self.voiced_since = None;
                }
            } else if voiced {
                self.silent_since = None;
            } else {
                let since = *self.silent_since.get_or_insert(t);
                if t.saturating_add(FRAME_US).saturating_sub(since)
                    >= self.params.min_silence_ms * 1000
                {
                    self.end_speech(since, events);
                }
            }
        }
        self.pending.drain(..offset);
    }

    /// Start time (µs) of detector frame `index`.
    fn frame_time(&self, index: i64) -> i64 {
        self.base_us.saturating_add(index.saturating_mul(FRAME_US))
    }

    fn end_speech(&mut self, end: i64, events: &mut Vec<NodeEvent>) {
        self.in_speech = false;
        self.voiced_since = None;
        self.silent_since = None;
        events.push(NodeEvent::SpeechEnd {
            start_us: self.speech_start,
            end_us: end,
            duration_us: end.saturating_sub(self.speech_start),
        });
    }
}

impl Node for Vad {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        let audio = expect_audio(&input)?;
        if audio.channels != 1 {
            return Err(NodeError::BadInput(format!(
                "Vad needs mono audio, got {} channels (add a ChannelMix node before it)",
                audio.channels
            )));
        }
        match self.rate {
            None => {
                if ![8000, 16000, 32000, 48000].contains(&audio.sample_rate) {
                    return Err(NodeError::BadInput(format!(
                        "Vad supports 8000, 16000, 32000 or 48000 Hz, got {} Hz (add a Resample node before it)",
                        audio.sample_rate
                    )));
                }
                self.rate = Some(audio.sample_rate);
                self.base_us = input.attributes.timestamp_us.unwrap_or(0);
                if audio.sample_rate != 16000 {
                    self.resampler = Some(Resample::new(ResampleParams {
                        target_rate: 16000,
                        quality: "balanced".into(),
                    }));
                }
            }
            Some(rate) if rate != audio.sample_rate => {
                return Err(NodeError::BadInput(format!(
                    "sample rate changed mid-stream from {rate} Hz to {} Hz",
                    audio.sample_rate
                )));
            }
            Some(_) => {}
        }
        let was_in_speech = self.in_speech;
        let mut events = Vec::new();
        if let Some(resampler) = self.resampler.as_mut() {
            let mut converted = Outputs::default();
            resampler.push(&input, &mut converted)?;
            // Clamped like 16 kHz input: resampling overshoots full scale, and earshot expects [-1, 1].
            for item in converted.into_items() {
                if let Ok(a) = item.as_audio() {
                    self.pending
                        .extend(a.samples.to_f32().iter().map(|s| s.clamp(-1.0, 1.0)));
                }
            }
        } else {
            match &audio.samples {
                Samples::F32(v) => self.pending.extend(v.iter().map(|s| s.clamp(-1.0, 1.0))),
                other => self.pending.extend(other.to_f32()),
            }
        }
        self.detect(&mut events);
        match self.params.mode.as_str() {
            "pass" => {
                out.push(input.clone());
                out.extend(events.iter().map(as_item));
            }
            "gate" => {
                let started = !was_in_speech && self.in_speech;
                let is_start = |e: &&NodeEvent| matches!(e, NodeEvent::SpeechStart { .. });
                out.extend(events.iter().filter(is_start).map(as_item));
                if started {
                    // Emit the pre-roll that precedes the detected start.
                    out.extend(self.pre_roll.drain(..));
                }
                if self.in_speech || was_in_speech {
                    out.push(input.clone());
                } else {
                    let pre_roll_us = self.params.pre_roll_ms * 1000;
                    self.pre_roll.push_back(input.clone());
                    let mut held: i64 = self.pre_roll.iter().map(|i| duration_us(i)).sum();
                    while held > pre_roll_us {
                        if let Some(old) = self.pre_roll.pop_front() {
                            held -= duration_us(&old);
                        }
                    }
                }
                out.extend(events.iter().filter(|e| !is_start(e)).map(as_item));
            }
            _ => out.extend(events.iter().map(as_item)),
        }
        for event in events {
            out.event(event);
        }
        Ok(())
    }

    fn flush(&mut self, out: &mut Outputs) -> Result<(), NodeError> {
        let mut events = Vec::new();
        if let Some(resampler) = self.resampler.as_mut() {
            let mut tail = Outputs::default();
            resampler.finish(&mut tail)?;
            for item in tail.into_items() {
                if let Ok(a) = item.as_audio() {
                    self.pending
                        .extend(a.samples.to_f32().iter().map(|s| s.clamp(-1.0, 1.0)));
                }
            }
            self.detect(&mut events);
        }
        if self.in_speech {
            let end = self.frame_time(self.frames_done);
            self.end_speech(end, &mut events);
        }
        out.extend(events.iter().map(as_item));
        for event in events {
            out.event(event);
        }
        Ok(())
    }

    fn reset(&mut self) {
        let params = std::mem::replace(
            &mut self.params,
            VadParams {
                mode: String::new(),
                threshold: 0.0,
                min_speech_ms: 0,
                min_silence_ms: 0,
                pre_roll_ms: 0,
            },
        );
        *self = Vad::new(params);
    }
}

/// A speech event as the JSON item the node emits (the same JSON the session's event log shows).
fn as_item(event: &NodeEvent) -> Arc<RuntimeData> {
    Arc::new(RuntimeData::json(event.to_json()))
}

fn duration_us(item: &RuntimeData) -> i64 {
    item.as_audio()
        .map_or(0, |a| (a.duration_secs() * 1e6) as i64)
}

#[cfg(test)]
mod tests {
    use crate::data::RuntimeData;
    use crate::nodes::testing::*;
    use crate::nodes::NodeEvent;
    use serde_json::json;

    fn events(out: &[std::sync::Arc<RuntimeData>]) -> Vec<serde_json::Value> {
        out.iter().filter_map(|d| d.as_json().cloned()).collect()
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

    #[test]
    fn silence_and_noise_have_no_speech() {
        for signal in [vec![0.0; 48000], noise(48000, 0.1)] {
            let items = signal
                .chunks(320)
                .map(|c| audio(c.to_vec(), 16000, 1))
                .collect();
            let out = run(build("Vad", json!({})).as_mut(), items);
            assert!(events(&out).is_empty(), "{:?}", events(&out));
        }
    }

    /// The example speech file, downmixed to mono f32 at its 48 kHz rate.
    fn speech_48k_mono() -> Vec<f32> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/speech.wav");
        let mut reader = hound::WavReader::open(path).expect("examples/data/speech.wav");
        let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
        samples
            .chunks(2)
            .map(|f| (f[0] as f32 + f[1] as f32) / 65536.0)
            .collect()
    }

    #[test]
    fn finds_the_sentences_of_a_real_speech_file_and_nothing_in_the_pause() {
        for mode in ["events", "gate"] {
            let items = speech_48k_mono()
                .chunks(960)
                .map(|c| audio(c.to_vec(), 48000, 1))
                .collect();
            let out = run(build("Vad", json!({"mode": mode})).as_mut(), items);
            let ends: Vec<(f64, f64)> = events(&out)
                .iter()
                .filter(|e| e["type"] == "speech_end")
                .map(|e| {
                    (
                        e["startUs"].as_f64().unwrap() / 1e6,
                        e["endUs"].as_f64().unwrap() / 1e6,
                    )
                })
                .collect();
            assert!(!ends.is_empty());
            let declared = (crate::nodes::find("Vad").unwrap().schema)().events;
            assert!(out.events().iter().all(|e| declared.contains(&e.kind())));
            if mode == "events" {
                let reported: Vec<_> = out.events().iter().map(NodeEvent::to_json).collect();
                assert_eq!(reported, events(&out), "each event is reported and emitted");
            }
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
            if mode == "gate" {
                let gated: usize = out
                    .iter()
                    .filter_map(|d| crate::nodes::expect_audio(d).ok())
                    .map(|a| a.num_frames())
                    .sum();
                let speech: f64 = ends.iter().map(|(s, e)| e - s).sum();
                let gated_secs = gated as f64 / 48000.0;
                assert!(
                    gated_secs >= speech && gated_secs < speech + 2.5,
                    "gated {gated_secs} s for {speech} s of speech"
                );
            }
        }
    }

    #[test]
    fn rejects_stereo_and_odd_rates_with_a_hint() {
        let mut node = build("Vad", json!({}));
        let mut out = Outputs::default();
        let err = node
            .process(0, audio(vec![0.0; 4], 16000, 2), &mut out)
            .unwrap_err();
        assert!(err.to_string().contains("needs mono audio, got 2 channels"));
        let err = node
            .process(0, audio(vec![0.0; 4], 22050, 1), &mut out)
            .unwrap_err();
        assert!(err
            .to_string()
            .contains("got 22050 Hz (add a Resample node"));
    }

    #[test]
    fn full_scale_square_waves_at_48k_reach_the_detector_within_its_range() {
        // Resampling a full-scale square wave overshoots ±1 (Gibbs); earshot asserts [-1, 1] in debug.
        let square: Vec<f32> = (0..48000)
            .map(|i| if (i / 48) % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let items = square
            .chunks(960)
            .map(|c| audio(c.to_vec(), 48000, 1))
            .collect();
        run(build("Vad", json!({"mode": "pass"})).as_mut(), items);
    }

    #[test]
    fn timestamps_near_the_ends_of_i64_do_not_overflow() {
        for start in [i64::MAX - 1000, i64::MIN + 1000] {
            let mut item = (*audio(speech_48k_mono()[..48000].to_vec(), 48000, 1)).clone();
            item.attributes.timestamp_us = Some(start);
            let out = run(
                build("Vad", json!({"minSpeechMs": 0, "minSilenceMs": 0})).as_mut(),
                vec![std::sync::Arc::new(item)],
            );
            for e in events(&out) {
                assert!(e.to_string().len() < 200, "{e}");
            }
        }
    }
}
