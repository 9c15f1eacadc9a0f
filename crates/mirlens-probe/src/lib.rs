//! # mirlens-probe
//!
//! Probes, neuron finding, controls and MIR downstream metrics (mir_eval / scikit-learn parity).
