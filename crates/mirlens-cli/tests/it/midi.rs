//! `mirlens midi`: info, roll (equal to pretty_midi get_piano_roll), render (onsets on the score), tokenize and
//! detokenize (equal to miditok), on golden files and on a file written by hand here.

use mirlens_test_support::golden_dir;
use std::path::{Path, PathBuf};
use std::process::Command;

fn mirlens() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mirlens"))
}

fn run(args: &[&str]) -> String {
    let out = mirlens().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "mirlens {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn golden_midi(name: &str) -> PathBuf {
    golden_dir("symbolic")
        .join("midi")
        .join(format!("{name}.mid"))
}

fn golden() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(golden_dir("symbolic").join("golden.json")).unwrap())
        .unwrap()
}

/// A float32 .npy written by `midi roll`: (shape, data).
fn read_npy(p: &Path) -> (Vec<usize>, Vec<f32>) {
    let b = std::fs::read(p).unwrap();
    assert_eq!(&b[..6], b"\x93NUMPY");
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{header}");
    let shape_str = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let shape: Vec<usize> = shape_str
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let data = b[10 + hlen..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (shape, data)
}

/// A file not used anywhere during development: format 1, tpq 96, tempo 100 qpm, 3/4, program 19 (church organ) on
/// channel 3 with running status, a chord, a pedal, and a drum hit on channel 10.
fn hand_written(dir: &Path) -> PathBuf {
    let vlq = |mut n: u32| {
        let mut v = vec![(n & 0x7F) as u8];
        n >>= 7;
        while n > 0 {
            v.insert(0, 0x80 | (n & 0x7F) as u8);
            n >>= 7;
        }
        v
    };
    let mut t0 = Vec::new();
    t0.extend([0x00, 0xFF, 0x51, 0x03, 0x09, 0x27, 0xC0]); // 600,000 µs = 100 qpm
    t0.extend([0x00, 0xFF, 0x58, 0x04, 0x03, 0x02, 0x18, 0x08]); // 3/4
    t0.extend([0x00, 0xFF, 0x2F, 0x00]);
    let mut t1 = vec![0x00, 0xC2, 19, 0x00, 0xB2, 64, 127];
    t1.extend([0x00, 0x92, 60, 90]); // C4
    t1.extend([0x00, 64, 80]); // E4, running status
    t1.extend([0x00, 67, 70]); // G4
    t1.extend(vlq(96));
    t1.extend([60, 0, 0x00, 64, 0, 0x00, 67, 0]); // offs (velocity 0), running status
    t1.extend([0x00, 0x99, 38, 100]); // snare on channel 10
    t1.extend(vlq(48));
    t1.extend([0x89, 38, 0]);
    t1.extend(vlq(48));
    t1.extend([0xB2, 64, 0]); // pedal up at tick 192
    t1.extend([0x00, 0x92, 72, 110]);
    t1.extend(vlq(192));
    t1.extend([0x82, 72, 64]);
    t1.extend([0x00, 0xFF, 0x2F, 0x00]);
    let mut b = b"MThd\0\0\0\x06\0\x01\0\x02\0\x60".to_vec();
    for t in [t0, t1] {
        b.extend(b"MTrk");
        b.extend((t.len() as u32).to_be_bytes());
        b.extend(t);
    }
    let p = dir.join("hand.mid");
    std::fs::write(&p, b).unwrap();
    p
}

#[test]
fn info_reports_tracks_tempo_signatures_on_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = hand_written(dir.path());
    let v: serde_json::Value =
        serde_json::from_str(&run(&["midi", "info", f.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(v["format"], 1);
    assert_eq!(v["division"]["ticks_per_quarter"], 96);
    let s = &v["scores"][0];
    assert_eq!(s["note_count"], 5);
    assert!((s["tempos"][0]["qpm"].as_f64().unwrap() - 100.0).abs() < 1e-9);
    assert_eq!(s["time_signatures"][0]["numerator"], 3);
    assert_eq!(s["time_signatures"][0]["denominator"], 4);
    let tracks = s["tracks"].as_array().unwrap();
    let organ = tracks.iter().find(|t| t["program"] == 19).unwrap();
    assert_eq!(organ["notes"], 4);
    assert_eq!(organ["channel"], 2);
    assert_eq!(organ["gm_family"], "Organ");
    assert_eq!(organ["nsynth_family"], "organ");
    assert_eq!(organ["pedals"], 1);
    let drums = tracks.iter().find(|t| t["is_drum"] == true).unwrap();
    assert_eq!(drums["notes"], 1);
    // duration: last event at tick 384 at 0.6 s per quarter (100 qpm) → 2.4 s
    assert!((s["duration_secs"].as_f64().unwrap() - 2.4).abs() < 1e-9);
    // the text form prints the same facts
    let text = run(&["midi", "info", f.to_str().unwrap()]);
    assert!(
        text.contains("Church Organ") && text.contains("100.00 qpm"),
        "{text}"
    );
}

#[test]
fn roll_on_a_new_file_has_the_pedal_and_velocities() {
    let dir = tempfile::tempdir().unwrap();
    let f = hand_written(dir.path());
    let out = dir.path().join("roll.npy");
    run(&[
        "midi",
        "roll",
        f.to_str().unwrap(),
        "--fs",
        "100",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (shape, d) = read_npy(&out);
    // ends at tick 384 = 2.4 s → 240 frames
    assert_eq!(shape, vec![128, 240]);
    let at = |p: usize, t: usize| d[p * 240 + t];
    // the chord lasts 96 ticks = 0.6 s, held by the pedal until tick 192 = 1.2 s (frame 120)
    assert_eq!(at(60, 0), 90.0);
    assert_eq!(at(64, 100), 80.0);
    assert_eq!(at(67, 119), 70.0);
    assert_eq!(at(67, 120), 0.0);
    assert_eq!(at(72, 120), 110.0);
    assert_eq!(at(38, 10), 0.0, "drums are not in the roll");
    // onsets at 50 frames/s
    let on = dir.path().join("on.npy");
    run(&[
        "midi",
        "roll",
        f.to_str().unwrap(),
        "--fs",
        "50",
        "--kind",
        "onset",
        "--out",
        on.to_str().unwrap(),
    ]);
    let (shape, d) = read_npy(&on);
    assert_eq!(shape, vec![128, 120]);
    let hits: Vec<(usize, usize)> = (0..128)
        .flat_map(|p| (0..120).map(move |t| (p, t)))
        .filter(|&(p, t)| d[p * 120 + t] == 1.0)
        .collect();
    assert_eq!(hits, vec![(60, 0), (64, 0), (67, 0), (72, 60)]);
}

#[test]
fn roll_equals_pretty_midi_get_piano_roll() {
    let g = golden();
    let dir = tempfile::tempdir().unwrap();
    for name in ["mixed", "pedal", "tempo_changes"] {
        let out = dir.path().join(format!("{name}.npy"));
        run(&[
            "midi",
            "roll",
            golden_midi(name).to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        let (shape, d) = read_npy(&out);
        let want = &g["files"][name]["pretty_midi"]["rolls"]["100"];
        let wshape: Vec<usize> = serde_json::from_value(want["shape"].clone()).unwrap();
        assert_eq!(shape, wshape, "{name}");
        let mut w = vec![0f32; shape[0] * shape[1]];
        for e in want["nz"].as_array().unwrap() {
            w[e[0].as_u64().unwrap() as usize * shape[1] + e[1].as_u64().unwrap() as usize] =
                e[2].as_f64().unwrap() as f32;
        }
        assert_eq!(d, w, "{name}");
    }
}

#[test]
fn render_puts_onsets_where_the_score_has_them() {
    let dir = tempfile::tempdir().unwrap();
    let f = hand_written(dir.path());
    let out = dir.path().join("a.wav");
    let msg = run(&[
        "midi",
        "render",
        f.to_str().unwrap(),
        "--sr",
        "16000",
        "--additive",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(msg.contains("additive"), "{msg}");
    let b = std::fs::read(&out).unwrap();
    let pcm: Vec<i16> = b[44..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    // the second organ onset: tick 192 at 100 qpm = 1.2 s = sample 19,200; the chord was released at 0.6 s (the
    // renderer does not apply the pedal)
    assert!(
        pcm[18_200..19_201].iter().all(|&x| x == 0),
        "silence before the onset"
    );
    assert!(
        pcm[19_201..19_300].iter().any(|&x| x != 0),
        "sound right after it"
    );
    // length: last note end (2.4 s) + 1 s
    assert_eq!(pcm.len(), 54_400);
}

#[test]
fn tokenize_equals_miditok_and_detokenize_writes_a_midi_file() {
    let g = golden();
    let dir = tempfile::tempdir().unwrap();
    for (scheme, key) in [("remi", "remi"), ("midilike", "midilike")] {
        let out = dir.path().join(format!("{scheme}.json"));
        run(&[
            "midi",
            "tokenize",
            golden_midi("drums").to_str().unwrap(),
            "--scheme",
            scheme,
            "--out",
            out.to_str().unwrap(),
        ]);
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(
            v["tokens"], g["files"]["drums"]["miditok"][key]["tokens"],
            "{scheme}"
        );
        assert_eq!(
            v["ids"], g["files"]["drums"]["miditok"][key]["ids"],
            "{scheme}"
        );
        let mid = dir.path().join(format!("{scheme}.mid"));
        run(&[
            "midi",
            "detokenize",
            out.to_str().unwrap(),
            "--scheme",
            scheme,
            "--out",
            mid.to_str().unwrap(),
        ]);
        let info: serde_json::Value =
            serde_json::from_str(&run(&["midi", "info", mid.to_str().unwrap(), "--json"])).unwrap();
        // drums (48 hits) and bass (8 notes), both decoded as program 0 like miditok
        assert_eq!(info["scores"][0]["note_count"], 56, "{scheme}");
        assert_eq!(info["division"]["ticks_per_quarter"], 16);
    }
    // a new file tokenizes too, and its tokens decode back to its five notes (snapped to the 1/8-beat grid)
    let f = hand_written(dir.path());
    let out = dir.path().join("hand.json");
    run(&[
        "midi",
        "tokenize",
        f.to_str().unwrap(),
        "--scheme",
        "remi",
        "--out",
        out.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let first: Vec<String> = serde_json::from_value(v["tokens"][0].clone()).unwrap();
    assert_eq!(
        &first[..6],
        &[
            "Bar_None",
            "TimeSig_3/4",
            "Position_0",
            "Pitch_60",
            "Velocity_91",
            "Duration_1.0.8"
        ]
    );
}

#[test]
fn bad_input_names_the_file_and_byte() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("broken.mid");
    std::fs::write(
        &p,
        b"MThd\0\0\0\x06\0\x01\0\x01\x01\xe0MTrk\0\0\0\x04\x00\x40\x40\x40",
    )
    .unwrap();
    let out = mirlens()
        .args(["midi", "info", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.mid") && err.contains("byte 23"),
        "{err}"
    );
}

#[test]
fn the_token_vocabulary_loads_as_a_text_tokenizer_with_miditok_ids() {
    let g = golden();
    let dir = tempfile::tempdir().unwrap();
    for scheme in ["remi", "midilike"] {
        let tj = dir.path().join(format!("{scheme}-tokenizer.json"));
        run(&[
            "midi",
            "vocab",
            "--scheme",
            scheme,
            "--out",
            tj.to_str().unwrap(),
        ]);
        let tok = mirlens_models::TextTokenizer::from_file(&tj).unwrap();
        assert_eq!(tok.vocab_size(), if scheme == "remi" { 357 } else { 411 });
        let mut checked = 0;
        for file in ["drums", "mixed", "tempo_changes"] {
            let want = &g["files"][file]["miditok"][scheme];
            for (tokens, ids) in want["tokens"]
                .as_array()
                .unwrap()
                .iter()
                .zip(want["ids"].as_array().unwrap())
            {
                let text: Vec<&str> = tokens
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap())
                    .collect();
                let enc = tok.encode(&text.join(" "), true).unwrap();
                let want_ids: Vec<u32> = ids
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i.as_u64().unwrap() as u32)
                    .collect();
                assert_eq!(enc.ids, want_ids, "{file} {scheme}");
                checked += want_ids.len();
            }
        }
        assert!(checked > 100, "{checked}");
        // a token outside the vocabulary is an error, not a silent unknown id
        assert!(tok.encode("Bar_None Pitch_200", true).is_err());
    }
}

/// `midi docs` on a manifest with MIDI files (one clip without): one document per clip with a MIDI file, its REMI
/// tokens equal to `midi tokenize`'s, the clip's labels kept, and every Pitch token labelled with its pitch.
#[test]
fn docs_turn_manifest_midi_files_into_labelled_token_documents() {
    let dir = tempfile::tempdir().unwrap();
    let a = hand_written(dir.path());
    let manifest = dir.path().join("m.jsonl");
    std::fs::write(
        &manifest,
        format!(
            "{{\"id\":\"a\",\"path\":\"a.wav\",\"midi\":{:?},\"labels\":{{\"key\":\"C major\"}}}}\n\
             {{\"id\":\"b\",\"path\":\"b.wav\",\"labels\":{{\"key\":\"D major\"}}}}\n",
            a.display().to_string()
        ),
    )
    .unwrap();
    let out = dir.path().join("docs.jsonl");
    let stdout = run(&[
        "midi",
        "docs",
        "--dataset",
        manifest.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        stdout.contains("1 documents") && stdout.contains("1 clips skipped"),
        "{stdout}"
    );
    let toks_json = dir.path().join("t.json");
    run(&[
        "midi",
        "tokenize",
        a.to_str().unwrap(),
        "--scheme",
        "remi",
        "--out",
        toks_json.to_str().unwrap(),
    ]);
    let toks: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&toks_json).unwrap()).unwrap();
    let expected: Vec<String> = toks["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t.as_array().unwrap().iter())
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let ds = mirlens_datasets::TextDataset::read(&out).unwrap();
    assert_eq!(ds.len(), 1);
    let d = &ds.documents[0];
    assert_eq!(d.id, "a");
    assert_eq!(
        d.labels["key"],
        mirlens_core::LabelValue::Str("C major".into())
    );
    let words: Vec<&str> = d.text.split(' ').collect();
    assert_eq!(words, expected);
    // Velocity and Duration tokens carry the pitch of the Pitch token before them (none after a PitchDrum)
    let mut cur = None;
    let mut pitched = 0;
    for (w, p) in words.iter().zip(&d.word_labels["note_pitch"]) {
        let (ty, v) = w.split_once('_').unwrap();
        let expect = match ty {
            "Pitch" => {
                cur = Some(mirlens_core::LabelValue::Int(v.parse().unwrap()));
                pitched += 1;
                cur.clone()
            }
            "Velocity" | "Duration" => cur.clone(),
            _ => {
                cur = None;
                None
            }
        };
        assert_eq!(p, &expect, "{w}");
    }
    assert!(pitched > 0);
}
