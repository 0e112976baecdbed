use super::{alloc, DataError};

/// Storage format of PCM samples, with stable numeric codes used by the C ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum SampleFormat {
    /// 32-bit float in [-1, 1].
    F32 = 0,
    /// 16-bit signed integer.
    I16 = 1,
    /// 32-bit signed integer.
    I32 = 2,
}

impl SampleFormat {
    /// From the ABI code.
    pub fn from_code(code: i32) -> Result<Self, DataError> {
        Ok(match code {
            0 => SampleFormat::F32,
            1 => SampleFormat::I16,
            2 => SampleFormat::I32,
            other => {
                return Err(DataError::InvalidArgument(format!(
                    "sample format code {other} (expected 0 = f32, 1 = i16, 2 = i32)"
                )))
            }
        })
    }

    /// From the name used in manifests and TypeScript.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "f32" => SampleFormat::F32,
            "i16" => SampleFormat::I16,
            "i32" => SampleFormat::I32,
            _ => return None,
        })
    }

    /// Name used in manifests, errors and TypeScript.
    pub fn name(self) -> &'static str {
        match self {
            SampleFormat::F32 => "f32",
            SampleFormat::I16 => "i16",
            SampleFormat::I32 => "i32",
        }
    }

    /// Bytes per sample.
    pub fn size(self) -> usize {
        match self {
            SampleFormat::I16 => 2,
            SampleFormat::F32 | SampleFormat::I32 => 4,
        }
    }
}

/// Interleaved PCM samples in one of the supported formats.
#[derive(Debug, Clone, PartialEq)]
pub enum Samples {
    /// 32-bit floats.
    F32(Vec<f32>),
    /// 16-bit integers.
    I16(Vec<i16>),
    /// 32-bit integers.
    I32(Vec<i32>),
}

impl Samples {
    /// Zero-filled samples.
    pub fn zeroed(format: SampleFormat, len: usize) -> Self {
        match format {
            SampleFormat::F32 => Samples::F32(vec![0.0; len]),
            SampleFormat::I16 => Samples::I16(vec![0; len]),
            SampleFormat::I32 => Samples::I32(vec![0; len]),
        }
    }

    /// `len` zero samples, or an out-of-memory error (the caller checks `len` against the payload cap).
    pub fn try_zeroed(format: SampleFormat, len: usize) -> Result<Self, DataError> {
        let what = "audio samples";
        Ok(match format {
            SampleFormat::F32 => Samples::F32(alloc::try_zeroed(len, what)?),
            SampleFormat::I16 => Samples::I16(alloc::try_zeroed(len, what)?),
            SampleFormat::I32 => Samples::I32(alloc::try_zeroed(len, what)?),
        })
    }

    /// Copies native-endian bytes into samples; the byte count must be a multiple of the sample size
    /// and at most [`super::MAX_PAYLOAD_BYTES`].
    pub fn from_bytes(format: SampleFormat, bytes: &[u8]) -> Result<Self, DataError> {
        if !bytes.len().is_multiple_of(format.size()) {
            return Err(DataError::ShapeMismatch(format!(
                "{} audio needs a multiple of {} bytes, got {}",
                format.name(),
                format.size(),
                bytes.len()
            )));
        }
        alloc::check_payload(|| "audio byte length".into(), Some(bytes.len() as u64))?;
        let what = "audio samples";
        Ok(match format {
            SampleFormat::F32 => Samples::F32(alloc::try_pod_from_bytes(bytes, what)?),
            SampleFormat::I16 => Samples::I16(alloc::try_pod_from_bytes(bytes, what)?),
            SampleFormat::I32 => Samples::I32(alloc::try_pod_from_bytes(bytes, what)?),
        })
    }

    /// A copy, or an out-of-memory error instead of an abort.
    pub fn try_clone(&self) -> Result<Self, DataError> {
        let what = "an audio copy";
        Ok(match self {
            Samples::F32(v) => Samples::F32(alloc::try_copy(v, what)?),
            Samples::I16(v) => Samples::I16(alloc::try_copy(v, what)?),
            Samples::I32(v) => Samples::I32(alloc::try_copy(v, what)?),
        })
    }

    /// Decodes little-endian sample bytes (WAV data); the byte count must be a multiple of the sample size.
    pub fn from_le_bytes(format: SampleFormat, bytes: &[u8]) -> Result<Self, DataError> {
        let mut samples = Samples::from_bytes(format, bytes)?;
        if cfg!(target_endian = "big") {
            match &mut samples {
                Samples::F32(v) => v
                    .iter_mut()
                    .for_each(|s| *s = f32::from_bits(s.to_bits().swap_bytes())),
                Samples::I16(v) => v.iter_mut().for_each(|s| *s = s.swap_bytes()),
                Samples::I32(v) => v.iter_mut().for_each(|s| *s = s.swap_bytes()),
            }
        }
        Ok(samples)
    }

    /// The storage format.
    pub fn format(&self) -> SampleFormat {
        match self {
            Samples::F32(_) => SampleFormat::F32,
            Samples::I16(_) => SampleFormat::I16,
            Samples::I32(_) => SampleFormat::I32,
        }
    }

    /// Number of samples (all channels).
    pub fn len(&self) -> usize {
        match self {
            Samples::F32(v) => v.len(),
            Samples::I16(v) => v.len(),
            Samples::I32(v) => v.len(),
        }
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The samples as bytes (native endianness).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Samples::F32(v) => bytemuck::cast_slice(v),
            Samples::I16(v) => bytemuck::cast_slice(v),
            Samples::I32(v) => bytemuck::cast_slice(v),
        }
    }

    /// Empty samples of a format.
    pub fn empty(format: SampleFormat) -> Self {
        Samples::zeroed(format, 0)
    }

    /// Appends samples of the same format (an out-of-memory error, not an abort, when there is no room).
    pub fn extend_from(&mut self, other: &Samples) -> Result<(), DataError> {
        let what = "appended audio";
        match (self, other) {
            (Samples::F32(a), Samples::F32(b)) => {
                alloc::try_reserve(a, b.len(), what)?;
                a.extend_from_slice(b)
            }
            (Samples::I16(a), Samples::I16(b)) => {
                alloc::try_reserve(a, b.len(), what)?;
                a.extend_from_slice(b)
            }
            (Samples::I32(a), Samples::I32(b)) => {
                alloc::try_reserve(a, b.len(), what)?;
                a.extend_from_slice(b)
            }
            (a, b) => {
                return Err(DataError::InvalidArgument(format!(
                    "cannot append {} samples to {} samples",
                    b.format().name(),
                    a.format().name()
                )))
            }
        }
        Ok(())
    }

    /// Removes and returns the first `n` samples.
    pub fn drain_front(&mut self, n: usize) -> Samples {
        match self {
            Samples::F32(v) => Samples::F32(v.drain(..n).collect()),
            Samples::I16(v) => Samples::I16(v.drain(..n).collect()),
            Samples::I32(v) => Samples::I32(v.drain(..n).collect()),
        }
    }

    /// Appends `n` zero samples (an out-of-memory error, not an abort, when there is no room).
    pub fn pad_zeros(&mut self, n: usize) -> Result<(), DataError> {
        let what = "zero padding";
        match self {
            Samples::F32(v) => {
                alloc::try_reserve(v, n, what)?;
                v.resize(v.len() + n, 0.0)
            }
            Samples::I16(v) => {
                alloc::try_reserve(v, n, what)?;
                v.resize(v.len() + n, 0)
            }
            Samples::I32(v) => {
                alloc::try_reserve(v, n, what)?;
                v.resize(v.len() + n, 0)
            }
        }
        Ok(())
    }

    /// Converts to f32 in [-1, 1] (i16 / 32768, i32 / 2^31).
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            Samples::F32(v) => v.clone(),
            Samples::I16(v) => v.iter().map(|&s| s as f32 / 32768.0).collect(),
            Samples::I32(v) => v
                .iter()
                .map(|&s| (s as f64 / 2147483648.0) as f32)
                .collect(),
        }
    }

    /// Converts to another format. Floats scale by 2^15 / 2^31 (the inverse of [`Samples::to_f32`], so
    /// integer -> f32 -> integer is lossless), round, and clip to the integer range.
    pub fn convert(&self, format: SampleFormat) -> Samples {
        if format == self.format() {
            return self.clone();
        }
        match (self, format) {
            (Samples::I16(v), SampleFormat::I32) => {
                Samples::I32(v.iter().map(|&s| (s as i32) << 16).collect())
            }
            (Samples::I32(v), SampleFormat::I16) => {
                Samples::I16(v.iter().map(|&s| (s >> 16) as i16).collect())
            }
            (_, SampleFormat::F32) => Samples::F32(self.to_f32()),
            (Samples::F32(v), SampleFormat::I16) => {
                Samples::I16(v.iter().map(|&s| f32_to_i16(s)).collect())
            }
            (Samples::F32(v), SampleFormat::I32) => Samples::I32(
                v.iter()
                    .map(|&s| {
                        (s as f64 * 2147483648.0)
                            .round()
                            .clamp(-2147483648.0, 2147483647.0) as i32
                    })
                    .collect(),
            ),
            _ => unreachable!("same-format conversions return early"),
        }
    }
}

/// f32 in [-1, 1] → i16: ×32768, rounded half away from zero; the `as` cast saturates to the i16 range
/// (and maps NaN to 0). Written without `round()` so the loop vectorizes.
#[inline]
pub fn f32_to_i16(s: f32) -> i16 {
    let v = s * 32768.0;
    (v + 0.5f32.copysign(v)) as i16
}

/// Interleaved PCM audio with its sample rate and channel count.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioBuffer {
    /// Interleaved samples, `num_frames * channels` long.
    pub samples: Samples,
    /// Frames per second.
    pub sample_rate: u32,
    /// Interleaved channel count.
    pub channels: u16,
}

impl AudioBuffer {
    /// Validates rate, channel count and that the sample count is a multiple of the channel count.
    pub fn new(samples: Samples, sample_rate: u32, channels: u32) -> Result<Self, DataError> {
        check_layout(sample_rate, channels)?;
        if let Samples::F32(v) = &samples {
            if let Some(i) = v.iter().position(|s| !s.is_finite()) {
                return Err(DataError::InvalidArgument(format!(
                    "audio sample {i} is {} (f32 samples must be finite)",
                    v[i]
                )));
            }
        }
        if !samples.len().is_multiple_of(channels as usize) {
            return Err(DataError::ShapeMismatch(format!(
                "{} samples is not a multiple of {channels} channels",
                samples.len()
            )));
        }
        Ok(AudioBuffer {
            samples,
            sample_rate,
            channels: channels as u16,
        })
    }

    /// Zero-filled audio of `frames` frames per channel (`numSamples` in TypeScript), checked against the
    /// payload cap before anything is allocated.
    pub fn zeroed(
        format: SampleFormat,
        frames: usize,
        sample_rate: u32,
        channels: u32,
    ) -> Result<Self, DataError> {
        check_layout(sample_rate, channels)?;
        let size = format.size() as u64;
        let bytes = alloc::check_payload(
            || {
                format!(
                    "audio numSamples × channels × bytes per sample ({}) = {frames} × {channels} × {size}",
                    format.name()
                )
            },
            alloc::product(&[frames as u64, channels as u64, size]),
        )?;
        AudioBuffer::new(
            Samples::try_zeroed(format, bytes / format.size())?,
            sample_rate,
            channels,
        )
    }

    /// Frames per channel (`numSamples` in TypeScript).
    pub fn num_frames(&self) -> usize {
        self.samples.len() / self.channels as usize
    }

    /// Same rate and channels, with empty f32 samples: the start of a derived buffer.
    pub fn clone_layout(&self) -> AudioBuffer {
        AudioBuffer {
            samples: Samples::F32(Vec::new()),
            sample_rate: self.sample_rate,
            channels: self.channels,
        }
    }

    /// Duration in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.num_frames() as f64 / self.sample_rate as f64
    }
}

/// A sample rate of at least 1 Hz and 1 to 65535 channels.
fn check_layout(sample_rate: u32, channels: u32) -> Result<(), DataError> {
    if sample_rate == 0 {
        return Err(DataError::InvalidArgument(
            "sampleRate must be at least 1 Hz, got 0".into(),
        ));
    }
    if channels == 0 || channels > u16::MAX as u32 {
        return Err(DataError::InvalidArgument(format!(
            "channels must be between 1 and {}, got {channels}",
            u16::MAX
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_shape_errors_name_the_problem() {
        let e = AudioBuffer::new(Samples::F32(vec![0.0; 3]), 48000, 2).unwrap_err();
        assert_eq!(
            e.to_string(),
            "shape mismatch: 3 samples is not a multiple of 2 channels"
        );
        let e = AudioBuffer::new(Samples::F32(vec![]), 0, 1).unwrap_err();
        assert!(e
            .to_string()
            .contains("sampleRate must be at least 1 Hz, got 0"));
        let e = AudioBuffer::new(Samples::F32(vec![]), 16000, 0).unwrap_err();
        assert!(e.to_string().contains("got 0"));
    }

    #[test]
    fn nan_and_infinite_samples_are_rejected_with_their_index() {
        let e = AudioBuffer::new(Samples::F32(vec![0.0, f32::NAN]), 8000, 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid argument: audio sample 1 is NaN (f32 samples must be finite)"
        );
        let e = AudioBuffer::new(Samples::F32(vec![f32::NEG_INFINITY]), 8000, 1).unwrap_err();
        assert!(e.to_string().contains("audio sample 0 is -inf"));
    }

    #[test]
    fn frames_count_per_channel() {
        let a = AudioBuffer::new(Samples::I16(vec![0; 960 * 2]), 48000, 2).unwrap();
        assert_eq!(a.num_frames(), 960);
        assert!((a.duration_secs() - 0.02).abs() < 1e-12);
    }

    #[test]
    fn odd_byte_count_for_i16_is_rejected() {
        let e = Samples::from_bytes(SampleFormat::I16, &[0, 1, 2]).unwrap_err();
        assert!(e.to_string().contains("multiple of 2 bytes, got 3"));
    }

    #[test]
    fn conversions_scale_to_unit_range_and_back() {
        let s = Samples::I16(vec![i16::MIN, 0, 16384, i16::MAX]);
        let f = s.to_f32();
        assert_eq!(f[0], -1.0);
        assert_eq!(f[2], 0.5);
        let back = Samples::F32(f).convert(SampleFormat::I16);
        assert_eq!(back, s);
        let wide = Samples::I16(vec![1, -1]).convert(SampleFormat::I32);
        assert_eq!(wide, Samples::I32(vec![65536, -65536]));
        let clipped = Samples::F32(vec![2.0, -3.0]).convert(SampleFormat::I16);
        assert_eq!(clipped, Samples::I16(vec![32767, -32768]));
    }

    #[test]
    fn zeroed_audio_is_checked_against_the_cap_before_allocating() {
        let e = AudioBuffer::zeroed(SampleFormat::F32, 1 << 40, 16000, 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "payload too large: audio numSamples × channels × bytes per sample (f32) = 1099511627776 × \
             1 × 4 = 4398046511104 bytes; the maximum payload size is 4294967296 bytes \
             (RM_MAX_PAYLOAD_BYTES)"
        );
        // frames × channels × size overflowing 64 bits.
        let e = AudioBuffer::zeroed(SampleFormat::I32, usize::MAX, 16000, 65535).unwrap_err();
        assert!(e.to_string().contains("overflows 64 bits"), "{e}");
        // The layout is checked first (nothing allocated for a bad rate).
        let e = AudioBuffer::zeroed(SampleFormat::I16, 1 << 40, 0, 1).unwrap_err();
        assert!(e.to_string().contains("sampleRate"), "{e}");
        let a = AudioBuffer::zeroed(SampleFormat::I16, 480, 48000, 2).unwrap();
        assert_eq!((a.num_frames(), a.samples.as_bytes().len()), (480, 1920));
    }

    #[test]
    fn appending_and_padding_grow_fallibly() {
        let mut s = Samples::I16(vec![1]);
        s.extend_from(&Samples::I16(vec![2, 3])).unwrap();
        s.pad_zeros(2).unwrap();
        assert_eq!(s, Samples::I16(vec![1, 2, 3, 0, 0]));
        assert!(
            s.pad_zeros(usize::MAX / 2).is_err(),
            "an error, not an abort"
        );
        assert!(s.extend_from(&Samples::F32(vec![0.0])).is_err());
    }

    #[test]
    fn bytes_round_trip() {
        let s = Samples::F32(vec![0.25, -0.5]);
        let back = Samples::from_bytes(SampleFormat::F32, s.as_bytes()).unwrap();
        assert_eq!(s, back);
    }
}
