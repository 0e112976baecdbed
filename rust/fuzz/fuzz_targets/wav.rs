//! The incremental WAV parser, fed arbitrary bytes in arbitrary chunkings: it must never panic, must
//! give the same items and the same outcome however the bytes are split, and through the C ABI every
//! handle it made must be freed.
#![no_main]
use libfuzzer_sys::fuzz_target;
use remotemedia::abi::contract::RM_WAV_INFO_LEN;
use remotemedia::abi::wav::*;
use remotemedia::abi::{rm_data_free, rm_live_handles};
use remotemedia::data::RuntimeData;
use remotemedia::wav::{WavError, WavParser};

/// Piece sizes from a seed: a tiny xorshift, pieces of 1 to `max` bytes.
fn pieces(seed: u8, len: usize) -> Vec<usize> {
    let max = 1 + (seed as usize % 97);
    let mut state = 0x9E37_79B9u32 ^ (seed as u32 * 0x0101_0101);
    let mut sizes = Vec::new();
    let mut total = 0;
    while total < len {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (1 + state as usize % max).min(len - total);
        sizes.push(n);
        total += n;
    }
    sizes
}

fn parse(bytes: &[u8], frame_ms: f64, sizes: &[usize]) -> (Vec<RuntimeData>, Result<(), WavError>) {
    let mut parser = WavParser::new(frame_ms).expect("valid frame_ms");
    let mut items = Vec::new();
    let mut at = 0;
    for &n in sizes {
        match parser.push(&bytes[at..at + n]) {
            Ok(ready) => {
                assert_eq!(ready, parser.ready());
                items.extend(std::iter::from_fn(|| parser.take()));
            }
            Err(e) => return (items, Err(e)),
        }
        at += n;
    }
    loop {
        match parser.finish() {
            Ok(0) => {
                assert_eq!(
                    parser.stats().held_bytes,
                    0,
                    "nothing held after a clean end"
                );
                return (items, Ok(()));
            }
            Ok(_) => items.extend(std::iter::from_fn(|| parser.take())),
            Err(e) => return (items, Err(e)),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (control, bytes) = data.split_at(2);
    let frame_ms = [0.0, 0.05, 1.0, 20.0][control[0] as usize % 4];
    let whole = parse(bytes, frame_ms, &[bytes.len()]);
    let sizes = pieces(control[1], bytes.len());
    let split = parse(bytes, frame_ms, &sizes);
    assert_eq!(whole, split, "the chunking changed the outcome");
    for item in whole.0.iter().map(|i| i.as_audio().expect("audio")) {
        assert!(
            item.samples.len() % item.channels as usize == 0,
            "frames are never split"
        );
    }

    // The same pieces through the C ABI.
    let live = rm_live_handles();
    let parser = rm_wav_parser_create(frame_ms);
    assert_ne!(parser, 0);
    let mut taken = 0;
    let mut take = |ready: i32| {
        for _ in 0..ready.max(0) {
            let item = rm_wav_parser_take(parser);
            assert_ne!(item, 0, "a counted item can be taken");
            assert_eq!(rm_data_free(item), 0);
            taken += 1;
        }
    };
    let mut at = 0;
    let mut failed = false;
    for &n in &sizes {
        // SAFETY: the pointer and length describe a live slice of the fuzz input.
        let ready = unsafe { rm_wav_parser_push(parser, bytes[at..].as_ptr(), n) };
        at += n;
        failed = ready < 0;
        take(ready);
        if failed {
            break;
        }
    }
    while !failed {
        let ready = rm_wav_parser_finish(parser);
        take(ready);
        failed = ready <= 0;
    }
    let mut info = [0f64; RM_WAV_INFO_LEN];
    // SAFETY: `info` has RM_WAV_INFO_LEN writable doubles.
    assert_eq!(
        unsafe { rm_wav_parser_info(parser, info.as_mut_ptr(), info.len()) },
        RM_WAV_INFO_LEN as i32
    );
    assert_eq!(taken, whole.0.len(), "the C ABI gives the same items");
    assert_eq!(rm_wav_parser_free(parser), 0);
    assert_ne!(rm_wav_parser_free(parser), 0, "double free is an error");
    assert_eq!(rm_live_handles(), live, "every handle was freed");
});
