//! Token-level extraction: a text dataset → a `tokenizer.json` tokenizer → a [`TokenEncoder`] → an activation store
//! with `modality: text`, `row_unit: token` (or `clip` when pooled) and `span_unit: chars`.
//!
//! **Documents, windows, rows.** Each document (a clip of the store; the clip table keeps its labels) is tokenised
//! once with the tokenizer's special tokens, as `AutoTokenizer(text, add_special_tokens=True)` does: the leading
//! special tokens (a BOS, BERT's `[CLS]`) form the *prefix*, the trailing ones (`[SEP]`, `</s>`) the *suffix*, the
//! tokens in between the *body*. The body is cut into windows of [`TextExtractParams::window`] tokens starting every
//! [`TextExtractParams::stride`] tokens (the last window may be shorter; at most
//! [`TextExtractParams::max_windows_per_doc`] windows). The model reads `prefix + window + suffix` — so with a
//! Llama tokenizer it sees `BOS` and then 64 body tokens, the seed study's "64 tokens per window after BOS" — and
//! every window is a separate forward pass.
//!
//! **Which tokens become rows.** [`BosPolicy::Drop`] (default) stores only the body tokens that are not special;
//! [`BosPolicy::Keep`] also stores the prefix and suffix tokens of every window (their position is their index in
//! the tokenised document, so a BOS repeated in each window repeats position 0; their span is `[0, 0)`). The BOS of
//! Llama-family models carries outlier-norm activations ("massive activations"), which is why the default leaves it
//! out of SAE training while still letting every stored token attend to it as in the model's own use. When windows
//! overlap (`stride < window`), a token is stored once, from the first window that holds it (the later windows
//! store only the tokens past the previous window's end, which have `window − stride` tokens of extra context); when
//! `stride > window` the tokens between windows are skipped.
//!
//! **Columns.** `row.position` = token index in the tokenised document (special tokens counted), `row.span_*` =
//! character offsets `[start, end)` into the document text (`tokenizer.json` offsets mapped to characters, as
//! transformers' `return_offsets_mapping`). Row-level labels: `token_id` (integer), `token` (categorical: the
//! vocabulary strings of the tokens the store holds, ordered by id — a store of a 100k-vocabulary model over a
//! corpus holds the few thousand classes it met, not the vocabulary), `window` (integer, window index in the
//! document) and `window_pos` (integer, index in the model input, the context the token had). Clip-level labels are
//! the document labels, converted as audio manifests' ([`crate::store_layout`]).
//!
//! **Pooling** ([`TokenPooling`]) is over the stored tokens of the whole document (all its windows): `mean`, `first`
//! (with `--bos keep` on a BERT-family model, `[CLS]`), `last` (for decoders with `--bos drop`, the last body token,
//! the one that has read the most); one row per document, span `[first start, last end)`, position 0, no
//! token labels.
//!
//! The whole dataset is tokenised once before writing (in parallel) to fix the `token` classes and to refuse
//! windows longer than a model's learned positions; windows are then planned again shard by shard, so memory is
//! bounded by one shard of documents, not by the corpus.
//!
//! Shards, resumption, parts and the commit protocol are those of the audio extraction: shard `k` holds documents
//! `k·docs_per_shard …`, and depends only on the dataset, the model, the tokenizer and the parameters, so a
//! resumed store is byte-identical to an uninterrupted one.

use crate::{BadClipPolicy, ExtractError, ExtractSummary, ModelIdentity, Progress, Result};
use mirlens_core::{CoreError, DType, LayerId, LayerSelection, Pooling};
use mirlens_datasets::TextDataset;
use mirlens_models::{
    InputSpec, LayerActivations, TextTokenizer, TokenEncodeOptions, TokenEncoder, TokenizedText,
};
use mirlens_store::{
    BadClip, ClipEntry, LabelData, LabelField, LabelKind, LabelLevel, LabelSchema, ModelCard,
    NonFinitePolicy, Part, RowUnit, ShardColumns, SpanUnit, StoreHeader, StoreLayout, StoreWriter,
};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Whether the tokenizer's special tokens (BOS, `[CLS]`, `[SEP]`, …) become rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BosPolicy {
    /// The model reads them, the store does not hold them.
    #[default]
    Drop,
    /// They are stored too (in every window).
    Keep,
}

impl std::str::FromStr for BosPolicy {
    type Err = CoreError;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim() {
            "drop" => Ok(BosPolicy::Drop),
            "keep" => Ok(BosPolicy::Keep),
            _ => Err(CoreError::Parse {
                what: "bos policy",
                input: s.to_string(),
                expected: "'drop' or 'keep'",
            }),
        }
    }
}

impl std::fmt::Display for BosPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BosPolicy::Drop => "drop",
            BosPolicy::Keep => "keep",
        })
    }
}

/// Pooling of a document's stored tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenPooling {
    /// One row per stored token.
    #[default]
    None,
    /// Mean over the stored tokens of the document.
    Mean,
    /// The first stored token (`[CLS]` of BERT-family models with [`BosPolicy::Keep`]).
    First,
    /// The last stored token.
    Last,
}

impl std::str::FromStr for TokenPooling {
    type Err = CoreError;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim() {
            "none" => Ok(TokenPooling::None),
            "mean" => Ok(TokenPooling::Mean),
            "first" | "cls" => Ok(TokenPooling::First),
            "last" => Ok(TokenPooling::Last),
            _ => Err(CoreError::Parse {
                what: "token pooling",
                input: s.to_string(),
                expected: "'none', 'mean', 'first' or 'last'",
            }),
        }
    }
}

impl std::fmt::Display for TokenPooling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenPooling::None => "none",
            TokenPooling::Mean => "mean",
            TokenPooling::First => "first",
            TokenPooling::Last => "last",
        })
    }
}

/// Default window, in body tokens.
pub const DEFAULT_WINDOW: usize = 64;

/// Parameters of [`extract_text`].
#[derive(Debug, Clone, PartialEq)]
pub struct TextExtractParams {
    /// Hidden states to store.
    pub layers: LayerSelection,
    /// Pooling of each document's stored tokens.
    pub pooling: TokenPooling,
    /// Storage dtype.
    pub dtype: DType,
    /// Body tokens per window.
    pub window: usize,
    /// Body tokens between window starts.
    pub stride: usize,
    /// Whether special tokens become rows.
    pub bos: BosPolicy,
    /// At most this many windows per document (the first ones).
    pub max_windows_per_doc: Option<usize>,
    /// Documents per shard (the unit of atomic commit and of resumption).
    pub docs_per_shard: usize,
    /// Windows per encoder call (one right-padded, masked batch).
    pub batch_size: usize,
    /// Which part of the dataset this job extracts.
    pub part: Part,
    /// Handling of documents that give no tokens or fail to encode.
    pub bad_docs: BadClipPolicy,
    /// Handling of NaN or infinite activations.
    pub on_nonfinite: NonFinitePolicy,
    /// Options of the forward pass (the final-norm convention of the last layer).
    pub encode: TokenEncodeOptions,
}

impl Default for TextExtractParams {
    fn default() -> Self {
        TextExtractParams {
            layers: LayerSelection::All,
            pooling: TokenPooling::None,
            dtype: DType::F32,
            window: DEFAULT_WINDOW,
            stride: DEFAULT_WINDOW,
            bos: BosPolicy::Drop,
            max_windows_per_doc: None,
            docs_per_shard: 64,
            batch_size: 8,
            part: Part::WHOLE,
            bad_docs: BadClipPolicy::Skip,
            on_nonfinite: NonFinitePolicy::Error,
            encode: TokenEncodeOptions::default(),
        }
    }
}

impl TextExtractParams {
    /// Validate the parameters.
    pub fn check(&self) -> Result<()> {
        let pos = |name: &'static str, v: usize| -> Result<()> {
            if v == 0 {
                Err(CoreError::invalid(name, 0, "at least 1").into())
            } else {
                Ok(())
            }
        };
        pos("window", self.window)?;
        pos("stride", self.stride)?;
        pos("docs_per_shard", self.docs_per_shard)?;
        pos("batch_size", self.batch_size)?;
        if let Some(k) = self.max_windows_per_doc {
            pos("max_windows_per_doc", k)?;
        }
        self.part.check()?;
        Ok(())
    }
}

/// One stored token of a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// Index in the window's model input.
    pub input_index: usize,
    /// Index in the tokenised document (special tokens counted).
    pub doc_index: usize,
    /// Token id.
    pub id: u32,
    /// `[start, end)` character offsets into the document (`(0, 0)` for special tokens).
    pub span: (usize, usize),
}

/// One forward pass over a document window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Model input: prefix specials, the body tokens of the window, suffix specials.
    pub input: Vec<u32>,
    /// The tokens of this window that become rows, in input order.
    pub stored: Vec<StoredToken>,
}

/// The windows of one tokenised document under `params` (empty when the document has no body token).
pub fn plan_windows(tok: &TokenizedText, params: &TextExtractParams) -> Vec<Window> {
    let n = tok.len();
    let p = tok.special.iter().take_while(|&&s| s).count();
    if p == n {
        return Vec::new();
    }
    let q = n - tok.special[p..].iter().rev().take_while(|&&s| s).count();
    let body = q - p;
    let cap = params.max_windows_per_doc.unwrap_or(usize::MAX);
    let token = |input_index: usize, doc_index: usize| StoredToken {
        input_index,
        doc_index,
        id: tok.ids[doc_index],
        span: tok.offsets[doc_index],
    };
    let mut out = Vec::new();
    let (mut start, mut prev_end) = (0usize, 0usize);
    while start < body && out.len() < cap {
        let end = (start + params.window).min(body);
        let mut input: Vec<u32> = tok.ids[..p].to_vec();
        input.extend_from_slice(&tok.ids[p + start..p + end]);
        input.extend_from_slice(&tok.ids[q..]);
        let mut stored = Vec::new();
        if params.bos == BosPolicy::Keep {
            stored.extend((0..p).map(|i| token(i, i)));
        }
        for b in start.max(prev_end)..end {
            let d = p + b;
            if params.bos == BosPolicy::Keep || !tok.special[d] {
                stored.push(token(p + b - start, d));
            }
        }
        if params.bos == BosPolicy::Keep {
            let base = p + end - start;
            stored.extend((q..n).enumerate().map(|(j, d)| token(base + j, d)));
        }
        out.push(Window { input, stored });
        prev_end = end;
        if end == body {
            break;
        }
        start += params.stride;
    }
    out
}

/// The text dataset to extract, with the name recorded in the store.
pub struct TextSource<'a> {
    /// Dataset name (manifest file or folder name).
    pub name: String,
    /// The documents.
    pub dataset: &'a TextDataset,
}

/// Identity of a token model folder: [`ModelIdentity::from_dir`] with `tokenizer.json` hashed into the config
/// hash, so that a store never mixes tokenizations.
pub fn text_model_identity(
    name: impl Into<String>,
    revision: Option<String>,
    dir: &Path,
    tokenizer_file: &Path,
) -> Result<ModelIdentity> {
    let mut id = ModelIdentity::from_dir(name, revision, dir)?;
    let tok = std::fs::read(tokenizer_file).map_err(|source| ExtractError::Io {
        path: tokenizer_file.to_path_buf(),
        source,
    })?;
    let mut h = Sha256::new();
    h.update(id.config_hash.as_bytes());
    h.update(b"\0tokenizer.json\0");
    h.update(&tok);
    id.config_hash = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(id)
}

/// What the whole dataset fixes before any shard is written: the classes of the `token` label. Windows are
/// planned again shard by shard ([`plan_document`]), so memory stays bounded by one shard, not the corpus.
pub struct TextPlan {
    /// Classes of the `token` label: `(id, vocabulary string)` of every stored token id, ascending id.
    pub token_classes: Vec<(u32, String)>,
}

/// Tokenise one document and cut it into windows; `Err` says why the document gives no rows.
pub fn plan_document(
    tokenizer: &TextTokenizer,
    text: &str,
    params: &TextExtractParams,
) -> std::result::Result<Vec<Window>, String> {
    let tok = tokenizer
        .encode(text, true)
        .map_err(|e| format!("tokenizer: {e}"))?;
    let w = plan_windows(&tok, params);
    if w.is_empty() {
        return Err("the text gives no tokens".to_string());
    }
    Ok(w)
}

/// Tokenise every document (in parallel): the stored token ids of the whole dataset, and a check that every
/// window fits a model with `max_length` positions.
pub fn plan_dataset(
    tokenizer: &TextTokenizer,
    dataset: &TextDataset,
    params: &TextExtractParams,
    max_length: Option<usize>,
) -> Result<TextPlan> {
    // per document: (sorted stored ids, longest input)
    let per_doc: Vec<(Vec<u32>, usize)> = dataset
        .documents
        .par_iter()
        .map(|d| match plan_document(tokenizer, &d.text, params) {
            Ok(ws) => {
                let mut ids: Vec<u32> = ws
                    .iter()
                    .flat_map(|w| w.stored.iter().map(|t| t.id))
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                (ids, ws.iter().map(|w| w.input.len()).max().unwrap_or(0))
            }
            Err(_) => (Vec::new(), 0),
        })
        .collect();
    if let Some(m) = max_length
        && let Some(i) = per_doc.iter().position(|(_, len)| *len > m)
    {
        return Err(CoreError::invalid(
            "window",
            params.window,
            format!(
                "windows that fit the model's {m} positions (document {:?} gives an input of {} tokens \
                 with its special tokens)",
                dataset.documents[i].id, per_doc[i].1
            ),
        )
        .into());
    }
    let mut ids: Vec<u32> = per_doc.into_iter().flat_map(|(v, _)| v).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut seen = std::collections::HashSet::new();
    let token_classes = ids
        .into_iter()
        .filter_map(|id| {
            let s = tokenizer
                .id_to_token(id)
                .unwrap_or_else(|| format!("<id {id}>"));
            seen.insert(s.clone()).then_some((id, s))
        })
        .collect();
    Ok(TextPlan { token_classes })
}

/// The store header of a text run. `frame_rate` is 1 (one row per token position); `pooling` is `mean` for
/// [`TokenPooling::Mean`] and `none` otherwise (`first` / `last` are recorded in the model card as
/// `token_pooling`, with the row unit `clip`).
pub fn text_store_header(
    encoder: &dyn TokenEncoder,
    model: &ModelIdentity,
    source: &TextSource<'_>,
    params: &TextExtractParams,
) -> Result<StoreHeader> {
    let spec = encoder.spec();
    Ok(StoreHeader {
        model: model.name.clone(),
        revision: model.revision.clone(),
        config_hash: model.config_hash.clone(),
        layers: params.layers.resolve(spec.num_layers)?,
        hidden_size: spec.hidden_size,
        dtype: params.dtype,
        pooling: if params.pooling == TokenPooling::Mean {
            Pooling::Mean
        } else {
            Pooling::None
        },
        frame_rate: 1.0,
        dataset: source.name.clone(),
        dataset_hash: source.dataset.content_hash(),
        dataset_clips: source.dataset.len(),
        clips_per_shard: params.docs_per_shard,
    })
}

/// Names of the row-level labels of an unpooled text store.
pub const TOKEN_LABELS: [&str; 4] = ["token_id", "token", "window", "window_pos"];

/// The format-2 layout of a text run: text modality, token rows (clip rows when pooled), character spans, the
/// windowing parameters in the model card (part of the store identity), document labels at clip level and the
/// token labels at row level.
pub fn text_store_layout(
    encoder: &dyn TokenEncoder,
    source: &TextSource<'_>,
    header: &StoreHeader,
    params: &TextExtractParams,
    plan: &TextPlan,
) -> Result<StoreLayout> {
    let spec = encoder.spec();
    let mut schema = LabelSchema::new();
    for (name, ty) in &source.dataset.label_schema.columns {
        let kind = crate::label_kind(
            *ty,
            source
                .dataset
                .documents
                .iter()
                .filter_map(|d| d.labels.get(name)),
        );
        if params.pooling == TokenPooling::None && TOKEN_LABELS.contains(&name.as_str()) {
            return Err(CoreError::invalid(
                "dataset labels",
                name,
                format!(
                    "document labels other than the token labels {TOKEN_LABELS:?} of an unpooled text store"
                ),
            )
            .into());
        }
        schema = schema.with(LabelField::new(name.clone(), LabelLevel::Clip, kind));
    }
    if params.pooling == TokenPooling::None {
        schema = schema
            .with(LabelField::new(
                "token_id",
                LabelLevel::Row,
                LabelKind::Integer,
            ))
            .with(LabelField::new(
                "token",
                LabelLevel::Row,
                LabelKind::Categorical {
                    classes: plan.token_classes.iter().map(|(_, s)| s.clone()).collect(),
                },
            ))
            .with(LabelField::new(
                "window",
                LabelLevel::Row,
                LabelKind::Integer,
            ))
            .with(LabelField::new(
                "window_pos",
                LabelLevel::Row,
                LabelKind::Integer,
            ));
    }
    if params.pooling == TokenPooling::None {
        for field in word_label_fields(source.dataset)? {
            schema = schema.with(field);
        }
    }
    let mut card = ModelCard {
        architecture: Some(spec.architecture.clone()),
        ..ModelCard::default()
    };
    let extra = &mut card.extra;
    extra.insert("num_layers".into(), spec.num_layers.to_string());
    extra.insert("window".into(), params.window.to_string());
    extra.insert("stride".into(), params.stride.to_string());
    extra.insert("bos".into(), params.bos.to_string());
    extra.insert(
        "max_windows_per_doc".into(),
        params
            .max_windows_per_doc
            .map_or("none".into(), |k| k.to_string()),
    );
    extra.insert("token_pooling".into(), params.pooling.to_string());
    extra.insert(
        "final_norm".into(),
        format!("{:?}", params.encode.final_norm).to_lowercase(),
    );
    Ok(StoreLayout {
        modality: mirlens_store::Modality::Text,
        row_unit: if params.pooling == TokenPooling::None {
            RowUnit::Token
        } else {
            RowUnit::Clip
        },
        span_unit: SpanUnit::Chars,
        model_card: card,
        on_nonfinite: params.on_nonfinite,
        ..StoreLayout::for_header(header)
    }
    .with_labels(schema))
}

/// The row-level fields of the dataset's word labels ([`mirlens_datasets::TextDocument::word_labels`]): one per
/// word-label name, its kind from the values as for document labels. A name that is also a token label or a
/// document label is refused.
pub fn word_label_fields(dataset: &TextDataset) -> Result<Vec<LabelField>> {
    let mut out = Vec::new();
    for (name, ty) in &dataset.word_label_schema.columns {
        if TOKEN_LABELS.contains(&name.as_str()) || dataset.label_schema.get(name).is_some() {
            return Err(CoreError::invalid(
                "word labels",
                name,
                format!(
                    "word-label names other than the token labels {TOKEN_LABELS:?} and the document labels"
                ),
            )
            .into());
        }
        let kind = crate::label_kind(
            *ty,
            dataset
                .documents
                .iter()
                .filter_map(|d| d.word_labels.get(name))
                .flatten()
                .flatten(),
        );
        out.push(LabelField::new(name.clone(), LabelLevel::Row, kind));
    }
    Ok(out)
}

/// Extract the token activations of `source` through `encoder` (tokenised by `tokenizer`) into the store at
/// `out`, creating it or resuming it. `progress` is called after each committed shard (its `audio_secs` is 0).
pub fn extract_text(
    encoder: &dyn TokenEncoder,
    tokenizer: &TextTokenizer,
    model: &ModelIdentity,
    source: &TextSource<'_>,
    params: &TextExtractParams,
    out: &Path,
    progress: &mut dyn FnMut(&Progress),
) -> Result<ExtractSummary> {
    params.check()?;
    if source.dataset.is_empty() {
        return Err(ExtractError::EmptyDataset {
            name: source.name.clone(),
        });
    }
    let max_length = match &encoder.spec().input {
        InputSpec::Tokens { max_length, .. } => *max_length,
        InputSpec::Audio { .. } => None,
    };
    let plan = plan_dataset(tokenizer, source.dataset, params, max_length)?;
    let header = text_store_header(encoder, model, source, params)?;
    let layout = text_store_layout(encoder, source, &header, params, &plan)?;
    let mut writer = StoreWriter::open_with(out, header.clone(), layout, params.part)?;
    let part_shards = writer.part_shards();
    let pending = writer.pending_shards();
    let docs_of = |k: usize| header.shard_clips(k).len();
    progress(&crate::start_progress(&writer, &header));
    let codes: HashMap<u32, u32> = plan
        .token_classes
        .iter()
        .enumerate()
        .map(|(c, (id, _))| (*id, c as u32))
        .collect();
    for &k in &pending {
        let data = text_shard(encoder, tokenizer, source, &header, params, &codes, k)?;
        let (rows, bad) = (data.num_rows(), data.bad_clips.len());
        writer.write_columns(data)?;
        progress(&Progress::Shard {
            shard: k,
            clips: docs_of(k),
            rows,
            bad,
            audio_secs: 0.0,
        });
    }
    progress(&Progress::Finalizing);
    let manifest = writer.finalize()?;
    Ok(ExtractSummary {
        manifest,
        shards_written: pending.len(),
        shards_resumed: part_shards.len() - pending.len(),
        audio_secs: 0.0,
    })
}

/// A window and what the encoder returned for it.
type WindowOutput<'a> = (&'a Window, std::result::Result<LayerActivations, String>);

fn text_shard(
    encoder: &dyn TokenEncoder,
    tokenizer: &TextTokenizer,
    source: &TextSource<'_>,
    header: &StoreHeader,
    params: &TextExtractParams,
    codes: &HashMap<u32, u32>,
    k: usize,
) -> Result<ShardColumns> {
    let spec = encoder.spec();
    let range = header.shard_clips(k);
    let first = range.start;
    let selection = LayerSelection::Some(header.layers.clone());
    let plans: Vec<std::result::Result<Vec<Window>, String>> = source.dataset.documents
        [range.clone()]
    .par_iter()
    .map(|d| plan_document(tokenizer, &d.text, params))
    .collect();
    // every window of the shard's good documents, batched
    let jobs: Vec<(usize, &Window)> = range
        .clone()
        .filter_map(|i| plans[i - first].as_ref().ok().map(|ws| (i, ws)))
        .flat_map(|(i, ws)| ws.iter().map(move |w| (i, w)))
        .collect();
    let mut acts: Vec<std::result::Result<LayerActivations, String>> =
        Vec::with_capacity(jobs.len());
    for chunk in jobs.chunks(params.batch_size) {
        let items: Vec<&[u32]> = chunk.iter().map(|(_, w)| w.input.as_slice()).collect();
        match encoder.encode_tokens_batch(&items, &selection, &params.encode) {
            Ok(a) if a.len() == chunk.len() => acts.extend(a.into_iter().map(Ok)),
            _ => {
                for x in &items {
                    acts.push(
                        encoder
                            .encode_tokens(x, &selection, &params.encode)
                            .map_err(|e| format!("encoder: {e}")),
                    );
                }
            }
        }
    }
    let mut by_doc: BTreeMap<usize, Vec<WindowOutput<'_>>> = BTreeMap::new();
    for ((i, w), a) in jobs.into_iter().zip(acts) {
        by_doc.entry(i).or_default().push((w, a));
    }
    let d = header.hidden_size;
    let nl = header.layers.len();
    let mut data = ShardColumns {
        index: k,
        layers: vec![Vec::new(); nl],
        ..ShardColumns::default()
    };
    let pooled = params.pooling != TokenPooling::None;
    let word_fields = if pooled {
        Vec::new()
    } else {
        word_label_fields(source.dataset)?
    };
    let mut word_cols: Vec<LabelData> = word_fields
        .iter()
        .map(|f| LabelData::empty(&f.kind))
        .collect();
    let mut token_id = Vec::new();
    let mut token_code = Vec::new();
    let mut window_ix = Vec::new();
    let mut window_pos = Vec::new();
    for i in range {
        let doc = &source.dataset.documents[i];
        let bad = |reason: String| BadClip {
            clip_index: i,
            clip_id: doc.id.clone(),
            path: doc
                .source
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            reason,
        };
        let windows = match &plans[i - first] {
            Err(reason) => Err(reason.clone()),
            Ok(_) => {
                let ws = by_doc.remove(&i).unwrap_or_default();
                match ws.iter().find_map(|(_, a)| a.as_ref().err()) {
                    Some(e) => Err(e.clone()),
                    None => Ok(ws),
                }
            }
        };
        let windows = match windows {
            Ok(w) => w,
            Err(reason) => {
                if params.bad_docs == BadClipPolicy::Fail {
                    let b = bad(reason);
                    return Err(ExtractError::BadClip {
                        index: i,
                        clip_id: b.clip_id,
                        path: b.path,
                        reason: b.reason,
                    });
                }
                data.bad_clips.push(bad(reason));
                continue;
            }
        };
        data.clips.push(ClipEntry {
            index: i,
            id: doc.id.clone(),
            split: doc.split.map(|s| s.as_str().to_string()),
            source: doc
                .source
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            labels: doc.labels.clone(),
        });
        // word of every character offset, for the word labels
        let word_of = if word_fields.is_empty() {
            Vec::new()
        } else {
            doc.word_of_chars()
        };
        // rows of the document: (window, stored token, activations)
        let mut doc_rows: Vec<Vec<f32>> = vec![Vec::new(); nl];
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for (wi, (w, a)) in windows.iter().enumerate() {
            let a = a.as_ref().map_err(|e| ExtractError::EncoderOutput {
                model: format!("{} ({e})", spec.name),
                what: "window activations",
                expected: 1,
                got: 0,
            })?;
            if a.hidden != d || a.frames != w.input.len() {
                return Err(ExtractError::EncoderOutput {
                    model: spec.name.clone(),
                    what: if a.hidden != d {
                        "hidden size"
                    } else {
                        "tokens"
                    },
                    expected: if a.hidden != d { d } else { w.input.len() },
                    got: if a.hidden != d { a.hidden } else { a.frames },
                });
            }
            for (li, l) in header.layers.iter().enumerate() {
                let v = layer_of(a, *l, &spec.name, nl)?;
                for t in &w.stored {
                    doc_rows[li].extend_from_slice(&v[t.input_index * d..(t.input_index + 1) * d]);
                }
            }
            for t in &w.stored {
                spans.push(t.span);
                if !pooled {
                    data.row_clip.push(i as u32);
                    data.position.push(t.doc_index as u32);
                    data.span_start.push(t.span.0 as f64);
                    data.span_end.push(t.span.1 as f64);
                    token_id.push(t.id as i64);
                    token_code.push(codes.get(&t.id).copied().unwrap_or(u32::MAX));
                    window_ix.push(wi as i64);
                    window_pos.push(t.input_index as i64);
                    // a token takes the labels of the word it starts in; special tokens (empty span) none
                    let word = (t.span.1 > t.span.0)
                        .then(|| word_of.get(t.span.0).copied().flatten())
                        .flatten();
                    for (f, col) in word_fields.iter().zip(word_cols.iter_mut()) {
                        let v = word.and_then(|w| {
                            doc.word_labels
                                .get(&f.name)
                                .and_then(|vals| vals.get(w))
                                .and_then(Option::as_ref)
                        });
                        col.push(f, v)?;
                    }
                }
            }
        }
        if !pooled {
            for (li, rows) in doc_rows.into_iter().enumerate() {
                data.layers[li].extend(rows);
            }
            continue;
        }
        let n = spans.len();
        data.row_clip.push(i as u32);
        data.position.push(0);
        data.span_start
            .push(spans.iter().map(|s| s.0).min().unwrap_or(0) as f64);
        data.span_end
            .push(spans.iter().map(|s| s.1).max().unwrap_or(0) as f64);
        for (li, rows) in doc_rows.iter().enumerate() {
            let out = &mut data.layers[li];
            match params.pooling {
                TokenPooling::First => out.extend_from_slice(&rows[..d]),
                TokenPooling::Last => out.extend_from_slice(&rows[(n - 1) * d..n * d]),
                _ => crate::pool_into(rows, n, d, Pooling::Mean, out),
            }
        }
    }
    if !pooled {
        data.row_labels
            .insert("token_id".into(), LabelData::Integer(token_id));
        data.row_labels
            .insert("token".into(), LabelData::Codes(token_code));
        data.row_labels
            .insert("window".into(), LabelData::Integer(window_ix));
        data.row_labels
            .insert("window_pos".into(), LabelData::Integer(window_pos));
        for (f, col) in word_fields.iter().zip(word_cols) {
            data.row_labels.insert(f.name.clone(), col);
        }
    }
    Ok(data)
}

fn layer_of<'a>(a: &'a LayerActivations, l: LayerId, model: &str, nl: usize) -> Result<&'a [f32]> {
    a.layer(l).ok_or(ExtractError::EncoderOutput {
        model: model.to_string(),
        what: "number of layers",
        expected: nl,
        got: a.layers.len(),
    })
}

// ------------------------------------------------------------------------------------------- checkpoint series

/// A checkpoint of a series: its name (the store folder under the output) and its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Name: the folder name, or the revision.
    pub name: String,
    /// Folder with `config.json` and the weights.
    pub dir: PathBuf,
}

/// The training step in a checkpoint name: its last run of ASCII digits (`checkpoint-1000`, `step1000`,
/// `iter_0001000` → 1000).
pub fn step_of(name: &str) -> Option<u64> {
    let b = name.as_bytes();
    let end = b.iter().rposition(u8::is_ascii_digit)? + 1;
    let start = b[..end]
        .iter()
        .rposition(|c| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    name[start..end].parse().ok()
}

/// The checkpoint sub-folders of `dir` (each with `config.json` and `model.safetensors` or an index), ordered by
/// the step number in their names ([`step_of`]; folders without a number last, by name).
pub fn checkpoint_folders(dir: &Path) -> Result<Vec<Checkpoint>> {
    let io = |source| ExtractError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io)? {
        let p = e.map_err(io)?.path();
        let is_ckpt = p.join("config.json").is_file()
            && (p.join("model.safetensors").is_file()
                || p.join("model.safetensors.index.json").is_file());
        if p.is_dir() && is_ckpt {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push(Checkpoint { name, dir: p });
        }
    }
    if out.is_empty() {
        return Err(CoreError::invalid(
            "checkpoints",
            dir.display(),
            "a folder of checkpoint sub-folders, each with config.json and model.safetensors",
        )
        .into());
    }
    out.sort_by(|a, b| {
        (step_of(&a.name).unwrap_or(u64::MAX), &a.name)
            .cmp(&(step_of(&b.name).unwrap_or(u64::MAX), &b.name))
    });
    Ok(out)
}

/// The snapshot folder of revision `revision` of hub repository `repo` (`org/name`) in a HuggingFace cache
/// (`cache/models--org--name/snapshots/<commit>`, the commit read from `refs/<revision>` unless `revision` is a
/// 40-digit commit hash).
pub fn hf_revision_dir(cache: &Path, repo: &str, revision: &str) -> Result<PathBuf> {
    let repo_dir = cache.join(format!("models--{}", repo.replace('/', "--")));
    let is_commit = revision.len() == 40 && revision.bytes().all(|c| c.is_ascii_hexdigit());
    let commit = if is_commit {
        revision.to_string()
    } else {
        let r = repo_dir.join("refs").join(revision);
        std::fs::read_to_string(&r)
            .map_err(|source| ExtractError::Io { path: r, source })?
            .trim()
            .to_string()
    };
    let snap = repo_dir.join("snapshots").join(commit);
    if !snap.join("config.json").is_file() {
        return Err(ExtractError::Io {
            path: snap.join("config.json"),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("revision {revision} of {repo} is not in the HuggingFace cache"),
            ),
        });
    }
    Ok(snap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(special: &[bool]) -> TokenizedText {
        let n = special.len();
        TokenizedText {
            ids: (0..n as u32).map(|i| 100 + i).collect(),
            tokens: (0..n).map(|i| format!("t{i}")).collect(),
            offsets: (0..n)
                .map(|i| if special[i] { (0, 0) } else { (i, i + 1) })
                .collect(),
            special: special.to_vec(),
        }
    }

    fn params(window: usize, stride: usize, bos: BosPolicy) -> TextExtractParams {
        TextExtractParams {
            window,
            stride,
            bos,
            ..TextExtractParams::default()
        }
    }

    fn stored(ws: &[Window]) -> Vec<Vec<usize>> {
        ws.iter()
            .map(|w| w.stored.iter().map(|t| t.doc_index).collect())
            .collect()
    }

    #[test]
    fn windows_of_a_bos_document() {
        // BOS + 10 body tokens
        let mut s = vec![false; 11];
        s[0] = true;
        let t = tok(&s);
        let ws = plan_windows(&t, &params(4, 4, BosPolicy::Drop));
        assert_eq!(
            stored(&ws),
            vec![vec![1, 2, 3, 4], vec![5, 6, 7, 8], vec![9, 10]]
        );
        assert_eq!(ws[1].input, vec![100, 105, 106, 107, 108]);
        assert_eq!(ws[1].stored[0].input_index, 1);
        // overlapping windows store each token once
        let ws = plan_windows(&t, &params(4, 2, BosPolicy::Drop));
        assert_eq!(
            stored(&ws),
            vec![vec![1, 2, 3, 4], vec![5, 6], vec![7, 8], vec![9, 10]]
        );
        assert_eq!(ws[1].input, vec![100, 103, 104, 105, 106]);
        assert_eq!(ws[1].stored[0].input_index, 3);
        // stride beyond the window skips tokens; the cap keeps the first windows
        let ws = plan_windows(&t, &params(3, 5, BosPolicy::Drop));
        assert_eq!(stored(&ws), vec![vec![1, 2, 3], vec![6, 7, 8]]);
        let p = TextExtractParams {
            max_windows_per_doc: Some(2),
            ..params(4, 4, BosPolicy::Keep)
        };
        let ws = plan_windows(&t, &p);
        assert_eq!(stored(&ws), vec![vec![0, 1, 2, 3, 4], vec![0, 5, 6, 7, 8]]);
        assert_eq!(ws[1].stored[0].span, (0, 0));
    }

    #[test]
    fn windows_of_a_cls_sep_document() {
        let t = tok(&[true, false, false, false, false, false, true]);
        let ws = plan_windows(&t, &params(3, 3, BosPolicy::Keep));
        assert_eq!(stored(&ws), vec![vec![0, 1, 2, 3, 6], vec![0, 4, 5, 6]]);
        assert_eq!(ws[1].input, vec![100, 104, 105, 106]);
        assert_eq!(ws[1].stored[3].input_index, 3);
        let ws = plan_windows(&t, &params(3, 3, BosPolicy::Drop));
        assert_eq!(stored(&ws), vec![vec![1, 2, 3], vec![4, 5]]);
        assert!(plan_windows(&tok(&[true, true]), &params(3, 3, BosPolicy::Drop)).is_empty());
    }

    #[test]
    fn steps_in_checkpoint_names() {
        assert_eq!(step_of("checkpoint-1000"), Some(1000));
        assert_eq!(step_of("iter_0001000"), Some(1000));
        assert_eq!(step_of("step200-unsharded"), Some(200));
        assert_eq!(step_of("final"), None);
    }

    #[test]
    fn params_are_checked() {
        let e = params(0, 1, BosPolicy::Drop)
            .check()
            .unwrap_err()
            .to_string();
        assert!(e.contains("window"), "{e}");
        let e = TextExtractParams {
            max_windows_per_doc: Some(0),
            ..TextExtractParams::default()
        }
        .check()
        .unwrap_err()
        .to_string();
        assert!(e.contains("max_windows_per_doc"), "{e}");
        assert_eq!("cls".parse::<TokenPooling>().unwrap(), TokenPooling::First);
        assert!("max".parse::<TokenPooling>().is_err());
    }
}
