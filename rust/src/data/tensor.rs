//! Tensors: n-dimensional arrays of f32, i32 or u8 elements, with their shape checked against the data
//! and the payload cap.

use super::{alloc, DataError};

/// Element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum TensorDtype {
    /// 32-bit float.
    F32 = 0,
    /// 32-bit signed integer.
    I32 = 1,
    /// 8-bit unsigned integer.
    U8 = 2,
}

impl TensorDtype {
    /// From the ABI code.
    pub fn from_code(code: i32) -> Result<Self, DataError> {
        Ok(match code {
            0 => TensorDtype::F32,
            1 => TensorDtype::I32,
            2 => TensorDtype::U8,
            other => {
                return Err(DataError::InvalidArgument(format!(
                    "tensor dtype code {other} (expected 0 = f32, 1 = i32, 2 = u8)"
                )))
            }
        })
    }

    /// Name used in errors and in TypeScript.
    pub fn name(self) -> &'static str {
        match self {
            TensorDtype::F32 => "f32",
            TensorDtype::I32 => "i32",
            TensorDtype::U8 => "u8",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            TensorDtype::F32 | TensorDtype::I32 => 4,
            TensorDtype::U8 => 1,
        }
    }
}

/// Tensor elements, typed so that views over them are aligned for their element type.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    /// 32-bit floats.
    F32(Vec<f32>),
    /// 32-bit signed integers.
    I32(Vec<i32>),
    /// Bytes.
    U8(Vec<u8>),
}

/// An n-dimensional array.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Elements in row-major order.
    pub data: TensorData,
}

impl Tensor {
    /// Validates that `bytes` holds exactly `product(shape)` elements of `dtype` (native byte order),
    /// within the payload cap, and copies them.
    pub fn from_bytes(
        shape: Vec<usize>,
        dtype: TensorDtype,
        bytes: &[u8],
    ) -> Result<Self, DataError> {
        // A zero dimension makes the product 0 whatever the others are (and however large).
        let elements = if shape.contains(&0) {
            Some(0)
        } else {
            shape
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(u64::try_from(d).ok()?))
        };
        let expected = alloc::check_payload(
            || format!("tensor shape {shape:?} of {}", dtype.name()),
            elements.and_then(|n| n.checked_mul(dtype.size() as u64)),
        )?;
        if bytes.len() != expected {
            return Err(DataError::ShapeMismatch(format!(
                "tensor shape {shape:?} of {} needs {expected} bytes ({} elements), got {}",
                dtype.name(),
                expected / dtype.size(),
                bytes.len()
            )));
        }
        let what = "tensor data";
        let data = match dtype {
            TensorDtype::F32 => TensorData::F32(alloc::try_pod_from_bytes(bytes, what)?),
            TensorDtype::I32 => TensorData::I32(alloc::try_pod_from_bytes(bytes, what)?),
            TensorDtype::U8 => TensorData::U8(alloc::try_copy(bytes, what)?),
        };
        Ok(Tensor { shape, data })
    }

    /// Element type.
    pub fn dtype(&self) -> TensorDtype {
        match self.data {
            TensorData::F32(_) => TensorDtype::F32,
            TensorData::I32(_) => TensorDtype::I32,
            TensorData::U8(_) => TensorDtype::U8,
        }
    }

    /// The element bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.data {
            TensorData::F32(v) => bytemuck::cast_slice(v),
            TensorData::I32(v) => bytemuck::cast_slice(v),
            TensorData::U8(v) => v,
        }
    }
}

impl TensorData {
    /// A copy, or an out-of-memory error instead of an abort.
    pub(super) fn try_clone(&self) -> Result<Self, DataError> {
        let what = "a tensor copy";
        Ok(match self {
            TensorData::F32(v) => TensorData::F32(alloc::try_copy(v, what)?),
            TensorData::I32(v) => TensorData::I32(alloc::try_copy(v, what)?),
            TensorData::U8(v) => TensorData::U8(alloc::try_copy(v, what)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_shapes_that_overflow_or_exceed_the_cap_are_refused() {
        let err = Tensor::from_bytes(vec![usize::MAX, 2], TensorDtype::U8, &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tensor shape [18446744073709551615, 2] of u8 overflows 64 bits"),
            "{err}"
        );
        // The product fits, times the element size it does not.
        let err = Tensor::from_bytes(vec![1 << 31, 1 << 31, 4], TensorDtype::F32, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("overflows 64 bits"), "{err}");
        let err = Tensor::from_bytes(vec![1 << 16, 1 << 15], TensorDtype::F32, &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("= 8589934592 bytes; the maximum payload size"),
            "{err}"
        );
        // A zero dimension makes an empty tensor however large the others are, in any order.
        let m = u32::MAX as usize;
        for shape in [vec![0, m, m, m], vec![m, m, m, 0], vec![m, 0, m, m]] {
            let t = Tensor::from_bytes(shape.clone(), TensorDtype::I32, &[]).unwrap();
            assert_eq!(t.bytes().len(), 0, "{shape:?}");
        }
    }

    #[test]
    fn tensor_shape_must_match_data() {
        let t = Tensor::from_bytes(vec![2, 3], TensorDtype::F32, &[0u8; 24]).unwrap();
        assert_eq!(t.bytes().len(), 24);
        assert_eq!(t.bytes().as_ptr() as usize % 4, 0);
        let err = Tensor::from_bytes(vec![2, 3], TensorDtype::I32, &[0u8; 20])
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs 24 bytes (6 elements), got 20"), "{err}");
        assert!(Tensor::from_bytes(vec![usize::MAX, 2], TensorDtype::U8, &[]).is_err());
    }
}
