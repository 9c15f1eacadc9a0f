//! The log-mel baseline "encoder": the input features as a control for probing.
//!
//! Probing studies compare the probe accuracy of every model layer with that of the model's input representation
//! (typically a log-mel spectrogram): a layer is only interesting where it beats the spectrogram. [`LogMelEncoder`]
//! implements [`Encoder`] so that every tool taking an encoder (extraction, `mirlens run`, `mirlens embed`) can
//! extract the spectrogram exactly like a model layer, under the model name [`LOGMEL_MODEL_NAME`].
//!
//! Fixed parameters (librosa 0.11 names; see [`LogMelEncoder::params`]):
//!
//! | parameter | value |
//! |---|---|
//! | sample rate | 24 000 Hz ([`LOGMEL_SAMPLE_RATE`]) |
//! | `n_fft` | 2048 |
//! | `hop_length` | 320 samples (75 frames/s, the frame rate of MERT-style encoders) |
//! | window | periodic Hann, `win_length = n_fft` |
//! | `center`, `pad_mode` | `True`, `'reflect'` |
//! | mel bands | 128, Slaney scale and Slaney area normalisation, `fmin = 0`, `fmax = 12 000` Hz |
//! | `power` | 2 (power spectrogram) |
//! | dB | `power_to_db(ref=1.0, amin=1e-10, top_db=80.0)`, the `top_db` floor taken per clip |
//!
//! Output: exactly one hidden state, layer 0 = the log-mel frames, `[frames, 128]` row-major with
//! `frames = 1 + len / 320`; `num_layers = 0`, `hidden_size = 128`; no input normalisation.

use crate::ModelIdentity;
use mirlens_audio::frontend::db::{DbParams, DbRef, power_to_db};
use mirlens_audio::frontend::mel::{
    EmptyFilters, MelNorm, MelParams, MelScale, MelSpectrogram, MelSpectrogramParams,
};
use mirlens_audio::frontend::stft::{PadMode, StftParams};
use mirlens_audio::frontend::window::WindowSpec;
use mirlens_core::{LayerId, LayerSelection, Modality};
use mirlens_models::{EncodeOptions, Encoder, EncoderSpec, LayerActivations, ModelError};

/// Model name of the log-mel baseline (`--model logmel`).
pub const LOGMEL_MODEL_NAME: &str = "logmel";
/// Input sample rate of the baseline in Hz.
pub const LOGMEL_SAMPLE_RATE: u32 = 24_000;
/// FFT size.
pub const LOGMEL_N_FFT: usize = 2048;
/// Hop in samples (75 frames per second at 24 kHz).
pub const LOGMEL_HOP: usize = 320;
/// Number of mel bands (the hidden size).
pub const LOGMEL_N_MELS: usize = 128;
/// Highest mel frequency in Hz (the Nyquist frequency).
pub const LOGMEL_FMAX: f64 = 12_000.0;
/// Dynamic range kept below the clip's maximum, in dB (`top_db`).
pub const LOGMEL_TOP_DB: f32 = 80.0;
/// Floor applied to the power before the logarithm (`amin`).
pub const LOGMEL_AMIN: f32 = 1e-10;
/// The only layer of the baseline: the log-mel frames.
pub const LOGMEL_LAYER: LayerId = LayerId(0);

/// Log-mel spectrogram as a one-layer [`Encoder`] (see the module docs for the parameters).
#[derive(Debug, Clone)]
pub struct LogMelEncoder {
    spec: EncoderSpec,
    mel: MelSpectrogram,
    db: DbParams,
}

impl LogMelEncoder {
    /// Plan the baseline (FFT plan and filterbank are built once and shared by every call).
    pub fn new() -> LogMelEncoder {
        let mel = MelSpectrogram::new(&Self::params())
            // The parameters are constants checked by the unit tests; failing here would be a bug.
            .expect("the fixed log-mel parameters are valid");
        LogMelEncoder {
            spec: EncoderSpec {
                name: LOGMEL_MODEL_NAME.to_string(),
                modality: Modality::Audio,
                sample_rate: LOGMEL_SAMPLE_RATE,
                frame_rate: LOGMEL_SAMPLE_RATE as f64 / LOGMEL_HOP as f64,
                num_layers: 0,
                hidden_size: LOGMEL_N_MELS,
                normalize_input: false,
            },
            mel,
            db: Self::db_params(),
        }
    }

    /// The mel spectrogram parameters (librosa `melspectrogram` with `center=True, pad_mode='reflect'`).
    pub fn params() -> MelSpectrogramParams {
        MelSpectrogramParams {
            stft: StftParams {
                n_fft: LOGMEL_N_FFT,
                hop_length: Some(LOGMEL_HOP),
                win_length: None,
                window: WindowSpec::HANN,
                center: true,
                pad_mode: PadMode::Reflect,
            },
            mel: MelParams {
                sr: LOGMEL_SAMPLE_RATE as f64,
                n_fft: LOGMEL_N_FFT,
                n_mels: LOGMEL_N_MELS,
                fmin: 0.0,
                fmax: Some(LOGMEL_FMAX),
                scale: MelScale::Slaney,
                norm: MelNorm::Slaney,
                empty_filters: EmptyFilters::Reject,
            },
            power: 2.0,
        }
    }

    /// The dB conversion (`power_to_db(ref=1.0, amin=1e-10, top_db=80.0)`).
    pub fn db_params() -> DbParams {
        DbParams {
            reference: DbRef::Value(1.0),
            amin: LOGMEL_AMIN,
            top_db: Some(LOGMEL_TOP_DB),
        }
    }

    /// A canonical, versioned description of every parameter; its SHA-256 is the store's config hash.
    pub fn canonical_config() -> String {
        format!(
            "mirlens-logmel-v1;sr={LOGMEL_SAMPLE_RATE};n_fft={LOGMEL_N_FFT};hop={LOGMEL_HOP};window=hann-periodic;\
             win_length={LOGMEL_N_FFT};center=true;pad_mode=reflect;n_mels={LOGMEL_N_MELS};fmin=0;fmax={LOGMEL_FMAX};\
             mel_scale=slaney;mel_norm=slaney;power=2;db=power_to_db;ref=1;amin={LOGMEL_AMIN:e};top_db={LOGMEL_TOP_DB}"
        )
    }

    /// Identity recorded in stores extracted through the baseline: name `logmel`, no revision, and the SHA-256 of
    /// [`LogMelEncoder::canonical_config`].
    pub fn identity() -> ModelIdentity {
        ModelIdentity::from_config_string(LOGMEL_MODEL_NAME, None, &Self::canonical_config())
    }

    /// The log-mel spectrogram of one waveform at 24 kHz, `[frames, 128]` row-major, and the number of frames.
    pub fn log_mel(&self, input: &[f32]) -> Result<(usize, Vec<f32>), ModelError> {
        if input.is_empty() {
            return Err(ModelError::InputTooShort {
                samples: 0,
                receptive_field: 1,
            });
        }
        if let Some((index, &value)) = input.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ModelError::NonFiniteInput { index, value });
        }
        let backend = |e: mirlens_audio::frontend::FrontendError| ModelError::Backend {
            backend: "logmel",
            message: e.to_string(),
        };
        let mut s = self.mel.compute(input).map_err(backend)?;
        power_to_db(&mut s.data, &self.db).map_err(backend)?;
        let (bins, frames) = (s.n_bins, s.n_frames);
        let mut out = vec![0f32; frames * bins];
        for (b, row) in s.data.chunks_exact(frames).enumerate() {
            for (t, &v) in row.iter().enumerate() {
                out[t * bins + b] = v;
            }
        }
        Ok((frames, out))
    }
}

impl Default for LogMelEncoder {
    fn default() -> Self {
        LogMelEncoder::new()
    }
}

impl Encoder for LogMelEncoder {
    fn spec(&self) -> &EncoderSpec {
        &self.spec
    }

    /// Layer 0 is the log-mel spectrogram; `conv_features` is never returned (there is no conv front end) and the
    /// final-norm option has no effect.
    fn encode(
        &self,
        input: &[f32],
        layers: &LayerSelection,
        _opts: &EncodeOptions,
    ) -> Result<LayerActivations, ModelError> {
        let ids = layers.resolve(self.spec.num_layers)?;
        let (frames, values) = self.log_mel(input)?;
        Ok(LayerActivations {
            frames,
            hidden: LOGMEL_N_MELS,
            layers: ids.into_iter().map(|l| (l, values.clone())).collect(),
            conv_features: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_and_identity() {
        let e = LogMelEncoder::new();
        let s = e.spec();
        assert_eq!(s.name, "logmel");
        assert_eq!(
            (s.num_layers, s.hidden_size, s.sample_rate),
            (0, 128, 24_000)
        );
        assert_eq!(s.frame_rate, 75.0);
        assert!(!s.normalize_input);
        let id = LogMelEncoder::identity();
        assert_eq!(id.name, "logmel");
        assert_eq!(id.revision, None);
        assert_eq!(id.config_hash.len(), 64);
        assert_eq!(id, LogMelEncoder::identity());
        assert!(LogMelEncoder::canonical_config().contains("hop=320;"));
    }

    #[test]
    fn frames_layers_and_errors() {
        let e = LogMelEncoder::new();
        let x: Vec<f32> = (0..4800).map(|i| (i as f32 * 0.05).sin()).collect();
        let a = e
            .encode(&x, &LayerSelection::All, &EncodeOptions::default())
            .unwrap();
        assert_eq!((a.frames, a.hidden), (1 + 4800 / 320, 128));
        assert_eq!(a.layers.len(), 1);
        assert_eq!(a.layers[0].0, LOGMEL_LAYER);
        // the top_db floor: nothing lies more than 80 dB below the maximum
        let v = a.layer(LOGMEL_LAYER).unwrap();
        let max = v.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
        let min = v.iter().fold(f32::INFINITY, |m, &x| m.min(x));
        assert_eq!(min, max - 80.0);
        let last = e
            .encode(&x, &LayerSelection::Last, &EncodeOptions::default())
            .unwrap();
        assert_eq!(last.layer(LOGMEL_LAYER), Some(v));
        assert!(matches!(
            e.encode(&x, &"1".parse().unwrap(), &EncodeOptions::default()),
            Err(ModelError::Core(_))
        ));
        let mut bad = x.clone();
        bad[7] = f32::NAN;
        assert!(matches!(
            e.encode(&bad, &LayerSelection::All, &EncodeOptions::default()),
            Err(ModelError::NonFiniteInput { index: 7, .. })
        ));
        assert!(matches!(
            e.encode(&[], &LayerSelection::All, &EncodeOptions::default()),
            Err(ModelError::InputTooShort { samples: 0, .. })
        ));
    }
}
