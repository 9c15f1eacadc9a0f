//! The MARBLE MLP probe: one hidden layer (512, ReLU, dropout 0.2), Adam, ReduceLROnPlateau (×0.5, patience 5),
//! early stopping on validation loss, a learning-rate grid (best validation accuracy wins), and optionally
//! MARBLE's learned softmax-weighted sum over several layers (`normalized_weight_sum`) as the input.

use crate::data::{Matrix, grouped_split, n_classes, take};
use crate::error::{ProbeError, Result, param};
use crate::linear::argmax;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Parameters of [`MlpProbe::fit`] (MARBLE defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpParams {
    /// Hidden units.
    pub hidden: usize,
    /// Dropout probability on the hidden layer.
    pub dropout: f64,
    /// Learning-rate grid; the best validation accuracy is kept.
    pub lrs: Vec<f64>,
    /// Minibatch size.
    pub batch_size: usize,
    /// Maximum epochs.
    pub max_epochs: usize,
    /// Early-stopping patience (epochs without validation-loss improvement).
    pub patience: usize,
    /// Plateau patience before halving the learning rate.
    pub lr_patience: usize,
    /// Fraction of training groups used for validation.
    pub val_fraction: f64,
    /// Seed.
    pub seed: u64,
}

impl Default for MlpParams {
    fn default() -> Self {
        MlpParams {
            hidden: 512,
            dropout: 0.2,
            lrs: vec![1e-3, 5e-3, 5e-4, 1e-2, 1e-4, 5e-5],
            batch_size: 64,
            max_epochs: 100,
            patience: 20,
            lr_patience: 5,
            val_fraction: 0.1,
            seed: 0,
        }
    }
}

impl MlpParams {
    /// Validate.
    pub fn check(self) -> Result<Self> {
        if self.hidden == 0 || self.batch_size == 0 || self.max_epochs == 0 {
            return Err(param(
                "hidden/batch_size/max_epochs",
                format!("{}/{}/{}", self.hidden, self.batch_size, self.max_epochs),
                ">= 1",
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(param("dropout", self.dropout, "in [0, 1)"));
        }
        if self.lrs.is_empty() || self.lrs.iter().any(|&l| l.is_nan() || l <= 0.0) {
            return Err(param(
                "lrs",
                format!("{:?}", self.lrs),
                "a non-empty list of rates > 0",
            ));
        }
        Ok(self)
    }
}

/// A fitted MLP probe (possibly over a learned weighted sum of layers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpProbe {
    /// Softmax weights over the input layers (`[1.0]` for a single layer).
    pub layer_weights: Vec<f32>,
    /// First layer, `d × hidden`.
    pub w1: Vec<f32>,
    /// First bias.
    pub b1: Vec<f32>,
    /// Second layer, `hidden × classes`.
    pub w2: Vec<f32>,
    /// Second bias.
    pub b2: Vec<f32>,
    /// Input width.
    pub d: usize,
    /// Hidden width.
    pub hidden: usize,
    /// Classes.
    pub n_classes: usize,
    /// The learning rate that won the grid.
    pub best_lr: f64,
    /// Validation accuracy of the winner.
    pub val_accuracy: f64,
    /// Epochs trained by the winner.
    pub epochs: usize,
}

struct Net {
    a: Array1<f32>,
    w1: Array2<f32>,
    b1: Array1<f32>,
    w2: Array2<f32>,
    b2: Array1<f32>,
}

struct Adam {
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    t: i32,
}

impl Adam {
    fn step(&mut self, params: [&mut [f32]; 5], grads: [&[f32]; 5], lr: f32) {
        self.t += 1;
        let (b1, b2) = (0.9f32, 0.999f32);
        let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
        for (i, (p, g)) in params.into_iter().zip(grads).enumerate() {
            for j in 0..p.len() {
                self.m[i][j] = b1 * self.m[i][j] + (1.0 - b1) * g[j];
                self.v[i][j] = b2 * self.v[i][j] + (1.0 - b2) * g[j] * g[j];
                p[j] -= lr * (self.m[i][j] / c1) / ((self.v[i][j] / c2).sqrt() + 1e-8);
            }
        }
    }
}

fn softmax_vec(a: &Array1<f32>) -> Vec<f32> {
    let m = a.iter().fold(f32::NEG_INFINITY, |x, &y| x.max(y));
    let e: Vec<f32> = a.iter().map(|v| (v - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// Combine rows `idx` of every input with weights `p`.
fn combine(inputs: &[&Matrix], idx: &[usize], p: &[f32]) -> Array2<f32> {
    let d = inputs[0].cols;
    let mut out = Array2::<f32>::zeros((idx.len(), d));
    for (l, x) in inputs.iter().enumerate() {
        for (r, &i) in idx.iter().enumerate() {
            let row = x.row(i);
            let mut o = out.row_mut(r);
            o.iter_mut().zip(row).for_each(|(a, b)| *a += p[l] * b);
        }
    }
    out
}

impl Net {
    fn forward(&self, h0: ArrayView2<'_, f32>) -> (Array2<f32>, Array2<f32>) {
        let mut h = h0.dot(&self.w1) + &self.b1;
        h.mapv_inplace(|v| v.max(0.0));
        let z = h.dot(&self.w2) + &self.b2;
        (h, z)
    }
}

/// Softmax cross-entropy: mean loss, and `(P − Y)/n` written into `z`.
fn ce_grad(z: &mut Array2<f32>, y: &[usize]) -> f64 {
    let n = y.len() as f32;
    let mut loss = 0.0f64;
    for (mut r, &t) in z.rows_mut().into_iter().zip(y) {
        let m = r.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let s: f32 = r.iter().map(|v| (v - m).exp()).sum();
        let lse = m + s.ln();
        loss += (lse - r[t]) as f64;
        r.iter_mut()
            .enumerate()
            .for_each(|(c, v)| *v = ((*v - lse).exp() - if c == t { 1.0 } else { 0.0 }) / n);
    }
    loss / y.len().max(1) as f64
}

impl MlpProbe {
    /// Fit on one layer (`inputs.len() == 1`) or on a learned softmax-weighted sum of several layers (all with the same
    /// rows and width). Validation rows are taken by group (`groups`, e.g. clips) from the given rows.
    pub fn fit(
        inputs: &[&Matrix],
        y: &[usize],
        groups: &[usize],
        params: &MlpParams,
    ) -> Result<MlpProbe> {
        let p = params.clone().check()?;
        let first = inputs.first().ok_or_else(|| ProbeError::Data {
            what: "MLP probe".into(),
            reason: "no input layers".into(),
        })?;
        for x in inputs {
            if x.rows != y.len() || x.cols != first.cols {
                return Err(ProbeError::Shape {
                    what: "MLP input layers".into(),
                    expected: y.len(),
                    got: x.rows,
                });
            }
        }
        let k = n_classes(y, "MLP probe")?;
        let split = grouped_split(groups, p.val_fraction.clamp(0.01, 0.5), p.seed)?;
        let (ytr, yva) = (take(y, &split.train), take(y, &split.test));
        let mut best: Option<MlpProbe> = None;
        for &lr in &p.lrs {
            let m = Self::train_one(inputs, &split.train, &ytr, &split.test, &yva, k, lr, &p)?;
            if best
                .as_ref()
                .is_none_or(|b| m.val_accuracy > b.val_accuracy)
            {
                best = Some(m);
            }
        }
        Ok(best.expect("non-empty grid"))
    }

    #[allow(clippy::too_many_arguments)]
    fn train_one(
        inputs: &[&Matrix],
        tr: &[usize],
        ytr: &[usize],
        va: &[usize],
        yva: &[usize],
        k: usize,
        lr: f64,
        p: &MlpParams,
    ) -> Result<MlpProbe> {
        let (d, h, nl) = (inputs[0].cols, p.hidden, inputs.len());
        let mut rng = StdRng::seed_from_u64(p.seed);
        let u = |rng: &mut StdRng, fan: usize| {
            let b = 1.0 / (fan as f32).sqrt();
            rng.random_range(-b..b)
        };
        let mut net = Net {
            a: Array1::zeros(nl),
            w1: Array2::from_shape_simple_fn((d, h), || u(&mut rng, d)),
            b1: Array1::from_shape_simple_fn(h, || u(&mut rng, d)),
            w2: Array2::from_shape_simple_fn((h, k), || u(&mut rng, h)),
            b2: Array1::from_shape_simple_fn(k, || u(&mut rng, h)),
        };
        let sizes = [nl, d * h, h, h * k, k];
        let mut adam = Adam {
            m: sizes.iter().map(|&s| vec![0.0; s]).collect(),
            v: sizes.iter().map(|&s| vec![0.0; s]).collect(),
            t: 0,
        };
        let mut order: Vec<usize> = (0..tr.len()).collect();
        let mut cur_lr = lr as f32;
        let (mut best_loss, mut since_best, mut since_lr) = (f64::INFINITY, 0usize, 0usize);
        let mut best_net: Option<(Net, f64, usize)> = None;
        let keep = 1.0 - p.dropout as f32;
        for epoch in 0..p.max_epochs {
            order.shuffle(&mut rng);
            for batch in order.chunks(p.batch_size) {
                let rows: Vec<usize> = batch.iter().map(|&i| tr[i]).collect();
                let yb: Vec<usize> = batch.iter().map(|&i| ytr[i]).collect();
                let pw = softmax_vec(&net.a);
                let x0 = combine(inputs, &rows, &pw);
                let mut hid = x0.dot(&net.w1) + &net.b1;
                let mask = Array2::from_shape_simple_fn(hid.raw_dim(), || {
                    if rng.random::<f32>() < keep {
                        1.0 / keep
                    } else {
                        0.0
                    }
                });
                hid.zip_mut_with(&mask, |v, m| *v = v.max(0.0) * m);
                let mut z = hid.dot(&net.w2) + &net.b2;
                ce_grad(&mut z, &yb);
                let gw2 = hid.t().dot(&z);
                let gb2 = z.sum_axis(Axis(0));
                let mut gh = z.dot(&net.w2.t());
                gh.zip_mut_with(&hid, |g, &hv| {
                    if hv <= 0.0 {
                        *g = 0.0
                    }
                });
                gh.zip_mut_with(&mask, |g, m| *g *= m);
                let gw1 = x0.t().dot(&gh);
                let gb1 = gh.sum_axis(Axis(0));
                let mut ga = vec![0.0f32; nl];
                if nl > 1 {
                    let gx = gh.dot(&net.w1.t());
                    let dp: Vec<f32> = (0..nl)
                        .map(|l| {
                            rows.iter()
                                .enumerate()
                                .map(|(r, &i)| {
                                    gx.row(r)
                                        .iter()
                                        .zip(inputs[l].row(i))
                                        .map(|(a, b)| a * b)
                                        .sum::<f32>()
                                })
                                .sum()
                        })
                        .collect();
                    let s: f32 = pw.iter().zip(&dp).map(|(a, b)| a * b).sum();
                    ga = pw.iter().zip(&dp).map(|(pl, dl)| pl * (dl - s)).collect();
                }
                let (a, w1, b1, w2, b2) = (
                    &mut net.a,
                    &mut net.w1,
                    &mut net.b1,
                    &mut net.w2,
                    &mut net.b2,
                );
                adam.step(
                    [
                        a.as_slice_mut().expect("std"),
                        w1.as_slice_mut().expect("std"),
                        b1.as_slice_mut().expect("std"),
                        w2.as_slice_mut().expect("std"),
                        b2.as_slice_mut().expect("std"),
                    ],
                    [
                        &ga,
                        gw1.as_slice().expect("std"),
                        gb1.as_slice().expect("std"),
                        gw2.as_slice().expect("std"),
                        gb2.as_slice().expect("std"),
                    ],
                    cur_lr,
                );
            }
            // Validation.
            let pw = softmax_vec(&net.a);
            let (_, mut z) = net.forward(combine(inputs, va, &pw).view());
            let pred: Vec<usize> = z
                .rows()
                .into_iter()
                .map(|r| argmax(r.as_slice().expect("row")))
                .collect();
            let acc = crate::metrics::accuracy(yva, &pred);
            let loss = ce_grad(&mut z, yva);
            if loss < best_loss - 1e-6 {
                best_loss = loss;
                since_best = 0;
                since_lr = 0;
                best_net = Some((
                    Net {
                        a: net.a.clone(),
                        w1: net.w1.clone(),
                        b1: net.b1.clone(),
                        w2: net.w2.clone(),
                        b2: net.b2.clone(),
                    },
                    acc,
                    epoch + 1,
                ));
            } else {
                since_best += 1;
                since_lr += 1;
                if since_lr > p.lr_patience {
                    cur_lr *= 0.5;
                    since_lr = 0;
                }
                if since_best >= p.patience {
                    break;
                }
            }
        }
        let (net, acc, epochs) = best_net.expect("at least one epoch");
        Ok(MlpProbe {
            layer_weights: softmax_vec(&net.a),
            w1: net.w1.into_raw_vec_and_offset().0,
            b1: net.b1.to_vec(),
            w2: net.w2.into_raw_vec_and_offset().0,
            b2: net.b2.to_vec(),
            d,
            hidden: h,
            n_classes: k,
            best_lr: lr,
            val_accuracy: acc,
            epochs,
        })
    }

    /// Logits for the rows of `inputs` (same layers as in training).
    pub fn decision(&self, inputs: &[&Matrix]) -> Result<Array2<f32>> {
        if inputs.len() != self.layer_weights.len() || inputs.iter().any(|x| x.cols != self.d) {
            return Err(ProbeError::Shape {
                what: "MLP probe inputs (layers × width)".into(),
                expected: self.layer_weights.len() * self.d,
                got: inputs.len() * inputs.first().map_or(0, |x| x.cols),
            });
        }
        let idx: Vec<usize> = (0..inputs[0].rows).collect();
        let x0 = combine(inputs, &idx, &self.layer_weights);
        let w1 = ArrayView2::from_shape((self.d, self.hidden), &self.w1).expect("shape");
        let w2 = ArrayView2::from_shape((self.hidden, self.n_classes), &self.w2).expect("shape");
        let mut h = x0.dot(&w1) + &Array1::from(self.b1.clone());
        h.mapv_inplace(|v| v.max(0.0));
        Ok(h.dot(&w2) + &Array1::from(self.b2.clone()))
    }

    /// Predicted classes.
    pub fn predict(&self, inputs: &[&Matrix]) -> Result<Vec<usize>> {
        Ok(self
            .decision(inputs)?
            .rows()
            .into_iter()
            .map(|r| argmax(r.as_slice().expect("row")))
            .collect())
    }

    /// Accuracy.
    pub fn score(&self, inputs: &[&Matrix], y: &[usize]) -> Result<f64> {
        Ok(crate::metrics::accuracy(y, &self.predict(inputs)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, StandardNormal};

    #[test]
    fn mlp_learns_xor_and_the_weighted_sum_prefers_the_informative_layer() {
        let mut rng = StdRng::seed_from_u64(3);
        let n = 600;
        let mut a = Vec::new();
        let mut noise = Vec::new();
        let mut y = Vec::new();
        for _ in 0..n {
            let (u, v): (f32, f32) = (rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
            y.push(((u > 0.0) ^ (v > 0.0)) as usize);
            a.extend([u * 2.0, v * 2.0, StandardNormal.sample(&mut rng)]);
            noise.extend((0..3).map(|_| -> f32 { StandardNormal.sample(&mut rng) }));
        }
        let xa = Matrix::new(n, 3, a).unwrap();
        let xn = Matrix::new(n, 3, noise).unwrap();
        let groups: Vec<usize> = (0..n).collect();
        let p = MlpParams {
            hidden: 32,
            lrs: vec![1e-2],
            max_epochs: 60,
            ..Default::default()
        };
        let m = MlpProbe::fit(&[&xa], &y, &groups, &p).unwrap();
        assert!(
            m.score(&[&xa], &y).unwrap() > 0.9,
            "XOR is not linearly separable; the MLP must solve it"
        );
        let w = MlpProbe::fit(&[&xn, &xa], &y, &groups, &p).unwrap();
        assert!(w.layer_weights[1] > 0.6, "weights {:?}", w.layer_weights);
        assert!(w.score(&[&xn, &xa], &y).unwrap() > 0.85);
    }
}
