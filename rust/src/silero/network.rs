//! The forward pass of one window, written out by hand: the operations of the `If` branch of
//! `silero_vad.onnx` for the sample rate (Pad reflect → STFT magnitude → 4 × Conv + ReLU → LSTM cell
//! → ReLU → 1×1 Conv → Sigmoid → mean over one step). The STFT is an FFT of the Hann-windowed frame
//! (the model's convolution basis is exactly that DFT, checked at load); every other layer is dot
//! products over contiguous rows, which the compiler turns into SIMD with the baseline target
//! features. Activations are `[time][channel]`; nothing is allocated per window.

use realfft::num_complex::Complex;

use super::model::{Conv, Network, STATE};

/// The recurrent state carried from window to window: the LSTM's `h` and `c`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    pub h: [f32; STATE],
    pub c: [f32; STATE],
}

impl Default for State {
    fn default() -> Self {
        Self {
            h: [0.0; STATE],
            c: [0.0; STATE],
        }
    }
}

/// Frames of the STFT per window at both rates: `(context + window + pad − n_fft) / hop + 1`.
const FRAMES: usize = 4;

/// Working memory of one forward pass, sized for the network it was made for.
#[derive(Debug, Clone)]
pub(crate) struct Scratch {
    frame: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    fft_scratch: Vec<Complex<f32>>,
    /// Activations, `[time][channel]`, alternating between layers.
    ping: Vec<f32>,
    pong: Vec<f32>,
    /// `[x, h]`, the LSTM cell's input.
    cell_input: Vec<f32>,
    gates: Vec<f32>,
}

impl Scratch {
    pub(crate) fn new(network: &Network) -> Self {
        let widest = network.bins.max(STATE) * FRAMES;
        Self {
            frame: vec![0.0; network.n_fft],
            spectrum: network.fft.make_output_vec(),
            fft_scratch: network.fft.make_scratch_vec(),
            ping: vec![0.0; widest],
            pong: vec![0.0; widest],
            cell_input: vec![0.0; 2 * STATE],
            gates: vec![0.0; 4 * STATE],
        }
    }
}

impl Network {
    /// The speech probability of one window. `input` is the context, the window and room for the
    /// reflection padding (`context + window + context` samples); the padding is written here.
    pub(crate) fn forward(
        &self,
        input: &mut [f32],
        state: &mut State,
        scratch: &mut Scratch,
    ) -> f32 {
        let signal = self.context + self.window;
        debug_assert_eq!(input.len(), signal + self.context);
        // Pad(mode=reflect) on the right: the samples before the last one, mirrored.
        for k in 0..self.context {
            input[signal + k] = input[signal - 2 - k];
        }
        let frames = (input.len() - self.n_fft) / self.hop + 1;
        debug_assert_eq!(frames, FRAMES);

        self.stft_magnitudes(input, scratch);

        // Encoder: 4 × 129 (65) → 4 × 128 → 2 × 64 → 1 × 64 → 1 × 128.
        let mut length = frames;
        let (mut from, mut to) = (&mut scratch.ping, &mut scratch.pong);
        for conv in &self.encoder {
            length = conv.forward(from, length, to);
            std::mem::swap(&mut from, &mut to);
        }
        // The decoder reads time step 0 of the encoder's output (its only one).
        debug_assert_eq!(length, 1);
        let encoded = &from[..STATE];

        // LSTM cell: gates = W_ih·x + b_ih + W_hh·h + b_hh; i, f, o sigmoid, g tanh.
        let (x, h) = scratch.cell_input.split_at_mut(STATE);
        x.copy_from_slice(encoded);
        h.copy_from_slice(&state.h);
        for ((gate, row), bias) in scratch
            .gates
            .iter_mut()
            .zip(self.lstm_weight.chunks_exact(2 * STATE))
            .zip(&self.lstm_bias)
        {
            *gate = dot(row, &scratch.cell_input) + bias;
        }
        let (input_gate, rest) = scratch.gates.split_at(STATE);
        let (forget_gate, rest) = rest.split_at(STATE);
        let (cell_gate, output_gate) = rest.split_at(STATE);
        for j in 0..STATE {
            let c =
                sigmoid(forget_gate[j]) * state.c[j] + sigmoid(input_gate[j]) * tanh(cell_gate[j]);
            state.c[j] = c;
            state.h[j] = sigmoid(output_gate[j]) * tanh(c);
        }

        // Decoder: ReLU, 1×1 convolution to one channel, sigmoid (the mean over one time step is itself).
        let logit = state
            .h
            .iter()
            .zip(&self.decoder_weight)
            .map(|(h, w)| h.max(0.0) * w)
            .sum::<f32>()
            + self.decoder_bias;
        sigmoid(logit)
    }

    /// STFT magnitude of each frame into `scratch.ping` (`[frame][bin]`): |DFT(frame · window)|,
    /// as sqrt(re² + im²) like the model.
    fn stft_magnitudes(&self, input: &[f32], scratch: &mut Scratch) {
        for (frame, magnitudes) in scratch
            .ping
            .chunks_exact_mut(self.bins)
            .take(FRAMES)
            .enumerate()
        {
            let samples = &input[frame * self.hop..frame * self.hop + self.n_fft];
            for ((windowed, x), w) in scratch
                .frame
                .iter_mut()
                .zip(samples)
                .zip(&self.analysis_window)
            {
                *windowed = x * w;
            }
            self.fft
                .process_with_scratch(
                    &mut scratch.frame,
                    &mut scratch.spectrum,
                    &mut scratch.fft_scratch,
                )
                .expect("buffers sized by the plan");
            for (magnitude, bin) in magnitudes.iter_mut().zip(&scratch.spectrum) {
                *magnitude = (bin.re * bin.re + bin.im * bin.im).sqrt();
            }
        }
    }
}

impl Conv {
    /// `input` is `[length][inputs]`; writes `[length_out][outputs]` into `output` and returns
    /// `length_out`. Taps that fall on the zero padding are skipped, not multiplied.
    fn forward(&self, input: &[f32], length: usize, output: &mut [f32]) -> usize {
        let out_length = (length - 1) / self.stride + 1;
        debug_assert!(out_length <= FRAMES);
        debug_assert!(
            input.len() >= self.inputs * length && output.len() >= self.outputs * out_length
        );
        for (o, (taps, bias)) in self
            .weight
            .chunks_exact(3 * self.inputs)
            .zip(&self.bias)
            .enumerate()
        {
            let mut sums = [*bias; FRAMES];
            for (k, tap) in taps.chunks_exact(self.inputs).enumerate() {
                // Output steps whose tap k lands inside the input (one step of zero padding on each
                // side): input step t · stride + k − 1 must be in 0..length.
                let first = (1usize.saturating_sub(k)).div_ceil(self.stride);
                let last = (length + 1 - k).div_ceil(self.stride).min(out_length);
                for (t, sum) in sums.iter_mut().enumerate().take(last).skip(first) {
                    let position = t * self.stride + k - 1;
                    let row = &input[position * self.inputs..(position + 1) * self.inputs];
                    *sum += dot(tap, row);
                }
            }
            for (t, sum) in sums.iter().enumerate().take(out_length) {
                output[t * self.outputs + o] = sum.max(0.0);
            }
        }
        out_length
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// `tanh` through one `exp` (2·sigmoid(2x) − 1): within 1e-7 of `f32::tanh`, whose libm version
/// costs several times more (it was 15 % of the forward pass).
fn tanh(x: f32) -> f32 {
    2.0 / (1.0 + (-2.0 * x).exp()) - 1.0
}

/// Lanes of independent partial sums: enough for the compiler to keep several SIMD accumulators in
/// flight (a single running sum would serialise every addition).
const LANES: usize = 16;

/// `Σ a[i] · b[i]` over equal lengths.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut sums = [0.0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            sums[lane] += x[lane] * y[lane];
        }
    }
    sums.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_a_plain_sum_for_every_length() {
        for n in 0..70 {
            let a: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
            let b: Vec<f32> = (0..n).map(|i| 1.0 - i as f32 * 0.25).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!(
                (dot(&a, &b) - plain).abs() <= 1e-3 * plain.abs().max(1.0),
                "n = {n}"
            );
        }
    }

    #[test]
    fn conv_pads_with_one_zero_on_each_side_and_strides() {
        // One input and one output channel, kernel [1, 2, 3], bias 0.5, stride 2, input [1, 2, 3, 4].
        let conv = Conv {
            inputs: 1,
            outputs: 1,
            stride: 2,
            weight: vec![1.0, 2.0, 3.0],
            bias: vec![0.5],
        };
        let mut output = vec![0.0; 2];
        let length = conv.forward(&[1.0, 2.0, 3.0, 4.0], 4, &mut output);
        assert_eq!(length, 2);
        // t = 0 sees [0, 1, 2]; t = 1 sees [2, 3, 4].
        assert_eq!(output, [0.0 + 2.0 + 6.0 + 0.5, 2.0 + 6.0 + 12.0 + 0.5]);
    }

    #[test]
    fn conv_weights_are_tap_major_and_activations_time_major() {
        // Two inputs, two outputs, length 2, stride 1. Output 1 takes tap 2 (the next step) of input 0.
        let mut weight = vec![0.0; 2 * 3 * 2];
        weight[(3 + 2) * 2] = 1.0;
        let conv = Conv {
            inputs: 2,
            outputs: 2,
            stride: 1,
            weight,
            bias: vec![0.0, 0.0],
        };
        // input[t][channel]: t0 = [1, 10], t1 = [2, 20].
        let mut output = vec![9.0; 4];
        conv.forward(&[1.0, 10.0, 2.0, 20.0], 2, &mut output);
        assert_eq!(output, [0.0, 2.0, 0.0, 0.0]);
    }

    #[test]
    fn stft_magnitudes_match_a_direct_windowed_dft() {
        for sample_rate in [16000, 8000] {
            let network = super::super::model::network(sample_rate).unwrap();
            let input: Vec<f32> = (0..network.context * 2 + network.window)
                .map(|i| ((i * i) as f32 * 0.001).sin())
                .collect();
            let mut scratch = Scratch::new(network);
            network.stft_magnitudes(&input, &mut scratch);
            let n = network.n_fft;
            for frame in 0..FRAMES {
                for bin in 0..network.bins {
                    let (mut re, mut im) = (0.0f64, 0.0f64);
                    for t in 0..n {
                        let x =
                            f64::from(input[frame * network.hop + t] * network.analysis_window[t]);
                        let angle = std::f64::consts::TAU * ((bin * t) % n) as f64 / n as f64;
                        re += x * angle.cos();
                        im -= x * angle.sin();
                    }
                    let got = f64::from(scratch.ping[frame * network.bins + bin]);
                    assert!(
                        (got - re.hypot(im)).abs() < 1e-4,
                        "{sample_rate} Hz, frame {frame}, bin {bin}"
                    );
                }
            }
        }
    }

    #[test]
    fn tanh_through_exp_is_within_float_precision_of_tanh() {
        for i in -2000..=2000 {
            let x = i as f32 * 0.01;
            assert!((tanh(x) - x.tanh()).abs() < 2e-7, "{x}");
        }
    }

    #[test]
    fn conv_with_stride_one_skips_the_padding_taps() {
        // One channel, kernel [1, 10, 100], input [1, 2, 3, 4]: t0 = 0·1 + 1·10 + 2·100, …
        let conv = Conv {
            inputs: 1,
            outputs: 1,
            stride: 1,
            weight: vec![1.0, 10.0, 100.0],
            bias: vec![0.0],
        };
        let mut output = vec![0.0; 4];
        assert_eq!(conv.forward(&[1.0, 2.0, 3.0, 4.0], 4, &mut output), 4);
        assert_eq!(output, [210.0, 321.0, 432.0, 43.0]);
    }

    #[test]
    fn conv_applies_relu() {
        let conv = Conv {
            inputs: 1,
            outputs: 1,
            stride: 1,
            weight: vec![0.0, -1.0, 0.0],
            bias: vec![0.0],
        };
        let mut output = vec![9.0; 2];
        conv.forward(&[1.0, -2.0], 2, &mut output);
        assert_eq!(output, [0.0, 2.0]);
    }
}
