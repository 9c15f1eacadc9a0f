//! Pairing the rows of two activation stores (or taking two plain matrices whose rows are paired in order).
//!
//! Store rows are joined by clip id. [`Pairing::Overlap`] pairs each row of X with the row of Y from the same clip
//! whose time span overlaps it most (frames of different rates; ties go to the earlier Y row; X rows overlapping no
//! Y row are dropped); [`Pairing::Pooled`] averages each store's rows per clip and pairs the clip means. Every pair
//! keeps its clip as a group, for permutations within clips and bootstrap over clips.

use crate::error::{AlignError, Result};
use crate::linalg::{self, Matrix};
use mirlens_core::LayerId;
use mirlens_store::reader::Store;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// How rows of two stores are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pairing {
    /// Same clip id, largest time overlap.
    Overlap,
    /// One row per clip (mean over the clip's rows) in each store, joined by clip id.
    Pooled,
    /// Rows paired in store order (the stores must have the same number of rows).
    Order,
}

/// Row spans and clip ids of a store.
#[derive(Debug, Clone)]
pub struct RowIndex {
    /// Clip id of each row.
    pub clip: Vec<String>,
    /// Start of each row's span (seconds from the clip start).
    pub start: Vec<f64>,
    /// End of each row's span.
    pub end: Vec<f64>,
}

impl RowIndex {
    /// Read the row table of a store. Spans are the store's span columns when it has them; otherwise each frame
    /// lasts until the next frame of its clip starts (the last one as long as the one before it; a clip with one
    /// row covers all time).
    pub fn of(store: &Store) -> Result<RowIndex> {
        let rows = store.try_rows()?;
        let clip: Vec<String> = rows.iter().map(|r| r.clip_id.clone()).collect();
        if let Ok((a, b)) = store.spans()
            && a.len() == rows.len()
            && a.iter().zip(b).any(|(s, e)| e > s)
        {
            return Ok(RowIndex {
                clip,
                start: a.to_vec(),
                end: b.to_vec(),
            });
        }
        let n = rows.len();
        let start: Vec<f64> = rows.iter().map(|r| r.time).collect();
        let mut end = vec![f64::INFINITY; n];
        let fr = store.manifest().header.frame_rate;
        for i in 0..n {
            let next_same = i + 1 < n && clip[i + 1] == clip[i];
            let prev_same = i > 0 && clip[i - 1] == clip[i];
            end[i] = if next_same {
                start[i + 1]
            } else if prev_same {
                start[i] + (start[i] - start[i - 1])
            } else if fr > 0.0 && rows[i].frame > 0 {
                start[i] + 1.0 / fr
            } else {
                f64::INFINITY
            };
        }
        Ok(RowIndex { clip, start, end })
    }
}

/// Two paired views and the clip (group) of each pair.
#[derive(Debug, Clone)]
pub struct Paired {
    /// Rows of X.
    pub x: Matrix,
    /// Rows of Y, paired with X row by row.
    pub y: Matrix,
    /// Group (clip) index of each pair.
    pub groups: Vec<u32>,
    /// Clip id of each group.
    pub group_names: Vec<String>,
}

/// Row-index pairs `(x_row, y_row)` of two row tables by clip id and largest time overlap.
pub fn overlap_pairs(x: &RowIndex, y: &RowIndex) -> Vec<(usize, usize)> {
    let mut by_clip: HashMap<&str, Vec<usize>> = HashMap::new();
    for (j, c) in y.clip.iter().enumerate() {
        by_clip.entry(c.as_str()).or_default().push(j);
    }
    let mut out = Vec::new();
    for i in 0..x.clip.len() {
        let Some(cands) = by_clip.get(x.clip[i].as_str()) else {
            continue;
        };
        let mut best: Option<(f64, usize)> = None;
        for &j in cands {
            let ov = x.end[i].min(y.end[j]) - x.start[i].max(y.start[j]);
            let ov = if ov.is_nan() { f64::INFINITY } else { ov };
            if ov > 0.0 && best.is_none_or(|(b, _)| ov > b) {
                best = Some((ov, j));
            }
        }
        if let Some((_, j)) = best {
            out.push((i, j));
        }
    }
    out
}

fn mean_per_clip(m: &Matrix, clips: &[String]) -> (Vec<String>, Matrix) {
    let mut order: Vec<String> = Vec::new();
    let mut pos: HashMap<&str, usize> = HashMap::new();
    for c in clips {
        if !pos.contains_key(c.as_str()) {
            pos.insert(c.as_str(), order.len());
            order.push(c.clone());
        }
    }
    let mut sum = faer::Mat::<f64>::zeros(order.len(), m.ncols());
    let mut count = vec![0usize; order.len()];
    for (i, c) in clips.iter().enumerate() {
        let g = pos[c.as_str()];
        count[g] += 1;
        for j in 0..m.ncols() {
            sum[(g, j)] += m[(i, j)];
        }
    }
    for g in 0..order.len() {
        for j in 0..m.ncols() {
            sum[(g, j)] /= count[g] as f64;
        }
    }
    (order, sum)
}

/// One layer of a store as a matrix.
pub fn read_layer(store: &Store, layer: usize) -> Result<Matrix> {
    if !store.layers().contains(&LayerId(layer)) {
        return Err(AlignError::NoLayer {
            source_path: store.dir().to_path_buf(),
            layer: layer.to_string(),
        });
    }
    let (data, rows, cols) = store.read_layer(LayerId(layer))?;
    Ok(linalg::from_rows_f32(&data, rows, cols))
}

/// The row pairing of two stores (reused across layer pairs): X rows, Y rows, group of each pair.
#[derive(Debug, Clone)]
pub struct StorePairing {
    /// How rows were joined.
    pub mode: Pairing,
    /// X row of each pair (for `Pooled`: the X clip-mean index).
    pub x_rows: Vec<usize>,
    /// Y row of each pair.
    pub y_rows: Vec<usize>,
    /// Group of each pair.
    pub groups: Vec<u32>,
    /// Clip id of each group.
    pub group_names: Vec<String>,
    x_clips: Vec<String>,
    y_clips: Vec<String>,
}

impl StorePairing {
    /// Pair the rows of two stores.
    pub fn new(xs: &Store, ys: &Store, mode: Pairing) -> Result<StorePairing> {
        let xi = RowIndex::of(xs)?;
        let yi = RowIndex::of(ys)?;
        let no_pairs = |reason: String| AlignError::NoPairs {
            x: xs.dir().to_path_buf(),
            y: ys.dir().to_path_buf(),
            reason,
        };
        let pairs: Vec<(usize, usize)> = match mode {
            Pairing::Order => {
                if xi.clip.len() != yi.clip.len() {
                    return Err(AlignError::RowMismatch {
                        x: xi.clip.len(),
                        y: yi.clip.len(),
                    });
                }
                (0..xi.clip.len()).map(|i| (i, i)).collect()
            }
            Pairing::Overlap => overlap_pairs(&xi, &yi),
            Pairing::Pooled => {
                let xo = first_order(&xi.clip);
                let yo = first_order(&yi.clip);
                let ypos: HashMap<&str, usize> = yo
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.as_str(), i))
                    .collect();
                xo.iter()
                    .enumerate()
                    .filter_map(|(i, c)| ypos.get(c.as_str()).map(|&j| (i, j)))
                    .collect()
            }
        };
        if pairs.is_empty() {
            return Err(no_pairs(format!("no shared clip ids ({mode:?} pairing)")));
        }
        let clip_of = |i: usize| -> &str {
            match mode {
                Pairing::Pooled => "",
                _ => xi.clip[i].as_str(),
            }
        };
        let xo = first_order(&xi.clip);
        let mut names: Vec<String> = Vec::new();
        let mut gpos: HashMap<String, u32> = HashMap::new();
        let mut groups = Vec::with_capacity(pairs.len());
        for &(i, _) in &pairs {
            let name = match mode {
                Pairing::Pooled => xo[i].clone(),
                _ => clip_of(i).to_string(),
            };
            let g = *gpos.entry(name.clone()).or_insert_with(|| {
                names.push(name.clone());
                (names.len() - 1) as u32
            });
            groups.push(g);
        }
        Ok(StorePairing {
            mode,
            x_rows: pairs.iter().map(|p| p.0).collect(),
            y_rows: pairs.iter().map(|p| p.1).collect(),
            groups,
            group_names: names,
            x_clips: xi.clip,
            y_clips: yi.clip,
        })
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.x_rows.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.x_rows.is_empty()
    }

    /// The paired X view of one full layer matrix of the X store.
    pub fn x_view(&self, layer: &Matrix) -> Matrix {
        self.view(layer, &self.x_rows, &self.x_clips)
    }

    /// The paired Y view of one full layer matrix of the Y store.
    pub fn y_view(&self, layer: &Matrix) -> Matrix {
        self.view(layer, &self.y_rows, &self.y_clips)
    }

    fn view(&self, layer: &Matrix, rows: &[usize], clips: &[String]) -> Matrix {
        match self.mode {
            Pairing::Pooled => {
                let (_, means) = mean_per_clip(layer, clips);
                linalg::select_rows(means.as_ref(), rows)
            }
            _ => linalg::select_rows(layer.as_ref(), rows),
        }
    }
}

fn first_order(clips: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    clips
        .iter()
        .filter(|c| seen.insert(c.as_str()))
        .cloned()
        .collect()
}

/// Where one view comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A `.npy` matrix `[n, d]`.
    Npy(PathBuf),
    /// One layer of an activation store.
    Store {
        /// Store directory.
        dir: PathBuf,
        /// Layer index.
        layer: usize,
    },
}

impl Source {
    /// A `.npy` path or a store directory (which then needs `layer`).
    pub fn from_path(path: &Path, layer: Option<usize>) -> Result<Source> {
        if path.is_dir() {
            let layer = layer.ok_or_else(|| AlignError::InvalidParam {
                name: "layer",
                reason: format!(
                    "{} is a store: name its layer (--x-layer / --y-layer)",
                    path.display()
                ),
            })?;
            Ok(Source::Store {
                dir: path.to_path_buf(),
                layer,
            })
        } else {
            Ok(Source::Npy(path.to_path_buf()))
        }
    }
}

/// Load two views: two `.npy` matrices (rows paired in order, no groups) or two store layers paired by `mode`.
pub fn load_pair(x: &Source, y: &Source, mode: Pairing) -> Result<Paired> {
    match (x, y) {
        (Source::Npy(a), Source::Npy(b)) => {
            let xm = crate::npy::read(a)?;
            let ym = crate::npy::read(b)?;
            if xm.nrows() != ym.nrows() {
                return Err(AlignError::RowMismatch {
                    x: xm.nrows(),
                    y: ym.nrows(),
                });
            }
            let n = xm.nrows();
            Ok(Paired {
                x: xm,
                y: ym,
                groups: vec![0; n],
                group_names: Vec::new(),
            })
        }
        (Source::Store { dir: a, layer: la }, Source::Store { dir: b, layer: lb }) => {
            let xs = Store::open(a)?;
            let ys = Store::open(b)?;
            let p = StorePairing::new(&xs, &ys, mode)?;
            let xl = read_layer(&xs, *la)?;
            let yl = read_layer(&ys, *lb)?;
            Ok(Paired {
                x: p.x_view(&xl),
                y: p.y_view(&yl),
                groups: p.groups.clone(),
                group_names: p.group_names.clone(),
            })
        }
        _ => Err(AlignError::InvalidParam {
            name: "x/y",
            reason: "give two .npy files or two stores".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_pairs_frames_of_different_rates() {
        // X at 4 frames/s, Y at 2 frames/s, one shared clip and one clip only X has.
        let x = RowIndex {
            clip: ["a", "a", "a", "a", "b"].map(String::from).to_vec(),
            start: vec![0.0, 0.25, 0.5, 0.75, 0.0],
            end: vec![0.25, 0.5, 0.75, 1.0, 0.25],
        };
        let y = RowIndex {
            clip: ["a", "a"].map(String::from).to_vec(),
            start: vec![0.0, 0.5],
            end: vec![0.5, 1.0],
        };
        assert_eq!(overlap_pairs(&x, &y), vec![(0, 0), (1, 0), (2, 1), (3, 1)]);
        // A frame straddling two Y rows goes to the larger overlap.
        let x2 = RowIndex {
            clip: vec!["a".into()],
            start: vec![0.4],
            end: vec![0.7],
        };
        assert_eq!(overlap_pairs(&x2, &y), vec![(0, 1)]);
    }
}
