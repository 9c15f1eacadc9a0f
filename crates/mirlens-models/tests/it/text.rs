//! Token language models against transformers 5.23.0 (goldens from `tests/golden/text_lms/generate.py`): every
//! hidden state of a right-padded batch, the raw last block output, causal-LM logits and the `labels=` loss, for
//! eleven tiny random checkpoints (GQA, untied heads, explicit head_dim, linear / llama3 RoPE scaling, q/k/v
//! biases, GPT-2 hub and prefixed layouts, NeoX parallel / sequential residual with partial rotary, BERT, RoBERTa,
//! XLM-R; f32, f16 and bf16 weights). The maxima are printed (`cargo test -p mirlens-models --test it text --
//! --nocapture`); docs/text-models.md quotes them.

use mirlens_core::{LayerId, LayerSelection, Tolerance};
use mirlens_models::text::TextConfig;
use mirlens_models::{
    FinalNorm, LoadOptions, LoadPolicy, ModelError, TextModel, TokenEncodeOptions, TokenEncoder,
};
use mirlens_test_support::golden::Golden;
use mirlens_test_support::{assert_close, golden_dir};
use std::path::PathBuf;

/// Hidden states and logits: the worst errors over all cases are 7.6e-6 (hidden) and 1.2e-5 (logits), see
/// docs/text-models.md.
const HIDDEN: Tolerance = Tolerance {
    name: "text-lm",
    atol: 2e-5,
    rtol: 0.0,
};

pub const CASES: &[&str] = &[
    "llama_gqa_tied",
    "llama_untied_linear",
    "llama3_rope_bf16",
    "qwen2_f16",
    "gpt2_hub",
    "gpt2_untied",
    "neox_parallel",
    "neox_sequential",
    "bert",
    "roberta",
    "xlm_roberta_f16",
];

pub fn case_dir(case: &str) -> PathBuf {
    golden_dir("text_lms").join("models").join(case)
}

pub fn load(case: &str) -> TextModel {
    TextModel::load(case_dir(case), &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{case}: {e}"))
}

/// The items of the golden batch: ids up to each attention-mask length.
fn items(g: &Golden) -> Vec<Vec<u32>> {
    let ids = g.get("input_ids");
    let mask = g.get("attention_mask");
    let t = ids.shape[1];
    (0..ids.shape[0])
        .map(|b| {
            (0..t)
                .filter(|&j| mask.data[b * t + j] > 0.5)
                .map(|j| ids.data[b * t + j] as u32)
                .collect()
        })
        .collect()
}

struct Worst {
    hidden: f64,
    logits: f64,
    loss: f64,
}

fn check_case(case: &str) -> Worst {
    let m = load(case);
    let g = Golden::load(case_dir(case).join("expected.safetensors"));
    let items = items(&g);
    let refs: Vec<&[u32]> = items.iter().map(|v| v.as_slice()).collect();
    let causal = m.spec().causal;
    let out = m.forward_padded(&refs, causal).unwrap();
    let hs = g.get("hidden_states");
    let n = m.spec().num_layers;
    assert_eq!(hs.shape[0], n + 1, "{case}: number of hidden states");
    assert_eq!(out.hidden_states.len(), n + 1);
    let per = hs.data.len() / (n + 1);
    let mut w = Worst {
        hidden: 0.0,
        logits: 0.0,
        loss: 0.0,
    };
    for i in 0..=n {
        let r = assert_close(
            &format!("{case} hidden_states[{i}]"),
            &out.hidden_states[i],
            &hs.data[i * per..(i + 1) * per],
            HIDDEN,
        );
        w.hidden = w.hidden.max(r.max_abs);
    }
    let r = assert_close(
        &format!("{case} pre_final_norm"),
        &out.pre_final_norm,
        &g.get("pre_final_norm").data,
        HIDDEN,
    );
    w.hidden = w.hidden.max(r.max_abs);
    if causal {
        let r = assert_close(
            &format!("{case} logits"),
            out.logits.as_ref().unwrap(),
            &g.get("logits").data,
            HIDDEN,
        );
        w.logits = r.max_abs;
        let loss = m.causal_lm_loss(&refs).unwrap();
        let expected = g.get("loss").data[0] as f64;
        w.loss = (loss.mean - expected).abs();
        assert!(
            w.loss <= 1.5e-5,
            "{case}: loss {} vs transformers {expected}",
            loss.mean
        );
        let valid: usize = items.iter().map(|x| x.len() - 1).sum();
        assert_eq!(loss.tokens, valid);
    } else {
        assert!(matches!(
            m.causal_lm_loss(&refs),
            Err(ModelError::NoLmHead { .. })
        ));
    }
    println!(
        "{case}: max |Δ| hidden {:.2e}, logits {:.2e}, loss {:.2e}",
        w.hidden, w.logits, w.loss
    );
    w
}

#[test]
fn every_case_matches_transformers() {
    let (mut h, mut l, mut s) = (0f64, 0f64, 0f64);
    for case in CASES {
        let w = check_case(case);
        h = h.max(w.hidden);
        l = l.max(w.logits);
        s = s.max(w.loss);
    }
    println!("all text cases: max |Δ| hidden {h:.2e}, logits {l:.2e}, loss {s:.2e}");
}

#[test]
fn padded_batch_equals_single_items() {
    for case in ["llama_gqa_tied", "gpt2_untied", "neox_parallel", "roberta"] {
        let m = load(case);
        let a: Vec<u32> = (5..22).collect();
        let b: Vec<u32> = vec![9, 4, 7];
        let c: Vec<u32> = (30..40).rev().collect();
        let opts = TokenEncodeOptions::default();
        let batch = m
            .encode_tokens_batch(&[&a, &b, &c], &LayerSelection::All, &opts)
            .unwrap();
        for (item, acts) in [&a, &b, &c].iter().zip(&batch) {
            let single = m.encode_tokens(item, &LayerSelection::All, &opts).unwrap();
            assert_eq!(single.frames, item.len());
            assert_eq!(acts.frames, item.len());
            for ((l1, x), (l2, y)) in single.layers.iter().zip(&acts.layers) {
                assert_eq!(l1, l2);
                assert_close(&format!("{case} layer {l1} batch vs single"), y, x, HIDDEN);
            }
        }
    }
}

#[test]
fn last_layer_before_final_norm_is_the_raw_block_output() {
    let m = load("llama_gqa_tied");
    let g = Golden::load(case_dir("llama_gqa_tied").join("expected.safetensors"));
    let items = items(&g);
    let n = m.spec().num_layers;
    let before = m
        .encode_tokens(
            &items[0],
            &LayerSelection::Last,
            &TokenEncodeOptions {
                final_norm: FinalNorm::Before,
            },
        )
        .unwrap();
    let after = m
        .encode_tokens(
            &items[0],
            &LayerSelection::Last,
            &TokenEncodeOptions::default(),
        )
        .unwrap();
    let d = m.spec().hidden_size;
    let k = items[0].len();
    let pre = &g.get("pre_final_norm").data[..k * d];
    let t = g.get("input_ids").shape[1];
    let hs = g.get("hidden_states");
    let per = hs.data.len() / (n + 1);
    let last = &hs.data[n * per..n * per + k * d];
    assert_eq!(t, k, "item 0 is the longest");
    assert_close(
        "Before = raw block output",
        before.layer(LayerId(n)).unwrap(),
        pre,
        HIDDEN,
    );
    assert_close(
        "After = hidden_states[L]",
        after.layer(LayerId(n)).unwrap(),
        last,
        HIDDEN,
    );
    // The two really differ (RMSNorm rescales the residual stream).
    let diff = pre
        .iter()
        .zip(last)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(diff > 0.1, "final norm changes the last layer by {diff}");
}

#[test]
fn selected_layers_only_and_layer_range_checked() {
    let m = load("gpt2_hub");
    let ids: Vec<u32> = (1..9).collect();
    let opts = TokenEncodeOptions::default();
    let all = m.encode_tokens(&ids, &LayerSelection::All, &opts).unwrap();
    let some = m
        .encode_tokens(&ids, &LayerSelection::Some(vec![LayerId(1)]), &opts)
        .unwrap();
    assert_eq!(some.layers.len(), 1);
    assert_eq!(some.layer(LayerId(1)), all.layer(LayerId(1)));
    let err = m
        .encode_tokens(&ids, &LayerSelection::Some(vec![LayerId(4)]), &opts)
        .unwrap_err();
    assert!(matches!(err, ModelError::Core(_)), "{err}");
}

#[test]
fn bad_token_inputs_are_typed_errors() {
    let m = load("gpt2_hub");
    let opts = TokenEncodeOptions::default();
    let sel = LayerSelection::All;
    match m.encode_tokens(&[1, 2, 512], &sel, &opts) {
        Err(ModelError::TokenOutOfRange {
            index: 2,
            id: 512,
            vocab_size: 512,
            ..
        }) => {}
        other => panic!("expected TokenOutOfRange, got {other:?}"),
    }
    match m.encode_tokens(&[], &sel, &opts) {
        Err(ModelError::EmptyTokens { item: 0 }) => {}
        other => panic!("expected EmptyTokens, got {other:?}"),
    }
    let long: Vec<u32> = vec![3; 65];
    match m.encode_tokens(&long, &sel, &opts) {
        Err(ModelError::SequenceTooLong {
            tokens: 65,
            max: 64,
            ..
        }) => {}
        other => panic!("expected SequenceTooLong, got {other:?}"),
    }
    // RoBERTa positions start after the padding id: 66 positions leave 64 tokens.
    let r = load("roberta");
    assert!(r.encode_tokens(&vec![5; 64], &sel, &opts).is_ok());
    assert!(matches!(
        r.encode_tokens(&vec![5; 65], &sel, &opts),
        Err(ModelError::SequenceTooLong { max: 64, .. })
    ));
}

fn copy_case(case: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(case_dir(case).join(f), tmp.path().join(f)).unwrap();
    }
    tmp
}

/// Rewrite `model.safetensors` of `dir` with extra f32 tensors.
fn add_tensors(dir: &std::path::Path, extra: &[(&str, Vec<usize>)]) {
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut owned: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    for (name, shape) in extra {
        let n: usize = shape.iter().product();
        owned.push((
            name.to_string(),
            safetensors::Dtype::F32,
            shape.clone(),
            vec![0u8; 4 * n],
        ));
    }
    let views: Vec<(String, safetensors::tensor::TensorView)> = owned
        .iter()
        .map(|(n, d, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, &path).unwrap();
}

#[test]
fn strict_loading_reports_prefix_buffers_and_unknown_tensors() {
    // GPT-2 saved from GPT2LMHeadModel: `transformer.` prefix, untied head used.
    let m = load("gpt2_untied");
    let rep = m.load_report();
    assert!(
        rep.used
            .iter()
            .any(|k| k == "transformer.h.0.attn.c_attn.weight")
    );
    assert!(rep.used.iter().any(|k| k == "lm_head.weight"));
    assert!(rep.unused.is_empty() && rep.missing.is_empty());
    // Hub layout without prefix; old causal-mask buffers are ignored with their reason.
    let tmp = copy_case("gpt2_hub");
    add_tensors(
        tmp.path(),
        &[
            ("h.0.attn.bias", vec![1, 1, 64, 64]),
            ("h.0.attn.masked_bias", vec![1]),
        ],
    );
    let m = TextModel::load(tmp.path(), &LoadOptions::default()).unwrap();
    let ignored: Vec<&str> = m
        .load_report()
        .ignored
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(ignored, ["h.0.attn.bias", "h.0.attn.masked_bias"]);
    // An unknown tensor fails strict loading, names it, and is reported under partial loading.
    add_tensors(tmp.path(), &[("h.0.mystery", vec![3])]);
    match TextModel::load(tmp.path(), &LoadOptions::default()) {
        Err(ModelError::StrictLoad { unused, missing }) => {
            assert_eq!(unused, ["h.0.mystery"]);
            assert!(missing.is_empty());
        }
        other => panic!("expected StrictLoad, got {other:?}"),
    }
    let partial = LoadOptions {
        policy: LoadPolicy::Partial,
        ..LoadOptions::default()
    };
    let m = TextModel::load(tmp.path(), &partial).unwrap();
    assert_eq!(m.load_report().unused, ["h.0.mystery"]);
    // BERT's pooler is not a hidden state: ignored, not unused.
    let m = load("bert");
    assert!(
        m.load_report()
            .ignored
            .iter()
            .any(|(k, _)| k == "pooler.dense.weight")
    );
}

#[test]
fn v4_and_v5_rope_spellings_agree() {
    let v5: serde_json::Value = serde_json::from_str(
        r#"{"model_type":"llama","hidden_size":64,"num_attention_heads":4,"num_hidden_layers":2,
            "intermediate_size":96,"vocab_size":100,
            "rope_parameters":{"rope_type":"llama3","rope_theta":500000.0,"factor":8.0,"low_freq_factor":1.0,
            "high_freq_factor":4.0,"original_max_position_embeddings":32}}"#,
    )
    .unwrap();
    let v4: serde_json::Value = serde_json::from_str(
        r#"{"model_type":"llama","hidden_size":64,"num_attention_heads":4,"num_hidden_layers":2,
            "intermediate_size":96,"vocab_size":100,"rope_theta":500000.0,
            "rope_scaling":{"type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
            "original_max_position_embeddings":32}}"#,
    )
    .unwrap();
    let p = std::path::Path::new("config.json");
    let a = TextConfig::from_map(p, v5.as_object().unwrap()).unwrap();
    let b = TextConfig::from_map(p, v4.as_object().unwrap()).unwrap();
    assert_eq!(a.arch, b.arch);
    let TextConfig::Llama(c) = &a.arch else {
        panic!("llama expected")
    };
    // LlamaConfig defaults when absent: untied, eps 1e-6, kv heads = heads.
    assert!(!c.tie_word_embeddings);
    assert_eq!(c.rms_norm_eps, 1e-6);
    assert_eq!(c.num_key_value_heads, 4);
    // Llama 3 scaling: the highest frequency (wavelength 2π < 32/4) is kept, the lowest divided by the factor.
    let base = 1.0 / 500000f32.powf(14.0 / 16.0);
    let f = c.rope.inv_freq(16);
    assert_eq!(f[0], 1.0);
    assert!(
        (f[7] - base / 8.0).abs() < 1e-12,
        "{} vs {}",
        f[7],
        base / 8.0
    );

    let mut yarn = v5.clone();
    yarn["rope_parameters"]["rope_type"] = "yarn".into();
    match TextConfig::from_map(p, yarn.as_object().unwrap()) {
        Err(ModelError::Unsupported { option, value, .. }) => {
            assert_eq!((option.as_str(), value.as_str()), ("rope_type", "yarn"))
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    let mut sw = v5.clone();
    sw["model_type"] = "qwen2".into();
    sw["num_key_value_heads"] = 2.into();
    sw["use_sliding_window"] = true.into();
    assert!(matches!(
        TextConfig::from_map(p, sw.as_object().unwrap()),
        Err(ModelError::Unsupported { .. })
    ));
    let mut unknown = v5;
    unknown["model_type"] = "mamba".into();
    assert!(matches!(
        TextConfig::from_map(p, unknown.as_object().unwrap()),
        Err(ModelError::UnknownModelType { .. })
    ));
}

#[test]
fn block_taps_match_transformers_hooks() {
    let mut worst = 0f64;
    for case in [
        "llama_gqa_tied",
        "gpt2_untied",
        "neox_parallel",
        "neox_sequential",
        "bert",
    ] {
        let m = load(case);
        let g = Golden::load(case_dir(case).join("expected.safetensors"));
        let taps = Golden::load(case_dir(case).join("taps.safetensors"));
        let items = items(&g);
        let refs: Vec<&[u32]> = items.iter().map(|v| v.as_slice()).collect();
        let out = m.forward_padded_taps(&refs, false, true).unwrap();
        let n = m.spec().num_layers;
        assert_eq!(out.block_taps.len(), n);
        for (name, pick) in [("attn_out", 0usize), ("resid_mid", 1), ("mlp_out", 2)] {
            let t = taps.get(name);
            let per = t.data.len() / n;
            for (i, bt) in out.block_taps.iter().enumerate() {
                let ours = [&bt.attn_out, &bt.resid_mid, &bt.mlp_out][pick];
                let r = assert_close(
                    &format!("{case} block {} {name}", i + 1),
                    ours,
                    &t.data[i * per..(i + 1) * per],
                    HIDDEN,
                );
                worst = worst.max(r.max_abs);
            }
        }
        // Decoders: block output = resid_mid + mlp_out (hidden state i for i < L).
        if m.spec().causal {
            let bt = &out.block_taps[0];
            let sum: Vec<f32> = bt
                .resid_mid
                .iter()
                .zip(&bt.mlp_out)
                .map(|(a, b)| a + b)
                .collect();
            assert_close(
                "resid_mid + mlp_out",
                &sum,
                &out.hidden_states[1],
                Tolerance::EXACT_F32,
            );
        }
        // Without the flag nothing is recorded.
        assert!(
            m.forward_padded(&refs, false)
                .unwrap()
                .block_taps
                .is_empty()
        );
    }
    println!("block taps: max |Δ| {worst:.2e}");
}
