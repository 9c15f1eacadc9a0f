//! Presets users compare against: torchaudio `MelSpectrogram()` defaults and Whisper's log-mel.

use super::mel::{
    EmptyFilters, MelNorm, MelParams, MelScale, MelSpectrogram, MelSpectrogramParams,
};
use super::stft::{PadMode, StftParams};
use super::{FrontendError, Spectrogram};

/// torchaudio 2.11 `T.MelSpectrogram()` defaults at a sample rate: n_fft 400, hop 200, 128 HTK mels without
/// normalisation, reflect padding, power 2. At 16 kHz some of the 128 filters are empty (torchaudio warns); they
/// are kept as zero rows.
pub fn torchaudio_melspectrogram(sr: f64) -> MelSpectrogramParams {
    MelSpectrogramParams {
        stft: StftParams {
            pad_mode: PadMode::Reflect,
            ..StftParams::new(400, 200)
        },
        mel: MelParams {
            sr,
            n_fft: 400,
            n_mels: 128,
            fmin: 0.0,
            fmax: None,
            scale: MelScale::Htk,
            norm: MelNorm::None,
            empty_filters: EmptyFilters::Allow,
        },
        power: 2.0,
    }
}

/// Whisper's mel front-end at 16 kHz: n_fft 400, hop 160, 80 Slaney mels, reflect padding (`torch.stft`).
pub fn whisper_mel_params(n_mels: usize) -> MelSpectrogramParams {
    MelSpectrogramParams {
        stft: StftParams {
            pad_mode: PadMode::Reflect,
            ..StftParams::new(400, 160)
        },
        mel: MelParams {
            sr: 16000.0,
            n_fft: 400,
            n_mels,
            ..MelParams::default()
        },
        power: 2.0,
    }
}

/// Whisper log-mel (`whisper.audio.log_mel_spectrogram`, 16 kHz input): the last STFT frame is dropped, then
/// `log10(max(mel, 1e-10))`, clipped to `max − 8`, mapped by `(x + 4) / 4`. Shape `[n_mels, len / 160]`.
#[derive(Debug, Clone)]
pub struct WhisperLogMel {
    mel: MelSpectrogram,
}

impl WhisperLogMel {
    /// Plan for `n_mels` bands (80 for Whisper v1–v3 except large-v3, which uses 128).
    pub fn new(n_mels: usize) -> Result<Self, FrontendError> {
        Ok(WhisperLogMel {
            mel: MelSpectrogram::new(&whisper_mel_params(n_mels))?,
        })
    }

    /// Compute on 16 kHz audio.
    pub fn compute(&self, y: &[f32]) -> Result<Spectrogram, FrontendError> {
        let m = self.mel.compute(y)?;
        let keep = m.n_frames.saturating_sub(1);
        if keep == 0 {
            return Err(FrontendError::InputTooShort {
                len: y.len(),
                needed: 160,
                reason: "Whisper log-mel keeps len/160 frames",
            });
        }
        let mut out = Spectrogram::zeros(m.n_bins, keep);
        let mut max = f32::NEG_INFINITY;
        for b in 0..m.n_bins {
            for t in 0..keep {
                let v = m.get(b, t).max(1e-10).log10();
                max = max.max(v);
                out.data[b * keep + t] = v;
            }
        }
        for v in &mut out.data {
            *v = (v.max(max - 8.0) + 4.0) / 4.0;
        }
        Ok(out)
    }
}
