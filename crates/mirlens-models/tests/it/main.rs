//! Integration tests of mirlens-models: transformers parity on every tiny variant, loading errors, batching,
//! chunked inference and the registry.

mod chunking;
mod errors;
mod parity;
mod registry;
mod text;
mod text_tokenizer;
