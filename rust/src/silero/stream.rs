//! Any chunk size in, one probability per complete window out: [`SileroStream`] buffers the samples
//! that do not fill a window yet and numbers the windows from the start of the stream.

use super::{SileroError, SileroVad};

/// The speech probability of one window of a stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowProbability {
    /// Position of the window's first sample in the stream (since creation or the last reset).
    pub start_sample: u64,
    /// Speech probability in `[0, 1]`.
    pub probability: f32,
}

/// A [`SileroVad`] fed with chunks of any size.
///
/// ```
/// use remotemedia::silero::SileroStream;
/// let mut stream = SileroStream::new(16000).unwrap();
/// let mut windows = Vec::new();
/// stream.push(&[0.0; 700], |w| windows.push(w)); // one window of 512, 188 samples kept
/// stream.push(&[0.0; 400], |w| windows.push(w)); // a second window, 76 samples kept
/// assert_eq!(windows.len(), 2);
/// assert_eq!(windows[1].start_sample, 512);
/// assert_eq!(stream.pending_samples(), 76);
/// ```
#[derive(Debug, Clone)]
pub struct SileroStream {
    vad: SileroVad,
    /// Samples of the window being filled (fewer than a window).
    pending: Vec<f32>,
    /// Windows processed so far.
    windows: u64,
}

impl SileroStream {
    /// A stream at `sample_rate` (8000 or 16000 Hz).
    pub fn new(sample_rate: u32) -> Result<Self, SileroError> {
        let vad = SileroVad::new(sample_rate)?;
        let pending = Vec::with_capacity(vad.window_samples());
        Ok(Self {
            vad,
            pending,
            windows: 0,
        })
    }

    /// Runs every window that `samples` completes and calls `each` with its probability, in order.
    pub fn push(&mut self, mut samples: &[f32], mut each: impl FnMut(WindowProbability)) {
        let size = self.vad.window_samples();
        if !self.pending.is_empty() {
            let take = (size - self.pending.len()).min(samples.len());
            self.pending.extend_from_slice(&samples[..take]);
            samples = &samples[take..];
            if self.pending.len() < size {
                return;
            }
            let probability = self.vad.process_window(&self.pending);
            self.pending.clear();
            each(self.emit(probability));
        }
        let mut windows = samples.chunks_exact(size);
        for window in &mut windows {
            let probability = self.vad.process_window(window);
            each(self.emit(probability));
        }
        self.pending.extend_from_slice(windows.remainder());
    }

    /// Runs the incomplete last window, padded with zeros as silero-vad pads the end of a file, if
    /// there is one; the stream then continues from a window boundary.
    pub fn flush(&mut self, mut each: impl FnMut(WindowProbability)) {
        if self.pending.is_empty() {
            return;
        }
        self.pending.resize(self.vad.window_samples(), 0.0);
        let probability = self.vad.process_window(&self.pending);
        self.pending.clear();
        each(self.emit(probability));
    }

    /// Forgets everything: the network's state and context, buffered samples and the window count.
    pub fn reset(&mut self) {
        self.vad.reset();
        self.pending.clear();
        self.windows = 0;
    }

    /// Samples buffered towards the next window.
    pub fn pending_samples(&self) -> usize {
        self.pending.len()
    }

    /// The underlying window-by-window model.
    pub fn vad(&self) -> &SileroVad {
        &self.vad
    }

    fn emit(&mut self, probability: f32) -> WindowProbability {
        let start_sample = self.windows * self.vad.window_samples() as u64;
        self.windows += 1;
        WindowProbability {
            start_sample,
            probability,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chirp(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (i as f32 * (0.01 + i as f32 * 1e-6)).sin() * 0.4)
            .collect()
    }

    fn run(stream: &mut SileroStream, audio: &[f32], chunk: usize) -> Vec<WindowProbability> {
        let mut out = Vec::new();
        for piece in audio.chunks(chunk) {
            stream.push(piece, |w| out.push(w));
        }
        out
    }

    #[test]
    fn chunk_size_does_not_change_the_probabilities() {
        let audio = chirp(16000);
        let mut stream = SileroStream::new(16000).unwrap();
        let whole = run(&mut stream, &audio, audio.len());
        assert_eq!(whole.len(), 16000 / 512);
        for chunk in [1, 160, 320, 511, 512, 513, 2048] {
            stream.reset();
            assert_eq!(run(&mut stream, &audio, chunk), whole, "chunk {chunk}");
        }
    }

    #[test]
    fn windows_are_numbered_by_their_first_sample() {
        let mut stream = SileroStream::new(8000).unwrap();
        let windows = run(&mut stream, &chirp(1000), 100);
        let starts: Vec<u64> = windows.iter().map(|w| w.start_sample).collect();
        assert_eq!(starts, [0, 256, 512]);
        assert_eq!(stream.pending_samples(), 1000 - 768);
    }

    #[test]
    fn flush_runs_the_last_partial_window_padded_with_zeros() {
        let audio = chirp(600);
        let mut stream = SileroStream::new(16000).unwrap();
        let mut windows = run(&mut stream, &audio, 600);
        stream.flush(|w| windows.push(w));
        assert_eq!(stream.pending_samples(), 0);
        let mut padded = audio.clone();
        padded.resize(1024, 0.0);
        let mut fresh = SileroVad::new(16000).unwrap();
        let expected: Vec<f32> = padded
            .chunks(512)
            .map(|w| fresh.process_window(w))
            .collect();
        let got: Vec<f32> = windows.iter().map(|w| w.probability).collect();
        assert_eq!(got, expected);
        stream.flush(|_| panic!("nothing is pending"));
    }

    #[test]
    fn reset_starts_the_stream_over() {
        let audio = chirp(3000);
        let mut stream = SileroStream::new(16000).unwrap();
        let first = run(&mut stream, &audio, 700);
        stream.reset();
        assert_eq!(stream.pending_samples(), 0);
        assert_eq!(run(&mut stream, &audio, 700), first);
    }
}
