//! Decoding audio files (symphonia) into a mono [`Waveform`].
//!
//! Supported: WAV (PCM u8/16/24/32-bit integer, float 32/64), AIFF, FLAC, MP3, OGG/Vorbis, AAC-LC in MP4/M4A
//! (and ADTS). Opus, HE-AAC and other codecs without a decoder are reported as
//! [`DecodeError::UnsupportedCodec`] with a hint to transcode.
//!
//! Conventions (chosen to match `soundfile` / `librosa.load(sr=None, mono=…)`):
//! * integer PCM is scaled by `1 / 2^(bits-1)` (unsigned 8-bit: `(x - 128) / 128`), so decoded 16-bit WAV equals
//!   `soundfile.read(dtype='float32')` bit for bit;
//! * [`ChannelPolicy::MeanDownmix`] is the arithmetic mean of the channels in f32 (`numpy.mean(y, axis=0)`);
//! * crop: start frame `round(offset · sr)`, length `round(duration · sr)` (librosa's rounding);
//! * MP4/AAC: the encoder priming frames announced by the container's edit list (`elst` media time) are dropped and
//!   the output is cut to the edit's duration, so an AAC file decodes to the length it was encoded from (see
//!   `docs/audio-io.md`); MP3 and Vorbis delay/padding are trimmed by symphonia (gapless mode).
//! * any non-finite decoded sample is an error ([`DecodeError::NonFinite`]), never silently passed on.

use crate::Waveform;
use std::fs::File;
use std::path::{Path, PathBuf};
use symphonia::core::codecs::audio::well_known as codec_ids;
use symphonia::core::codecs::audio::{AudioCodecId, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

/// Largest up-front allocation (frames) made from a header's frame count. Headers can lie (a damaged MP3 Xing
/// header announced 2.2 G frames under fuzzing): beyond this the output grows as samples actually arrive.
const MAX_RESERVE_FRAMES: u64 = 1 << 22;

/// How multichannel audio becomes mono.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelPolicy {
    /// Arithmetic mean of all channels (librosa's `to_mono`).
    #[default]
    MeanDownmix,
    /// Keep one channel (0-based index); an error if the file has fewer channels.
    Channel(usize),
}

/// Options of [`decode_file`].
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeOptions {
    /// Channel policy (default: mean downmix).
    pub channels: ChannelPolicy,
    /// Start of the crop in seconds (default 0). Must be finite and ≥ 0.
    pub offset_secs: f64,
    /// Length of the crop in seconds; `None` reads to the end. Must be finite and > 0 when set.
    pub duration_secs: Option<f64>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            channels: ChannelPolicy::MeanDownmix,
            offset_secs: 0.0,
            duration_secs: None,
        }
    }
}

impl DecodeOptions {
    /// Validate the options (offset finite and ≥ 0, duration finite and > 0).
    pub fn check(&self) -> Result<(), DecodeError> {
        if !self.offset_secs.is_finite() || self.offset_secs < 0.0 {
            return Err(DecodeError::InvalidOption {
                parameter: "offset_secs",
                value: self.offset_secs.to_string(),
                expected: "a finite number of seconds ≥ 0",
            });
        }
        if let Some(d) = self.duration_secs
            && (!d.is_finite() || d <= 0.0)
        {
            return Err(DecodeError::InvalidOption {
                parameter: "duration_secs",
                value: d.to_string(),
                expected: "a finite number of seconds > 0",
            });
        }
        Ok(())
    }

    /// First frame to keep at sample rate `sr` (`round(offset · sr)`).
    pub(crate) fn start_frame(&self, sr: u32) -> u64 {
        (self.offset_secs * sr as f64).round() as u64
    }

    /// Number of frames to keep at sample rate `sr` (`round(duration · sr)`), `None` = to the end.
    pub(crate) fn len_frames(&self, sr: u32) -> Option<u64> {
        self.duration_secs.map(|d| (d * sr as f64).round() as u64)
    }
}

/// What a file holds, as read from its container and decoder.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    /// Native sample rate in Hz.
    pub sample_rate: u32,
    /// Number of channels in the file.
    pub channels: usize,
    /// Number of frames (samples per channel) in the file at the native rate, after gapless trimming.
    pub frames: u64,
    /// `frames / sample_rate`.
    pub duration_secs: f64,
    /// Codec short name (e.g. `pcm_s16le`, `flac`, `mp3`, `vorbis`, `aac`).
    pub codec: String,
    /// Container short name (e.g. `wave`, `flac`, `mp3`, `ogg`, `isomp4`, `aiff`).
    pub container: String,
    /// Bits per decoded sample when the codec states it (PCM, FLAC).
    pub bits_per_sample: Option<u32>,
    /// Whether `frames` was counted by decoding the whole file (`true`) or read from the container header.
    pub frames_counted: bool,
}

/// A decoded file: the mono (or channel-picked) waveform at the native rate, plus the file's [`AudioInfo`].
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Mono samples at `info.sample_rate`, cropped as requested.
    pub waveform: Waveform,
    /// Facts about the whole file (not just the crop).
    pub info: AudioInfo,
}

/// Errors of decoding. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The file does not exist.
    #[error("{path}: file not found")]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// The file could not be opened or read.
    #[error("{path}: cannot read file")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The path is a FIFO, socket, device or folder (refused before opening, so it never blocks).
    #[error("{path}: not a regular file ({kind}); refusing to read it")]
    NotRegularFile {
        /// The path.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// The file has zero bytes.
    #[error("{path}: file is empty (0 bytes)")]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// No supported container format was recognised.
    #[error(
        "{path}: not a recognised audio file ({detail}); supported: WAV, AIFF, FLAC, MP3, OGG/Vorbis, MP4/M4A (AAC-LC)"
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// What the probe said.
        detail: String,
    },
    /// The container has no audio track.
    #[error("{path}: the file contains no audio track")]
    NoAudioTrack {
        /// The file.
        path: PathBuf,
    },
    /// The audio track's codec has no decoder here.
    #[error("{path}: unsupported audio codec `{codec}` ({hint})")]
    UnsupportedCodec {
        /// The file.
        path: PathBuf,
        /// Codec name (or id).
        codec: String,
        /// What to do about it.
        hint: &'static str,
    },
    /// The stream is malformed (corrupt data, bad header).
    #[error("{path}: corrupt audio data: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Decoder/demuxer message.
        detail: String,
    },
    /// The file ends before its header says it should.
    #[error("{path}: file is truncated: {detail}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What was expected and what was found.
        detail: String,
    },
    /// The file decodes to zero samples.
    #[error("{path}: the file contains no audio samples (zero length)")]
    ZeroLength {
        /// The file.
        path: PathBuf,
    },
    /// The requested crop starts at or after the end of the file.
    #[error(
        "{path}: offset {offset_secs} s is at or beyond the end of the audio ({file_secs:.6} s)"
    )]
    CropBeyondEnd {
        /// The file.
        path: PathBuf,
        /// Requested offset.
        offset_secs: f64,
        /// Length of the file in seconds.
        file_secs: f64,
    },
    /// Decoded samples include NaN or infinity.
    #[error(
        "{path}: audio contains {count} non-finite samples (NaN/inf), first at frame {first_frame}{}",
        if *all { "; all samples are non-finite" } else { "" }
    )]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// Number of non-finite output samples.
        count: usize,
        /// Index (in the output waveform) of the first one.
        first_frame: usize,
        /// Whether every sample is non-finite.
        all: bool,
    },
    /// A channel index beyond the file's channel count was requested.
    #[error(
        "{path}: channel {channel} requested, but the file has {channels} channel(s) (0-based index expected)"
    )]
    ChannelOutOfRange {
        /// The file.
        path: PathBuf,
        /// Requested channel.
        channel: usize,
        /// Channels in the file.
        channels: usize,
    },
    /// An option value is impossible.
    #[error("invalid decode option {parameter} = {value}: expected {expected}")]
    InvalidOption {
        /// Option name.
        parameter: &'static str,
        /// Given value.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
}

impl DecodeError {
    /// The file the error is about, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            DecodeError::NotFound { path }
            | DecodeError::Io { path, .. }
            | DecodeError::EmptyFile { path }
            | DecodeError::NotRegularFile { path, .. }
            | DecodeError::UnknownFormat { path, .. }
            | DecodeError::NoAudioTrack { path }
            | DecodeError::UnsupportedCodec { path, .. }
            | DecodeError::Corrupt { path, .. }
            | DecodeError::Truncated { path, .. }
            | DecodeError::ZeroLength { path }
            | DecodeError::CropBeyondEnd { path, .. }
            | DecodeError::NonFinite { path, .. }
            | DecodeError::ChannelOutOfRange { path, .. } => Some(path),
            DecodeError::InvalidOption { .. } => None,
        }
    }
}

/// Name of a codec id for messages (symphonia ids have no names when no decoder is registered).
fn codec_id_name(id: AudioCodecId) -> String {
    let known: &[(AudioCodecId, &str)] = &[
        (codec_ids::CODEC_ID_OPUS, "opus"),
        (codec_ids::CODEC_ID_SPEEX, "speex"),
        (codec_ids::CODEC_ID_AC3, "ac3"),
        (codec_ids::CODEC_ID_EAC3, "eac3"),
        (codec_ids::CODEC_ID_AC4, "ac4"),
        (codec_ids::CODEC_ID_DCA, "dts"),
        (codec_ids::CODEC_ID_WMA, "wma"),
        (codec_ids::CODEC_ID_WAVPACK, "wavpack"),
        (codec_ids::CODEC_ID_MONKEYS_AUDIO, "ape"),
        (codec_ids::CODEC_ID_TRUEHD, "truehd"),
        (codec_ids::CODEC_ID_MUSEPACK, "musepack"),
        (codec_ids::CODEC_ID_AAC, "aac"),
        (codec_ids::CODEC_ID_MP3, "mp3"),
        (codec_ids::CODEC_ID_VORBIS, "vorbis"),
        (codec_ids::CODEC_ID_FLAC, "flac"),
    ];
    known
        .iter()
        .find(|(k, _)| *k == id)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|| format!("codec id {id}"))
}

fn unsupported_hint(codec: &str) -> &'static str {
    match codec {
        "opus" => {
            "Opus has no decoder in mirlens; transcode first, e.g. `ffmpeg -i in.opus out.flac`"
        }
        "aac" => {
            "only AAC-LC is supported (not HE-AAC/SBR); transcode first, e.g. `ffmpeg -i in.m4a out.flac`"
        }
        _ => "transcode to WAV or FLAC first, e.g. `ffmpeg -i in.ext out.flac`",
    }
}

/// An open audio track: demuxer + decoder, yielding interleaved f32 packets with gapless/priming trimming applied.
pub(crate) struct PacketSource {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    /// Channels and rate as announced (updated from the first decoded buffer).
    pub(crate) channels: usize,
    pub(crate) sample_rate: u32,
    pub(crate) codec: String,
    pub(crate) container: String,
    pub(crate) bits_per_sample: Option<u32>,
    /// Frames the container announces (after gapless trimming), if known.
    pub(crate) header_frames: Option<u64>,
    /// Frames still to drop at the start (MP4 edit-list priming).
    skip_frames: u64,
    /// Maximum frames to deliver (MP4 edit-list duration), if known.
    limit_frames: Option<u64>,
    /// Frames delivered so far.
    pub(crate) delivered: u64,
    /// Largest packet seen, in frames.
    pub(crate) max_packet_frames: usize,
    scratch: Vec<f32>,
    /// Range of `scratch` holding the last delivered packet.
    last: (usize, usize),
}

fn map_sym(path: &Path, e: SymError, delivered: u64, expected: Option<u64>) -> DecodeError {
    match e {
        SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            DecodeError::Truncated {
                path: path.to_path_buf(),
                detail: match expected {
                    Some(n) => format!("the stream ended after {delivered} of {n} frames"),
                    None => format!("the stream ended inside a packet after {delivered} frames"),
                },
            }
        }
        SymError::IoError(io) => DecodeError::Io {
            path: path.to_path_buf(),
            source: io,
        },
        SymError::DecodeError(m) => DecodeError::Corrupt {
            path: path.to_path_buf(),
            detail: m.to_string(),
        },
        SymError::Unsupported(m) => DecodeError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("unsupported stream feature: {m}"),
        },
        SymError::LimitError(m) => DecodeError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("limit reached: {m}"),
        },
        SymError::SeekError(_) => DecodeError::Corrupt {
            path: path.to_path_buf(),
            detail: "seek error".into(),
        },
        SymError::ResetRequired => DecodeError::Corrupt {
            path: path.to_path_buf(),
            detail: "the track layout changes mid-stream (chained streams are not supported)"
                .into(),
        },
        other => DecodeError::Corrupt {
            path: path.to_path_buf(),
            detail: other.to_string(),
        },
    }
}

/// Run a symphonia call, turning a panic inside it into [`DecodeError::Corrupt`]. symphonia 0.6 has arithmetic
/// overflows on some malformed headers (found by the mutation tests, e.g. a WAV `fmt` chunk with a huge channel
/// count); input files must never crash the caller.
fn guarded<T>(path: &Path, f: impl FnOnce() -> Result<T, DecodeError>) -> Result<T, DecodeError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(DecodeError::Corrupt {
                path: path.to_path_buf(),
                detail: format!("malformed stream ({msg})"),
            })
        }
    }
}

impl PacketSource {
    /// Open `path`, find its default audio track and make a decoder.
    pub(crate) fn open(path: &Path) -> Result<PacketSource, DecodeError> {
        let p = path.to_path_buf();
        // Before opening: opening a FIFO for reading would block until a writer appears.
        crate::paths::check_regular_file(path).map_err(|e| match e {
            crate::paths::PathError::NotFound { path } => DecodeError::NotFound { path },
            crate::paths::PathError::NotRegular { path, kind } => {
                DecodeError::NotRegularFile { path, kind }
            }
            crate::paths::PathError::Io { path, source } => DecodeError::Io { path, source },
        })?;
        let file = File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => DecodeError::NotFound { path: p.clone() },
            _ => DecodeError::Io {
                path: p.clone(),
                source: e,
            },
        })?;
        let meta = file.metadata().map_err(|e| DecodeError::Io {
            path: p.clone(),
            source: e,
        })?;
        if meta.is_dir() {
            return Err(DecodeError::Io {
                path: p,
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "is a directory"),
            });
        }
        if meta.len() == 0 {
            return Err(DecodeError::EmptyFile { path: p });
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        let mut f = file;
        let edit = mp4_edit::read(&mut f, meta.len());
        use std::io::Seek;
        f.rewind().map_err(|e| DecodeError::Io {
            path: p.clone(),
            source: e,
        })?;
        Self::open_source(p, Box::new(f), ext.as_deref(), edit)
    }

    /// Open in-memory bytes; `label` names them in errors, `extension` is a format hint (e.g. `"mp3"`).
    pub(crate) fn open_bytes(
        label: &Path,
        bytes: Vec<u8>,
        extension: Option<&str>,
    ) -> Result<PacketSource, DecodeError> {
        if bytes.is_empty() {
            return Err(DecodeError::EmptyFile {
                path: label.to_path_buf(),
            });
        }
        let mut cur = std::io::Cursor::new(bytes);
        let len = cur.get_ref().len() as u64;
        let edit = mp4_edit::read(&mut cur, len);
        cur.set_position(0);
        Self::open_source(label.to_path_buf(), Box::new(cur), extension, edit)
    }

    fn open_source(
        p: PathBuf,
        source: Box<dyn symphonia::core::io::MediaSource>,
        extension: Option<&str>,
        edit: Option<mp4_edit::Edit>,
    ) -> Result<PacketSource, DecodeError> {
        let label = p.clone();
        guarded(&label, move || {
            Self::open_source_inner(p, source, extension, edit)
        })
    }

    fn open_source_inner(
        p: PathBuf,
        source: Box<dyn symphonia::core::io::MediaSource>,
        extension: Option<&str>,
        edit: Option<mp4_edit::Edit>,
    ) -> Result<PacketSource, DecodeError> {
        let mss = MediaSourceStream::new(source, Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = extension {
            hint.with_extension(ext);
        }
        let format = symphonia::default::get_probe()
            .probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| match e {
                SymError::Unsupported(m) => DecodeError::UnknownFormat {
                    path: p.clone(),
                    detail: m.to_string(),
                },
                SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                    DecodeError::Truncated {
                        path: p.clone(),
                        detail: "the file ends inside its header".into(),
                    }
                }
                other => map_sym(&p, other, 0, None),
            })?;
        let container = format.format_info().short_name.to_string();
        let track = format
            .default_track(TrackType::Audio)
            .ok_or_else(|| DecodeError::NoAudioTrack { path: p.clone() })?;
        let track_id = track.id;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|c| c.audio())
            .ok_or_else(|| DecodeError::NoAudioTrack { path: p.clone() })?
            .clone();
        let mut header_frames = track.num_frames;
        let codecs = symphonia::default::get_codecs();
        let decoder = match codecs.make_audio_decoder(&params, &AudioDecoderOptions::default()) {
            Ok(d) => d,
            Err(SymError::Unsupported(_)) => {
                let codec = codec_id_name(params.codec);
                let hint = unsupported_hint(&codec);
                return Err(DecodeError::UnsupportedCodec {
                    path: p,
                    codec,
                    hint,
                });
            }
            Err(e) => return Err(map_sym(&p, e, 0, None)),
        };
        let codec = decoder.codec_info().short_name.to_string();
        let channels = params.channels.as_ref().map(|c| c.count()).unwrap_or(0);
        let sample_rate = params.sample_rate.unwrap_or(0);
        let (skip_frames, limit_frames) = match (&edit, params.codec == codec_ids::CODEC_ID_AAC) {
            (Some(e), true) => {
                header_frames = Some(e.duration_frames);
                (e.media_time_frames, Some(e.duration_frames))
            }
            _ => (0, None),
        };
        Ok(PacketSource {
            path: p,
            format,
            decoder,
            track_id,
            channels,
            sample_rate,
            codec,
            container,
            bits_per_sample: params.bits_per_sample,
            header_frames,
            skip_frames,
            limit_frames,
            delivered: 0,
            max_packet_frames: 0,
            scratch: Vec::new(),
            last: (0, 0),
        })
    }

    /// Interleaved samples of the packet decoded by the last successful [`PacketSource::advance`].
    pub(crate) fn last_packet(&self) -> &[f32] {
        &self.scratch[self.last.0..self.last.1]
    }

    /// Decode the next packet; `false` at the end of the track.
    pub(crate) fn advance(&mut self) -> Result<bool, DecodeError> {
        let path = self.path.clone();
        guarded(&path, || self.advance_inner())
    }

    fn advance_inner(&mut self) -> Result<bool, DecodeError> {
        loop {
            if let Some(limit) = self.limit_frames
                && self.delivered >= limit
            {
                return Ok(false);
            }
            let packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => return Ok(false),
                Err(e) => return Err(map_sym(&self.path, e, self.delivered, self.header_frames)),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let buf = self
                .decoder
                .decode(&packet)
                .map_err(|e| map_sym(&self.path, e, self.delivered, self.header_frames))?;
            let spec_ch = buf.spec().channels().count();
            let rate = buf.spec().rate();
            let frames = buf.frames();
            if frames == 0 {
                continue;
            }
            if self.delivered == 0 && self.skip_frames == 0 || self.channels == 0 {
                self.channels = spec_ch;
            }
            if self.sample_rate == 0 {
                self.sample_rate = rate;
            }
            if spec_ch != self.channels || rate != self.sample_rate {
                return Err(DecodeError::Corrupt {
                    path: self.path.clone(),
                    detail: format!(
                        "stream format changes mid-file ({} ch @ {} Hz → {} ch @ {} Hz)",
                        self.channels, self.sample_rate, spec_ch, rate
                    ),
                });
            }
            self.max_packet_frames = self.max_packet_frames.max(frames);
            buf.copy_to_vec_interleaved(&mut self.scratch);
            let ch = spec_ch.max(1);
            let mut start = 0usize;
            if self.skip_frames > 0 {
                let s = (self.skip_frames as usize).min(frames);
                self.skip_frames -= s as u64;
                start = s;
            }
            let mut end = frames;
            if let Some(limit) = self.limit_frames {
                let left = limit.saturating_sub(self.delivered) as usize;
                end = end.min(start + left);
            }
            if end <= start {
                continue;
            }
            self.delivered += (end - start) as u64;
            self.last = (start * ch, end * ch);
            return Ok(true);
        }
    }

    /// Check after the last packet that the stream was as long as announced. PCM and FLAC headers state exact
    /// frame counts: fewer decoded frames mean a truncated file (PCM) or frames lost to corrupt data (FLAC, whose
    /// reader resynchronises past damaged frames).
    pub(crate) fn check_complete(&self) -> Result<(), DecodeError> {
        let Some(n) = self.header_frames else {
            return Ok(());
        };
        if self.delivered >= n {
            return Ok(());
        }
        if self.codec.starts_with("pcm") {
            return Err(DecodeError::Truncated {
                path: self.path.clone(),
                detail: format!(
                    "the header announces {n} frames but only {} could be read",
                    self.delivered
                ),
            });
        }
        if self.codec == "flac" {
            return Err(DecodeError::Corrupt {
                path: self.path.clone(),
                detail: format!(
                    "STREAMINFO announces {n} frames but only {} decoded (damaged frames were skipped, or the file is truncated)",
                    self.delivered
                ),
            });
        }
        Ok(())
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Mono mixing of interleaved frames according to the channel policy. Appends to `out`.
pub(crate) fn mix_into(
    interleaved: &[f32],
    channels: usize,
    policy: ChannelPolicy,
    out: &mut Vec<f32>,
) {
    match (policy, channels) {
        (_, 0) => {}
        (_, 1) => out.extend_from_slice(interleaved),
        (ChannelPolicy::Channel(c), ch) => out.extend(interleaved.chunks_exact(ch).map(|f| f[c])),
        (ChannelPolicy::MeanDownmix, ch) => {
            let inv = ch as f32;
            out.extend(
                interleaved
                    .chunks_exact(ch)
                    .map(|f| f.iter().sum::<f32>() / inv),
            );
        }
    }
}

/// Check a channel policy against a file's channel count.
pub(crate) fn check_channel(
    path: &Path,
    policy: ChannelPolicy,
    channels: usize,
) -> Result<(), DecodeError> {
    if let ChannelPolicy::Channel(c) = policy
        && c >= channels
    {
        return Err(DecodeError::ChannelOutOfRange {
            path: path.to_path_buf(),
            channel: c,
            channels,
        });
    }
    Ok(())
}

/// Error if any sample is non-finite.
pub(crate) fn check_finite(path: &Path, samples: &[f32]) -> Result<(), DecodeError> {
    let mut count = 0usize;
    let mut first = None;
    for (i, x) in samples.iter().enumerate() {
        if !x.is_finite() {
            count += 1;
            first.get_or_insert(i);
        }
    }
    match first {
        None => Ok(()),
        Some(first_frame) => Err(DecodeError::NonFinite {
            path: path.to_path_buf(),
            count,
            first_frame,
            all: count == samples.len(),
        }),
    }
}

/// Decode `path` to a mono waveform at its native sample rate, applying the channel policy and crop of `opts`.
///
/// Errors name the file: missing, empty, unknown format, unsupported codec (Opus, HE-AAC…), corrupt or truncated
/// stream, zero-length audio, crop beyond the end, non-finite samples, bad channel index.
pub fn decode_file(path: &Path, opts: &DecodeOptions) -> Result<Decoded, DecodeError> {
    opts.check()?;
    decode_source(PacketSource::open(path)?, opts)
}

/// Decode an in-memory file (the whole file's bytes). `label` stands for the file in errors; `extension` (e.g.
/// `"mp3"`) is an optional format hint. Same semantics and errors as [`decode_file`].
pub fn decode_bytes(
    label: &Path,
    bytes: Vec<u8>,
    extension: Option<&str>,
    opts: &DecodeOptions,
) -> Result<Decoded, DecodeError> {
    opts.check()?;
    decode_source(PacketSource::open_bytes(label, bytes, extension)?, opts)
}

fn decode_source(mut src: PacketSource, opts: &DecodeOptions) -> Result<Decoded, DecodeError> {
    let mut out: Vec<f32> = Vec::new();
    let mut pos: u64 = 0; // frames seen so far
    let mut start = None;
    let mut end = None;
    let mut reached_end = true;
    let policy = opts.channels;
    let mut channel_checked = false;
    while src.advance()? {
        let ch = src.channels.max(1);
        if !channel_checked {
            check_channel(src.path(), policy, ch)?;
            channel_checked = true;
            let sr = src.sample_rate;
            start = Some(opts.start_frame(sr));
            end = opts.len_frames(sr).map(|l| opts.start_frame(sr) + l);
            if let Some(e) = end
                && let Some(h) = src.header_frames
            {
                out.reserve(
                    (e.min(h).saturating_sub(start.unwrap_or(0))).min(MAX_RESERVE_FRAMES) as usize,
                );
            } else if let Some(h) = src.header_frames {
                out.reserve(h.saturating_sub(start.unwrap_or(0)).min(MAX_RESERVE_FRAMES) as usize);
            }
        }
        let pkt = src.last_packet();
        let n = (pkt.len() / ch) as u64;
        let s = start.unwrap_or(0);
        let lo = s.max(pos);
        let hi = end.map_or(pos + n, |e| e.min(pos + n));
        if hi > lo {
            let a = (lo - pos) as usize * ch;
            let b = (hi - pos) as usize * ch;
            mix_into(&pkt[a..b], ch, policy, &mut out);
        }
        pos += n;
        if let Some(e) = end
            && pos >= e
        {
            reached_end = false;
            break;
        }
    }
    if reached_end {
        src.check_complete()?;
    }
    if src.delivered == 0 || src.sample_rate == 0 {
        return Err(DecodeError::ZeroLength {
            path: src.path().to_path_buf(),
        });
    }
    let frames = if reached_end {
        src.delivered
    } else {
        src.header_frames
            .unwrap_or(src.delivered)
            .max(src.delivered)
    };
    let sr = src.sample_rate;
    if out.is_empty() {
        return Err(DecodeError::CropBeyondEnd {
            path: src.path().to_path_buf(),
            offset_secs: opts.offset_secs,
            file_secs: frames as f64 / sr as f64,
        });
    }
    check_finite(src.path(), &out)?;
    let info = AudioInfo {
        sample_rate: sr,
        channels: src.channels,
        frames,
        duration_secs: frames as f64 / sr as f64,
        codec: src.codec.clone(),
        container: src.container.clone(),
        bits_per_sample: src.bits_per_sample,
        frames_counted: reached_end,
    };
    Ok(Decoded {
        waveform: Waveform {
            samples: out,
            sample_rate: sr,
        },
        info,
    })
}

/// How [`probe_file`] finds the frame count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProbeMode {
    /// Use the container's count when it states one; decode to count otherwise.
    #[default]
    HeaderOrCount,
    /// Always decode the whole file and count (validates the stream too).
    Count,
}

/// Read a file's [`AudioInfo`] (sample rate, channels, frames, duration, codec, container) without keeping samples.
///
/// Uses [`ProbeMode::HeaderOrCount`]; see [`probe_file_with`].
pub fn probe_file(path: &Path) -> Result<AudioInfo, DecodeError> {
    probe_file_with(path, ProbeMode::HeaderOrCount)
}

/// [`probe_file`] with an explicit [`ProbeMode`].
pub fn probe_file_with(path: &Path, mode: ProbeMode) -> Result<AudioInfo, DecodeError> {
    let mut src = PacketSource::open(path)?;
    // Decode one packet so that channels and rate are the decoder's, not only the header's.
    let first = src.advance()?;
    if !first {
        return Err(DecodeError::ZeroLength {
            path: path.to_path_buf(),
        });
    }
    let (frames, counted) = match (mode, src.header_frames) {
        (ProbeMode::HeaderOrCount, Some(n)) => (n, false),
        _ => {
            while src.advance()? {}
            src.check_complete()?;
            (src.delivered, true)
        }
    };
    if frames == 0 || src.sample_rate == 0 {
        return Err(DecodeError::ZeroLength {
            path: path.to_path_buf(),
        });
    }
    Ok(AudioInfo {
        sample_rate: src.sample_rate,
        channels: src.channels,
        frames,
        duration_secs: frames as f64 / src.sample_rate as f64,
        codec: src.codec.clone(),
        container: src.container.clone(),
        bits_per_sample: src.bits_per_sample,
        frames_counted: counted,
    })
}

/// Decode a whole file keeping every channel: returns `(planar channels, info)`. Used where the caller needs the
/// channels separately (e.g. stereo analysis); [`decode_file`] is the mono path.
pub fn decode_file_channels(path: &Path) -> Result<(Vec<Vec<f32>>, AudioInfo), DecodeError> {
    let mut src = PacketSource::open(path)?;
    let mut chans: Vec<Vec<f32>> = Vec::new();
    while src.advance()? {
        let ch = src.channels.max(1);
        let pkt = src.last_packet();
        if chans.is_empty() {
            chans = vec![Vec::new(); ch];
        }
        for f in pkt.chunks_exact(ch) {
            for (c, v) in chans.iter_mut().zip(f) {
                c.push(*v);
            }
        }
    }
    src.check_complete()?;
    if src.delivered == 0 {
        return Err(DecodeError::ZeroLength {
            path: path.to_path_buf(),
        });
    }
    for c in &chans {
        check_finite(src.path(), c)?;
    }
    let info = AudioInfo {
        sample_rate: src.sample_rate,
        channels: src.channels,
        frames: src.delivered,
        duration_secs: src.delivered as f64 / src.sample_rate as f64,
        codec: src.codec.clone(),
        container: src.container.clone(),
        bits_per_sample: src.bits_per_sample,
        frames_counted: true,
    };
    Ok((chans, info))
}

/// Minimal MP4 box reader for the audio track's edit list (`moov/trak/edts/elst`), which symphonia 0.6 parses but
/// does not apply. AAC encoders (ffmpeg, Apple) announce their priming there: `media_time` = frames to skip,
/// `segment_duration` = playable length (in movie time-scale units).
pub(crate) mod mp4_edit {
    use std::io::{Read, Seek, SeekFrom};

    /// The first edit of the first audio track, converted to frames of the track's time-scale.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Edit {
        /// Frames to drop at the start (encoder priming).
        pub media_time_frames: u64,
        /// Playable frames.
        pub duration_frames: u64,
    }

    /// Read the edit of the first `soun` track of an MP4 stream of `len` bytes; `None` if the stream is not MP4
    /// (no leading `ftyp` box), has no edit list, or anything is unexpected. Leaves the reader at an arbitrary
    /// position.
    pub fn read<R: Read + Seek>(f: &mut R, len: u64) -> Option<Edit> {
        let mut b = [0u8; 8];
        f.seek(SeekFrom::Start(0)).ok()?;
        f.read_exact(&mut b).ok()?;
        if &b[4..8] != b"ftyp" {
            return None;
        }
        let moov = find_box(f, 0, len, b"moov")?;
        let moov_data = read_body(f, moov, 64 << 20)?;
        let movie_ts = {
            let mvhd = child(&moov_data, b"mvhd")?;
            let v = *mvhd.first()?;
            if v == 1 {
                be32(mvhd, 20)?
            } else {
                be32(mvhd, 12)?
            }
        };
        let mut off = 0;
        while let Some((kind, body, next)) = next_box(&moov_data, off) {
            off = next;
            if &kind != b"trak" {
                continue;
            }
            let mdia = child(body, b"mdia")?;
            let hdlr = child(mdia, b"hdlr")?;
            if hdlr.get(8..12)? != b"soun" {
                continue;
            }
            let mdhd = child(mdia, b"mdhd")?;
            let media_ts = if *mdhd.first()? == 1 {
                be32(mdhd, 20)?
            } else {
                be32(mdhd, 12)?
            };
            let elst = child(child(body, b"edts")?, b"elst")?;
            let v = *elst.first()?;
            let n = be32(elst, 4)?;
            let mut p = 8usize;
            for _ in 0..n {
                let (dur, mt) = if v == 1 {
                    let d = be64(elst, p)?;
                    let m = be64(elst, p + 8)? as i64;
                    p += 20;
                    (d, m)
                } else {
                    let d = be32(elst, p)? as u64;
                    let m = be32(elst, p + 4)? as i32 as i64;
                    p += 12;
                    (d, m)
                };
                if mt < 0 {
                    continue; // empty edit (a gap); not used by audio encoders
                }
                if movie_ts == 0 || media_ts == 0 {
                    return None;
                }
                let duration_frames = ((dur as u128 * media_ts as u128 + movie_ts as u128 / 2)
                    / movie_ts as u128) as u64;
                return Some(Edit {
                    media_time_frames: mt as u64,
                    duration_frames,
                });
            }
            return None;
        }
        None
    }

    fn be32(b: &[u8], o: usize) -> Option<u32> {
        Some(u32::from_be_bytes(b.get(o..o + 4)?.try_into().ok()?))
    }
    fn be64(b: &[u8], o: usize) -> Option<u64> {
        Some(u64::from_be_bytes(b.get(o..o + 8)?.try_into().ok()?))
    }

    /// Next box in `data` at `off`: (type, body, offset after the box).
    fn next_box(data: &[u8], off: usize) -> Option<([u8; 4], &[u8], usize)> {
        let size = be32(data, off)? as u64;
        let kind: [u8; 4] = data.get(off + 4..off + 8)?.try_into().ok()?;
        let (hdr, size) = match size {
            1 => (16usize, be64(data, off + 8)?),
            0 => (8usize, (data.len() - off) as u64),
            s => (8usize, s),
        };
        let end = off.checked_add(usize::try_from(size).ok()?)?;
        if size < hdr as u64 || end > data.len() {
            return None;
        }
        Some((kind, &data[off + hdr..end], end))
    }

    /// Body of the first child box of `kind`; full boxes (`mvhd`, `mdhd`, `hdlr`, `elst`) keep their version/flags.
    fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
        let mut off = 0;
        while let Some((k, body, next)) = next_box(data, off) {
            if &k == kind {
                return Some(body);
            }
            off = next;
        }
        None
    }

    /// Position (body offset, body length) of a top-level box.
    fn find_box<R: Read + Seek>(
        f: &mut R,
        mut off: u64,
        len: u64,
        kind: &[u8; 4],
    ) -> Option<(u64, u64)> {
        while off + 8 <= len {
            f.seek(SeekFrom::Start(off)).ok()?;
            let mut h = [0u8; 16];
            f.read_exact(&mut h[..8]).ok()?;
            let size32 = u32::from_be_bytes(h[0..4].try_into().ok()?) as u64;
            let (hdr, size) = match size32 {
                1 => {
                    f.read_exact(&mut h[8..16]).ok()?;
                    (16, u64::from_be_bytes(h[8..16].try_into().ok()?))
                }
                0 => (8, len - off),
                s => (8, s),
            };
            if size < hdr || off + size > len {
                return None;
            }
            if &h[4..8] == kind {
                return Some((off + hdr, size - hdr));
            }
            off += size;
        }
        None
    }

    fn read_body<R: Read + Seek>(f: &mut R, (off, len): (u64, u64), max: u64) -> Option<Vec<u8>> {
        if len > max {
            return None;
        }
        f.seek(SeekFrom::Start(off)).ok()?;
        let mut v = vec![0u8; len as usize];
        f.read_exact(&mut v).ok()?;
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixing_means_or_picks_channels() {
        let x = [1.0f32, 3.0, -2.0, 4.0, 0.5, 0.25];
        let mut out = Vec::new();
        mix_into(&x, 2, ChannelPolicy::MeanDownmix, &mut out);
        assert_eq!(out, [2.0, 1.0, 0.375]);
        out.clear();
        mix_into(&x, 2, ChannelPolicy::Channel(1), &mut out);
        assert_eq!(out, [3.0, 4.0, 0.25]);
        out.clear();
        mix_into(&x, 3, ChannelPolicy::MeanDownmix, &mut out);
        assert_eq!(out, [(1.0 + 3.0 - 2.0) / 3.0, (4.0 + 0.5 + 0.25) / 3.0]);
    }

    #[test]
    fn crop_frames_use_librosa_rounding() {
        let o = DecodeOptions {
            offset_secs: 0.1,
            duration_secs: Some(0.2),
            ..Default::default()
        };
        assert_eq!(o.start_frame(22_050), 2205);
        assert_eq!(o.len_frames(22_050), Some(4410));
        assert_eq!(DecodeOptions::default().len_frames(16_000), None);
    }

    #[test]
    fn non_finite_check_reports_first_and_count() {
        let p = Path::new("x.wav");
        assert!(check_finite(p, &[0.0, 1.0]).is_ok());
        match check_finite(p, &[0.0, f32::NAN, f32::INFINITY]) {
            Err(DecodeError::NonFinite {
                count: 2,
                first_frame: 1,
                all: false,
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn mp4_edit_list_is_read_in_track_frames() {
        // movie time-scale 1000, media time-scale 44 100; edit: 300 ms playable, 1024 frames priming
        let mut mvhd = vec![0u8; 4 + 4 + 4];
        mvhd.extend_from_slice(&1000u32.to_be_bytes());
        mvhd.extend_from_slice(&[0u8; 80]);
        let mut mdhd = vec![0u8; 12];
        mdhd.extend_from_slice(&44_100u32.to_be_bytes());
        mdhd.extend_from_slice(&[0u8; 8]);
        let mut hdlr = vec![0u8; 8];
        hdlr.extend_from_slice(b"soun");
        hdlr.extend_from_slice(&[0u8; 13]);
        let mut elst = vec![0u8; 4];
        elst.extend_from_slice(&1u32.to_be_bytes());
        elst.extend_from_slice(&300u32.to_be_bytes());
        elst.extend_from_slice(&1024u32.to_be_bytes());
        elst.extend_from_slice(&0x0001_0000u32.to_be_bytes());
        let mdia = mp4_box(
            b"mdia",
            &[mp4_box(b"mdhd", &mdhd), mp4_box(b"hdlr", &hdlr)].concat(),
        );
        let trak = mp4_box(
            b"trak",
            &[mp4_box(b"edts", &mp4_box(b"elst", &elst)), mdia].concat(),
        );
        let moov = mp4_box(b"moov", &[mp4_box(b"mvhd", &mvhd), trak].concat());
        let file = [
            mp4_box(b"ftyp", b"M4A \0\0\0\0"),
            mp4_box(b"mdat", &[0u8; 16]),
            moov,
        ]
        .concat();
        let len = file.len() as u64;
        let e = mp4_edit::read(&mut std::io::Cursor::new(file), len).unwrap();
        assert_eq!(
            e,
            mp4_edit::Edit {
                media_time_frames: 1024,
                duration_frames: 13_230
            }
        );
        // not MP4, or damaged: None, no panic
        assert_eq!(
            mp4_edit::read(&mut std::io::Cursor::new(b"RIFF....WAVE".to_vec()), 12),
            None
        );
        assert_eq!(
            mp4_edit::read(
                &mut std::io::Cursor::new(b"\0\0\0\x08ftyp\xff\xff\xff\xffmoov".to_vec()),
                16
            ),
            None
        );
    }
}
