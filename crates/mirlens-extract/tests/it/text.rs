//! Token-level extraction of the golden tiny Llama (Unigram tokenizer with a BOS template) and BERT (WordPiece,
//! `[CLS] … [SEP]`) on planted bilingual documents: stored rows against the model run on each window alone, spans
//! against the tokenizer, window / stride / BOS rules, pooling, bad documents and resumption.

use mirlens_core::{LabelValue, LayerId, LayerSelection, Tolerance};
use mirlens_datasets::{TextDataset, TextDocument};
use mirlens_extract::text::{
    BosPolicy, TextExtractParams, TextSource, TokenPooling, extract_text, text_model_identity,
};
use mirlens_extract::{ModelIdentity, Progress};
use mirlens_models::{
    LoadOptions, TextModel, TextTokenizer, TokenEncodeOptions, TokenEncoder, TokenizedText,
};
use mirlens_store::{LabelData, LabelKind, RowUnit, SpanUnit, Store};
use mirlens_test_support::{assert_close, dir_files, golden_dir};
use std::path::Path;

fn load(name: &str) -> (TextModel, TextTokenizer, ModelIdentity) {
    let dir = golden_dir("text_lms").join("models").join(name);
    let model = TextModel::load(&dir, &LoadOptions::default()).unwrap();
    let tok = TextTokenizer::from_dir(&dir).unwrap();
    let id = text_model_identity(name, None, &dir, &dir.join("tokenizer.json")).unwrap();
    (model, tok, id)
}

const EN: [&str; 4] = [
    "The pianist played a quiet nocturne yesterday. My sister recorded the new symphony in Tokyo.",
    "Our teacher listened to an old folk song before dinner.",
    "The drummer performed the jazz standard at the festival! A young violinist practised three short etudes with great care. The orchestra composed the new symphony yesterday.",
    "",
];
const JA: [&str; 3] = [
    "昨日、ピアニストは静かな夜想曲を演奏した。東京で私の姉は新しい交響曲を録音した。",
    "お祭りでドラマーがジャズの名曲を聴いた。",
    "夕食の前に先生は古い民謡を練習しました。とても丁寧にオーケストラは短い練習曲を三つ作曲しました！",
];

/// Seven documents, alternating languages, with a `lang` label; document 6 is empty (a bad document).
fn dataset() -> TextDataset {
    let mut docs = Vec::new();
    for i in 0..3 {
        docs.push(
            TextDocument::new(format!("en{i}"), EN[i])
                .with_label("lang", LabelValue::Str("en".into())),
        );
        docs.push(
            TextDocument::new(format!("ja{i}"), JA[i])
                .with_label("lang", LabelValue::Str("ja".into())),
        );
    }
    docs.push(TextDocument::new("empty", EN[3]).with_label("lang", LabelValue::Str("en".into())));
    let mut ds = TextDataset {
        documents: docs,
        ..TextDataset::default()
    };
    ds.label_schema
        .insert("lang", mirlens_datasets::LabelType::String);
    ds
}

fn params(window: usize, stride: usize, bos: BosPolicy) -> TextExtractParams {
    TextExtractParams {
        layers: LayerSelection::Some(vec![LayerId(0), LayerId(2), LayerId(3)]),
        window,
        stride,
        bos,
        docs_per_shard: 2,
        batch_size: 1,
        ..TextExtractParams::default()
    }
}

fn run(name: &str, p: &TextExtractParams, out: &Path) -> mirlens_extract::ExtractSummary {
    let (model, tok, id) = load(name);
    let ds = dataset();
    let src = TextSource {
        name: "docs.jsonl".into(),
        dataset: &ds,
    };
    extract_text(&model, &tok, &id, &src, p, out, &mut |_| {}).unwrap()
}

fn ints(d: &LabelData) -> &[i64] {
    match d {
        LabelData::Integer(v) => v,
        other => panic!("not integers: {other:?}"),
    }
}

/// Expected rows, computed without the library's window planner: BOS + body[s..s + w] for s = 0, w, 2w, …
#[test]
fn stored_rows_equal_the_model_on_each_window() {
    let dir = tempfile::tempdir().unwrap();
    let p = params(8, 8, BosPolicy::Drop);
    let s = run("llama_gqa_tied", &p, dir.path());
    let (model, tok, _) = load("llama_gqa_tied");
    let store = Store::open(dir.path()).unwrap();
    let m = store.manifest();
    assert_eq!(m.layout.modality, mirlens_store::Modality::Text);
    assert_eq!(m.layout.row_unit, RowUnit::Token);
    assert_eq!(m.layout.span_unit, SpanUnit::Chars);
    assert_eq!(m.bad_clips.len(), 1);
    assert_eq!(m.bad_clips[0].clip_id, "empty");
    assert_eq!(m.bad_clips[0].reason, "the text gives no tokens");
    let clips = store.row_clips().unwrap().to_vec();
    let pos = store.positions().unwrap().to_vec();
    let (starts, ends) = store.spans().unwrap();
    let (starts, ends) = (starts.to_vec(), ends.to_vec());
    let token_id = ints(store.row_label("token_id").unwrap()).to_vec();
    let window = ints(store.row_label("window").unwrap()).to_vec();
    let classes = match &m.layout.label_schema.get("token").unwrap().kind {
        LabelKind::Categorical { classes } => classes.clone(),
        k => panic!("{k:?}"),
    };
    let codes = match store.row_label("token").unwrap() {
        LabelData::Codes(c) => c.to_vec(),
        d => panic!("{d:?}"),
    };
    let layers: Vec<Vec<f32>> = [0, 2, 3]
        .iter()
        .map(|&l| store.read_layer(LayerId(l)).unwrap().0)
        .collect();
    let ds = dataset();
    let mut r = 0usize;
    let mut windows_run = 0;
    for (i, doc) in ds.documents.iter().enumerate().take(6) {
        let t: TokenizedText = tok.encode(&doc.text, true).unwrap();
        assert!(t.special[0] && !t.special[1..].iter().any(|&s| s));
        let body: Vec<usize> = (1..t.len()).collect();
        for (w, chunk) in body.chunks(8).enumerate() {
            let mut input = vec![t.ids[0]];
            input.extend(chunk.iter().map(|&k| t.ids[k]));
            let a = model
                .encode_tokens(&input, &p.layers, &TokenEncodeOptions::default())
                .unwrap();
            windows_run += 1;
            for (j, &k) in chunk.iter().enumerate() {
                assert_eq!(clips[r], i as u32);
                assert_eq!(pos[r] as usize, k);
                assert_eq!(
                    (starts[r], ends[r]),
                    (t.offsets[k].0 as f64, t.offsets[k].1 as f64)
                );
                assert_eq!(token_id[r], t.ids[k] as i64);
                assert_eq!(classes[codes[r] as usize], t.tokens[k]);
                assert_eq!(window[r], w as i64);
                for (li, (_, v)) in a.layers.iter().enumerate() {
                    let d = a.hidden;
                    assert_eq!(
                        &layers[li][r * d..(r + 1) * d],
                        &v[(j + 1) * d..(j + 2) * d],
                        "doc {i} window {w} token {j} layer {li}"
                    );
                }
                r += 1;
            }
        }
    }
    assert_eq!(r, store.num_rows());
    assert_eq!(s.manifest.num_clips, 6);
    assert!(windows_run >= 12, "{windows_run} windows");
    // document labels stay on the clip table
    let row_meta = &store.rows()[r - 1];
    assert_eq!(row_meta.labels["lang"], LabelValue::Str("ja".into()));
    // batching windows (right-padded, masked) changes values by float rounding only
    let dir4 = tempfile::tempdir().unwrap();
    run(
        "llama_gqa_tied",
        &TextExtractParams {
            batch_size: 4,
            ..p.clone()
        },
        dir4.path(),
    );
    let s4 = Store::open(dir4.path()).unwrap();
    assert_eq!(s4.positions().unwrap(), &pos[..]);
    for (li, l) in [0, 2, 3].iter().enumerate() {
        let rep = assert_close(
            "batched windows",
            &s4.read_layer(LayerId(*l)).unwrap().0,
            &layers[li],
            Tolerance::EXACT_F32,
        );
        eprintln!("layer {l}: batched vs alone max |Δ| {:.2e}", rep.max_abs);
    }
}

#[test]
fn window_stride_and_bos_rules_on_cls_sep_documents() {
    let (_, tok, _) = load("bert");
    let ds = dataset();
    // keep: [CLS] and [SEP] are rows of every window; overlapping windows store each body token once
    let dir = tempfile::tempdir().unwrap();
    let p = TextExtractParams {
        max_windows_per_doc: Some(3),
        ..params(6, 4, BosPolicy::Keep)
    };
    run("bert", &p, dir.path());
    let store = Store::open(dir.path()).unwrap();
    let clips = store.row_clips().unwrap();
    let pos = store.positions().unwrap();
    let wpos = ints(store.row_label("window_pos").unwrap());
    let t = tok.encode(&ds.documents[4].text, true).unwrap();
    let n = t.len();
    assert!(n > 16, "document en2 has {n} tokens");
    let rows: Vec<usize> = (0..clips.len()).filter(|&r| clips[r] == 4).collect();
    let got: Vec<u32> = rows.iter().map(|&r| pos[r]).collect();
    // window 0: body 0..6, window 1: body 4..10 stores 6..10, window 2: body 8..14 stores 10..14
    let mut want = vec![0u32];
    want.extend(1..=6);
    want.push(n as u32 - 1);
    want.push(0);
    want.extend(7..=10);
    want.push(n as u32 - 1);
    want.push(0);
    want.extend(11..=14);
    want.push(n as u32 - 1);
    assert_eq!(got, want);
    let wp: Vec<i64> = rows.iter().map(|&r| wpos[r]).collect();
    assert_eq!(
        wp,
        [0, 1, 2, 3, 4, 5, 6, 7, 0, 3, 4, 5, 6, 7, 0, 3, 4, 5, 6, 7]
    );
    // drop: only body tokens, the same body positions
    let dir2 = tempfile::tempdir().unwrap();
    run(
        "bert",
        &TextExtractParams {
            bos: BosPolicy::Drop,
            ..p
        },
        dir2.path(),
    );
    let s2 = Store::open(dir2.path()).unwrap();
    let c2 = s2.row_clips().unwrap();
    let p2: Vec<u32> = (0..c2.len())
        .filter(|&r| c2[r] == 4)
        .map(|r| s2.positions().unwrap()[r])
        .collect();
    assert_eq!(p2, (1..=14).collect::<Vec<u32>>());
}

#[test]
fn pooling_reduces_each_document_to_one_row() {
    let dir = tempfile::tempdir().unwrap();
    let base = params(8, 8, BosPolicy::Drop);
    run("llama_gqa_tied", &base, dir.path());
    let tokens = Store::open(dir.path()).unwrap();
    let clips = tokens.row_clips().unwrap().to_vec();
    let x = tokens.read_layer(LayerId(2)).unwrap().0;
    let d = tokens.hidden_size();
    for pool in [TokenPooling::Mean, TokenPooling::First, TokenPooling::Last] {
        let pd = tempfile::tempdir().unwrap();
        run(
            "llama_gqa_tied",
            &TextExtractParams {
                pooling: pool,
                ..base.clone()
            },
            pd.path(),
        );
        let s = Store::open(pd.path()).unwrap();
        assert_eq!(s.manifest().layout.row_unit, RowUnit::Clip);
        assert_eq!(s.num_rows(), 6);
        assert!(s.manifest().layout.label_schema.get("token_id").is_none());
        let y = s.read_layer(LayerId(2)).unwrap().0;
        for (k, &c) in s.row_clips().unwrap().iter().enumerate() {
            let rows: Vec<usize> = (0..clips.len()).filter(|&r| clips[r] == c).collect();
            let want: Vec<f32> = match pool {
                TokenPooling::First => x[rows[0] * d..(rows[0] + 1) * d].to_vec(),
                TokenPooling::Last => {
                    let r = *rows.last().unwrap();
                    x[r * d..(r + 1) * d].to_vec()
                }
                _ => (0..d)
                    .map(|j| {
                        (rows.iter().map(|&r| x[r * d + j] as f64).sum::<f64>() / rows.len() as f64)
                            as f32
                    })
                    .collect(),
            };
            assert_close(
                &format!("{pool} pooling of doc {c}"),
                &y[k * d..(k + 1) * d],
                &want,
                Tolerance::EXACT_F32,
            );
        }
    }
}

#[test]
fn an_interrupted_run_resumes_to_identical_files() {
    let p = params(8, 8, BosPolicy::Drop);
    let whole = tempfile::tempdir().unwrap();
    run("llama_gqa_tied", &p, whole.path());
    let dir = tempfile::tempdir().unwrap();
    let (model, tok, id) = load("llama_gqa_tied");
    let ds = dataset();
    let src = TextSource {
        name: "docs.jsonl".into(),
        dataset: &ds,
    };
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut n = 0;
        extract_text(&model, &tok, &id, &src, &p, dir.path(), &mut |e| {
            if matches!(e, Progress::Shard { .. }) {
                n += 1;
                if n == 2 {
                    panic!("interrupted");
                }
            }
        })
    }));
    assert!(r.is_err());
    // a torn shard in flight: a stray temp file is cleaned up on resume
    std::fs::write(
        dir.path()
            .join("layer-002")
            .join(".tmp-shard-00002.safetensors.1.1"),
        b"xx",
    )
    .unwrap();
    let mut events = Vec::new();
    let s = extract_text(&model, &tok, &id, &src, &p, dir.path(), &mut |e| {
        events.push(e.clone())
    })
    .unwrap();
    assert_eq!((s.shards_resumed, s.shards_written), (2, 2));
    assert_eq!(
        events[0],
        Progress::Start {
            clips_total: 7,
            clips_done: 4,
            shards_total: 4,
            shards_done: 2
        }
    );
    assert!(dir_files(whole.path()) == dir_files(dir.path()));
    // a different window is a different store
    let e = extract_text(
        &model,
        &tok,
        &id,
        &src,
        &params(16, 16, BosPolicy::Drop),
        dir.path(),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("model_card"), "{e}");
}

#[test]
fn a_window_longer_than_the_positions_is_refused() {
    // BERT has 64 positions: 63 body tokens + [CLS] + [SEP] do not fit
    let (model, tok, id) = load("bert");
    let mut ds = dataset();
    ds.documents[4].text = [EN[2]; 3].join(" ");
    let src = TextSource {
        name: "docs.jsonl".into(),
        dataset: &ds,
    };
    let dir = tempfile::tempdir().unwrap();
    let e = extract_text(
        &model,
        &tok,
        &id,
        &src,
        &params(63, 63, BosPolicy::Drop),
        dir.path(),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("window") && e.contains("64 positions"), "{e}");
}

#[test]
fn parts_merge_to_the_single_job_store() {
    let p = params(8, 8, BosPolicy::Drop);
    let whole = tempfile::tempdir().unwrap();
    run("llama_gqa_tied", &p, whole.path());
    let t = tempfile::tempdir().unwrap();
    let parts: Vec<std::path::PathBuf> = (0..2)
        .map(|i| {
            let dir = t.path().join(format!("part{i}"));
            run(
                "llama_gqa_tied",
                &TextExtractParams {
                    part: mirlens_store::Part { index: i, count: 2 },
                    ..p.clone()
                },
                &dir,
            );
            dir
        })
        .collect();
    let out = t.path().join("merged");
    mirlens_extract::merge(&parts, &out).unwrap();
    assert!(dir_files(whole.path()) == dir_files(&out));
}

/// Word labels become row labels: each stored token takes the label of the word its span starts in (a leading
/// space belongs to the word after it), checked against the words of the text computed here.
#[test]
fn word_labels_follow_the_token_spans() {
    let dir = tempfile::tempdir().unwrap();
    let (model, tok, id) = load("llama_gqa_tied");
    let docs: Vec<TextDocument> = EN[..3]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let words: Vec<&str> = t.split_whitespace().collect();
            TextDocument::new(format!("en{i}"), *t)
                .with_word_labels(
                    "word_index",
                    (0..words.len())
                        .map(|k| (k % 3 != 2).then_some(LabelValue::Int(k as i64)))
                        .collect(),
                )
                .with_word_labels(
                    "initial",
                    words
                        .iter()
                        .map(|w| Some(LabelValue::Str(w[..1].to_string())))
                        .collect(),
                )
        })
        .collect();
    let ds = TextDataset::from_documents(docs, Default::default(), Path::new("w.jsonl")).unwrap();
    let src = TextSource {
        name: "w.jsonl".into(),
        dataset: &ds,
    };
    let p = params(8, 8, BosPolicy::Drop);
    extract_text(&model, &tok, &id, &src, &p, dir.path(), &mut |_| {}).unwrap();
    let store = Store::open(dir.path()).unwrap();
    let clips = store.row_clips().unwrap().to_vec();
    let (starts, ends) = store.spans().unwrap();
    let wi = ints(store.row_label("word_index").unwrap()).to_vec();
    let classes = match &store
        .manifest()
        .layout
        .label_schema
        .get("initial")
        .unwrap()
        .kind
    {
        LabelKind::Categorical { classes } => classes.clone(),
        k => panic!("{k:?}"),
    };
    let initial = match store.row_label("initial").unwrap() {
        LabelData::Codes(c) => c.to_vec(),
        d => panic!("{d:?}"),
    };
    let mut checked = 0;
    for r in 0..clips.len() {
        let text: Vec<char> = EN[clips[r] as usize].chars().collect();
        let (s, e) = (starts[r] as usize, ends[r] as usize);
        assert!(e > s);
        // the word of the first non-space character from the span's start (a span of spaces belongs to the
        // word after it)
        let first = (s..text.len()).find(|&i| !text[i].is_whitespace()).unwrap();
        let word = text[..=first]
            .iter()
            .enumerate()
            .filter(|(i, c)| !c.is_whitespace() && (*i == 0 || text[i - 1].is_whitespace()))
            .count()
            - 1;
        let expect = if word % 3 != 2 {
            word as i64
        } else {
            mirlens_store::table::MISSING_INT
        };
        assert_eq!(wi[r], expect, "row {r}");
        let w: String = text[first..]
            .iter()
            .take_while(|c| !c.is_whitespace())
            .collect();
        let start_of_word: String = text[..=first]
            .iter()
            .rev()
            .take_while(|c| !c.is_whitespace())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let initial_char = start_of_word.chars().next().or(w.chars().next()).unwrap();
        assert_eq!(
            classes[initial[r] as usize],
            initial_char.to_string(),
            "row {r}"
        );
        checked += 1;
    }
    assert!(checked > 40, "{checked}");
    // pooled stores carry no word labels
    let dir2 = tempfile::tempdir().unwrap();
    let pooled = TextExtractParams {
        pooling: TokenPooling::Mean,
        ..params(8, 8, BosPolicy::Drop)
    };
    extract_text(&model, &tok, &id, &src, &pooled, dir2.path(), &mut |_| {}).unwrap();
    let store = Store::open(dir2.path()).unwrap();
    assert!(
        store
            .manifest()
            .layout
            .label_schema
            .get("word_index")
            .is_none()
    );
}
