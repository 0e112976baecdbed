//! Raw video frames (no codecs): pixel formats and one frame's pixels, checked against the payload cap.

use super::{alloc, DataError};

/// Pixel layout of a raw video frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum PixelFormat {
    /// 4 bytes per pixel.
    Rgba = 0,
    /// 3 bytes per pixel.
    Rgb24 = 1,
    /// Planar YUV 4:2:0 (Y plane, then U and V at half resolution).
    I420 = 2,
}

impl PixelFormat {
    /// From the ABI code.
    pub fn from_code(code: i32) -> Result<Self, DataError> {
        Ok(match code {
            0 => PixelFormat::Rgba,
            1 => PixelFormat::Rgb24,
            2 => PixelFormat::I420,
            other => {
                return Err(DataError::InvalidArgument(format!(
                    "pixel format code {other} (expected 0 = rgba, 1 = rgb24, 2 = i420)"
                )))
            }
        })
    }

    /// Bytes a frame of this size must have; `None` when that overflows 64 bits (u32 dimensions can).
    pub fn frame_len(self, width: u32, height: u32) -> Option<u64> {
        let (w, h) = (width as u64, height as u64);
        match self {
            PixelFormat::Rgba => alloc::product(&[w, h, 4]),
            PixelFormat::Rgb24 => alloc::product(&[w, h, 3]),
            // A full-size Y plane, then U and V at half resolution (rounded up).
            PixelFormat::I420 => {
                let chroma = alloc::product(&[2, w.div_ceil(2), h.div_ceil(2)])?;
                w.checked_mul(h)?.checked_add(chroma)
            }
        }
    }

    /// Name used in errors and in TypeScript.
    pub fn name(self) -> &'static str {
        match self {
            PixelFormat::Rgba => "rgba",
            PixelFormat::Rgb24 => "rgb24",
            PixelFormat::I420 => "i420",
        }
    }
}

/// One raw video frame (no codecs).
#[derive(Debug, Clone, PartialEq)]
pub struct VideoFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixel layout.
    pub format: PixelFormat,
    /// `format.frame_len(width, height)` bytes.
    pub pixels: Vec<u8>,
}

impl VideoFrame {
    /// Validates the dimensions against the byte count.
    pub fn new(
        width: u32,
        height: u32,
        format: PixelFormat,
        pixels: Vec<u8>,
    ) -> Result<Self, DataError> {
        Self::check(width, height, format, pixels.len())?;
        Ok(VideoFrame {
            width,
            height,
            format,
            pixels,
        })
    }

    /// Validates the dimensions against the byte count, then copies the pixels.
    pub fn from_slice(
        width: u32,
        height: u32,
        format: PixelFormat,
        pixels: &[u8],
    ) -> Result<Self, DataError> {
        Self::check(width, height, format, pixels.len())?;
        let pixels = alloc::try_copy(pixels, "video pixels")?;
        Ok(VideoFrame {
            width,
            height,
            format,
            pixels,
        })
    }

    /// Dimensions of at least 1, a frame size within the payload cap, and exactly `len` bytes.
    fn check(width: u32, height: u32, format: PixelFormat, len: usize) -> Result<(), DataError> {
        if width == 0 || height == 0 {
            return Err(DataError::InvalidArgument(format!(
                "video frame size {width}x{height}: width and height must be at least 1"
            )));
        }
        let expected = alloc::check_payload(
            || format!("{} video frame {width}x{height}", format.name()),
            format.frame_len(width, height),
        )?;
        if len != expected {
            return Err(DataError::ShapeMismatch(format!(
                "{} frame {width}x{height} needs {expected} bytes, got {len}",
                format.name(),
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::MAX_PAYLOAD_BYTES;

    #[test]
    fn video_frame_size_is_checked_against_format() {
        assert!(VideoFrame::new(2, 2, PixelFormat::Rgba, vec![0; 16]).is_ok());
        assert!(VideoFrame::new(3, 3, PixelFormat::I420, vec![0; 9 + 2 * 4]).is_ok());
        let err = VideoFrame::new(2, 2, PixelFormat::Rgb24, vec![0; 16])
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs 12 bytes, got 16"), "{err}");
        assert!(VideoFrame::new(0, 2, PixelFormat::Rgba, vec![]).is_err());
    }

    #[test]
    fn video_sizes_that_overflow_or_exceed_the_cap_are_refused() {
        // 1380655685 × 3340214413 × 4 wraps to exactly 4 in 64 bits: release builds accepted 4 bytes.
        let err = VideoFrame::new(1380655685, 3340214413, PixelFormat::Rgba, vec![0; 4])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "payload too large: rgba video frame 1380655685x3340214413 overflows 64 bits; the \
             maximum payload size is 4294967296 bytes (RM_MAX_PAYLOAD_BYTES)"
        );
        for format in [PixelFormat::Rgba, PixelFormat::Rgb24, PixelFormat::I420] {
            // u32::MAX × u32::MAX fits in 64 bits; times 3 or 4, or plus the chroma planes, it does not.
            assert_eq!(format.frame_len(u32::MAX, u32::MAX), None, "{format:?}");
            let err = VideoFrame::from_slice(u32::MAX, u32::MAX, format, &[0; 4])
                .unwrap_err()
                .to_string();
            assert!(err.contains("overflows 64 bits"), "{err}");
            // Fits in 64 bits but over the cap.
            let err = VideoFrame::from_slice(65536, 65536, format, &[])
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("payload too large"), "{err}");
        }
        assert_eq!(
            PixelFormat::I420.frame_len(u32::MAX, 1),
            Some(u32::MAX as u64 + 2 * (1u64 << 31))
        );
        // At the cap exactly: 32768 × 32768 rgba is 4 GiB (checked without allocating it).
        assert_eq!(
            alloc::check_payload(String::new, PixelFormat::Rgba.frame_len(32768, 32768)).unwrap()
                as u64,
            MAX_PAYLOAD_BYTES
        );
        let err = VideoFrame::from_slice(32768, 32768, PixelFormat::Rgba, &[0; 4])
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs 4294967296 bytes, got 4"), "{err}");
    }
}
