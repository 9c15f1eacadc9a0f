//! Long clips of a pooled windowed extraction are decoded chunk by chunk: the stored rows equal those of the
//! whole-clip path (22.05 kHz files resampled to the model's 16 kHz, normalised input, a cropped
//! entry, a clip shorter than a window beside them).

use mirlens_core::{LabelValue, LayerId, LayerSelection, Pooling};
use mirlens_datasets::{Manifest, ManifestEntry};
use mirlens_extract::window::Windowed;
use mirlens_extract::{
    ClipSource, Dataset, ExtractParams, FileSource, ModelIdentity, extract, extract_with,
};
use mirlens_models::chunked::ChunkParams;
use mirlens_models::{CandleEncoder, Encoder, LoadOptions};
use mirlens_store::Store;
use mirlens_test_support::golden_dir;

fn tone(seconds: f64, f0: f64, sr: u32) -> Vec<f32> {
    let n = (seconds * sr as f64) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / sr as f64;
            (0.3 * (2.0 * std::f64::consts::PI * f0 * t).sin()
                + 0.2 * (2.0 * std::f64::consts::PI * 1.5 * f0 * t).sin()
                + 0.05 * (t * 7.0).sin()) as f32
        })
        .collect()
}

#[test]
fn streamed_long_clips_equal_the_whole_clip_path() {
    let dir = golden_dir("encoders").join("hubert_group_postln");
    let enc = CandleEncoder::load(&dir, &LoadOptions::default()).unwrap();
    let id = ModelIdentity::from_dir("tiny-hubert-group-postln", None, &dir).unwrap();
    let sr_model = enc.spec().sample_rate;
    // 1.5 s windows with 0.3 s overlap at the model's rate
    let params = ChunkParams::from_seconds(1.5, 0.3, sr_model, enc.geometry().hop);
    let win = Windowed::new(&enc, enc.geometry(), params, Pooling::Mean).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut entries = Vec::new();
    for (k, (secs, f0)) in [(7.3, 220.0), (0.9, 330.0), (5.0, 440.0)]
        .iter()
        .enumerate()
    {
        let path = tmp.path().join(format!("c{k}.wav"));
        let x = tone(*secs, *f0, 22050);
        mirlens_audio::wav::write_wav(&path, &x, 22050, mirlens_audio::wav::WavFormat::Pcm16)
            .unwrap();
        entries.push(
            ManifestEntry::new(format!("c{k}"), &path).with_label("k", LabelValue::Int(k as i64)),
        );
    }
    // a crop of the first file: 1.1 s … 6.2 s
    entries.push(
        ManifestEntry::new("crop", tmp.path().join("c0.wav"))
            .with_span(1.1, Some(5.1))
            .with_label("k", LabelValue::Int(9)),
    );
    let m = Manifest::from_entries(entries, tmp.path()).unwrap();
    let src = FileSource::default();
    let ds = Dataset {
        name: "tones".into(),
        manifest: &m,
        source: &src,
    };
    let p = ExtractParams {
        layers: LayerSelection::All,
        pooling: Pooling::Mean,
        clips_per_shard: 2,
        ..ExtractParams::default()
    };
    let whole = tmp.path().join("whole");
    let streamed = tmp.path().join("streamed");
    extract(&win, &id, &ds, &p, &whole, &mut |_| {}).unwrap();
    extract_with(&win, Some(&win), &id, &ds, &p, &streamed, &mut |_| {}).unwrap();
    let (a, b) = (
        Store::open(&whole).unwrap(),
        Store::open(&streamed).unwrap(),
    );
    assert_eq!(a.num_rows(), 4);
    assert_eq!(b.num_rows(), 4);
    let mut worst = 0.0f32;
    for l in a.layers().to_vec() {
        let (x, _, _) = a.read_layer(l).unwrap();
        let (y, _, _) = b.read_layer(l).unwrap();
        for (u, v) in x.iter().zip(&y) {
            worst = worst.max((u - v).abs());
        }
    }
    eprintln!("streamed vs whole-clip rows: max |Δ| {worst:e}");
    assert!(worst <= 1e-6, "{worst}");
    assert_eq!(
        a.manifest().header.layers,
        b.manifest().header.layers,
        "same layers"
    );
    // the long clips really are streamed: a source that refuses whole decoding still extracts them
    struct StreamOnly(FileSource);
    impl ClipSource for StreamOnly {
        fn load(
            &self,
            _index: usize,
            e: &ManifestEntry,
        ) -> Result<mirlens_audio::Waveform, String> {
            Err(format!("{}: whole decoding refused", e.id))
        }
        fn stream(
            &self,
            index: usize,
            e: &ManifestEntry,
        ) -> Option<(std::path::PathBuf, mirlens_audio::stream::StreamOptions)> {
            self.0.stream(index, e)
        }
    }
    let only = StreamOnly(FileSource::default());
    let ds2 = Dataset {
        name: "tones".into(),
        manifest: &m,
        source: &only,
    };
    let out = tmp.path().join("only");
    extract_with(&win, Some(&win), &id, &ds2, &p, &out, &mut |_| {}).unwrap();
    let c = Store::open(&out).unwrap();
    let bad: Vec<String> = c
        .manifest()
        .bad_clips
        .iter()
        .map(|b| b.clip_id.clone())
        .collect();
    assert_eq!(
        bad,
        vec!["c1".to_string()],
        "only the short clip needs whole decoding"
    );
    assert_eq!(c.num_rows(), 3);
    let (x, _, d) = a.read_layer(LayerId(1)).unwrap();
    let (y, _, _) = c.read_layer(LayerId(1)).unwrap();
    // rows of clips c0, c2, crop (whole store rows 0, 2, 3)
    for (r_whole, r_only) in [(0, 0), (2, 1), (3, 2)] {
        assert_eq!(
            x[r_whole * d..(r_whole + 1) * d],
            y[r_only * d..(r_only + 1) * d]
        );
    }
}
