//! Streaming decode: a file as an iterator of fixed-size mono chunks (decode → channel policy → crop → optional
//! resample), in bounded memory.
//!
//! Memory bound (samples held by the stream at any time, excluding the decoder's and resampler's fixed tables):
//!
//! ```text
//! chunk_frames                       pending output (less than one chunk) …
//! + released(P)                      … plus what one packet can release: P without resampling, else
//!                                    (⌈P / resampler chunk⌉ + 1) · resampler output block
//! + P + channels · P                 the decoded packet (interleaved) and its mono mix
//! + resampler chunk + output block   the resampler's own buffers
//! ```
//!
//! where `P` is the largest packet of the codec (WAV ≤ 4096 frames in symphonia, FLAC ≤ 65 535 by specification,
//! MP3 1152, AAC 1024, Vorbis ≤ 8192). It does not depend on the length of the file; [`AudioStream::buffer_bound`] evaluates it and [`AudioStream::max_buffered_samples`] reports the
//! measured high-water mark (tested on a long synthetic file).
//!
//! The concatenated chunks equal [`crate::decode::decode_file`] followed by [`crate::resample::resample`] exactly.

use crate::decode::{
    ChannelPolicy, DecodeError, DecodeOptions, PacketSource, check_channel, mix_into,
};
use crate::resample::{ResampleError, ResampleQuality, StreamingResampler};
use std::path::{Path, PathBuf};

/// Options of [`AudioStream::open`].
#[derive(Debug, Clone, PartialEq)]
pub struct StreamOptions {
    /// Channel policy (default: mean downmix).
    pub channels: ChannelPolicy,
    /// Output rate; `None` keeps the file's rate.
    pub target_rate: Option<u32>,
    /// Resampling quality when `target_rate` differs from the file's rate.
    pub quality: ResampleQuality,
    /// Samples per yielded chunk (the last chunk may be shorter). Default 65 536.
    pub chunk_frames: usize,
    /// Crop start in seconds (as [`DecodeOptions::offset_secs`]).
    pub offset_secs: f64,
    /// Crop length in seconds (as [`DecodeOptions::duration_secs`]).
    pub duration_secs: Option<f64>,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            channels: ChannelPolicy::MeanDownmix,
            target_rate: None,
            quality: ResampleQuality::High,
            chunk_frames: 65_536,
            offset_secs: 0.0,
            duration_secs: None,
        }
    }
}

impl StreamOptions {
    /// Validate: chunk size > 0, crop as in [`DecodeOptions::check`].
    pub fn check(&self) -> Result<(), StreamError> {
        if self.chunk_frames == 0 {
            return Err(StreamError::Decode(DecodeError::InvalidOption {
                parameter: "chunk_frames",
                value: "0".into(),
                expected: "at least 1 sample per chunk",
            }));
        }
        self.decode_options().check()?;
        Ok(())
    }

    fn decode_options(&self) -> DecodeOptions {
        DecodeOptions {
            channels: self.channels,
            offset_secs: self.offset_secs,
            duration_secs: self.duration_secs,
        }
    }
}

/// Errors of streaming.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Decoding failed.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Resampling failed.
    #[error("{path}: resampling failed")]
    Resample {
        /// The file.
        path: PathBuf,
        /// The resampler's error.
        source: ResampleError,
    },
}

/// Iterator of mono chunks of a file. Each item is `chunk_frames` samples (the last may be shorter) at
/// [`AudioStream::sample_rate`].
pub struct AudioStream {
    src: PacketSource,
    opts: StreamOptions,
    resampler: Option<StreamingResampler>,
    native_rate: u32,
    out_rate: u32,
    start: u64,
    end: Option<u64>,
    pos: u64,
    mono: Vec<f32>,
    ready: Vec<f32>,
    ready_off: usize,
    source_done: bool,
    failed: bool,
    emitted: u64,
    high_water: usize,
}

impl std::fmt::Debug for AudioStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioStream")
            .field("path", &self.src.path())
            .field("native_rate", &self.native_rate)
            .field("out_rate", &self.out_rate)
            .field("chunk_frames", &self.opts.chunk_frames)
            .finish_non_exhaustive()
    }
}

impl AudioStream {
    /// Open `path` for streaming. Reads the header and the first packet (to learn the channel count and rate).
    pub fn open(path: &Path, opts: &StreamOptions) -> Result<AudioStream, StreamError> {
        opts.check()?;
        let src = PacketSource::open(path)?;
        let mut s = AudioStream {
            src,
            opts: opts.clone(),
            resampler: None,
            native_rate: 0,
            out_rate: 0,
            start: 0,
            end: None,
            pos: 0,
            mono: Vec::new(),
            ready: Vec::new(),
            ready_off: 0,
            source_done: false,
            failed: false,
            emitted: 0,
            high_water: 0,
        };
        // Prime with the first packet so rate/channels are the decoder's.
        if !s.pull_packet()? {
            return Err(DecodeError::ZeroLength {
                path: path.to_path_buf(),
            }
            .into());
        }
        if s.native_rate == 0 {
            return Err(DecodeError::ZeroLength {
                path: path.to_path_buf(),
            }
            .into());
        }
        Ok(s)
    }

    /// Output sample rate (the target rate, or the file's rate).
    pub fn sample_rate(&self) -> u32 {
        self.out_rate
    }

    /// The file's native sample rate.
    pub fn native_rate(&self) -> u32 {
        self.native_rate
    }

    /// The file's channel count.
    pub fn channels(&self) -> usize {
        self.src.channels
    }

    /// Measured high-water mark of samples held by the stream (pending output + decoded packet + resampler block).
    pub fn max_buffered_samples(&self) -> usize {
        self.high_water
    }

    /// The stated memory bound (see the module docs) for the largest packet seen so far.
    pub fn buffer_bound(&self) -> usize {
        let p = self.src.max_packet_frames;
        let (released, rs) = match &self.resampler {
            Some(r) => (r.max_output_for_input(p), r.max_buffered_samples()),
            None => (p, 0),
        };
        self.opts.chunk_frames + released + p + self.src.channels.max(1) * p + rs
    }

    fn note_usage(&mut self) {
        let rs = self
            .resampler
            .as_ref()
            .map_or(0, |r| r.max_buffered_samples());
        let pkt = self.src.max_packet_frames * self.src.channels.max(1);
        let held = (self.ready.len() - self.ready_off) + self.mono.len() + pkt + rs;
        self.high_water = self.high_water.max(held);
    }

    /// Decode one packet into `ready`. Returns false at the end of the source.
    fn pull_packet(&mut self) -> Result<bool, StreamError> {
        if self.source_done {
            return Ok(false);
        }
        let policy = self.opts.channels;
        if !self.src.advance()? {
            self.source_done = true;
            self.src.check_complete()?;
            if self.src.delivered == 0 {
                return Err(DecodeError::ZeroLength {
                    path: self.src.path().to_path_buf(),
                }
                .into());
            }
            if let Some(r) = self.resampler.as_mut() {
                r.finish(&mut self.ready)
                    .map_err(|source| StreamError::Resample {
                        path: self.src.path().to_path_buf(),
                        source,
                    })?;
            }
            return Ok(false);
        }
        let ch = self.src.channels.max(1);
        if self.native_rate == 0 {
            // First packet: learn the format.
            let path = self.src.path().to_path_buf();
            check_channel(&path, policy, ch)?;
            self.native_rate = self.src.sample_rate;
            let dopts = self.opts.decode_options();
            self.start = dopts.start_frame(self.native_rate);
            self.end = dopts.len_frames(self.native_rate).map(|l| self.start + l);
            self.out_rate = self.opts.target_rate.unwrap_or(self.native_rate);
            if self.out_rate != self.native_rate {
                self.resampler = Some(
                    StreamingResampler::new(self.native_rate, self.out_rate, self.opts.quality)
                        .map_err(|source| StreamError::Resample { path, source })?,
                );
            }
        }
        let pkt = self.src.last_packet();
        let n = (pkt.len() / ch) as u64;
        self.mono.clear();
        let lo = self.start.max(self.pos);
        let hi = self.end.map_or(self.pos + n, |e| e.min(self.pos + n));
        if hi > lo {
            let a = (lo - self.pos) as usize * ch;
            let b = (hi - self.pos) as usize * ch;
            mix_into(&pkt[a..b], ch, policy, &mut self.mono);
        }
        let packet_start = self.pos;
        self.pos += n;
        // Non-finite check, with the index in the (native-rate, cropped) output.
        if let Some(i) = self.mono.iter().position(|x| !x.is_finite()) {
            let count = self.mono.iter().filter(|x| !x.is_finite()).count();
            let before = packet_start.max(self.start) - self.start;
            return Err(DecodeError::NonFinite {
                path: self.src.path().to_path_buf(),
                count,
                first_frame: before as usize + i,
                all: false,
            }
            .into());
        }
        if self.ready_off > 0 {
            self.ready.drain(..self.ready_off);
            self.ready_off = 0;
        }
        match self.resampler.as_mut() {
            Some(r) => {
                r.process(&self.mono, &mut self.ready)
                    .map_err(|source| StreamError::Resample {
                        path: self.src.path().to_path_buf(),
                        source,
                    })?
            }
            None => self.ready.extend_from_slice(&self.mono),
        }
        self.note_usage();
        if let Some(e) = self.end
            && self.pos >= e
        {
            // Crop complete: stop decoding; flush the resampler.
            self.source_done = true;
            if let Some(r) = self.resampler.as_mut() {
                r.finish(&mut self.ready)
                    .map_err(|source| StreamError::Resample {
                        path: self.src.path().to_path_buf(),
                        source,
                    })?;
            }
        }
        Ok(true)
    }

    fn next_chunk(&mut self) -> Result<Option<Vec<f32>>, StreamError> {
        let want = self.opts.chunk_frames;
        while self.ready.len() - self.ready_off < want && !self.source_done {
            self.pull_packet()?;
        }
        let avail = self.ready.len() - self.ready_off;
        if avail == 0 {
            if self.emitted == 0 {
                let file_secs = self.pos as f64 / self.native_rate as f64;
                return Err(DecodeError::CropBeyondEnd {
                    path: self.src.path().to_path_buf(),
                    offset_secs: self.opts.offset_secs,
                    file_secs,
                }
                .into());
            }
            return Ok(None);
        }
        let take = avail.min(want);
        let chunk = self.ready[self.ready_off..self.ready_off + take].to_vec();
        self.ready_off += take;
        self.emitted += take as u64;
        Ok(Some(chunk))
    }
}

impl Iterator for AudioStream {
    type Item = Result<Vec<f32>, StreamError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_chunk() {
            Ok(Some(c)) => Some(Ok(c)),
            Ok(None) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
