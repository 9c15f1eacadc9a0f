//! One module per subcommand. Each exposes an `…Args` type (clap) and `run(args) -> anyhow::Result<ExitCode>`.

pub mod features;
pub mod info;
