//! `mirlens score key|beat|onset|notes|chord|melody --ref FILE --est FILE`: mir_eval-compatible scores as JSON.

use mirlens_probe::metrics::annotations as io;
use mirlens_probe::metrics::chord::chord_scores;
use mirlens_probe::metrics::mir::{self, Note, NoteMatching};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What kind of annotation is scored.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ScoreKind {
    /// One key per file (`C major`, `F# minor`, `X`): mir_eval weighted score.
    Key,
    /// One beat time per line: F-measure (±70 ms), untrimmed and with the 5 s trim of `beat.evaluate`.
    Beat,
    /// One onset time per line: F, precision, recall (±50 ms).
    Onset,
    /// `onset offset pitch_hz` per line: note P/R/F/overlap with and without offsets.
    Notes,
    /// `.lab` files `start end label` (Harte chord labels): chord.evaluate comparison scores.
    Chord,
    /// `time frequency_hz` per line (f ≤ 0 unvoiced): melody.evaluate scores.
    Melody,
}

/// Arguments of `mirlens score`.
#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    /// Annotation kind.
    #[arg(value_enum)]
    pub kind: ScoreKind,
    /// Reference annotation file.
    #[arg(long = "ref")]
    pub reference: PathBuf,
    /// Estimated annotation file.
    #[arg(long = "est")]
    pub estimate: PathBuf,
}

/// The file's text; anything but a regular file (a FIFO would block) is refused before it is opened.
fn read(p: &Path) -> anyhow::Result<String> {
    Ok(mirlens_audio::paths::read_regular_to_string(p)?)
}

fn name(p: &Path) -> String {
    p.display().to_string()
}

fn times(p: &Path) -> anyhow::Result<Vec<f64>> {
    Ok(io::load_events(&read(p)?, &name(p))?)
}

fn notes(p: &Path) -> anyhow::Result<Vec<Note>> {
    Ok(io::load_notes(&read(p)?, &name(p))?)
}

fn key(p: &Path) -> anyhow::Result<String> {
    Ok(io::load_key(&read(p)?, &name(p))?)
}

/// Run `mirlens score`.
pub fn run(a: ScoreArgs) -> anyhow::Result<ExitCode> {
    let (r, e) = (&a.reference, &a.estimate);
    let out = match a.kind {
        ScoreKind::Key => {
            let (rk, ek) = (key(r)?, key(e)?);
            json!({"reference": rk, "estimate": ek, "weighted_score": mir::key_weighted_score(&rk, &ek)?})
        }
        ScoreKind::Beat => {
            let (rb, eb) = (times(r)?, times(e)?);
            json!({"f_measure": mir::beat_f_measure_trimmed(&rb, &eb), "f_measure_untrimmed": mir::beat_f_measure(&rb, &eb, 0.07),
                   "n_reference": rb.len(), "n_estimate": eb.len()})
        }
        ScoreKind::Onset => {
            let s = mir::onset_f_measure(&times(r)?, &times(e)?, 0.05);
            json!({"f_measure": s.f_measure, "precision": s.precision, "recall": s.recall})
        }
        ScoreKind::Notes => {
            let (rn, en) = (notes(r)?, notes(e)?);
            let w = mir::transcription_prf(&rn, &en, &NoteMatching::default());
            let wo = mir::transcription_prf(
                &rn,
                &en,
                &NoteMatching {
                    offset_ratio: None,
                    ..Default::default()
                },
            );
            json!({"with_offset": w, "no_offset": wo})
        }
        ScoreKind::Chord => {
            let (ri, rl) = io::load_labeled_intervals(&read(r)?, &name(r))?;
            let (ei, el) = io::load_labeled_intervals(&read(e)?, &name(e))?;
            json!(chord_scores(&ri, &rl, &ei, &el)?)
        }
        ScoreKind::Melody => {
            let (rt, rf) = io::load_time_series(&read(r)?, &name(r))?;
            let (et, ef) = io::load_time_series(&read(e)?, &name(e))?;
            json!(mir::melody_scores(&rt, &rf, &et, &ef)?)
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}
