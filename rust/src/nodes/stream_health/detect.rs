//! The state machines behind `StreamHealth`'s alerts: [`Hysteresis`] (a fault is raised once its
//! condition lasted the onset time and cleared once the opposite condition lasted the release time;
//! between the two thresholds nothing changes, so a level that wobbles around one threshold cannot
//! make an alert flap), and [`Dropouts`] (short runs of digital silence cut into loud audio, counted in a
//! sliding window).

use std::collections::VecDeque;

/// What one analysis step says about a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    /// The fault's condition holds (past the entering threshold).
    Bad,
    /// The opposite holds (past the leaving threshold).
    Good,
    /// Between the thresholds, or not measurable now (both channels silent, …): no change.
    Neutral,
}

/// A change of a fault's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Raised: the fault began at `start` and was confirmed at `at` (µs).
    Raise { start: i64, at: i64 },
    /// Cleared: the fault that began at `start` ended at `end` (µs).
    Clear { start: i64, end: i64 },
}

/// Onset/release hysteresis over a condition judged per analysis step.
#[derive(Debug, Clone)]
pub struct Hysteresis {
    onset_us: i64,
    release_us: i64,
    active: bool,
    start: i64,
    bad_since: Option<i64>,
    good_since: Option<i64>,
}

impl Hysteresis {
    /// A detector that raises after `onset_us` of `Bad` and clears after `release_us` of `Good`.
    pub fn new(onset_us: i64, release_us: i64) -> Self {
        Hysteresis {
            onset_us,
            release_us,
            active: false,
            start: 0,
            bad_since: None,
            good_since: None,
        }
    }

    /// The condition over the step `[t0, t1)` (µs).
    pub fn update(&mut self, cond: Cond, t0: i64, t1: i64) -> Option<Change> {
        match cond {
            Cond::Bad => {
                self.good_since = None;
                let since = *self.bad_since.get_or_insert(t0);
                if !self.active && t1 - since >= self.onset_us {
                    self.active = true;
                    self.start = since;
                    return Some(Change::Raise {
                        start: since,
                        at: t1,
                    });
                }
            }
            Cond::Good => {
                if !self.active {
                    self.bad_since = None;
                    return None;
                }
                let since = *self.good_since.get_or_insert(t0);
                if t1 - since >= self.release_us {
                    self.active = false;
                    self.bad_since = None;
                    self.good_since = None;
                    return Some(Change::Clear {
                        start: self.start,
                        end: since,
                    });
                }
            }
            Cond::Neutral => {}
        }
        None
    }

    /// End of stream (or a reset): clears an active fault at `end`.
    pub fn finish(&mut self, end: i64) -> Option<Change> {
        let change = self.active.then_some(Change::Clear {
            start: self.start,
            end,
        });
        *self = Hysteresis::new(self.onset_us, self.release_us);
        change
    }
}

/// Short runs of digital silence (|x| < 1e-6 on every channel, 5–500 ms) that start abruptly (the 5 ms
/// before them are louder than -45 dBFS: audio that fades out is a pause, not a dropout), counted over a
/// sliding window.
#[derive(Debug, Clone)]
pub struct Dropouts {
    /// Dropouts needed within `window_us` to raise.
    pub count: usize,
    /// The sliding window, µs.
    pub window_us: i64,
    /// (start, end) of recent dropouts, µs.
    pub recent: VecDeque<(i64, i64)>,
    /// Raised since this dropout's start.
    pub active: Option<i64>,
    run_start: Option<i64>,
    run_frames: u64,
    loud_before: bool,
    edge: VecDeque<f64>,
    edge_sum: f64,
}

/// Below this magnitude a sample is digital silence.
const ZERO: f32 = 1e-6;
/// -45 dBFS as mean power.
const LOUD_POWER: f64 = 3.16e-5;

impl Dropouts {
    /// A counter raising at `count` dropouts within `window_us`.
    pub fn new(count: usize, window_us: i64) -> Self {
        Dropouts {
            count,
            window_us,
            recent: VecDeque::new(),
            active: None,
            run_start: None,
            run_frames: 0,
            loud_before: false,
            edge: VecDeque::new(),
            edge_sum: 0.0,
        }
    }

    /// One frame (the loudest channel's magnitude and mean power) at time `t` (µs), with the edge
    /// length in frames (5 ms); returns a dropout `(start, end)` when one just ended.
    pub fn frame(&mut self, peak: f32, power: f64, t: i64, rate: u32) -> Option<(i64, i64)> {
        let edge_frames = (rate as usize / 200).max(1);
        let mut found = None;
        if peak < ZERO {
            if self.run_start.is_none() {
                self.run_start = Some(t);
                self.run_frames = 0;
                self.loud_before = self.edge.len() == edge_frames
                    && self.edge_sum / edge_frames as f64 > LOUD_POWER;
            }
            self.run_frames += 1;
        } else if let Some(start) = self.run_start.take() {
            let ms = self.run_frames as f64 * 1000.0 / rate as f64;
            if self.loud_before && (5.0..=500.0).contains(&ms) {
                found = Some((start, t));
            }
        }
        self.edge.push_back(power);
        self.edge_sum += power;
        while self.edge.len() > edge_frames {
            self.edge_sum -= self.edge.pop_front().unwrap_or(0.0);
        }
        found
    }
}
