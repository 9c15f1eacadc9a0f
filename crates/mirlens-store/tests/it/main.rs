//! Integration tests of the activation store.

mod common;
mod errors;
mod format2;
mod integrity;
mod locking;
mod python;
mod reading;
mod writing;
