//! REMI and MIDI-Like against miditok 3.1.0 (default TokenizerConfig): vocabulary, tokens, ids and decoded notes on
//! every golden file; config JSON round trip.

use super::{golden, names, parse};
use mirlens_symbolic::ParseOptions;
use mirlens_symbolic::tokenize::{Scheme, Tokenizer, TokenizerConfig};
use serde_json::Value;

fn schemes() -> [(&'static str, Scheme); 2] {
    [("remi", Scheme::Remi), ("midilike", Scheme::MidiLike)]
}

#[test]
fn vocabularies_equal_miditok() {
    for (key, scheme) in schemes() {
        let tok = Tokenizer::miditok_default(scheme);
        let want: Vec<(String, u64)> = golden()["vocab"][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| (kv[0].as_str().unwrap().to_string(), kv[1].as_u64().unwrap()))
            .collect();
        let got: Vec<(String, u64)> = tok
            .vocab()
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u64))
            .collect();
        assert_eq!(got, want, "{key}");
    }
    assert_eq!(Tokenizer::miditok_default(Scheme::Remi).vocab().len(), 357);
    assert_eq!(
        Tokenizer::miditok_default(Scheme::MidiLike).vocab().len(),
        411
    );
}

fn str_lists(v: &Value) -> Vec<Vec<String>> {
    serde_json::from_value(v.clone()).unwrap()
}

fn notes_of(v: &Value) -> Vec<Vec<[i64; 4]>> {
    v["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let mut n: Vec<[i64; 4]> = t["notes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| [0, 1, 2, 3].map(|i| n[i].as_i64().unwrap()))
                .collect();
            n.sort();
            n
        })
        .collect()
}

#[test]
fn tokens_ids_and_decoding_equal_miditok_on_every_file() {
    let mut files = 0;
    for name in names() {
        let g = &golden()["files"][&name]["miditok"];
        if g.is_null() {
            continue;
        }
        files += 1;
        let score = parse(&name, &ParseOptions::default());
        for (key, scheme) in schemes() {
            let tok = Tokenizer::miditok_default(scheme);
            let seqs = tok.encode(&score).unwrap();
            let tokens: Vec<Vec<String>> = seqs.iter().map(|s| s.tokens.clone()).collect();
            let want = str_lists(&g[key]["tokens"]);
            assert_eq!(tokens.len(), want.len(), "{name} {key}: sequences");
            for (i, (a, b)) in tokens.iter().zip(&want).enumerate() {
                if a != b {
                    let k = a
                        .iter()
                        .zip(b)
                        .position(|(x, y)| x != y)
                        .unwrap_or(a.len().min(b.len()));
                    panic!(
                        "{name} {key} track {i}: first difference at token {k}: got {:?} want {:?}",
                        &a[k.saturating_sub(3)..(k + 3).min(a.len())],
                        &b[k.saturating_sub(3)..(k + 3).min(b.len())]
                    );
                }
            }
            let ids: Vec<Vec<u32>> = seqs.iter().map(|s| s.ids.clone()).collect();
            let want_ids: Vec<Vec<u32>> = serde_json::from_value(g[key]["ids"].clone()).unwrap();
            assert_eq!(ids, want_ids, "{name} {key}: ids");
            // decoding the tokens gives miditok's decoded notes (at 16 ticks per quarter, program 0)
            let dec = tok.decode(&tokens).unwrap();
            let d = &g[key]["decoded"];
            assert_eq!(dec.tpq().unwrap() as i64, d["tpq"].as_i64().unwrap());
            let got: Vec<Vec<[i64; 4]>> = dec
                .tracks
                .iter()
                .map(|t| {
                    let mut n: Vec<[i64; 4]> = t
                        .notes
                        .iter()
                        .map(|n| {
                            [
                                n.start as i64,
                                n.duration() as i64,
                                n.pitch as i64,
                                n.velocity as i64,
                            ]
                        })
                        .collect();
                    n.sort();
                    n
                })
                .collect();
            assert_eq!(got, notes_of(d), "{name} {key}: decoded notes");
            let ts: Vec<[i64; 3]> = dec
                .time_sigs
                .iter()
                .map(|t| [t.tick as i64, t.numerator as i64, t.denominator() as i64])
                .collect();
            let want_ts: Vec<[i64; 3]> = serde_json::from_value(d["time_sigs"].clone()).unwrap();
            assert_eq!(ts, want_ts, "{name} {key}: decoded time signatures");
        }
    }
    assert!(files >= 12, "{files} files compared");
}

#[test]
fn smpte_files_are_refused_and_configs_round_trip() {
    let s = parse("smpte", &ParseOptions::default());
    let e = Tokenizer::miditok_default(Scheme::Remi)
        .encode(&s)
        .unwrap_err();
    assert!(e.to_string().contains("SMPTE"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tok.json");
    let c = TokenizerConfig {
        num_velocities: 16,
        use_time_signatures: false,
        ..Default::default()
    };
    c.save(&p).unwrap();
    let back = TokenizerConfig::load(&p).unwrap();
    assert_eq!(back, c);
    let t = Tokenizer::new(Scheme::Remi, back).unwrap();
    // 4 specials, Bar, 89 pitches, 16 velocities, 64 durations, 32 positions, 62 drums
    assert_eq!(t.vocab().len(), 4 + 1 + 89 + 16 + 64 + 32 + 62);
    std::fs::write(&p, br#"{"num_velocities": 16, "unknown_field": 1}"#).unwrap();
    assert!(TokenizerConfig::load(&p).is_err());
}
