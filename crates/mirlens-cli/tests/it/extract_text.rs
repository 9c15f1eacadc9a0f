//! `mirlens extract` on token models: a checkpoint series (`--checkpoints`, `--model A,B`, `--revisions` from a
//! HuggingFace cache layout) and the seed-000 miniature — a bilingual template corpus, two checkpoints of a tiny
//! random Llama (the golden one and a perturbed copy), layer 1, 64 tokens per window without BOS, the
//! L2-normalised TopK sweep and the checkpoint-crossing study with the language as the source label.

use mirlens_store::Store;
use mirlens_test_support::{dir_files, golden_dir};
use std::path::{Path, PathBuf};
use std::process::Command;

fn mirlens() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mirlens"))
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn golden_llama() -> PathBuf {
    golden_dir("text_lms").join("models").join("llama_gqa_tied")
}

/// `edit(index, name, shape, values)` of one weight tensor.
type WeightEdit = dyn Fn(usize, &str, &[usize], &mut [f32]);

/// Copy the golden tiny Llama (config, tokenizer, weights) to `dir`, letting `edit(index, name, shape, values)`
/// change each f32 weight: a "checkpoint" with the same configuration and tokenizer.
fn checkpoint(dir: &Path, edit: &WeightEdit) {
    std::fs::create_dir_all(dir).unwrap();
    let src = golden_llama();
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    let mut data: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (t, name) in names.iter().enumerate() {
        let v = st.tensor(name).unwrap();
        assert_eq!(v.dtype(), safetensors::Dtype::F32);
        let mut x: Vec<f32> = v
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        edit(t, name, v.shape(), &mut x);
        let out: Vec<u8> = x.iter().flat_map(|f| f.to_le_bytes()).collect();
        data.push((name.clone(), v.shape().to_vec(), out));
    }
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = data
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                    .unwrap(),
            )
        })
        .collect();
    let buf = safetensors::serialize(views, None).unwrap();
    std::fs::write(dir.join("model.safetensors"), buf).unwrap();
}

/// Every weight gets `scale · sin`-shaped relative noise.
fn noisy(scale: f32) -> impl Fn(usize, &str, &[usize], &mut [f32]) {
    move |t, _, _, x| {
        for (i, v) in x.iter_mut().enumerate() {
            let noise = scale * ((i as f32) * 0.7 + 1.3 * (t as f32 + 1.0)).sin();
            *v += noise * v.abs().max(0.05);
        }
    }
}

/// Language of a vocabulary piece: `ja` with a kana / CJK / full-width character, `en` with a Latin letter.
fn piece_lang(piece: &str) -> Option<&'static str> {
    if piece
        .chars()
        .any(|c| matches!(c, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}' | '\u{ff00}'..='\u{ffef}'))
    {
        Some("ja")
    } else if piece.chars().any(|c| c.is_ascii_alphabetic()) {
        Some("en")
    } else {
        None
    }
}

/// The planted "trained" checkpoint: Japanese pieces embed in dimensions 0..32 only, English pieces in 32..64
/// only, and every block's output projections (`o_proj`, `down_proj`) are scaled by 0.1, so that the residual
/// stream after block 1 keeps the language in separate subspaces.
fn planted() -> impl Fn(usize, &str, &[usize], &mut [f32]) {
    let tok = json(&golden_llama().join("tokenizer.json"));
    let langs: Vec<Option<&'static str>> = tok["model"]["vocab"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| piece_lang(p[0].as_str().unwrap()))
        .collect();
    move |_, name, shape, x| {
        if name == "model.embed_tokens.weight" {
            let d = shape[1];
            for (id, lang) in langs.iter().enumerate() {
                let row = &mut x[id * d..(id + 1) * d];
                match lang {
                    Some("ja") => row[d / 2..].fill(0.0),
                    Some(_) => row[..d / 2].fill(0.0),
                    None => {}
                }
            }
        } else if name.ends_with("o_proj.weight") || name.ends_with("down_proj.weight") {
            x.iter_mut().for_each(|v| *v *= 0.1);
        }
    }
}

/// The bilingual corpus: `n` documents per language, each 4–7 template sentences (the vocabulary the golden
/// tokenizer was trained on), `lang` label, deterministic.
fn corpus(n: usize, shuffle_labels: bool) -> String {
    let en_subj = [
        "The pianist",
        "A young violinist",
        "My sister",
        "The orchestra",
        "Our teacher",
        "The drummer",
    ];
    let en_verb = [
        "played",
        "practised",
        "recorded",
        "composed",
        "listened to",
        "performed",
    ];
    let en_obj = [
        "a quiet nocturne",
        "the new symphony",
        "an old folk song",
        "three short etudes",
        "the jazz standard",
    ];
    let en_tail = [
        "yesterday.",
        "in Tokyo.",
        "at the festival!",
        "before dinner.",
        "with great care.",
    ];
    let ja_subj = [
        "ピアニストは",
        "若いバイオリン奏者が",
        "私の姉は",
        "オーケストラは",
        "先生は",
        "ドラマーが",
    ];
    let ja_obj = [
        "静かな夜想曲を",
        "新しい交響曲を",
        "古い民謡を",
        "短い練習曲を三つ",
        "ジャズの名曲を",
    ];
    let ja_verb = [
        "演奏した。",
        "練習しました。",
        "録音した。",
        "作曲しました！",
        "聴いた。",
    ];
    let ja_time = ["昨日、", "東京で", "お祭りで", "夕食の前に", "とても丁寧に"];
    let mut state = 12345u64;
    let mut next = |m: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % m
    };
    let mut out = String::new();
    for i in 0..2 * n {
        let ja = i % 2 == 1;
        let sentences = 4 + next(4);
        let mut text = Vec::new();
        for _ in 0..sentences {
            text.push(if ja {
                format!(
                    "{}{}{}{}",
                    ja_time[next(5)],
                    ja_subj[next(6)],
                    ja_obj[next(5)],
                    ja_verb[next(5)]
                )
            } else {
                format!(
                    "{} {} {} {}",
                    en_subj[next(6)],
                    en_verb[next(6)],
                    en_obj[next(5)],
                    en_tail[next(5)]
                )
            });
        }
        let lang = if shuffle_labels {
            ["en", "ja"][next(2)]
        } else if ja {
            "ja"
        } else {
            "en"
        };
        let text = text.join(if ja { "" } else { " " });
        out.push_str(
            &serde_json::json!({"id": format!("doc{i:03}"), "text": text, "lang": lang, "split": "train"})
                .to_string(),
        );
        out.push('\n');
    }
    out
}

const SAE: [&str; 14] = [
    "--arch",
    "topk",
    "--norm",
    "unit-norm",
    "--tokens",
    "60000",
    "--batch",
    "256",
    "--lr",
    "3e-3",
    "--threads",
    "2",
    "--seed",
    "0",
];

#[test]
fn seed_000_miniature_checkpoint_crossing_finds_language_features() {
    let t = tempfile::tempdir().unwrap();
    let ck = t.path().join("checkpoints");
    checkpoint(&ck.join("ckpt-1000"), &planted());
    checkpoint(&ck.join("ckpt-300"), &noisy(0.0));
    let docs = t.path().join("docs.jsonl");
    std::fs::write(&docs, corpus(30, false)).unwrap();
    let stores = t.path().join("stores");
    let stdout = ok(mirlens()
        .args([
            "extract", "--layers", "1", "--window", "64", "--bos", "drop", "--quiet",
        ])
        .arg("--checkpoints")
        .arg(&ck)
        .arg("--dataset")
        .arg(&docs)
        .arg("--out")
        .arg(&stores));
    eprintln!("{stdout}");
    assert!(stdout.contains("2 checkpoint store(s)"), "{stdout}");
    assert!(
        stdout.contains("ckpt-300, ckpt-1000"),
        "ordered by step: {stdout}"
    );
    let (a, b) = (stores.join("ckpt-300"), stores.join("ckpt-1000"));
    // identical row tables, different activations
    assert!(dir_files(&a.join("rows")) == dir_files(&b.join("rows")));
    assert!(dir_files(&a.join("layer-001")) != dir_files(&b.join("layer-001")));
    let sa = Store::open(&a).unwrap();
    assert_eq!(sa.layers(), &[mirlens_core::LayerId(1)]);
    assert_eq!(sa.manifest().layout.model_card.extra["window"], "64");
    assert_eq!(sa.manifest().layout.model_card.extra["bos"], "drop");
    let rows = sa.num_rows();
    let ja_rows = sa
        .rows()
        .iter()
        .filter(|r| r.labels["lang"] == mirlens_core::LabelValue::Str("ja".into()))
        .count();
    eprintln!("{rows} token rows, {ja_rows} Japanese");
    // ckpt-300 is the golden model itself: its rows are the model's hidden states (checked in mirlens-extract);
    // no row is a BOS (position 0)
    assert!(sa.positions().unwrap().iter().all(|&p| p > 0));
    // the sweep over expansion × K on the planted checkpoint
    let sweep = t.path().join("sweep");
    ok(mirlens()
        .args([
            "sae",
            "sweep",
            "--layer",
            "1",
            "--expansions",
            "2,4",
            "--ks",
            "4,8",
        ])
        .args(SAE)
        .arg("--store")
        .arg(&b)
        .arg("--out")
        .arg(&sweep));
    let s = json(&sweep.join("sweep.json"));
    let fvu: Vec<f64> = s["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["metrics"]["fvu"].as_f64().unwrap())
        .collect();
    eprintln!("sweep FVU (2×4, 2×8, 4×4, 4×8): {fvu:?}");
    assert!(
        fvu[1] < fvu[0] && fvu[3] < fvu[2],
        "FVU falls with K: {fvu:?}"
    );
    assert!(
        fvu[2] < fvu[0] && fvu[3] < fvu[1],
        "FVU falls with width: {fvu:?}"
    );
    assert!(fvu[3] < 0.1, "{fvu:?}");
    // the crossing study, language as the source
    let cross = t.path().join("cross");
    let out = ok(mirlens()
        .args([
            "sae",
            "crossing",
            "--layer",
            "1",
            "--source-label",
            "lang",
            "--expansion",
            "4",
            "--k",
            "4",
        ])
        .args(SAE)
        .arg("--stores")
        .arg(format!("{},{}", a.display(), b.display()))
        .arg("--out")
        .arg(&cross));
    eprintln!("{out}");
    let c = json(&cross.join("crossing.json"));
    let pts = c["points"].as_array().unwrap();
    assert_eq!(pts.len(), 2);
    assert_eq!(pts[0]["checkpoint"], "ckpt-300");
    let frac = |p: &serde_json::Value, k: &str| p["tendency"][k].as_f64().unwrap_or(0.0);
    let specific = |p: &serde_json::Value| frac(p, "ja") + frac(p, "en");
    for p in pts {
        eprintln!(
            "{}: ja {:.3} en {:.3} mixed {:.3}",
            p["checkpoint"],
            frac(p, "ja"),
            frac(p, "en"),
            frac(p, "mixed")
        );
    }
    // the planted checkpoint has Japanese-only and English-only features; the random one far fewer
    let planted_ck = &pts[1];
    assert!(frac(planted_ck, "ja") >= 0.2 && frac(planted_ck, "en") >= 0.2);
    assert!(specific(planted_ck) >= 0.7, "{}", specific(planted_ck));
    assert!(specific(&pts[0]) <= specific(planted_ck) - 0.2);
    // control: the same kind of texts with random language labels give few language-specific features
    let ctrl_docs = t.path().join("shuffled.jsonl");
    std::fs::write(&ctrl_docs, corpus(30, true)).unwrap();
    let ctrl = t.path().join("ctrl");
    ok(mirlens()
        .args(["extract", "--layers", "1", "--quiet"])
        .arg("--model")
        .arg(ck.join("ckpt-1000"))
        .arg("--dataset")
        .arg(&ctrl_docs)
        .arg("--out")
        .arg(&ctrl));
    let cross2 = t.path().join("cross-ctrl");
    ok(mirlens()
        .args([
            "sae",
            "crossing",
            "--layer",
            "1",
            "--source-label",
            "lang",
            "--expansion",
            "4",
            "--k",
            "4",
        ])
        .args(SAE)
        .arg("--stores")
        .arg(&ctrl)
        .arg("--out")
        .arg(&cross2));
    let c2 = json(&cross2.join("crossing.json"));
    let p = &c2["points"][0];
    eprintln!(
        "control: ja {:.3} en {:.3} mixed {:.3}",
        frac(p, "ja"),
        frac(p, "en"),
        frac(p, "mixed")
    );
    assert!(specific(p) <= 0.4, "shuffled labels: {}", specific(p));
}

#[test]
fn model_list_and_hf_revisions_give_one_store_per_checkpoint() {
    let t = tempfile::tempdir().unwrap();
    // a HuggingFace cache with two revisions of org/tiny-llama
    let cache = t.path().join("hub");
    let repo = cache.join("models--org--tiny-llama");
    for (rev, commit, scale) in [
        ("step1000", "1111111111111111111111111111111111111111", 0.0),
        ("step2000", "2222222222222222222222222222222222222222", 0.2),
    ] {
        checkpoint(&repo.join("snapshots").join(commit), &noisy(scale));
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs").join(rev), commit).unwrap();
    }
    let docs = t.path().join("docs.jsonl");
    std::fs::write(&docs, corpus(3, false)).unwrap();
    let out = t.path().join("rev");
    ok(mirlens()
        .env("HF_HUB_CACHE", &cache)
        .args([
            "extract",
            "--model",
            "org/tiny-llama",
            "--revisions",
            "step1000,step2000",
            "--layers",
            "1,3",
            "--window",
            "16",
            "--stride",
            "8",
            "--quiet",
        ])
        .arg("--dataset")
        .arg(&docs)
        .arg("--out")
        .arg(&out));
    let (a, b) = (out.join("step1000"), out.join("step2000"));
    assert!(dir_files(&a.join("rows")) == dir_files(&b.join("rows")));
    assert!(dir_files(&a.join("layer-003")) != dir_files(&b.join("layer-003")));
    assert_eq!(
        Store::open(&b)
            .unwrap()
            .manifest()
            .header
            .revision
            .as_deref(),
        Some("step2000")
    );
    // the same two folders by `--model A,B` give the same rows and activations
    let list = t.path().join("list");
    ok(mirlens()
        .args([
            "extract", "--layers", "1,3", "--window", "16", "--stride", "8", "--quiet",
        ])
        .arg("--model")
        .arg(format!(
            "{},{}",
            repo.join("snapshots/1111111111111111111111111111111111111111")
                .display(),
            repo.join("snapshots/2222222222222222222222222222222222222222")
                .display()
        ))
        .arg("--dataset")
        .arg(&docs)
        .arg("--out")
        .arg(&list));
    let a2 = list.join("1111111111111111111111111111111111111111");
    assert!(dir_files(&a.join("rows")) == dir_files(&a2.join("rows")));
    assert!(dir_files(&a.join("layer-001")) == dir_files(&a2.join("layer-001")));
    // an unknown revision names what is missing
    let o = mirlens()
        .env("HF_HUB_CACHE", &cache)
        .args([
            "extract",
            "--model",
            "org/tiny-llama",
            "--revisions",
            "step9",
            "--quiet",
        ])
        .arg("--dataset")
        .arg(&docs)
        .arg("--out")
        .arg(t.path().join("x"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("refs/step9"), "{e}");
    // a revision named `../escape` (resolvable: the ref file exists) writes its store inside --out, never beside it
    std::fs::write(
        repo.join("escape"),
        "1111111111111111111111111111111111111111",
    )
    .unwrap();
    let hostile = t.path().join("hostile");
    ok(mirlens()
        .env("HF_HUB_CACHE", &cache)
        .args([
            "extract",
            "--model",
            "org/tiny-llama",
            "--revisions",
            "../escape,step2000",
            "--layers",
            "1",
            "--window",
            "16",
            "--quiet",
        ])
        .arg("--dataset")
        .arg(&docs)
        .arg("--out")
        .arg(&hostile));
    assert!(!t.path().join("escape").exists());
    let mut made: Vec<String> = std::fs::read_dir(&hostile)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    made.sort();
    assert_eq!(made, ["_._escape", "step2000"]);
    assert!(hostile.join("_._escape").join("manifest.json").is_file());
}
