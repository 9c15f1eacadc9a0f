//! Output names derived from inputs never leave the output folder; non-regular files are refused without
//! blocking. Property tests over seeded hostile names (bounded: a few thousand cases, milliseconds).

use mirlens_audio::decode::{DecodeError, DecodeOptions, decode_file, probe_file};
use mirlens_audio::paths::{
    MAX_NAME_BYTES, PathError, UniqueNames, check_regular_file, is_single_component, safe_name,
};
use std::path::Path;

/// SplitMix64: a tiny seeded generator for property tests.
pub struct Rng(u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A hostile name: pieces of path syntax, dots, control characters, unicode, long runs.
pub fn hostile_name(r: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        ".",
        "..",
        "/",
        "\\",
        ":",
        "\0",
        "\n",
        "\t",
        " ",
        "a",
        "Z",
        "é",
        "音",
        "🎵",
        "~",
        "$HOME",
        "*",
        "?",
        "-",
        "_",
        "wav",
        ".wav",
        "../",
        "/etc/passwd",
        "C:\\",
        "\u{202e}",
        "%2e%2e",
        "\u{7f}",
    ];
    let n = r.below(12);
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(PIECES[r.below(PIECES.len())]);
    }
    if r.below(20) == 0 {
        s.push_str(&"x".repeat(300));
    }
    s
}

#[test]
fn known_hostile_names_become_single_children() {
    for (raw, want) in [
        ("..", "_._"),
        (".", "_"),
        ("", "_"),
        ("../../etc", "_._.._etc"),
        ("a/b", "a_b"),
        ("a\\b", "a_b"),
        (".hidden", "_hidden"),
        ("ok-name_1", "ok-name_1"),
        ("C:x", "C_x"),
        ("trail.", "trail._"),
    ] {
        assert_eq!(safe_name(raw), want, "{raw:?}");
    }
}

#[test]
fn property_safe_names_stay_inside_the_output_folder() {
    let mut r = Rng(19);
    let out = Path::new("/some/out");
    for _ in 0..3000 {
        let raw = hostile_name(&mut r);
        let s = safe_name(&raw);
        assert!(is_single_component(&s), "{raw:?} -> {s:?}");
        assert!(!s.starts_with('.'), "{raw:?} -> {s:?}");
        assert!(!s.chars().any(|c| c.is_control()), "{raw:?} -> {s:?}");
        assert!(s.len() <= MAX_NAME_BYTES && !s.is_empty());
        assert_eq!(out.join(&s).parent(), Some(out), "{raw:?} -> {s:?}");
        // idempotent: a safe name is kept as it is
        assert_eq!(safe_name(&s), s);
    }
}

#[test]
fn property_unique_names_never_collide() {
    let mut r = Rng(7);
    for _ in 0..50 {
        let mut u = UniqueNames::new();
        u.reserve("meta.json");
        let mut seen = std::collections::HashSet::new();
        for _ in 0..40 {
            // few distinct raw names, so collisions (also via case and via suffixes) are frequent
            let raw = ["a", "A", "a-2", "..", ".", "", "b/c", "b_c", "meta.json"][r.below(9)];
            let s = u.claim(raw);
            assert!(is_single_component(&s));
            assert!(seen.insert(s.to_lowercase()), "{s} handed out twice");
            assert_ne!(s, "meta.json");
        }
    }
}

#[test]
fn fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.wav");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    // Run in a thread so that a regression (a blocking open) fails the test instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    let f2 = fifo.clone();
    std::thread::spawn(move || {
        let a = decode_file(&f2, &DecodeOptions::default()).err();
        let b = probe_file(&f2).err();
        let c = check_regular_file(&f2).err();
        let _ = tx.send((a, b, c));
    });
    let (a, b, c) = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("reading a FIFO blocked");
    for e in [a.unwrap(), b.unwrap()] {
        match e {
            DecodeError::NotRegularFile { path, kind } => {
                assert_eq!(path, fifo);
                assert_eq!(kind, "named pipe (FIFO)");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(matches!(c, Some(PathError::NotRegular { .. })));
    let msg = check_regular_file(&fifo).unwrap_err().to_string();
    assert!(msg.contains("pipe.wav") && msg.contains("FIFO"), "{msg}");
}

#[test]
fn folder_and_missing_file_are_named() {
    let dir = tempfile::tempdir().unwrap();
    match decode_file(dir.path(), &DecodeOptions::default()) {
        Err(DecodeError::NotRegularFile { kind, .. }) => assert_eq!(kind, "folder"),
        other => panic!("{other:?}"),
    }
    let missing = dir.path().join("nope.wav");
    assert!(matches!(
        decode_file(&missing, &DecodeOptions::default()),
        Err(DecodeError::NotFound { .. })
    ));
}
