//! Fuzz the decoding entry point: arbitrary bytes, with each format hint, through `decode_bytes` (probe, demux,
//! decode, MP4 edit-list parsing, downmix, crop). Any panic is a bug; errors are expected.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mirlens_audio::decode::{ChannelPolicy, DecodeOptions, decode_bytes};
use std::path::Path;

const HINTS: [Option<&str>; 8] = [
    None,
    Some("wav"),
    Some("flac"),
    Some("mp3"),
    Some("ogg"),
    Some("m4a"),
    Some("aiff"),
    Some("opus"),
];

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    // First byte picks the hint and the options; the rest is the file.
    let sel = data[0];
    let hint = HINTS[(sel & 7) as usize];
    let opts = DecodeOptions {
        channels: if sel & 8 != 0 {
            ChannelPolicy::Channel(((sel >> 4) & 1) as usize)
        } else {
            ChannelPolicy::MeanDownmix
        },
        offset_secs: if sel & 32 != 0 { 0.01 } else { 0.0 },
        duration_secs: if sel & 64 != 0 { Some(0.05) } else { None },
    };
    if let Ok(d) = decode_bytes(Path::new("fuzz-input"), data[1..].to_vec(), hint, &opts) {
        assert!(d.waveform.samples.iter().all(|x| x.is_finite()));
        assert!(d.waveform.sample_rate > 0);
    }
});
