//! The built-in token corpora of mirlens' own language models, generated offline from a seed:
//!
//! - **`synth-remi`** (for `mirlens-midi-small`): the REMI tokens (miditok 3.1.0's default configuration) of
//!   `synth-pieces` scores (keys, modes, tempos, meters, 1–3 instruments, diatonic progressions) plus the scores of
//!   the built-in `synth-notes`, `synth-chords` and `synth-sequences` clips (generated with a corpus seed, not the
//!   seeds the analyses use), tracks one after another; the tokenizer is the REMI vocabulary as a WordLevel
//!   `tokenizer.json` (`BOS_None` … `EOS_None` around every document).
//! - **`synth-captions`** (for `mirlens-caption-small`): every caption of those pieces and clips, one document
//!   each; the tokenizer is a BPE (`tokenizers` crate) trained on the training captions, with special tokens
//!   `<pad>`, `<s>`, `</s>`, `<unk>`.
//!
//! Training and validation documents come from the generators' own splits: validation pieces are different pieces.

use super::LmCorpus;
use crate::PretrainError;
use mirlens_datasets::Split;
use mirlens_datasets::synth::{
    ChordsParams, NotesParams, PiecesParams, SequencesParams, SynthDataset, SynthPieces,
};
use mirlens_symbolic::Score;
use mirlens_symbolic::tokenize::{Scheme, Tokenizer};

type Result<T> = std::result::Result<T, PretrainError>;

fn corpus_err(message: impl Into<String>) -> PretrainError {
    PretrainError::Corpus {
        message: message.into(),
    }
}

/// A corpus for the LM trainer with the texts its documents encode (without BOS/EOS), for checks.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenCorpus {
    /// Tokenizer, special ids and the `BOS … EOS` documents.
    pub corpus: LmCorpus,
    /// Training documents as text.
    pub train_text: Vec<String>,
    /// Validation documents as text.
    pub valid_text: Vec<String>,
}

/// Sizes of the synthetic corpora.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthCorpusSpec {
    /// Seed of every generator.
    pub seed: u64,
    /// `synth-pieces` pieces.
    pub pieces: usize,
    /// `synth-notes` clips at most (default generator, its train and valid splits).
    pub notes: usize,
    /// `synth-chords` clips at most.
    pub chords: usize,
    /// `synth-sequences` clips.
    pub sequences: usize,
}

/// Every score of the corpus with its id and whether it is a validation item.
pub fn synth_scores(spec: &SynthCorpusSpec) -> Result<Vec<(String, Score, bool)>> {
    let bad = |e: mirlens_core::CoreError| corpus_err(e.to_string());
    let pieces: SynthPieces = PiecesParams {
        seed: spec.seed,
        count: spec.pieces,
        ..PiecesParams::default()
    }
    .check()
    .map_err(bad)?;
    let mut out: Vec<(String, Score, bool)> = (0..pieces.len())
        .filter(|&i| pieces.split(i) != Split::Test)
        .map(|i| {
            (
                pieces.id(i),
                pieces.score(i),
                pieces.split(i) == Split::Valid,
            )
        })
        .collect();
    let gens = clip_generators(spec)?;
    for (g, cap) in gens {
        for i in 0..g.len().min(cap) {
            let meta = g.describe(i);
            if meta.split == Some(Split::Test) {
                continue;
            }
            if let Some(s) = g.score(i) {
                out.push((meta.id, s, meta.split == Some(Split::Valid)));
            }
        }
    }
    Ok(out)
}

/// The built-in clip generators of the corpus with how many clips each gives at most.
fn clip_generators(spec: &SynthCorpusSpec) -> Result<Vec<(Box<dyn SynthDataset>, usize)>> {
    let bad = |e: mirlens_core::CoreError| corpus_err(e.to_string());
    Ok(vec![
        (
            Box::new(
                NotesParams {
                    seed: spec.seed,
                    ..NotesParams::default()
                }
                .check()
                .map_err(bad)?,
            ),
            spec.notes,
        ),
        (
            Box::new(
                ChordsParams {
                    seed: spec.seed,
                    ..ChordsParams::default()
                }
                .check()
                .map_err(bad)?,
            ),
            spec.chords,
        ),
        (
            Box::new(
                SequencesParams {
                    seed: spec.seed,
                    count: spec.sequences.max(1),
                    ..SequencesParams::default()
                }
                .check()
                .map_err(bad)?,
            ),
            spec.sequences,
        ),
    ])
}

/// The `synth-remi` corpus (module docs).
pub fn synth_remi(spec: &SynthCorpusSpec) -> Result<TokenCorpus> {
    let tok = Tokenizer::miditok_default(Scheme::Remi);
    let id = |t: &str| {
        tok.token_id(t)
            .ok_or_else(|| corpus_err(format!("the REMI vocabulary has no {t}")))
    };
    let (bos, eos, pad) = (id("BOS_None")?, id("EOS_None")?, id("PAD_None")?);
    let mut c = TokenCorpus {
        corpus: LmCorpus {
            tokenizer_json: serde_json::to_vec_pretty(
                &tok.hf_tokenizer_json_with_bos()
                    .ok_or_else(|| corpus_err("the REMI vocabulary has no BOS_None"))?,
            )
            .map_err(|e| corpus_err(e.to_string()))?,
            vocab_size: tok.vocab().len(),
            bos_id: bos,
            eos_id: eos,
            pad_id: pad,
            train: Vec::new(),
            valid: Vec::new(),
        },
        train_text: Vec::new(),
        valid_text: Vec::new(),
    };
    for (sid, score, valid) in synth_scores(spec)? {
        let d = mirlens_symbolic::remi_doc::token_document(&tok, &score)
            .map_err(|e| corpus_err(format!("tokenizing {sid}: {e}")))?;
        let mut ids = vec![bos];
        ids.extend(&d.ids);
        ids.push(eos);
        if valid {
            c.corpus.valid.push(ids);
            c.valid_text.push(d.text());
        } else {
            c.corpus.train.push(ids);
            c.train_text.push(d.text());
        }
    }
    Ok(c)
}

/// Every caption of the corpus, with whether it belongs to a validation item.
pub fn synth_captions_text(spec: &SynthCorpusSpec) -> Result<Vec<(String, bool)>> {
    let bad = |e: mirlens_core::CoreError| corpus_err(e.to_string());
    let pieces: SynthPieces = PiecesParams {
        seed: spec.seed,
        count: spec.pieces,
        ..PiecesParams::default()
    }
    .check()
    .map_err(bad)?;
    let mut out = Vec::new();
    for i in 0..pieces.len() {
        let split = pieces.split(i);
        if split == Split::Test {
            continue;
        }
        for c in pieces.captions(i) {
            out.push((c, split == Split::Valid));
        }
    }
    let gens = clip_generators(spec)?;
    for (g, cap) in gens {
        for i in 0..g.len().min(cap) {
            let meta = g.describe(i);
            if meta.split == Some(Split::Test) {
                continue;
            }
            let valid = meta.split == Some(Split::Valid);
            out.extend(meta.text.into_iter().map(|t| (t, valid)));
        }
    }
    Ok(out)
}

/// Special tokens of the caption tokenizer, in id order.
pub const CAPTION_SPECIALS: [&str; 4] = ["<pad>", "<s>", "</s>", "<unk>"];

/// Train a BPE `tokenizer.json` (whitespace/punctuation pre-tokenizer, [`CAPTION_SPECIALS`] first) on `texts`.
pub fn train_bpe(texts: &[String], vocab_size: usize) -> Result<Vec<u8>> {
    use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
    use tokenizers::pre_tokenizers::whitespace::Whitespace;
    use tokenizers::{AddedToken, TokenizerBuilder};
    let err = |e: tokenizers::Error| corpus_err(format!("training the BPE tokenizer: {e}"));
    let specials: Vec<AddedToken> = CAPTION_SPECIALS
        .iter()
        .map(|s| AddedToken::from(s.to_string(), true))
        .collect();
    let mut trainer = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(2)
        .show_progress(false)
        .special_tokens(specials)
        .build();
    let model = BPE::builder()
        .unk_token("<unk>".to_string())
        .build()
        .map_err(err)?;
    let mut tk: tokenizers::TokenizerImpl<
        BPE,
        tokenizers::NormalizerWrapper,
        tokenizers::PreTokenizerWrapper,
        tokenizers::PostProcessorWrapper,
        tokenizers::DecoderWrapper,
    > = TokenizerBuilder::new()
        .with_model(model)
        .with_pre_tokenizer(Some(Whitespace {}.into()))
        .build()
        .map_err(err)?;
    tk.train(&mut trainer, texts.iter()).map_err(err)?;
    // `<s>` before every sequence when encoding with special tokens, as the model is trained on `<s> … </s>`
    let mut v: serde_json::Value = serde_json::from_str(&tk.to_string(false).map_err(err)?)
        .map_err(|e| corpus_err(e.to_string()))?;
    let bos = tk
        .token_to_id("<s>")
        .ok_or_else(|| corpus_err("the caption tokenizer has no <s>"))?;
    v["post_processor"] = mirlens_symbolic::tokenize::bos_template("<s>", bos);
    serde_json::to_vec_pretty(&v).map_err(|e| corpus_err(e.to_string()))
}

/// The `synth-captions` corpus (module docs) with a BPE of `vocab_size` tokens.
pub fn synth_captions(spec: &SynthCorpusSpec, vocab_size: usize) -> Result<TokenCorpus> {
    let all = synth_captions_text(spec)?;
    let train_text: Vec<String> = all.iter().filter(|c| !c.1).map(|c| c.0.clone()).collect();
    let valid_text: Vec<String> = all.iter().filter(|c| c.1).map(|c| c.0.clone()).collect();
    let json = train_bpe(&train_text, vocab_size)?;
    let tk = tokenizers::Tokenizer::from_bytes(&json)
        .map_err(|e| corpus_err(format!("reloading the BPE tokenizer: {e}")))?;
    let sid = |s: &str| {
        tk.token_to_id(s)
            .ok_or_else(|| corpus_err(format!("the caption tokenizer has no {s}")))
    };
    let (pad, bos, eos) = (sid("<pad>")?, sid("<s>")?, sid("</s>")?);
    let encode = |texts: &[String]| -> Result<Vec<Vec<u32>>> {
        texts
            .iter()
            .map(|t| {
                let e = tk
                    .encode(t.as_str(), false)
                    .map_err(|e| corpus_err(format!("encoding a caption: {e}")))?;
                let mut ids = vec![bos];
                ids.extend(e.get_ids());
                ids.push(eos);
                Ok(ids)
            })
            .collect()
    };
    Ok(TokenCorpus {
        corpus: LmCorpus {
            vocab_size: tk.get_vocab_size(true),
            bos_id: bos,
            eos_id: eos,
            pad_id: pad,
            train: encode(&train_text)?,
            valid: encode(&valid_text)?,
            tokenizer_json: json,
        },
        train_text,
        valid_text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SynthCorpusSpec {
        SynthCorpusSpec {
            seed: 5,
            pieces: 60,
            notes: 40,
            chords: 20,
            sequences: 10,
        }
    }

    #[test]
    fn remi_corpus_round_trips_through_its_tokenizer() {
        let tc = synth_remi(&spec()).unwrap();
        let c = &tc.corpus;
        assert!(c.train.len() > 80 && !c.valid.is_empty());
        let tk = tokenizers::Tokenizer::from_bytes(&c.tokenizer_json).unwrap();
        for (ids, text) in c.train.iter().zip(&tc.train_text).take(20) {
            let e = tk.encode(text.as_str(), false).unwrap();
            assert_eq!(e.get_ids(), &ids[1..ids.len() - 1]);
            assert_eq!((ids[0], *ids.last().unwrap()), (c.bos_id, c.eos_id));
        }
        assert_eq!(tc, synth_remi(&spec()).unwrap());
        // with special tokens the tokenizer puts BOS first, as the documents are trained
        let e = tk.encode(tc.train_text[0].as_str(), true).unwrap();
        assert_eq!(e.get_ids(), &c.train[0][..c.train[0].len() - 1]);
    }

    #[test]
    fn caption_tokenizer_is_deterministic_and_covers_the_captions() {
        let ta = synth_captions(&spec(), 400).unwrap();
        let tb = synth_captions(&spec(), 400).unwrap();
        let (a, b) = (&ta.corpus, &tb.corpus);
        assert_eq!(a.tokenizer_json, b.tokenizer_json);
        assert_eq!(a.train, b.train);
        assert!(
            a.vocab_size <= 400 && a.vocab_size > 100,
            "{}",
            a.vocab_size
        );
        let tk = tokenizers::Tokenizer::from_bytes(&a.tokenizer_json).unwrap();
        let unk = tk.token_to_id("<unk>").unwrap();
        // training captions never need the unknown token
        assert!(a.train.iter().flatten().all(|&i| i != unk));
        // decoding gives the caption's words back
        let dec = tk
            .decode(&a.train[0][1..a.train[0].len() - 1], true)
            .unwrap();
        let words = |s: &str| {
            s.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(words(&dec), words(&ta.train_text[0]));
        let e = tk.encode(ta.train_text[0].as_str(), true).unwrap();
        assert_eq!(e.get_ids(), &a.train[0][..a.train[0].len() - 1]);
    }
}
