//! The payload size cap and fallible allocation.
//!
//! A size that comes from a caller (a byte length, a frame count, video dimensions, a tensor shape, a
//! node's frame size) is computed with checked arithmetic, compared with [`MAX_PAYLOAD_BYTES`], and only
//! then allocated, with `try_reserve_exact`: a huge or overflowing request is an error that names it,
//! never an abort of the host process.

use super::DataError;

/// Largest payload of one value, in bytes: 4 GiB (2^32). The C header exports it as
/// `RM_MAX_PAYLOAD_BYTES`.
pub const MAX_PAYLOAD_BYTES: u64 = 1 << 32;

/// The error for a request over [`MAX_PAYLOAD_BYTES`]. `formula` says how the size was computed
/// (`"audio numSamples × channels × bytes per sample = 1099511627776 × 1 × 4"`); `bytes` is its result,
/// `None` when the computation overflowed.
pub fn too_large(formula: &str, bytes: Option<u64>) -> DataError {
    let size = match bytes {
        Some(n) => format!("{formula} = {n} bytes"),
        None => format!("{formula} overflows 64 bits"),
    };
    DataError::TooLarge(format!(
        "{size}; the maximum payload size is {MAX_PAYLOAD_BYTES} bytes (RM_MAX_PAYLOAD_BYTES)"
    ))
}

/// `bytes` as a `usize` when it is known and within [`MAX_PAYLOAD_BYTES`]; otherwise [`too_large`].
pub fn check_payload(
    formula: impl FnOnce() -> String,
    bytes: Option<u64>,
) -> Result<usize, DataError> {
    match bytes {
        Some(n) if n <= MAX_PAYLOAD_BYTES => {
            usize::try_from(n).map_err(|_| too_large(&formula(), bytes))
        }
        _ => Err(too_large(&formula(), bytes)),
    }
}

/// `a × b × c`, or `None` when it overflows.
pub fn product(factors: &[u64]) -> Option<u64> {
    factors.iter().try_fold(1u64, |acc, &f| acc.checked_mul(f))
}

/// An empty vector with room for exactly `len` elements, or an out-of-memory error naming `what`.
pub fn try_vec<T>(len: usize, what: &str) -> Result<Vec<T>, DataError> {
    let mut v = Vec::new();
    try_reserve(&mut v, len, what)?;
    Ok(v)
}

/// Makes room for `additional` more elements, or returns an out-of-memory error naming `what`.
pub fn try_reserve<T>(v: &mut Vec<T>, additional: usize, what: &str) -> Result<(), DataError> {
    v.try_reserve_exact(additional).map_err(|_| {
        let bytes = (additional as u128) * (std::mem::size_of::<T>() as u128);
        DataError::OutOfMemory(format!("could not allocate {bytes} bytes for {what}"))
    })
}

/// `len` default (zero) elements.
pub fn try_zeroed<T: Clone + Default>(len: usize, what: &str) -> Result<Vec<T>, DataError> {
    let mut v = try_vec(len, what)?;
    v.resize(len, T::default());
    Ok(v)
}

/// A copy of `src`.
pub fn try_copy<T: Clone>(src: &[T], what: &str) -> Result<Vec<T>, DataError> {
    let mut v = try_vec(src.len(), what)?;
    v.extend_from_slice(src);
    Ok(v)
}

/// A copy of `text`.
pub fn try_string(text: &str, what: &str) -> Result<String, DataError> {
    let mut s = String::new();
    s.try_reserve_exact(text.len()).map_err(|_| {
        DataError::OutOfMemory(format!(
            "could not allocate {} bytes for {what}",
            text.len()
        ))
    })?;
    s.push_str(text);
    Ok(s)
}

/// Native-endian elements read from `bytes` (whose length is a multiple of the element size), aligned
/// or not.
pub fn try_pod_from_bytes<T: bytemuck::Pod>(bytes: &[u8], what: &str) -> Result<Vec<T>, DataError> {
    let size = std::mem::size_of::<T>();
    let mut v = try_vec(bytes.len() / size, what)?;
    match bytemuck::try_cast_slice::<u8, T>(bytes) {
        Ok(aligned) => v.extend_from_slice(aligned),
        Err(_) => v.extend(
            bytes
                .chunks_exact(size)
                .map(bytemuck::pod_read_unaligned::<T>),
        ),
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_at_the_cap_pass_and_one_byte_more_fails() {
        assert_eq!(
            check_payload(|| "x".into(), Some(MAX_PAYLOAD_BYTES)).unwrap() as u64,
            MAX_PAYLOAD_BYTES
        );
        let err = check_payload(|| "binary byteLength".into(), Some(MAX_PAYLOAD_BYTES + 1))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "payload too large: binary byteLength = 4294967297 bytes; the maximum payload size is \
             4294967296 bytes (RM_MAX_PAYLOAD_BYTES)"
        );
    }

    #[test]
    fn an_overflowing_size_is_reported_as_such() {
        assert_eq!(product(&[u64::MAX, 2]), None);
        assert_eq!(
            product(&[u32::MAX as u64, u32::MAX as u64]),
            Some(18446744065119617025)
        );
        assert_eq!(product(&[]), Some(1));
        let err = check_payload(|| "a × b".into(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("a × b overflows 64 bits"), "{err}");
    }

    #[test]
    fn an_impossible_allocation_is_an_error_not_an_abort() {
        // 2^62 bytes: within `isize::MAX`, so the allocator is asked, and refuses (no address space
        // is that large).
        let err = try_vec::<u8>(1 << 62, "a test").unwrap_err();
        assert!(matches!(err, DataError::OutOfMemory(_)), "{err}");
        assert_eq!(
            err.to_string(),
            "out of memory: could not allocate 4611686018427387904 bytes for a test"
        );
        // Beyond `isize::MAX` bytes: refused before the allocator is asked.
        let mut v = vec![0u64; 4];
        assert!(try_reserve(&mut v, usize::MAX / 4, "more").is_err());
    }

    #[test]
    fn unaligned_bytes_are_read_as_well_as_aligned_ones() {
        let words = [1.5f32, -2.0];
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&bytes);
        assert_eq!(try_pod_from_bytes::<f32>(&bytes, "t").unwrap(), words);
        assert_eq!(
            try_pod_from_bytes::<f32>(&shifted[1..], "t").unwrap(),
            words
        );
    }
}
