//! `TurnDetector`: the user's speech segments (a `Vad`'s `speech_start` / `speech_end`) become user
//! turns, decided in AUDIO time (the audio that passes through keeps the clock), so the same input always
//! gives the same turns. A turn ends after `silenceMs` of silence (adaptive: shorter after a falling pitch
//! or a long turn, longer after a short fragment; `pitch.rs`), or at `maxTurnMs`. While the user speaks it
//! reports `speaking` progress, which a barge-in policy reads to decide when speech over the bot counts.

mod pitch;
#[cfg(test)]
mod tests;

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params};
use super::{schema_ports, single_input, Node, NodeError, NodeEvent, NodeType, Outputs};
use crate::data::{DataType, Payload, RuntimeData};
use crate::nodes::formats::{AudioAccepts, AudioOut};
use pitch::PitchEnd;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::Arc;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports: schema_ports,
    build: |p: &Params| Ok(Box::new(TurnDetector::new(p.parse()?))),
};

/// The longest `Vad` reporting delay believed (its `minSpeechMs` goes up to 10 s; beyond 2 s a turn
/// would wait too long).
const MAX_CONFIRM_US: i64 = 2_000_000;
/// Audio kept for the pitch cue (the last second of a turn is analysed; the `Vad` reports a speech end
/// up to its `minSilenceMs` later, so keep a little more than both).
const HISTORY_US: i64 = 2_500_000;
/// Pitch is read over the last second of speech before a pause.
const PITCH_SPAN_US: i64 = 1_000_000;
/// Adaptive: a turn with this much speech is long (the user has said something substantial).
const LONG_TURN_US: i64 = 4_000_000;
/// Adaptive: a turn with less speech than this that does not fall in pitch is a fragment.
const SHORT_TURN_US: i64 = 2_000_000;

fn schema() -> NodeSchema {
    NodeSchema {
        type_name: "TurnDetector".into(),
        description: "User turns from a Vad's speech events, in audio time (feed it a Vad in `pass` mode: the audio keeps the clock). Emits the Vad's events unchanged, {type:\"turn_start\", timeUs}, {type:\"speaking\", startUs, durationUs, probability?} while the user speaks, and {type:\"turn_end\", startUs, endUs, durationUs, speechUs, segments, reason, silenceUs, cue, decidedUs}.",
        params: vec![
            ParamSchema::optional("silenceMs", ParamKind::Integer { min: 0, max: 30_000 }, 500, "Silence after the user's last speech (from its end) that ends the turn. Decided once the Vad would have reported speech inside it (it reports speech minSpeechMs late; the node measures that delay)."),
            ParamSchema::optional("adaptive", ParamKind::Boolean, false, "Adapt the silence to the turn: shortSilenceMs after a falling pitch or a long turn (4 s of speech), longSilenceMs after a short fragment (under 2 s, pitch not falling), silenceMs otherwise."),
            ParamSchema::optional("shortSilenceMs", ParamKind::Integer { min: 0, max: 30_000 }, 300, "adaptive: the silence after a falling pitch or a long turn."),
            ParamSchema::optional("longSilenceMs", ParamKind::Integer { min: 0, max: 30_000 }, 1200, "adaptive: the silence after a short fragment."),
            ParamSchema::optional("maxTurnMs", ParamKind::Integer { min: 100, max: 3_600_000 }, 30_000, "A turn this long ends even while the user speaks (a new one starts if they go on)."),
            ParamSchema::optional("progressMs", ParamKind::Integer { min: 0, max: 60_000 }, 0, "While the user speaks, a `speaking` event at most every this much audio (0: one per audio item)."),
        ],
        inputs: single_input(&[DataType::Audio, DataType::Json]),
        outputs: vec![DataType::Json],
        events: &["turn_start", "turn_end"],
        joins_inputs: false,
        heavy: false,
        audio_in: AudioAccepts::ANY,
        audio_out: AudioOut::None,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TurnParams {
    silence_ms: i64,
    adaptive: bool,
    short_silence_ms: i64,
    long_silence_ms: i64,
    max_turn_ms: i64,
    progress_ms: i64,
}

/// A speech segment in progress.
struct Segment {
    start_us: i64,
    probability: Option<f64>,
}

/// A turn in progress.
struct Turn {
    start_us: i64,
    speech_us: i64,
    segments: u32,
    /// End of the last finished segment.
    last_end_us: i64,
    /// While silent: when the turn ends, the silence applied and why.
    deadline: Option<(i64, i64, &'static str)>,
}

struct TurnDetector {
    params: TurnParams,
    /// Audio time of the first audio item (its timestamp, or 0), as the `Vad` counts it.
    base_us: Option<i64>,
    /// Frames counted at `rate` since `base_us` (folded into `base_us` when the rate changes).
    frames: i64,
    rate: u32,
    /// The end of everything seen so far, µs.
    now_us: i64,
    speaking: Option<Segment>,
    last_progress_us: i64,
    turn: Option<Turn>,
    /// How late the `Vad` reports speech (`speech_start` arrives at audio time `timeUs + confirm_us`):
    /// the longest delay seen. A turn's silence is over only once speech inside it would have been
    /// reported.
    confirm_us: i64,
    /// Recent mono audio (for the pitch cue) and the audio time just after its last sample.
    history: VecDeque<f32>,
    history_end_us: i64,
}

impl TurnDetector {
    fn new(params: TurnParams) -> Self {
        TurnDetector {
            params,
            base_us: None,
            frames: 0,
            rate: 0,
            now_us: 0,
            speaking: None,
            last_progress_us: 0,
            turn: None,
            confirm_us: 0,
            history: VecDeque::new(),
            history_end_us: 0,
        }
    }

    /// Advances the clock over one audio item; keeps its mono samples when the pitch cue needs them.
    fn advance(&mut self, input: &RuntimeData) -> Result<(), NodeError> {
        let Payload::Audio(audio) = &input.payload else {
            return Ok(());
        };
        let base = *self
            .base_us
            .get_or_insert(input.attributes.timestamp_us.unwrap_or(0));
        if self.rate != audio.sample_rate {
            // Fold the frames counted at the old rate into the base (the `Vad` refuses rate changes;
            // this node just keeps time).
            if self.rate != 0 {
                self.base_us = Some(base.saturating_add(frames_to_us(self.frames, self.rate)));
                self.frames = 0;
                self.history.clear();
            }
            self.rate = audio.sample_rate;
        }
        self.frames = self.frames.saturating_add(audio.num_frames() as i64);
        let end = self
            .base_us
            .unwrap_or(0)
            .saturating_add(frames_to_us(self.frames, self.rate));
        self.now_us = self.now_us.max(end);
        if self.params.adaptive {
            let samples = audio.samples.to_f32();
            let channels = audio.channels.max(1) as usize;
            self.history.extend(
                samples
                    .chunks(channels)
                    .map(|f| f.iter().sum::<f32>() / channels as f32),
            );
            let keep = (HISTORY_US * self.rate as i64 / 1_000_000) as usize;
            let excess = self.history.len().saturating_sub(keep);
            self.history.drain(..excess);
            self.history_end_us = end;
        }
        Ok(())
    }

    /// The turn ends once its deadline passed; a turn at `maxTurnMs` ends (and a new one starts if
    /// the user is still speaking); `speaking` progress is reported.
    fn check(&mut self, out: &mut Outputs) {
        let now = self.now_us;
        if let Some(turn) = &self.turn {
            if let Some((deadline, silence_us, cue)) = turn.deadline {
                // Decided once the Vad would have reported speech that began before the deadline.
                if self.speaking.is_none() && now >= deadline.saturating_add(self.confirm_us) {
                    self.end_turn("silence", silence_us, cue, out);
                }
            }
        }
        if let (Some(turn), Some(_)) = (&self.turn, &self.speaking) {
            if now.saturating_sub(turn.start_us) >= self.params.max_turn_ms * 1000 {
                let cue = if self.params.adaptive {
                    "default"
                } else {
                    "fixed"
                };
                if let (Some(segment), Some(turn)) = (&mut self.speaking, &mut self.turn) {
                    // The segment is split here: what follows belongs to the next turn.
                    turn.speech_us += now.saturating_sub(segment.start_us.max(turn.start_us));
                    turn.segments += 1;
                    turn.last_end_us = now;
                    segment.start_us = now;
                }
                self.end_turn("max_length", 0, cue, out);
                self.start_turn(now, out);
            }
        }
        if let Some(segment) = &self.speaking {
            let every = self.params.progress_ms * 1000;
            if now > self.last_progress_us && now.saturating_sub(self.last_progress_us) >= every {
                self.last_progress_us = now;
                let mut event = json!({
                    "type": "speaking",
                    "startUs": segment.start_us,
                    "durationUs": now.saturating_sub(segment.start_us),
                });
                if let Some(p) = segment.probability {
                    event["probability"] = json!(p);
                }
                out.push(Arc::new(RuntimeData::json(event)));
            }
        }
    }

    fn start_turn(&mut self, time_us: i64, out: &mut Outputs) {
        self.turn = Some(Turn {
            start_us: time_us,
            speech_us: 0,
            segments: 0,
            last_end_us: time_us,
            deadline: None,
        });
        emit(NodeEvent::TurnStart { time_us }, out);
    }

    fn end_turn(&mut self, reason: &str, silence_us: i64, cue: &str, out: &mut Outputs) {
        let Some(turn) = self.turn.take() else {
            return;
        };
        let end_us = turn.last_end_us.max(turn.start_us);
        emit(
            NodeEvent::TurnEnd {
                start_us: turn.start_us,
                end_us,
                duration_us: end_us.saturating_sub(turn.start_us),
                speech_us: turn.speech_us,
                segments: turn.segments,
                reason: reason.into(),
                silence_us,
                cue: cue.into(),
                decided_us: self.now_us,
            },
            out,
        );
    }

    fn speech_start(&mut self, event: &Value, out: &mut Outputs) {
        let time_us = event["timeUs"].as_i64().unwrap_or(self.now_us);
        let delay = self.now_us.saturating_sub(time_us).clamp(0, MAX_CONFIRM_US);
        self.confirm_us = self.confirm_us.max(delay);
        self.now_us = self.now_us.max(time_us);
        if let Some((deadline, silence_us, cue)) = self.turn.as_ref().and_then(|t| t.deadline) {
            if time_us >= deadline {
                // The silence was long enough; the end was waiting for this confirmation.
                self.end_turn("silence", silence_us, cue, out);
            }
        }
        match &mut self.turn {
            None => self.start_turn(time_us, out),
            Some(turn) => turn.deadline = None, // a pause inside the turn
        }
        self.speaking = Some(Segment {
            start_us: time_us,
            probability: event["probability"].as_f64(),
        });
        self.last_progress_us = i64::MIN; // report at once
    }

    fn speech_end(&mut self, event: &Value) {
        let (Some(start_us), Some(end_us)) = (event["startUs"].as_i64(), event["endUs"].as_i64())
        else {
            return;
        };
        self.speaking = None;
        self.now_us = self.now_us.max(end_us);
        let Some(turn) = &mut self.turn else {
            return; // its start was before a reset
        };
        turn.speech_us += end_us.saturating_sub(start_us.max(turn.start_us)).max(0);
        turn.segments += 1;
        turn.last_end_us = end_us;
        let (silence_us, cue) = self.silence_after(end_us);
        if let Some(turn) = &mut self.turn {
            turn.deadline = Some((end_us.saturating_add(silence_us), silence_us, cue));
        }
    }

    /// The silence that ends the turn after speech that ended at `end_us`, and why.
    fn silence_after(&self, end_us: i64) -> (i64, &'static str) {
        let p = &self.params;
        if !p.adaptive {
            return (p.silence_ms * 1000, "fixed");
        }
        let speech_us = self.turn.as_ref().map_or(0, |t| t.speech_us);
        if speech_us >= LONG_TURN_US {
            return (p.short_silence_ms * 1000, "long_turn");
        }
        match self.pitch_before(end_us) {
            PitchEnd::Falling => (p.short_silence_ms * 1000, "falling_pitch"),
            PitchEnd::NotFalling if speech_us < SHORT_TURN_US => {
                (p.long_silence_ms * 1000, "short_fragment")
            }
            _ => (p.silence_ms * 1000, "default"),
        }
    }

    /// How the voice ends in the second of audio before `end_us` (within the current turn).
    fn pitch_before(&self, end_us: i64) -> PitchEnd {
        let from_us = end_us
            .saturating_sub(PITCH_SPAN_US)
            .max(self.turn.as_ref().map_or(i64::MIN, |t| t.start_us));
        let rate = self.rate as i64;
        let len = self.history.len() as i64;
        // Index into the history of an audio time (clamped to what is kept).
        let index = |t: i64| {
            let back = (self.history_end_us.saturating_sub(t)).max(0) * rate / 1_000_000;
            (len - back).clamp(0, len) as usize
        };
        let (a, b) = (index(from_us), index(end_us));
        if b <= a {
            return PitchEnd::Unknown;
        }
        let span: Vec<f32> = self.history.range(a..b).copied().collect();
        pitch::ending(&pitch::to_8k(&span, self.rate))
    }
}

fn frames_to_us(frames: i64, rate: u32) -> i64 {
    if rate == 0 {
        return 0;
    }
    (frames as i128 * 1_000_000 / rate as i128).clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Reports a turn event and emits it as a JSON item.
fn emit(event: NodeEvent, out: &mut Outputs) {
    out.push(Arc::new(RuntimeData::json(event.to_json())));
    out.event(event);
}

impl Node for TurnDetector {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        match &input.payload {
            Payload::Audio(_) => {
                self.advance(&input)?;
                self.check(out);
            }
            Payload::Json(value, _) => match value["type"].as_str() {
                Some("speech_start") => {
                    out.push(input.clone());
                    self.speech_start(value, out);
                    self.check(out);
                }
                Some("speech_end") => {
                    out.push(input.clone());
                    self.speech_end(value);
                    self.check(out);
                }
                _ => {} // other JSON (levels, summaries) is not about turns
            },
            other => {
                return Err(NodeError::WrongInput {
                    expected: "audio or json",
                    actual: other.data_type(),
                })
            }
        }
        Ok(())
    }

    fn flush(&mut self, out: &mut Outputs) -> Result<(), NodeError> {
        if let Some(segment) = self.speaking.take() {
            // The Vad ends open speech at end of stream; without it, the speech lasts until now.
            if let Some(turn) = &mut self.turn {
                turn.speech_us += self
                    .now_us
                    .saturating_sub(segment.start_us.max(turn.start_us));
                turn.segments += 1;
                turn.last_end_us = self.now_us;
            }
        }
        let cue = if self.params.adaptive {
            "default"
        } else {
            "fixed"
        };
        self.end_turn("end_of_stream", 0, cue, out);
        Ok(())
    }

    fn reset(&mut self) {
        let params = std::mem::replace(
            &mut self.params,
            TurnParams {
                silence_ms: 0,
                adaptive: false,
                short_silence_ms: 0,
                long_silence_ms: 0,
                max_turn_ms: 0,
                progress_ms: 0,
            },
        );
        *self = TurnDetector::new(params);
    }
}
