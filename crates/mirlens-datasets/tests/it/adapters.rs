//! Each adapter on a tiny fixture tree with the real layout (tests/fixtures, made by generate.py), plus broken
//! copies: missing files and malformed metadata must give errors naming the file and line.

use mirlens_core::LabelValue;
use mirlens_datasets::adapters::{
    csv, folder, giantsteps, gtzan, jamendo, maestro, midi_folder, nsynth,
};
use mirlens_datasets::{DatasetError, Split};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Copies a fixture tree into a temp dir so that a test can break it.
fn copy_fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    fn cp(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            let t = to.join(p.file_name().unwrap());
            if p.is_dir() {
                cp(&p, &t)
            } else {
                std::fs::copy(&p, &t).unwrap();
            }
        }
    }
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join(name);
    cp(&fixture(name), &root);
    (d, root)
}

fn s(v: &str) -> LabelValue {
    LabelValue::Str(v.into())
}

#[test]
fn nsynth_reads_fields_and_splits() {
    let b = nsynth::build(&fixture("nsynth")).unwrap();
    let m = &b.manifest;
    assert_eq!(m.len(), 4);
    let g = m.get("guitar_acoustic_010-060-100").unwrap();
    assert_eq!(g.split, Some(Split::Test));
    assert_eq!(g.labels["pitch"], LabelValue::Int(60));
    assert_eq!(g.labels["velocity"], LabelValue::Int(100));
    assert_eq!(g.labels["instrument_family"], s("guitar"));
    assert_eq!(g.labels["instrument_family_id"], LabelValue::Int(3));
    assert_eq!(g.labels["instrument_source"], s("acoustic"));
    assert_eq!(g.labels["instrument"], s("guitar_acoustic_010"));
    assert_eq!(
        g.labels["qualities"],
        LabelValue::Tags(vec!["bright".into(), "percussive".into()])
    );
    assert!(
        g.path
            .ends_with("nsynth-test/audio/guitar_acoustic_010-060-100.wav")
    );
    assert_eq!(
        m.get("keyboard_electronic_001-048-075").unwrap().split,
        Some(Split::Valid)
    );
    // a single split folder works too
    assert_eq!(
        nsynth::build(&fixture("nsynth/nsynth-test"))
            .unwrap()
            .manifest
            .len(),
        3
    );
}

#[test]
fn nsynth_errors_name_file_and_line() {
    let (_d, root) = copy_fixture("nsynth");
    let meta = root.join("nsynth-test/examples.json");
    std::fs::remove_file(root.join("nsynth-test/audio/vocal_acoustic_000-069-127.wav")).unwrap();
    let e = nsynth::build(&root).unwrap_err();
    let text = std::fs::read_to_string(&meta).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("\"vocal_acoustic_000-069-127\": {"))
        .unwrap()
        + 1;
    match &e {
        DatasetError::MissingFile {
            path,
            line: l,
            missing,
        } => {
            assert_eq!(path, &meta);
            assert_eq!(*l, line);
            assert!(missing.ends_with("vocal_acoustic_000-069-127.wav"));
        }
        other => panic!("unexpected {other}"),
    }
    // wrong type: pitch as a string
    let bad = text.replacen("\"pitch\": 60", "\"pitch\": \"C4\"", 1);
    std::fs::write(&meta, &bad).unwrap();
    let e = nsynth::build(&root).unwrap_err().to_string();
    assert!(
        e.contains("examples.json:") && e.contains("label `pitch` should be int but is string"),
        "{e}"
    );
    // truncated JSON
    std::fs::write(&meta, &text[..text.len() / 2]).unwrap();
    let e = nsynth::build(&root).unwrap_err();
    assert!(
        matches!(&e, DatasetError::Parse { path, line, .. } if path == &meta && *line > 1),
        "{e}"
    );
    // not an NSynth tree
    let e = nsynth::build(&fixture("gtzan")).unwrap_err().to_string();
    assert!(e.contains("not a nsynth layout"), "{e}");
}

#[test]
fn gtzan_with_user_lists_and_no_split() {
    let root = fixture("gtzan");
    let b = gtzan::build(&root, &gtzan::GtzanSplits::Lists(root.join("splits"))).unwrap();
    let m = &b.manifest;
    assert_eq!(m.len(), 5);
    let e = m.get("jazz/jazz.00001").unwrap();
    assert_eq!(e.split, Some(Split::Test));
    assert_eq!(e.labels["genre"], s("jazz"));
    assert_eq!(m.split(Split::Train).count(), 2);
    let all = gtzan::build(&root, &gtzan::GtzanSplits::None)
        .unwrap()
        .manifest;
    assert_eq!(all.len(), 5);
    assert!(all.entries.iter().all(|e| e.split.is_none()));
}

#[test]
fn gtzan_published_filtered_list_names_and_marble_exclusion() {
    let (_d, root) = copy_fixture("gtzan");
    let lists = root.join("published");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::write(
        lists.join("train_filtered.txt"),
        "blues/blues.00000.wav\njazz/jazz.00054.wav\n",
    )
    .unwrap();
    std::fs::write(lists.join("test_filtered.txt"), "jazz/jazz.00001.wav\n").unwrap();
    std::fs::copy(
        root.join("genres/jazz/jazz.00000.wav"),
        root.join("genres/jazz/jazz.00054.wav"),
    )
    .unwrap();
    let b = gtzan::build(&root, &gtzan::GtzanSplits::Lists(lists.clone())).unwrap();
    assert_eq!(b.manifest.len(), 3);
    assert_eq!(
        b.manifest.get("jazz/jazz.00054").unwrap().split,
        Some(Split::Train)
    );
    let m = gtzan::build(&root, &gtzan::GtzanSplits::ListsMarble(lists.clone())).unwrap();
    assert_eq!(m.manifest.len(), 2);
    assert!(m.manifest.get("jazz/jazz.00054").is_none());
    assert_eq!(m.skipped.len(), 1);
    assert_eq!(m.skipped[0].id, "jazz/jazz.00054.wav");
    assert_eq!(m.skipped[0].line, 2);
    // an empty folder is a layout error naming the folder
    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = gtzan::build(&root, &gtzan::GtzanSplits::Lists(empty))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no split lists"), "{e}");
}

#[test]
fn gtzan_errors_name_list_and_line() {
    let (_d, root) = copy_fixture("gtzan");
    std::fs::write(
        root.join("splits/valid.txt"),
        "blues/blues.00001.wav\nblues/blues.00009.wav\n",
    )
    .unwrap();
    let e = gtzan::build(&root, &gtzan::GtzanSplits::Lists(root.join("splits"))).unwrap_err();
    assert!(
        matches!(&e, DatasetError::MissingFile { line: 2, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("valid.txt:2"), "{e}");
    std::fs::write(root.join("splits/test.txt"), "blues.00002.wav\n").unwrap();
    std::fs::write(root.join("splits/valid.txt"), "").unwrap();
    let e = gtzan::build(&root, &gtzan::GtzanSplits::Lists(root.join("splits")))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("test.txt:1: expected `<genre>/<file>.wav`"),
        "{e}"
    );
    // the same clip in two lists is a duplicate id
    std::fs::write(root.join("splits/test.txt"), "blues/blues.00000.wav\n").unwrap();
    let e = gtzan::build(&root, &gtzan::GtzanSplits::Lists(root.join("splits")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("duplicate clip id `blues/blues.00000`"), "{e}");
}

#[test]
fn giantsteps_test_set_normalises_enharmonics() {
    let root = fixture("giantsteps-key");
    let m = giantsteps::build(&root).unwrap().manifest;
    assert_eq!(m.len(), 3);
    let k = |id: &str| m.get(id).unwrap().labels["key"].clone();
    assert_eq!(k("1000.LOFI"), s("A# major"));
    assert_eq!(k("1001.LOFI"), s("F# minor"));
    // Gb major and F# minor share the tonic
    assert_eq!(k("1002.LOFI"), s("F# major"));
    assert_eq!(
        m.get("1001.LOFI").unwrap().labels["key_class"],
        LabelValue::Int(6 + 12)
    );
    assert!(
        m.get("1000.LOFI")
            .unwrap()
            .path
            .ends_with("audio/1000.LOFI.mp3")
    );
    // the headered annotations/giantsteps form gives the same keys
    let (_d, root) = copy_fixture("giantsteps-key");
    std::fs::remove_dir_all(root.join("annotations/key")).unwrap();
    let m = giantsteps::build(&root).unwrap().manifest;
    assert_eq!(m.get("1000.LOFI").unwrap().labels["key"], s("A# major"));
    // malformed key
    std::fs::write(
        root.join("annotations/giantsteps/1001.LOFI.key"),
        "#@format: key\nkey\t0\tH dorian\n",
    )
    .unwrap();
    let e = giantsteps::build(&root).unwrap_err().to_string();
    assert!(e.contains("1001.LOFI.key:2: cannot parse key"), "{e}");
}

#[test]
fn giantsteps_mtg_skips_unusable_keys_with_reasons() {
    let b = giantsteps::build(&fixture("giantsteps-mtg-key")).unwrap();
    let m = &b.manifest;
    assert_eq!(m.len(), 2);
    assert_eq!(
        m.get("2001").unwrap().labels["key"],
        m.get("2004").unwrap().labels["key"]
    );
    assert_eq!(
        m.get("2001").unwrap().labels["confidence"],
        LabelValue::Int(2)
    );
    let reasons: Vec<(usize, String)> = b
        .skipped
        .iter()
        .map(|s| (s.line, s.reason.clone()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (3, "ambiguous key \"C minor / F# minor\"".to_string()),
            (4, "no key annotated".to_string())
        ]
    );
    let (_d, root) = copy_fixture("giantsteps-mtg-key");
    std::fs::remove_file(root.join("audio/2004.LOFI.mp3")).unwrap();
    let e = giantsteps::build(&root).unwrap_err().to_string();
    assert!(
        e.contains("annotations.txt:5: refers to missing file") && e.contains("2004.LOFI.mp3"),
        "{e}"
    );
    std::fs::write(
        root.join("annotations/annotations.txt"),
        "ID\tMANUAL KEY\tC\n2001\tA# major\thigh\n",
    )
    .unwrap();
    let e = giantsteps::build(&root).unwrap_err().to_string();
    assert!(
        e.contains("annotations.txt:2: label `confidence` should be int"),
        "{e}"
    );
}

#[test]
fn maestro_reads_csv_and_midi_notes() {
    let root = fixture("maestro");
    let notes = maestro::midi_notes(&root.join("2018/MIDI-Unprocessed_01.midi")).unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!((notes[0].pitch, notes[0].velocity), (60, 80));
    assert!((notes[0].onset - 0.0).abs() < 1e-9 && (notes[0].offset - 0.5).abs() < 1e-9);
    // tempo doubles at 0.5 s: one beat then lasts 0.25 s
    assert_eq!((notes[1].pitch, notes[1].velocity), (64, 100));
    assert!(
        (notes[1].onset - 0.5).abs() < 1e-9 && (notes[1].offset - 0.75).abs() < 1e-9,
        "{:?}",
        notes[1]
    );
    let m = maestro::build(&root).unwrap().manifest;
    assert_eq!(m.len(), 2);
    let e = m.get("2018/MIDI-Unprocessed_01").unwrap();
    assert_eq!(e.split, Some(Split::Train));
    assert_eq!(e.duration_secs, Some(0.75));
    assert_eq!(e.labels["title"], s("Ballade No. 1, Op. 23 \"G minor\""));
    assert_eq!(e.labels["composer"], s("Frédéric Chopin"));
    assert_eq!(e.labels["year"], LabelValue::Int(2018));
    assert_eq!(e.labels["n_notes"], LabelValue::Int(2));
    assert_eq!(e.labels["mean_velocity"], LabelValue::Float(90.0));
    assert_eq!(e.midi, Some(root.join("2018/MIDI-Unprocessed_01.midi")));
    let b = m.get("2017/perf_02").unwrap();
    assert_eq!(b.split, Some(Split::Valid));
    assert_eq!(
        (b.labels["pitch_min"].clone(), b.labels["pitch_max"].clone()),
        (LabelValue::Int(48), LabelValue::Int(55))
    );
}

#[test]
fn maestro_errors_name_file_and_line() {
    let (_d, root) = copy_fixture("maestro");
    let csv_path = root.join("maestro-v3.0.0.csv");
    let text = std::fs::read_to_string(&csv_path).unwrap();
    std::fs::write(
        &csv_path,
        text.replace(",validation,2017,", ",validation,two-thousand,"),
    )
    .unwrap();
    let e = maestro::build(&root).unwrap_err().to_string();
    assert!(
        e.contains("maestro-v3.0.0.csv:3: label `year` should be int"),
        "{e}"
    );
    std::fs::write(&csv_path, text.replace(",validation,", ",holdout,")).unwrap();
    let e = maestro::build(&root).unwrap_err().to_string();
    assert!(
        e.contains("maestro-v3.0.0.csv:3: could not parse split"),
        "{e}"
    );
    std::fs::write(&csv_path, &text).unwrap();
    std::fs::write(root.join("2017/perf_02.midi"), b"MThd garbage").unwrap();
    let e = maestro::build(&root).unwrap_err();
    assert!(
        matches!(&e, DatasetError::Midi { path, .. } if path.ends_with("perf_02.midi")),
        "{e}"
    );
    std::fs::remove_file(root.join("2018/MIDI-Unprocessed_01.wav")).unwrap();
    let e = maestro::build(&root).unwrap_err().to_string();
    assert!(
        e.contains("maestro-v3.0.0.csv:2: refers to missing file"),
        "{e}"
    );
}

#[test]
fn jamendo_reads_tags_and_splits_from_file_names() {
    let root = fixture("jamendo");
    let tsvs = [
        root.join("autotagging-train.tsv"),
        root.join("autotagging-test.tsv"),
    ];
    let m = jamendo::build(&root.join("audio"), &tsvs).unwrap().manifest;
    assert_eq!(m.len(), 3);
    let t = m.get("track_0000948").unwrap();
    assert_eq!(t.split, Some(Split::Train));
    assert_eq!(t.labels["genre"], LabelValue::Tags(vec!["rock".into()]));
    assert_eq!(
        t.labels["instrument"],
        LabelValue::Tags(vec!["guitar".into()])
    );
    assert_eq!(
        t.labels["mood"],
        LabelValue::Tags(vec!["background".into()])
    );
    assert_eq!(t.labels["artist"], s("artist_000087"));
    assert_eq!(t.labels["track_duration"], LabelValue::Float(212.7));
    // low-quality naming is found
    assert!(
        m.get("track_0000214")
            .unwrap()
            .path
            .ends_with("14/214.low.mp3")
    );
    let x = m.get("track_0001000").unwrap();
    assert_eq!(x.split, Some(Split::Test));
    assert_eq!(
        x.labels["mood"],
        LabelValue::Tags(vec!["happy".into(), "energetic".into()])
    );

    let (_d, root) = copy_fixture("jamendo");
    let tsv = root.join("autotagging-test.tsv");
    let text = std::fs::read_to_string(&tsv).unwrap();
    std::fs::write(&tsv, text.replace("\t30.5\t", "\tthirty\t")).unwrap();
    let e = jamendo::build(&root.join("audio"), std::slice::from_ref(&tsv))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("autotagging-test.tsv:2: label `DURATION` should be float"),
        "{e}"
    );
    std::fs::write(&tsv, text.replace("00/1000.mp3", "00/1001.mp3")).unwrap();
    let e = jamendo::build(&root.join("audio"), &[tsv])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("autotagging-test.tsv:2: refers to missing file"),
        "{e}"
    );
}

#[test]
fn folder_per_label() {
    let m = folder::build(&fixture("folder"), "instrument")
        .unwrap()
        .manifest;
    assert_eq!(m.len(), 4);
    assert_eq!(
        m.get("flute/extra/deep").unwrap().labels["instrument"],
        s("flute")
    );
    assert_eq!(
        m.entries
            .iter()
            .filter(|e| e.labels["instrument"] == s("cello"))
            .count(),
        2
    );
    let d = tempfile::tempdir().unwrap();
    let e = folder::build(d.path(), "label").unwrap_err().to_string();
    assert!(e.contains("no audio files"), "{e}");
}

#[test]
fn generic_csv_infers_and_checks_types() {
    let path = fixture("csv/clips.csv");
    let spec = csv::CsvSpec {
        id_column: Some("id".into()),
        ..Default::default()
    };
    let m = csv::build(&path, &spec).unwrap().manifest;
    assert_eq!(m.len(), 2);
    let b = m.get("clip-b").unwrap();
    assert_eq!(b.labels["tempo"], LabelValue::Float(96.5));
    assert_eq!(b.labels["mood"], s("sad"));
    assert_eq!(b.split, Some(Split::Test));
    assert_eq!(b.offset_secs, 0.01);
    assert_eq!(m.label_schema.len(), 2);

    let (_d, root) = copy_fixture("csv");
    let p = root.join("clips.csv");
    std::fs::write(&p, "path,tempo:int\naudio/a.wav,120\naudio/b.wav,fast\n").unwrap();
    let e = csv::build(&p, &Default::default()).unwrap_err().to_string();
    assert!(
        e.ends_with("clips.csv:3: label `tempo` should be int but is string (fast)"),
        "{e}"
    );
    std::fs::write(&p, "path,tempo\naudio/a.wav,120\naudio/zzz.wav,100\n").unwrap();
    let e = csv::build(&p, &Default::default()).unwrap_err().to_string();
    assert!(
        e.contains("clips.csv:3: refers to missing file") && e.contains("zzz.wav"),
        "{e}"
    );
    std::fs::write(&p, "file,tempo\naudio/a.wav,120\n").unwrap();
    let e = csv::build(&p, &Default::default()).unwrap_err().to_string();
    assert!(
        e.contains("clips.csv:1: header lacks the path column `path`"),
        "{e}"
    );
}

#[test]
fn built_manifests_round_trip_through_jsonl_and_csv() {
    let m = maestro::build(&fixture("maestro")).unwrap().manifest;
    let d = tempfile::tempdir().unwrap();
    for name in ["m.jsonl", "m.csv"] {
        let p = d.path().join(name);
        m.write(&p).unwrap();
        let back = mirlens_datasets::Manifest::read(&p).unwrap();
        assert_eq!(back, m, "{name}");
        assert_eq!(back.content_hash(), m.content_hash());
    }
    // entries with paths relative to the current directory stay valid when written elsewhere
    let mut rel = m.clone();
    let cwd = std::env::current_dir().unwrap();
    for e in &mut rel.entries {
        e.path = pathdiff(&e.path, &cwd);
        assert!(e.path.is_relative());
    }
    let p = d.path().join("sub/rel.jsonl");
    rel.write(&p).unwrap();
    let back = mirlens_datasets::Manifest::read(&p).unwrap();
    back.check_files(&p).unwrap();
}

/// `path` relative to `base` (both absolute), with `..` as needed.
fn pathdiff(path: &Path, base: &Path) -> PathBuf {
    let (pc, bc): (Vec<_>, Vec<_>) = (path.components().collect(), base.components().collect());
    let common = pc.iter().zip(&bc).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..bc.len() {
        out.push("..");
    }
    for c in &pc[common..] {
        out.push(c);
    }
    out
}

#[test]
fn midi_folder_pairs_audio_and_midi_by_name_and_lists_the_rest() {
    use mirlens_datasets::synth::{SequencesParams, SynthDataset};
    let ds = SequencesParams {
        count: 2,
        duration_secs: 1.0,
        sample_rate: 16000,
        ..SequencesParams::default()
    }
    .check()
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    let score = ds.score(0).unwrap();
    mirlens_symbolic::write_midi_file(&root.join("a/b/take1.mid"), &score).unwrap();
    std::fs::write(root.join("a/b/take1.wav"), b"RIFF").unwrap();
    std::fs::write(root.join("a/b/other.wav"), b"RIFF").unwrap(); // audio without MIDI: ignored
    mirlens_symbolic::write_midi_file(&root.join("lonely.midi"), &score).unwrap();
    std::fs::write(root.join("broken.mid"), b"MThd\0\0").unwrap();
    std::fs::write(root.join("broken.flac"), b"fLaC").unwrap();
    let b = midi_folder::build(root).unwrap();
    assert_eq!(b.manifest.len(), 1);
    let e = &b.manifest.entries[0];
    assert_eq!(e.id, "a/b/take1");
    assert_eq!(e.path, root.join("a/b/take1.wav"));
    assert_eq!(e.midi, Some(root.join("a/b/take1.mid")));
    let piece = ds.piece(0);
    assert_eq!(
        e.labels["n_notes"],
        LabelValue::Int(piece.notes.len() as i64)
    );
    let lo = piece.notes.iter().map(|n| n.pitch).min().unwrap();
    assert_eq!(e.labels["pitch_min"], LabelValue::Int(lo as i64));
    assert_eq!(e.labels["has_drums"], LabelValue::Int(0));
    let LabelValue::Tags(progs) = &e.labels["programs"] else {
        panic!()
    };
    assert_eq!(progs.len(), 3, "{progs:?}"); // melody, accompaniment, bass
    let mut skipped: Vec<(String, String)> = b
        .skipped
        .iter()
        .map(|s| (s.id.clone(), s.reason.clone()))
        .collect();
    skipped.sort();
    assert_eq!(skipped[0].0, "broken");
    assert!(skipped[0].1.contains("broken.mid"), "{}", skipped[0].1);
    assert_eq!(skipped[1].0, "lonely");
    assert!(skipped[1].1.contains("no audio"));
    // nothing pairs: an error naming the layout
    let empty = tempfile::tempdir().unwrap();
    let err = midi_folder::build(empty.path()).unwrap_err().to_string();
    assert!(err.contains("midi-folder"), "{err}");
}
