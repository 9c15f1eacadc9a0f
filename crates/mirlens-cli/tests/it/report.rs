//! The main job end to end with its HTML report, checked by values and in headless Chromium; hostile labels from a
//! user's manifest rendered as text.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mirlens"))
}

/// Debian's Chromium (`.ci/run` installs it), or `$MIRLENS_CHROMIUM`.
fn chromium() -> PathBuf {
    let p = std::env::var_os("MIRLENS_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        p.is_file(),
        "headless Chromium is needed for the report tests: `apt-get install chromium` (.ci/run installs it) or \
         set MIRLENS_CHROMIUM to its binary; looked for {}",
        p.display()
    );
    p
}

/// Headless Chromium on `page`: the DOM after scripts ran and media metadata loaded, and the browser's log.
fn render(page: &Path, extra: &[String]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn dump_dom(page: &Path) -> (String, String) {
    render(page, &["--dump-dom".to_string()])
}

/// Console messages the page logged (Chromium prints them as `…:CONSOLE…] "message", source: …`).
fn console_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// The inner HTML of `<section id="{id}">`.
fn section<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}"));
    let end = dom[start..].find("</section>").unwrap() + start;
    &dom[start..end]
}

/// `(data-duration, data-error)` of every `<audio>` element of a DOM dump.
fn audio_states(dom: &str) -> Vec<(Option<f64>, bool)> {
    dom.split("<audio")
        .skip(1)
        .map(|a| {
            let tag = &a[..a.find('>').unwrap()];
            let dur = tag
                .split("data-duration=\"")
                .nth(1)
                .and_then(|r| r[..r.find('"').unwrap()].parse().ok());
            (dur, tag.contains("data-error"))
        })
        .collect()
}

#[test]
fn the_console_check_sees_errors_and_failed_audio() {
    // the checks below would catch a page that logs an error or an audio element that cannot play
    let d = tempfile::tempdir().unwrap();
    let page = d.path().join("bad.html");
    std::fs::write(
        &page,
        "<html><body><audio preload=\"metadata\" src=\"missing.wav\"></audio><script>\
         console.error('broken');document.querySelectorAll('audio').forEach(function(a){\
         a.addEventListener('error',function(){a.setAttribute('data-error','4');});});</script></body></html>",
    )
    .unwrap();
    let (dom, log) = dump_dom(&page);
    assert_eq!(console_lines(&log).len(), 1, "{log}");
    assert!(console_lines(&log)[0].contains("broken"));
    assert_eq!(audio_states(&dom), vec![(None, true)]);
}

#[test]
fn main_job_report_renders_in_chromium_and_its_values_hold() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = bin()
        .args([
            "run",
            "--quiet",
            "--sae-tokens",
            "500000",
            "--frame-clips",
            "12",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&o.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["stages"],
        serde_json::json!([
            "extract", "probe", "sae", "frames", "symbolic", "text", "align", "curve", "report"
        ])
    );

    // values, seed 0 (measured: pitch class 0.730 at layer 1, octave 0.818, family 0.760; chance 1/12, 1/8, 1/11)
    let best = |label: &str| -> (f64, usize) {
        let l = summary["labels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["label"] == label)
            .unwrap();
        (
            l["sweep"]["best_accuracy"].as_f64().unwrap(),
            l["sweep"]["best_layer"].as_str().unwrap().parse().unwrap(),
        )
    };
    let (pc, pc_layer) = best("pitch_class");
    assert!((0.68..=0.78).contains(&pc), "pitch class {pc}");
    assert!(best("family").0 >= 0.70, "{:?}", best("family"));
    assert!(best("octave").0 >= 0.75, "{:?}", best("octave"));
    // the SAE on the frames of pitch class's best layer (measured FVU 0.042 at 500k tokens, L0 = k = 8)
    let sae = &summary["sae"];
    assert_eq!(sae["layer"].as_u64().unwrap() as usize, pc_layer);
    let fvu = sae["metrics"]["fvu"].as_f64().unwrap();
    assert!(fvu < 0.06, "FVU {fvu}");
    assert!((sae["metrics"]["l0"].as_f64().unwrap() - 8.0).abs() < 1e-9);
    assert!(sae["dashboards"].as_u64().unwrap() >= 4, "{sae}");
    // the model's layer against its log-mel input: far above the permutation null (measured CKA 0.143, null
    // 0.000 ± 0.003; mutual k-NN 0.148)
    for m in ["cka_debiased", "mutual_knn"] {
        let s = &summary["align"]["scores"][m];
        let (v, mu, sd, p) = (
            s["value"].as_f64().unwrap(),
            s["null_mean"].as_f64().unwrap(),
            s["null_sd"].as_f64().unwrap(),
            s["p_value"].as_f64().unwrap(),
        );
        assert!(
            v > mu + 10.0 * sd && p < 0.01,
            "{m}: {v} vs {mu} ± {sd}, p {p}"
        );
    }
    // frame-level pitch (12 sequences, every second frame): log-mel hears the notes, the model's frames hardly
    // (measured here: log-mel F 0.529, the model's best layer 0.099; on 64 clips with every frame 0.772 and 0.030)
    let f = |tag: &str| summary["frames"][tag]["best_f_measure"].as_f64().unwrap();
    let (f_model, f_logmel) = (f("model"), f("logmel"));
    eprintln!("multipitch F: model {f_model:.3}, log-mel {f_logmel:.3}");
    assert!(
        (0.42..=0.65).contains(&f_logmel),
        "log-mel multipitch F {f_logmel}"
    );
    assert!(f_model < 0.2, "model multipitch F {f_model}");
    // the other modalities, pooled per clip. The symbolic LM reads pitch off each clip's Pitch token (measured
    // 1.000 for pitch class and octave); REMI without program tokens says nothing about the instrument: every
    // note's document is the same for all 11 families, so each held-out clip's input is seen in training only with
    // the other families' labels and the probe is always wrong (measured 0.000, below chance by construction).
    // The captions name pitch, register and instrument (measured 0.990, 0.992, 1.000).
    let lm_best = |m: &str, label: &str| {
        summary[m]["sweeps"][label]["best_accuracy"]
            .as_f64()
            .unwrap()
    };
    assert!(lm_best("symbolic", "pitch_class") >= 0.95);
    assert!(lm_best("symbolic", "octave") >= 0.95);
    assert!(
        lm_best("symbolic", "family") < 0.05,
        "{}",
        lm_best("symbolic", "family")
    );
    for label in ["pitch_class", "octave", "family"] {
        assert!(lm_best("text", label) >= 0.95, "text {label}");
    }
    // audio ↔ symbolic and audio ↔ caption LM at the best layers: above their permutation nulls (measured
    // debiased CKA 0.035 and 0.122, mutual k-NN 0.041 and 0.181, every p = 0.005, the smallest 200 permutations
    // give)
    for m in ["symbolic", "text"] {
        for metric in ["cka_debiased", "mutual_knn"] {
            let s = &summary["align"]["cross_modal"][m]["scores"][metric];
            let (v, mu, sd, p) = (
                s["value"].as_f64().unwrap(),
                s["null_mean"].as_f64().unwrap(),
                s["null_sd"].as_f64().unwrap(),
                s["p_value"].as_f64().unwrap(),
            );
            assert!(
                v > mu + 3.0 * sd && p < 0.01,
                "{m} {metric}: {v} vs {mu} ± {sd}, p {p}"
            );
        }
    }
    // a contrastive map retrieves a clip's caption from its audio far above chance (measured R@1 0.608 of 79)
    let r = &summary["align"]["cross_modal"]["text"]["maps"]["infonce"]["retrieval"]["x_to_y"];
    let (r1, cands) = (
        r["r_at_1"].as_f64().unwrap(),
        r["candidates"].as_f64().unwrap(),
    );
    assert!(r1 > 20.0 / cands, "caption R@1 {r1} of {cands}");
    // the sample-efficiency curve: reusing the symbolic LM's pitch-class probe on mapped audio does not beat an
    // audio probe with the same labels (measured N = 30: 0.139 vs 0.333; N = 300: 0.823 vs 0.835)
    let rows = summary["align"]["cross_modal"]["symbolic"]["efficiency"]["rows"]
        .as_array()
        .unwrap();
    assert_eq!(rows.len(), 4);
    let last = &rows[3];
    assert!(last["mapped_mean"].as_f64().unwrap() > 0.6, "{last}");
    // the symbolic LM's checkpoints on held-out pieces: training teaches the position in the bar and the octave
    // of a note's tokens (measured bar position 0.531 → 0.783, octave 0.648 → 0.825 from step 0 to step 500)
    let points = summary["curve"]["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    let acc = |i: usize, l: &str| points[i]["labels"][l]["best_accuracy"].as_f64().unwrap();
    assert_eq!(points[3]["step"], 500);
    assert!(acc(3, "bar_position") > acc(0, "bar_position") + 0.15);
    assert!(acc(3, "note_octave") > acc(0, "note_octave") + 0.10);

    let r1 = summary["align"]["map"]["retrieval"]["x_to_y"]["r_at_1"]
        .as_f64()
        .unwrap();
    let cands = summary["align"]["map"]["retrieval"]["x_to_y"]["candidates"]
        .as_f64()
        .unwrap();
    assert!(r1 > 10.0 / cands, "R@1 {r1} of {cands} candidates");

    // the page, rendered
    let page = out.join("report").join("index.html");
    assert!(
        stdout.contains(&format!("report: {}", page.display())),
        "{stdout}"
    );
    let (dom, log) = dump_dom(&page);
    assert!(console_lines(&log).is_empty(), "{:?}", console_lines(&log));
    for (id, figures) in [
        ("overview", 0),
        ("layers", 3),
        ("frames", 1),
        ("neurons", 0),
        ("features", 5),
        ("crossmodal", 7),
        ("checkpoints", 1),
        ("files", 0),
    ] {
        let s = section(&dom, id);
        let svgs = s.matches("<svg").count();
        assert!(svgs >= figures, "{id}: {svgs} figures");
        if id == "layers" {
            // one band and one line per label in each of the three charts (audio, symbolic LM, caption LM), and
            // the best-layer table agrees with the summary
            assert_eq!(s.matches("class=\"line\"").count(), 9);
            assert_eq!(s.matches("<svg").count(), 3);
            assert!(s.contains(&format!(
                "<td>pitch_class</td><td>accuracy</td><td>{pc_layer}</td><td>{pc:.3}</td>"
            )));
        }
    }
    let audio = audio_states(section(&dom, "features"));
    let files = std::fs::read_dir(out.join("report").join("audio"))
        .unwrap()
        .count();
    assert!(
        audio.len() >= 8 && audio.len() == files,
        "{} audio, {files} files",
        audio.len()
    );
    for (dur, err) in &audio {
        // every clip loaded and is one second long
        assert!(
            !err && dur.is_some_and(|d| (d - 1.0).abs() < 0.01),
            "{audio:?}"
        );
    }
    assert!(section(&dom, "features").contains("class=\"note\""));
    let links = section(&dom, "files").matches("<a href=").count();
    assert!(links >= 40, "{links} links");

    // a screenshot beside the test binaries, for looking at
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report.png");
    let _ = std::fs::remove_file(&shot);
    render(
        &page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1400,3000".into(),
        ],
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 50_000,
        "{}",
        png.len()
    );

    // re-running reuses the stores and the SAE
    let o = bin()
        .args([
            "run",
            "--quiet",
            "--sae-tokens",
            "500000",
            "--stages",
            "sae,report",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("0 shard(s) written"), "{stdout}");
    assert!(stdout.contains("[sae] reusing the SAE"), "{stdout}");
}

#[test]
fn hostile_labels_from_a_user_manifest_render_as_text() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let classes = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>"];
    let mut lines = String::new();
    for i in 0..16 {
        let class = classes[i % 2];
        // the classes differ in pitch: 220 Hz vs 440 Hz, with a little variation
        let f = if i % 2 == 0 { 220.0 } else { 440.0 } * (1.0 + 0.01 * i as f32);
        let sr = 16_000u32;
        let x: Vec<f32> = (0..sr)
            .map(|n| 0.3 * (2.0 * std::f32::consts::PI * f * n as f32 / sr as f32).sin())
            .collect();
        let wav = d.join(format!("c{i}.wav"));
        mirlens_audio::wav::write_wav(&wav, &x, sr, Default::default()).unwrap();
        lines.push_str(
            &serde_json::json!({
                "id": format!("clip\"<b>{i}</b>"), "path": wav, "labels": {"family": class, "pitch": 57 + 12 * (i % 2)}
            })
            .to_string(),
        );
        lines.push('\n');
    }
    let manifest = d.join("m.jsonl");
    std::fs::write(&manifest, lines).unwrap();
    let out = d.join("run");
    let o = bin()
        .args([
            "run",
            "--quiet",
            "--model",
            "logmel",
            "--labels",
            "family",
            "--stages",
            "extract,probe,sae,report",
            "--sae-tokens",
            "20000",
            "--dataset",
        ])
        .arg(&manifest)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    let page = out.join("report").join("index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<script>alert"), "raw label in the page");
    assert!(!html.contains("<img src=x"), "raw label in the page");
    assert!(!html.contains("<b>"), "raw clip id in the page");
    let (dom, log) = dump_dom(&page);
    assert!(console_lines(&log).is_empty(), "{:?}", console_lines(&log));
    // the page's own script is its only script element; the labels are text
    assert_eq!(dom.matches("<script").count(), 1);
    assert_eq!(dom.matches("<img").count(), 0);
    let features = section(&dom, "features");
    assert!(
        features.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
            || features.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{features}"
    );
    assert!(
        features.contains("clip\"&lt;b&gt;"),
        "clip ids shown as text"
    );
    // the clips of the user's files play in the dashboards
    let audio = audio_states(features);
    assert!(!audio.is_empty());
    assert!(
        audio
            .iter()
            .all(|(d, e)| !e && d.is_some_and(|d| (d - 1.0).abs() < 0.01)),
        "{audio:?}"
    );

    // other SAE settings on a re-run: the job retrains its own SAE instead of refusing its old checkpoint
    let o = bin()
        .args([
            "run",
            "--quiet",
            "--model",
            "logmel",
            "--labels",
            "family",
            "--stages",
            "sae",
            "--sae-tokens",
            "30000",
            "--dataset",
        ])
        .arg(&manifest)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("[sae] TopK SAE") && !stdout.contains("reusing"),
        "{stdout}"
    );
}

#[test]
fn unknown_stages_are_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    for (stages, needle) in [
        (
            "nosuch",
            "unknown stage \"nosuch\"; choose from extract, probe, sae, frames, symbolic, text, align, curve, report",
        ),
        (",", "names no stage"),
    ] {
        let o = bin()
            .args(["run", "--quiet", "--stages", stages, "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{stages}: {err}");
        assert!(!out.exists());
    }
}
