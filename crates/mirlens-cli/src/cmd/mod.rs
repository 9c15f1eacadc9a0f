//! One module per subcommand. Each exposes an `…Args` type (clap) and `run(args) -> anyhow::Result<ExitCode>`.

pub mod align;
pub mod array_out;
pub mod curve;
pub mod dashboards;
pub mod datasets;
pub mod embed;
pub mod embed_text;
pub mod eval;
pub mod extract;
pub mod extract_text;
pub mod features;
pub mod info;
pub mod midi;
pub mod models;
pub mod neurons;
pub mod pretrain;
pub mod probe;
pub mod report;
pub mod run;
pub mod run_lm;
pub mod sae;
pub mod score;
pub mod store;
