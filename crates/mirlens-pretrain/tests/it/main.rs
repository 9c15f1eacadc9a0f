//! Short-run tests of the pretraining machinery on a tiny override of the shipped recipe, and of the causal-LM
//! trainer (`lm`).

mod lm;

use candle_core::{Device, Tensor};
use mirlens_models::candle_encoder::BatchMask;
use mirlens_models::{CandleEncoder, LoadOptions};
use mirlens_pretrain::model;
use mirlens_pretrain::train::checkpoint_name;
use mirlens_pretrain::{Recipe, TrainOptions, Trainer, WeightDtype};

/// The shipped recipe shrunk to a size that trains in seconds.
fn tiny(steps: usize, checkpoints: Vec<usize>) -> Recipe {
    let mut r = Recipe::from_toml(include_str!(
        "../../../../models/recipes/mirlens-music-small.toml"
    ))
    .unwrap();
    r.name = "tiny".into();
    r.model.hidden_size = 32;
    r.model.num_hidden_layers = 2;
    r.model.num_attention_heads = 2;
    r.model.intermediate_size = 64;
    r.model.conv_dim = vec![16; 7];
    r.model.num_conv_pos_embeddings = 8;
    r.model.num_conv_pos_embedding_groups = 4;
    r.corpus.clip_secs = 0.5;
    r.corpus.train_clips = 6;
    r.corpus.valid_clips = 3;
    r.targets.clusters = 8;
    r.targets.kmeans_max_frames = 200;
    r.targets.kmeans_iters = 10;
    r.optim.lr = 3e-3;
    r.optim.warmup_steps = 4;
    r.optim.weight_decay = 0.0;
    r.train.steps = steps;
    r.train.batch_size = 3;
    r.train.valid_every = 1000;
    r.train.checkpoints = checkpoints;
    r.check().unwrap();
    r
}

fn read_st(path: &std::path::Path) -> std::collections::HashMap<String, Tensor> {
    candle_core::safetensors::load(path, &Device::Cpu).unwrap()
}

#[test]
fn loss_decreases_and_checkpoints_load_in_mirlens_models() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = tiny(40, vec![0, 10]);
    let opts = TrainOptions {
        fixed_batch: true,
        ..Default::default()
    };
    let mut tr = Trainer::new(recipe.clone(), dir.path(), &opts).unwrap();
    let mut losses = Vec::new();
    tr.run(&opts, &mut |r| losses.push(r.loss)).unwrap();
    assert_eq!(losses.len(), 40);
    let head: f64 = losses[..5].iter().sum::<f64>() / 5.0;
    let tail: f64 = losses[35..].iter().sum::<f64>() / 5.0;
    // On a fixed batch the whole pipeline (targets, masking, heads, backward, Adam) must fit it.
    eprintln!("fixed-batch training loss: first 5 steps {head:.4}, last 5 steps {tail:.4}");
    assert!(tail < 0.4 * head, "training loss {head} → {tail}");

    // Every checkpoint step exists, the final one loads strictly through mirlens-models and reproduces the
    // in-training model's hidden states on a held-out clip.
    for s in [0, 10, 40] {
        assert!(
            dir.path()
                .join("checkpoints")
                .join(checkpoint_name(s))
                .join("model.safetensors")
                .is_file()
        );
    }
    assert!(dir.path().join("loss_curve.svg").is_file());
    let log = std::fs::read_to_string(dir.path().join("train_log.jsonl")).unwrap();
    assert_eq!(log.lines().filter(|l| l.contains("\"loss\"")).count(), 40);

    let ck = dir.path().join("checkpoints").join(checkpoint_name(40));
    // the attention logits pass gradient: the query bias starts at 0 and moves (a softmax without a backward
    // pass once left q and k at their initial values; measured max |b_q| 3.8e-2 after 40 steps). The key bias
    // is no test: it shifts every score of a query's row equally, so its exact gradient is 0 (measured 1.4e-6).
    let bytes = std::fs::read(ck.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    for proj in ["q_proj", "v_proj"] {
        let name = format!("encoder.layers.0.attention.{proj}.bias");
        let t = st.tensor(&name).unwrap();
        let max = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]).abs())
            .fold(0f32, f32::max);
        eprintln!("{name}: max |b| after 40 steps = {max:e}");
        assert!(max > 1e-5, "{name} did not train: max |b| = {max}");
    }
    let enc = CandleEncoder::load(&ck, &LoadOptions::default()).unwrap();
    assert_eq!(enc.config().sample_rate, 24000);
    assert!((enc.config().frame_rate() - 75.0).abs() < 1e-9);
    let clip = &tr.corpus().valid[0].samples;
    let got = enc
        .forward_padded(&[clip.as_slice()], BatchMask::NoMask)
        .unwrap();
    let x = Tensor::from_vec(clip.clone(), (1, clip.len()), &Device::Cpu).unwrap();
    let ours = model::forward(&recipe, tr.params(), &x, None).unwrap();
    assert_eq!(got.hidden_states.len(), ours.hidden_states.len());
    let mut worst = 0f32;
    for (a, b) in got.hidden_states.iter().zip(&ours.hidden_states) {
        let b = b.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(a.len(), b.len());
        for (p, q) in a.iter().zip(&b) {
            worst = worst.max((p - q).abs());
        }
    }
    eprintln!("loader vs training forward: max |diff| over all hidden states = {worst:e}");
    assert!(
        worst <= 1e-4,
        "loader vs training forward max |diff| = {worst}"
    );
}

#[test]
fn resume_continues_to_the_identical_state() {
    let recipe = tiny(8, vec![0, 4]);
    let full = tempfile::tempdir().unwrap();
    let opts = TrainOptions::default();
    let mut a = Trainer::new(recipe.clone(), full.path(), &opts).unwrap();
    a.run(&opts, &mut |_| {}).unwrap();

    let split = tempfile::tempdir().unwrap();
    let first = TrainOptions {
        stop_after: Some(6),
        ..Default::default()
    };
    let mut b = Trainer::new(recipe.clone(), split.path(), &first).unwrap();
    b.run(&first, &mut |_| {}).unwrap();
    assert_eq!(b.step(), 6);
    drop(b);
    // The latest checkpoint with training state is step 4; steps 5–6 are redone.
    let again = TrainOptions {
        resume: true,
        ..Default::default()
    };
    // A different schedule is refused by name.
    let mut other = recipe.clone();
    other.train.steps = 9;
    match Trainer::new(other, split.path(), &again) {
        Err(mirlens_pretrain::PretrainError::State { message }) => {
            assert!(message.contains("total_steps"), "{message}")
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a resume with a different schedule was accepted"),
    }
    let mut c = Trainer::new(recipe, split.path(), &again).unwrap();
    assert_eq!(c.step(), 4);
    c.run(&again, &mut |_| {}).unwrap();
    assert_eq!(c.step(), 8);

    let name = checkpoint_name(8);
    for f in ["model.safetensors", "training_state.safetensors"] {
        let x = read_st(&full.path().join("checkpoints").join(&name).join(f));
        let y = read_st(&split.path().join("checkpoints").join(&name).join(f));
        assert_eq!(x.len(), y.len());
        for (k, t) in &x {
            let p = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let q = y[k].flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert_eq!(p, q, "{f}: {k} differs after resume");
        }
    }
    // The resumed log has exactly one line per step (lines after the restored step were dropped).
    let log = std::fs::read_to_string(split.path().join("train_log.jsonl")).unwrap();
    let steps: Vec<u64> = log
        .lines()
        .filter(|l| l.contains("\"loss\""))
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["step"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(steps, (1..=8).collect::<Vec<u64>>());
}

#[test]
fn export_writes_f16_model_folder_and_refuses_unfinished_runs() {
    let run = tempfile::tempdir().unwrap();
    let recipe = tiny(4, vec![0, 2]);
    let opts = TrainOptions {
        stop_after: Some(2),
        ..Default::default()
    };
    let mut tr = Trainer::new(recipe.clone(), run.path(), &opts).unwrap();
    tr.run(&opts, &mut |_| {}).unwrap();
    let dest = run.path().join("shipped");
    match mirlens_pretrain::export(run.path(), &dest, 4, WeightDtype::F16) {
        Err(mirlens_pretrain::PretrainError::State { message }) => {
            assert!(message.contains("step-000002"), "{message}")
        }
        other => panic!("an unfinished run was exported: {other:?}"),
    }
    assert!(!dest.exists());
    let opts = TrainOptions {
        resume: true,
        ..Default::default()
    };
    let mut tr = Trainer::new(recipe, run.path(), &opts).unwrap();
    tr.run(&opts, &mut |_| {}).unwrap();
    let s = mirlens_pretrain::export(run.path(), &dest, 4, WeightDtype::F16).unwrap();
    assert_eq!((s.final_step, s.checkpoint_steps.clone()), (4, vec![0, 2]));
    for (sub, step) in [
        (dest.clone(), 4),
        (dest.join("checkpoints/step-000000"), 0),
        (dest.join("checkpoints/step-000002"), 2),
    ] {
        let src = read_st(
            &run.path()
                .join("checkpoints")
                .join(checkpoint_name(step))
                .join("model.safetensors"),
        );
        let got = read_st(&sub.join("model.safetensors"));
        assert_eq!(src.len(), got.len(), "{}", sub.display());
        for (k, t) in &src {
            let g = &got[k];
            assert_eq!(g.dtype(), candle_core::DType::F16, "{k}");
            // exactly the f16 rounding of the trained f32 weights
            let want = t
                .to_dtype(candle_core::DType::F16)
                .unwrap()
                .to_dtype(candle_core::DType::F32)
                .unwrap();
            let want = want.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let g = g
                .to_dtype(candle_core::DType::F32)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            assert_eq!(want, g, "{k} of step {step}");
        }
        assert!(!sub.join("training_state.safetensors").exists());
        // loads strictly (no head tensors, nothing missing) through mirlens-models
        CandleEncoder::load(&sub, &LoadOptions::default()).unwrap();
    }
    for f in [
        "recipe.toml",
        "train_log.jsonl",
        "loss_curve.svg",
        "targets.safetensors",
        "config.json",
        "preprocessor_config.json",
    ] {
        assert!(dest.join(f).is_file(), "{f}");
    }
    assert!(!run.path().join("shipped.tmp").exists());
}

/// The model folder shipped under `models/` is reproduced by its committed recipe: its recipe is the committed
/// one, its config is the recipe's, and its step-0 checkpoint is exactly the recipe's seeded initialisation
/// (rounded to f16 as shipped).
#[test]
fn shipped_model_is_reproduced_by_its_committed_recipe() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let recipe = Recipe::load(&root.join("models/recipes/mirlens-music-small.toml")).unwrap();
    let shipped = root.join("models/mirlens-music-small");
    let shipped_recipe = Recipe::load(&shipped.join("recipe.toml")).unwrap();
    assert_eq!(
        shipped_recipe, recipe,
        "models/mirlens-music-small/recipe.toml differs from the committed recipe"
    );
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(shipped.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(config, mirlens_pretrain::train::hf_config(&recipe));
    let init = model::Params::init(&recipe, &Device::Cpu)
        .unwrap()
        .encoder_tensors();
    let step0 = read_st(&shipped.join("checkpoints/step-000000/model.safetensors"));
    assert_eq!(init.len(), step0.len());
    for (k, t) in &init {
        let want = t
            .to_dtype(candle_core::DType::F16)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<half::f16>()
            .unwrap();
        let got = step0[k]
            .flatten_all()
            .unwrap()
            .to_vec1::<half::f16>()
            .unwrap();
        assert!(
            want == got,
            "{k}: shipped step 0 is not the recipe's initialisation"
        );
    }
    // the log of the shipped run covers every step once
    let log = std::fs::read_to_string(shipped.join("train_log.jsonl")).unwrap();
    let steps = log.lines().filter(|l| l.contains("\"loss\"")).count();
    assert_eq!(steps, recipe.train.steps);
}

/// The token LMs shipped under `models/` are reproduced by their committed recipes: the recipe, the corpus
/// tokenizer (for the caption LM a BPE trained again here from the regenerated captions) and vocabulary, the
/// config, and the step-0 weights = the recipe's seeded initialisation rounded to f16, bit for bit.
#[test]
fn shipped_token_lms_are_reproduced_by_their_committed_recipes() {
    use mirlens_pretrain::lm::{LmParams, LmRecipe, build_corpus, model::hf_config};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for name in ["mirlens-midi-small", "mirlens-caption-small"] {
        let recipe_path = root.join(format!("models/recipes/{name}.toml"));
        let recipe = LmRecipe::load(&recipe_path).unwrap();
        let shipped = root.join("models").join(name);
        assert_eq!(
            LmRecipe::load(&shipped.join("recipe.toml")).unwrap(),
            recipe,
            "{name}: shipped recipe.toml differs from the committed recipe"
        );
        let corpus = build_corpus(&recipe, recipe_path.parent().unwrap()).unwrap();
        for dir in [shipped.clone(), shipped.join("checkpoints/step-000000")] {
            assert_eq!(
                std::fs::read(dir.join("tokenizer.json")).unwrap(),
                corpus.tokenizer_json,
                "{}: tokenizer.json is not the corpus tokenizer",
                dir.display()
            );
        }
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(shipped.join("config.json")).unwrap())
                .unwrap();
        let want = hf_config(
            &recipe.name,
            &recipe.model,
            corpus.vocab_size,
            corpus.bos_id,
            corpus.eos_id,
            corpus.pad_id,
        );
        assert_eq!(config, want, "{name}: config.json");
        let init = LmParams::init(&recipe.model, corpus.vocab_size, recipe.seed, &Device::Cpu)
            .unwrap()
            .model_tensors();
        let step0 = read_st(&shipped.join("checkpoints/step-000000/model.safetensors"));
        assert_eq!(init.len(), step0.len(), "{name}");
        for (k, t) in &init {
            let want = t
                .to_dtype(candle_core::DType::F16)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<half::f16>()
                .unwrap();
            let got = step0[k]
                .flatten_all()
                .unwrap()
                .to_vec1::<half::f16>()
                .unwrap();
            assert!(
                want == got,
                "{name} {k}: shipped step 0 is not the recipe's initialisation"
            );
        }
        let log = std::fs::read_to_string(shipped.join("train_log.jsonl")).unwrap();
        let steps = log.lines().filter(|l| l.contains("\"loss\"")).count();
        assert_eq!(steps, recipe.train.steps, "{name}");
    }
}
