//! Cross-modal mapping and representational similarity for mirlens.
//!
//! Two views `X [n, p]` and `Y [n, q]` hold the representations of the same `n` items (rows paired in order) — two
//! layers, two models, or two modalities (audio frames and the MIDI events sounding at the same time). This crate:
//!
//! - measures how similar the views are ([`measures`]): linear and debiased CKA, RSA, mutual-kNN, cycle-kNN and
//!   CKNNA (platonic-rep), CCA, SVCCA, PWCCA, the Procrustes distance and netrep's angular shape metric;
//! - gives every measure a permutation null and a bootstrap CI ([`null`]), using cheap exact forms for the
//!   permuted statistic (a permuted precomputed Gram matrix, relabelled neighbour lists);
//! - computes layer × layer matrices reusing per-layer Gram matrices and neighbour lists ([`layers`]);
//! - fits linear maps X → Y (ridge with CV, orthogonal Procrustes, reduced-rank regression, CCA) and scores them by
//!   held-out R² and retrieval in both directions ([`maps`], [`retrieval`]);
//! - trains contrastive linear heads (symmetric InfoNCE, SigLIP) with hand-written gradients and Adam
//!   ([`contrastive`]);
//! - measures how much a map saves paired labels: a probe of Y applied to mapped X against a probe trained on X
//!   with the same labels ([`efficiency`]);
//! - matches the features of two SAE dictionaries one-to-one by activation correlation (Hungarian algorithm) against
//!   a shuffled-pairing null ([`features`]);
//! - reads the views from `.npy` files ([`npy`]) or pairs the rows of two activation stores by clip id and time
//!   overlap ([`pairing`]).
//!
//! Formulas, conventions and where the reference implementations disagree: `docs/align.md`. The crate reads stores
//! and plain matrices only; it never decodes audio or runs a model.

pub mod contrastive;
pub mod efficiency;
pub mod error;
pub mod features;
pub mod knn;
pub mod layers;
pub mod linalg;
pub mod maps;
pub mod measures;
pub mod npy;
pub mod null;
pub mod pairing;
pub mod retrieval;

pub use error::{AlignError, Result};
pub use linalg::Matrix;
pub use measures::{MeasureParams, Metric, Preprocess, Rdm, Statistic, measure, prepare};
pub use null::{NullParams, Score, score};
