//! Integration tests of mirlens-audio (one binary; one module per area).

mod decode;
mod frontend_stream;
mod frontends;
mod mutations;
mod paths;
mod resample;
mod stream;
