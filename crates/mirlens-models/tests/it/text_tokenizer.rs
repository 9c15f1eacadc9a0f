//! `tokenizer.json` tokenizers against transformers 5.23.0's `AutoTokenizer(dir)(text, add_special_tokens=True,
//! return_offsets_mapping=True)` on a mixed Japanese / English text set (goldens and tokenizers trained by
//! `tests/golden/text_lms/generate.py`): byte-level BPE (GPT-2 style, nothing added), byte-level BPE with RoBERTa's
//! `<s> … </s>`, uncased WordPiece with `[CLS] … [SEP]` (lower-casing and accent stripping move the offsets), NFKC
//! Unigram with a BOS template, and the same Unigram with `add_bos_token` / `add_eos_token` set in
//! `tokenizer_config.json` (which transformers' generic tokenizer class does not apply). Ids, token strings and
//! character offsets must be identical.

use mirlens_models::TextTokenizer;
use mirlens_test_support::golden_dir;

#[test]
fn ids_tokens_and_char_offsets_match_transformers() {
    let dir = golden_dir("text_lms").join("tokenizers");
    let text = std::fs::read_to_string(dir.join("expected.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let toks = v["tokenizers"].as_object().unwrap();
    assert_eq!(toks.len(), 5);
    let mut checked = 0;
    for (name, rows) in toks {
        let tok =
            TextTokenizer::from_dir(&dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        for row in rows.as_array().unwrap() {
            let s = row["text"].as_str().unwrap();
            let enc = tok.encode(s, true).unwrap();
            let ids: Vec<u32> = row["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u32)
                .collect();
            let tokens: Vec<&str> = row["tokens"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            let offsets: Vec<(usize, usize)> = row["offsets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    (
                        o[0].as_u64().unwrap() as usize,
                        o[1].as_u64().unwrap() as usize,
                    )
                })
                .collect();
            assert_eq!(enc.ids, ids, "{name}: ids of {s:?}");
            assert_eq!(enc.tokens, tokens, "{name}: tokens of {s:?}");
            assert_eq!(enc.offsets, offsets, "{name}: offsets of {s:?}");
            checked += 1;
        }
    }
    assert_eq!(checked, 35);
}

#[test]
fn special_tokens_follow_the_post_processor_and_config_flags() {
    let dir = golden_dir("text_lms").join("tokenizers");
    let load = |n: &str| TextTokenizer::from_dir(&dir.join(n)).unwrap();
    let text = "The pianist played.";
    // WordPiece: [CLS] … [SEP], marked special, offsets (0, 0).
    let wp = load("wordpiece_uncased");
    let e = wp.encode(text, true).unwrap();
    assert_eq!(e.tokens.first().map(String::as_str), Some("[CLS]"));
    assert_eq!(e.tokens.last().map(String::as_str), Some("[SEP]"));
    assert!(e.special[0] && *e.special.last().unwrap());
    assert!(e.special[1..e.len() - 1].iter().all(|s| !s));
    assert_eq!(e.offsets[0], (0, 0));
    // Without special tokens nothing is added.
    let plain = wp.encode(text, false).unwrap();
    assert_eq!(plain.ids, e.ids[1..e.len() - 1]);
    // Unigram: BOS only, whatever tokenizer_config.json's add_eos_token says.
    let bos = load("unigram_bos").encode(text, true).unwrap();
    let flags = load("unigram_bos_eos").encode(text, true).unwrap();
    assert_eq!(bos.tokens[0], "<s>");
    assert!(bos.special[0] && !bos.special[1]);
    assert_eq!(flags, bos);
    // The offsets of a Japanese token index characters, not bytes.
    let ja = "昨日、ピアニストは演奏した。";
    let e = load("bpe_bytelevel").encode(ja, true).unwrap();
    assert_eq!(e.offsets.last().unwrap().1, ja.chars().count());
}
