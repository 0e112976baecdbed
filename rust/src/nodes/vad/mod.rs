//! `Vad`: voice activity detection on mono audio, with Silero VAD (the default; [`crate::silero`]) or
//! earshot. Emits speech start/end events and, in `gate` mode, only the audio that belongs to speech
//! (from `preRollMs` before each segment's start).
//!
//! Rooms: `silero` and `earshot` turn samples into events (each with its own segmenter); this file
//! has the schema, the sample-rate handling (8/16 kHz straight to Silero, anything else resampled to
//! 16 kHz inside) and the modes.

mod earshot;
mod silero;
#[cfg(test)]
mod tests;

use super::resample::{Resample, ResampleParams};
use super::schema::{NodeSchema, ParamKind, ParamSchema, Params};
use super::{
    expect_audio, schema_ports, single_input, Node, NodeError, NodeEvent, NodeType, Outputs,
};
use crate::data::{DataType, RuntimeData, Samples};
use crate::nodes::formats::{AudioAccepts, AudioOut};
use earshot::EarshotDetector;
use serde::Deserialize;
use silero::SileroDetector;
use std::collections::VecDeque;
use std::sync::Arc;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports: schema_ports,
    build: |p: &Params| Ok(Box::new(Vad::new(p.parse()?))),
};

/// Input rates the node takes (the internal resampler's range).
const RATES: std::ops::RangeInclusive<u32> = 1000..=384_000;

fn schema() -> NodeSchema {
    NodeSchema {
        type_name: "Vad".into(),
        description: "Voice activity detection on mono audio: Silero VAD v6 (the default; bundled, 32 ms windows, silero-vad's own segmenter) or earshot. 8 and 16 kHz go to Silero as they are; other rates (1000..384000 Hz) are resampled to 16 kHz inside. Emits {type:\"speech_start\", timeUs, probability} once a segment is certain to be kept and {type:\"speech_end\", startUs, endUs, durationUs, probability} (probability: the highest window probability so far at the start, the mean over the segment at the end); `gate` also emits the speech audio, `pass` every audio item.",
        params: vec![
            ParamSchema::optional("model", ParamKind::Enum { values: &["silero", "earshot"] }, "silero", "silero: Silero VAD v6 (MIT, in the library), segments exactly as silero-vad's get_speech_timestamps; earshot: a smaller detector (16 ms frames, about a third of the CPU) with a run-length segmenter (no negThreshold, no padding)."),
            ParamSchema::optional("mode", ParamKind::Enum { values: &["events", "gate", "pass"] }, "events", "events: only JSON events; gate: events + speech audio; pass: events + all audio."),
            ParamSchema::optional("threshold", ParamKind::Number { min: 0.0, max: 1.0 }, 0.5, "A window (Silero: 32 ms; earshot: 16 ms) with at least this speech probability is speech."),
            ParamSchema::optional("negThreshold", ParamKind::Number { min: 0.0, max: 1.0 }, 0.0, "Silero: in speech, a window below this probability is silence (hysteresis); 0 means silero-vad's default, max(threshold - 0.15, 0.01)."),
            ParamSchema::optional("minSpeechMs", ParamKind::Integer { min: 0, max: 10_000 }, 250, "Silero: segments no longer than this are dropped, and speech_start comes once a segment is certain to be longer; earshot: voice must last this long before speech starts."),
            ParamSchema::optional("minSilenceMs", ParamKind::Integer { min: 0, max: 10_000 }, 100, "Silence this long ends a segment (Silero: from its first window below negThreshold; silero-vad's default). Before Silero, earshot's default was 320."),
            ParamSchema::optional("speechPadMs", ParamKind::Integer { min: 0, max: 10_000 }, 30, "Silero: segments are padded by this on each side (two segments closer than twice this split the gap); with minSilenceMs below twice this, speech_end waits until the next start is known."),
            ParamSchema::optional("preRollMs", ParamKind::Integer { min: 0, max: 5_000 }, 200, "In gate mode, audio emitted from before each segment's start."),
        ],
        inputs: single_input(&[DataType::Audio]),
        outputs: vec![DataType::Json, DataType::Audio],
        events: &["speech_start", "speech_end"],
        joins_inputs: false,
        heavy: false,
        audio_in: AudioAccepts { same_layout: true, ..AudioAccepts::mono() },
        audio_out: AudioOut::Derived(|p, input| Ok(if p.0.get("mode").and_then(|m| m.as_str()) == Some("events") { None } else { input.copied() })),
    }
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct VadParams {
    model: String,
    mode: String,
    threshold: f32,
    neg_threshold: f32,
    min_speech_ms: u64,
    min_silence_ms: u64,
    speech_pad_ms: u64,
    pre_roll_ms: u64,
}

/// Audio time of a sample count at a rate, from a base time (saturating: timestamps come from the
/// caller and may be anywhere in the i64 range).
#[derive(Debug, Clone, Copy)]
struct Clock {
    base_us: i64,
    rate: u32,
}

impl Clock {
    fn new(base_us: i64, rate: u32) -> Self {
        Self { base_us, rate }
    }

    /// µs of sample `samples` (rounded down).
    fn at(&self, samples: u64) -> i64 {
        let offset = u128::from(samples) * 1_000_000 / u128::from(self.rate);
        self.base_us
            .saturating_add(i64::try_from(offset).unwrap_or(i64::MAX))
    }
}

enum Detector {
    /// Boxed: the model's state is ~1.4 KB.
    Silero(Box<SileroDetector>),
    Earshot(EarshotDetector),
}

impl Detector {
    fn push(&mut self, samples: &[f32], events: &mut Vec<NodeEvent>) {
        match self {
            Detector::Silero(d) => d.push(samples, events),
            Detector::Earshot(d) => d.push(samples, events),
        }
    }

    fn finish(&mut self, events: &mut Vec<NodeEvent>) {
        match self {
            Detector::Silero(d) => d.finish(events),
            Detector::Earshot(d) => d.finish(events),
        }
    }

    /// Between a reported speech start and its end.
    fn in_speech(&self) -> bool {
        match self {
            Detector::Silero(d) => d.in_speech(),
            Detector::Earshot(d) => d.in_speech(),
        }
    }

    /// The start of speech under way that is not reported yet.
    fn pending_start_us(&self) -> Option<i64> {
        match self {
            Detector::Silero(d) => d.pending_start_us(),
            Detector::Earshot(d) => d.pending_start_us(),
        }
    }
}

/// What the first item fixed.
struct Stream {
    rate: u32,
    detector: Detector,
    /// To 16 kHz, for rates the detector does not take.
    resampler: Option<Resample>,
    /// Audio time of the input.
    clock: Clock,
    frames_in: u64,
}

struct Vad {
    params: VadParams,
    stream: Option<Stream>,
    /// Samples on their way to the detector (reused).
    samples: Vec<f32>,
    /// Gate mode, outside speech: recent items and the audio time they end at.
    held: VecDeque<(Arc<RuntimeData>, i64)>,
}

impl Vad {
    fn new(params: VadParams) -> Self {
        Vad {
            params,
            stream: None,
            samples: Vec::new(),
            held: VecDeque::new(),
        }
    }

    fn start(&self, rate: u32, base_us: i64) -> Result<Stream, NodeError> {
        if !RATES.contains(&rate) {
            return Err(NodeError::BadInput(format!(
                "Vad takes {} to {} Hz, got {rate} Hz (add a Resample node before it)",
                RATES.start(),
                RATES.end()
            )));
        }
        let (detector, model_rate) = if self.params.model == "earshot" {
            (
                Detector::Earshot(EarshotDetector::new(&self.params, base_us)),
                16000,
            )
        } else {
            let model_rate = if rate == 8000 { 8000 } else { 16000 };
            let detector = SileroDetector::new(&self.params, model_rate, base_us)?;
            (Detector::Silero(Box::new(detector)), model_rate)
        };
        let resampler = (rate != model_rate).then(|| {
            Resample::new(ResampleParams {
                target_rate: model_rate,
                quality: "balanced".into(),
            })
        });
        Ok(Stream {
            rate,
            detector,
            resampler,
            clock: Clock::new(base_us, rate),
            frames_in: 0,
        })
    }

    /// Emits `events` (and in `pass`/`gate` mode the audio) for one input item, or at end of stream
    /// (`item` None); `was_in_speech` is the state before the item.
    fn emit(
        &mut self,
        item: Option<(Arc<RuntimeData>, i64)>,
        was_in_speech: bool,
        events: Vec<NodeEvent>,
        out: &mut Outputs,
    ) {
        match self.params.mode.as_str() {
            "pass" => {
                out.extend(item.map(|(item, _)| item));
                out.extend(events.iter().map(as_item));
            }
            "gate" => self.gate(item, was_in_speech, &events, out),
            _ => out.extend(events.iter().map(as_item)),
        }
        for event in events {
            out.event(event);
        }
    }

    /// Gate mode: audio from `preRollMs` before a segment's start to the item that ends it, each
    /// segment's audio after its `speech_start` and before its `speech_end`.
    fn gate(
        &mut self,
        mut item: Option<(Arc<RuntimeData>, i64)>,
        was_in_speech: bool,
        events: &[NodeEvent],
        out: &mut Outputs,
    ) {
        let pre_roll_us = self.params.pre_roll_ms as i64 * 1000;
        if was_in_speech {
            out.extend(item.take().map(|(item, _)| item));
        }
        for event in events {
            out.push(as_item(event));
            if let NodeEvent::SpeechStart { time_us, .. } = event {
                let from = time_us.saturating_sub(pre_roll_us);
                out.extend(
                    self.held
                        .drain(..)
                        .filter(|(_, end)| *end > from)
                        .map(|(item, _)| item),
                );
                out.extend(item.take().map(|(item, _)| item));
            }
        }
        let Some((item, now)) = item else { return };
        // Outside speech: hold the item until a start shows whether it belongs to speech. Kept: the
        // pre-roll before a start under way (or before now), at most a few seconds.
        self.held.push_back((item, now));
        let p = &self.params;
        let longest_us =
            (p.pre_roll_ms + p.speech_pad_ms + p.min_speech_ms + p.min_silence_ms + 1000) as i64
                * 1000;
        let pending = self
            .stream
            .as_ref()
            .and_then(|s| s.detector.pending_start_us());
        let keep_from = pending
            .unwrap_or(now)
            .min(now)
            .saturating_sub(pre_roll_us)
            .max(now.saturating_sub(longest_us));
        while self.held.front().is_some_and(|(_, end)| *end <= keep_from) {
            self.held.pop_front();
        }
    }
}

/// Samples for a detector: within [-1, 1] (resampling overshoots full scale; earshot asserts the
/// range).
fn append_clamped(samples: &Samples, to: &mut Vec<f32>) {
    match samples {
        Samples::F32(v) => to.extend(v.iter().map(|s| s.clamp(-1.0, 1.0))),
        // As `Samples::to_f32`, without its allocation.
        Samples::I16(v) => to.extend(v.iter().map(|&s| f32::from(s) / 32768.0)),
        other => to.extend(other.to_f32()),
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
        let stream = match &mut self.stream {
            Some(stream) if stream.rate != audio.sample_rate => {
                return Err(NodeError::BadInput(format!(
                    "sample rate changed mid-stream from {} Hz to {} Hz",
                    stream.rate, audio.sample_rate
                )));
            }
            Some(stream) => stream,
            None => {
                let base_us = input.attributes.timestamp_us.unwrap_or(0);
                let stream = self.start(audio.sample_rate, base_us)?;
                self.stream.insert(stream)
            }
        };
        self.samples.clear();
        if let Some(resampler) = stream.resampler.as_mut() {
            let mut converted = Outputs::default();
            resampler.push(&input, &mut converted)?;
            for item in converted.into_items() {
                if let Ok(a) = item.as_audio() {
                    append_clamped(&a.samples, &mut self.samples);
                }
            }
        } else {
            append_clamped(&audio.samples, &mut self.samples);
        }
        let was_in_speech = stream.detector.in_speech();
        let mut events = Vec::new();
        stream.detector.push(&self.samples, &mut events);
        stream.frames_in += audio.num_frames() as u64;
        let now = stream.clock.at(stream.frames_in);
        self.emit(Some((input, now)), was_in_speech, events, out);
        Ok(())
    }

    fn flush(&mut self, out: &mut Outputs) -> Result<(), NodeError> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(());
        };
        let was_in_speech = stream.detector.in_speech();
        let mut events = Vec::new();
        if let Some(resampler) = stream.resampler.as_mut() {
            let mut tail = Outputs::default();
            resampler.finish(&mut tail)?;
            self.samples.clear();
            for item in tail.into_items() {
                if let Ok(a) = item.as_audio() {
                    append_clamped(&a.samples, &mut self.samples);
                }
            }
            stream.detector.push(&self.samples, &mut events);
        }
        stream.detector.finish(&mut events);
        self.emit(None, was_in_speech, events, out);
        self.held.clear();
        Ok(())
    }

    fn reset(&mut self) {
        *self = Vad::new(self.params.clone());
    }
}

/// A speech event as the JSON item the node emits (the same JSON the session's event log shows).
fn as_item(event: &NodeEvent) -> Arc<RuntimeData> {
    Arc::new(RuntimeData::json(event.to_json()))
}
