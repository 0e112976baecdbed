//! `StreamHealth`'s timing faults, judged from the items' timestamps and durations (never a clock):
//! `drift` (timestamps ahead of or behind the audio they carry, averaged over the last second), `cadence`
//! (the spread of the intervals between items relative to their duration, over the last 50 items) and
//! `freeze` (an item that starts long after the previous one ended: reported when the stream resumes).

use super::detect::{Change, Cond};
use super::{us, StreamHealth, CADENCE, DRIFT};
use crate::nodes::Outputs;
use std::collections::VecDeque;

/// The timing state (from timestamps).
#[derive(Default)]
pub(super) struct Timing {
    /// Timestamp the audio clock is counted from, and frames counted since.
    base: Option<i64>,
    counted_us: i64,
    /// Where the previous item ended (its timestamp + duration) and its timestamp and duration.
    last: Option<(i64, i64, i64)>,
    offsets: VecDeque<(i64, i64)>,
    deviations: VecDeque<(f64, f64)>,
}

impl StreamHealth {
    /// Timing faults from one item's timestamp and duration.
    pub(super) fn timing(&mut self, out: &mut Outputs, ts: i64, dur: i64) {
        let t = &mut self.timing;
        let mut gap = None;
        if let Some((end, last_ts, last_dur)) = t.last {
            let late = ts - end;
            if late >= us(self.p.freeze_ms) || late <= -us(self.p.freeze_ms) {
                gap = Some((end, late));
                t.base = None;
                t.offsets.clear();
                t.deviations.clear();
            } else {
                t.deviations
                    .push_back(((ts - last_ts - last_dur) as f64, last_dur as f64));
                if t.deviations.len() > 50 {
                    t.deviations.pop_front();
                }
            }
        }
        let base = *t.base.get_or_insert_with(|| {
            t.counted_us = 0;
            ts
        });
        let offset = (ts - base) - t.counted_us;
        t.counted_us += dur;
        t.last = Some((ts + dur, ts, dur));
        t.offsets.push_back((ts, offset));
        while t.offsets.front().is_some_and(|(x, _)| ts - x > 1_000_000) {
            t.offsets.pop_front();
        }
        if let Some((end, late)) = gap {
            if late > 0 && self.on[7] {
                let detail = format!(
                    "no audio for {} ms (the stream stopped arriving)",
                    late / 1000
                );
                self.emit(out, 7, Change::Raise { start: end, at: ts }, detail.clone());
                self.emit(
                    out,
                    7,
                    Change::Clear {
                        start: end,
                        end: ts,
                    },
                    format!("resumed: {detail}"),
                );
            }
        }
        let t = &self.timing;
        let mean = t.offsets.iter().map(|o| o.1 as f64).sum::<f64>() / t.offsets.len() as f64;
        let drift = us(self.p.drift_ms) as f64;
        let cond = if mean.abs() >= drift {
            Cond::Bad
        } else if mean.abs() < drift / 2.0 {
            Cond::Good
        } else {
            Cond::Neutral
        };
        let detail = format!(
            "timestamps {} the audio by {:.1} ms (mean over the last second; driftMs {})",
            if mean >= 0.0 { "ahead of" } else { "behind" },
            mean.abs() / 1000.0,
            self.p.drift_ms
        );
        self.judge(out, DRIFT, cond, ts, ts + dur, detail);
        let t = &self.timing;
        if t.deviations.len() >= 10 {
            let n = t.deviations.len() as f64;
            let mean_dev = t.deviations.iter().map(|d| d.0).sum::<f64>() / n;
            let var = t
                .deviations
                .iter()
                .map(|d| (d.0 - mean_dev).powi(2))
                .sum::<f64>()
                / n;
            let mean_dur = t.deviations.iter().map(|d| d.1).sum::<f64>() / n;
            let cv = var.sqrt() / mean_dur.max(1.0);
            let cond = if cv >= self.p.cadence_cv {
                Cond::Bad
            } else if cv < self.p.cadence_cv * 0.6 {
                Cond::Good
            } else {
                Cond::Neutral
            };
            let detail = format!(
                "item intervals vary by {cv:.2} of an item's duration (cadenceCv {})",
                self.p.cadence_cv
            );
            self.judge(out, CADENCE, cond, ts, ts + dur, detail);
        }
    }
}
