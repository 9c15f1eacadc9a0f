//! Incremental front ends (`Stft::stream`, `MelSpectrogram::stream`) against the whole-signal computation: the same
//! frames, bit for bit, for every pad mode, uncentred frames, short and long signals and any split of the input.

use mirlens_audio::frontend::FrontendError;
use mirlens_audio::frontend::mel::{MelSpectrogram, MelSpectrogramParams};
use mirlens_audio::frontend::stft::{PadMode, Stft, StftParams};
use mirlens_audio::frontend::window::{Symmetry, WindowKind, WindowSpec};

/// A seeded test signal: two tones, a click train and noise (so every frame differs).
fn signal(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5;
            let t = i as f32 / 22_050.0;
            0.4 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                + 0.2 * (2.0 * std::f32::consts::PI * 3_100.0 * t).sin()
                + if i % 997 == 0 { 0.5 } else { 0.0 }
                + 0.1 * noise
        })
        .collect()
}

/// Frames as `(index, bins as bit patterns)`.
type Frames = Vec<(usize, Vec<(u32, u32)>)>;

fn whole(stft: &Stft, y: &[f32]) -> Result<Frames, FrontendError> {
    let mut out = Vec::new();
    stft.for_each_frame(y, |t, bins| {
        out.push((
            t,
            bins.iter()
                .map(|c| (c.re.to_bits(), c.im.to_bits()))
                .collect(),
        ))
    })?;
    Ok(out)
}

fn streamed(stft: &Stft, y: &[f32], piece: usize) -> Result<(Frames, usize, usize), FrontendError> {
    let mut out = Vec::new();
    let mut s = stft.stream();
    let mut held = 0;
    for c in y.chunks(piece) {
        s.push(c, |t, bins| {
            out.push((
                t,
                bins.iter()
                    .map(|c| (c.re.to_bits(), c.im.to_bits()))
                    .collect(),
            ))
        })?;
        held = held.max(s.held_samples());
    }
    let n = s.finish(|t, bins| {
        out.push((
            t,
            bins.iter()
                .map(|c| (c.re.to_bits(), c.im.to_bits()))
                .collect(),
        ))
    })?;
    Ok((out, n, held))
}

#[test]
fn streamed_stft_equals_whole_signal_bit_for_bit() {
    let hann = WindowSpec::HANN;
    let hamming = WindowSpec {
        kind: WindowKind::Hamming,
        symmetry: Symmetry::Periodic,
    };
    let configs: Vec<(usize, usize, Option<usize>, WindowSpec, bool, PadMode)> = vec![
        (2048, 512, None, hann, true, PadMode::Constant),
        (2048, 512, None, hann, true, PadMode::Reflect),
        (512, 128, Some(300), hamming, true, PadMode::Symmetric),
        (256, 100, None, hann, true, PadMode::Edge),
        (256, 400, None, hann, true, PadMode::Reflect), // hop longer than the frame
        (512, 160, None, hann, false, PadMode::Constant),
    ];
    let mut compared = 0;
    for (k, &(n_fft, hop, win, window, center, pad_mode)) in configs.iter().enumerate() {
        let stft = Stft::new(&StftParams {
            n_fft,
            hop_length: Some(hop),
            win_length: win,
            window,
            center,
            pad_mode,
        })
        .unwrap();
        for n in [
            1,
            2,
            5,
            129,
            n_fft - 1,
            n_fft,
            n_fft + 1,
            3 * n_fft + 17,
            40_000,
        ] {
            let y = signal(n, (k * 100 + n) as u64);
            let expected = whole(&stft, &y);
            for piece in [1, 7, hop, 4096, 65_536] {
                if piece == 1 && n > 5000 {
                    continue;
                }
                let got = streamed(&stft, &y, piece);
                match (&expected, &got) {
                    (Ok(e), Ok((g, frames, held))) => {
                        assert_eq!(e.len(), *frames, "config {k}, n {n}, piece {piece}");
                        assert!(
                            e == g,
                            "config {k}, n {n}, piece {piece}: streamed frames differ"
                        );
                        // bounded: twice (the frame, its padding and a hop; dropped in halves) and one piece
                        assert!(
                            *held <= 2 * (n_fft + n_fft / 2 + 2 + hop) + piece,
                            "config {k}, n {n}, piece {piece}: held {held}"
                        );
                        compared += e.len();
                    }
                    (Err(e), Err(g)) => assert_eq!(e.to_string(), g.to_string()),
                    (e, g) => panic!(
                        "config {k}, n {n}, piece {piece}: {e:?} vs {:?}",
                        g.as_ref().map(|x| x.1)
                    ),
                }
            }
        }
    }
    assert!(compared > 5000, "{compared}");
}

#[test]
fn streamed_mel_equals_whole_signal_and_rejects_nan_with_its_global_index() {
    let m = MelSpectrogram::new(&MelSpectrogramParams::librosa(22_050.0, 2048, 512, 128)).unwrap();
    let y = signal(100_000, 3);
    let whole = m.compute(&y).unwrap();
    for piece in [333, 65_536] {
        let mut s = m.stream();
        let mut frames: Vec<Vec<f32>> = Vec::new();
        for c in y.chunks(piece) {
            s.push(c, |t, col| {
                assert_eq!(t, frames.len());
                frames.push(col.to_vec())
            })
            .unwrap();
        }
        let n = s
            .finish(|t, col| {
                assert_eq!(t, frames.len());
                frames.push(col.to_vec())
            })
            .unwrap();
        assert_eq!(n, whole.n_frames);
        for (t, col) in frames.iter().enumerate() {
            for (b, v) in col.iter().enumerate() {
                assert_eq!(v.to_bits(), whole.get(b, t).to_bits(), "frame {t} bin {b}");
            }
        }
    }
    let mut s = m.stream();
    s.push(&y[..1000], |_, _| {}).unwrap();
    let mut bad = y[1000..2000].to_vec();
    bad[10] = f32::NAN;
    match s.push(&bad, |_, _| {}) {
        Err(FrontendError::NonFiniteInput { first, count, .. }) => {
            assert_eq!((first, count), (1010, 1))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        m.stream().finish(|_, _| {}),
        Err(FrontendError::EmptyInput)
    ));
}
