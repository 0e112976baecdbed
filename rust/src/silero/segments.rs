//! Speech segments from window probabilities, streamed: silero-vad's own segmenter
//! (`get_speech_timestamps_from_probs` in utils_vad.py, without a maximum speech length) decided
//! window by window, each segment reported as soon as no later window can change it.
//!
//! The offline algorithm: speech starts at the first window with `p ≥ threshold`; the first window
//! after it with `p < negThreshold` marks a tentative end, cancelled by a window with `p ≥ threshold`
//! and confirmed by a window with `p < negThreshold` at least `minSilence` after it; a segment is kept
//! only if `end − start > minSpeech`; a segment still open when the audio ends ends there. Then
//! padding: a segment's start moves back by `pad` and its end forward by `pad`, except that when two
//! kept segments are less than `2 × pad` apart the gap is split in half between them (clamped to the
//! audio).
//!
//! About 500 lines with its tests: the streaming decision and the offline rules it must equal are read
//! best side by side.
//!
//! Streamed, a segment is reported ([`SpeechEvent::Start`]) once it is certain to be kept: its
//! eventual end is at least its tentative end, or, without one, the end of the window just processed.
//! Its end ([`SpeechEvent::End`]) is reported at the window that confirms it, unless the padding still
//! depends on where the next kept segment starts (`minSilence < 2 × pad`): then it waits until that
//! start is reported or can no longer fall within `2 × pad`.

use super::WindowProbability;

/// The segmenter's settings, in samples at the model's rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentParams {
    /// A window with at least this probability is speech.
    pub threshold: f32,
    /// In speech, a window below this probability is silence (hysteresis; silero-vad's default is
    /// `max(threshold − 0.15, 0.01)`).
    pub neg_threshold: f32,
    /// Segments must be longer than this (before padding).
    pub min_speech: u64,
    /// Silence must last this long (from the tentative end to a silent window) to end a segment.
    pub min_silence: u64,
    /// Padding added to each side of a segment.
    pub pad: u64,
}

impl SegmentParams {
    /// Settings in milliseconds at `sample_rate`, as silero-vad takes them; `neg_threshold: None` is
    /// silero-vad's default.
    pub fn from_ms(
        sample_rate: u32,
        threshold: f32,
        neg_threshold: Option<f32>,
        min_speech_ms: u64,
        min_silence_ms: u64,
        speech_pad_ms: u64,
    ) -> Self {
        let samples = |ms: u64| ms * u64::from(sample_rate) / 1000;
        Self {
            threshold,
            neg_threshold: neg_threshold.unwrap_or((threshold - 0.15).max(0.01)),
            min_speech: samples(min_speech_ms),
            min_silence: samples(min_silence_ms),
            pad: samples(speech_pad_ms),
        }
    }
}

/// What the segmenter reports, in samples from the start of the stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SpeechEvent {
    /// A segment that will be kept began at `start` (padded).
    Start {
        /// First sample of the segment, padding included.
        start: u64,
        /// The highest window probability of the segment so far.
        probability: f32,
    },
    /// The segment ended.
    End {
        /// First sample, padding included (as its `Start` reported it).
        start: u64,
        /// End (exclusive), padding included.
        end: u64,
        /// Mean window probability over the segment (from its first speech window to its end,
        /// unpadded).
        probability: f32,
    },
}

/// Window probabilities of a segment.
#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    sum: f64,
    count: u32,
    max: f32,
}

impl Stats {
    fn add(&mut self, p: f32) {
        self.sum += f64::from(p);
        self.count += 1;
        self.max = self.max.max(p);
    }

    fn mean(&self) -> f32 {
        if self.count == 0 {
            0.0
        } else {
            (self.sum / f64::from(self.count)) as f32
        }
    }
}

/// The segment being decided.
#[derive(Debug, Clone)]
struct Open {
    /// First speech window (unpadded).
    start: u64,
    /// Tentative end: the first silent window since speech last came back.
    temp_end: Option<u64>,
    /// Every window since `start`.
    stats: Stats,
    /// The windows before `temp_end` (the segment if that end is confirmed).
    stats_to_temp_end: Stats,
    /// The padded start, once the segment was reported.
    reported: Option<u64>,
}

/// A kept segment whose padded end waits for the next segment's start.
#[derive(Debug, Clone, Copy)]
struct Closed {
    start: u64,
    raw_end: u64,
    probability: f32,
}

/// silero-vad's segmenter, streamed (see the module comment).
#[derive(Debug, Clone)]
pub struct Segmenter {
    params: SegmentParams,
    window: u64,
    open: Option<Open>,
    closed: Option<Closed>,
}

impl Segmenter {
    /// A segmenter for windows of `window_samples` (512 at 16 kHz, 256 at 8 kHz).
    pub fn new(params: SegmentParams, window_samples: usize) -> Self {
        Self {
            params,
            window: window_samples as u64,
            open: None,
            closed: None,
        }
    }

    /// Takes the next window's probability; `audio_samples` is how much audio the stream has had so
    /// far (more than the window's end except for a last, zero-padded window). Calls `emit` with what
    /// it decides, in order.
    pub fn window(
        &mut self,
        w: WindowProbability,
        audio_samples: u64,
        mut emit: impl FnMut(SpeechEvent),
    ) {
        let SegmentParams {
            threshold,
            neg_threshold,
            min_speech,
            min_silence,
            ..
        } = self.params;
        let (p, cur) = (w.probability, w.start_sample);
        // The same order of tests as silero-vad (it matters when negThreshold > threshold).
        match &mut self.open {
            None if p >= threshold => {
                let mut stats = Stats::default();
                stats.add(p);
                self.open = Some(Open {
                    start: cur,
                    temp_end: None,
                    stats,
                    stats_to_temp_end: Stats::default(),
                    reported: None,
                });
            }
            None => {}
            Some(open) => {
                if p >= threshold {
                    open.temp_end = None;
                }
                let mut confirmed_end = None;
                if p < neg_threshold {
                    let temp_end = *open.temp_end.get_or_insert(cur);
                    if temp_end == cur {
                        open.stats_to_temp_end = open.stats;
                    }
                    if cur - temp_end >= min_silence {
                        confirmed_end = Some(temp_end);
                    }
                }
                open.stats.add(p);
                if let Some(end) = confirmed_end {
                    let kept = end - open.start > min_speech;
                    // Reported exactly when kept: the tentative end was the bound reports wait for.
                    debug_assert_eq!(kept, open.reported.is_some());
                    if let (true, Some(start)) = (kept, open.reported) {
                        self.closed = Some(Closed {
                            start,
                            raw_end: end,
                            probability: open.stats_to_temp_end.mean(),
                        });
                    }
                    self.open = None;
                }
            }
        }
        self.settle((cur + self.window).min(audio_samples), &mut emit);
    }

    /// The audio ended after `audio_samples` samples: an open segment ends there (if long enough),
    /// and every segment not yet reported is. The segmenter is then empty.
    pub fn finish(&mut self, audio_samples: u64, mut emit: impl FnMut(SpeechEvent)) {
        if let Some(open) = self.open.take() {
            if audio_samples.saturating_sub(open.start) > self.params.min_speech {
                let start = match open.reported {
                    Some(start) => start,
                    None => self.report_start(open.start, open.stats.max, &mut emit),
                };
                emit(SpeechEvent::End {
                    start,
                    end: audio_samples,
                    probability: open.stats.mean(),
                });
            }
        }
        if let Some(closed) = self.closed.take() {
            emit(SpeechEvent::End {
                start: closed.start,
                end: (closed.raw_end + self.params.pad).min(audio_samples),
                probability: closed.probability,
            });
        }
    }

    /// Forgets everything (a new stream).
    pub fn reset(&mut self) {
        self.open = None;
        self.closed = None;
    }

    /// Between a reported start and its reported end.
    pub fn in_speech(&self) -> bool {
        self.closed.is_some() || self.open.as_ref().is_some_and(|o| o.reported.is_some())
    }

    /// The first speech window of a segment under way that is not reported yet (it may still be
    /// dropped): where its padded start will be at the earliest, plus `pad`.
    pub fn tentative_start(&self) -> Option<u64> {
        self.open
            .as_ref()
            .filter(|o| o.reported.is_none())
            .map(|o| o.start)
    }

    /// Reports what the windows up to `position` (the end of the audio processed) have decided.
    fn settle(&mut self, position: u64, emit: &mut impl FnMut(SpeechEvent)) {
        let pad = self.params.pad;
        // A closed segment's padded end, once no kept segment can start within 2 × pad of it.
        if let Some(closed) = self.closed {
            let earliest_next = self
                .open
                .as_ref()
                .map_or(position, |o| o.start.min(position));
            if earliest_next.saturating_sub(closed.raw_end) >= 2 * pad {
                emit(SpeechEvent::End {
                    start: closed.start,
                    end: (closed.raw_end + pad).min(position),
                    probability: closed.probability,
                });
                self.closed = None;
            }
        }
        // An open segment, once it is certain to be kept.
        if let Some(open) = &self.open {
            if open.reported.is_none()
                && open.temp_end.unwrap_or(position).saturating_sub(open.start)
                    > self.params.min_speech
            {
                let (start, max) = (open.start, open.stats.max);
                let padded = self.report_start(start, max, emit);
                if let Some(open) = &mut self.open {
                    open.reported = Some(padded);
                }
            }
        }
    }

    /// Emits the start of the segment whose first speech window is `start` (and, first, the end of
    /// the previous segment if it waited for this start); returns the padded start.
    fn report_start(
        &mut self,
        start: u64,
        probability: f32,
        emit: &mut impl FnMut(SpeechEvent),
    ) -> u64 {
        let padded = match self.closed.take() {
            // Less than 2 × pad apart (`settle` reported the end otherwise): split the gap.
            Some(closed) => {
                let half = (start - closed.raw_end) / 2;
                emit(SpeechEvent::End {
                    start: closed.start,
                    end: closed.raw_end + half,
                    probability: closed.probability,
                });
                start - half
            }
            None => start.saturating_sub(self.params.pad),
        };
        emit(SpeechEvent::Start {
            start: padded,
            probability,
        });
        padded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Windows of 10 samples; params in samples.
    fn run(probabilities: &[f32], params: SegmentParams, samples: u64) -> Vec<SpeechEvent> {
        let mut segmenter = Segmenter::new(params, 10);
        let mut events = Vec::new();
        for (i, &probability) in probabilities.iter().enumerate() {
            let w = WindowProbability {
                start_sample: i as u64 * 10,
                probability,
            };
            segmenter.window(w, samples, |e| events.push(e));
        }
        segmenter.finish(samples, |e| events.push(e));
        events
    }

    fn params(min_speech: u64, min_silence: u64, pad: u64) -> SegmentParams {
        SegmentParams {
            threshold: 0.5,
            neg_threshold: 0.35,
            min_speech,
            min_silence,
            pad,
        }
    }

    fn spans(events: &[SpeechEvent]) -> Vec<(u64, u64)> {
        events
            .iter()
            .filter_map(|e| match *e {
                SpeechEvent::End { start, end, .. } => Some((start, end)),
                SpeechEvent::Start { .. } => None,
            })
            .collect()
    }

    #[test]
    fn a_segment_is_padded_and_reported_once_long_enough() {
        // Speech in windows 2..6 (samples 20..60), silence after.
        let p = [0.1, 0.1, 0.9, 0.8, 0.7, 0.6, 0.1, 0.1, 0.1, 0.1];
        let events = run(&p, params(25, 20, 5), 100);
        assert_eq!(
            events[0],
            SpeechEvent::Start {
                start: 15,
                probability: 0.9
            }
        );
        assert_eq!(spans(&events), [(15, 65)]);
        let SpeechEvent::End { probability, .. } = events[1] else {
            panic!()
        };
        assert!((probability - 0.75).abs() < 1e-6);
    }

    #[test]
    fn hysteresis_keeps_speech_through_windows_between_the_thresholds() {
        let p = [0.9, 0.4, 0.4, 0.4, 0.9, 0.1, 0.1, 0.1];
        assert_eq!(spans(&run(&p, params(0, 10, 0), 80)), [(0, 50)]);
        // Below negThreshold for less than minSilence: one segment; longer: two.
        let p = [0.9, 0.1, 0.9, 0.1, 0.1, 0.1, 0.9, 0.1, 0.1, 0.1];
        assert_eq!(spans(&run(&p, params(0, 20, 0), 100)), [(0, 30), (60, 70)]);
    }

    #[test]
    fn short_segments_are_dropped_and_never_reported() {
        let p = [0.9, 0.9, 0.1, 0.1, 0.1, 0.1];
        assert!(run(&p, params(20, 10, 0), 60).is_empty());
        assert_eq!(spans(&run(&p, params(19, 10, 0), 60)), [(0, 20)]);
    }

    #[test]
    fn close_segments_split_the_gap_and_the_first_end_waits_for_it() {
        // Two segments 20 samples apart with pad 15: the gap is shared, 10 each.
        let p = [0.9, 0.9, 0.1, 0.1, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1];
        let events = run(&p, params(0, 0, 15), 110);
        assert_eq!(spans(&events), [(0, 30), (30, 75)]);
        assert!(matches!(events[0], SpeechEvent::Start { start: 0, .. }));
        assert!(matches!(events[1], SpeechEvent::End { end: 30, .. }));
        assert!(matches!(events[2], SpeechEvent::Start { start: 30, .. }));
    }

    #[test]
    fn an_open_segment_ends_with_the_audio() {
        let p = [0.1, 0.9, 0.9, 0.4, 0.1];
        // The tentative end at 40 is not confirmed: the segment runs to the end of the audio.
        assert_eq!(spans(&run(&p, params(0, 100, 3), 47)), [(7, 47)]);
    }

    /// silero-vad's `get_speech_timestamps_from_probs` (no maximum speech length), line by line.
    fn offline(
        probabilities: &[f32],
        params: SegmentParams,
        window: u64,
        len: u64,
    ) -> Vec<(u64, u64)> {
        let (mut triggered, mut temp_end, mut start) = (false, 0u64, 0u64);
        let mut speeches: Vec<(u64, u64)> = Vec::new();
        for (i, &p) in probabilities.iter().enumerate() {
            let cur = window * i as u64;
            if p >= params.threshold && temp_end != 0 {
                temp_end = 0;
            }
            if p >= params.threshold && !triggered {
                triggered = true;
                start = cur;
                continue;
            }
            if p < params.neg_threshold && triggered {
                if temp_end == 0 {
                    temp_end = cur;
                }
                if cur - temp_end < params.min_silence {
                    continue;
                }
                if temp_end - start > params.min_speech {
                    speeches.push((start, temp_end));
                }
                temp_end = 0;
                triggered = false;
            }
        }
        if triggered && len - start > params.min_speech {
            speeches.push((start, len));
        }
        let pad = params.pad;
        for i in 0..speeches.len() {
            if i == 0 {
                speeches[i].0 = speeches[i].0.saturating_sub(pad);
            }
            if i + 1 < speeches.len() {
                let silence = speeches[i + 1].0 - speeches[i].1;
                if silence < 2 * pad {
                    speeches[i].1 += silence / 2;
                    speeches[i + 1].0 = speeches[i + 1].0.saturating_sub(silence / 2);
                } else {
                    speeches[i].1 = (speeches[i].1 + pad).min(len);
                    speeches[i + 1].0 = speeches[i + 1].0.saturating_sub(pad);
                }
            } else {
                speeches[i].1 = (speeches[i].1 + pad).min(len);
            }
        }
        speeches
    }

    #[test]
    fn streamed_segments_are_the_offline_ones_for_random_probabilities_and_params() {
        let mut state = 0x9e37_79b9_u32;
        let mut next = move |n: u32| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state % n
        };
        let (mut segments, mut waited) = (0, 0);
        for case in 0..3000 {
            let windows = 1 + next(80) as usize;
            // Runs of similar probabilities, as real speech gives.
            let mut p = Vec::with_capacity(windows);
            while p.len() < windows {
                let level = next(101) as f32 / 100.0;
                for _ in 0..1 + next(6) {
                    p.push((level + (next(21) as f32 - 10.0) / 100.0).clamp(0.0, 1.0));
                }
            }
            p.truncate(windows);
            let threshold = 0.2 + next(60) as f32 / 100.0;
            let params = SegmentParams {
                threshold,
                // Sometimes above the threshold (silero-vad allows it).
                neg_threshold: if next(10) == 0 {
                    threshold + 0.1
                } else {
                    (threshold - next(40) as f32 / 100.0).max(0.01)
                },
                min_speech: u64::from(next(60)),
                min_silence: u64::from(next(60)),
                pad: u64::from(next(40)),
            };
            let len = windows as u64 * 10 - u64::from(next(10));
            let events = run(&p, params, len);
            // Starts and ends alternate, each end with its start, and a start never reported twice.
            let mut open = None;
            for e in &events {
                match *e {
                    SpeechEvent::Start { start, .. } => assert!(open.replace(start).is_none()),
                    SpeechEvent::End { start, .. } => assert_eq!(open.take(), Some(start)),
                }
            }
            assert_eq!(open, None);
            segments += spans(&events).len();
            // Ends that waited for the next start: an end right before a start.
            waited += events
                .windows(2)
                .filter(|w| matches!(w, [SpeechEvent::End { end, .. }, SpeechEvent::Start { start, .. }] if end == start))
                .count();
            assert_eq!(
                spans(&events),
                offline(&p, params, 10, len),
                "case {case}: {p:?} {params:?} len {len}"
            );
        }
        assert!(
            segments > 3000 && waited > 100,
            "{segments} segments, {waited} split gaps"
        );
    }
}
