//! `mirlens info`: facts per file, continues past bad files, non-zero exit when any failed.

use mirlens_test_support::golden_dir;
use std::process::Command;

fn mirlens() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mirlens"))
}

#[test]
fn info_reports_rate_channels_frames_codec() {
    let d = golden_dir("decode");
    let out = mirlens()
        .arg("info")
        .arg("--json")
        .args(
            [
                "pcm_s24.wav",
                "stereo.mp3",
                "stereo.m4a",
                "s16.flac",
                "mono.ogg",
                "s16.aiff",
            ]
            .map(|n| d.join(n)),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let facts: Vec<(u64, u64, u64, String, String)> = lines
        .iter()
        .map(|v| {
            (
                v["sample_rate"].as_u64().unwrap(),
                v["channels"].as_u64().unwrap(),
                v["frames"].as_u64().unwrap(),
                v["codec"].as_str().unwrap().to_string(),
                v["container"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        (22_050, 1, 11_025, "pcm_s24le", "wave"),
        (44_100, 2, 13_230, "mp3", "mp3"),
        (44_100, 2, 13_230, "aac", "isomp4"),
        (22_050, 1, 11_025, "flac", "flac"),
        (22_050, 1, 11_025, "vorbis", "ogg"),
        (22_050, 1, 11_025, "pcm_s16be", "aiff"),
    ];
    for (got, w) in facts.iter().zip(want) {
        assert_eq!((got.0, got.1, got.2, got.3.as_str(), got.4.as_str()), w);
    }
    assert_eq!(lines[1]["duration_secs"].as_f64().unwrap(), 0.3);
}

#[test]
fn info_table_and_failures_listed_with_nonzero_exit() {
    let d = golden_dir("decode");
    let files = [
        "pcm_s16.wav",
        "unsupported.opus",
        "missing.wav",
        "truncated.wav",
        "empty.wav",
        "stereo_s16.flac",
    ];
    let out = mirlens()
        .arg("info")
        .args(files.map(|n| d.join(n)))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    // both good files are reported, after the bad ones in between
    let good: Vec<&str> = stdout.lines().skip(1).collect();
    assert_eq!(good.len(), 2, "{stdout}");
    assert!(
        good[0].contains("pcm_s16.wav") && good[0].contains("22050") && good[0].contains("11025"),
        "{}",
        good[0]
    );
    assert!(
        good[1].contains("stereo_s16.flac") && good[1].contains("44100") && good[1].contains(" 2 "),
        "{}",
        good[1]
    );
    assert!(stderr.contains("2 file(s) read, 4 failed"), "{stderr}");
    for (name, what) in [
        ("unsupported.opus", "unsupported audio codec `opus`"),
        ("missing.wav", "file not found"),
        ("truncated.wav", "truncated"),
        ("empty.wav", "empty"),
    ] {
        assert!(
            stderr.lines().any(|l| l.contains(name) && l.contains(what)),
            "{name}: {stderr}"
        );
    }
    // --header-only trusts the header: the truncated WAV then passes
    let out = mirlens()
        .args(["info", "--header-only"])
        .arg(d.join("truncated.wav"))
        .output()
        .unwrap();
    assert!(out.status.success());
}
