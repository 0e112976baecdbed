//! Silero VAD (v6, MIT) inside the library: the model is embedded (`include_bytes!` of the ONNX file
//! from the `silero-vad` wheel) and run by a hand-written forward pass in safe Rust: no onnxruntime,
//! no model file or download at run time.
//!
//! - [`SileroVad`]: one window at a time (512 samples at 16 kHz, 256 at 8 kHz), carrying the LSTM
//!   state and the 64 (32) samples of context from window to window exactly as silero-vad's own
//!   `OnnxWrapper` does; [`SileroVad::reset`] clears both.
//! - [`SileroStream`]: any chunk size in, one [`WindowProbability`] per complete window out.
//! - [`Segmenter`]: silero-vad's own speech segmenter (thresholds with hysteresis, minimum speech and
//!   silence, padding) over those probabilities, streamed: each segment reported as soon as it is
//!   decided, the same segments as `get_speech_timestamps` gives for the whole file.
//!
//! Rooms: `onnx` reads the float tensors of the ONNX file (protobuf via `prost`), `model` turns them
//! into the two networks' weights once per process, `network` is the forward pass, `stream` the
//! buffering, `segments` the segmenter.
//!
//! ## Why a hand-written forward pass (measured 2026-11-29, 2-core AMD EPYC shared with other jobs)
//!
//! | | hand-written (this module) | tract-onnx 0.23.9 | onnxruntime 1.32 (Python, 1 thread) |
//! | --- | --- | --- | --- |
//! | 16 kHz window (512 samples, 32 ms), 1 thread | 29–31 µs (~1070x real time) | 78–82 µs CPU (~400x) | 68 µs `session.run` (473x), 75 µs via `OnnxWrapper` |
//! | stripped `libremotemedia.so` | 2.32 → 4.73 MB (+2.33 MB model, +0.08 MB code); gzip 0.99 → 2.96 MB | a cdylib of tract + model alone: 27.0 MB stripped, 9.7 MB gzip | `libonnxruntime.so` 1.32 alone: 34.8 MB, shipped besides |
//! | build (release, CPU time) | +~20 s (prost, prost-derive, bytes, itertools, anyhow; realfft was already built) | +9 min (tract-onnx and ~120 crates) | — |
//! | runs `silero_vad.onnx` as shipped | yes, both rates | no: its `If` nodes fail shape inference; only `silero_vad_op18_ifless.onnx` with a symbolic batch | yes |
//!
//! Hand-written and onnxruntime figures come from one `cargo run --release --example node_bench` run
//! (60 s of speech, best of 3, wall time); tract's from a scratch crate timed in CPU time on the same
//! audio in alternation with this module (29–31 µs there too). The first, simplest version (STFT as the
//! model's 258×256 convolution basis, im2col convolutions) took ~95 µs per window under the same load;
//! the STFT as an FFT of the Hann-windowed frame (the basis is exactly that DFT, checked at load),
//! skipping convolution taps that fall on the zero padding, and `tanh` through one `exp` brought it to
//! ~30 µs. Blocking several rows per dot product was slower with the baseline SSE2 target and was
//! dropped.
//!
//! Exactness: tests/silero.rs compares every window of five WAVs (clean speech, speech in noise, tones
//! and chords, silence, 8 kHz speech) with onnxruntime's probabilities: the largest difference is
//! ~1e-5 (the reference is rounded to 1e-6), every decision at 0.5 agrees.

mod model;
mod network;
mod onnx;
mod segments;
mod stream;

pub use segments::{SegmentParams, Segmenter, SpeechEvent};
pub use stream::{SileroStream, WindowProbability};

use model::Network;
use network::{Scratch, State};

/// Why a [`SileroVad`] could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SileroError {
    #[error("Silero VAD runs at 8000 or 16000 Hz, got {0} Hz")]
    UnsupportedSampleRate(u32),
    /// The embedded model could not be read (a broken build, never the caller's fault).
    #[error("the embedded Silero VAD model is unreadable: {0}")]
    Model(String),
}

/// The Silero VAD model fed one window at a time.
///
/// ```
/// use remotemedia::silero::SileroVad;
/// let mut vad = SileroVad::new(16000).unwrap();
/// let window = vec![0.0f32; vad.window_samples()]; // 512 samples, 32 ms
/// let probability = vad.process_window(&window);
/// assert!(probability < 0.5);
/// ```
#[derive(Debug, Clone)]
pub struct SileroVad {
    network: &'static Network,
    state: State,
    /// The network's input: context, window, room for the reflection padding.
    input: Vec<f32>,
    scratch: Scratch,
}

impl SileroVad {
    /// A model for `sample_rate`: 16000 or 8000 Hz. (silero-vad's wrapper also takes multiples of
    /// 16 kHz by keeping every n-th sample, which aliases; resample first instead.)
    pub fn new(sample_rate: u32) -> Result<Self, SileroError> {
        let network = model::network(sample_rate)?;
        Ok(Self {
            network,
            state: State::default(),
            input: vec![0.0; network.context + network.window + network.context],
            scratch: Scratch::new(network),
        })
    }

    /// 16000 or 8000.
    pub fn sample_rate(&self) -> u32 {
        self.network.sample_rate
    }

    /// Samples per window: 512 at 16 kHz, 256 at 8 kHz (32 ms).
    pub fn window_samples(&self) -> usize {
        self.network.window
    }

    /// The speech probability of the next `window_samples()` samples of the stream, in `[0, 1]`.
    ///
    /// # Panics
    ///
    /// If `window` is not exactly `window_samples()` long ([`SileroStream`] takes any length).
    pub fn process_window(&mut self, window: &[f32]) -> f32 {
        let (context, size) = (self.network.context, self.network.window);
        assert_eq!(
            window.len(),
            size,
            "Silero VAD at {} Hz takes windows of {size} samples",
            self.network.sample_rate
        );
        self.input[context..context + size].copy_from_slice(window);
        let probability = self
            .network
            .forward(&mut self.input, &mut self.state, &mut self.scratch);
        // The next window's context: the last `context` samples of this window's input.
        self.input.copy_within(size..size + context, 0);
        probability
    }

    /// Back to the state of a new model: zero LSTM state, zero context (e.g. after a barge-in or
    /// between unrelated streams).
    pub fn reset(&mut self) {
        self.state = State::default();
        self.input.fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u32) -> Vec<f32> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 8) as f32 / (1 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn window_sizes_follow_the_sample_rate() {
        assert_eq!(SileroVad::new(16000).unwrap().window_samples(), 512);
        assert_eq!(SileroVad::new(8000).unwrap().window_samples(), 256);
        assert_eq!(
            SileroVad::new(48000).unwrap_err(),
            SileroError::UnsupportedSampleRate(48000)
        );
    }

    #[test]
    fn probabilities_are_in_the_unit_interval() {
        let mut vad = SileroVad::new(16000).unwrap();
        for window in noise(512 * 20, 7).chunks(512) {
            let p = vad.process_window(window);
            assert!((0.0..=1.0).contains(&p), "{p}");
        }
    }

    #[test]
    fn state_and_context_carry_over_between_windows() {
        let audio = noise(1024, 3);
        let mut vad = SileroVad::new(16000).unwrap();
        vad.process_window(&audio[..512]);
        let second = vad.process_window(&audio[512..]);
        let mut fresh = SileroVad::new(16000).unwrap();
        assert_ne!(fresh.process_window(&audio[512..]), second);
    }

    #[test]
    fn reset_gives_the_same_probabilities_as_a_new_model() {
        let audio = noise(512 * 6, 11);
        let mut vad = SileroVad::new(8000).unwrap();
        let first: Vec<f32> = audio.chunks(256).map(|w| vad.process_window(w)).collect();
        vad.reset();
        let again: Vec<f32> = audio.chunks(256).map(|w| vad.process_window(w)).collect();
        assert_eq!(first, again);
    }

    #[test]
    #[should_panic(expected = "takes windows of 512 samples")]
    fn a_window_of_the_wrong_size_is_refused() {
        SileroVad::new(16000).unwrap().process_window(&[0.0; 480]);
    }
}
