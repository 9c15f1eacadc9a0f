//! Integration tests of mirlens-audio (one binary; one module per area).

mod decode;
mod mutations;
mod frontends;
mod resample;
mod stream;
