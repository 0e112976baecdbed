//! The embedded model: `rust/models/silero_vad.onnx` (Silero VAD v6 from the `silero-vad` 6.2.3 wheel,
//! MIT, see `rust/models/LICENSE`), compiled into the library with `include_bytes!`, read once per
//! process on first use into the weights of its two networks (16 kHz and 8 kHz), which every
//! [`SileroVad`](super::SileroVad) then shares.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use realfft::{RealFftPlanner, RealToComplex};

use super::onnx::{float_tensors, Tensor};
use super::SileroError;

/// The ONNX file as shipped by `silero-vad` (the file `load_silero_vad(onnx=True)` loads).
static MODEL_ONNX: &[u8] = include_bytes!("../../models/silero_vad.onnx");

/// Width of the LSTM state (`h` and `c` each), the encoder's output, and the decoder's input.
pub(crate) const STATE: usize = 128;

/// One of the model's two networks (same architecture, sizes set by the sample rate): an STFT
/// magnitude, four 1-D convolutions with ReLU, an LSTM cell, a 1×1 convolution and a sigmoid.
pub(crate) struct Network {
    pub sample_rate: u32,
    /// New samples per window: 512 at 16 kHz, 256 at 8 kHz.
    pub window: usize,
    /// Samples of the previous window that precede each window: 64 at 16 kHz, 32 at 8 kHz. It is also
    /// the length of the reflection padding appended after the window.
    pub context: usize,
    /// STFT length (256 / 128) and hop (half of it).
    pub n_fft: usize,
    pub hop: usize,
    /// Frequency bins: `n_fft / 2 + 1`.
    pub bins: usize,
    /// The STFT's analysis window: row 0 of the model's basis (a periodic Hann window). The model
    /// computes the STFT as a convolution with `window · cos` and `−window · sin` rows; [`load`]
    /// checks that the basis is exactly that, so an FFT of the windowed frame gives the same
    /// magnitudes for ~1/50 of the arithmetic.
    pub analysis_window: Vec<f32>,
    pub fft: Arc<dyn RealToComplex<f32>>,
    pub encoder: [Conv; 4],
    /// `[4 * STATE][2 * STATE]`: row `r` is `weight_ih[r]` followed by `weight_hh[r]`, so one dot
    /// product with `[x, h]` gives a gate's pre-activation. Gate order (PyTorch): input, forget, cell,
    /// output.
    pub lstm_weight: Vec<f32>,
    /// `bias_ih + bias_hh`.
    pub lstm_bias: Vec<f32>,
    pub decoder_weight: Vec<f32>,
    pub decoder_bias: f32,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("sample_rate", &self.sample_rate)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

/// A 1-D convolution with kernel 3, padding 1 on both sides, followed by ReLU.
#[derive(Debug)]
pub(crate) struct Conv {
    pub inputs: usize,
    pub outputs: usize,
    pub stride: usize,
    /// `[outputs][3][inputs]`: tap-major (ONNX stores `[out][in][kernel]`), so that each tap is a
    /// contiguous dot product with one time step of the input (activations are `[time][channel]`).
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

struct Model {
    rate_16k: Network,
    rate_8k: Network,
}

static MODEL: OnceLock<Result<Model, String>> = OnceLock::new();

/// Name (after a network's prefix) of the STFT's basis, the tensor that tells the networks apart.
const BASIS: &str = "stft.forward_basis_buffer";

/// The network for `sample_rate` (8000 or 16000), reading the embedded model on first use.
pub(crate) fn network(sample_rate: u32) -> Result<&'static Network, SileroError> {
    let model = MODEL
        .get_or_init(|| load(MODEL_ONNX))
        .as_ref()
        .map_err(|e| SileroError::Model(e.clone()))?;
    match sample_rate {
        16000 => Ok(&model.rate_16k),
        8000 => Ok(&model.rate_8k),
        other => Err(SileroError::UnsupportedSampleRate(other)),
    }
}

fn load(bytes: &[u8]) -> Result<Model, String> {
    let tensors = float_tensors(bytes)?;
    // Each network's tensors share a prefix ("model." / "model_8k." in the op15 and op18 exports,
    // the `If` branch's inlining prefix in silero_vad.onnx); its STFT basis tells its sample rate.
    let mut rate_16k = None;
    let mut rate_8k = None;
    for (name, basis) in &tensors {
        let Some(prefix) = name.strip_suffix(BASIS) else {
            continue;
        };
        match basis.dims.as_slice() {
            [_, 1, 256] => rate_16k = Some(network_from(&tensors, prefix, 16000)?),
            [_, 1, 128] => rate_8k = Some(network_from(&tensors, prefix, 8000)?),
            other => return Err(format!("{name} has the unexpected shape {other:?}")),
        }
    }
    Ok(Model {
        rate_16k: rate_16k.ok_or("the model has no 16 kHz network")?,
        rate_8k: rate_8k.ok_or("the model has no 8 kHz network")?,
    })
}

fn network_from(
    tensors: &HashMap<String, Tensor>,
    prefix: &str,
    sample_rate: u32,
) -> Result<Network, String> {
    let get = |name: &str, dims: &[usize]| -> Result<Vec<f32>, String> {
        let full = format!("{prefix}{name}");
        let tensor = tensors
            .get(&full)
            .ok_or_else(|| format!("the model has no tensor {full}"))?;
        if tensor.dims != dims {
            return Err(format!(
                "{full} has the shape {:?}, expected {dims:?}",
                tensor.dims
            ));
        }
        Ok(tensor.values.clone())
    };
    let n_fft = if sample_rate == 16000 { 256 } else { 128 };
    let bins = n_fft / 2 + 1;
    let conv =
        |index: usize, inputs: usize, outputs: usize, stride: usize| -> Result<Conv, String> {
            let name = format!("encoder.{index}.reparam_conv");
            let onnx_order = get(&format!("{name}.weight"), &[outputs, inputs, 3])?;
            let mut weight = vec![0.0; onnx_order.len()];
            for (o, row) in onnx_order.chunks_exact(inputs * 3).enumerate() {
                for (i, taps) in row.chunks_exact(3).enumerate() {
                    for (k, &w) in taps.iter().enumerate() {
                        weight[(o * 3 + k) * inputs + i] = w;
                    }
                }
            }
            Ok(Conv {
                inputs,
                outputs,
                stride,
                weight,
                bias: get(&format!("{name}.bias"), &[outputs])?,
            })
        };
    let weight_ih = get("decoder.rnn.weight_ih", &[4 * STATE, STATE])?;
    let weight_hh = get("decoder.rnn.weight_hh", &[4 * STATE, STATE])?;
    let lstm_weight = weight_ih
        .chunks_exact(STATE)
        .zip(weight_hh.chunks_exact(STATE))
        .flat_map(|(ih, hh)| ih.iter().chain(hh).copied())
        .collect();
    let basis = get(BASIS, &[2 * bins, 1, n_fft])?;
    let analysis_window = basis[..n_fft].to_vec();
    check_basis(&basis, &analysis_window, bins).map_err(|e| format!("{prefix}{BASIS}: {e}"))?;
    let bias_ih = get("decoder.rnn.bias_ih", &[4 * STATE])?;
    let bias_hh = get("decoder.rnn.bias_hh", &[4 * STATE])?;
    Ok(Network {
        sample_rate,
        window: n_fft * 2,
        context: n_fft / 4,
        n_fft,
        hop: n_fft / 2,
        bins,
        analysis_window,
        fft: RealFftPlanner::new().plan_fft_forward(n_fft),
        encoder: [
            conv(0, bins, 128, 1)?,
            conv(1, 128, 64, 2)?,
            conv(2, 64, 64, 2)?,
            conv(3, 64, STATE, 1)?,
        ],
        lstm_weight,
        lstm_bias: bias_ih.iter().zip(&bias_hh).map(|(a, b)| a + b).collect(),
        decoder_weight: get("decoder.decoder.2.weight", &[1, STATE, 1])?,
        decoder_bias: get("decoder.decoder.2.bias", &[1])?[0],
    })
}

/// Checks that row `k` of the basis is `window · cos(2πkn/N)` and row `bins + k` is
/// `−window · sin(2πkn/N)` (to float precision), i.e. that the model's STFT is a windowed DFT.
fn check_basis(basis: &[f32], window: &[f32], bins: usize) -> Result<(), String> {
    let n_fft = window.len();
    for (row, values) in basis.chunks_exact(n_fft).enumerate() {
        let (k, part) = (row % bins, row / bins);
        for (n, (&value, &w)) in values.iter().zip(window).enumerate() {
            let angle = std::f64::consts::TAU * ((k * n) % n_fft) as f64 / n_fft as f64;
            let trig = if part == 0 { angle.cos() } else { -angle.sin() };
            let expected = f64::from(w) * trig;
            if (f64::from(value) - expected).abs() > 1e-6 {
                return Err(format!(
                    "row {row}, column {n} is {value}, not the windowed DFT's {expected}"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_model_has_both_networks() {
        let wide = network(16000).unwrap();
        assert_eq!((wide.window, wide.context, wide.bins), (512, 64, 129));
        assert_eq!(wide.lstm_weight.len(), 4 * STATE * 2 * STATE);
        assert_eq!(wide.analysis_window.len(), 256);
        let narrow = network(8000).unwrap();
        assert_eq!((narrow.window, narrow.context, narrow.bins), (256, 32, 65));
    }

    #[test]
    fn other_sample_rates_are_refused_by_name() {
        let error = network(44100).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Silero VAD runs at 8000 or 16000 Hz, got 44100 Hz"
        );
    }

    #[test]
    fn a_basis_that_is_not_a_windowed_dft_is_refused() {
        let window = [0.0f32, 0.5, 1.0, 0.5];
        // bins = 3: rows cos k=0..2, then −sin k=0..2.
        let mut basis = Vec::new();
        for part in 0..2 {
            for k in 0..3 {
                for (n, w) in window.iter().enumerate() {
                    let angle = std::f64::consts::TAU * (k * n) as f64 / 4.0;
                    let trig = if part == 0 { angle.cos() } else { -angle.sin() };
                    basis.push((f64::from(*w) * trig) as f32);
                }
            }
        }
        assert_eq!(check_basis(&basis, &window, 3), Ok(()));
        basis[5] += 0.01;
        assert!(check_basis(&basis, &window, 3).is_err());
    }

    #[test]
    fn a_model_without_networks_is_an_error() {
        assert!(load(&[]).is_err());
    }
}
