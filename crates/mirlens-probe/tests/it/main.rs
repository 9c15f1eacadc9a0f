//! Integration tests of mirlens-probe: planted structure, goldens against scikit-learn and mir_eval.

mod golden_metrics;
mod golden_probe;
mod l0_imbalanced;
mod mir_eval_regression;
mod planted;
