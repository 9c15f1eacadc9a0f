//! `mirlens features`.

use std::process::ExitCode;

/// Arguments of `mirlens features`.
#[derive(Debug, clap::Args)]
pub struct FeaturesArgs {
    /// Input files.
    pub files: Vec<std::path::PathBuf>,
}

/// Run `mirlens features`.
pub fn run(_args: FeaturesArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`mirlens features` is being built")
}
