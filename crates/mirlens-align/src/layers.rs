//! Layer × layer similarity matrices between two models (or two modalities), reusing per-layer work across pairs.
//!
//! Each layer is prepared once — a centred Gram matrix for CKA, a zero-diagonal Gram matrix and its row sums for
//! debiased CKA (feature-space statistics above [`GRAM_MAX_ITEMS`] items), neighbour lists for the kNN measures —
//! and every (X layer, Y layer) cell then costs O(n²) (Gram forms), O(n·p·q) (feature forms) or O(n·k) (kNN). The
//! other measures are computed cell by cell. As platonic-rep, the result reports the maximum over all pairs and
//! where it is; unlike platonic-rep it keeps the full matrix beside it.

use crate::error::{AlignError, Result};
use crate::knn;
use crate::linalg::{self, Matrix};
use crate::measures::{self, DebiasedView, GRAM_MAX_ITEMS, MeasureParams, Metric, Preprocess};
use faer::MatRef;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A layer × layer matrix of one measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerMatrix {
    /// Measure.
    pub metric: Metric,
    /// X layer names (rows).
    pub x_layers: Vec<String>,
    /// Y layer names (columns).
    pub y_layers: Vec<String>,
    /// Row-major values `[x_layers, y_layers]`.
    pub values: Vec<f64>,
    /// Paired items.
    pub n: usize,
    /// Best value over all pairs (max for similarities, min for distances), as platonic-rep reports it.
    pub best: f64,
    /// `[x_layer, y_layer]` of the best value.
    pub best_pair: [String; 2],
    /// Per X layer, the best-matching Y layer.
    pub best_y_for_x: Vec<String>,
    /// Measure parameters.
    pub params: MeasureParams,
}

/// The `k` nearest neighbours of every row of `p` by inner product, excluding the row itself, computed in blocks of
/// rows so that no n × n matrix is held.
pub fn neighbour_lists_blocked(p: MatRef<'_, f64>, k: usize) -> Vec<u32> {
    let n = p.nrows();
    let block = 512usize;
    let mut out = vec![0u32; n * k];
    for start in (0..n).step_by(block) {
        let end = (start + block).min(n);
        let s = linalg::mul(p.subrows(start, end - start), p.transpose());
        out[start * k..end * k]
            .par_chunks_mut(k)
            .enumerate()
            .for_each(|(r, row)| {
                let i = start + r;
                let mut cand: Vec<(f64, u32)> = (0..n)
                    .filter(|&j| j != i)
                    .map(|j| (s[(r, j)], j as u32))
                    .collect();
                cand.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                for (slot, c) in row.iter_mut().zip(&cand[..k]) {
                    *slot = c.1;
                }
            });
    }
    out
}

enum Prep {
    CkaGram { kc: Vec<f64>, norm: f64 },
    CkaFeat { xc: Matrix, norm: f64 },
    DebGram { kt: Vec<f64>, view: DebiasedView },
    DebFeat { x: Matrix, view: DebiasedView },
    Lists { lists: Vec<u32> },
    Cknna { lists: Vec<u32>, gram: Vec<f64> },
    Raw(Matrix),
}

fn prep(m: &Matrix, metric: Metric, params: &MeasureParams) -> Result<Prep> {
    let n = m.nrows();
    let pre = params.preprocess.unwrap_or(if metric.is_knn() {
        Preprocess::Platonic
    } else {
        Preprocess::None
    });
    let m = match pre {
        Preprocess::None => m.clone(),
        Preprocess::Platonic => knn::platonic_prepare(m.as_ref(), params.quantile),
    };
    Ok(match metric {
        Metric::Cka if n <= GRAM_MAX_ITEMS => {
            let xc = linalg::centered(m.as_ref());
            let kc = linalg::to_rows(linalg::gram(xc.as_ref()).as_ref());
            let norm = kc.iter().map(|v| v * v).sum::<f64>().sqrt();
            Prep::CkaGram { kc, norm }
        }
        Metric::Cka => {
            let xc = linalg::centered(m.as_ref());
            let norm = linalg::fro2(linalg::tmul(xc.as_ref(), xc.as_ref()).as_ref()).sqrt();
            Prep::CkaFeat { xc, norm }
        }
        Metric::CkaDebiased if n <= GRAM_MAX_ITEMS => {
            let mut kt = linalg::to_rows(linalg::gram(m.as_ref()).as_ref());
            for i in 0..n {
                kt[i * n + i] = 0.0;
            }
            let view = DebiasedView::from_features(m.as_ref());
            Prep::DebGram { kt, view }
        }
        Metric::CkaDebiased => Prep::DebFeat {
            view: DebiasedView::from_features(m.as_ref()),
            x: m,
        },
        Metric::MutualKnn | Metric::CycleKnn => Prep::Lists {
            lists: neighbour_lists_blocked(m.as_ref(), params.k),
        },
        Metric::Cknna => Prep::Cknna {
            lists: neighbour_lists_blocked(m.as_ref(), params.k),
            gram: linalg::to_rows(linalg::gram(m.as_ref()).as_ref()),
        },
        _ => Prep::Raw(m),
    })
}

fn cell(a: &Prep, b: &Prep, n: usize, metric: Metric, params: &MeasureParams) -> Result<f64> {
    let dot = |u: &[f64], v: &[f64]| u.iter().zip(v).map(|(x, y)| x * y).sum::<f64>();
    Ok(match (a, b) {
        (Prep::CkaGram { kc: k, norm: nk }, Prep::CkaGram { kc: l, norm: nl }) => {
            dot(k, l) / (nk * nl)
        }
        (Prep::CkaFeat { xc, norm: nx }, Prep::CkaFeat { xc: yc, norm: ny }) => {
            linalg::fro2(linalg::tmul(xc.as_ref(), yc.as_ref()).as_ref()) / (nx * ny)
        }
        (Prep::DebGram { kt, view: va }, Prep::DebGram { kt: lt, view: vb }) => {
            measures::debiased_from_parts(va, vb, dot(kt, lt), n)
        }
        (Prep::DebFeat { x, view: va }, Prep::DebFeat { x: y, view: vb }) => {
            let t = measures::debiased_trace_features(x.as_ref(), y.as_ref(), va, vb);
            measures::debiased_from_parts(va, vb, t, n)
        }
        (Prep::Lists { lists: na }, Prep::Lists { lists: nb }) => match metric {
            Metric::MutualKnn => knn::mutual(na, nb, n, params.k),
            _ => knn::cycle(na, nb, n, params.k),
        },
        (Prep::Cknna { lists: na, gram: k }, Prep::Cknna { lists: nb, gram: l }) => knn::cknna(
            na,
            nb,
            n,
            params.k,
            |i, j| k[i * n + j],
            |i, j| l[i * n + j],
        ),
        (Prep::Raw(x), Prep::Raw(y)) => {
            let p = MeasureParams {
                preprocess: Some(Preprocess::None),
                ..*params
            };
            measures::measure(metric, x.as_ref(), y.as_ref(), &p)?
        }
        _ => unreachable!("both sides are prepared for the same metric"),
    })
}

/// The layer × layer matrix of `metric` between paired views `xs[i]`, `ys[j]` (all with the same rows).
pub fn layer_matrix(
    xs: &[(String, Matrix)],
    ys: &[(String, Matrix)],
    metric: Metric,
    params: &MeasureParams,
) -> Result<LayerMatrix> {
    let n = xs.first().map(|(_, m)| m.nrows()).unwrap_or(0);
    for (name, m) in xs.iter().chain(ys) {
        if m.nrows() != n {
            return Err(AlignError::RowMismatch { x: n, y: m.nrows() });
        }
        linalg::check_finite(m.as_ref(), name)?;
    }
    if xs.is_empty() || ys.is_empty() {
        return Err(AlignError::InvalidParam {
            name: "layers",
            reason: "no layers to compare".into(),
        });
    }
    params.check(metric, n)?;
    let px: Vec<Prep> = xs
        .iter()
        .map(|(_, m)| prep(m, metric, params))
        .collect::<Result<_>>()?;
    let py: Vec<Prep> = ys
        .iter()
        .map(|(_, m)| prep(m, metric, params))
        .collect::<Result<_>>()?;
    let cells: Vec<(usize, usize)> = (0..xs.len())
        .flat_map(|i| (0..ys.len()).map(move |j| (i, j)))
        .collect();
    let values: Vec<f64> = cells
        .par_iter()
        .map(|&(i, j)| cell(&px[i], &py[j], n, metric, params))
        .collect::<Result<_>>()?;
    let better = |a: f64, b: f64| {
        if metric.higher_is_similar() {
            a > b
        } else {
            a < b
        }
    };
    let mut best = 0;
    for (c, &v) in values.iter().enumerate() {
        if better(v, values[best]) {
            best = c;
        }
    }
    let best_y_for_x = (0..xs.len())
        .map(|i| {
            let row = &values[i * ys.len()..(i + 1) * ys.len()];
            let mut b = 0;
            for (j, &v) in row.iter().enumerate() {
                if better(v, row[b]) {
                    b = j;
                }
            }
            ys[b].0.clone()
        })
        .collect();
    let (bi, bj) = cells[best];
    Ok(LayerMatrix {
        metric,
        x_layers: xs.iter().map(|(s, _)| s.clone()).collect(),
        y_layers: ys.iter().map(|(s, _)| s.clone()).collect(),
        best: values[best],
        best_pair: [xs[bi].0.clone(), ys[bj].0.clone()],
        best_y_for_x,
        values,
        n,
        params: *params,
    })
}

impl LayerMatrix {
    /// CSV with a header row of Y layers and one row per X layer.
    pub fn to_csv(&self) -> String {
        // layer names come from the inputs: quoted and neutralised like every table cell
        let field = |v: &str| mirlens_report::Cell::from(v).csv();
        let mut s = String::from("x_layer");
        for y in &self.y_layers {
            s.push(',');
            s.push_str(&field(y));
        }
        s.push('\n');
        for (i, x) in self.x_layers.iter().enumerate() {
            s.push_str(&field(x));
            for j in 0..self.y_layers.len() {
                s.push_str(&format!(",{:.6}", self.values[i * self.y_layers.len() + j]));
            }
            s.push('\n');
        }
        s
    }

    /// SVG heatmap.
    pub fn to_svg(&self, x_title: &str, y_title: &str) -> Result<String> {
        let h = mirlens_report::Heatmap {
            title: format!(
                "{} (n = {}; best {:.3} at {} × {})",
                self.metric, self.n, self.best, self.best_pair[0], self.best_pair[1]
            ),
            row_labels: self.x_layers.clone(),
            col_labels: self.y_layers.clone(),
            values: self.values.clone(),
            value_range: None,
            annotate: self.x_layers.len() <= 16 && self.y_layers.len() <= 16,
            row_title: x_title.to_string(),
            col_title: y_title.to_string(),
        };
        Ok(h.to_svg()?)
    }

    /// Write `<stem>.csv`, `<stem>.svg` and `<stem>.json` into `dir` (each atomically).
    pub fn write(&self, dir: &Path, stem: &str, x_title: &str, y_title: &str) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(crate::error::io_err(dir))?;
        mirlens_report::write_atomic(&dir.join(format!("{stem}.csv")), self.to_csv().as_bytes())?;
        mirlens_report::write_atomic(
            &dir.join(format!("{stem}.svg")),
            self.to_svg(x_title, y_title)?.as_bytes(),
        )?;
        let json = serde_json::to_vec_pretty(self).expect("layer matrix serialises");
        mirlens_report::write_atomic(&dir.join(format!("{stem}.json")), &json)?;
        Ok(())
    }
}

/// Per-layer `.npy` files of a folder, sorted by the first integer in each file name (`layer-3.npy` before
/// `layer-12.npy`); the name is the file stem.
pub fn npy_folder(dir: &Path) -> Result<Vec<(String, Matrix)>> {
    let mut files: Vec<(u64, String, std::path::PathBuf)> = Vec::new();
    for e in std::fs::read_dir(dir).map_err(crate::error::io_err(dir))? {
        let p = e.map_err(crate::error::io_err(dir))?.path();
        if p.extension().and_then(|s| s.to_str()) != Some("npy") {
            continue;
        }
        let stem = p
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string();
        let digits: String = stem
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(|c| c.is_ascii_digit())
            .collect();
        files.push((digits.parse().unwrap_or(u64::MAX), stem, p));
    }
    files.sort();
    if files.is_empty() {
        return Err(AlignError::NoLayer {
            source_path: dir.to_path_buf(),
            layer: "*.npy".into(),
        });
    }
    files
        .into_iter()
        .map(|(_, s, p)| Ok((s, crate::npy::read(&p)?)))
        .collect()
}
