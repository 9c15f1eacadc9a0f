//! Decoding: values against soundfile/ffmpeg references, channel policy, crop, info, and every bad-input case.

use mirlens_audio::decode::*;
use mirlens_core::Tolerance;
use mirlens_test_support::golden::Golden;
use mirlens_test_support::{assert_close, compare, golden_dir};
use std::path::PathBuf;
use std::sync::OnceLock;

/// Lossy codecs (MP3/Vorbis/AAC) decoded by symphonia vs ffmpeg (MP3/AAC) or libsndfile (Vorbis): different
/// decoder implementations (float vs fixed rounding, IMDCT). Achieved maxima are printed and quoted in
/// docs/audio-io.md.
const LOSSY_DECODER: Tolerance = Tolerance {
    name: "lossy-decoder",
    atol: 2e-5,
    rtol: 0.0,
};

fn fixture(name: &str) -> PathBuf {
    golden_dir("decode").join(name)
}

fn golden() -> &'static Golden {
    static G: OnceLock<Golden> = OnceLock::new();
    G.get_or_init(|| Golden::load(fixture("reference.safetensors")))
}

/// Reference channel `c` of fixture `name` (planar [channels, frames]).
fn reference(name: &str, c: usize) -> Vec<f32> {
    let t = golden().get(name);
    let n = t.shape[1];
    t.data[c * n..(c + 1) * n].to_vec()
}

fn mean_ref(name: &str) -> Vec<f32> {
    let t = golden().get(name);
    let (ch, n) = (t.shape[0], t.shape[1]);
    (0..n)
        .map(|i| (0..ch).map(|c| t.data[c * n + i]).sum::<f32>() / ch as f32)
        .collect()
}

fn decode(name: &str) -> Decoded {
    decode_file(&fixture(name), &DecodeOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn lossless_formats_equal_soundfile_bit_for_bit() {
    for name in [
        "pcm_u8.wav",
        "pcm_s16.wav",
        "pcm_s24.wav",
        "pcm_s32.wav",
        "float32.wav",
        "float64.wav",
        "s16.flac",
        "s24.flac",
        "s16.aiff",
    ] {
        let d = decode(name);
        let r = reference(name, 0);
        assert_eq!(d.waveform.samples.len(), r.len(), "{name}");
        let diffs = d
            .waveform
            .samples
            .iter()
            .zip(&r)
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count();
        assert_eq!(diffs, 0, "{name}: {diffs} samples differ from soundfile");
        assert_eq!(d.waveform.sample_rate, 22_050, "{name}");
        assert_eq!((d.info.channels, d.info.frames), (1, 11_025), "{name}");
    }
}

#[test]
fn sixteen_bit_values_are_integers_over_32768() {
    let d = decode("pcm_s16.wav");
    for &x in &d.waveform.samples {
        let i = x * 32768.0;
        assert_eq!(i, i.round(), "{x} is not k/32768");
    }
    // and the file is the float source quantised (libsndfile writes with scale 32767, reads with 1/32768, so the
    // error stays within one 16-bit step)
    let src = reference("source_mono", 0);
    assert_close(
        "s16 vs source",
        &d.waveform.samples,
        &src,
        Tolerance {
            name: "q16",
            atol: 1.0 / 32768.0 + 1e-9,
            rtol: 0.0,
        },
    );
}

#[test]
fn stereo_downmix_and_channel_pick_match_soundfile() {
    for name in ["stereo_s16.wav", "stereo_s16.flac"] {
        let d = decode(name);
        assert_eq!(d.info.channels, 2);
        assert_eq!(d.waveform.sample_rate, 44_100);
        assert_eq!(d.waveform.samples, mean_ref(name), "{name}: mean downmix");
        for c in 0..2 {
            let o = DecodeOptions {
                channels: ChannelPolicy::Channel(c),
                ..Default::default()
            };
            let d = decode_file(&fixture(name), &o).unwrap();
            assert_eq!(
                d.waveform.samples,
                reference(name, c),
                "{name}: channel {c}"
            );
        }
    }
    let (chans, info) = decode_file_channels(&fixture("stereo_s16.wav")).unwrap();
    assert_eq!(info.channels, 2);
    assert_eq!(chans[0], reference("stereo_s16.wav", 0));
    assert_eq!(chans[1], reference("stereo_s16.wav", 1));
}

#[test]
fn lossy_formats_match_reference_decoders_within_tier() {
    for (name, ch, sr) in [
        ("mono.mp3", 1usize, 22_050u32),
        ("stereo.mp3", 2, 44_100),
        ("mono.ogg", 1, 22_050),
        ("mono.m4a", 1, 22_050),
        ("stereo.m4a", 2, 44_100),
    ] {
        let d = decode(name);
        assert_eq!((d.info.channels, d.info.sample_rate), (ch, sr), "{name}");
        let r = mean_ref(name);
        // Length: gapless trimming (LAME tag, Vorbis granules, MP4 edit list) gives the encoded length exactly.
        assert_eq!(d.waveform.samples.len(), r.len(), "{name}: length");
        let rep = assert_close(name, &d.waveform.samples, &r, LOSSY_DECODER);
        println!(
            "{name}: max abs diff vs reference decoder {:.3e}",
            rep.max_abs
        );
        for c in 0..ch {
            let o = DecodeOptions {
                channels: ChannelPolicy::Channel(c),
                ..Default::default()
            };
            let d = decode_file(&fixture(name), &o).unwrap();
            assert_close(
                &format!("{name} ch{c}"),
                &d.waveform.samples,
                &reference(name, c),
                LOSSY_DECODER,
            );
        }
    }
}

#[test]
fn aac_priming_is_trimmed_so_the_signal_is_aligned() {
    // Without trimming the 1024-frame (+ padding) priming the decoded signal would be shifted by 1024 samples:
    // alignment is checked against the (un-encoded) source by correlation at lag 0 versus lag 1024.
    let d = decode("mono.m4a");
    let src = reference("source_mono", 0);
    assert_eq!(d.waveform.samples.len(), src.len());
    let err0: f32 = d
        .waveform
        .samples
        .iter()
        .zip(&src)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f32>();
    let energy: f32 = src.iter().map(|x| x * x).sum();
    let snr = 10.0 * (energy / err0).log10();
    assert!(
        snr > 20.0,
        "AAC vs source SNR {snr:.1} dB (misaligned priming?)"
    );
}

#[test]
fn crop_by_offset_and_duration_uses_rounded_frames() {
    let full = decode("pcm_s16.wav").waveform.samples;
    let o = DecodeOptions {
        offset_secs: 0.1,
        duration_secs: Some(0.2),
        ..Default::default()
    };
    let d = decode_file(&fixture("pcm_s16.wav"), &o).unwrap();
    // round(0.1·22050) = 2205, round(0.2·22050) = 4410
    assert_eq!(d.waveform.samples, full[2205..2205 + 4410]);
    assert_eq!(d.info.frames, 11_025, "info describes the whole file");
    // duration past the end: cut at the end
    let o = DecodeOptions {
        offset_secs: 0.45,
        duration_secs: Some(10.0),
        ..Default::default()
    };
    let d = decode_file(&fixture("pcm_s16.wav"), &o).unwrap();
    assert_eq!(d.waveform.samples, full[9923..]);
    // crop on a stereo lossy file equals cropping the full decode
    let full = decode("stereo.mp3").waveform.samples;
    let o = DecodeOptions {
        offset_secs: 0.05,
        duration_secs: Some(0.1),
        ..Default::default()
    };
    let d = decode_file(&fixture("stereo.mp3"), &o).unwrap();
    assert_eq!(d.waveform.samples, full[2205..2205 + 4410]);
}

#[test]
fn probe_reports_format_facts() {
    let cases = [
        ("pcm_s16.wav", 22_050, 1, 11_025u64, "pcm_s16le", "wave"),
        ("pcm_u8.wav", 22_050, 1, 11_025, "pcm_u8", "wave"),
        ("float64.wav", 22_050, 1, 11_025, "pcm_f64le", "wave"),
        ("s24.flac", 22_050, 1, 11_025, "flac", "flac"),
        ("s16.aiff", 22_050, 1, 11_025, "pcm_s16be", "aiff"),
        ("stereo.mp3", 44_100, 2, 13_230, "mp3", "mp3"),
        ("mono.ogg", 22_050, 1, 11_025, "vorbis", "ogg"),
        ("stereo.m4a", 44_100, 2, 13_230, "aac", "isomp4"),
    ];
    for (name, sr, ch, frames, codec, container) in cases {
        for mode in [ProbeMode::HeaderOrCount, ProbeMode::Count] {
            let i = probe_file_with(&fixture(name), mode).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                (
                    i.sample_rate,
                    i.channels,
                    i.frames,
                    i.codec.as_str(),
                    i.container.as_str()
                ),
                (sr, ch, frames, codec, container),
                "{name} {mode:?}"
            );
            assert!((i.duration_secs - frames as f64 / sr as f64).abs() < 1e-12);
        }
    }
}

#[test]
fn bad_inputs_are_typed_errors_naming_the_file() {
    let o = DecodeOptions::default();
    let err = |name: &str| {
        let e = decode_file(&fixture(name), &o).expect_err(name);
        assert_eq!(e.path(), Some(fixture(name).as_path()), "{name}");
        assert!(
            e.to_string().contains(name),
            "{name}: message {e} lacks the file name"
        );
        e
    };
    assert!(matches!(
        err("does_not_exist.wav"),
        DecodeError::NotFound { .. }
    ));
    assert!(matches!(err("empty.wav"), DecodeError::EmptyFile { .. }));
    assert!(matches!(
        err("garbage.wav"),
        DecodeError::UnknownFormat { .. }
    ));
    match err("truncated.wav") {
        DecodeError::Truncated { detail, .. } => assert!(
            detail.contains("3000") && detail.contains("11025"),
            "{detail}"
        ),
        e => panic!("truncated.wav: {e:?}"),
    }
    assert!(matches!(
        err("truncated.flac"),
        DecodeError::Truncated { .. }
    ));
    assert!(matches!(err("corrupt.flac"), DecodeError::Corrupt { .. }));
    match err("unsupported.opus") {
        DecodeError::UnsupportedCodec { codec, hint, .. } => {
            assert_eq!(codec, "opus");
            assert!(hint.contains("ffmpeg"));
        }
        e => panic!("opus: {e:?}"),
    }
    assert!(matches!(
        err("zero_length.wav"),
        DecodeError::ZeroLength { .. }
    ));
    match err("nan.wav") {
        DecodeError::NonFinite {
            count: 2,
            first_frame: 100,
            all: false,
            ..
        } => {}
        e => panic!("nan.wav: {e:?}"),
    }
    assert!(matches!(
        err("all_nan.wav"),
        DecodeError::NonFinite {
            count: 1000,
            all: true,
            ..
        }
    ));
    // probe shares the checks
    assert!(matches!(
        probe_file(&fixture("unsupported.opus")),
        Err(DecodeError::UnsupportedCodec { .. })
    ));
    assert!(matches!(
        probe_file_with(&fixture("truncated.wav"), ProbeMode::Count),
        Err(DecodeError::Truncated { .. })
    ));
}

#[test]
fn bad_options_are_rejected() {
    let f = fixture("pcm_s16.wav");
    let bad = [
        DecodeOptions {
            offset_secs: -1.0,
            ..Default::default()
        },
        DecodeOptions {
            offset_secs: f64::NAN,
            ..Default::default()
        },
        DecodeOptions {
            duration_secs: Some(0.0),
            ..Default::default()
        },
        DecodeOptions {
            duration_secs: Some(f64::INFINITY),
            ..Default::default()
        },
    ];
    for o in bad {
        assert!(
            matches!(decode_file(&f, &o), Err(DecodeError::InvalidOption { .. })),
            "{o:?}"
        );
    }
    let o = DecodeOptions {
        channels: ChannelPolicy::Channel(1),
        ..Default::default()
    };
    assert!(matches!(
        decode_file(&f, &o),
        Err(DecodeError::ChannelOutOfRange {
            channel: 1,
            channels: 1,
            ..
        })
    ));
    let o = DecodeOptions {
        offset_secs: 0.5,
        ..Default::default()
    };
    assert!(matches!(
        decode_file(&f, &o),
        Err(DecodeError::CropBeyondEnd { .. })
    ));
}

#[test]
fn directory_is_refused_as_not_a_regular_file() {
    let e = decode_file(&golden_dir("decode"), &DecodeOptions::default()).unwrap_err();
    assert!(
        matches!(e, DecodeError::NotRegularFile { kind: "folder", .. }),
        "{e:?}"
    );
}

#[test]
fn lossy_reference_error_is_reported() {
    // Figures quoted in docs/audio-io.md: max |symphonia − reference decoder| per lossy fixture.
    for name in [
        "mono.mp3",
        "stereo.mp3",
        "mono.ogg",
        "mono.m4a",
        "stereo.m4a",
    ] {
        let d = decode(name);
        let rep = compare(&d.waveform.samples, &mean_ref(name), LOSSY_DECODER);
        println!("{name}: max abs {:.3e}", rep.max_abs);
    }
}
