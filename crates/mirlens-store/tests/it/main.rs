//! Integration tests of the activation store.

mod common;
mod errors;
mod python;
mod reading;
mod writing;
