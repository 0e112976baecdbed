//! `StreamHealth`'s content faults, judged per analysis window (`windowMs`) of the audio itself:
//! `silence`, `low_volume`, `clipping` and `channel_imbalance` through onset/release hysteresis, and
//! `dropouts` counted in a sliding window.

use super::detect::{Change, Cond};
use super::{db, StreamHealth, CLIP, IMBALANCE, LOW, SILENCE};
use crate::nodes::Outputs;

impl StreamHealth {
    /// A full analysis window `[start, end)`.
    pub(super) fn window_done(&mut self, out: &mut Outputs, end: i64) {
        let w = std::mem::take(&mut self.window);
        let frames = w.frames.max(1) as f64;
        let channel_db: Vec<f64> = w.power.iter().map(|p| db(p / frames)).collect();
        let all = db(w.power.iter().sum::<f64>() / frames / w.power.len().max(1) as f64);
        let (t0, t1) = (w.start, end);
        let p = &self.p;
        // silence
        let cond = if all < p.silence_db {
            Cond::Bad
        } else if all >= p.silence_db + 6.0 {
            Cond::Good
        } else {
            Cond::Neutral
        };
        let detail = format!("rms {all:.1} dBFS (silenceDb {})", p.silence_db);
        self.judge(out, SILENCE, cond, t0, t1, detail);
        // low volume: the loudest window of the last second
        self.levels.push_back((t1, all));
        while self.levels.front().is_some_and(|(t, _)| t1 - t > 1_000_000) {
            self.levels.pop_front();
        }
        let level = self.levels.iter().map(|l| l.1).fold(f64::MIN, f64::max);
        let p = &self.p;
        let cond = if level < p.silence_db {
            Cond::Neutral
        } else if level < p.low_volume_db {
            Cond::Bad
        } else if level >= p.low_volume_db + 3.0 {
            Cond::Good
        } else {
            Cond::Neutral
        };
        let detail = format!(
            "loudest window of the last second {level:.1} dBFS (lowVolumeDb {})",
            p.low_volume_db
        );
        self.judge(out, LOW, cond, t0, t1, detail);
        // clipping
        if w.clipped >= 2 {
            self.clips.push_back(t1);
        }
        while self.clips.front().is_some_and(|t| t1 - t > 1_000_000) {
            self.clips.pop_front();
        }
        let n = self.clips.len();
        let cond = if n >= self.p.clip_windows {
            Cond::Bad
        } else if n == 0 {
            Cond::Good
        } else {
            Cond::Neutral
        };
        let detail = format!(
            "{n} clipped windows in the last second (clipWindows {})",
            self.p.clip_windows
        );
        // a clipping fault starts with the first clipped window of the second that raised it
        let first = self.clips.front().map_or(t0, |t| (*t).min(t0));
        self.judge(out, CLIP, cond, first, t1, detail);
        // channel imbalance
        if channel_db.len() >= 2 {
            let loud = channel_db.iter().copied().fold(f64::MIN, f64::max);
            let quiet = channel_db.iter().copied().fold(f64::MAX, f64::min);
            let diff = loud - quiet;
            let p = &self.p;
            let cond = if loud < p.silence_db {
                Cond::Neutral
            } else if diff >= p.imbalance_db {
                Cond::Bad
            } else if diff < p.imbalance_db - 6.0 {
                Cond::Good
            } else {
                Cond::Neutral
            };
            let q = channel_db.iter().position(|&d| d == quiet).unwrap_or(0);
            let detail = format!(
                "channel {q} is {diff:.1} dB below the loudest (imbalanceDb {})",
                p.imbalance_db
            );
            self.judge(out, IMBALANCE, cond, t0, t1, detail);
        }
        // dropouts: the window slides on
        self.dropouts_expire(out, t1);
    }

    fn dropouts_expire(&mut self, out: &mut Outputs, now: i64) {
        let d = &mut self.dropouts;
        while d.recent.front().is_some_and(|(_, e)| now - e > d.window_us) {
            d.recent.pop_front();
        }
        if let Some(start) = d.active {
            if d.recent.len() < d.count {
                d.active = None;
                let end = d.recent.back().map_or(now, |r| r.1);
                let detail = format!(
                    "recovered: {} dropouts in the last {} ms",
                    d.recent.len(),
                    d.window_us / 1000
                );
                self.emit(out, 4, Change::Clear { start, end }, detail);
            }
        }
    }

    pub(super) fn dropout(&mut self, out: &mut Outputs, start: i64, end: i64) {
        if !self.on[4] {
            return;
        }
        let d = &mut self.dropouts;
        d.recent.push_back((start, end));
        if d.active.is_none() && d.recent.len() >= d.count {
            let first = d.recent.front().map_or(start, |r| r.0);
            d.active = Some(first);
            let detail = format!(
                "{} cuts to digital silence (5–500 ms) within {} ms, the last {} ms long",
                d.recent.len(),
                d.window_us / 1000,
                (end - start) / 1000
            );
            self.emit(
                out,
                4,
                Change::Raise {
                    start: first,
                    at: end,
                },
                detail,
            );
        }
    }
}
