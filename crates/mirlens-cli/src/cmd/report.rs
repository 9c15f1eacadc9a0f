//! `mirlens report RUN_DIR`: the offline HTML report of a run directory (the main job's, or any folder of
//! `extract`/`probe`/`neurons`/`sae`/`align` outputs).

use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `mirlens report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Run directory to report on (results found at any depth below it).
    pub run_dir: PathBuf,
    /// Output folder of the page and its audio clips (default: RUN_DIR/report).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Write the report; returns the path of its `index.html`.
pub fn write(run_dir: &std::path::Path, out: Option<&std::path::Path>) -> anyhow::Result<PathBuf> {
    let meta = std::fs::metadata(run_dir)
        .with_context(|| format!("reading run directory {}", run_dir.display()))?;
    if !meta.is_dir() {
        anyhow::bail!("{} is not a directory", run_dir.display());
    }
    let out = out.map_or_else(|| run_dir.join("report"), |p| p.to_path_buf());
    let s = mirlens_report::site::write_report(run_dir, &out)
        .with_context(|| format!("writing the report of {}", run_dir.display()))?;
    println!(
        "report: {} ({} layer sweep(s), {} neuron report(s), {} feature dashboard(s) with {} audio clip(s), {} \
         cross-modal matri(x/ces), {} result files linked)",
        s.index.display(),
        s.sweeps,
        s.neuron_reports,
        s.dashboards,
        s.audio_clips,
        s.matrices,
        s.files
    );
    Ok(s.index)
}

/// Run `mirlens report`.
pub fn run(a: ReportArgs) -> anyhow::Result<ExitCode> {
    write(&a.run_dir, a.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}
