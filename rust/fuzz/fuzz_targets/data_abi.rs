//! RuntimeData construction from raw C ABI arguments: any format code, length, rate, channel count,
//! shape or attribute bytes must give a handle or an error, never a crash; every handle made is freed.
#![no_main]
use libfuzzer_sys::fuzz_target;
use remotemedia::abi::*;

fuzz_target!(|data: &[u8]| {
    if data.len() < 12 {
        return;
    }
    let (head, body) = data.split_at(12);
    let code = head[0] % 8;
    let format = head[1] as i32 - 1;
    let rate = u32::from_le_bytes([head[2], head[3], head[4], 0]);
    let channels = head[5] as u32;
    let split = (head[6] as usize).min(body.len());
    let (payload, attrs) = body.split_at(split);
    let shape: Vec<u32> = head[7..12].iter().map(|&d| d as u32).collect();
    let rank = (head[7] % 6) as usize;
    // SAFETY: every pointer/length pair below describes a live slice of the fuzz input.
    let handle = unsafe {
        match code {
            0 => rm_data_text(payload.as_ptr(), payload.len(), attrs.as_ptr(), attrs.len()),
            1 => rm_data_json(payload.as_ptr(), payload.len(), attrs.as_ptr(), attrs.len()),
            2 => rm_data_binary(payload.as_ptr(), payload.len(), attrs.as_ptr(), attrs.len()),
            3 => rm_data_audio(
                format,
                payload.as_ptr(),
                payload.len(),
                rate,
                channels,
                attrs.as_ptr(),
                attrs.len(),
            ),
            4 => rm_data_audio_alloc(
                format,
                payload.len(),
                rate,
                channels,
                attrs.as_ptr(),
                attrs.len(),
            ),
            5 => rm_data_video(
                format,
                head[2] as u32,
                head[3] as u32,
                payload.as_ptr(),
                payload.len(),
                attrs.as_ptr(),
                attrs.len(),
            ),
            6 => rm_data_tensor(
                format,
                shape.as_ptr(),
                rank,
                payload.as_ptr(),
                payload.len(),
                attrs.as_ptr(),
                attrs.len(),
            ),
            _ => rm_data_binary_alloc(payload.len(), attrs.as_ptr(), attrs.len()),
        }
    };
    if handle != 0 {
        let mut info = [0f64; RM_INFO_LEN];
        // SAFETY: `info` has RM_INFO_LEN writable doubles.
        let n = unsafe { rm_data_info(handle, info.as_mut_ptr(), info.len()) };
        assert!(n >= 3, "info of a valid handle");
        let ptr = rm_data_ptr(handle);
        let len = info[1] as usize;
        if len > 0 {
            // SAFETY: the payload of a live handle is `len` readable bytes at `ptr`.
            let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
            std::hint::black_box(bytes.iter().fold(0u8, |a, &b| a ^ b));
        }
        let copy = rm_data_clone(handle);
        assert_eq!(rm_data_equal(handle, copy), 1);
        assert_eq!(rm_data_free(copy), 0);
        assert_eq!(rm_data_free(handle), 0);
        assert_ne!(rm_data_free(handle), 0, "double free is an error");
    }
});
