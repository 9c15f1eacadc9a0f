//! Deterministic mutation testing of the decoding entry point (complements the cargo-fuzz target in `fuzz/`):
//! every valid fixture is damaged in seeded ways — bit flips, byte overwrites, truncation, chunk deletion and
//! duplication — and decoded from memory. Nothing may panic; every result is either finite audio or a typed error
//! naming the input.

use mirlens_audio::decode::{ChannelPolicy, DecodeError, DecodeOptions, decode_bytes};
use mirlens_test_support::golden_dir;
use std::path::Path;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(src: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = src.to_vec();
    // Keep most damage after the first few hundred bytes half the time, so decoding gets past the header.
    let lo = if rng.next().is_multiple_of(2) {
        0
    } else {
        b.len().min(200)
    };
    let pos = |rng: &mut Rng, len: usize| lo.min(len) + rng.below(len.saturating_sub(lo).max(1));
    for _ in 0..1 + rng.below(4) {
        if b.is_empty() {
            break;
        }
        match rng.below(6) {
            0 => {
                let i = pos(rng, b.len()).min(b.len() - 1);
                b[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = pos(rng, b.len()).min(b.len() - 1);
                let n = (1 + rng.below(64)).min(b.len() - i);
                for x in &mut b[i..i + n] {
                    *x = rng.next() as u8;
                }
            }
            2 => {
                let i = pos(rng, b.len());
                b.truncate(i);
            }
            3 => {
                let i = pos(rng, b.len()).min(b.len() - 1);
                let n = (1 + rng.below(512)).min(b.len() - i);
                b.drain(i..i + n);
            }
            4 => {
                let i = pos(rng, b.len()).min(b.len() - 1);
                let n = (1 + rng.below(512)).min(b.len() - i);
                let chunk = b[i..i + n].to_vec();
                let j = rng.below(b.len());
                b.splice(j..j, chunk);
            }
            _ => {
                // header fields: overwrite 4 bytes near the start with extreme values
                let i = rng.below(b.len().min(64));
                let v = [0u8, 0xff, 0x7f, 0x80][rng.below(4)];
                for x in b.iter_mut().skip(i).take(4) {
                    *x = v;
                }
            }
        }
    }
    b
}

#[test]
fn mutated_files_never_panic_and_errors_name_the_input() {
    let files = [
        "pcm_u8.wav",
        "pcm_s24.wav",
        "float32.wav",
        "s16.flac",
        "s16.aiff",
        "mono.mp3",
        "mono.ogg",
        "mono.m4a",
        "stereo.m4a",
        "unsupported.opus",
    ];
    let label = Path::new("mutated-input.bin");
    let mut rng = Rng(2024);
    let (mut ok, mut failed) = (
        0usize,
        std::collections::BTreeMap::<&'static str, usize>::new(),
    );
    for name in files {
        let bytes = std::fs::read(golden_dir("decode").join(name)).unwrap();
        let ext = name.rsplit('.').next();
        for k in 0..60 {
            let m = mutate(&bytes, &mut rng);
            let hint = if k % 3 == 0 { None } else { ext };
            let opts = DecodeOptions {
                channels: if k % 5 == 0 {
                    ChannelPolicy::Channel(0)
                } else {
                    ChannelPolicy::MeanDownmix
                },
                offset_secs: if k % 7 == 0 { 0.01 } else { 0.0 },
                duration_secs: if k % 4 == 0 { Some(0.1) } else { None },
            };
            match decode_bytes(label, m, hint, &opts) {
                Ok(d) => {
                    assert!(
                        d.waveform.samples.iter().all(|x| x.is_finite()),
                        "{name} #{k}"
                    );
                    assert!(
                        d.waveform.sample_rate > 0 && !d.waveform.samples.is_empty(),
                        "{name} #{k}"
                    );
                    ok += 1;
                }
                Err(e) => {
                    assert!(e.path().is_none_or(|p| p == label), "{name} #{k}: {e}");
                    let kind = match e {
                        DecodeError::UnknownFormat { .. } => "unknown-format",
                        DecodeError::Corrupt { .. } => "corrupt",
                        DecodeError::Truncated { .. } => "truncated",
                        DecodeError::UnsupportedCodec { .. } => "unsupported-codec",
                        DecodeError::ZeroLength { .. } => "zero-length",
                        DecodeError::NonFinite { .. } => "non-finite",
                        DecodeError::CropBeyondEnd { .. } => "crop-beyond-end",
                        DecodeError::NoAudioTrack { .. } => "no-audio-track",
                        DecodeError::ChannelOutOfRange { .. } => "channel",
                        DecodeError::EmptyFile { .. } => "empty",
                        _ => "other",
                    };
                    *failed.entry(kind).or_default() += 1;
                }
            }
        }
    }
    println!("mutations: {ok} decoded, errors by kind {failed:?}");
    assert_eq!(ok + failed.values().sum::<usize>(), files.len() * 60);
    // both outcomes occur: the mutations exercise the decoders, not only the probe
    assert!(
        ok > 50 && failed.values().sum::<usize>() > 50,
        "{ok} / {failed:?}"
    );
}

#[test]
fn decode_bytes_equals_decode_file() {
    for name in ["s16.flac", "stereo.m4a", "mono.mp3"] {
        let p = golden_dir("decode").join(name);
        let a = mirlens_audio::decode::decode_file(&p, &DecodeOptions::default()).unwrap();
        let b = decode_bytes(
            Path::new(name),
            std::fs::read(&p).unwrap(),
            None,
            &DecodeOptions::default(),
        )
        .unwrap();
        assert_eq!(a.waveform, b.waveform, "{name}");
        assert_eq!(a.info, b.info, "{name}");
    }
}

#[test]
fn fuzzer_found_lying_header_does_not_allocate_its_claim() {
    // A damaged MP3 Xing header announcing ~2.2 G frames once made decode reserve 8.9 GB up front.
    let p = golden_dir("decode").join("fuzz_xing_frames.mp3");
    match mirlens_audio::decode::decode_file(&p, &DecodeOptions::default()) {
        Ok(d) => {
            assert!(
                d.waveform.samples.len() < 1_000_000,
                "{}",
                d.waveform.samples.len()
            );
            assert!(d.waveform.samples.iter().all(|x| x.is_finite()));
        }
        Err(e) => assert_eq!(e.path(), Some(p.as_path()), "{e}"),
    }
}
