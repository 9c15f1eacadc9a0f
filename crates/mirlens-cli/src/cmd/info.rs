//! `mirlens info`.

use std::process::ExitCode;

/// Arguments of `mirlens info`.
#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// Input files.
    pub files: Vec<std::path::PathBuf>,
}

/// Run `mirlens info`.
pub fn run(_args: InfoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`mirlens info` is being built")
}
