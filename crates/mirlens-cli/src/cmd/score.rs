//! `mirlens score key|beat|onset|notes|chord|melody --ref FILE --est FILE`: mir_eval-compatible scores as JSON.

use anyhow::Context;
use mirlens_probe::metrics::chord::chord_scores;
use mirlens_probe::metrics::mir::{self, Note, NoteMatching, read_columns, read_labeled_intervals};
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

fn read(p: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
}

fn times(p: &Path) -> anyhow::Result<Vec<f64>> {
    Ok(read_columns(&read(p)?, &p.display().to_string(), 1)?
        .into_iter()
        .map(|r| r[0])
        .collect())
}

fn notes(p: &Path) -> anyhow::Result<Vec<Note>> {
    Ok(read_columns(&read(p)?, &p.display().to_string(), 3)?
        .into_iter()
        .map(|r| Note {
            onset: r[0],
            offset: r[1],
            pitch_hz: r[2],
        })
        .collect())
}

fn key(p: &Path) -> anyhow::Result<String> {
    let t = read(p)?;
    t.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').next().unwrap_or(l).trim().to_string())
        .with_context(|| format!("{}: no key found", p.display()))
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
            let (ri, rl) = read_labeled_intervals(&read(r)?, &r.display().to_string())?;
            let (ei, el) = read_labeled_intervals(&read(e)?, &e.display().to_string())?;
            json!(chord_scores(&ri, &rl, &ei, &el)?)
        }
        ScoreKind::Melody => {
            let rc = read_columns(&read(r)?, &r.display().to_string(), 2)?;
            let ec = read_columns(&read(e)?, &e.display().to_string(), 2)?;
            let col = |v: &Vec<Vec<f64>>, i: usize| v.iter().map(|x| x[i]).collect::<Vec<_>>();
            json!(mir::melody_scores(
                &col(&rc, 0),
                &col(&rc, 1),
                &col(&ec, 0),
                &col(&ec, 1)
            )?)
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}
