//! # mirlens-store
//!
//! Activation store: sharded safetensors per layer, JSON manifest, streaming readers, resumable writers, running statistics.
