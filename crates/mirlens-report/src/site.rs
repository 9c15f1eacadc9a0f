//! The report of a run directory: finds the results that mirlens commands wrote below it (layer sweeps, neuron
//! reports, SAEs and their feature analyses and dashboards, cross-modal layer matrices and scores, run summaries)
//! and writes one self-contained `index.html` with inline SVG figures and the dashboards' audio clips copied beside
//! it. Any directory works: the main job's, or a user's own `extract` + `probe sweep` + `sae train` outputs.

use crate::html::{Html, Section, num, page, table, trace_with_roll};
use crate::{BarChart, ErrorDisplay, Heatmap, LineChart, ReportError, Series, write_atomic};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What a report holds, for callers and tests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportSummary {
    /// The page.
    pub index: PathBuf,
    /// Section ids written, in order.
    pub sections: Vec<&'static str>,
    /// Layer sweeps drawn.
    pub sweeps: usize,
    /// Neuron reports shown.
    pub neuron_reports: usize,
    /// Feature dashboards shown.
    pub dashboards: usize,
    /// Audio clips copied beside the page.
    pub audio_clips: usize,
    /// Cross-modal layer matrices drawn.
    pub matrices: usize,
    /// Checkpoint curves (`curve.csv`) drawn.
    pub curves: usize,
    /// Multi-pitch probe results (`multipitch.json`) drawn.
    pub multipitch: usize,
    /// Result files linked.
    pub files: usize,
}

/// One row of a `curve.csv` (`mirlens curve`): a layer's probe accuracy at a checkpoint (`step`) or for a
/// baseline (no step).
#[derive(Debug, Clone, PartialEq)]
struct CurveRow {
    model: String,
    step: Option<u64>,
    label: String,
    layer: String,
    accuracy: f64,
    ci: (f64, f64),
}

/// Split one CSV line (RFC 4180 quotes).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Rows of a `curve.csv`; `None` when the header is not `mirlens curve`'s.
fn parse_curve(text: &str) -> Option<Vec<CurveRow>> {
    let mut lines = text.lines();
    if lines.next()?.trim() != "model,step,label,layer,accuracy,ci_low,ci_high" {
        return None;
    }
    let unquote = |s: &str| s.strip_prefix('\'').unwrap_or(s).to_string();
    Some(
        lines
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| {
                let f = csv_fields(l);
                (f.len() == 7).then(|| CurveRow {
                    model: unquote(&f[0]),
                    step: f[1].parse().ok(),
                    label: unquote(&f[2]),
                    layer: f[3].clone(),
                    accuracy: f[4].parse().unwrap_or(f64::NAN),
                    ci: (
                        f[5].parse().unwrap_or(f64::NAN),
                        f[6].parse().unwrap_or(f64::NAN),
                    ),
                })
            })
            .collect(),
    )
}

/// Results found below a run directory.
#[derive(Debug, Default)]
struct Found {
    summary: Option<Value>,
    stores: Vec<(String, Value)>,
    sweeps: Vec<(String, String, Value)>,
    neurons: Vec<(String, String, Value)>,
    saes: Vec<(String, Option<Value>, Option<Value>)>,
    features: Vec<(String, Value)>,
    dashboards: Vec<(PathBuf, String, Value)>,
    matrices: Vec<(String, Value)>,
    scores: Vec<(String, Value)>,
    maps: Vec<(String, Value)>,
    curves: Vec<(String, Vec<CurveRow>)>,
    multipitch: Vec<(String, Value)>,
    efficiency: Vec<(String, Value)>,
    files: Vec<String>,
    /// How the page reaches the run directory: `../` when the page sits in a folder of it.
    prefix: String,
}

fn read_json(p: &Path) -> Option<Value> {
    let t = std::fs::read_to_string(p).ok()?;
    serde_json::from_str(&t).ok()
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The label of a result folder: `probe-pitch_class` → `pitch_class`; otherwise the folder's path.
fn subject(root: &Path, dir: &Path, prefix: &str) -> String {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.strip_prefix(prefix) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => {
            let r = rel(root, dir);
            if r.is_empty() { ".".into() } else { r }
        }
    }
}

fn is_store(dir: &Path) -> Option<Value> {
    let m = read_json(&dir.join("manifest.json"))?;
    m.get("format")
        .and_then(|f| f.as_str())
        .is_some_and(|f| f.starts_with("mirlens-store"))
        .then_some(m)
}

fn walk(root: &Path, dir: &Path, skip: &Path, depth: usize, f: &mut Found) -> std::io::Result<()> {
    if depth > 5 {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || p == skip {
            continue;
        }
        let meta = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(_) => continue,
        };
        if meta.is_dir() {
            if let Some(m) = is_store(&p) {
                f.stores.push((rel(root, &p), m));
                f.files.push(rel(root, &p.join("manifest.json")));
                continue;
            }
            if name == "checkpoint" || name == "checkpoints" {
                continue;
            }
            walk(root, &p, skip, depth + 1, f)?;
            continue;
        }
        if !meta.is_file() {
            continue;
        }
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        if matches!(ext, "csv" | "json" | "svg" | "txt" | "tsv") {
            f.files.push(rel(root, &p));
        }
        if name == "curve.csv"
            && let Some(rows) = std::fs::read_to_string(&p)
                .ok()
                .and_then(|t| parse_curve(&t))
        {
            f.curves.push((rel(root, p.parent().unwrap_or(root)), rows));
        }
        if ext != "json" {
            continue;
        }
        let parent = p.parent().unwrap_or(root);
        let Some(v) = read_json(&p) else { continue };
        match name.as_str() {
            "summary.json" if v.get("mirlens").and_then(|m| m.as_str()) == Some("run") => {
                if parent == root {
                    f.summary = Some(v);
                }
            }
            "multipitch.json" if v.get("layers").is_some_and(|l| l.is_array()) => {
                f.multipitch.push((rel(root, parent), v));
            }
            "layer_sweep.json" if v.is_array() => {
                f.sweeps
                    .push((subject(root, parent, "probe-"), rel(root, parent), v));
            }
            "neurons.json" if v.get("ranking").is_some() => {
                f.neurons
                    .push((subject(root, parent, "neurons-"), rel(root, parent), v));
            }
            "sae.json" => {
                f.saes.push((
                    rel(root, parent),
                    Some(v),
                    read_json(&parent.join("metrics.json")),
                ));
            }
            "features.json" if v.get("features").is_some_and(|x| x.is_array()) => {
                f.features.push((rel(root, parent), v));
            }
            "efficiency.json" if v.get("rows").is_some_and(|x| x.is_array()) => {
                f.efficiency.push((rel(root, parent), v));
            }
            "dashboards.json" if v.get("features").is_some_and(|x| x.is_array()) => {
                f.dashboards
                    .push((parent.to_path_buf(), rel(root, parent), v));
            }
            _ => {
                if v.get("x_layers").is_some()
                    && v.get("values").is_some()
                    && v.get("metric").is_some()
                {
                    f.matrices.push((rel(root, &p), v));
                } else if v.get("metric").is_some()
                    && v.get("value").is_some()
                    && v.get("p_value").is_some()
                {
                    f.scores.push((rel(root, &p), v));
                } else if v.get("method").is_some()
                    && v.get("retrieval").is_some_and(|r| r.is_object())
                {
                    f.maps.push((rel(root, &p), v));
                }
            }
        }
    }
    Ok(())
}

fn f64_of(v: &Value, k: &str) -> f64 {
    v.get(k).and_then(|x| x.as_f64()).unwrap_or(f64::NAN)
}

fn str_of(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(x) => x.to_string(),
    }
}

/// The metric a layer-sweep entry reports (accuracy for classification, r2 for regression, …).
fn sweep_metric(entry: &Value) -> &'static str {
    ["accuracy", "r2", "f1", "score", "auc"]
        .into_iter()
        .find(|k| entry.get(*k).is_some_and(|v| v.is_number()))
        .unwrap_or("accuracy")
}

fn overview(found: &Found, run_dir: &Path) -> Html {
    let mut rows = Vec::new();
    if let Some(s) = &found.summary {
        for (k, label) in [
            ("model", "model"),
            ("dataset", "dataset"),
            ("seed", "seed"),
            ("limit", "clip limit"),
            ("seconds", "wall time (s)"),
        ] {
            let v = match s.get(k) {
                Some(Value::Number(n)) if k == "seconds" => {
                    format!("{:.1}", n.as_f64().unwrap_or(f64::NAN))
                }
                Some(Value::Null) | None => "–".into(),
                Some(Value::String(x)) => x.clone(),
                Some(x) => x.to_string(),
            };
            rows.push(vec![Html::text(label), Html::text(&v)]);
        }
        if let Some(stages) = s.get("stages").and_then(|x| x.as_array()) {
            let st: Vec<String> = stages
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect();
            rows.push(vec![Html::text("stages"), Html::text(&st.join(", "))]);
        }
        if let Some(fl) = s.get("failed_labels").and_then(|x| x.as_array())
            && !fl.is_empty()
        {
            let st: Vec<String> = fl
                .iter()
                .map(|x| x.as_str().unwrap_or("?").to_string())
                .collect();
            rows.push(vec![
                Html::text("failed labels"),
                Html::text(&st.join(", ")),
            ]);
        }
    }
    let mut body = Html::para(&format!("Results found below {}.", run_dir.display()));
    if !rows.is_empty() {
        body.push(table(&["field", "value"], &rows));
    }
    if !found.stores.is_empty() {
        let srows: Vec<Vec<Html>> = found
            .stores
            .iter()
            .map(|(p, m)| {
                let layers = m
                    .get("layers")
                    .and_then(|l| l.as_array())
                    .map_or(0, |l| l.len());
                vec![
                    Html::text(p),
                    Html::text(&str_of(m, "model")),
                    Html::text(&str_of(m, "dataset")),
                    Html::text(&str_of(m, "modality")),
                    Html::text(&format!("{layers}")),
                    Html::text(&str_of(m, "hidden_size")),
                    Html::text(&str_of(m, "pooling")),
                ]
            })
            .collect();
        body.push(Html::element("h3", "", &[Html::text("Activation stores")]));
        body.push(table(
            &[
                "store", "model", "data", "modality", "layers", "width", "pooling",
            ],
            &srows,
        ));
    }
    body
}

fn layers_section(found: &Found) -> Result<Html, ReportError> {
    let mut body = Html::para(
        "A linear probe per layer, cross-validated; the band is the 95 % confidence interval over folds. A \
         label's best layer is where its information is most linearly readable.",
    );
    let mut best_rows = Vec::new();
    // one chart per (folder, subject prefix, metric): a run's audio sweeps (`probe-pitch_class`), those of
    // another modality (`probe-symbolic-pitch_class`) and those of another folder are drawn apart; sweeps beside a
    // checkpoint curve (`curve.csv`) are drawn in the checkpoint section instead
    type Key<'a> = (String, String, &'a str);
    let mut by_metric: std::collections::BTreeMap<Key<'_>, Vec<Series>> = Default::default();
    for (label, dir, sweep) in &found.sweeps {
        let entries = sweep.as_array().cloned().unwrap_or_default();
        if entries.is_empty() {
            continue;
        }
        let parent = Path::new(dir)
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if found.curves.iter().any(|(c, _)| *c == parent) {
            continue;
        }
        let group = label
            .split_once('-')
            .map(|(g, _)| g.to_string())
            .unwrap_or_default();
        let metric = sweep_metric(&entries[0]);
        let mut pts = Vec::new();
        let mut ci = Vec::new();
        let mut names = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let layer = str_of(e, "layer");
            let x = layer.parse::<f64>().unwrap_or(i as f64);
            let y = f64_of(e, metric);
            if !y.is_finite() {
                continue;
            }
            let lo = f64_of(e, "ci_low");
            let hi = f64_of(e, "ci_high");
            pts.push((x, y));
            ci.push(if lo.is_finite() && hi.is_finite() {
                (lo, hi)
            } else {
                (y, y)
            });
            names.push(layer);
        }
        if pts.is_empty() {
            continue;
        }
        by_metric.entry((parent, group, metric)).or_default().push(
            Series::new(label.clone(), pts.clone()).with_interval(ci.clone(), ErrorDisplay::Band),
        );
        let (bi, &(_, by)) = pts
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.1.total_cmp(&b.1.1))
            .expect("non-empty");
        best_rows.push(vec![
            Html::text(label),
            Html::text(metric),
            Html::text(&names[bi]),
            num(by),
            Html::text(&format!("{:.3}–{:.3}", ci[bi].0, ci[bi].1)),
            Html::link_in(&found.prefix, &format!("{dir}/layer_sweep.csv"), "csv"),
        ]);
    }
    for ((parent, group, metric), series) in by_metric {
        let names: Vec<String> = series.iter().map(|s| s.name.clone()).collect();
        let whose = [parent.as_str(), group.as_str()]
            .iter()
            .filter(|x| !x.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" / ");
        let chart = LineChart {
            title: if whose.is_empty() {
                format!("probe {metric} by layer")
            } else {
                format!("{whose}: probe {metric} by layer")
            },
            x_label: "layer".into(),
            y_label: metric.into(),
            series,
            ..Default::default()
        };
        body.push(Html::figure(
            &chart.to_svg()?,
            &format!("{metric} of {} (bands: 95 % CI)", names.join(", ")),
        ));
    }
    if !best_rows.is_empty() {
        body.push(Html::element(
            "h3",
            "",
            &[Html::text("Best layer per label")],
        ));
        body.push(table(
            &["label", "metric", "best layer", "value", "95 % CI", "data"],
            &best_rows,
        ));
    }
    Ok(body)
}

fn multipitch_section(found: &Found) -> Result<Html, ReportError> {
    let mut body = Html::para(
        "A multi-pitch probe per layer (`mirlens probe multipitch`): one logistic per MIDI pitch on each frame, \
         cross-validated by clip, scored with mir_eval's multipitch metrics against the sounding notes of the \
         clips' scores. F = 2PR/(P+R); the band spans the folds' F.",
    );
    let mut series = Vec::new();
    let mut rows = Vec::new();
    for (dir, v) in &found.multipitch {
        let layers = v["layers"].as_array().cloned().unwrap_or_default();
        let mut pts = Vec::new();
        let mut band = Vec::new();
        for (i, l) in layers.iter().enumerate() {
            let x = l["layer"].as_f64().unwrap_or(i as f64);
            let f = f64_of(&l["pitch"], "f_measure");
            if !f.is_finite() {
                continue;
            }
            let folds: Vec<f64> = l["fold_f"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                .unwrap_or_default();
            let lo = folds.iter().copied().fold(f, f64::min);
            let hi = folds.iter().copied().fold(f, f64::max);
            pts.push((x, f));
            band.push((lo, hi));
        }
        let Some((bi, &(bx, bf))) = pts
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.1.total_cmp(&b.1.1))
        else {
            continue;
        };
        let best = &layers[bi];
        series.push(
            Series::new(dir.clone(), pts.clone()).with_interval(band.clone(), ErrorDisplay::Band),
        );
        rows.push(vec![
            Html::text(dir),
            Html::text(&str_of(v, "store")),
            Html::text(&format!("{bx}")),
            num(bf),
            num(f64_of(&best["pitch"], "precision")),
            num(f64_of(&best["pitch"], "recall")),
            num(f64_of(&best["pitch"], "accuracy")),
            num(f64_of(&best["chroma"], "f_measure")),
            Html::text(&format!("{:.3}–{:.3}", band[bi].0, band[bi].1)),
            Html::link_in(&found.prefix, &format!("{dir}/multipitch.csv"), "csv"),
        ]);
    }
    if !series.is_empty() {
        let chart = LineChart {
            title: "multi-pitch F by layer".into(),
            x_label: "layer".into(),
            y_label: "F-measure".into(),
            series,
            ..Default::default()
        };
        body.push(Html::figure(
            &chart.to_svg()?,
            "frame-level multi-pitch F per layer (bands: range over folds)",
        ));
        body.push(table(
            &[
                "probe",
                "store",
                "best layer",
                "F",
                "precision",
                "recall",
                "accuracy",
                "chroma F",
                "fold F",
                "data",
            ],
            &rows,
        ));
    }
    Ok(body)
}

fn neurons_section(found: &Found) -> Html {
    let mut body = Html::para(
        "Neurons ranked by how much they carry each label at its best layer: accuracy of all neurons, of the top k0, \
         how many random neurons the top k0 are worth, and selectivity against a control task (higher = the \
         probe reads the label, not memorised noise).",
    );
    let rows: Vec<Vec<Html>> = found
        .neurons
        .iter()
        .map(|(label, dir, n)| {
            let rc = n.get("random_complement").cloned().unwrap_or(Value::Null);
            let top: Vec<String> = n
                .get("ranking")
                .and_then(|r| r.as_array())
                .map(|r| {
                    r.iter()
                        .take(10)
                        .map(|x| match x.get("neuron") {
                            Some(n) => n.to_string(),
                            None => x.to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mult = f64_of(&rc, "equivalent_multiple");
            let dense = n.get("dense_accuracy").cloned().unwrap_or(Value::Null);
            vec![
                Html::text(label),
                Html::text(&str_of(n, "method")),
                Html::text(&str_of(n, "n_neurons")),
                Html::text(&format!(
                    "{:.3} ({:.3}–{:.3})",
                    f64_of(&dense, "value"),
                    f64_of(&dense, "ci_low"),
                    f64_of(&dense, "ci_high")
                )),
                Html::text(&str_of(&rc, "k0")),
                num(f64_of(&rc, "top_accuracy")),
                Html::text(&if mult.is_finite() {
                    format!("{mult:.1}×")
                } else {
                    format!("≥ {:.0}×", f64_of(&rc, "max_multiple"))
                }),
                num(f64_of(
                    n.get("control").unwrap_or(&Value::Null),
                    "selectivity",
                )),
                Html::text(&top.join(", ")),
                Html::link_in(&found.prefix, &format!("{dir}/ranking.csv"), "ranking"),
            ]
        })
        .collect();
    body.push(table(
        &[
            "label",
            "ranking",
            "neurons",
            "all neurons (95 % CI)",
            "k0",
            "top-k0 accuracy",
            "worth random",
            "selectivity",
            "top neurons",
            "data",
        ],
        &rows,
    ));
    body
}

fn sae_section(
    found: &Found,
    out_dir: &Path,
    summary: &mut ReportSummary,
) -> Result<Html, ReportError> {
    let mut body = Html::para(
        "Sparse autoencoders trained on a layer's activations. FVU is the fraction of variance left unexplained \
         (lower is better); L0 the active features per row; dead features never fired on held-out rows.",
    );
    let mut rows = Vec::new();
    for (dir, info, metrics) in &found.saes {
        let info = info.clone().unwrap_or(Value::Null);
        let m = metrics.clone().unwrap_or(Value::Null);
        let arch = info
            .get("arch")
            .or_else(|| info.get("architecture"))
            .map(|a| match a {
                Value::String(s) => s.clone(),
                Value::Object(o) => {
                    let kind = o.get("kind").and_then(|k| k.as_str()).unwrap_or("?");
                    match o.get("k") {
                        Some(k) => format!("{kind} (k = {k})"),
                        None => kind.to_string(),
                    }
                }
                x => x.to_string(),
            })
            .unwrap_or_default();
        rows.push(vec![
            Html::text(dir),
            Html::text(&arch),
            Html::text(&str_of(&info, "d_in")),
            Html::text(&str_of(&info, "n_latents")),
            num(f64_of(&m, "fvu")),
            num(f64_of(&m, "l0")),
            num(f64_of(&m, "dead_fraction")),
        ]);
    }
    if !rows.is_empty() {
        body.push(table(
            &[
                "SAE",
                "architecture",
                "input width",
                "features",
                "FVU",
                "L0",
                "dead fraction",
            ],
            &rows,
        ));
    }
    for (dir, rep) in &found.features {
        let feats = rep
            .get("features")
            .and_then(|f| f.as_array())
            .cloned()
            .unwrap_or_default();
        let dens: Vec<f64> = feats
            .iter()
            .map(|f| f64_of(f, "density"))
            .filter(|d| d.is_finite())
            .collect();
        let dead = dens.iter().filter(|&&d| d <= 0.0).count();
        let mut bins = [0u64; 8];
        let names: Vec<String> = (0..8)
            .map(|i| format!("1e-{}–1e-{}", 8 - i, 7 - i))
            .collect();
        for &d in dens.iter().filter(|&&d| d > 0.0) {
            let b = ((d.log10() + 8.0).floor() as i64).clamp(0, 7) as usize;
            bins[b] += 1;
        }
        let chart = BarChart {
            title: format!("feature density ({} alive, {dead} dead)", dens.len() - dead),
            y_label: "features".into(),
            labels: names,
            values: bins.iter().map(|&b| b as f64).collect(),
            ..Default::default()
        };
        body.push(Html::figure(
            &chart.to_svg()?,
            &format!("log10 density of the features in {dir}"),
        ));
    }
    for (dash_dir, dir, dash) in &found.dashboards {
        body.push(Html::element(
            "h3",
            "",
            &[Html::text(&format!("Feature dashboards ({dir})"))],
        ));
        if let Some(note) = dash.get("note").and_then(|n| n.as_str()) {
            body.push(Html::para(note));
        }
        for feat in dash
            .get("features")
            .and_then(|f| f.as_array())
            .into_iter()
            .flatten()
        {
            body.push(dashboard(feat, dash_dir, out_dir, summary)?);
            summary.dashboards += 1;
        }
    }
    Ok(body)
}

fn dashboard(
    feat: &Value,
    dash_dir: &Path,
    out_dir: &Path,
    summary: &mut ReportSummary,
) -> Result<Html, ReportError> {
    let index = feat.get("index").and_then(|i| i.as_u64()).unwrap_or(0);
    let mut parts = vec![Html::element(
        "h4",
        "",
        &[Html::text(&format!(
            "feature {index} — {} = {} (precision {:.2}, recall {:.2}); density {:.4}",
            str_of(feat, "label"),
            str_of(feat, "class"),
            f64_of(feat, "precision"),
            f64_of(feat, "recall"),
            f64_of(feat, "density"),
        ))],
    )];
    if let Some(h) = feat.get("histogram").and_then(|h| h.as_array()) {
        let max = f64_of(feat, "max_activation");
        let n = h.len().max(1);
        let chart = BarChart {
            title: format!("feature {index}: non-zero activations"),
            y_label: "rows".into(),
            labels: (0..h.len())
                .map(|i| format!("{:.2}", max * (i as f64 + 0.5) / n as f64))
                .collect(),
            values: h.iter().map(|x| x.as_f64().unwrap_or(0.0)).collect(),
            ..Default::default()
        };
        if !chart.values.is_empty() {
            parts.push(Html::figure(&chart.to_svg()?, "activation histogram"));
        }
    }
    if let Some(assoc) = feat.get("labels").and_then(|l| l.as_array()) {
        let rows: Vec<Vec<Html>> = assoc
            .iter()
            .map(|a| {
                vec![
                    Html::text(&str_of(a, "key")),
                    Html::text(&str_of(a, "class")),
                    num(f64_of(a, "precision")),
                    num(f64_of(a, "recall")),
                    num(f64_of(a, "mutual_information")),
                ]
            })
            .collect();
        parts.push(table(
            &["label", "best class", "precision", "recall", "MI (bits)"],
            &rows,
        ));
    }
    let mut examples = Html::default();
    for (k, ex) in feat
        .get("examples")
        .and_then(|e| e.as_array())
        .into_iter()
        .flatten()
        .enumerate()
    {
        let mut ex_parts = vec![Html::element(
            "div",
            "",
            &[Html::text(&format!(
                "{} @ {:.2} s: {:.3}",
                str_of(ex, "clip_id"),
                f64_of(ex, "time"),
                f64_of(ex, "activation")
            ))],
        )];
        if let Some(w) = ex.get("wav").and_then(|w| w.as_str()) {
            let src = dash_dir.join(w);
            let name = format!("f{index}-{k}.wav");
            let dst_dir = out_dir.join("audio");
            std::fs::create_dir_all(&dst_dir).map_err(|e| ReportError::Io {
                path: dst_dir.clone(),
                source: e,
            })?;
            // only regular files inside the dashboard folder are copied
            let inside = !w.contains("..") && !Path::new(w).is_absolute();
            match std::fs::read(&src) {
                Ok(bytes) if inside => {
                    write_atomic(&dst_dir.join(&name), &bytes)?;
                    summary.audio_clips += 1;
                    ex_parts.push(Html::audio(
                        &format!("audio/{name}"),
                        &str_of(ex, "clip_id"),
                    ));
                }
                _ => ex_parts.push(Html::element(
                    "div",
                    "muted",
                    &[Html::text("audio unavailable")],
                )),
            }
        }
        let trace: Vec<(f64, f64)> = ex
            .get("trace")
            .and_then(|t| t.as_array())
            .map(|t| {
                t.iter()
                    .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
                    .collect()
            })
            .unwrap_or_default();
        let notes: Vec<(u8, f64, f64)> = ex
            .get("notes")
            .and_then(|t| t.as_array())
            .map(|t| {
                t.iter()
                    .filter_map(|p| {
                        let pitch = p.get(0)?.as_u64()?;
                        Some((
                            u8::try_from(pitch.min(127)).ok()?,
                            p.get(1)?.as_f64()?,
                            p.get(2)?.as_f64()?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let dur = f64_of(ex, "duration");
        if !trace.is_empty() {
            ex_parts.push(trace_with_roll(
                &trace,
                &notes,
                if dur.is_finite() { dur } else { 1.0 },
            ));
        }
        if let Some(l) = ex.get("clip_labels").and_then(|l| l.as_object()) {
            let s: Vec<String> = l
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => format!("{k}={s}"),
                    x => format!("{k}={x}"),
                })
                .collect();
            ex_parts.push(Html::element("div", "muted", &[Html::text(&s.join(" · "))]));
        }
        examples.push(Html::element("div", "example", &ex_parts));
    }
    parts.push(Html::element("div", "examples", &[examples]));
    Ok(Html::element("div", "feature", &parts))
}

fn crossmodal_section(found: &Found) -> Result<Html, ReportError> {
    let mut body = Html::para(
        "Representational similarity between two models' layers over the same items (debiased CKA, mutual k-NN: \
         higher = more alike). Scores list the permutation null's p-value and the bootstrap CI.",
    );
    for (path, m) in &found.matrices {
        let xl: Vec<String> = m["x_layers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x.as_str().unwrap_or("?").to_string())
                    .collect()
            })
            .unwrap_or_default();
        let yl: Vec<String> = m["y_layers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x.as_str().unwrap_or("?").to_string())
                    .collect()
            })
            .unwrap_or_default();
        let vals: Vec<f64> = m["values"]
            .as_array()
            .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
            .unwrap_or_default();
        if vals.len() != xl.len() * yl.len() || vals.is_empty() {
            continue;
        }
        let metric = str_of(m, "metric");
        let h = Heatmap {
            title: format!("{metric} (n = {})", str_of(m, "n")),
            row_labels: xl,
            col_labels: yl,
            values: vals,
            annotate: true,
            row_title: str_of(m, "x_title"),
            col_title: str_of(m, "y_title"),
            ..Default::default()
        };
        body.push(Html::figure(&h.to_svg()?, path));
    }
    if !found.scores.is_empty() {
        let rows: Vec<Vec<Html>> = found
            .scores
            .iter()
            .map(|(p, s)| {
                let ci = s.get("ci").and_then(|c| c.as_array());
                vec![
                    Html::text(p),
                    Html::text(&str_of(s, "metric")),
                    num(f64_of(s, "value")),
                    num(f64_of(s, "null_mean")),
                    Html::text(&str_of(s, "p_value")),
                    Html::text(&ci.map_or("–".into(), |c| {
                        format!(
                            "{:.3}–{:.3}",
                            c.first().and_then(|x| x.as_f64()).unwrap_or(f64::NAN),
                            c.get(1).and_then(|x| x.as_f64()).unwrap_or(f64::NAN)
                        )
                    })),
                    Html::text(&str_of(s, "n")),
                ]
            })
            .collect();
        body.push(table(
            &["score", "measure", "value", "null mean", "p", "CI", "n"],
            &rows,
        ));
    }
    if !found.maps.is_empty() {
        body.push(Html::element(
            "h3",
            "",
            &[Html::text(
                "Maps between the views: held-out fit and retrieval",
            )],
        ));
        body.push(Html::para(
            "A linear map fitted on training items and applied to held-out ones; retrieval ranks every held-out \
             item of the other view for each query (R@1: the true partner ranked first; chance = 1 / candidates).",
        ));
        let rows: Vec<Vec<Html>> = found
            .maps
            .iter()
            .map(|(p, m)| {
                let r = &m["retrieval"];
                vec![
                    Html::text(p),
                    Html::text(&str_of(m, "method")),
                    Html::text(&str_of(m, "n_test")),
                    num(f64_of(m, "r2_variance_weighted")),
                    num(f64_of(&r["x_to_y"], "r_at_1")),
                    num(f64_of(&r["y_to_x"], "r_at_1")),
                    num(f64_of(&r["x_to_y"], "mrr")),
                    num(f64_of(&r["y_to_x"], "mrr")),
                    Html::text(&str_of(&r["x_to_y"], "candidates")),
                ]
            })
            .collect();
        body.push(table(
            &[
                "map",
                "method",
                "held-out items",
                "R² (variance-weighted)",
                "R@1 x→y",
                "R@1 y→x",
                "MRR x→y",
                "MRR y→x",
                "candidates",
            ],
            &rows,
        ));
    }
    for (path, e) in &found.efficiency {
        body.push(Html::element(
            "h3",
            "",
            &[Html::text("Sample efficiency of the map (seed 001, X4)")],
        ));
        body.push(Html::para(&format!(
            "Y's probe applied to X mapped into Y's space with a map fitted on N paired items (\"mapped\"), against a              probe trained on X with the same N labels (\"direct\"); accuracy on {} held-out items, mean and range              over draws. Y's probe on true Y features: {:.3}; majority class: {:.3}.",
            str_of(e, "n_test"),
            f64_of(e, "y_probe_accuracy"),
            f64_of(e, "chance")
        )));
        let rows: Vec<&Value> = e["rows"]
            .as_array()
            .map(|r| r.iter().collect())
            .unwrap_or_default();
        let series = |name: &str, key: &str| {
            Series::new(
                name,
                rows.iter()
                    .map(|r| (f64_of(r, "n"), f64_of(r, &format!("{key}_mean"))))
                    .collect(),
            )
            .with_interval(
                rows.iter()
                    .map(|r| {
                        (
                            f64_of(r, &format!("{key}_min")),
                            f64_of(r, &format!("{key}_max")),
                        )
                    })
                    .collect(),
                ErrorDisplay::Band,
            )
        };
        let chart = LineChart {
            title: "accuracy against paired items N".into(),
            x_label: "N (paired items / labels)".into(),
            y_label: "held-out accuracy".into(),
            series: vec![
                series("mapped (Y probe on mapped X)", "mapped"),
                series("direct (X probe)", "direct"),
            ],
            x_scale: crate::Scale::Log10,
            y_range: Some((0.0, 1.0)),
        };
        body.push(Html::figure(&chart.to_svg()?, path));
        let table_rows: Vec<Vec<Html>> = rows
            .iter()
            .map(|r| {
                vec![
                    Html::text(&str_of(r, "n")),
                    num(f64_of(r, "mapped_mean")),
                    num(f64_of(r, "direct_mean")),
                ]
            })
            .collect();
        body.push(table(&["N", "mapped", "direct"], &table_rows));
    }
    Ok(body)
}

fn curves_section(found: &Found) -> Result<Html, ReportError> {
    let mut body = Html::para(
        "Probe accuracy across training checkpoints (`mirlens curve`): per label, the best layer's accuracy at each \
         step with its 95 % CI, and every layer at every step as a heatmap; baselines (no step) in the table.",
    );
    for (dir, rows) in &found.curves {
        let mut labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
        labels.sort();
        labels.dedup();
        let mut series = Vec::new();
        let mut base_rows = Vec::new();
        for label in &labels {
            let mut steps: Vec<u64> = rows
                .iter()
                .filter(|r| r.label == *label)
                .filter_map(|r| r.step)
                .collect();
            steps.sort_unstable();
            steps.dedup();
            let mut layers: Vec<&str> = rows
                .iter()
                .filter(|r| r.label == *label && r.step.is_some())
                .map(|r| r.layer.as_str())
                .collect();
            layers.sort_by_key(|l| (l.parse::<u64>().unwrap_or(u64::MAX), l.to_string()));
            layers.dedup();
            let mut pts = Vec::new();
            let mut ci = Vec::new();
            let mut grid = Vec::new();
            for &st in &steps {
                let at: Vec<&CurveRow> = rows
                    .iter()
                    .filter(|r| r.label == *label && r.step == Some(st))
                    .collect();
                if let Some(b) = at.iter().max_by(|a, b| a.accuracy.total_cmp(&b.accuracy)) {
                    // a log axis cannot show step 0: steps are drawn at step + 1
                    pts.push(((st + 1) as f64, b.accuracy));
                    ci.push(b.ci);
                }
                for l in &layers {
                    grid.push(
                        at.iter()
                            .find(|r| r.layer == *l)
                            .map_or(f64::NAN, |r| r.accuracy),
                    );
                }
            }
            if !pts.is_empty() {
                series.push(
                    Series::new(label.to_string(), pts).with_interval(ci, ErrorDisplay::Band),
                );
                let h = Heatmap {
                    title: format!("{label}: accuracy by step and layer"),
                    row_labels: steps.iter().map(|s| s.to_string()).collect(),
                    col_labels: layers.iter().map(|l| l.to_string()).collect(),
                    values: grid,
                    annotate: true,
                    row_title: "step".into(),
                    col_title: "layer".into(),
                    ..Default::default()
                };
                body.push(Html::figure(
                    &h.to_svg()?,
                    &format!("{label} ({dir}/curve.csv)"),
                ));
            }
            for r in rows
                .iter()
                .filter(|r| r.label == *label && r.step.is_none())
            {
                base_rows.push(vec![
                    Html::text(&r.model),
                    Html::text(&r.label),
                    Html::text(&r.layer),
                    num(r.accuracy),
                    Html::text(&format!("{:.3}–{:.3}", r.ci.0, r.ci.1)),
                ]);
            }
        }
        if !series.is_empty() {
            let chart = LineChart {
                title: "best-layer accuracy by training step".into(),
                x_label: "step + 1".into(),
                y_label: "accuracy".into(),
                series,
                x_scale: crate::Scale::Log10,
                ..Default::default()
            };
            body.push(Html::figure(&chart.to_svg()?, &format!("{dir}/curve.csv")));
        }
        if !base_rows.is_empty() {
            body.push(table(
                &["baseline", "label", "layer", "accuracy", "95 % CI"],
                &base_rows,
            ));
        }
    }
    Ok(body)
}

fn files_section(found: &Found) -> Html {
    let mut s = String::from("<ul class=\"files\">");
    for f in &found.files {
        s.push_str("<li>");
        s.push_str(Html::link_in(&found.prefix, f, f).as_str());
        s.push_str("</li>");
    }
    s.push_str("</ul>");
    let mut body = Html::para("Every result file below the run directory (CSV, JSON, SVG).");
    body.push(Html::trusted(s));
    body
}

/// Write `out_dir/index.html` (and `out_dir/audio/*.wav`) for the results found below `run_dir`. `out_dir` is
/// normally `run_dir/report`; it is skipped while scanning.
pub fn write_report(run_dir: &Path, out_dir: &Path) -> Result<ReportSummary, ReportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Io { path, source }
    };
    let mut found = Found::default();
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    found.prefix = if abs(out_dir).parent() == Some(abs(run_dir).as_path()) {
        "../".into()
    } else {
        format!(
            "file://{}/",
            crate::html::url_path(&abs(run_dir).to_string_lossy())
        )
    };
    walk(run_dir, run_dir, out_dir, 0, &mut found).map_err(io(run_dir))?;
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let mut summary = ReportSummary {
        index: out_dir.join("index.html"),
        ..Default::default()
    };
    let mut sections = vec![Section {
        id: "overview",
        title: "Run".into(),
        body: overview(&found, run_dir),
    }];
    if !found.sweeps.is_empty() {
        summary.sweeps = found.sweeps.len();
        sections.push(Section {
            id: "layers",
            title: "Which layers know what".into(),
            body: layers_section(&found)?,
        });
    }
    if !found.multipitch.is_empty() {
        summary.multipitch = found.multipitch.len();
        sections.push(Section {
            id: "frames",
            title: "Which layers hear the notes (frame level)".into(),
            body: multipitch_section(&found)?,
        });
    }
    if !found.neurons.is_empty() {
        summary.neuron_reports = found.neurons.len();
        sections.push(Section {
            id: "neurons",
            title: "Neurons".into(),
            body: neurons_section(&found),
        });
    }
    if !found.saes.is_empty() || !found.features.is_empty() || !found.dashboards.is_empty() {
        let body = sae_section(&found, out_dir, &mut summary)?;
        sections.push(Section {
            id: "features",
            title: "Sparse features".into(),
            body,
        });
    }
    if !found.matrices.is_empty()
        || !found.scores.is_empty()
        || !found.maps.is_empty()
        || !found.efficiency.is_empty()
    {
        summary.matrices = found.matrices.len();
        sections.push(Section {
            id: "crossmodal",
            title: "Similarity between models and modalities".into(),
            body: crossmodal_section(&found)?,
        });
    }
    if !found.curves.is_empty() {
        summary.curves = found.curves.len();
        sections.push(Section {
            id: "checkpoints",
            title: "Across training checkpoints".into(),
            body: curves_section(&found)?,
        });
    }
    summary.files = found.files.len();
    sections.push(Section {
        id: "files",
        title: "Files".into(),
        body: files_section(&found),
    });
    summary.sections = sections.iter().map(|s| s.id).collect();
    let title = match &found.summary {
        Some(s) => format!("mirlens report — {}", str_of(s, "model")),
        None => "mirlens report".to_string(),
    };
    let subtitle = Html::para(&format!(
        "{} · mirlens {}",
        run_dir.display(),
        env!("CARGO_PKG_VERSION")
    ));
    let html = page(&title, &subtitle, &sections);
    write_atomic(&summary.index, html.as_bytes())?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn put(p: &Path, v: &Value) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, v.to_string()).unwrap();
    }

    /// A run directory as a user's commands leave it, with hostile names.
    fn user_run(root: &Path) {
        let hostile = "probe-<img src=x onerror=alert(1)>";
        put(
            &root.join(hostile).join("layer_sweep.json"),
            &json!([
                {"layer": "0", "accuracy": 0.5, "ci_low": 0.4, "ci_high": 0.6},
                {"layer": "1", "accuracy": 0.9, "ci_low": 0.85, "ci_high": 0.95},
            ]),
        );
        put(
            &root.join("store").join("manifest.json"),
            &json!({"format": "mirlens-store/2", "model": "m<1>", "layers": [0, 1], "hidden_size": 4}),
        );
        // store internals are not listed
        put(
            &root.join("store").join("stats").join("layer-000.json"),
            &json!({}),
        );
        put(
            &root.join("neurons-key").join("neurons.json"),
            &json!({"method": "anova_f", "n_neurons": 4, "ranking": [{"neuron": 3}, {"neuron": 1}],
                    "dense_accuracy": {"value": 0.8, "ci_low": 0.7, "ci_high": 0.9},
                    "random_complement": {"k0": 1, "top_accuracy": 0.6, "equivalent_multiple": 2.0},
                    "control": {"selectivity": 0.4}}),
        );
        let dash = root.join("sae").join("dashboards");
        std::fs::create_dir_all(dash.join("audio")).unwrap();
        std::fs::write(dash.join("audio").join("a.wav"), b"RIFFfake").unwrap();
        std::fs::write(root.join("secret.wav"), b"secret").unwrap();
        let ex = |wav: &str| {
            json!({"clip_id": "<script>alert(2)</script>", "time": 0.5, "activation": 1.5, "wav": wav,
                   "trace": [[0.0, 0.0], [0.5, 1.5]], "notes": [[60, 0.0, 0.75]], "duration": 1.0,
                   "clip_labels": {"family": "<b>x</b>"}})
        };
        put(
            &dash.join("dashboards.json"),
            &json!({"features": [{"index": 7, "label": "family", "class": "<i>c</i>", "precision": 0.9,
                     "recall": 0.2, "density": 0.01, "max_activation": 2.0, "histogram": [1, 2, 3],
                     "labels": [], "examples": [ex("audio/a.wav"), ex("../../secret.wav")]}]}),
        );
        put(
            &root.join("align").join("cka_debiased.json"),
            &json!({"metric": "cka_debiased", "x_layers": ["0", "1"], "y_layers": ["0"], "values": [0.1, 0.2],
                    "n": 10}),
        );
        put(
            &root.join("align").join("score.json"),
            &json!({"metric": "cka_debiased", "value": 0.2, "null_mean": 0.0, "p_value": 0.01, "ci": [0.1, 0.3],
                    "n": 10}),
        );
        put(
            &root
                .join("align-x")
                .join("efficiency")
                .join("efficiency.json"),
            &json!({"method": "ridge", "n_pool": 80, "n_test": 20, "classes": 3, "chance": 0.4,
                    "y_probe_accuracy": 0.95, "rows": [
                {"n": 10, "mapped_mean": 0.5, "mapped_min": 0.4, "mapped_max": 0.6,
                 "direct_mean": 0.45, "direct_min": 0.3, "direct_max": 0.5},
                {"n": 30, "mapped_mean": 0.7, "mapped_min": 0.65, "mapped_max": 0.75,
                 "direct_mean": 0.6, "direct_min": 0.55, "direct_max": 0.62}]}),
        );
        std::fs::write(root.join("notes.md"), "not listed").unwrap();
        std::fs::create_dir_all(root.join("curve")).unwrap();
        std::fs::write(
            root.join("curve").join("curve.csv"),
            "model,step,label,layer,accuracy,ci_low,ci_high\n\
             m,0,pc,0,0.5000,0.4000,0.6000\nm,0,pc,1,0.2000,0.1000,0.3000\n\
             m,100,pc,0,0.6000,0.5000,0.7000\nm,100,pc,1,0.9000,0.8500,0.9500\n\
             \"'=cmd\",,pc,0,0.7000,0.6500,0.7500\n",
        )
        .unwrap();
        put(
            &root.join("multipitch").join("<m>").join("multipitch.json"),
            &json!({"store": "store-<s>", "layers": [
                {"layer": 0, "pitch": {"f_measure": 0.4, "precision": 0.5, "recall": 0.33, "accuracy": 0.25},
                 "chroma": {"f_measure": 0.45}, "fold_f": [0.3, 0.5]},
                {"layer": 1, "pitch": {"f_measure": 0.6, "precision": 0.7, "recall": 0.525, "accuracy": 0.43},
                 "chroma": {"f_measure": 0.65}, "fold_f": [0.55, 0.62]}]}),
        );
    }

    #[test]
    fn a_user_run_directory_becomes_one_escaped_page() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("run");
        user_run(&root);
        let s = write_report(&root, &root.join("report")).unwrap();
        assert_eq!(
            s.sections,
            [
                "overview",
                "layers",
                "frames",
                "neurons",
                "features",
                "crossmodal",
                "checkpoints",
                "files"
            ]
        );
        assert_eq!(s.curves, 1);
        assert_eq!(
            (
                s.sweeps,
                s.neuron_reports,
                s.dashboards,
                s.audio_clips,
                s.matrices
            ),
            (1, 1, 1, 1, 1)
        );
        assert_eq!(s.multipitch, 1);
        // 7 JSON results, the curve and the store manifest; the store's internals, audio and markdown are not listed
        assert_eq!(s.files, 9);
        let html = std::fs::read_to_string(&s.index).unwrap();
        for raw in ["<img", "<script>alert", "<b>x", "<i>c", "m<1>"] {
            assert!(!html.contains(raw), "{raw} unescaped");
        }
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("&lt;script&gt;alert(2)&lt;/script&gt;"));
        // links reach the run directory from report/, percent-encoded
        assert!(html.contains(
            "href=\"../probe-%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E/layer_sweep.csv\""
        ));
        // the clip inside the dashboard folder is copied; the one pointing outside it is not
        assert_eq!(
            std::fs::read(root.join("report").join("audio").join("f7-0.wav")).unwrap(),
            b"RIFFfake"
        );
        assert!(!root.join("report").join("audio").join("f7-1.wav").exists());
        assert!(html.contains("audio unavailable"));
        assert_eq!(html.matches("<audio ").count(), 1);
        // the best layer and the neuron ranking as the results hold them
        assert!(html.contains("<td>accuracy</td><td>1</td><td>0.900</td><td>0.850–0.950</td>"));
        assert!(html.contains("<td>3, 1</td>"));
        // a second report replaces the first and does not list itself
        let s2 = write_report(&root, &root.join("report")).unwrap();
        assert_eq!(s2.files, 9);
        // the sample-efficiency curve: both series drawn from the JSON and the table of means
        let sec = &html[html.find("<section id=\"crossmodal\">").unwrap()..];
        let sec = &sec[..sec.find("</section>").unwrap()];
        assert!(sec.contains("Sample efficiency"), "{sec}");
        assert!(
            sec.contains("<td>30</td><td>0.700</td><td>0.600</td>"),
            "{sec}"
        );
        assert!(sec.contains("data-x=\"30\" data-y=\"0.7\""), "{sec}");
        // the multi-pitch probe: F per layer with the fold range, the best layer's row, escaped names
        let sec = &html[html.find("<section id=\"frames\">").unwrap()..];
        let sec = &sec[..sec.find("</section>").unwrap()];
        assert!(sec.contains("data-x=\"1\" data-y=\"0.6\""), "{sec}");
        assert!(
            sec.contains("<td>multipitch/&lt;m&gt;</td><td>store-&lt;s&gt;</td><td>1</td><td>0.600</td><td>0.700</td>"),
            "{sec}"
        );
        assert!(sec.contains("<td>0.550–0.620</td>"), "{sec}");
        // the checkpoint curve: best layer per step (0.5 at step 0 drawn at x = 1, 0.9 at step 100 at x = 101),
        // the step × layer grid, and the baseline row with its name un-neutralised and escaped
        let sec = &html[html.find("<section id=\"checkpoints\">").unwrap()..];
        let sec = &sec[..sec.find("</section>").unwrap()];
        assert!(sec.contains("data-x=\"1\" data-y=\"0.5\""), "{sec}");
        assert!(sec.contains("data-x=\"101\" data-y=\"0.9\""), "{sec}");
        assert!(
            sec.contains("<td>=cmd</td><td>pc</td><td>0</td><td>0.700</td><td>0.650–0.750</td>"),
            "{sec}"
        );
    }

    #[test]
    fn a_page_outside_the_run_links_back_by_absolute_path() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("run");
        user_run(&root);
        let s = write_report(&root, &d.path().join("elsewhere")).unwrap();
        let html = std::fs::read_to_string(&s.index).unwrap();
        let abs = std::path::absolute(&root).unwrap();
        assert!(
            html.contains(&format!(
                "href=\"file://{}/align/score.json\"",
                abs.display()
            )),
            "{html}"
        );
    }
}
