//! Model registry: TOML model cards (`models/*.toml`, built into the library) and resolution of a name to a model
//! directory.
//!
//! Resolution order for `mirlens embed --model X`:
//! 1. `X` is an existing directory → used as is;
//! 2. `X` names a card whose `local_path` exists (relative to the working directory or to the source tree the
//!    library was built from) → that directory (the tiny test models);
//! 3. the HuggingFace cache layout `$HF_HUB_CACHE` or `$HF_HOME/hub` (default `~/.cache/huggingface/hub`):
//!    `models--{org}--{name}/snapshots/{revision}` where a non-hash revision is looked up in `refs/{revision}`;
//! 4. with the `hub` cargo feature, a download of `config.json`, `preprocessor_config.json` and
//!    `model.safetensors` (safetensors only) into that cache.
//!
//! Offline, a model found nowhere is [`ModelError::ModelNotFound`] naming every place looked at and the command
//! that would fetch it.

use crate::ModelError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A model card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// Registry name (`mirlens embed --model NAME`).
    pub name: String,
    /// HuggingFace repository id (`org/name`).
    pub hf_repo: String,
    /// Revision: a branch/tag name or a 40-hex commit.
    pub revision: String,
    /// HF `model_type` (`wav2vec2`, `hubert`, `mert_model`).
    pub architecture: String,
    /// Input sample rate in Hz.
    pub sample_rate: u32,
    /// Output frames per second.
    pub frame_rate: f64,
    /// Number of transformer blocks (hidden states `0..=layers`).
    pub layers: usize,
    /// Hidden size.
    pub hidden_size: usize,
    /// Licence of the weights.
    pub licence: String,
    /// Input normalisation the model expects: `none` or `per_clip` (zero mean, unit variance); the checkpoint's
    /// `preprocessor_config.json` decides at load time, this records the published setting.
    pub input_normalisation: String,
    /// Directory relative to the source tree (the shipped default model and the tiny test models).
    #[serde(default)]
    pub local_path: Option<String>,
    /// Weight files the checkpoint ships with on the hub (for the conversion hint).
    #[serde(default)]
    pub hub_format: Option<String>,
    /// Free-text notes.
    #[serde(default)]
    pub notes: String,
    /// How the weights were trained, for models trained by `mirlens pretrain` (the `[model.training]` table).
    #[serde(default)]
    pub training: Option<TrainingCard>,
}

/// Training record of a model card (`[model.training]`): what reproduces the weights and what it measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingCard {
    /// Recipe file, relative to the source tree.
    pub recipe: String,
    /// The command that trained and exported the weights.
    pub command: String,
    /// Architecture in words.
    pub architecture: String,
    /// Encoder parameter count.
    pub parameters: usize,
    /// Training corpus in words.
    pub corpus: String,
    /// Objective in words.
    pub objective: String,
    /// Optimiser steps.
    pub steps: usize,
    /// Steps of the shipped checkpoints (under `checkpoints/step-NNNNNN` of the model folder; the last is the
    /// model itself).
    pub checkpoints: Vec<usize>,
    /// Wall time of training (setup + steps) in seconds, and the machine it ran on.
    pub wall_time: String,
    /// Validation loss at the final step (and its parts).
    pub validation: String,
    /// Storage dtype of the shipped weights.
    pub weights_dtype: String,
}

const BUILTIN: &[(&str, &str)] = &[
    (
        "mirlens-music-small.toml",
        include_str!("../../../models/mirlens-music-small.toml"),
    ),
    (
        "mirlens-midi-small.toml",
        include_str!("../../../models/mirlens-midi-small.toml"),
    ),
    (
        "mirlens-caption-small.toml",
        include_str!("../../../models/mirlens-caption-small.toml"),
    ),
    (
        "MERT-v1-95M.toml",
        include_str!("../../../models/MERT-v1-95M.toml"),
    ),
    (
        "MERT-v1-330M.toml",
        include_str!("../../../models/MERT-v1-330M.toml"),
    ),
    (
        "hubert-base-ls960.toml",
        include_str!("../../../models/hubert-base-ls960.toml"),
    ),
    (
        "wav2vec2-base.toml",
        include_str!("../../../models/wav2vec2-base.toml"),
    ),
    ("tiny.toml", include_str!("../../../models/tiny.toml")),
];

/// Where a model was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A directory given directly.
    Directory,
    /// A card's `local_path`.
    CardLocalPath,
    /// The HuggingFace cache.
    HfCache,
    /// Downloaded from the hub just now.
    HubDownload,
}

/// A resolved model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedModel {
    /// Directory with `config.json` and the weights.
    pub dir: PathBuf,
    /// How it was found.
    pub source: Source,
    /// The card, when resolved by name.
    pub card: Option<ModelCard>,
}

/// The set of known cards plus the cache location.
#[derive(Debug, Clone)]
pub struct Registry {
    cards: Vec<ModelCard>,
    hf_cache: PathBuf,
    roots: Vec<PathBuf>,
}

#[derive(Deserialize)]
struct CardFile {
    #[serde(rename = "model")]
    models: Vec<ModelCard>,
}

/// Parse a card file (`[[model]]` tables).
pub fn parse_cards(text: &str, path: &Path) -> Result<Vec<ModelCard>, ModelError> {
    let f: CardFile = toml::from_str(text).map_err(|e| ModelError::Config {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(f.models)
}

/// The default HuggingFace hub cache: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.
pub fn default_hf_cache() -> PathBuf {
    if let Some(p) = std::env::var_os("HF_HUB_CACHE") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("HF_HOME") {
        return PathBuf::from(p).join("hub");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache").join("huggingface").join("hub")
}

fn is_model_dir(d: &Path) -> bool {
    d.join("config.json").is_file()
}

fn is_commit(rev: &str) -> bool {
    rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Registry {
    /// The built-in cards with the default cache location.
    pub fn builtin() -> Result<Self, ModelError> {
        let mut cards = Vec::new();
        for (file, text) in BUILTIN {
            cards.extend(parse_cards(text, Path::new(file))?);
        }
        let mut roots = Vec::new();
        if let Ok(cwd) = std::env::current_dir() {
            roots.push(cwd);
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..");
        roots.push(std::fs::canonicalize(&src).unwrap_or(src));
        Ok(Registry {
            cards,
            hf_cache: default_hf_cache(),
            roots,
        })
    }

    /// Use another HuggingFace hub cache directory (the folder holding `models--org--name`).
    pub fn with_hf_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.hf_cache = dir.into();
        self
    }

    /// Add the cards of a TOML file.
    pub fn add_cards_file(&mut self, path: &Path) -> Result<(), ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        self.cards.extend(parse_cards(&text, path)?);
        Ok(())
    }

    /// All cards.
    pub fn cards(&self) -> &[ModelCard] {
        &self.cards
    }

    /// The cache directory used.
    pub fn hf_cache(&self) -> &Path {
        &self.hf_cache
    }

    /// A card by name (case-insensitive), or by HF repo id.
    pub fn card(&self, name: &str) -> Option<&ModelCard> {
        self.cards
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name) || c.hf_repo.eq_ignore_ascii_case(name))
    }

    /// `…/models--org--name/snapshots/<commit>` for a card (the commit read from `refs/<revision>` when the
    /// revision is not a commit hash), whether or not it exists.
    pub fn hf_cache_snapshot(&self, card: &ModelCard) -> PathBuf {
        let repo_dir = self
            .hf_cache
            .join(format!("models--{}", card.hf_repo.replace('/', "--")));
        let commit = if is_commit(&card.revision) {
            card.revision.clone()
        } else {
            std::fs::read_to_string(repo_dir.join("refs").join(&card.revision))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| card.revision.clone())
        };
        repo_dir.join("snapshots").join(commit)
    }

    /// Resolve a directory or a card name (see the module docs for the order).
    pub fn resolve(&self, name: &str) -> Result<ResolvedModel, ModelError> {
        let p = Path::new(name);
        if p.is_dir() {
            return Ok(ResolvedModel {
                dir: p.to_path_buf(),
                source: Source::Directory,
                card: None,
            });
        }
        let mut searched = vec![p.to_path_buf()];
        let Some(card) = self.card(name) else {
            return Err(ModelError::ModelNotFound {
                name: name.to_string(),
                searched,
                hint: format!(
                    "not a directory and not a registry name (known: {}); see `mirlens models list`",
                    self.cards
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        };
        if let Some(lp) = &card.local_path {
            for root in &self.roots {
                let d = root.join(lp);
                if is_model_dir(&d) {
                    return Ok(ResolvedModel {
                        dir: d,
                        source: Source::CardLocalPath,
                        card: Some(card.clone()),
                    });
                }
                searched.push(d);
            }
        }
        let snap = self.hf_cache_snapshot(card);
        if is_model_dir(&snap) {
            return Ok(ResolvedModel {
                dir: snap,
                source: Source::HfCache,
                card: Some(card.clone()),
            });
        }
        searched.push(snap);
        #[cfg(feature = "hub")]
        {
            let dir = hub::download(card, &self.hf_cache)?;
            Ok(ResolvedModel {
                dir,
                source: Source::HubDownload,
                card: Some(card.clone()),
            })
        }
        #[cfg(not(feature = "hub"))]
        {
            let conv = if card.hub_format.as_deref() == Some("pytorch_model.bin") {
                " The hub repository ships only pytorch_model.bin: convert it once to DIR/model.safetensors with a \
                 loader that refuses code (`sd = torch.load('pytorch_model.bin', map_location='cpu', \
                 weights_only=True)`, then `safetensors.torch.save_file(sd, 'DIR/model.safetensors')`, config.json \
                 beside it; only from a source you trust) and pass DIR."
            } else {
                ""
            };
            Err(ModelError::ModelNotFound {
                name: name.to_string(),
                searched,
                hint: format!(
                    "fetch it with `huggingface-cli download {} --revision {} config.json preprocessor_config.json \
                     model.safetensors` (fills the cache above), or rebuild mirlens with `--features hub` to \
                     download on first use.{conv}",
                    card.hf_repo, card.revision
                ),
            })
        }
    }
}

#[cfg(feature = "hub")]
mod hub {
    use super::ModelCard;
    use crate::ModelError;
    use std::path::{Path, PathBuf};

    /// Download the safetensors checkpoint of a card into the HF cache; returns the snapshot directory.
    pub fn download(card: &ModelCard, cache: &Path) -> Result<PathBuf, ModelError> {
        use hf_hub::{Repo, RepoType, api::sync::ApiBuilder};
        let err = |file: &str, e: String| ModelError::Download {
            repo: card.hf_repo.clone(),
            revision: card.revision.clone(),
            file: file.to_string(),
            message: e,
        };
        let api = ApiBuilder::new()
            .with_cache_dir(cache.to_path_buf())
            .with_progress(true)
            .build()
            .map_err(|e| err("-", e.to_string()))?;
        let repo = api.repo(Repo::with_revision(
            card.hf_repo.clone(),
            RepoType::Model,
            card.revision.clone(),
        ));
        let config = repo
            .get("config.json")
            .map_err(|e| err("config.json", e.to_string()))?;
        let _ = repo.get("preprocessor_config.json");
        repo.get("model.safetensors").map_err(|e| {
            err(
                "model.safetensors",
                format!("{e} (only safetensors are downloaded; pickle checkpoints must be converted first)"),
            )
        })?;
        Ok(config.parent().map(Path::to_path_buf).unwrap_or_default())
    }
}
