//! End-to-end extraction throughput (clips/s; audio-seconds/s = clips/s × clip length) on built-in `synth-notes`
//! (1 s clips at 24 kHz, resampled to the model rate) through the tiny golden encoder, all layers, frame rows, f32,
//! and with mean pooling. A base-size random model is timed by `scripts/bench/extract_peer.py` side by side with
//! the Python peer.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mirlens_core::{LayerSelection, Pooling};
use mirlens_datasets::synth::NotesParams;
use mirlens_extract::{
    Dataset, ExtractParams, ModelIdentity, SynthSource, extract, synth_manifest,
};
use mirlens_models::{CandleEncoder, LoadOptions};
use mirlens_test_support::golden_dir;

const CLIPS: usize = 32;

fn bench(c: &mut Criterion) {
    let ds = NotesParams::default().check().unwrap();
    let manifest = synth_manifest(&ds, Some(CLIPS));
    let dir = golden_dir("encoders").join("hubert_group_postln");
    let enc = CandleEncoder::load(&dir, &LoadOptions::default()).unwrap();
    let id = ModelIdentity::from_dir("tiny", None, &dir).unwrap();
    let source = SynthSource { dataset: &ds };
    let data = Dataset {
        name: "synth-notes".into(),
        manifest: &manifest,
        source: &source,
    };
    let mut g = c.benchmark_group(format!("extract_tiny_synth_notes_{CLIPS}x1s"));
    g.throughput(Throughput::Elements(CLIPS as u64));
    g.sample_size(10);
    for pooling in [Pooling::None, Pooling::Mean] {
        let params = ExtractParams {
            layers: LayerSelection::All,
            pooling,
            clips_per_shard: 8,
            batch_size: 8,
            ..ExtractParams::default()
        };
        g.bench_function(format!("pool_{pooling}"), |b| {
            b.iter(|| {
                let out = tempfile::tempdir().unwrap();
                extract(&enc, &id, &data, &params, out.path(), &mut |_| {})
                    .unwrap()
                    .manifest
                    .num_rows
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
