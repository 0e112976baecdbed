//! `Vad` with `model: "silero"`: the library's Silero VAD ([`crate::silero`]) on 8 or 16 kHz audio,
//! 32 ms windows, and silero-vad's own segmenter streamed ([`Segmenter`]).

use super::earshot::round;
use super::{Clock, VadParams};
use crate::nodes::{NodeError, NodeEvent};
use crate::silero::{SegmentParams, Segmenter, SileroStream, SpeechEvent};

pub(super) struct SileroDetector {
    stream: SileroStream,
    segmenter: Segmenter,
    clock: Clock,
    /// Samples pushed so far.
    samples: u64,
    pad: u64,
}

impl SileroDetector {
    /// Takes audio at `rate` (8000 or 16000 Hz) starting at `base_us`.
    pub(super) fn new(params: &VadParams, rate: u32, base_us: i64) -> Result<Self, NodeError> {
        let stream = SileroStream::new(rate).map_err(|e| NodeError::BadInput(e.to_string()))?;
        let neg = (params.neg_threshold > 0.0).then_some(params.neg_threshold);
        let segment = SegmentParams::from_ms(
            rate,
            params.threshold,
            neg,
            params.min_speech_ms,
            params.min_silence_ms,
            params.speech_pad_ms,
        );
        Ok(Self {
            segmenter: Segmenter::new(segment, stream.vad().window_samples()),
            stream,
            clock: Clock::new(base_us, rate),
            samples: 0,
            pad: segment.pad,
        })
    }

    pub(super) fn in_speech(&self) -> bool {
        self.segmenter.in_speech()
    }

    /// Where a segment under way but not yet reported would start (padded).
    pub(super) fn pending_start_us(&self) -> Option<i64> {
        self.segmenter
            .tentative_start()
            .map(|start| self.clock.at(start.saturating_sub(self.pad)))
    }

    pub(super) fn push(&mut self, samples: &[f32], events: &mut Vec<NodeEvent>) {
        self.samples += samples.len() as u64;
        let (segmenter, clock, total) = (&mut self.segmenter, self.clock, self.samples);
        self.stream.push(samples, |w| {
            segmenter.window(w, total, |e| events.push(node_event(clock, e)));
        });
    }

    /// End of stream: the last partial window (padded with zeros), then the open segment ends.
    pub(super) fn finish(&mut self, events: &mut Vec<NodeEvent>) {
        let (segmenter, clock, total) = (&mut self.segmenter, self.clock, self.samples);
        self.stream.flush(|w| {
            segmenter.window(w, total, |e| events.push(node_event(clock, e)));
        });
        segmenter.finish(total, |e| events.push(node_event(clock, e)));
    }
}

fn node_event(clock: Clock, event: SpeechEvent) -> NodeEvent {
    match event {
        SpeechEvent::Start { start, probability } => NodeEvent::SpeechStart {
            time_us: clock.at(start),
            probability: round(f64::from(probability)),
        },
        SpeechEvent::End {
            start,
            end,
            probability,
        } => {
            let (start_us, end_us) = (clock.at(start), clock.at(end));
            NodeEvent::SpeechEnd {
                start_us,
                end_us,
                duration_us: end_us.saturating_sub(start_us),
                probability: round(f64::from(probability)),
            }
        }
    }
}
