//! `tokenizer.json` tokenizers (BPE, byte-level BPE, Unigram / SentencePiece, WordPiece) through the HF
//! `tokenizers` crate, with the special-token handling of `AutoTokenizer(..., add_special_tokens=True)`.
//!
//! Special tokens come from the file's `post_processor` only (BERT's `[CLS] … [SEP]`, RoBERTa's `<s> … </s>`, a
//! template's BOS), exactly as transformers 5's generic `TokenizersBackend` (`tokenizer_class`
//! `PreTrainedTokenizerFast`) applies them: `add_bos_token` / `add_eos_token` in `tokenizer_config.json` do not
//! change it (checked: the golden `unigram_bos_eos` states both as true and transformers adds no EOS). Some
//! model-specific tokenizer classes of transformers 5 rebuild their pipeline from the vocabulary instead (e.g.
//! `LlamaTokenizer`, which replaces the normaliser and pre-tokeniser); that rebuilding is not emulated, so for such
//! checkpoints compare against the file the model ships. Offsets are **character** offsets into the input
//! (transformers' `return_offsets_mapping`), `(0, 0)` for added special tokens.

use crate::ModelError;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One encoded text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenizedText {
    /// Token ids, special tokens included.
    pub ids: Vec<u32>,
    /// Token strings as in the vocabulary (`Ġ` / `▁` / `##` markers kept).
    pub tokens: Vec<String>,
    /// `[start, end)` character offsets into the text; `(0, 0)` for special tokens.
    pub offsets: Vec<(usize, usize)>,
    /// Whether each token is a special token added by the post-processor or the BOS/EOS rule.
    pub special: Vec<bool>,
}

impl TokenizedText {
    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no token was produced.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A tokenizer loaded from `tokenizer.json`.
pub struct TextTokenizer {
    inner: tokenizers::Tokenizer,
    path: PathBuf,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer")
            .field("path", &self.path)
            .field("vocab_size", &self.vocab_size())
            .finish()
    }
}

fn tok_err(path: &Path, message: impl std::fmt::Display) -> ModelError {
    ModelError::Tokenizer {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

impl TextTokenizer {
    /// Load `tokenizer.json` of a model folder.
    pub fn from_dir(dir: &Path) -> Result<Self, ModelError> {
        let path = dir.join("tokenizer.json");
        if !path.is_file() {
            return Err(ModelError::MissingFile {
                path,
                what: "tokenizer.json",
            });
        }
        Self::from_file(&path)
    }

    /// Load a `tokenizer.json` file.
    pub fn from_file(path: &Path) -> Result<Self, ModelError> {
        let inner = tokenizers::Tokenizer::from_file(path).map_err(|e| tok_err(path, e))?;
        Ok(TextTokenizer {
            inner,
            path: path.to_path_buf(),
        })
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Id of a token string.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Token string of an id.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// Encode `text`. With `add_special_tokens`, the post-processor's special tokens are added.
    pub fn encode(
        &self,
        text: &str,
        add_special_tokens: bool,
    ) -> Result<TokenizedText, ModelError> {
        let enc = self
            .inner
            .encode_char_offsets(text, add_special_tokens)
            .map_err(|e| tok_err(&self.path, e))?;
        Ok(TokenizedText {
            ids: enc.get_ids().to_vec(),
            // The vocabulary's string of each id (transformers' `convert_ids_to_tokens`): an unknown piece is
            // the unknown token, not the surface text the model never saw.
            tokens: enc
                .get_ids()
                .iter()
                .zip(enc.get_tokens())
                .map(|(&id, t)| self.inner.id_to_token(id).unwrap_or_else(|| t.clone()))
                .collect(),
            offsets: enc.get_offsets().to_vec(),
            special: enc
                .get_special_tokens_mask()
                .iter()
                .map(|&m| m == 1)
                .collect(),
        })
    }
}
