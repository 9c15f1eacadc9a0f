//! End-to-end tests of the `mirlens` binary.

mod align;
mod datasets;
mod embed;
mod embed_text;
mod features;
mod info;
mod logmel;
mod midi;
mod multipitch;

mod extract;
mod extract_text;
mod pretrain;
mod probe;
mod reliability;
mod report;
mod run;
mod sae;
