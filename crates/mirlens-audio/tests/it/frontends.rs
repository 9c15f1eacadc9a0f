//! Front-end parity against librosa 0.11 / torchaudio 2.11 fixtures (`tests/golden/frontends/generate.py`), oracle
//! tests (fast paths vs naive definitions) and bad-parameter tests.
//!
//! Comparisons are made on arrays scaled by the reference's peak magnitude, so every tier's `atol` reads as
//! "fraction of the array's peak"; dB-valued arrays (log-mel, MFCC, Whisper) are compared unscaled, in dB.

use mirlens_audio::frontend::chroma::{
    self, ChromaCqtParams, ChromaFilterParams, ChromaStftParams,
};
use mirlens_audio::frontend::cqt::{BasisNorm, Cqt, CqtParams, CqtScale};
use mirlens_audio::frontend::db::{self, DbParams, DbRef};
use mirlens_audio::frontend::mel::{
    MelFilterbank, MelNorm, MelParams, MelScale, MelSpectrogram, MelSpectrogramParams,
};
use mirlens_audio::frontend::mfcc::{Mfcc, MfccParams};
use mirlens_audio::frontend::stft::{PadMode, Stft, StftParams};
use mirlens_audio::frontend::tuning::{
    Tuning, estimate_tuning_from_signal, estimate_tuning_from_spectrogram,
};
use mirlens_audio::frontend::window::{Symmetry, WindowKind, WindowSpec};
use mirlens_audio::frontend::{FrontendError, normalize, presets};
use mirlens_core::Tolerance;
use mirlens_test_support::golden::Golden;
use mirlens_test_support::{CloseReport, assert_close, golden_dir};
use std::sync::OnceLock;

/// f32 FFT vs librosa's f64 FFT (rounded to complex64): STFT, power/magnitude, mel, filterbanks.
const SPECTRAL: Tolerance = Tolerance {
    name: "spectral-f32",
    atol: 2e-6,
    rtol: 0.0,
};
/// dB-valued outputs (power_to_db, amplitude_to_db, MFCC, Whisper log-mel), in dB (or Whisper units).
const DB: Tolerance = Tolerance {
    name: "db-f32",
    atol: 2e-3,
    rtol: 0.0,
};
/// Chroma (∞-normalised per frame).
const CHROMA: Tolerance = Tolerance {
    name: "chroma",
    atol: 1e-5,
    rtol: 0.0,
};
/// CQT: librosa halves each octave with libsoxr, mirlens with its own soxr-like FIR; fraction of peak.
const CQT: Tolerance = Tolerance {
    name: "cqt-resampled",
    atol: 1.5e-3,
    rtol: 0.0,
};
/// chroma_cqt inherits the CQT's resampling difference.
const CHROMA_CQT: Tolerance = Tolerance {
    name: "chroma-cqt-resampled",
    atol: 5e-3,
    rtol: 0.0,
};
/// torchaudio computes the mel product in f32 with a different summation.
const TORCH: Tolerance = Tolerance {
    name: "torchaudio-f32",
    atol: 1e-5,
    rtol: 0.0,
};

fn golden(name: &str) -> &'static Golden {
    static CELLS: OnceLock<std::sync::Mutex<std::collections::HashMap<String, &'static Golden>>> =
        OnceLock::new();
    let map = CELLS.get_or_init(Default::default);
    let mut m = map.lock().unwrap();
    m.entry(name.to_string()).or_insert_with(|| {
        Box::leak(Box::new(Golden::load(
            golden_dir("frontends").join(format!("{name}.safetensors")),
        )))
    })
}

fn signal(name: &str) -> Vec<f32> {
    golden("signals").get(name).data.clone()
}

/// Compare after dividing both arrays by the reference's peak |value|; prints the achieved error.
#[track_caller]
fn close_peak(what: &str, actual: &[f32], expected: &[f32], tol: Tolerance) -> CloseReport {
    let peak = expected
        .iter()
        .fold(0f32, |m, v| m.max(v.abs()))
        .max(f32::MIN_POSITIVE);
    let a: Vec<f32> = actual.iter().map(|v| v / peak).collect();
    let e: Vec<f32> = expected.iter().map(|v| v / peak).collect();
    let r = assert_close(what, &a, &e, tol);
    eprintln!(
        "{what}: max abs / peak = {:.3e} (tier {})",
        r.max_abs, tol.name
    );
    r
}

#[track_caller]
fn close_abs(what: &str, actual: &[f32], expected: &[f32], tol: Tolerance) -> CloseReport {
    let r = assert_close(what, actual, expected, tol);
    eprintln!("{what}: max abs = {:.3e} (tier {})", r.max_abs, tol.name);
    r
}

fn expect_shape(what: &str, got: [usize; 2], name: &str, g: &Golden) {
    assert_eq!(got.to_vec(), g.get(name).shape, "{what}: shape");
}

// ------------------------------------------------------------------------------------------------ STFT

fn check_stft(label: &str, params: StftParams, y: &[f32]) {
    let g = golden("stft");
    let d = Stft::new(&params).unwrap().stft(y).unwrap();
    expect_shape(label, [d.n_bins, d.n_frames], &format!("{label}_re"), g);
    let peak_ref: Vec<f32> = g
        .get(&format!("{label}_re"))
        .data
        .iter()
        .zip(&g.get(&format!("{label}_im")).data)
        .map(|(a, b)| a.hypot(*b))
        .collect();
    let peak = peak_ref.iter().fold(0f32, |m, v| m.max(*v));
    let scale = |v: Vec<f32>| v.into_iter().map(|x| x / peak).collect::<Vec<_>>();
    let r1 = assert_close(
        &format!("stft {label} re"),
        &scale(d.re()),
        &scale(g.get(&format!("{label}_re")).data.clone()),
        SPECTRAL,
    );
    let r2 = assert_close(
        &format!("stft {label} im"),
        &scale(d.im()),
        &scale(g.get(&format!("{label}_im")).data.clone()),
        SPECTRAL,
    );
    eprintln!(
        "stft {label}: max abs / peak = {:.3e}",
        r1.max_abs.max(r2.max_abs)
    );
}

#[test]
fn stft_default_matches_librosa() {
    check_stft("default", StftParams::new(2048, 512), &signal("y22"));
}

#[test]
fn stft_short_window_hamming_reflect_matches_librosa() {
    let p = StftParams {
        win_length: Some(400),
        window: WindowSpec {
            kind: WindowKind::Hamming,
            symmetry: Symmetry::Periodic,
        },
        pad_mode: PadMode::Reflect,
        ..StftParams::new(512, 128)
    };
    check_stft("w400_hamming_reflect", p, &signal("y22"));
}

#[test]
fn stft_symmetric_blackman_edge_matches_librosa() {
    let p = StftParams {
        window: WindowSpec {
            kind: WindowKind::Blackman,
            symmetry: Symmetry::Symmetric,
        },
        pad_mode: PadMode::Edge,
        ..StftParams::new(512, 160)
    };
    check_stft("blackman_sym_edge", p, &signal("y22"));
}

#[test]
fn stft_symmetric_hann_uncentred_matches_librosa() {
    let p = StftParams {
        window: WindowSpec {
            kind: WindowKind::Hann,
            symmetry: Symmetry::Symmetric,
        },
        center: false,
        ..StftParams::new(512, 256)
    };
    check_stft("hann_sym_nocenter", p, &signal("y22"));
}

#[test]
fn magnitude_with_symmetric_padding_matches_librosa() {
    let p = StftParams {
        pad_mode: PadMode::Symmetric,
        ..StftParams::new(512, 128)
    };
    let s = Stft::new(&p)
        .unwrap()
        .spectrogram(&signal("y22"), 1.0)
        .unwrap();
    close_peak(
        "|stft| pad symmetric",
        &s.data,
        &golden("stft").get("pad_symmetric_mag").data,
        SPECTRAL,
    );
}

#[test]
fn power_and_magnitude_spectrograms_match_librosa() {
    let g = golden("stft");
    let re = &g.get("default_re").data;
    let im = &g.get("default_im").data;
    let stft = Stft::new(&StftParams::new(2048, 512)).unwrap();
    let y = signal("y22");
    let mag_ref: Vec<f32> = re.iter().zip(im).map(|(a, b)| a.hypot(*b)).collect();
    let pow_ref: Vec<f32> = mag_ref.iter().map(|v| v * v).collect();
    close_peak(
        "|stft| (power 1)",
        &stft.spectrogram(&y, 1.0).unwrap().data,
        &mag_ref,
        SPECTRAL,
    );
    close_peak(
        "|stft|² (power 2)",
        &stft.spectrogram(&y, 2.0).unwrap().data,
        &pow_ref,
        SPECTRAL,
    );
}

/// Oracle: the planned real FFT STFT equals a naive O(N²) DFT of the padded, windowed frames.
#[test]
fn stft_equals_naive_dft() {
    let y = mirlens_test_support::signals::noise(7, 0.5, 3000);
    for (n_fft, hop, win, mode) in [
        (256usize, 64usize, 200usize, PadMode::Reflect),
        (400, 160, 400, PadMode::Constant),
        (255, 100, 255, PadMode::Edge),
    ] {
        let p = StftParams {
            win_length: Some(win),
            pad_mode: mode,
            ..StftParams::new(n_fft, hop)
        };
        let d = Stft::new(&p).unwrap().stft(&y).unwrap();
        let w = WindowSpec::HANN.padded(win, n_fft).unwrap();
        let pad = (n_fft / 2) as isize;
        let mut max_err = 0f64;
        let mut peak = 0f64;
        for t in [0, 1, d.n_frames / 2, d.n_frames - 1] {
            for k in [0, 1, 7, n_fft / 4, n_fft / 2] {
                let (mut re, mut im) = (0f64, 0f64);
                for (n, wn) in w.iter().enumerate() {
                    let x = mode.sample(&y, (t * hop) as isize + n as isize - pad) as f64 * wn;
                    let ph = -2.0 * std::f64::consts::PI * (k * n) as f64 / n_fft as f64;
                    re += x * ph.cos();
                    im += x * ph.sin();
                }
                let c = d.data[k * d.n_frames + t];
                max_err = max_err
                    .max((c.re as f64 - re).abs())
                    .max((c.im as f64 - im).abs());
                peak = peak.max(re.hypot(im));
            }
        }
        assert!(
            max_err < 1e-5 * peak.max(1.0),
            "n_fft {n_fft}: naive DFT differs by {max_err} (peak {peak})"
        );
    }
}

// ------------------------------------------------------------------------------------------------ mel

#[test]
fn mel_filterbanks_match_librosa() {
    let g = golden("mel");
    let cases = [
        (
            "fb_slaney_slaney",
            MelParams {
                n_fft: 1024,
                ..MelParams::default()
            },
        ),
        (
            "fb_htk_none",
            MelParams {
                n_fft: 1024,
                scale: MelScale::Htk,
                norm: MelNorm::None,
                ..MelParams::default()
            },
        ),
        (
            "fb_htk_slaney_300_8000_40",
            MelParams {
                n_fft: 1024,
                n_mels: 40,
                fmin: 300.0,
                fmax: Some(8000.0),
                scale: MelScale::Htk,
                ..MelParams::default()
            },
        ),
        (
            "fb_slaney_none_16k_400_80",
            MelParams {
                sr: 16000.0,
                n_fft: 400,
                n_mels: 80,
                norm: MelNorm::None,
                ..MelParams::default()
            },
        ),
    ];
    for (name, p) in cases {
        let fb = MelFilterbank::new(&p).unwrap();
        assert_eq!(vec![fb.n_mels(), fb.n_freqs()], g.get(name).shape);
        close_peak(name, &fb.to_dense(), &g.get(name).data, SPECTRAL);
    }
}

#[test]
fn melspectrograms_match_librosa() {
    let g = golden("mel");
    let y = signal("y22l");
    let m = MelSpectrogram::new(&MelSpectrogramParams::librosa(22050.0, 2048, 512, 128))
        .unwrap()
        .compute(&y)
        .unwrap();
    expect_shape("mel default", m.shape(), "mel_default", g);
    close_peak("mel default", &m.data, &g.get("mel_default").data, SPECTRAL);

    let p = MelSpectrogramParams {
        stft: StftParams {
            pad_mode: PadMode::Reflect,
            ..StftParams::new(1024, 256)
        },
        mel: MelParams {
            n_fft: 1024,
            n_mels: 64,
            scale: MelScale::Htk,
            norm: MelNorm::None,
            ..MelParams::default()
        },
        power: 1.0,
    };
    let m = MelSpectrogram::new(&p).unwrap().compute(&y).unwrap();
    close_peak(
        "mel htk/none/reflect/power 1",
        &m.data,
        &g.get("mel_htk_none_reflect_p1").data,
        SPECTRAL,
    );

    let m16 = MelSpectrogram::new(&MelSpectrogramParams::librosa(16000.0, 400, 160, 80))
        .unwrap()
        .compute(&signal("y16"))
        .unwrap();
    expect_shape("mel 16k", m16.shape(), "mel16_400_160_80", g);
    close_peak(
        "mel 16 kHz 400/160/80",
        &m16.data,
        &g.get("mel16_400_160_80").data,
        SPECTRAL,
    );
}

/// Oracle: a pure tone's energy lands in the mel band whose centre is nearest the tone.
#[test]
fn pure_tone_lands_in_the_right_mel_band() {
    let p = MelSpectrogramParams::librosa(22050.0, 2048, 512, 128);
    let m = MelSpectrogram::new(&p).unwrap();
    let scale = MelScale::Slaney;
    let (lo, hi) = (scale.hz_to_mel(0.0), scale.hz_to_mel(11025.0));
    let centre = |i: usize| scale.mel_to_hz(lo + (i + 1) as f64 * (hi - lo) / 129.0);
    for f in [440.0, 1000.0, 3000.0, 7000.0] {
        let y = mirlens_test_support::signals::sine(f, 0.5, 22050, 22050);
        let s = m.compute(&y).unwrap();
        let t = s.n_frames / 2;
        let best = (0..128)
            .max_by(|&a, &b| s.get(a, t).total_cmp(&s.get(b, t)))
            .unwrap();
        let nearest = (0..128)
            .min_by(|&a, &b| (centre(a) - f).abs().total_cmp(&(centre(b) - f).abs()))
            .unwrap();
        assert!(
            best.abs_diff(nearest) <= 1,
            "{f} Hz: energy peak in band {best}, nearest centre is band {nearest}"
        );
        let total: f32 = (0..128).map(|b| s.get(b, t)).sum();
        let near: f32 = (best.saturating_sub(2)..=(best + 2).min(127))
            .map(|b| s.get(b, t))
            .sum();
        assert!(
            near > 0.95 * total,
            "{f} Hz: only {} of the energy within ±2 bands",
            near / total
        );
    }
}

// ------------------------------------------------------------------------------------------------ dB, MFCC

#[test]
fn power_and_amplitude_to_db_match_librosa() {
    let g = golden("mel");
    let m = &g.get("mel_default").data;
    let run = |p: DbParams| {
        let mut v = m.clone();
        db::power_to_db(&mut v, &p).unwrap();
        v
    };
    close_abs(
        "power_to_db default",
        &run(DbParams::power()),
        &g.get("db_default").data,
        DB,
    );
    close_abs(
        "power_to_db ref=max top_db=None",
        &run(DbParams {
            reference: DbRef::Max,
            top_db: None,
            ..DbParams::power()
        }),
        &g.get("db_refmax_notop").data,
        DB,
    );
    close_abs(
        "power_to_db amin=1e-5 top_db=40",
        &run(DbParams {
            amin: 1e-5,
            top_db: Some(40.0),
            ..DbParams::power()
        }),
        &g.get("db_amin1e-5_top40").data,
        DB,
    );
    let s = Stft::new(&StftParams::new(512, 512))
        .unwrap()
        .spectrogram(&signal("y22l"), 1.0)
        .unwrap();
    let mut a = s.data.clone();
    db::amplitude_to_db(&mut a, &DbParams::amplitude()).unwrap();
    close_abs(
        "amplitude_to_db default",
        &a,
        &g.get("amp_db_default").data,
        DB,
    );
    let mut a = s.data.clone();
    db::amplitude_to_db(
        &mut a,
        &DbParams {
            reference: DbRef::Max,
            ..DbParams::amplitude()
        },
    )
    .unwrap();
    close_abs(
        "amplitude_to_db ref=max",
        &a,
        &g.get("amp_db_refmax").data,
        DB,
    );
}

#[test]
fn log_mel_and_mfcc_match_librosa() {
    let g = golden("mel");
    let y = signal("y22l");
    let mut lm = MelSpectrogram::new(&MelSpectrogramParams::librosa(16000.0, 400, 160, 80))
        .unwrap()
        .compute(&signal("y16"))
        .unwrap();
    db::power_to_db(&mut lm.data, &DbParams::power()).unwrap();
    close_abs("log-mel 16 kHz", &lm.data, &g.get("logmel16").data, DB);

    let c = Mfcc::new(&MfccParams::default())
        .unwrap()
        .compute(&y)
        .unwrap();
    expect_shape("mfcc", c.shape(), "mfcc_default", g);
    close_abs("mfcc default", &c.data, &g.get("mfcc_default").data, DB);
    let c = Mfcc::new(&MfccParams {
        n_mfcc: 13,
        lifter: 22.0,
        ..MfccParams::default()
    })
    .unwrap()
    .compute(&y)
    .unwrap();
    close_abs(
        "mfcc n_mfcc=13 lifter=22",
        &c.data,
        &g.get("mfcc_13_lifter22").data,
        DB,
    );
    let mut mp = MelSpectrogramParams::librosa(16000.0, 400, 160, 80);
    mp.mel.scale = MelScale::Htk;
    let c = Mfcc::new(&MfccParams {
        mel: mp,
        n_mfcc: 40,
        ..MfccParams::default()
    })
    .unwrap()
    .compute(&signal("y16"))
    .unwrap();
    close_abs(
        "mfcc 16 kHz 40 htk",
        &c.data,
        &g.get("mfcc16_40_htk").data,
        DB,
    );
}

// ------------------------------------------------------------------------------------------------ presets

#[test]
fn torchaudio_whisper_and_hf_presets_match() {
    let g = golden("presets");
    let y = signal("y16");
    let m = MelSpectrogram::new(&presets::torchaudio_melspectrogram(16000.0))
        .unwrap()
        .compute(&y)
        .unwrap();
    expect_shape("torchaudio default", m.shape(), "torchaudio_mel_default", g);
    close_peak(
        "torchaudio MelSpectrogram() defaults",
        &m.data,
        &g.get("torchaudio_mel_default").data,
        TORCH,
    );
    let m = MelSpectrogram::new(&MelSpectrogramParams::librosa(16000.0, 400, 160, 80))
        .unwrap()
        .compute(&y)
        .unwrap();
    close_peak(
        "torchaudio slaney/slaney/constant vs mirlens librosa-default",
        &m.data,
        &g.get("torchaudio_mel_slaney_constant").data,
        TORCH,
    );
    let w = presets::WhisperLogMel::new(80)
        .unwrap()
        .compute(&y)
        .unwrap();
    expect_shape("whisper", w.shape(), "whisper_logmel", g);
    close_abs(
        "whisper log-mel",
        &w.data,
        &g.get("whisper_logmel").data,
        DB,
    );
    let z = normalize::zero_mean_unit_var(&y).unwrap();
    close_abs(
        "Wav2Vec2FeatureExtractor normalisation",
        &z,
        &g.get("hf_normalized").data,
        Tolerance::EXACT_F32,
    );
}

// ------------------------------------------------------------------------------------------------ CQT

#[test]
fn cqt_default_matches_librosa() {
    let g = golden("cqt");
    let c = Cqt::new(&CqtParams::librosa(22050.0))
        .unwrap()
        .compute(&signal("y22l"))
        .unwrap();
    expect_shape("cqt", [c.n_bins, c.n_frames], "cqt_default_abs", g);
    close_peak(
        "cqt default |C|",
        &c.magnitude_pow(1.0).data,
        &g.get("cqt_default_abs").data,
        CQT,
    );
    close_peak(
        "cqt default re",
        &c.re(),
        &g.get("cqt_default_re").data,
        CQT,
    );
    close_peak(
        "cqt default im",
        &c.im(),
        &g.get("cqt_default_im").data,
        CQT,
    );
}

#[test]
fn cqt_336_bins_48_per_octave_matches_librosa() {
    let g = golden("cqt");
    let p = CqtParams {
        sr: 24000.0,
        hop_length: 480,
        fmin: Some(32.7),
        n_bins: 336,
        bins_per_octave: 48,
        ..CqtParams::default()
    };
    let c = Cqt::new(&p).unwrap().magnitude(&signal("y24")).unwrap();
    expect_shape("cqt 336", c.shape(), "cqt_mert_abs", g);
    close_peak(
        "cqt 336 bins / 48 per octave |C|",
        &c.data,
        &g.get("cqt_mert_abs").data,
        CQT,
    );
}

#[test]
fn cqt_options_match_librosa() {
    let g = golden("cqt");
    let p = CqtParams {
        hop_length: 256,
        fmin: Some(55.0),
        n_bins: 60,
        bins_per_octave: 24,
        filter_scale: 0.8,
        scale: CqtScale::None,
        pad_mode: PadMode::Reflect,
        norm: BasisNorm::L1,
        ..CqtParams::default()
    };
    let c = Cqt::new(&p).unwrap().magnitude(&signal("y22l")).unwrap();
    close_peak(
        "cqt A1/60/24/fs0.8/unscaled/reflect |C|",
        &c.data,
        &g.get("cqt_a1_60_24_fs08_noscale_abs").data,
        CQT,
    );
}

/// Oracle: a tone's CQT peak sits in the bin of its pitch.
#[test]
fn cqt_peak_is_at_the_tone_bin() {
    let cqt = Cqt::new(&CqtParams::librosa(22050.0)).unwrap();
    for (f, bin) in [(440.0, 45usize), (110.0, 21), (1046.502, 60), (65.406, 12)] {
        let y = mirlens_test_support::signals::sine(f, 0.5, 22050, 44100);
        let c = cqt.magnitude(&y).unwrap();
        let t = c.n_frames / 2;
        let best = (0..84)
            .max_by(|&a, &b| c.get(a, t).total_cmp(&c.get(b, t)))
            .unwrap();
        assert_eq!(best, bin, "{f} Hz");
        assert!((cqt.frequencies()[bin] - f).abs() / f < 1e-3);
    }
}

// ------------------------------------------------------------------------------------------------ chroma, tuning

#[test]
fn chroma_filterbanks_match_librosa() {
    let g = golden("chroma");
    for (name, t) in [("chroma_fb_t0", 0.0), ("chroma_fb_t-0.3", -0.3)] {
        let fb = chroma::chroma_filterbank(&ChromaFilterParams::librosa(22050.0, 2048, t)).unwrap();
        close_peak(name, &fb, &g.get(name).data, SPECTRAL);
    }
}

#[test]
fn tuning_estimates_match_librosa() {
    let g = golden("chroma");
    for (name, sig) in [("chord", "y22l"), ("detuned", "yd")] {
        let y = signal(sig);
        let s = Stft::new(&StftParams::new(2048, 512))
            .unwrap()
            .spectrogram(&y, 2.0)
            .unwrap();
        let t = estimate_tuning_from_spectrogram(&s, 22050.0, 12).unwrap();
        let want = g.get(&format!("{name}_tuning_stft")).data[0] as f64;
        assert!(
            (t - want).abs() < 1e-6,
            "{name}: estimate_tuning(S) = {t}, librosa {want}"
        );
        let t = estimate_tuning_from_signal(&y, 22050.0, 36).unwrap();
        let want = g.get(&format!("{name}_tuning_cqt")).data[0] as f64;
        assert!(
            (t - want).abs() < 1e-6,
            "{name}: estimate_tuning(y, 36 bins) = {t}, librosa {want}"
        );
    }
}

#[test]
fn chroma_stft_matches_librosa_with_estimated_and_zero_tuning() {
    let g = golden("chroma");
    for (name, sig) in [("chord", "y22l"), ("detuned", "yd")] {
        let y = signal(sig);
        let (c, _) = chroma::chroma_stft(&ChromaStftParams::librosa(22050.0), &y).unwrap();
        expect_shape(
            "chroma_stft",
            c.shape(),
            &format!("{name}_chroma_stft_est"),
            g,
        );
        close_abs(
            &format!("chroma_stft {name} tuning=estimated"),
            &c.data,
            &g.get(&format!("{name}_chroma_stft_est")).data,
            CHROMA,
        );
        let p = ChromaStftParams {
            tuning: Tuning::Fixed(0.0),
            ..ChromaStftParams::librosa(22050.0)
        };
        let (c, _) = chroma::chroma_stft(&p, &y).unwrap();
        close_abs(
            &format!("chroma_stft {name} tuning=0"),
            &c.data,
            &g.get(&format!("{name}_chroma_stft_t0")).data,
            CHROMA,
        );
    }
}

#[test]
fn chroma_cqt_matches_librosa_with_estimated_and_zero_tuning() {
    let g = golden("chroma");
    for (name, sig) in [("chord", "y22l"), ("detuned", "yd")] {
        let y = signal(sig);
        let (c, _) = chroma::chroma_cqt(&ChromaCqtParams::librosa(22050.0), &y).unwrap();
        close_abs(
            &format!("chroma_cqt {name} tuning=estimated"),
            &c.data,
            &g.get(&format!("{name}_chroma_cqt_est")).data,
            CHROMA_CQT,
        );
        let mut p = ChromaCqtParams::librosa(22050.0);
        p.cqt.tuning = Tuning::Fixed(0.0);
        let (c, _) = chroma::chroma_cqt(&p, &y).unwrap();
        close_abs(
            &format!("chroma_cqt {name} tuning=0"),
            &c.data,
            &g.get(&format!("{name}_chroma_cqt_t0")).data,
            CHROMA_CQT,
        );
    }
}

// ------------------------------------------------------------------------------------------------ bad input

#[test]
fn impossible_parameters_are_typed_errors() {
    let param = |e: FrontendError| match e {
        FrontendError::InvalidParameter { parameter, .. } => parameter,
        FrontendError::EmptyMelFilters { .. } => "n_mels",
        FrontendError::CqtAboveNyquist { .. } => "n_bins",
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(
        param(Stft::new(&StftParams::new(0, 512)).unwrap_err()),
        "n_fft"
    );
    assert_eq!(
        param(Stft::new(&StftParams::new(2048, 0)).unwrap_err()),
        "hop_length"
    );
    assert_eq!(
        param(
            Stft::new(&StftParams {
                win_length: Some(4096),
                ..StftParams::new(2048, 512)
            })
            .unwrap_err()
        ),
        "win_length"
    );
    let mut p = MelSpectrogramParams::librosa(22050.0, 2048, 512, 128);
    p.mel.fmax = Some(20000.0);
    assert_eq!(param(MelSpectrogram::new(&p).unwrap_err()), "fmax");
    let mut p = MelSpectrogramParams::librosa(22050.0, 2048, 512, 128);
    p.mel.fmin = 8000.0;
    p.mel.fmax = Some(8000.0);
    assert_eq!(param(MelSpectrogram::new(&p).unwrap_err()), "fmin");
    let e =
        MelSpectrogram::new(&MelSpectrogramParams::librosa(16000.0, 400, 160, 256)).unwrap_err();
    assert!(
        matches!(
            e,
            FrontendError::EmptyMelFilters {
                n_mels: 256,
                n_fft: 400,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("n_mels"));
    let mut p = MelSpectrogramParams::librosa(22050.0, 2048, 512, 128);
    p.power = 0.0;
    assert_eq!(param(MelSpectrogram::new(&p).unwrap_err()), "power");
    let e = Cqt::new(&CqtParams {
        n_bins: 120,
        ..CqtParams::librosa(22050.0)
    })
    .unwrap_err();
    assert!(matches!(e, FrontendError::CqtAboveNyquist { .. }), "{e:?}");
    assert_eq!(
        param(
            Cqt::new(&CqtParams {
                hop_length: 0,
                ..CqtParams::librosa(22050.0)
            })
            .unwrap_err()
        ),
        "hop_length"
    );
    assert_eq!(
        param(
            Cqt::new(&CqtParams {
                fmin: Some(-1.0),
                ..CqtParams::librosa(22050.0)
            })
            .unwrap_err()
        ),
        "fmin"
    );
    assert_eq!(
        param(
            Mfcc::new(&MfccParams {
                n_mfcc: 0,
                ..MfccParams::default()
            })
            .unwrap_err()
        ),
        "n_mfcc"
    );
    let e = chroma::cq_to_chroma(84, 13, 12, 32.7).unwrap_err();
    assert_eq!(param(e), "bins_per_octave");
}

#[test]
fn empty_nan_and_short_inputs_are_typed_errors() {
    let stft = Stft::new(&StftParams::new(512, 128)).unwrap();
    assert_eq!(stft.stft(&[]).unwrap_err(), FrontendError::EmptyInput);
    let mut y = vec![0.1f32; 1000];
    y[10] = f32::NAN;
    y[20] = f32::INFINITY;
    assert_eq!(
        stft.stft(&y).unwrap_err(),
        FrontendError::NonFiniteInput {
            count: 2,
            len: 1000,
            first: 10
        }
    );
    assert!(matches!(
        Cqt::new(&CqtParams::librosa(22050.0))
            .unwrap()
            .compute(&[f32::NAN; 64])
            .unwrap_err(),
        FrontendError::NonFiniteInput { count: 64, .. }
    ));
    let nc = Stft::new(&StftParams {
        center: false,
        ..StftParams::new(512, 128)
    })
    .unwrap();
    assert!(matches!(
        nc.stft(&[0.0; 100]).unwrap_err(),
        FrontendError::InputTooShort {
            len: 100,
            needed: 512,
            ..
        }
    ));
    assert!(matches!(
        Mfcc::new(&MfccParams::default())
            .unwrap()
            .compute(&[])
            .unwrap_err(),
        FrontendError::EmptyInput
    ));
    assert!(matches!(
        normalize::zero_mean_unit_var(&[]).unwrap_err(),
        FrontendError::EmptyInput
    ));
}
