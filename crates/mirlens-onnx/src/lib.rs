//! # mirlens-onnx
//!
//! ONNX Runtime backend implementing the mirlens Encoder trait.
