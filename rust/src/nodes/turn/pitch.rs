//! The pitch cue of the `TurnDetector`'s adaptive silence: does the voice fall at the end of what the
//! user said (a statement: "…tomorrow.") or not (a fragment: "I would like to…")? A plain normalised
//! autocorrelation pitch tracker over the last second of speech, at 8 kHz; no model.

/// Rate the tracker works at (pitch of speech is 70–400 Hz; 8 kHz is plenty).
const RATE: usize = 8000;
/// Analysis frame: 40 ms (two periods of a 70 Hz voice: the lowest pitch tracked).
const FRAME: usize = RATE / 25;
/// Hop: 10 ms.
const HOP: usize = RATE / 100;
/// Lag range: 400 Hz down to 70 Hz.
const MIN_LAG: usize = RATE / 400;
const MAX_LAG: usize = RATE / 70;
/// A frame is voiced when its best normalised autocorrelation reaches this.
const VOICED: f32 = 0.6;
/// A peak at a shorter lag wins over the best one when it reaches this fraction of it.
const OCTAVE: f32 = 0.9;
/// The ending: the last 100 ms of voiced frames, compared with the voiced frames before them.
const ENDING_FRAMES: usize = 10;
/// Low: the ending's median pitch at most this fraction of the earlier median (−1.5 semitones).
const FALL_RATIO: f32 = 0.917;
/// Rising at the very end: its last 30 ms above its first 30 ms by more than this (+0.7 semitone).
const RISE_RATIO: f32 = 1.04;

/// How the voice ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PitchEnd {
    /// The pitch falls at the end (statements, answers).
    Falling,
    /// Level or rising (continuations, questions, fragments).
    NotFalling,
    /// Too few voiced frames to say.
    Unknown,
}

/// Decimates mono audio at `rate` to 8 kHz by averaging (a box filter: enough for a pitch tracker).
/// Rates that are not a multiple of 8 kHz use the nearest integer factor (pitch is then off by that
/// ratio everywhere, which a falling/not-falling comparison does not mind).
pub fn to_8k(samples: &[f32], rate: u32) -> Vec<f32> {
    let factor = ((rate as usize + RATE / 2) / RATE).max(1);
    samples
        .chunks_exact(factor)
        .map(|c| c.iter().sum::<f32>() / factor as f32)
        .collect()
}

/// Pitch (Hz) of each 10 ms hop of 8 kHz audio; `None` where unvoiced or too quiet.
pub fn track(samples: &[f32]) -> Vec<Option<f32>> {
    if samples.len() < FRAME + MAX_LAG {
        return Vec::new();
    }
    let energy = |s: &[f32]| s.iter().map(|v| v * v).sum::<f32>();
    let loudest = samples
        .windows(FRAME)
        .step_by(HOP)
        .map(energy)
        .fold(0.0f32, f32::max);
    let mut out = Vec::new();
    let mut start = 0;
    while start + FRAME + MAX_LAG <= samples.len() {
        let frame = &samples[start..start + FRAME];
        let e0 = energy(frame);
        // Quieter than 1/100 of the loudest frame (−20 dB): a breath, a trailing consonant.
        if e0 <= loudest / 100.0 || e0 == 0.0 {
            out.push(None);
            start += HOP;
            continue;
        }
        let r: Vec<f32> = (MIN_LAG - 1..=MAX_LAG + 1)
            .map(|lag| {
                let shifted = &samples[start + lag..start + lag + FRAME];
                let dot: f32 = frame.iter().zip(shifted).map(|(a, b)| a * b).sum();
                dot / (e0 * energy(shifted)).sqrt().max(f32::MIN_POSITIVE)
            })
            .collect();
        let best = r.iter().copied().fold(0.0f32, f32::max);
        // The shortest lag whose peak is nearly as high as the best: multiples of the period (an
        // octave below) correlate as well, and would halve the pitch.
        let lag = (1..r.len() - 1)
            .find(|&i| r[i] >= OCTAVE * best && r[i] >= r[i - 1] && r[i] >= r[i + 1])
            .map(|i| i + MIN_LAG - 1);
        out.push(match lag {
            Some(lag) if best >= VOICED => Some(RATE as f32 / lag as f32),
            _ => None,
        });
        start += HOP;
    }
    out
}

/// Whether the voice falls at the end of `samples` (8 kHz, the end of an utterance): the last 100 ms of
/// voiced frames lie low against the voiced frames before them, and do not rise at the very end (a
/// continuation "…a table," and a question "…my dog?" dip and then rise; a statement "…tomorrow." stays
/// down).
pub fn ending(samples: &[f32]) -> PitchEnd {
    let voiced: Vec<f32> = track(samples).into_iter().flatten().collect();
    if voiced.len() < ENDING_FRAMES * 2 {
        return PitchEnd::Unknown;
    }
    let (before, end) = voiced.split_at(voiced.len() - ENDING_FRAMES);
    let low = median(end) <= median(before) * FALL_RATIO;
    let rising = median(&end[ENDING_FRAMES - 3..]) > median(&end[..3]) * RISE_RATIO;
    if low && !rising {
        PitchEnd::Falling
    } else {
        PitchEnd::NotFalling
    }
}

fn median(values: &[f32]) -> f32 {
    let mut v = values.to_vec();
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A glide from `from` Hz to `to` Hz with harmonics (a crude voice), at 8 kHz.
    fn glide(from: f32, to: f32, seconds: f32) -> Vec<f32> {
        let n = (seconds * RATE as f32) as usize;
        let mut phase = 0.0f32;
        (0..n)
            .map(|i| {
                let f = from + (to - from) * i as f32 / n as f32;
                phase += 2.0 * std::f32::consts::PI * f / RATE as f32;
                (1..=4)
                    .map(|h| (phase * h as f32).sin() / h as f32)
                    .sum::<f32>()
                    * 0.3
            })
            .collect()
    }

    #[test]
    fn tracks_a_steady_voice_at_its_pitch() {
        let track = track(&glide(150.0, 150.0, 0.5));
        let voiced: Vec<f32> = track.iter().flatten().copied().collect();
        assert!(voiced.len() >= track.len() - 1, "{track:?}");
        for f in voiced {
            assert!((f - 150.0).abs() < 6.0, "{f}");
        }
    }

    #[test]
    fn a_falling_glide_falls_and_a_level_or_rising_one_does_not() {
        let mut falling = glide(180.0, 180.0, 0.6);
        falling.extend(glide(180.0, 120.0, 0.3));
        assert_eq!(ending(&falling), PitchEnd::Falling);
        assert_eq!(ending(&glide(150.0, 150.0, 0.9)), PitchEnd::NotFalling);
        let mut rising = glide(150.0, 150.0, 0.6);
        rising.extend(glide(150.0, 200.0, 0.3));
        assert_eq!(ending(&rising), PitchEnd::NotFalling);
    }

    #[test]
    fn silence_and_short_sounds_say_nothing() {
        assert_eq!(ending(&vec![0.0; 8000]), PitchEnd::Unknown);
        assert_eq!(ending(&glide(150.0, 100.0, 0.1)), PitchEnd::Unknown);
    }

    #[test]
    fn decimation_keeps_the_pitch() {
        let rate = 48000;
        let tone: Vec<f32> = (0..rate / 2)
            .map(|i| (2.0 * std::f32::consts::PI * 200.0 * i as f32 / rate as f32).sin())
            .collect();
        let voiced: Vec<f32> = track(&to_8k(&tone, rate as u32))
            .into_iter()
            .flatten()
            .collect();
        assert!(voiced.iter().all(|f| (f - 200.0).abs() < 8.0), "{voiced:?}");
    }
}
