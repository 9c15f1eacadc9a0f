//! The stages of `mirlens run` that bring the other modalities in: the job's clips as REMI token documents through
//! the symbolic music LM and as captions through the caption LM (pooled stores, layer sweeps per label), the audio
//! model against both (layer × layer debiased CKA and mutual k-NN, scores at the best layers with permutation
//! nulls and bootstrap CIs, ridge and InfoNCE maps with retrieval in both directions, the sample-efficiency curve),
//! and the symbolic LM's checkpoint curve.

use super::run::{RunArgs, argv, explain_resume, sub, sweep_all_layers};
use super::{align, extract};
use anyhow::Context;
use mirlens_symbolic::tokenize::{Scheme, Tokenizer};
use std::path::{Path, PathBuf};

/// One of the token-model modalities of the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modality {
    /// REMI tokens of each clip's score through the symbolic music LM.
    Symbolic,
    /// Each clip's first caption through the caption LM.
    Text,
}

impl Modality {
    /// Stage name and store suffix.
    pub fn name(self) -> &'static str {
        match self {
            Modality::Symbolic => "symbolic",
            Modality::Text => "text",
        }
    }

    fn model(self, a: &RunArgs) -> &str {
        match self {
            Modality::Symbolic => &a.midi_model,
            Modality::Text => &a.caption_model,
        }
    }

    /// Body tokens per window of the extraction: whole documents in one window (the symbolic LM has 512
    /// positions, the caption LM 128; a longer document is cut into windows of this many tokens).
    fn window(self) -> f64 {
        match self {
            Modality::Symbolic => 500.0,
            Modality::Text => 120.0,
        }
    }

    /// The pooled store of this modality under the run folder.
    pub fn store(self, out: &Path) -> PathBuf {
        out.join(format!("store-{}", self.name()))
    }
}

/// The job's clips as token documents of `m` (`OUT/<modality>/docs.jsonl`, rewritten each run: a pure function
/// of the dataset).
/// `None` when no clip has one (a manifest without `midi` files or captions).
fn documents(a: &RunArgs, m: Modality) -> anyhow::Result<Option<(PathBuf, usize, usize)>> {
    let (_, manifest, synth) = extract::load_dataset_by(&a.job.dataset, a.job.seed, a.job.limit)?;
    let origin = Path::new(&a.job.dataset);
    let (ds, skipped) = match m {
        Modality::Symbolic => {
            let tok = Tokenizer::miditok_default(Scheme::Remi);
            match &synth {
                Some(g) => mirlens_datasets::token_docs::manifest_documents_with(
                    &manifest,
                    &tok,
                    origin,
                    |i, _| g.score(i).map(Ok),
                )?,
                None => mirlens_datasets::token_docs::manifest_documents(&manifest, &tok, origin)?,
            }
        }
        Modality::Text => {
            let (ds, skipped) =
                mirlens_datasets::token_docs::caption_documents(&manifest, false, origin)?;
            (
                ds,
                skipped
                    .into_iter()
                    .map(|id| (id, "no caption".to_string()))
                    .collect(),
            )
        }
    };
    if ds.is_empty() {
        return Ok(None);
    }
    let dir = a.out.join(m.name());
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("docs.jsonl");
    mirlens_report::write_atomic(&path, ds.to_jsonl().as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(Some((path, ds.len(), skipped.len())))
}

/// Extraction of `model` (a model, or `A,B,…` a checkpoint series, one store each under `store`) over `docs`
/// into `store`, every layer, mean-pooled per document.
fn extract_docs(
    model: &str,
    docs: &Path,
    store: &Path,
    window: f64,
    quiet: bool,
) -> anyhow::Result<()> {
    let mut args =
        super::run::all_layers_args(model, &docs.display().to_string(), 0, None, store, quiet);
    args.window = Some(window);
    extract::run(args).map_err(|e| explain_resume(e, store))?;
    Ok(())
}

/// The stage of modality `m`: documents, the pooled store, and a layer sweep per label present in the store.
pub fn modality_stage(
    a: &RunArgs,
    m: Modality,
    labels: &[String],
) -> anyhow::Result<serde_json::Value> {
    let model = m.model(a);
    println!(
        "\n[{}] the clips {} through {model} (every layer, mean over tokens)",
        m.name(),
        match m {
            Modality::Symbolic => "as REMI tokens of their scores",
            Modality::Text => "as their first caption",
        }
    );
    let Some((docs, n, skipped)) = documents(a, m)? else {
        let what = match m {
            Modality::Symbolic => "a score (a `midi` file)",
            Modality::Text => "a caption (a `text` field)",
        };
        println!("  skipped: no clip of {} has {what}", a.job.dataset);
        return Ok(serde_json::json!({"skipped": format!("no clip has {what}")}));
    };
    println!(
        "  {n} documents ({skipped} clips without one): {}",
        docs.display()
    );
    let store = m.store(&a.out);
    extract_docs(model, &docs, &store, m.window(), a.job.quiet)
        .with_context(|| format!("extracting {model}"))?;
    let mut sweeps = serde_json::Map::new();
    for label in labels {
        let safe = mirlens_audio::paths::safe_name(label);
        let dir = a.out.join(format!("probe-{}-{safe}", m.name()));
        let sweep = sweep_all_layers(&store, label, a.job.seed, &dir)
            .with_context(|| format!("layer sweep of {label} on the {} store", m.name()))?;
        print_best(label, &sweep);
        sweeps.insert(label.clone(), sweep);
    }
    Ok(serde_json::json!({
        "model": model, "documents": docs, "n_documents": n, "clips_without": skipped, "store": store,
        "sweeps": sweeps,
    }))
}

fn print_best(label: &str, sweep: &serde_json::Value) {
    let best = sweep["best_layer"].as_str().unwrap_or("?");
    let acc = sweep["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["layer"].as_str() == Some(best));
    if let Some(l) = acc {
        println!(
            "  {label}: best layer {best}, accuracy {:.3} (95% CI {:.3}–{:.3})",
            l["accuracy"].as_f64().unwrap_or(f64::NAN),
            l["ci"][0].as_f64().unwrap_or(f64::NAN),
            l["ci"][1].as_f64().unwrap_or(f64::NAN)
        );
    }
}

/// Best layer of `label` in a modality stage's result.
fn best_of(stage: &serde_json::Value, label: &str) -> Option<usize> {
    stage["sweeps"][label]["best_layer"]
        .as_str()
        .and_then(|s| s.parse().ok())
}

fn read_json(p: &Path) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::from_str(
        &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
    )?)
}

/// The audio model against modality `m`: layer × layer matrices, scores with nulls at the best layers, ridge and
/// InfoNCE maps with retrieval, and (symbolic only) the sample-efficiency curve of `label`.
pub fn cross_modal(
    a: &RunArgs,
    m: Modality,
    stage: &serde_json::Value,
    label: &str,
    audio_layer: usize,
) -> anyhow::Result<serde_json::Value> {
    let audio = a.out.join("store");
    let other = m.store(&a.out);
    let dir = a.out.join(format!("align-{}", m.name()));
    println!(
        "\n[align] audio model ↔ {} LM (clip means paired by clip id)",
        m.name()
    );
    align::run(sub(&argv(&[
        &"layers",
        &"--x",
        &audio.display(),
        &"--y",
        &other.display(),
        &"--pairing",
        &"pooled",
        &"--metric",
        &"cka_debiased,mutual_knn",
        &"--out",
        &dir.display(),
    ]))?)
    .context("layer matrices")?;
    let y_layer = best_of(stage, label).unwrap_or(0);
    let mut scores = serde_json::Map::new();
    for metric in ["cka_debiased", "mutual_knn"] {
        let out = dir.join(format!("score-{metric}-{audio_layer}-{y_layer}.json"));
        align::run(sub(&argv(&[
            &"score",
            &"--x",
            &audio.display(),
            &"--x-layer",
            &audio_layer,
            &"--y",
            &other.display(),
            &"--y-layer",
            &y_layer,
            &"--pairing",
            &"pooled",
            &"--metric",
            &metric,
            &"--permutations",
            &200,
            &"--bootstrap",
            &200,
            &"--seed",
            &a.job.seed,
            &"--out",
            &out.display(),
        ]))?)
        .with_context(|| format!("{metric} with its permutation null"))?;
        let v = read_json(&out)?;
        println!(
            "  {metric} at layers {audio_layer} ↔ {y_layer}: {:.3} (p = {:.3}, 95% CI {:.3}–{:.3})",
            v["value"].as_f64().unwrap_or(f64::NAN),
            v["p_value"].as_f64().unwrap_or(f64::NAN),
            v["ci"][0].as_f64().unwrap_or(f64::NAN),
            v["ci"][1].as_f64().unwrap_or(f64::NAN)
        );
        scores.insert(metric.into(), v);
    }
    let mut maps = serde_json::Map::new();
    for method in ["ridge", "infonce"] {
        let out = dir.join(format!("map-{method}-{audio_layer}-{y_layer}.json"));
        align::run(sub(&argv(&[
            &"map",
            &"--x",
            &audio.display(),
            &"--x-layer",
            &audio_layer,
            &"--y",
            &other.display(),
            &"--y-layer",
            &y_layer,
            &"--pairing",
            &"pooled",
            &"--method",
            &method,
            &"--seed",
            &a.job.seed,
            &"--out",
            &out.display(),
        ]))?)
        .with_context(|| format!("{method} map"))?;
        maps.insert(method.into(), read_json(&out)?);
    }
    let mut result = serde_json::json!({
        "modality": m.name(), "dir": dir, "x_layer": audio_layer, "y_layer": y_layer, "label": label,
        "scores": scores, "maps": maps,
    });
    if m == Modality::Symbolic {
        let eff = dir.join("efficiency");
        align::run(sub(&argv(&[
            &"efficiency",
            &"--x",
            &audio.display(),
            &"--x-layer",
            &audio_layer,
            &"--y",
            &other.display(),
            &"--y-layer",
            &y_layer,
            &"--pairing",
            &"overlap",
            &"--label",
            &label,
            &"--sizes",
            &"10,30,100,300",
            &"--seeds",
            &3,
            &"--seed",
            &a.job.seed,
            &"--out",
            &eff.display(),
        ]))?)
        .context("sample-efficiency curve")?;
        result["efficiency"] = read_json(&eff.join("efficiency.json"))?;
    }
    Ok(result)
}

/// Token-level labels of the symbolic LM's checkpoint curve (row labels of REMI token stores).
pub const CURVE_LABELS: [&str; 2] = ["bar_position", "note_octave"];

/// The symbolic LM's checkpoint curve: every checkpoint of the model folder (`checkpoints/step-*` and the final
/// weights) over held-out pieces of the symbolic corpus (`synth-pieces` with the job's seed; the LM was trained on
/// seed 20261203), one row per token, and a layer sweep per token label of [`CURVE_LABELS`] per checkpoint — what
/// training taught beyond the token identities (on the job's single notes every checkpoint reads pitch off the
/// Pitch token, so the clip-level curve would be flat).
pub fn lm_curve(a: &RunArgs) -> anyhow::Result<serde_json::Value> {
    let model_dir = mirlens_models::Registry::builtin()?
        .resolve(&a.midi_model)?
        .dir;
    let ckpts = model_dir.join("checkpoints");
    let mut series: Vec<PathBuf> = match std::fs::read_dir(&ckpts) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("config.json").is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    if series.is_empty() {
        return Ok(
            serde_json::json!({"skipped": format!("{} has no checkpoints/", model_dir.display())}),
        );
    }
    series.sort();
    series.push(model_dir.clone());
    println!(
        "\n[curve] the symbolic LM's {} checkpoints and its final weights on {} held-out pieces (token rows)",
        series.len() - 1,
        a.curve_pieces
    );
    let dir = a.out.join("symbolic");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let docs = dir.join("pieces.jsonl");
    let manifest = mirlens_datasets::token_docs::pieces_manifest(a.job.seed, a.curve_pieces)?;
    let pieces = mirlens_datasets::synth::PiecesParams {
        seed: a.job.seed,
        count: a.curve_pieces.max(1),
        ..Default::default()
    }
    .check()?;
    let (ds, _) = mirlens_datasets::token_docs::manifest_documents_with(
        &manifest,
        &Tokenizer::miditok_default(Scheme::Remi),
        Path::new("synth-pieces"),
        |i, _| Some(Ok(pieces.score(i))),
    )?;
    mirlens_report::write_atomic(&docs, ds.to_jsonl().as_bytes())
        .with_context(|| format!("writing {}", docs.display()))?;
    let stores = a.out.join("curve-symbolic-tokens");
    let list = series
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut args = super::run::all_layers_args(
        &list,
        &docs.display().to_string(),
        0,
        None,
        &stores,
        a.job.quiet,
    );
    args.pool = "none".into();
    args.window = Some(Modality::Symbolic.window());
    extract::run(args)
        .map_err(|e| explain_resume(e, &stores))
        .context("checkpoint stores")?;
    let mut names: Vec<String> = std::fs::read_dir(&stores)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("manifest.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort_by_key(|n| mirlens_extract::text::step_of(n).unwrap_or(u64::MAX));
    // the final weights sit at the top of the model folder: their step is the recipe's last
    let final_step = mirlens_pretrain::lm::LmRecipe::load(&model_dir.join("recipe.toml"))
        .ok()
        .map(|r| r.train.steps as u64);
    let final_name = model_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut points = Vec::new();
    let mut csv = String::from("model,step,label,layer,accuracy,ci_low,ci_high\n");
    for name in &names {
        let step = if *name == final_name {
            final_step
        } else {
            mirlens_extract::text::step_of(name)
        };
        let mut per = serde_json::Map::new();
        for label in CURVE_LABELS {
            let sweep = super::probe::sweep(&super::probe::SweepArgs {
                store: stores.join(name),
                label: label.to_string(),
                layers: "all".into(),
                pooling: "none".into(),
                folds: 5,
                c: 1.0,
                seed: a.job.seed,
                weighted: false,
                hidden: 512,
                out: stores.join(format!("probe-{name}-{label}")),
            })
            .with_context(|| format!("layer sweep of {label} at {name}"))?;
            let best = sweep["best_layer"].as_str().unwrap_or("0").to_string();
            let layers: Vec<serde_json::Value> = sweep["layers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|l| serde_json::json!({"layer": l["layer"], "accuracy": l["accuracy"], "ci": l["ci"]}))
                .collect();
            for l in &layers {
                let field = |v: &str| mirlens_report::Cell::from(v).csv();
                csv.push_str(&format!(
                    "{},{},{},{},{:.4},{:.4},{:.4}\n",
                    field("mirlens-midi-small"),
                    step.map(|s| s.to_string()).unwrap_or_default(),
                    field(label),
                    l["layer"].as_str().unwrap_or("?"),
                    l["accuracy"].as_f64().unwrap_or(f64::NAN),
                    l["ci"][0].as_f64().unwrap_or(f64::NAN),
                    l["ci"][1].as_f64().unwrap_or(f64::NAN),
                ));
            }
            let best_acc = layers
                .iter()
                .find(|l| l["layer"].as_str() == Some(best.as_str()))
                .and_then(|l| l["accuracy"].as_f64())
                .unwrap_or(f64::NAN);
            println!(
                "  step {}: {label} best layer {best}, accuracy {best_acc:.3}",
                step.map_or("?".into(), |s| s.to_string())
            );
            per.insert(
                label.to_string(),
                serde_json::json!({"best_layer": best, "best_accuracy": best_acc, "layers": layers}),
            );
        }
        points.push(serde_json::json!({"checkpoint": name, "step": step, "labels": per}));
    }
    mirlens_report::write_atomic(&stores.join("curve.csv"), csv.as_bytes())?;
    let v = serde_json::json!({"model": model_dir, "stores": stores, "points": points});
    mirlens_report::write_atomic(
        &stores.join("curve.json"),
        serde_json::to_string_pretty(&v)?.as_bytes(),
    )?;
    Ok(v)
}
