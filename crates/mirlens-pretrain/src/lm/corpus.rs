//! The token corpus of a causal-LM run: tokenizer, special ids, training and validation sequences.
//!
//! [`build_corpus`] dispatches on the recipe's `corpus.kind`. Implemented here:
//!
//! - `"text-files"`: `train`, `valid` (text files, one document per line; blank lines are skipped) and `tokenizer`
//!   (a `tokenizer.json`), paths relative to the recipe file; `bos`, `eos`, `pad` name the special tokens in the
//!   tokenizer's vocabulary. Each document is encoded without the tokenizer's own special tokens
//!   (`encode(text, false)`) and wrapped as `BOS … EOS`.

use crate::PretrainError;
use crate::lm::recipe::LmRecipe;
use mirlens_models::TextTokenizer;
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, PretrainError>;

/// Token sequences to train on, with the tokenizer they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LmCorpus {
    /// The `tokenizer.json` bytes (copied into every checkpoint folder).
    pub tokenizer_json: Vec<u8>,
    /// Vocabulary size V (every id is below it).
    pub vocab_size: usize,
    /// Beginning-of-sequence id.
    pub bos_id: u32,
    /// End-of-sequence id.
    pub eos_id: u32,
    /// Padding id.
    pub pad_id: u32,
    /// Training sequences, each `BOS … EOS`.
    pub train: Vec<Vec<u32>>,
    /// Validation sequences, each `BOS … EOS`.
    pub valid: Vec<Vec<u32>>,
}

impl LmCorpus {
    /// Tokens of the training sequences together.
    pub fn train_tokens(&self) -> usize {
        self.train.iter().map(Vec::len).sum()
    }

    /// Tokens of the validation sequences together.
    pub fn valid_tokens(&self) -> usize {
        self.valid.iter().map(Vec::len).sum()
    }

    /// Check that both splits hold sequences and every id (special ones included) lies inside the vocabulary.
    pub fn check(&self) -> Result<()> {
        let bad = |message: String| Err(PretrainError::Corpus { message });
        if self.vocab_size < 2 {
            return bad(format!("vocabulary of {} tokens", self.vocab_size));
        }
        for (what, id) in [
            ("bos", self.bos_id),
            ("eos", self.eos_id),
            ("pad", self.pad_id),
        ] {
            if id as usize >= self.vocab_size {
                return bad(format!(
                    "{what} id {id} outside the vocabulary of {}",
                    self.vocab_size
                ));
            }
        }
        for (split, seqs) in [("train", &self.train), ("valid", &self.valid)] {
            if seqs.is_empty() {
                return bad(format!("no {split} sequences"));
            }
            for (i, s) in seqs.iter().enumerate() {
                if let Some(&id) = s.iter().find(|&&id| id as usize >= self.vocab_size) {
                    return bad(format!(
                        "{split} sequence {i} has id {id} outside the vocabulary of {}",
                        self.vocab_size
                    ));
                }
            }
        }
        Ok(())
    }
}

fn corpus_err(message: impl Into<String>) -> PretrainError {
    PretrainError::Corpus {
        message: message.into(),
    }
}

/// Build the corpus a recipe describes; relative paths in `corpus` are resolved against `recipe_dir` (the folder
/// of the recipe file).
pub fn build_corpus(recipe: &LmRecipe, recipe_dir: &Path) -> Result<LmCorpus> {
    let corpus = match recipe.corpus_kind() {
        Some("text-files") => text_files(&recipe.corpus, recipe_dir)?,
        Some(kind @ ("synth-remi" | "synth-captions")) => synth(&recipe.corpus, kind, recipe.seed)?,
        other => {
            return Err(PretrainError::Recipe {
                parameter: "corpus.kind".into(),
                got: format!("{other:?}"),
                expected: "\"text-files\", \"synth-remi\" or \"synth-captions\"".into(),
            });
        }
    };
    corpus.check()?;
    Ok(corpus)
}

/// The built-in synthetic corpora (`super::synth`): `seed` (default: the recipe's), `pieces`, `notes`,
/// `chords`, `sequences` (counts) and, for captions, `vocab_size` of the BPE.
fn synth(table: &toml::Table, kind: &str, recipe_seed: u64) -> Result<LmCorpus> {
    const KEYS: [&str; 7] = [
        "kind",
        "seed",
        "pieces",
        "notes",
        "chords",
        "sequences",
        "vocab_size",
    ];
    if let Some(k) = table
        .keys()
        .find(|k| !KEYS.contains(&k.as_str()) || (kind == "synth-remi" && *k == "vocab_size"))
    {
        return Err(PretrainError::Recipe {
            parameter: format!("corpus.{k}"),
            got: "an unknown key".into(),
            expected: format!(
                "one of {KEYS:?} for corpus kind {kind:?} (vocab_size for captions only)"
            ),
        });
    }
    let int = |key: &str, default: u64| -> Result<u64> {
        match table.get(key) {
            None => Ok(default),
            Some(toml::Value::Integer(i)) if *i >= 0 => Ok(*i as u64),
            Some(other) => Err(PretrainError::Recipe {
                parameter: format!("corpus.{key}"),
                got: other.to_string(),
                expected: "a non-negative integer".into(),
            }),
        }
    };
    let spec = super::synth::SynthCorpusSpec {
        seed: int("seed", recipe_seed)?,
        pieces: int("pieces", 3000)? as usize,
        notes: int("notes", 1200)? as usize,
        chords: int("chords", 600)? as usize,
        sequences: int("sequences", 600)? as usize,
    };
    Ok(if kind == "synth-remi" {
        super::synth::synth_remi(&spec)?
    } else {
        super::synth::synth_captions(&spec, int("vocab_size", 1000)? as usize)?
    }
    .corpus)
}

fn field<'a>(table: &'a toml::Table, key: &str) -> Result<&'a str> {
    match table.get(key) {
        Some(toml::Value::String(s)) => Ok(s),
        Some(other) => Err(PretrainError::Recipe {
            parameter: format!("corpus.{key}"),
            got: other.to_string(),
            expected: "a string".into(),
        }),
        None => Err(PretrainError::Recipe {
            parameter: format!("corpus.{key}"),
            got: "nothing".into(),
            expected: "a string (required by corpus kind \"text-files\")".into(),
        }),
    }
}

fn text_files(table: &toml::Table, dir: &Path) -> Result<LmCorpus> {
    const KEYS: [&str; 7] = ["kind", "train", "valid", "tokenizer", "bos", "eos", "pad"];
    if let Some(k) = table.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(PretrainError::Recipe {
            parameter: format!("corpus.{k}"),
            got: "an unknown key".into(),
            expected: format!("one of {KEYS:?} for corpus kind \"text-files\""),
        });
    }
    let path = |key: &str| -> Result<PathBuf> { Ok(dir.join(field(table, key)?)) };
    let tok_path = path("tokenizer")?;
    let tokenizer_json = std::fs::read(&tok_path).map_err(|source| PretrainError::Io {
        path: tok_path.clone(),
        source,
    })?;
    let tok = TextTokenizer::from_file(&tok_path)?;
    let special = |key: &str| -> Result<u32> {
        let name = field(table, key)?;
        tok.token_to_id(name).ok_or_else(|| {
            corpus_err(format!(
                "{}: corpus.{key} token {name:?} is not in the vocabulary",
                tok_path.display()
            ))
        })
    };
    let (bos_id, eos_id, pad_id) = (special("bos")?, special("eos")?, special("pad")?);
    let read = |key: &str| -> Result<Vec<Vec<u32>>> {
        let p = path(key)?;
        let text = std::fs::read_to_string(&p).map_err(|source| PretrainError::Io {
            path: p.clone(),
            source,
        })?;
        let mut out = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let enc = tok.encode(line, false)?;
            let mut seq = Vec::with_capacity(enc.ids.len() + 2);
            seq.push(bos_id);
            seq.extend_from_slice(&enc.ids);
            seq.push(eos_id);
            out.push(seq);
        }
        if out.is_empty() {
            return Err(corpus_err(format!("{}: no documents", p.display())));
        }
        Ok(out)
    };
    Ok(LmCorpus {
        tokenizer_json,
        vocab_size: tok.vocab_size(),
        bos_id,
        eos_id,
        pad_id,
        train: read("train")?,
        valid: read("valid")?,
    })
}
