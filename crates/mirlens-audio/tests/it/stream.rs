//! Streaming: chunks equal the whole-file path; memory stays within the stated bound on a long file.

use mirlens_audio::decode::{ChannelPolicy, DecodeError, DecodeOptions, decode_file};
use mirlens_audio::resample::{ResampleQuality, output_len, resample};
use mirlens_audio::stream::{AudioStream, StreamError, StreamOptions};
use mirlens_audio::wav::{WavFormat, write_wav};
use mirlens_core::Tolerance;
use mirlens_test_support::{assert_close, golden_dir};

fn collect(s: AudioStream) -> Vec<f32> {
    s.flat_map(|c| c.unwrap()).collect()
}

#[test]
fn chunks_concatenate_to_decode_then_resample() {
    type Case = (&'static str, Option<u32>, f64, Option<f64>, ChannelPolicy);
    let cases: [Case; 5] = [
        ("s16.flac", None, 0.0, None, ChannelPolicy::MeanDownmix),
        (
            "stereo_s16.wav",
            Some(16_000),
            0.0,
            None,
            ChannelPolicy::MeanDownmix,
        ),
        (
            "stereo.mp3",
            Some(22_050),
            0.05,
            Some(0.2),
            ChannelPolicy::Channel(1),
        ),
        (
            "mono.m4a",
            Some(24_000),
            0.1,
            None,
            ChannelPolicy::MeanDownmix,
        ),
        ("mono.ogg", None, 0.0, Some(0.3), ChannelPolicy::MeanDownmix),
    ];
    for (name, target, offset_secs, duration_secs, channels) in cases {
        let path = golden_dir("decode").join(name);
        let d = decode_file(
            &path,
            &DecodeOptions {
                channels,
                offset_secs,
                duration_secs,
            },
        )
        .unwrap();
        let expected = match target {
            Some(t) => resample(
                &d.waveform.samples,
                d.waveform.sample_rate,
                t,
                ResampleQuality::High,
            )
            .unwrap(),
            None => d.waveform.samples.clone(),
        };
        for chunk_frames in [1000usize, 4096, 100_000] {
            let opts = StreamOptions {
                channels,
                target_rate: target,
                chunk_frames,
                offset_secs,
                duration_secs,
                ..Default::default()
            };
            let s = AudioStream::open(&path, &opts).unwrap();
            assert_eq!(s.sample_rate(), target.unwrap_or(d.waveform.sample_rate));
            let chunks: Vec<Vec<f32>> = s.map(|c| c.unwrap()).collect();
            assert!(
                chunks[..chunks.len() - 1]
                    .iter()
                    .all(|c| c.len() == chunk_frames),
                "{name}: full chunks"
            );
            let got: Vec<f32> = chunks.concat();
            assert_close(
                &format!("{name} chunk {chunk_frames}"),
                &got,
                &expected,
                Tolerance::EXACT_F32,
            );
        }
    }
}

#[test]
fn long_file_streams_in_bounded_memory() {
    // 6 minutes at 16 kHz (5.76 M samples, 11.5 MB WAV) streamed to 24 kHz in 16 384-sample chunks.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.wav");
    let sr = 16_000u32;
    let n = 6 * 60 * sr as usize;
    let x: Vec<f32> = (0..n)
        .map(|i| 0.25 * ((i % 16_000) as f32 * 0.0393).sin() + 0.1 * ((i / 7) % 3) as f32 - 0.1)
        .collect();
    write_wav(&path, &x, sr, WavFormat::Pcm16).unwrap();
    drop(x);
    let opts = StreamOptions {
        target_rate: Some(24_000),
        chunk_frames: 16_384,
        ..Default::default()
    };
    let mut s = AudioStream::open(&path, &opts).unwrap();
    let mut total = 0usize;
    let mut max_chunk = 0usize;
    for c in s.by_ref() {
        let c = c.unwrap();
        total += c.len();
        max_chunk = max_chunk.max(c.len());
    }
    assert_eq!(total, output_len(n, sr, 24_000));
    assert_eq!(max_chunk, 16_384);
    let bound = s.buffer_bound();
    let used = s.max_buffered_samples();
    println!("long stream: {n} input samples, high-water {used} samples, stated bound {bound}");
    assert!(
        used <= bound,
        "high-water {used} above the stated bound {bound}"
    );
    // the bound does not grow with the file: well under 1 % of the file
    assert!(bound < 100_000, "bound {bound}");
}

#[test]
fn stream_errors_are_typed() {
    let dir = golden_dir("decode");
    let o = StreamOptions::default();
    assert!(matches!(
        AudioStream::open(&dir.join("unsupported.opus"), &o),
        Err(StreamError::Decode(DecodeError::UnsupportedCodec { .. }))
    ));
    assert!(matches!(
        AudioStream::open(&dir.join("zero_length.wav"), &o),
        Err(StreamError::Decode(DecodeError::ZeroLength { .. }))
    ));
    let bad = StreamOptions {
        chunk_frames: 0,
        ..Default::default()
    };
    assert!(matches!(
        AudioStream::open(&dir.join("pcm_s16.wav"), &bad),
        Err(StreamError::Decode(DecodeError::InvalidOption {
            parameter: "chunk_frames",
            ..
        }))
    ));
    // truncation surfaces as an item error at the point it is reached, then the iterator ends
    let s = AudioStream::open(
        &dir.join("truncated.wav"),
        &StreamOptions {
            chunk_frames: 1000,
            ..Default::default()
        },
    )
    .unwrap();
    let items: Vec<_> = s.collect();
    assert_eq!(items.iter().filter(|i| i.is_ok()).count(), 3);
    assert!(matches!(
        items.last(),
        Some(Err(StreamError::Decode(DecodeError::Truncated { .. })))
    ));
    // NaN in the first packet: reported by `open` (which decodes the first packet)
    let e = match AudioStream::open(&dir.join("nan.wav"), &o) {
        Err(e) => e,
        Ok(s) => collect_err(s).unwrap(),
    };
    assert!(
        matches!(
            e,
            StreamError::Decode(DecodeError::NonFinite {
                first_frame: 100,
                ..
            })
        ),
        "{e:?}"
    );
    let s = AudioStream::open(
        &dir.join("pcm_s16.wav"),
        &StreamOptions {
            offset_secs: 1.0,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(matches!(
        collect_err(s),
        Some(StreamError::Decode(DecodeError::CropBeyondEnd { .. }))
    ));
}

fn collect_err(s: AudioStream) -> Option<StreamError> {
    s.filter_map(|c| c.err()).next()
}

#[test]
fn streamed_samples_equal_written_samples() {
    // write_wav → stream round trip: 16-bit grid values come back exactly.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grid.wav");
    let x: Vec<f32> = (0..10_000)
        .map(|i| ((i * 37 % 2001) as f32 - 1000.0) / 32768.0)
        .collect();
    write_wav(&path, &x, 8000, WavFormat::Pcm16).unwrap();
    let s = AudioStream::open(
        &path,
        &StreamOptions {
            chunk_frames: 3000,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(collect(s), x);
    let pf = dir.path().join("float.wav");
    let y: Vec<f32> = (0..5000).map(|i| (i as f32 * 0.01).sin() * 1.5).collect();
    write_wav(&pf, &y, 44_100, WavFormat::Float32).unwrap();
    let d = decode_file(&pf, &DecodeOptions::default()).unwrap();
    assert_eq!(d.waveform.samples, y);
    assert_eq!(d.info.codec, "pcm_f32le");
}
