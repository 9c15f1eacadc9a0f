//! # mirlens-probe
//!
//! Probes, neuron finding, controls and MIR downstream metrics (mir_eval / scikit-learn parity).
//!
//! * [`linear`] — logistic regression (binary / multinomial; L2 by L-BFGS, L1 and elastic net by OWL-QN) and ridge;
//! * [`l0`] — the L0 hard-concrete masked probe (Louizos gates);
//! * [`mlp`] — the MARBLE MLP probe, optionally over a learned softmax-weighted sum of layers;
//! * [`multilabel`] — one logistic probe per class for multi-hot frame labels (sounding pitches), scored with
//!   mir_eval's multipitch metrics under grouped CV;
//! * [`ranking`] — neuron rankings (Welch t, ANOVA F, mean difference, L1) and Spearman agreement;
//! * [`neurons`] — [`neuron_report`]: accuracy vs k, random-complement baseline, L0 λ sweep, control-task
//!   selectivity, bootstrap CIs; [`cross_task_matrix`];
//! * [`sweep`] — [`layer_sweep`] with grouped k-fold CV, time pooling, chunk → file aggregation;
//! * [`metrics`] — accuracy, macro-F1, ROC-AUC, PR-AUC, R², key / beat / onset / note / chord / melody scores;
//! * [`store`] — reading a layer and a label from an activation store.
//!
//! The crate works on in-memory [`Matrix`] rows and dense class indices, so every method can be tested on synthetic
//! activations with planted structure; it depends on no audio or model crate.

pub mod data;
pub mod error;
pub mod l0;
pub mod linear;
pub mod metrics;
pub mod mlp;
pub mod multilabel;
pub mod neurons;
pub mod optim;
pub mod outputs;
pub mod ranking;
pub mod store;
pub mod sweep;
pub mod synth;

pub use data::{Matrix, Split, Standardizer, grouped_kfold, grouped_split};
pub use error::{ProbeError, Result};
pub use l0::{L0Params, L0Probe};
pub use linear::{
    ClassWeight, Intercept, LogisticParams, LogisticRegression, Penalty, Ridge, RidgeParams,
};
pub use mlp::{MlpParams, MlpProbe};
pub use neurons::{
    CrossTaskMatrix, CrossTaskProbe, NeuronReport, NeuronReportParams, cross_task_matrix,
    neuron_report,
};
pub use ranking::RankMethod;
pub use sweep::{LayerResult, SweepParams, layer_sweep};
