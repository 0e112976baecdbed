//! `Vad` with `model: "earshot"`: earshot's 16 ms frame scores at 16 kHz, a run of voiced frames of
//! `minSpeechMs` starts speech, a run of silent frames of `minSilenceMs` ends it (no hysteresis, no
//! padding).

use super::{Clock, VadParams};
use crate::nodes::NodeEvent;

/// earshot's frame: 16 ms at 16 kHz.
const FRAME: usize = 256;

pub(super) struct EarshotDetector {
    detector: Box<earshot::Detector>,
    clock: Clock,
    threshold: f32,
    min_speech_us: i64,
    min_silence_us: i64,
    /// Samples that do not fill a frame yet.
    pending: Vec<f32>,
    frames_done: u64,
    in_speech: bool,
    /// Start of the current run of voiced frames (µs), while not yet in speech, and its highest score.
    voiced_since: Option<(i64, f32)>,
    /// Start of the current run of silent frames (µs), while in speech, and the segment's scores
    /// before it (sum, count).
    silent_since: Option<(i64, f64, u32)>,
    speech_start: i64,
    /// Scores of the segment's frames (sum, count).
    scores: (f64, u32),
}

impl EarshotDetector {
    /// Takes 16 kHz audio starting at `base_us`.
    pub(super) fn new(params: &VadParams, base_us: i64) -> Self {
        Self {
            detector: earshot::Detector::default_boxed(),
            clock: Clock::new(base_us, 16000),
            threshold: params.threshold,
            min_speech_us: params.min_speech_ms as i64 * 1000,
            min_silence_us: params.min_silence_ms as i64 * 1000,
            pending: Vec::new(),
            frames_done: 0,
            in_speech: false,
            voiced_since: None,
            silent_since: None,
            speech_start: 0,
            scores: (0.0, 0),
        }
    }

    pub(super) fn in_speech(&self) -> bool {
        self.in_speech
    }

    /// The start of a run of voice that may become speech.
    pub(super) fn pending_start_us(&self) -> Option<i64> {
        self.voiced_since.map(|(t, _)| t)
    }

    /// Runs the detector over whole frames; appends speech start/end events.
    pub(super) fn push(&mut self, samples: &[f32], events: &mut Vec<NodeEvent>) {
        self.pending.extend_from_slice(samples);
        let mut offset = 0;
        while self.pending.len() - offset >= FRAME {
            let frame = &self.pending[offset..offset + FRAME];
            offset += FRAME;
            let score = self.detector.predict_f32(frame);
            let t = self.clock.at(self.frames_done * FRAME as u64);
            self.frames_done += 1;
            // Saturating: timestamps come from the caller and may be anywhere in the i64 range.
            let frame_end = t.saturating_add(16_000);
            let voiced = score >= self.threshold;
            if !self.in_speech {
                if voiced {
                    let (since, max) = self.voiced_since.get_or_insert((t, score));
                    *max = max.max(score);
                    self.scores.0 += f64::from(score);
                    self.scores.1 += 1;
                    if frame_end.saturating_sub(*since) >= self.min_speech_us {
                        let (since, max) = (*since, *max);
                        self.in_speech = true;
                        self.speech_start = since;
                        self.silent_since = None;
                        events.push(NodeEvent::SpeechStart {
                            time_us: since,
                            probability: round(f64::from(max)),
                        });
                    }
                } else {
                    self.voiced_since = None;
                    self.scores = (0.0, 0);
                }
            } else {
                if voiced {
                    self.silent_since = None;
                } else {
                    let (since, ..) =
                        *self
                            .silent_since
                            .get_or_insert((t, self.scores.0, self.scores.1));
                    if frame_end.saturating_sub(since) >= self.min_silence_us {
                        let (_, sum, count) = self.silent_since.unwrap_or_default();
                        self.end_speech(since, sum / f64::from(count.max(1)), events);
                        continue;
                    }
                }
                self.scores.0 += f64::from(score);
                self.scores.1 += 1;
            }
        }
        self.pending.drain(..offset);
    }

    /// End of stream: open speech ends at the end of the last whole frame.
    pub(super) fn finish(&mut self, events: &mut Vec<NodeEvent>) {
        if self.in_speech {
            let end = self.clock.at(self.frames_done * FRAME as u64);
            let mean = self.scores.0 / f64::from(self.scores.1.max(1));
            self.end_speech(end, mean, events);
        }
    }

    fn end_speech(&mut self, end: i64, mean: f64, events: &mut Vec<NodeEvent>) {
        self.in_speech = false;
        self.voiced_since = None;
        self.silent_since = None;
        self.scores = (0.0, 0);
        events.push(NodeEvent::SpeechEnd {
            start_us: self.speech_start,
            end_us: end,
            duration_us: end.saturating_sub(self.speech_start),
            probability: round(mean),
        });
    }
}

/// Probabilities in events: 4 decimals.
pub(super) fn round(p: f64) -> f64 {
    (p * 1e4).round() / 1e4
}
