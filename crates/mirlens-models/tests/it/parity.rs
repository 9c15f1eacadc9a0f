//! Every hidden state of every tiny variant against transformers 5.23.0 (goldens from
//! `tests/golden/encoders/generate.py`), max abs error ≤ 1e-4 in f32. The maxima are printed
//! (`cargo test -p mirlens-models --test it parity -- --nocapture`).

use mirlens_core::{LayerId, LayerSelection, Tolerance};
use mirlens_models::candle_encoder::BatchMask;
use mirlens_models::weights::WeightNormSpelling;
use mirlens_models::{CandleEncoder, EncodeOptions, Encoder, FinalNorm, LoadOptions};
use mirlens_test_support::golden::Golden;
use mirlens_test_support::{assert_close, golden_dir};

pub const VARIANTS: &[&str] = &[
    "wav2vec2_group_postln",
    "wav2vec2_layer_preln",
    "hubert_group_postln",
    "hubert_group_preln",
    "mert_95m_like",
];
const LENGTHS: &[usize] = &[3200, 1601, 397];

pub fn load(dir: &str) -> CandleEncoder {
    CandleEncoder::load(golden_dir("encoders").join(dir), &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
}

fn check_single(variant: &str, dir: &str) -> f64 {
    let enc = load(dir);
    let n = enc.spec().num_layers;
    let mut worst = 0f64;
    for &len in LENGTHS {
        let g = Golden::load(
            golden_dir("encoders")
                .join(variant)
                .join(format!("hidden_len{len}.safetensors")),
        );
        let x = &g.get("input_values").data;
        let opts = EncodeOptions {
            conv_features: true,
            final_norm: FinalNorm::Before,
        };
        let a = enc.encode(x, &LayerSelection::All, &opts).unwrap();
        assert_eq!(a.layers.len(), n + 1);
        let shape = &g.get("hidden_states.0").shape;
        assert_eq!(a.frames, shape[1], "{dir} len {len}: frames");
        for i in 0..=n {
            let what = format!("{dir} len {len} hidden_states.{i}");
            let r = assert_close(
                &what,
                a.layer(LayerId(i)).unwrap(),
                &g.get(&format!("hidden_states.{i}")).data,
                Tolerance::ENCODER,
            );
            worst = worst.max(r.max_abs);
        }
        // conv features: golden is [1, C, T] channels first; ours [T, C].
        let cg = g.get("conv_features");
        let (c, t) = (cg.shape[1], cg.shape[2]);
        let mut ours_ct = vec![0f32; c * t];
        let (cc, cf) = a.conv_features.as_ref().unwrap();
        assert_eq!(*cc, c);
        for ti in 0..t {
            for ci in 0..c {
                ours_ct[ci * t + ti] = cf[ti * c + ci];
            }
        }
        let r = assert_close(
            &format!("{dir} len {len} conv_features"),
            &ours_ct,
            &cg.data,
            Tolerance::ENCODER,
        );
        worst = worst.max(r.max_abs);
        // FinalNorm::After gives last_hidden_state as layer N (pre-LN: LN_enc(block N); post-LN: unchanged).
        let after = EncodeOptions {
            conv_features: false,
            final_norm: FinalNorm::After,
        };
        let b = enc.encode(x, &LayerSelection::Last, &after).unwrap();
        let r = assert_close(
            &format!("{dir} len {len} last_hidden_state"),
            b.layer(LayerId(n)).unwrap(),
            &g.get("last_hidden_state").data,
            Tolerance::ENCODER,
        );
        worst = worst.max(r.max_abs);
    }
    println!(
        "parity {dir}: max abs error over all hidden states, conv features, last_hidden_state = {worst:.3e}"
    );
    worst
}

#[test]
fn every_variant_every_layer_matches_transformers() {
    let mut overall = 0f64;
    for v in VARIANTS {
        overall = overall.max(check_single(v, v));
        assert_eq!(
            load(v).load_report().weight_norm,
            WeightNormSpelling::Parametrizations
        );
    }
    println!("parity overall max abs error: {overall:.3e}");
}

#[test]
fn legacy_weight_norm_names_give_the_same_numbers() {
    for v in VARIANTS {
        let legacy = format!("{v}_legacy");
        check_single(v, &legacy);
        assert_eq!(
            load(&legacy).load_report().weight_norm,
            WeightNormSpelling::Legacy
        );
    }
}

#[test]
fn padded_batch_matches_transformers() {
    for v in VARIANTS {
        let enc = load(v);
        let g = Golden::load(
            golden_dir("encoders")
                .join(v)
                .join("hidden_batch.safetensors"),
        );
        let lens: Vec<usize> = g.get("lengths").data.iter().map(|&x| x as usize).collect();
        let iv = g.get("input_values");
        let nmax = iv.shape[1];
        let items: Vec<&[f32]> = lens
            .iter()
            .enumerate()
            .map(|(b, &l)| &iv.data[b * nmax..b * nmax + l])
            .collect();
        let masked = g.metadata.get("batch_attention_mask").map(String::as_str) == Some("yes");
        let out = enc
            .forward_padded(
                &items,
                if masked {
                    BatchMask::FromLengths
                } else {
                    BatchMask::NoMask
                },
            )
            .unwrap();
        let h = enc.spec().hidden_size;
        let t = out.max_frames;
        let mut worst = 0f64;
        for (i, ours) in out.hidden_states.iter().enumerate() {
            let gold = &g.get(&format!("hidden_states.{i}")).data;
            for (b, &f) in out.frames.iter().enumerate() {
                // With a mask only valid frames are defined; without one every frame is compared.
                let f = if masked { f } else { t };
                let r = assert_close(
                    &format!("{v} batch item {b} hidden_states.{i}"),
                    &ours[b * t * h..(b * t + f) * h],
                    &gold[b * t * h..(b * t + f) * h],
                    Tolerance::ENCODER,
                );
                worst = worst.max(r.max_abs);
            }
        }
        println!("parity {v} padded batch (mask: {masked}): max abs error {worst:.3e}");
    }
}

#[test]
fn encode_batch_equals_single_encodes() {
    for v in VARIANTS {
        let enc = load(v);
        let g = Golden::load(
            golden_dir("encoders")
                .join(v)
                .join("hidden_len3200.safetensors"),
        );
        let x = &g.get("input_values").data;
        let items: Vec<&[f32]> = vec![&x[..3200], &x[..2001], &x[..3200], &x[..397]];
        let sel = LayerSelection::All;
        let opts = EncodeOptions::default();
        let batch = enc.encode_batch(&items, &sel, &opts).unwrap();
        for (b, item) in items.iter().enumerate() {
            let single = enc.encode(item, &sel, &opts).unwrap();
            assert_eq!(batch[b].frames, single.frames);
            for ((l, a), (_, s)) in batch[b].layers.iter().zip(&single.layers) {
                // Layer-norm stacks are batched with a mask: equal up to summation order.
                assert_close(&format!("{v} item {b} {l}"), a, s, Tolerance::TIGHT);
            }
        }
    }
}

#[test]
fn group_norm_padding_changes_frames_as_transformers_documents() {
    // Without a mask, zero padding changes the shorter item's frames of a group-norm model (why encode_batch
    // never pads group-norm inputs).
    let v = "hubert_group_postln";
    let enc = load(v);
    let g = Golden::load(
        golden_dir("encoders")
            .join(v)
            .join("hidden_batch.safetensors"),
    );
    let iv = g.get("input_values");
    let nmax = iv.shape[1];
    let short = &iv.data[nmax..nmax + 2001];
    let single = enc
        .encode(short, &LayerSelection::Last, &EncodeOptions::default())
        .unwrap();
    let h = enc.spec().hidden_size;
    let t = g.get("hidden_states.2").shape[1];
    let padded = &g.get("hidden_states.2").data[t * h..t * h + single.frames * h];
    let r = mirlens_test_support::compare(
        single.layer(LayerId(2)).unwrap(),
        padded,
        Tolerance::ENCODER,
    );
    assert!(
        r.max_abs > 1e-2,
        "padding should change group-norm frames, max diff {}",
        r.max_abs
    );
}

#[test]
fn selected_layers_equal_the_full_run() {
    let enc = load("hubert_group_preln");
    let g = Golden::load(
        golden_dir("encoders")
            .join("hubert_group_preln")
            .join("hidden_len1601.safetensors"),
    );
    let x = &g.get("input_values").data;
    let a = enc
        .encode(x, &"0,1".parse().unwrap(), &EncodeOptions::default())
        .unwrap();
    assert_eq!(
        a.layers.iter().map(|(l, _)| l.0).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_close(
        "layer 1 only",
        a.layer(LayerId(1)).unwrap(),
        &g.get("hidden_states.1").data,
        Tolerance::ENCODER,
    );
}

#[test]
fn pre_ln_goldens_follow_the_transformers_v5_convention() {
    // v5: hidden_states[N] of a pre-LN model is before the final LN, so it differs from last_hidden_state;
    // post-LN models have them equal.
    for v in VARIANTS {
        let enc = load(v);
        let n = enc.spec().num_layers;
        let g = Golden::load(
            golden_dir("encoders")
                .join(v)
                .join("hidden_len1601.safetensors"),
        );
        let r = mirlens_test_support::compare(
            &g.get(&format!("hidden_states.{n}")).data,
            &g.get("last_hidden_state").data,
            Tolerance::ENCODER,
        );
        if enc.config().do_stable_layer_norm {
            assert!(r.max_abs > 0.1, "{v}: {}", r.max_abs);
        } else {
            assert_eq!(r.max_abs, 0.0, "{v}");
        }
    }
}
