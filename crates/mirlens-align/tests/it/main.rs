//! Integration tests of mirlens-align.

mod contrastive;
mod efficiency;
mod features;
mod golden;
mod layers;
mod maps;
mod planted;
mod stores;
