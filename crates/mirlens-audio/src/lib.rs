//! # mirlens-audio
//!
//! Audio decoding, resampling and librosa-parity front-ends (STFT, mel, MFCC, CQT, chroma).
