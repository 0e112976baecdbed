//! `StreamHealth`: watches an audio stream and emits `{type:"alert", kind, startUs, endUs, detail}` when
//! a fault begins and `{type:"alert_end", …}` when it is over (as JSON items and as node events), for the
//! RemoteMedia SDK's taxonomy:
//!
//! - content, judged on `windowMs` analysis windows of the audio itself: `silence` (RMS under
//!   `silenceDb` for `silenceMs`), `low_volume` (the loudest window of the last second under
//!   `lowVolumeDb`, but not silent, for `lowVolumeMs`), `clipping` (`clipWindows` windows with samples at
//!   `clipLevel` within a second), `channel_imbalance` (loudest minus quietest channel RMS at least
//!   `imbalanceDb` for `imbalanceMs`, judged while the loudest is not silent), `dropouts` (`dropoutCount`
//!   cuts of 5–500 ms of digital silence into loud audio within `dropoutWindowMs`);
//! - timing, judged from the items' timestamps (no clock is read: a session may run faster or slower
//!   than real time): `drift` (timestamps, averaged over the last second, ahead of or behind the audio
//!   they carry by `driftMs`), `cadence` (the spread of the intervals between items, relative to their
//!   duration, at least `cadenceCv` over the last 50 items), `freeze` (the next item starts `freezeMs`
//!   or more after the previous one ended: the stream stopped arriving for that long). A freeze is
//!   known only when the stream resumes, so its `alert` and `alert_end` come together at that item; a
//!   stream that stops for good is ended by `close()`, which is not a fault. Items without a timestamp
//!   are not judged for timing.
//!
//! Hysteresis: every fault has an entering and a leaving threshold (6 dB apart for levels, 3 dB for
//! low volume, half for drift and 0.6x for cadence) and a release time (`releaseMs`) the leaving
//! condition must last before `alert_end`; in between nothing changes, so no alert flaps.

mod content;
mod detect;
#[cfg(test)]
mod tests;
mod timing;

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params};
use super::{
    expect_audio, schema_ports, single_input, Node, NodeError, NodeEvent, NodeType, Outputs,
};
use crate::data::{DataType, RuntimeData};
use crate::nodes::formats::{same_when, AudioAccepts, AudioOut};
use detect::{Change, Cond, Dropouts, Hysteresis};
use serde::Deserialize;
use std::collections::VecDeque;
use std::sync::Arc;
use timing::Timing;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports: schema_ports,
    build: |p: &Params| {
        let params: HealthParams = p.parse()?;
        if let Some(bad) = params.kinds.iter().find(|k| !KINDS.contains(&k.as_str())) {
            return Err(format!(
                "kinds: unknown fault \"{bad}\" (known: {})",
                KINDS.join(", ")
            ));
        }
        Ok(Box::new(StreamHealth::new(params)))
    },
};

/// Every kind of alert, in the order checks run.
pub const KINDS: &[&str] = &[
    "silence",
    "low_volume",
    "clipping",
    "channel_imbalance",
    "dropouts",
    "drift",
    "cadence",
    "freeze",
];

fn schema() -> NodeSchema {
    let num = |min: f64, max: f64| ParamKind::Number { min, max };
    let int = |min: i64, max: i64| ParamKind::Integer { min, max };
    NodeSchema {
        type_name: "StreamHealth".into(),
        description: "Stream-health monitor: emits {type:\"alert\", kind, startUs, endUs, detail} when a fault begins and {type:\"alert_end\", kind, startUs, endUs, detail} when it is over (also as node events). Content faults on the audio: silence, low_volume, clipping, channel_imbalance, dropouts; timing faults from the items' timestamps (no clock is read): drift, cadence, freeze (judged when the stream resumes). Thresholds have hysteresis and a release time, so alerts do not flap.",
        params: vec![
            ParamSchema::optional("kinds", ParamKind::StringList, serde_json::json!(KINDS), "Faults to watch (silence, low_volume, clipping, channel_imbalance, dropouts, drift, cadence, freeze)."),
            ParamSchema::optional("windowMs", num(5.0, 1000.0), 20.0, "Analysis window for the content faults."),
            ParamSchema::optional("releaseMs", num(0.0, 60000.0), 300.0, "How long a fault's leaving condition must last before alert_end."),
            ParamSchema::optional("silenceDb", num(-200.0, 0.0), -60.0, "silence: window RMS below this (dBFS); it ends above silenceDb + 6."),
            ParamSchema::optional("silenceMs", num(0.0, 600000.0), 1000.0, "silence: how long before the alert."),
            ParamSchema::optional("lowVolumeDb", num(-200.0, 0.0), -30.0, "low_volume: the loudest window of the last second below this (dBFS) but above silenceDb; it ends at lowVolumeDb + 3."),
            ParamSchema::optional("lowVolumeMs", num(0.0, 600000.0), 2000.0, "low_volume: how long before the alert."),
            ParamSchema::optional("clipLevel", num(0.0, 1.0), 0.99, "clipping: a sample at or above this magnitude is clipped (a window with two is a clipped window)."),
            ParamSchema::optional("clipWindows", int(1, 1000), 3, "clipping: clipped windows within a second to raise; it ends after a second without one (plus releaseMs)."),
            ParamSchema::optional("imbalanceDb", num(0.0, 200.0), 20.0, "channel_imbalance: loudest minus quietest channel RMS at least this (dB); it ends below imbalanceDb - 6."),
            ParamSchema::optional("imbalanceMs", num(0.0, 600000.0), 1000.0, "channel_imbalance: how long before the alert."),
            ParamSchema::optional("dropoutCount", int(1, 1000), 3, "dropouts: cuts of 5–500 ms of digital silence into loud audio needed within dropoutWindowMs."),
            ParamSchema::optional("dropoutWindowMs", num(10.0, 600000.0), 5000.0, "dropouts: the sliding window; the alert ends when it holds fewer."),
            ParamSchema::optional("driftMs", num(1.0, 600000.0), 50.0, "drift: timestamps ahead of or behind the audio by this much (mean over the last second); it ends under half."),
            ParamSchema::optional("cadenceCv", num(0.01, 100.0), 0.25, "cadence: the standard deviation of the item intervals' deviations over the mean item duration (last 50 items) at least this; it ends under 0.6x."),
            ParamSchema::optional("freezeMs", num(1.0, 600000.0), 500.0, "freeze: an item that starts this long after the previous one ended."),
            ParamSchema::optional("passAudio", ParamKind::Boolean, false, "Also emit the audio itself (before the alerts it raises)."),
        ],
        inputs: single_input(&[DataType::Audio]),
        outputs: vec![DataType::Json, DataType::Audio],
        events: &["alert", "alert_end"],
        joins_inputs: false,
        heavy: false,
        audio_in: AudioAccepts::ANY,
        audio_out: AudioOut::Derived(|p, input| same_when("passAudio", p, input)),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HealthParams {
    kinds: Vec<String>,
    window_ms: f64,
    release_ms: f64,
    silence_db: f64,
    silence_ms: f64,
    low_volume_db: f64,
    low_volume_ms: f64,
    clip_level: f32,
    clip_windows: usize,
    imbalance_db: f64,
    imbalance_ms: f64,
    dropout_count: usize,
    dropout_window_ms: f64,
    drift_ms: f64,
    cadence_cv: f64,
    freeze_ms: f64,
    pass_audio: bool,
}

fn us(ms: f64) -> i64 {
    (ms * 1000.0).round() as i64
}

fn db(power: f64) -> f64 {
    if power <= 1e-20 {
        -200.0
    } else {
        10.0 * power.log10()
    }
}

/// One analysis window being filled.
#[derive(Default)]
struct Window {
    start: i64,
    frames: usize,
    power: Vec<f64>,
    clipped: usize,
}

struct StreamHealth {
    p: HealthParams,
    on: [bool; 8],
    detectors: [Hysteresis; 7],
    dropouts: Dropouts,
    window: Window,
    /// RMS (dB) of recent windows, for low volume; times of recent clipped windows.
    levels: VecDeque<(i64, f64)>,
    clips: VecDeque<i64>,
    timing: Timing,
    /// Audio time of the end of the audio seen so far.
    now: i64,
    counted_frames: u64,
    last_detail: [String; 8],
}

/// Indices into `detectors` (`dropouts` and `freeze` have their own logic).
const SILENCE: usize = 0;
const LOW: usize = 1;
const CLIP: usize = 2;
const IMBALANCE: usize = 3;
const DRIFT: usize = 5;
const CADENCE: usize = 6;

impl StreamHealth {
    fn new(p: HealthParams) -> Self {
        let on = std::array::from_fn(|i| p.kinds.iter().any(|k| k == KINDS[i]));
        let release = us(p.release_ms);
        let detectors = [
            Hysteresis::new(us(p.silence_ms), release),
            Hysteresis::new(us(p.low_volume_ms), release),
            Hysteresis::new(0, release),
            Hysteresis::new(us(p.imbalance_ms), release),
            Hysteresis::new(0, 0), // dropouts: unused slot
            Hysteresis::new(0, release),
            Hysteresis::new(0, release),
        ];
        let dropouts = Dropouts::new(p.dropout_count, us(p.dropout_window_ms));
        StreamHealth {
            p,
            on,
            detectors,
            dropouts,
            window: Window::default(),
            levels: VecDeque::new(),
            clips: VecDeque::new(),
            timing: Timing::default(),
            now: 0,
            counted_frames: 0,
            last_detail: Default::default(),
        }
    }

    fn emit(&mut self, out: &mut Outputs, kind: usize, change: Change, detail: String) {
        let kind_name = KINDS[kind].to_string();
        let event = match change {
            Change::Raise { start, at } => NodeEvent::Alert {
                kind: kind_name,
                start_us: start,
                end_us: at,
                detail,
            },
            Change::Clear { start, end } => NodeEvent::AlertEnd {
                kind: kind_name,
                start_us: start,
                end_us: end,
                detail,
            },
        };
        out.push(Arc::new(RuntimeData::json(event.to_json())));
        out.event(event);
    }

    fn judge(
        &mut self,
        out: &mut Outputs,
        kind: usize,
        cond: Cond,
        t0: i64,
        t1: i64,
        detail: String,
    ) {
        if !self.on[kind] {
            return;
        }
        if let Some(change) = self.detectors[kind].update(cond, t0, t1) {
            let detail = match change {
                Change::Raise { .. } => detail.clone(),
                Change::Clear { .. } => format!("recovered: {detail}"),
            };
            self.emit(out, kind, change, detail);
        }
        self.last_detail[kind] = detail;
    }
}

impl Node for StreamHealth {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        let audio = expect_audio(&input)?;
        let rate = audio.sample_rate;
        let channels = audio.channels as usize;
        let frames = audio.num_frames();
        let frame_us = |i: usize| (i as i128 * 1_000_000 / rate as i128) as i64;
        let counted = (self.counted_frames as i128 * 1_000_000 / rate as i128) as i64;
        let ts = input.attributes.timestamp_us;
        let start = ts.unwrap_or(counted);
        self.counted_frames = self.counted_frames.saturating_add(frames as u64);
        if self.p.pass_audio {
            out.push(input.clone());
        }
        if let Some(ts) = ts {
            self.timing(out, ts, frame_us(frames));
        }
        let samples = audio.samples.to_f32();
        let window_frames = ((rate as f64 * self.p.window_ms / 1000.0).round() as usize).max(1);
        for (i, frame) in samples.chunks_exact(channels.max(1)).enumerate() {
            let t = start.saturating_add(frame_us(i));
            if self.window.frames == 0 {
                self.window.start = t;
                self.window.power.clear();
                self.window.power.resize(channels, 0.0);
            }
            let mut peak = 0f32;
            let mut power = 0f64;
            for (c, &x) in frame.iter().enumerate() {
                let x = if x.is_finite() { x } else { 0.0 };
                let p = (x as f64) * (x as f64);
                if let Some(acc) = self.window.power.get_mut(c) {
                    *acc += p;
                }
                power += p;
                peak = peak.max(x.abs());
                if x.abs() >= self.p.clip_level {
                    self.window.clipped += 1;
                }
            }
            self.window.frames += 1;
            if let Some((s, e)) = self
                .dropouts
                .frame(peak, power / channels.max(1) as f64, t, rate)
            {
                self.dropout(out, s, e);
            }
            if self.window.frames >= window_frames {
                self.window_done(out, t + frame_us(1));
            }
        }
        self.now = start.saturating_add(frame_us(frames));
        Ok(())
    }

    fn flush(&mut self, out: &mut Outputs) -> Result<(), NodeError> {
        let end = self.now;
        for kind in [SILENCE, LOW, CLIP, IMBALANCE, DRIFT, CADENCE] {
            if let Some(change) = self.detectors[kind].finish(end) {
                let detail = format!("end of stream: {}", self.last_detail[kind]);
                self.emit(out, kind, change, detail);
            }
        }
        if let Some(start) = self.dropouts.active.take() {
            self.emit(out, 4, Change::Clear { start, end }, "end of stream".into());
        }
        Ok(())
    }

    fn reset(&mut self) {
        *self = StreamHealth::new(std::mem::replace(&mut self.p, HealthParams::empty()));
    }
}

impl HealthParams {
    fn empty() -> Self {
        HealthParams {
            kinds: Vec::new(),
            window_ms: 20.0,
            release_ms: 0.0,
            silence_db: 0.0,
            silence_ms: 0.0,
            low_volume_db: 0.0,
            low_volume_ms: 0.0,
            clip_level: 1.0,
            clip_windows: 1,
            imbalance_db: 0.0,
            imbalance_ms: 0.0,
            dropout_count: 1,
            dropout_window_ms: 0.0,
            drift_ms: 1.0,
            cadence_cv: 1.0,
            freeze_ms: 1.0,
            pass_audio: false,
        }
    }
}
