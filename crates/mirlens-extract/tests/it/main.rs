//! Integration tests of extraction with a tiny golden encoder.

mod baseline;
mod extract;
mod frames;
mod stream;
mod text;
