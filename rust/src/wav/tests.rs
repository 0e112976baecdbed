//! The WAV parser's tests: every accepted encoding, every rejection with its message, and the same
//! results whatever the chunking (one long file: the cases share the byte builders at the top).

use super::format::{EXTENSIBLE, GUID_TAIL};
use super::*;

/// A 16-byte fmt body (block align from the container size).
fn fmt(code: u16, channels: u16, rate: u32, bits: u16) -> Vec<u8> {
    let block = channels as u32 * bits.div_ceil(8) as u32;
    let mut b = Vec::new();
    b.extend(code.to_le_bytes());
    b.extend(channels.to_le_bytes());
    b.extend(rate.to_le_bytes());
    b.extend((rate * block).to_le_bytes());
    b.extend((block as u16).to_le_bytes());
    b.extend(bits.to_le_bytes());
    b
}

/// A 40-byte WAVE_FORMAT_EXTENSIBLE fmt body.
fn fmt_extensible(sub: u16, channels: u16, rate: u32, bits: u16, valid: u16) -> Vec<u8> {
    let mut b = fmt(EXTENSIBLE, channels, rate, bits);
    b.extend(22u16.to_le_bytes());
    b.extend(valid.to_le_bytes());
    b.extend(3u32.to_le_bytes()); // channel mask
    b.extend(sub.to_le_bytes());
    b.extend(GUID_TAIL);
    b
}

/// A chunk: header, body, padding byte when the size is odd.
fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = id.to_vec();
    b.extend((body.len() as u32).to_le_bytes());
    b.extend(body);
    if body.len() % 2 == 1 {
        b.push(0);
    }
    b
}

/// A data chunk whose size field says `size` (0 / 0xFFFFFFFF = streamed), without padding.
fn data_with_size(size: u32, body: &[u8]) -> Vec<u8> {
    let mut b = b"data".to_vec();
    b.extend(size.to_le_bytes());
    b.extend(body);
    b
}

fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = chunks.concat();
    let mut b = b"RIFF".to_vec();
    b.extend((4 + body.len() as u32).to_le_bytes());
    b.extend(b"WAVE");
    b.extend(body);
    b
}

fn wav(fmt_body: Vec<u8>, data: &[u8]) -> Vec<u8> {
    riff(&[chunk(b"fmt ", &fmt_body), chunk(b"data", data)])
}

/// A parsed item: its audio (derefs to it) and timestamp.
#[derive(Debug, PartialEq)]
struct Item {
    audio: AudioBuffer,
    timestamp_us: Option<i64>,
}

impl std::ops::Deref for Item {
    type Target = AudioBuffer;
    fn deref(&self) -> &AudioBuffer {
        &self.audio
    }
}

/// Takes the next ready item of `parser`.
fn take(parser: &mut WavParser) -> Option<Item> {
    let item = parser.take()?;
    Some(Item {
        audio: item.as_audio().expect("audio").clone(),
        timestamp_us: item.attributes.timestamp_us,
    })
}

/// Pushes `bytes` in pieces of `step`, taking items as they become ready, then finishes.
fn parse_in(bytes: &[u8], frame_ms: f64, step: usize) -> (Vec<Item>, Result<(), WavError>) {
    let mut parser = WavParser::new(frame_ms).unwrap();
    let mut items = Vec::new();
    for piece in bytes.chunks(step.max(1)) {
        match parser.push(piece) {
            Ok(n) => {
                assert_eq!(n, parser.ready());
                items.extend(std::iter::from_fn(|| take(&mut parser)));
            }
            Err(e) => return (items, Err(e)),
        }
    }
    // Items made before an error come first; the error follows once they were taken.
    loop {
        match parser.finish() {
            Ok(0) => return (items, Ok(())),
            Ok(_) => items.extend(std::iter::from_fn(|| take(&mut parser))),
            Err(e) => return (items, Err(e)),
        }
    }
}

fn parse(bytes: &[u8], frame_ms: f64) -> (Vec<Item>, Result<(), WavError>) {
    parse_in(bytes, frame_ms, usize::MAX)
}

fn message(bytes: &[u8]) -> String {
    parse(bytes, 20.0).1.unwrap_err().to_string()
}

fn samples(items: &[Item]) -> Samples {
    let mut all = Samples::empty(items[0].samples.format());
    for i in items {
        all.extend_from(&i.samples).unwrap();
    }
    all
}

#[test]
fn every_encoding_decodes_to_its_documented_format() {
    let (items, r) = parse(&wav(fmt(1, 1, 8000, 8), &[0, 128, 255]), 20.0);
    r.unwrap();
    assert_eq!(items[0].samples, Samples::I16(vec![-32768, 0, 32512]));

    let i16s: Vec<u8> = [i16::MIN, -1, 0, i16::MAX]
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    let (items, r) = parse(&wav(fmt(1, 2, 16000, 16), &i16s), 20.0);
    r.unwrap();
    assert_eq!(
        items[0].samples,
        Samples::I16(vec![i16::MIN, -1, 0, i16::MAX])
    );
    assert_eq!((items[0].channels, items[0].sample_rate), (2, 16000));

    let i24s = [
        0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00,
    ];
    let (items, r) = parse(&wav(fmt(1, 1, 48000, 24), &i24s), 20.0);
    r.unwrap();
    assert_eq!(
        items[0].samples,
        Samples::I32(vec![0x7FFF_FF00, -256, i32::MIN, 256]),
        "24-bit samples are shifted left 8"
    );

    let i32s: Vec<u8> = [i32::MIN, 7, i32::MAX]
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    let (items, r) = parse(&wav(fmt(1, 1, 8000, 32), &i32s), 20.0);
    r.unwrap();
    assert_eq!(items[0].samples, Samples::I32(vec![i32::MIN, 7, i32::MAX]));

    let f32s: Vec<u8> = [0.5f32, -1.0, 0.25]
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    let (items, r) = parse(&wav(fmt(3, 1, 8000, 32), &f32s), 20.0);
    r.unwrap();
    assert_eq!(items[0].samples, Samples::F32(vec![0.5, -1.0, 0.25]));
}

#[test]
fn extensible_fmt_reads_like_its_sub_format() {
    let i24s = [0x00, 0x10, 0x00, 0x00, 0xF0, 0xFF];
    let (plain, r) = parse(&wav(fmt(1, 2, 48000, 24), &i24s), 20.0);
    r.unwrap();
    let (ext, r) = parse(&wav(fmt_extensible(1, 2, 48000, 24, 20), &i24s), 20.0);
    r.unwrap();
    assert_eq!(plain, ext);
    assert_eq!(
        ext[0].samples,
        Samples::I32(vec![0x1000 << 8, -0x1000 << 8])
    );

    let f32s: Vec<u8> = 0.75f32.to_le_bytes().to_vec();
    let (items, r) = parse(&wav(fmt_extensible(3, 1, 8000, 32, 32), &f32s), 20.0);
    r.unwrap();
    assert_eq!(items[0].samples, Samples::F32(vec![0.75]));

    assert_eq!(
        message(&wav(fmt_extensible(7, 1, 8000, 8, 8), &[0])),
        "unsupported WAV encoding: extensible, sub-format 7 (mu-law), 8-bit (supported: PCM 8/16/24/32-bit, IEEE float 32-bit)"
    );
    let mut odd_guid = fmt_extensible(1, 1, 8000, 16, 16);
    odd_guid[30] ^= 1;
    assert!(message(&wav(odd_guid, &[0, 0])).contains("non-standard sub-format GUID"));
    let mut short = fmt_extensible(1, 1, 8000, 16, 16);
    short.truncate(24);
    assert_eq!(
        message(&wav(short, &[0, 0])),
        "invalid WAV fmt chunk: an extensible fmt chunk needs 40 bytes, got 24"
    );
    assert_eq!(
        message(&wav(fmt_extensible(1, 1, 8000, 16, 20), &[0, 0])),
        "invalid WAV fmt chunk: 20 valid bits in a 16-bit sample"
    );
}

#[test]
fn unknown_chunks_are_skipped_with_their_odd_size_padding() {
    let pcm: Vec<u8> = (1..=6i16).flat_map(|s| s.to_le_bytes()).collect();
    let file = riff(&[
        chunk(b"LIST", b"abc"), // 3 bytes + 1 padding byte
        chunk(b"fmt ", &fmt(1, 1, 8000, 16)),
        chunk(b"junk", b"x"), // 1 byte + 1 padding byte
        chunk(b"fact", b""),
        chunk(b"data", &pcm),
        chunk(b"LIST", b"trailing metadata is ignored"),
    ]);
    for step in [1, 3, 7, file.len()] {
        let (items, r) = parse_in(&file, 20.0, step);
        r.unwrap();
        assert_eq!(
            samples(&items),
            Samples::I16((1..=6).collect()),
            "step {step}"
        );
    }
    let mut parser = WavParser::new(20.0).unwrap();
    parser.push(&file).unwrap();
    assert_eq!(
        parser.stats().bytes_skipped,
        4 + 2,
        "bodies and padding of LIST and junk"
    );
    assert!(parser.is_complete());
}

#[test]
fn items_have_the_frame_duration_whole_frames_and_rounded_timestamps() {
    let frames = 882 * 2 + 100;
    let pcm = vec![0u8; frames * 4];
    let (items, r) = parse(&wav(fmt(1, 2, 44100, 16), &pcm), 20.0);
    r.unwrap();
    let sizes: Vec<usize> = items.iter().map(|i| i.num_frames()).collect();
    assert_eq!(
        sizes,
        [882, 882, 100],
        "20 ms at 44.1 kHz, the last one shorter"
    );
    let stamps: Vec<_> = items.iter().map(|i| i.timestamp_us).collect();
    assert_eq!(stamps, [Some(0), Some(20_000), Some(40_000)]);
    // 1 ms at 22.05 kHz is 22.05 frames: 22 per item, timestamps rounded to the microsecond.
    let (items, _) = parse(&wav(fmt(1, 1, 22050, 16), &[0; 132]), 1.0);
    let stamps: Vec<_> = items.iter().map(|i| i.timestamp_us).collect();
    assert_eq!(stamps, [Some(0), Some(998), Some(1995)]);
    // 0 ms: the whole stream in one item.
    let (items, r) = parse_in(&wav(fmt(1, 2, 44100, 16), &pcm), 0.0, 1000);
    r.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].num_frames(), frames);
}

#[test]
fn every_chunking_gives_the_same_items() {
    let pcm: Vec<u8> = (0..594u32).map(|i| (i * 7 % 251) as u8).collect();
    let file = wav(fmt(1, 3, 8000, 24), &pcm); // 9-byte frames, 8 frames per item
    let (whole, r) = parse(&file, 1.0);
    r.unwrap();
    assert_eq!(
        whole.iter().map(|i| i.num_frames()).collect::<Vec<_>>(),
        [8, 8, 8, 8, 8, 8, 8, 8, 2]
    );
    for step in 1..=40 {
        let (items, r) = parse_in(&file, 1.0, step);
        r.unwrap();
        assert_eq!(items, whole, "step {step}");
    }
}

#[test]
fn a_truncated_file_is_an_error_at_every_offset_after_a_correct_prefix() {
    let pcm: Vec<u8> = (0..80u8).collect(); // 20 frames of 16-bit stereo; items of 8 frames
    let file = wav(fmt(1, 2, 8000, 16), &pcm);
    let (full, r) = parse(&file, 1.0);
    r.unwrap();
    assert_eq!(full.len(), 3);
    for cut in 0..file.len() {
        for step in [1, 5, usize::MAX] {
            let (items, r) = parse_in(&file[..cut], 1.0, step);
            let e = r.expect_err(&format!("cut at {cut} must fail"));
            assert_eq!(items[..], full[..items.len()], "cut {cut}: a prefix");
            let text = e.to_string();
            if cut < 44 {
                assert!(
                    text.starts_with(&format!(
                        "WAV stream ended after {cut} bytes, inside its header ("
                    )),
                    "{text}"
                );
                assert!(items.is_empty());
            } else {
                assert_eq!(
                    text,
                    format!(
                        "WAV data chunk declares 80 bytes, the stream ended after {} of them",
                        cut - 44
                    )
                );
            }
        }
    }
    // Streamed data (size unknown): a cut on a frame boundary is a shorter file, elsewhere an error.
    let streamed = riff(&[
        chunk(b"fmt ", &fmt(1, 2, 8000, 16)),
        data_with_size(u32::MAX, &pcm),
    ]);
    let all = samples(&full);
    for cut in 44..=streamed.len() {
        let (items, r) = parse_in(&streamed[..cut], 1.0, 3);
        let data = cut - 44;
        if data % 4 == 0 {
            r.unwrap();
            let got = if items.is_empty() {
                0
            } else {
                samples(&items).len()
            };
            assert_eq!(got, data / 2);
            if got > 0 {
                assert_eq!(
                    samples(&items),
                    Samples::I16(match &all {
                        Samples::I16(v) => v[..got].to_vec(),
                        _ => unreachable!(),
                    })
                );
            }
        } else {
            assert_eq!(
                r.unwrap_err().to_string(),
                format!("WAV data ends inside a frame: {data} bytes is not a whole number of 4-byte frames (2 ch × 16-bit); {} bytes left over", data % 4)
            );
        }
    }
}

#[test]
fn header_errors_say_what_is_wrong() {
    let good = wav(fmt(1, 1, 8000, 16), &[0, 0]);
    assert_eq!(
        parse(&good[..30], 20.0).1.unwrap_err().to_string(),
        "WAV stream ended after 30 bytes, inside its header (the fmt chunk declares 16 bytes, got 10)"
    );
    assert_eq!(
        parse(&good[..36], 20.0).1.unwrap_err().to_string(),
        "WAV stream ended after 36 bytes, inside its header (no data chunk yet)"
    );
    assert_eq!(
        parse(&good[..7], 20.0).1.unwrap_err().to_string(),
        "WAV stream ended after 7 bytes, inside its header (the RIFF header needs 12 bytes, got 7)"
    );
    assert_eq!(
        message(b""),
        "WAV stream ended after 0 bytes, inside its header (the RIFF header needs 12 bytes, got 0)"
    );
    assert_eq!(
        message(b"hello world, not a wav"),
        "not a WAV stream: it does not start with RIFF....WAVE"
    );
    assert_eq!(
        message(b"RIFF\0\0\0\0AVI LIST"),
        "not a WAV stream: it does not start with RIFF....WAVE"
    );
    assert_eq!(
        message(b"RIFX\0\0\0\0WAVE"),
        "unsupported WAV container: big-endian RIFX (only little-endian RIFF/WAVE is read)"
    );
    assert_eq!(
        message(b"RF64\0\0\0\0WAVE"),
        "unsupported WAV container: RF64 (64-bit sizes) (only little-endian RIFF/WAVE is read)"
    );
    assert_eq!(
        message(&riff(&[
            chunk(b"data", &[0, 0]),
            chunk(b"fmt ", &fmt(1, 1, 8000, 16))
        ])),
        "WAV data chunk before its fmt chunk"
    );
    assert_eq!(
        message(&wav(fmt(7, 1, 8000, 8), &[0])),
        "unsupported WAV encoding: format 7 (mu-law), 8-bit (supported: PCM 8/16/24/32-bit, IEEE float 32-bit)"
    );
    assert_eq!(
        message(&wav(fmt(1, 1, 8000, 12), &[0, 0])),
        "unsupported WAV encoding: PCM 12-bit (supported: PCM 8/16/24/32-bit, IEEE float 32-bit)"
    );
    assert_eq!(
        message(&wav(fmt(3, 1, 8000, 64), &[0; 8])),
        "unsupported WAV encoding: IEEE float 64-bit (supported: PCM 8/16/24/32-bit, IEEE float 32-bit)"
    );
    assert!(message(&wav(fmt(0x1234, 1, 8000, 16), &[0, 0])).contains("format 0x1234, 16-bit"));
    assert_eq!(
        message(&wav(fmt(1, 0, 8000, 16), &[])),
        "invalid WAV fmt chunk: 0 channels"
    );
    assert_eq!(
        message(&wav(fmt(1, 1, 0, 16), &[])),
        "invalid WAV fmt chunk: sample rate 0 Hz"
    );
    let mut bad_align = fmt(1, 2, 8000, 16);
    bad_align[12] = 3;
    assert_eq!(
        message(&wav(bad_align, &[])),
        "invalid WAV fmt chunk: block align 3 does not match 2 ch × 16-bit (4 bytes)"
    );
    assert_eq!(
        message(&riff(&[chunk(b"fmt ", &[1, 0, 1, 0])])),
        "invalid WAV fmt chunk: 4 bytes is too short (at least 16)"
    );
    assert_eq!(
        message(&riff(&[
            chunk(b"fmt ", &fmt(1, 1, 8000, 16)),
            chunk(b"fmt ", &fmt(1, 1, 8000, 16))
        ])),
        "invalid WAV fmt chunk: a second fmt chunk at byte 36"
    );
    let mut huge_fmt = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
    huge_fmt.extend(0x7000_0000u32.to_le_bytes());
    assert_eq!(
        message(&huge_fmt),
        "invalid WAV fmt chunk: 1879048192 bytes is too long (at most 1024)"
    );
}

#[test]
fn a_non_wav_stream_is_rejected_on_its_first_bytes() {
    let mut parser = WavParser::new(20.0).unwrap();
    let e = parser.push(b"{\"").unwrap_err();
    assert!(e.to_string().starts_with("not a WAV stream"), "{e}");
    assert_eq!(parser.phase(), ParserPhase::Failed);
    assert!(parser.is_complete());
}

#[test]
fn a_huge_unknown_chunk_streams_past_without_being_held() {
    let mut head = b"RIFF\xff\xff\xff\xffWAVEjunk".to_vec();
    head.extend(0xFFFF_FFF0u32.to_le_bytes());
    let mut parser = WavParser::new(20.0).unwrap();
    parser.push(&head).unwrap();
    let block = vec![0u8; 64 * 1024];
    for _ in 0..160 {
        assert_eq!(parser.push(&block), Ok(0));
    }
    let stats = parser.stats();
    assert_eq!(stats.bytes_skipped, 160 * 64 * 1024);
    assert!(stats.peak_held_bytes <= 12, "{stats:?}");
    assert_eq!(stats.bytes_copied, 20, "only the header pieces were copied");
    assert_eq!(
        parser.finish().unwrap_err().to_string(),
        "WAV stream ended after 10485780 bytes, inside its header (chunk \"junk\" declares 4294967280 bytes, got 10485760)"
    );
}

#[test]
fn a_partial_trailing_frame_fails_after_the_whole_frames_were_delivered() {
    let file = wav(fmt(1, 2, 8000, 16), &[1, 0, 2, 0, 3, 0]);
    let mut parser = WavParser::new(20.0).unwrap();
    let e = parser.push(&file).unwrap_err();
    assert_eq!(parser.finish(), Err(e.clone()), "the error stays");
    assert_eq!(
        e.to_string(),
        "WAV data ends inside a frame: 6 bytes is not a whole number of 4-byte frames (2 ch × 16-bit); 2 bytes left over"
    );
    // With items that fill before the end, those come first and the error after them.
    let pcm: Vec<u8> = (0..34).collect();
    let (items, r) = parse(&wav(fmt(1, 2, 8000, 16), &pcm), 1.0);
    assert_eq!(items.len(), 1);
    assert!(r
        .unwrap_err()
        .to_string()
        .contains("34 bytes is not a whole number of 4-byte frames"));
}

#[test]
fn non_finite_float_samples_are_an_error_naming_the_frame() {
    let f: Vec<u8> = [0.0f32, 0.1, 0.2, f32::NAN]
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    assert_eq!(
        message(&wav(fmt(3, 2, 8000, 32), &f)),
        "invalid WAV data: frame 1 channel 1 is NaN (float samples must be finite)"
    );
}

#[test]
fn misuse_is_reported() {
    assert!(WavParser::new(-1.0).is_err());
    assert!(WavParser::new(f64::NAN)
        .unwrap_err()
        .to_string()
        .contains("frameMs must be a finite number"));
    let mut parser = WavParser::new(20.0).unwrap();
    parser.push(&wav(fmt(1, 1, 8000, 16), &[0, 0])).unwrap();
    assert_eq!(parser.finish(), Ok(1));
    assert_eq!(parser.finish(), Ok(1), "finish again reports the same");
    assert_eq!(parser.push(&[0]), Err(WavError::PushAfterFinish));
    assert!(parser.take().is_some());
    assert_eq!(parser.finish(), Ok(0));
    assert_eq!(parser.stats().held_bytes, 0);
}

#[test]
fn streamed_data_sizes_zero_and_all_ones_read_to_the_end() {
    let pcm: Vec<u8> = (1..=8i16).flat_map(|s| s.to_le_bytes()).collect();
    for size in [0, u32::MAX] {
        let file = riff(&[
            chunk(b"fmt ", &fmt(1, 1, 8000, 16)),
            data_with_size(size, &pcm),
        ]);
        let (items, r) = parse_in(&file, 20.0, 5);
        r.unwrap();
        assert_eq!(samples(&items), Samples::I16((1..=8).collect()));
    }
}

#[test]
fn a_declared_data_size_ends_the_data_and_the_parser_stops_needing_input() {
    let file = riff(&[
        chunk(b"fmt ", &fmt(1, 1, 8000, 16)),
        chunk(b"data", &[1, 0, 2, 0]),
    ]);
    let mut parser = WavParser::new(20.0).unwrap();
    assert_eq!(parser.phase(), ParserPhase::Header);
    parser.push(&file[..46]).unwrap();
    assert_eq!(parser.phase(), ParserPhase::Data);
    assert_eq!(
        parser.push(&file[46..]),
        Ok(1),
        "the last item is ready without finish()"
    );
    assert_eq!(parser.phase(), ParserPhase::Complete);
    assert_eq!(parser.push(b"anything after the data is ignored"), Ok(1));
    assert_eq!(take(&mut parser).unwrap().samples, Samples::I16(vec![1, 2]));
    assert_eq!(parser.finish(), Ok(0));
}
