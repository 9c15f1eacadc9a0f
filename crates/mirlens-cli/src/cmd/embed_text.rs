//! `mirlens embed --text "…" | --text-file F`: per-layer hidden states of a token language model (`llama`,
//! `qwen2`, `gpt2`, `gpt_neox`, `bert`, `roberta`, `xlm-roberta`) for a text, tokenised by the folder's
//! `tokenizer.json` with its special tokens (as `AutoTokenizer(..., add_special_tokens=True)`).
//!
//! Output, one folder per text (`OUT/text` for `--text`, `OUT/<file stem>` per `--text-file`), written to a
//! temporary folder and renamed: `layer_<i>.npy` (`[tokens, hidden]` float32 under transformers'
//! `output_hidden_states` convention, or `[hidden]` with `--pool`), for decoders also
//! `layer_<L>_before_final_norm.npy` (the raw residual stream after the last block), `tokens.json` (ids, token
//! strings, character offsets, special-token flags) and `meta.json`.

use super::embed::{EmbedArgs, write_npy};
use anyhow::{Context, bail};
use mirlens_core::{LayerId, LayerSelection, Pooling};
use mirlens_models::text::config::TextConfig;
use mirlens_models::{
    FinalNorm, LoadOptions, Registry, TextModel, TextTokenizer, TokenEncodeOptions, TokenEncoder,
};
use std::path::Path;
use std::process::ExitCode;

fn pool_rows(v: &[f32], h: usize, pool: Pooling) -> Vec<f32> {
    let rows = v.len() / h.max(1);
    let mut acc = vec![
        if pool == Pooling::Max {
            f64::NEG_INFINITY
        } else {
            0.0
        };
        h
    ];
    for row in v.chunks_exact(h) {
        for (s, x) in acc.iter_mut().zip(row) {
            match pool {
                Pooling::Max => *s = s.max(*x as f64),
                _ => *s += *x as f64,
            }
        }
    }
    acc.iter()
        .map(|s| match pool {
            Pooling::Mean => (s / rows as f64) as f32,
            _ => *s as f32,
        })
        .collect()
}

fn write_layer(dir: &Path, file: &str, v: &[f32], h: usize, pool: Pooling) -> anyhow::Result<()> {
    let path = dir.join(file);
    match pool {
        Pooling::None => write_npy(&path, &[v.len() / h.max(1), h], v),
        _ => write_npy(&path, &[h], &pool_rows(v, h, pool)),
    }
}

/// Run `mirlens embed` on texts.
pub fn run(args: &EmbedArgs) -> anyhow::Result<ExitCode> {
    if !args.inputs.is_empty() {
        bail!("--text / --text-file embed texts: give no audio inputs with them");
    }
    let selection: LayerSelection = args.layers.parse()?;
    let pool: Pooling = args.pool.parse()?;
    let mut texts: Vec<(String, String)> = Vec::new();
    if let Some(t) = &args.text {
        texts.push(("text".to_string(), t.clone()));
    }
    for f in &args.text_file {
        let s = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let stem = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "text".into());
        texts.push((stem, s));
    }
    // Output folder names come from file stems: made safe (never `.`, `..`, a separator or a hidden name) and
    // unique, so a hostile stem cannot name --out itself or a folder outside it.
    let mut names = mirlens_audio::paths::UniqueNames::new();
    for (name, _) in texts.iter_mut() {
        *name = names.claim(name);
    }
    let reg = Registry::builtin()?;
    let m = reg.resolve(&args.model)?;
    let model = TextModel::load(
        &m.dir,
        &LoadOptions {
            name: m.card.as_ref().map(|c| c.name.clone()),
            ..LoadOptions::default()
        },
    )
    .with_context(|| format!("loading {}", m.dir.display()))?;
    let tok = TextTokenizer::from_dir(&m.dir)
        .with_context(|| format!("loading the tokenizer of {}", m.dir.display()))?;
    let spec = model.spec().clone();
    let layers = selection.resolve(spec.num_layers)?;
    let n = spec.num_layers;
    let arch = &model.config().arch;
    eprintln!(
        "model {} ({}, {}), {} layers selected, {} text(s)",
        spec.name,
        spec.architecture,
        m.dir.display(),
        layers.len(),
        texts.len()
    );
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for (name, text) in &texts {
        let enc = tok
            .encode(text, true)
            .with_context(|| format!("tokenizing {name}"))?;
        if enc.is_empty() {
            bail!("{name}: the text gives no tokens");
        }
        let sel = LayerSelection::Some(layers.clone());
        let acts = model
            .encode_tokens(&enc.ids, &sel, &TokenEncodeOptions::default())
            .with_context(|| format!("encoding {name}"))?;
        let h = acts.hidden;
        let tmp = args.out.join(format!(".{name}.tmp-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&tmp)?;
        for (l, v) in &acts.layers {
            write_layer(&tmp, &format!("layer_{:02}.npy", l.0), v, h, pool)?;
        }
        let raw_last = spec.causal && layers.contains(&LayerId(n));
        if raw_last {
            let before = model.encode_tokens(
                &enc.ids,
                &LayerSelection::Last,
                &TokenEncodeOptions {
                    final_norm: FinalNorm::Before,
                },
            )?;
            if let Some((_, v)) = before.layers.first() {
                write_layer(
                    &tmp,
                    &format!("layer_{n:02}_before_final_norm.npy"),
                    v,
                    h,
                    pool,
                )?;
            }
        }
        let tokens = serde_json::json!({
            "text": text,
            "ids": enc.ids,
            "tokens": enc.tokens,
            "offsets": enc.offsets.iter().map(|(a, b)| [a, b]).collect::<Vec<_>>(),
            "special": enc.special,
            "offset_unit": "characters",
        });
        std::fs::write(
            tmp.join("tokens.json"),
            serde_json::to_string_pretty(&tokens)?,
        )?;
        let meta = serde_json::json!({
            "model": spec.name,
            "model_source": m.dir.display().to_string(),
            "modality": spec.modality.to_string(),
            "architecture": spec.architecture,
            "layers": layers.iter().map(|l| l.0).collect::<Vec<_>>(),
            "tokens": enc.len(),
            "hidden_size": h,
            "pooling": pool.to_string(),
            "special_tokens": "added by the tokenizer's post-processor (add_special_tokens=True)",
            "hidden_state_convention": "transformers output_hidden_states: layer 0 = embeddings, layer i = block i output, last layer = final norm applied where the architecture has one",
            "tap_points": TextConfig::tap_points(arch).into_iter().map(|(i, d)| format!("{i}: {d}")).collect::<Vec<_>>(),
            "before_final_norm_file": raw_last.then(|| format!("layer_{n:02}_before_final_norm.npy")),
        });
        std::fs::write(tmp.join("meta.json"), serde_json::to_string_pretty(&meta)?)?;
        let final_dir = args.out.join(name);
        if final_dir.exists() {
            std::fs::remove_dir_all(&final_dir)
                .with_context(|| format!("replacing {}", final_dir.display()))?;
        }
        std::fs::rename(&tmp, &final_dir)
            .with_context(|| format!("writing {}", final_dir.display()))?;
        eprintln!("{name}: {} tokens -> {}", enc.len(), final_dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
