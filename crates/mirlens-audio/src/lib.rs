//! # mirlens-audio
//!
//! Audio decoding (symphonia), resampling (rubato) and librosa-parity front-ends (STFT, mel, log-mel, MFCC, CQT,
//! chroma), with streaming for long files.

pub mod decode;
pub mod frontend;
pub mod paths;
pub mod resample;
pub mod stream;
pub mod wav;

/// A mono or multichannel-downmixed waveform with its sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Waveform {
    /// Samples in `[-1, 1]` (nominal), mono.
    pub samples: Vec<f32>,
    /// Sample rate in Hz.
    pub sample_rate: u32,
}

impl Waveform {
    /// Duration in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate as f64
    }
}
