//! # mirlens-sae
//!
//! Sparse autoencoders: TopK/AuxK, ReLU+L1, BatchTopK, JumpReLU; training, metrics, feature analysis, SAELens interop.
