//! Resample's tests: exact lengths and latency at odd rates, continuity across items, the filters' SNR.

mod streaming {
    use crate::nodes::testing::*;
    use serde_json::json;

    fn total(out: &[std::sync::Arc<crate::data::RuntimeData>]) -> Vec<f32> {
        out.iter().flat_map(|d| samples_f32(d)).collect()
    }

    /// Streams mono `input` at `from` Hz in 20 ms items; returns every output sample and the (1-based)
    /// number of items after which output first appeared.
    fn stream(quality: &str, from: u32, to: u32, input: &[f32]) -> (Vec<f32>, Option<usize>) {
        let mut node = build("Resample", json!({"targetRate": to, "quality": quality}));
        let mut out = Outputs::default();
        let mut first = None;
        for (k, item) in input.chunks(from as usize / 50).enumerate() {
            node.process(0, audio(item.to_vec(), from, 1), &mut out)
                .unwrap();
            if first.is_none() && !out.is_empty() {
                first = Some(k + 1);
            }
        }
        node.flush(&mut out).unwrap();
        (total(&out), first)
    }

    /// Fits `a·sin(w·i) + b·cos(w·i)` to the middle 80 % of `s`: amplitude, delay in frames, and the
    /// SNR in dB of the samples against the fitted sine (any other frequency, noise or distortion
    /// counts as error).
    fn fit_sine(s: &[f32], rate: u32, freq: f64) -> (f64, f64, f64) {
        let w = 2.0 * std::f64::consts::PI * freq / rate as f64;
        let range = s.len() / 10..s.len() * 9 / 10;
        let (mut ss, mut sc, mut cc, mut vs, mut vc) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in range.clone() {
            let (si, co) = (w * i as f64).sin_cos();
            let v = s[i] as f64;
            (ss, sc, cc, vs, vc) = (
                ss + si * si,
                sc + si * co,
                cc + co * co,
                vs + v * si,
                vc + v * co,
            );
        }
        let det = ss * cc - sc * sc;
        let (a, b) = ((vs * cc - vc * sc) / det, (vc * ss - vs * sc) / det);
        let (mut sig, mut err) = (0.0, 0.0);
        for i in range {
            let fitted = a * (w * i as f64).sin() + b * (w * i as f64).cos();
            sig += fitted * fitted;
            err += (s[i] as f64 - fitted).powi(2);
        }
        (a.hypot(b), -b.atan2(a) / w, 10.0 * (sig / err).log10())
    }

    #[test]
    fn odd_rates_get_the_exact_length_early_output_and_an_intact_sine() {
        for quality in ["fast", "balanced", "high"] {
            for odd in [8001, 11025, 22050, 40009, 44101, 48001, 96000] {
                for common in [16000, 48000] {
                    for (from, to) in [(odd, common), (common, odd)] {
                        let input = sine(1000.0, from, from as usize, 0.5);
                        let (s, first) = stream(quality, from, to, &input);
                        let pair = format!("{quality} {from} -> {to}");
                        assert_eq!(s.len(), to as usize, "{pair}: 1 s in, 1 s out");
                        // high's FFT blocks are ~85 ms long by design.
                        let latest = if quality == "high" { 10 } else { 2 };
                        assert!(
                            first.is_some_and(|k| k <= latest),
                            "{pair}: first output after {first:?} items"
                        );
                        let (amp, delay, snr) = fit_sine(&s, to, 1000.0);
                        let min_snr = if quality == "fast" { 50.0 } else { 100.0 };
                        assert!(snr > min_snr, "{pair}: SNR {snr:.1} dB");
                        assert!((amp - 0.5).abs() < 0.005, "{pair}: amplitude {amp}");
                        // FFT kernels are aligned exactly; the others to within the fraction of an
                        // output frame that ~10 ms of padding can correct.
                        let kernel = super::super::Kernel::choose(quality, from, to);
                        let tolerance = if matches!(kernel, super::super::Kernel::Fft { .. }) {
                            0.005
                        } else {
                            0.5
                        };
                        assert!(delay.abs() < tolerance, "{pair}: {delay} frames late");
                        let f = zero_crossing_freq(&s[to as usize / 10..to as usize * 9 / 10], to);
                        assert!((f - 1000.0).abs() < 1.0, "{pair}: {f} Hz");
                    }
                }
            }
        }
    }

    #[test]
    fn the_tail_is_kept_at_non_standard_rates() {
        // 1 s at 44101 Hz used to become 15472 frames at 16 kHz instead of 16000.
        for items in [1, 50] {
            let input = sine(440.0, 44101, 44101, 0.5);
            let mut node = build("Resample", json!({"targetRate": 16000}));
            let chunks: Vec<_> = input
                .chunks(input.len().div_ceil(items))
                .map(|c| audio(c.to_vec(), 44101, 1))
                .collect();
            let s = total(&run(node.as_mut(), chunks));
            assert_eq!(s.len(), 16000, "{items} items");
            let (_, _, snr) = fit_sine(&s, 16000, 440.0);
            assert!(snr > 60.0, "{items} items: SNR {snr:.1}");
        }
    }

    #[test]
    fn rates_outside_the_supported_range_are_refused_before_anything_is_built() {
        for rate in [1, 999, 384_001, 4_294_967_291] {
            let mut node = build("Resample", json!({"targetRate": 16000}));
            let mut out = Outputs::default();
            let started = std::time::Instant::now();
            let err = node
                .process(0, audio(vec![0.0; 4], rate, 1), &mut out)
                .unwrap_err()
                .to_string();
            assert_eq!(
                err,
                format!("input sample rate {rate} Hz is outside Resample's supported range of 1000..=384000 Hz")
            );
            assert!(started.elapsed().as_secs() < 1, "refused at once");
        }
        // The ends of the range are accepted.
        for rate in [1000, 384_000] {
            let s = total(&run(
                build("Resample", json!({"targetRate": 16000})).as_mut(),
                vec![audio(vec![0.0; rate as usize / 10], rate, 1)],
            ));
            assert_eq!(s.len(), 1600, "{rate} Hz");
        }
    }

    #[test]
    fn measuring_the_delay_takes_work_linear_in_the_rates() {
        // The measurement used to run 16384·in/min(in, out) input frames: 6.3 million for
        // 384 kHz → 1 kHz, billions at absurd rates. Now it is bounded for every supported pair.
        for quality in ["fast", "balanced", "high"] {
            for (from, to) in [
                (1000, 384_000),
                (384_000, 1000),
                (1001, 384_000),
                (383_999, 1000),
                (44101, 16000),
            ] {
                let kernel = super::super::Kernel::choose(quality, from, to);
                let (delay, frames) = super::super::measure_delay(kernel, from, to).unwrap();
                assert!(
                    delay.is_finite() && delay > -1.0,
                    "{quality} {from} -> {to}: {delay}"
                );
                assert!(
                    frames <= 200_000,
                    "{quality} {from} -> {to}: {frames} input frames"
                );
            }
        }
    }

    #[test]
    fn huge_finite_samples_are_clamped_instead_of_panicking() {
        // ±3.4e38 made rubato's FFT panic ("Imaginary part of first value was non-zero").
        let mut input = sine(1000.0, 48000, 4800, 0.5);
        for (i, v) in input.iter_mut().enumerate().skip(1000).take(200) {
            *v = if i % 2 == 0 { f32::MAX } else { -f32::MAX };
        }
        for quality in ["fast", "balanced", "high"] {
            for (from, to) in [(48000, 16000), (48000, 44101), (16000, 48000)] {
                let frames = input.len() * from as usize / 48000;
                let out = run(
                    build("Resample", json!({"targetRate": to, "quality": quality})).as_mut(),
                    vec![audio(input[..frames].to_vec(), from, 1)],
                );
                let s = total(&out);
                let expected = (frames as f64 * to as f64 / from as f64).round();
                assert_eq!(s.len(), expected as usize, "{quality} {from} -> {to}");
                assert!(s.iter().all(|v| v.is_finite()), "{quality} {from} -> {to}");
                assert!(s.iter().all(|v| v.abs() < 1e10), "{quality} {from} -> {to}");
            }
        }
    }

    #[test]
    fn an_item_whose_output_would_exceed_the_payload_cap_is_refused() {
        // 12 M frames at 1 kHz become 4.6 G frames at 384 kHz: 18 GB of f32.
        let mut node = build(
            "Resample",
            json!({"targetRate": 384_000, "quality": "fast"}),
        );
        let mut out = Outputs::default();
        let err = node
            .process(0, audio(vec![0.0; 12_000_000], 1000, 1), &mut out)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "payload too large: 12000000 frames at 1000 Hz resampled to 384000 Hz: frames × channels × 4 \
             bytes (f32) = 4608000000 × 1 × 4 = 18432000000 bytes; the maximum payload size is \
             4294967296 bytes (RM_MAX_PAYLOAD_BYTES)"
        );
    }

    #[test]
    fn buffers_for_many_channels_are_checked_against_the_cap_before_rubato_allocates_them() {
        // 65535 channels from 1 kHz to 384 kHz: rubato's per-channel FFT buffers alone would be
        // gigabytes, allocated without a way to fail.
        let mut node = build(
            "Resample",
            json!({"targetRate": 384_000, "quality": "high"}),
        );
        let mut out = Outputs::default();
        let err = node
            .process(0, audio(vec![0.0; 65535], 1000, 65535), &mut out)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "payload too large: Resample buffers for 65535 channels at 1000 -> 384000 Hz"
            ),
            "{err}"
        );
        // Common layouts are far below it.
        let out = run(
            build("Resample", json!({"targetRate": 16000})).as_mut(),
            vec![audio(vec![0.0; 960 * 8], 48000, 8)],
        );
        assert_eq!(total(&out).len(), 320 * 8);
    }

    #[test]
    fn timestamps_saturate_instead_of_overflowing() {
        let mut item = (*audio(vec![0.0; 4800], 48000, 1)).clone();
        item.attributes.timestamp_us = Some(i64::MAX - 10);
        let out = run(
            build("Resample", json!({"targetRate": 16000})).as_mut(),
            vec![std::sync::Arc::new(item)],
        );
        let last = out.last().unwrap().attributes().timestamp_us;
        assert_eq!(last, Some(i64::MAX));
    }

    #[test]
    fn sine_keeps_frequency_level_and_exact_length_for_every_preset() {
        for quality in ["fast", "balanced", "high"] {
            let input = sine(1000.0, 48000, 48000, 0.5);
            // Uneven item sizes exercise the streaming path.
            let items: Vec<_> = input
                .chunks(777)
                .map(|c| audio(c.to_vec(), 48000, 1))
                .collect();
            let out = run(
                build("Resample", json!({"targetRate": 16000, "quality": quality})).as_mut(),
                items,
            );
            let s = total(&out);
            assert_eq!(s.len(), 16000, "{quality}: exact output length");
            let body = &s[800..15200];
            let f = zero_crossing_freq(body, 16000);
            assert!((f - 1000.0).abs() < 5.0, "{quality}: frequency {f}");
            let level = rms(body);
            assert!(
                (level - 0.5 / 2f64.sqrt()).abs() < 0.01,
                "{quality}: rms {level}"
            );
        }
    }

    #[test]
    fn no_clicks_at_item_boundaries() {
        let input = sine(440.0, 44100, 44100, 0.8);
        let items: Vec<_> = input
            .chunks(441)
            .map(|c| audio(c.to_vec(), 44100, 1))
            .collect();
        let out = run(
            build("Resample", json!({"targetRate": 48000})).as_mut(),
            items,
        );
        let s = total(&out);
        assert_eq!(s.len(), 48000);
        // A 440 Hz sine at 0.8 changes by at most 2π·440·0.8/48000 ≈ 0.046 per sample.
        let max_step = s[100..47900]
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0f32, f32::max);
        assert!(max_step < 0.05, "largest step {max_step}");
    }

    #[test]
    fn stereo_upsampling_keeps_channels_apart() {
        let left = sine(500.0, 16000, 16000, 0.5);
        let inter: Vec<f32> = left.iter().flat_map(|&l| [l, 0.0]).collect();
        let out = run(
            build("Resample", json!({"targetRate": 48000})).as_mut(),
            vec![audio(inter, 16000, 2)],
        );
        let s = total(&out);
        assert_eq!(s.len(), 48000 * 2);
        let right: Vec<f32> = s.iter().skip(1).step_by(2).copied().collect();
        assert!(rms(&right) < 1e-3);
        let l: Vec<f32> = s.iter().step_by(2).copied().collect();
        assert!((zero_crossing_freq(&l[2000..46000], 48000) - 500.0).abs() < 3.0);
    }
}

mod snr_tests {
    use crate::nodes::testing::*;
    use serde_json::json;

    /// SNR in dB of `s` against `amp·sin(2π·f·i/rate)`, over the middle 80%.
    fn snr(s: &[f32], rate: u32, f: f64, amp: f64) -> f64 {
        let (from, to) = (s.len() / 10, s.len() * 9 / 10);
        let (mut sig, mut err) = (0.0, 0.0);
        for (i, &v) in s.iter().enumerate().take(to).skip(from) {
            let ideal = amp * (2.0 * std::f64::consts::PI * f * i as f64 / rate as f64).sin();
            sig += ideal * ideal;
            err += (v as f64 - ideal).powi(2);
        }
        10.0 * (sig / err).log10()
    }

    #[test]
    fn every_preset_is_time_aligned_with_the_input() {
        for quality in ["fast", "balanced", "high"] {
            for (from, to) in [(48000, 16000), (16000, 48000), (44100, 16000)] {
                let input = sine(1000.0, from, from as usize * 2, 0.5);
                let items: Vec<_> = input
                    .chunks(from as usize / 50)
                    .map(|c| audio(c.to_vec(), from, 1))
                    .collect();
                let out = run(
                    build("Resample", json!({"targetRate": to, "quality": quality})).as_mut(),
                    items,
                );
                let s: Vec<f32> = out.iter().flat_map(|d| samples_f32(d)).collect();
                let db = snr(&s, to, 1000.0, 0.5);
                eprintln!("{quality} {from}->{to}: {db:.1} dB");
                assert!(db > 60.0, "{quality} {from}->{to}: SNR {db:.1} dB");
            }
        }
    }
}
