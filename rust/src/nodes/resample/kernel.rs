//! The resampling kernels behind `Resample`: which rubato resampler a rate pair gets (synchronous FFT
//! for small common structures, asynchronous sinc otherwise), its exact delay, and building it.

use super::*;

pub(super) fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Which rubato resampler a preset uses for a rate pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kernel {
    /// Asynchronous cubic polynomial, `chunk` input frames per call.
    Poly { chunk: usize },
    /// Synchronous FFT with blocks of about `chunk` input frames (a multiple of `in / gcd`).
    Fft { chunk: usize },
    /// Asynchronous windowed sinc of `taps` points, `chunk` input frames per call.
    Sinc { taps: usize, chunk: usize },
}

/// `ms_at_48k` worth of frames at 48 kHz, scaled to `rate` (so about the same duration at every rate).
pub(super) fn frames_like_48k(rate: u32, frames_at_48k: u64) -> usize {
    (rate as u64 * frames_at_48k / 48_000).max(16) as usize
}

impl Kernel {
    pub(super) fn choose(quality: &str, in_rate: u32, out_rate: u32) -> Kernel {
        // The FFT block is a multiple of this many input frames.
        let fft_unit = in_rate as u64 / gcd(in_rate as u64, out_rate as u64);
        let short_chunk = frames_like_48k(in_rate, 512); // ~10.7 ms
        match quality {
            "fast" => Kernel::Poly {
                chunk: frames_like_48k(in_rate, 1024),
            },
            "high" => {
                let chunk = frames_like_48k(in_rate, 4096);
                if fft_unit as usize <= chunk {
                    Kernel::Fft { chunk }
                } else {
                    Kernel::Sinc {
                        taps: 256,
                        chunk: short_chunk,
                    }
                }
            }
            _ => {
                if fft_unit as usize <= short_chunk {
                    Kernel::Fft { chunk: short_chunk }
                } else {
                    Kernel::Sinc {
                        taps: 128,
                        chunk: short_chunk,
                    }
                }
            }
        }
    }

    pub(super) fn build(
        self,
        in_rate: u32,
        out_rate: u32,
        channels: usize,
    ) -> Result<Box<dyn Resampler<f32>>, NodeError> {
        let ratio = out_rate as f64 / in_rate as f64;
        let err = |e: rubato::ResamplerConstructionError| {
            NodeError::BadInput(format!(
                "cannot resample {in_rate} Hz to {out_rate} Hz: {e}"
            ))
        };
        Ok(match self {
            Kernel::Poly { chunk } => Box::new(
                Async::<f32>::new_poly(
                    ratio,
                    1.0,
                    rubato::PolynomialDegree::Cubic,
                    chunk,
                    channels,
                    FixedAsync::Input,
                )
                .map_err(err)?,
            ),
            // One FFT block per call (no sub-blocks): measured fastest per item here.
            Kernel::Fft { chunk } => Box::new(
                Fft::<f32>::new_custom(
                    in_rate as usize,
                    out_rate as usize,
                    chunk,
                    1,
                    channels,
                    WindowFunction::BlackmanHarris2,
                    FixedSync::Input,
                )
                .map_err(err)?,
            ),
            Kernel::Sinc { taps, chunk } => Box::new(
                Async::<f32>::new_sinc(
                    ratio,
                    1.0,
                    &SincInterpolationParameters::new(taps, WindowFunction::BlackmanHarris2)
                        .oversampling_factor(256)
                        .interpolation(SincInterpolationType::Linear),
                    chunk,
                    channels,
                    FixedAsync::Input,
                )
                .map_err(err)?,
            ),
        })
    }
}

/// An error naming the rate and the range when `rate` is outside [`MIN_RATE`]`..=`[`MAX_RATE`].
pub(super) fn check_rate(what: &str, rate: u32) -> Result<(), NodeError> {
    if (MIN_RATE..=MAX_RATE).contains(&rate) {
        return Ok(());
    }
    Err(NodeError::BadInput(format!(
        "{what} sample rate {rate} Hz is outside Resample's supported range of {MIN_RATE}..={MAX_RATE} Hz"
    )))
}

/// The exact delay (in output frames, possibly fractional) of a kernel for a rate pair, measured once
/// per process: rubato reports its delays rounded, and a fraction of a sample is a phase error that
/// shows at high frequencies. Measured from the phase of a sine at 1/64 of the lower rate (well inside
/// the pass band), fitted by least squares after the start-up transient; the whole periods that phase
/// cannot tell apart are taken from rubato's rounded delay. The work is a few of the sine's periods
/// plus twice the delay, linear in the rates.
pub(super) fn exact_delay(kernel: Kernel, in_rate: u32, out_rate: u32) -> Result<f64, NodeError> {
    /// (kernel, input rate, output rate) → delay in output frames.
    type DelayKey = (Kernel, u32, u32);
    static CACHE: Mutex<Vec<(DelayKey, f64)>> = Mutex::new(Vec::new());
    let key = (kernel, in_rate, out_rate);
    if let Some((_, d)) = CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(k, _)| *k == key)
    {
        return Ok(*d);
    }
    let (delay, _) = measure_delay(kernel, in_rate, out_rate)?;
    CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((key, delay));
    Ok(delay)
}

/// [`exact_delay`] without the cache; also returns how many input frames the measurement ran.
pub(super) fn measure_delay(
    kernel: Kernel,
    in_rate: u32,
    out_rate: u32,
) -> Result<(f64, usize), NodeError> {
    let mut r = kernel.build(in_rate, out_rate, 1)?;
    let coarse = r.output_delay() as f64;
    let freq = in_rate.min(out_rate) as f64 / 64.0;
    let period = out_rate as f64 / freq; // output frames, >= 64
    let fit_from = (2.0 * coarse + period).ceil() as usize;
    let fit_len = (2.0 * period).ceil() as usize;
    let w_in = 2.0 * std::f64::consts::PI * freq / in_rate as f64;
    let w_out = 2.0 * std::f64::consts::PI * freq / out_rate as f64;
    let mut output = Vec::with_capacity(fit_from + fit_len + r.output_frames_max());
    let mut buffer = vec![0f32; r.output_frames_max()];
    let mut input = Vec::new();
    let mut pos = 0usize;
    while output.len() < fit_from + fit_len {
        let n = r.input_frames_next();
        input.clear();
        input.extend((pos..pos + n).map(|i| (w_in * i as f64).sin() as f32));
        let inp = InterleavedSlice::new(&input[..], 1, n)
            .map_err(|e| NodeError::BadInput(e.to_string()))?;
        let cap = buffer.len();
        let mut out = InterleavedSlice::new_mut(&mut buffer[..], 1, cap)
            .map_err(|e| NodeError::BadInput(e.to_string()))?;
        let (_, written) = r
            .process_into_buffer(&inp, &mut out, None)
            .map_err(|e| NodeError::BadInput(format!("resampler failed: {e}")))?;
        output.extend_from_slice(&buffer[..written]);
        pos += n;
    }
    // Least squares for v(i) ≈ a·sin(w·i) + b·cos(w·i) = A·sin(w·(i − delay)).
    let (mut ss, mut sc, mut cc, mut vs, mut vc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &v) in output.iter().enumerate().skip(fit_from).take(fit_len) {
        let (s, c) = (w_out * i as f64).sin_cos();
        ss += s * s;
        sc += s * c;
        cc += c * c;
        vs += v as f64 * s;
        vc += v as f64 * c;
    }
    let det = ss * cc - sc * sc;
    let a = (vs * cc - vc * sc) / det;
    let b = (vc * ss - vs * sc) / det;
    let phase_delay = -b.atan2(a) / w_out;
    // The delay is the phase delay plus the whole number of periods that brings it nearest rubato's.
    let delay = phase_delay + ((coarse - phase_delay) / period).round() * period;
    Ok((delay, pos))
}

/// A resampler and how to make its delay a whole number of output frames.
pub(super) struct Prepared {
    /// The resampler.
    pub(super) resampler: Box<dyn Resampler<f32>>,
    /// Zero frames to prepend to the input.
    pub(super) pad: usize,
    /// Output frames to discard.
    pub(super) skip: usize,
}

/// Builds the resampler of a preset with its delay compensation. Prepending `p` input frames adds
/// `p·out/in` output frames of delay; `p` is chosen so that the total is (nearly) whole, then that many
/// output frames are discarded. The candidates for `p` stop at ~10 ms of input, so the padding never
/// adds more latency than that.
pub(super) fn build_resampler(
    quality: &str,
    in_rate: u32,
    out_rate: u32,
    channels: usize,
) -> Result<Prepared, NodeError> {
    let kernel = Kernel::choose(quality, in_rate, out_rate);
    // rubato allocates its buffers per channel (infallibly): check their size against the cap first.
    // Per channel: its input and output blocks, about four times over (rubato's scratch and overlap,
    // this node's FIFO and output buffer).
    let one = kernel.build(in_rate, out_rate, 1)?;
    let per_channel = (one.input_frames_max() + one.output_frames_max()) as u64 * 4 * 4;
    alloc::check_payload(
        || {
            format!(
                "Resample buffers for {channels} channels at {in_rate} -> {out_rate} Hz: channels × bytes per channel = {channels} × {per_channel}"
            )
        },
        alloc::product(&[channels as u64, per_channel]),
    )?;
    let resampler = kernel.build(in_rate, out_rate, channels)?;
    let delay = exact_delay(kernel, in_rate, out_rate)?;
    let g = gcd(in_rate as u64, out_rate as u64);
    let (up, down) = ((out_rate as u64 / g) as f64, in_rate as u64 / g);
    // An FFT kernel's unit `down` is at most one block, so every residue is reachable within a block;
    // otherwise the candidates stop at ~10 ms of input.
    let candidates = match kernel {
        Kernel::Fft { .. } => down,
        _ => down.min(frames_like_48k(in_rate, 512) as u64),
    };
    let mut best = (0u64, f64::MAX);
    for pad in 0..candidates {
        let total = delay + pad as f64 * up / down as f64;
        let off = (total - total.round()).abs();
        if total > -0.5 && off < best.1 - 1e-9 {
            best = (pad, off);
        }
    }
    let skip = (delay + best.0 as f64 * up / down as f64).round().max(0.0) as usize;
    Ok(Prepared {
        resampler,
        pad: best.0 as usize,
        skip,
    })
}
