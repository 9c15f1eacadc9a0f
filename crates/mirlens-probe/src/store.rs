//! Adapter from an activation store to probe inputs: a layer's rows, a label as class indices, clip groups.

use crate::data::{Matrix, encode_classes};
use crate::error::{ProbeError, Result};
use mirlens_core::{LayerId, Pooling};
use mirlens_store::Store;

/// One layer of a store prepared for probing.
#[derive(Debug, Clone)]
pub struct LabeledRows {
    /// Activations (rows with the label, after pooling).
    pub x: Matrix,
    /// Class index per row.
    pub y: Vec<usize>,
    /// Class names (index = class).
    pub classes: Vec<String>,
    /// Clip index per row (the grouping for splits).
    pub groups: Vec<usize>,
    /// Clip id per row.
    pub clip_ids: Vec<String>,
}

/// Rows of `store` that carry label `label`, with their class indices and clip groups.
pub fn label_rows(store: &Store, label: &str) -> Result<(Vec<usize>, Vec<String>, Vec<usize>)> {
    let mut rows = Vec::new();
    let mut keys = Vec::new();
    let mut groups = Vec::new();
    for (i, r) in store.rows().iter().enumerate() {
        if let Some(v) = r.labels.get(label) {
            rows.push(i);
            keys.push(v.class_key());
            groups.push(r.clip_index);
        }
    }
    if rows.is_empty() {
        let mut names: Vec<String> = store
            .rows()
            .iter()
            .flat_map(|r| r.labels.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        return Err(ProbeError::Data {
            what: format!("label {label:?}"),
            reason: format!("no row carries it; labels present: {names:?}"),
        });
    }
    Ok((rows, keys, groups))
}

/// Load `layer` for the rows carrying `label`, pooled over time within each clip.
pub fn load_labeled(
    store: &Store,
    layer: LayerId,
    label: &str,
    pooling: Pooling,
) -> Result<LabeledRows> {
    let (rows, keys, groups) = label_rows(store, label)?;
    let d = store.hidden_size();
    let x = Matrix::new(rows.len(), d, store.read_layer_rows(layer, &rows)?)?;
    x.check_finite(&format!(
        "layer {} of store {}",
        layer.0,
        store.dir().display()
    ))?;
    let (x, first) = crate::sweep::pool_rows(&x, &groups, pooling)?;
    let keys: Vec<String> = first.iter().map(|&i| keys[i].clone()).collect();
    let groups: Vec<usize> = first.iter().map(|&i| groups[i]).collect();
    let clip_ids = first
        .iter()
        .map(|&i| store.rows()[rows[i]].clip_id.clone())
        .collect();
    let (y, classes) = encode_classes(&keys);
    Ok(LabeledRows {
        x,
        y,
        classes,
        groups,
        clip_ids,
    })
}

/// Layer sweep straight from a store: one grouped-CV probe per layer on label `label` (pooled with `pooling`).
/// `on_layer` is called before each layer (for progress display). Returns the results and the class names.
pub fn sweep_store(
    store: &Store,
    layers: &[LayerId],
    label: &str,
    pooling: Pooling,
    params: &crate::sweep::SweepParams,
    mut on_layer: impl FnMut(LayerId, &crate::data::Matrix),
) -> Result<(Vec<crate::sweep::LayerResult>, Vec<String>)> {
    let mut inputs = Vec::new();
    let mut classes = Vec::new();
    let mut y = Vec::new();
    let mut groups = Vec::new();
    let mut results = Vec::new();
    for &l in layers {
        let d = load_labeled(store, l, label, pooling)?;
        on_layer(l, &d.x);
        classes = d.classes;
        y = d.y;
        groups = d.groups;
        inputs.clear();
        inputs.push((l.0.to_string(), d.x));
        results.extend(crate::sweep::layer_sweep(&inputs, &y, &groups, params)?);
    }
    let _ = (&y, &groups);
    Ok((results, classes))
}

/// One-vs-rest binarisation: 1 where the class name equals `positive`.
pub fn one_vs_rest(rows: &LabeledRows, positive: &str) -> Result<Vec<usize>> {
    let Some(pos) = rows.classes.iter().position(|c| c == positive) else {
        return Err(ProbeError::Data {
            what: format!("positive class {positive:?}"),
            reason: format!("not among the classes {:?}", rows.classes),
        });
    };
    Ok(rows.y.iter().map(|&c| (c == pos) as usize).collect())
}
