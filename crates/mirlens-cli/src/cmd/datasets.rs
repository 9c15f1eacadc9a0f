//! `mirlens datasets synth|manifest|show`: generate the built-in synthetic datasets, build manifests from published
//! dataset layouts, and summarise a manifest.

use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use mirlens_datasets::adapters::{self, Built};
use mirlens_datasets::synth::notes::PitchRange;
use mirlens_datasets::synth::{
    ChordQuality, ChordsParams, Family, NotesParams, SequencesParams, SynthDataset, write_dataset,
};
use mirlens_datasets::{LabelType, Manifest};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `mirlens datasets`.
#[derive(Debug, clap::Args)]
pub struct DatasetsArgs {
    #[command(subcommand)]
    pub command: DatasetsCommand,
}

/// Subcommands of `mirlens datasets`.
#[derive(Debug, Subcommand)]
pub enum DatasetsCommand {
    /// Generate a synthetic dataset (WAV files + manifest.jsonl) with exact labels, deterministic by seed.
    Synth(SynthArgs),
    /// Build a manifest from a dataset in its published layout.
    Manifest(ManifestArgs),
    /// Summarise a manifest (clips, splits, label columns, classes, content hash), or show a dataset card by name.
    Show(ShowArgs),
    /// The dataset cards (datasets/*.toml): built-in generators and the published datasets with an adapter.
    List(ListArgs),
    /// The captions of a dataset's clips (the manifest's `text` field; built-in sets and `synth-pieces` are
    /// generated with --seed) as a text dataset for a caption LM: one JSONL document per clip (its first caption)
    /// or per caption (`--all`), with the clip's split and labels.
    Captions(CaptionsArgs),
}

/// Arguments of `mirlens datasets captions`.
#[derive(Debug, clap::Args)]
pub struct CaptionsArgs {
    /// Manifest with a `text` field, a built-in set name, or `synth-pieces`.
    #[arg(long)]
    pub dataset: String,
    /// Seed of a built-in set.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Only the first N clips (synth-pieces: N pieces, default 400).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Every caption as its own document (`<clip>#<k>`), not only the first.
    #[arg(long)]
    pub all: bool,
    /// Output JSONL file.
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `mirlens datasets list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print the cards as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Which synthetic dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SynthKind {
    /// NSynth-like single notes from eleven instrument families.
    Notes,
    /// Chords (root × quality × inversion) and in-key/out-of-key minimal pairs.
    Chords,
    /// Melody + chords + bass pieces in varied key, tempo, timbre and loudness.
    Sequences,
}

/// Size presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SizePreset {
    /// A few dozen clips, for smoke tests.
    Tiny,
    /// The default: a few hundred 1-s clips (minutes end to end on 2 cores).
    Default,
    /// Thousands of clips: every pitch 21–108 and five velocities; more chord repeats and pairs.
    Large,
}

/// Arguments of `mirlens datasets synth`.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Which dataset.
    #[arg(long, value_enum)]
    pub kind: SynthKind,
    /// Output folder (audio/*.wav and manifest.jsonl are written into it).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed: the same seed always yields the same samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Size preset (individual options below override it).
    #[arg(long, value_enum, default_value_t = SizePreset::Default)]
    pub size: SizePreset,
    /// Sample rate in Hz.
    #[arg(long, default_value_t = 24000)]
    pub sample_rate: u32,
    /// Clip duration in seconds (notes; single chords; sequences).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Notes: comma-separated families (bass, brass, flute, guitar, keyboard, mallet, organ, reed, string,
    /// synth_lead, vocal).
    #[arg(long, value_delimiter = ',')]
    pub families: Option<Vec<String>>,
    /// Notes: pitch range `LO-HI` or `LO-HI/STEP` in MIDI numbers (21–108), e.g. `21-106/5`.
    #[arg(long)]
    pub pitches: Option<String>,
    /// Notes: comma-separated MIDI velocities.
    #[arg(long, value_delimiter = ',')]
    pub velocities: Option<Vec<u8>>,
    /// Notes: clips per (family, pitch, velocity); chords: repeats of the chord grid.
    #[arg(long)]
    pub repeats: Option<usize>,
    /// Chords: comma-separated qualities (maj, min, dim, aug, 7, maj7, min7).
    #[arg(long, value_delimiter = ',')]
    pub qualities: Option<Vec<String>>,
    /// Chords: minimal pairs per key (24 keys).
    #[arg(long)]
    pub pairs_per_key: Option<usize>,
    /// Sequences: number of clips.
    #[arg(long)]
    pub count: Option<usize>,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// Dataset layouts understood by `mirlens datasets manifest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Layout {
    /// NSynth: examples.json + audio/ (a split folder or their parent).
    Nsynth,
    /// GTZAN: genres/<genre>/*.wav.
    Gtzan,
    /// GiantSteps key (test set) or GiantSteps-MTG key (annotations/annotations.txt).
    Giantsteps,
    /// MAESTRO: maestro-v*.csv + year folders.
    Maestro,
    /// MTG-Jamendo style TSV files (--tsv) with audio under ROOT.
    Jamendo,
    /// One folder per label.
    Folder,
    /// Audio + MIDI pairs with the same name anywhere under ROOT (`take.wav` + `take.mid`): frame-level labels.
    MidiFolder,
    /// A generic CSV file (ROOT is the CSV file).
    Csv,
}

/// Arguments of `mirlens datasets manifest`.
#[derive(Debug, clap::Args)]
pub struct ManifestArgs {
    /// Layout of the dataset.
    #[arg(long, value_enum)]
    pub layout: Layout,
    /// Dataset root (for `csv`: the CSV file; for `jamendo`: the audio root).
    pub root: PathBuf,
    /// Output manifest (`.jsonl` or `.csv`).
    #[arg(long)]
    pub out: PathBuf,
    /// GTZAN split: `none` (all files, no split), a folder with the split lists (train.txt/valid.txt/test.txt
    /// or the published fault-filtered train_filtered.txt/valid_filtered.txt/test_filtered.txt), or
    /// `marble:FOLDER` (the same lists without jazz.00054, as MARBLE does).
    #[arg(long, default_value = "none")]
    pub gtzan_split: String,
    /// MTG-Jamendo: metadata TSV files (split read from `-train`/`-validation`/`-test` in the name).
    #[arg(long)]
    pub tsv: Vec<PathBuf>,
    /// Folder layout: name of the label column.
    #[arg(long, default_value = "label")]
    pub label_name: String,
    /// CSV layout: the path column.
    #[arg(long, default_value = "path")]
    pub path_column: String,
    /// CSV layout: the id column (default: the path without extension).
    #[arg(long)]
    pub id_column: Option<String>,
    /// CSV layout: declared label types, `name:int|float|string|tags` (others are inferred).
    #[arg(long = "label-type")]
    pub label_types: Vec<String>,
    /// CSV layout: field delimiter (`,` or `tab`).
    #[arg(long, default_value = ",")]
    pub delimiter: String,
}

/// Arguments of `mirlens datasets show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Manifest file (`.jsonl` or `.csv`), or the name of a dataset card (`mirlens datasets list`).
    pub manifest: PathBuf,
    /// Also check that every listed file exists.
    #[arg(long)]
    pub check_files: bool,
    /// Also decode every listed file to check that it is readable audio and long enough for its offset and
    /// duration; unreadable clips are listed and the exit status is non-zero.
    #[arg(long)]
    pub probe: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Run `mirlens datasets`.
pub fn run(args: DatasetsArgs) -> Result<ExitCode> {
    match args.command {
        DatasetsCommand::Synth(a) => synth(a),
        DatasetsCommand::Manifest(a) => manifest(a),
        DatasetsCommand::Show(a) => show(a),
        DatasetsCommand::List(a) => list(a),
        DatasetsCommand::Captions(a) => captions(a),
    }
}

fn captions(a: CaptionsArgs) -> Result<ExitCode> {
    let manifest = if a.dataset == "synth-pieces" {
        mirlens_datasets::token_docs::pieces_manifest(a.seed, a.limit.unwrap_or(400))?
    } else {
        super::extract::load_dataset_by(&a.dataset, a.seed, a.limit)?.1
    };
    let (ds, skipped) = mirlens_datasets::token_docs::caption_documents(
        &manifest,
        a.all,
        std::path::Path::new(&a.dataset),
    )?;
    if ds.is_empty() {
        anyhow::bail!("no clip of {} has a caption (a `text` field)", a.dataset);
    }
    mirlens_report::write_atomic(&a.out, ds.to_jsonl().as_bytes())
        .with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "wrote {} ({} documents; {} clips without a caption)",
        a.out.display(),
        ds.len(),
        skipped.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn list(a: ListArgs) -> Result<ExitCode> {
    let cards = mirlens_datasets::cards::builtin_cards();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&cards)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<16} {:<8} {:<11} {:>6}  {:<24} labels",
        "name", "kind", "modality", "clips", "licence"
    );
    for c in &cards {
        let kind = match c.kind {
            mirlens_datasets::cards::CardKind::Builtin => "built-in",
            mirlens_datasets::cards::CardKind::Adapter => "adapter",
        };
        let mut licence: String = c.licence.chars().take(24).collect();
        if c.licence.chars().count() > 24 {
            licence.pop();
            licence.push('…');
        }
        println!(
            "{:<16} {:<8} {:<11} {:>6}  {:<24} {}",
            c.name,
            kind,
            c.modality,
            c.clips.map_or("-".to_string(), |n| n.to_string()),
            licence,
            c.labels.keys().cloned().collect::<Vec<_>>().join(",")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn show_card(c: &mirlens_datasets::cards::DatasetCard, json: bool) -> Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(c)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} ({:?}, {})", c.name, c.kind, c.modality);
    println!("{}", c.description);
    println!("source       {}", c.source);
    println!("licence      {}", c.licence);
    println!("obtain       {}", c.obtain);
    if let Some(l) = &c.layout {
        println!("layout       --layout {l}");
    }
    if let Some(n) = c.clips {
        println!("clips        {n} (default parameters)");
    }
    println!("sample rate  {} Hz", c.sample_rate);
    println!(
        "splits       {}",
        if c.splits.is_empty() {
            "-".to_string()
        } else {
            c.splits.join(", ")
        }
    );
    println!("labels");
    for (k, t) in &c.labels {
        println!("  {k:<22} {t}");
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_pitches(s: &str) -> Result<PitchRange> {
    let (range, step) = match s.split_once('/') {
        Some((r, st)) => (
            r,
            st.trim()
                .parse::<u8>()
                .with_context(|| format!("--pitches {s:?}: bad step"))?,
        ),
        None => (s, 1),
    };
    let (lo, hi) = range
        .split_once('-')
        .with_context(|| format!("--pitches {s:?}: expected LO-HI or LO-HI/STEP, e.g. 21-106/5"))?;
    Ok(PitchRange {
        lo: lo
            .trim()
            .parse()
            .with_context(|| format!("--pitches {s:?}: bad low pitch"))?,
        hi: hi
            .trim()
            .parse()
            .with_context(|| format!("--pitches {s:?}: bad high pitch"))?,
        step,
    })
}

fn synth(a: SynthArgs) -> Result<ExitCode> {
    let ds: Box<dyn SynthDataset> = match a.kind {
        SynthKind::Notes => {
            let mut p = NotesParams {
                seed: a.seed,
                sample_rate: a.sample_rate,
                ..NotesParams::default()
            };
            match a.size {
                SizePreset::Tiny => {
                    p.families = vec![Family::Guitar, Family::Organ, Family::Flute, Family::Brass];
                    p.pitches = PitchRange {
                        lo: 48,
                        hi: 83,
                        step: 5,
                    };
                    p.velocities = vec![100];
                }
                SizePreset::Default => {}
                SizePreset::Large => {
                    p.pitches = PitchRange {
                        lo: 21,
                        hi: 108,
                        step: 1,
                    };
                    p.velocities = vec![25, 50, 75, 100, 127];
                }
            }
            if let Some(d) = a.duration {
                p.duration_secs = d;
            }
            if let Some(f) = &a.families {
                p.families = f
                    .iter()
                    .map(|x| x.parse::<Family>())
                    .collect::<Result<_, _>>()?;
            }
            if let Some(s) = &a.pitches {
                p.pitches = parse_pitches(s)?;
            }
            if let Some(v) = &a.velocities {
                p.velocities = v.clone();
            }
            if let Some(r) = a.repeats {
                p.repeats = r;
            }
            Box::new(p.check()?)
        }
        SynthKind::Chords => {
            let mut p = ChordsParams {
                seed: a.seed,
                sample_rate: a.sample_rate,
                ..ChordsParams::default()
            };
            match a.size {
                SizePreset::Tiny => {
                    p.qualities = vec![ChordQuality::Major, ChordQuality::Minor];
                    p.pairs_per_key = 1;
                }
                SizePreset::Default => {}
                SizePreset::Large => {
                    p.chord_repeats = 3;
                    p.pairs_per_key = 8;
                }
            }
            if let Some(d) = a.duration {
                p.chord_secs = d;
            }
            if let Some(q) = &a.qualities {
                p.qualities = q
                    .iter()
                    .map(|x| x.parse::<ChordQuality>())
                    .collect::<Result<_, _>>()?;
            }
            if let Some(r) = a.repeats {
                p.chord_repeats = r;
            }
            if let Some(n) = a.pairs_per_key {
                p.pairs_per_key = n;
            }
            Box::new(p.check()?)
        }
        SynthKind::Sequences => {
            let mut p = SequencesParams {
                seed: a.seed,
                sample_rate: a.sample_rate,
                ..SequencesParams::default()
            };
            match a.size {
                SizePreset::Tiny => p.count = 8,
                SizePreset::Default => {}
                SizePreset::Large => p.count = 1024,
            }
            if let Some(d) = a.duration {
                p.duration_secs = d;
            }
            if let Some(c) = a.count {
                p.count = c;
            }
            Box::new(p.check()?)
        }
    };
    let n = ds.len();
    let pb = ProgressBar::new(n as u64);
    pb.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} clips ({per_sec}, ETA {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_prefix(ds.name());
    let start = std::time::Instant::now();
    let m = write_dataset(ds.as_ref(), &a.out, a.threads, &|_| pb.inc(1))?;
    pb.finish_and_clear();
    let secs: f64 = m.entries.iter().filter_map(|e| e.duration_secs).sum();
    println!(
        "{}: wrote {} clips ({:.1} s of audio at {} Hz) to {} in {:.1} s; manifest {} (hash {})",
        ds.name(),
        m.len(),
        secs,
        ds.sample_rate(),
        a.out.display(),
        start.elapsed().as_secs_f64(),
        a.out.join("manifest.jsonl").display(),
        &m.content_hash()[..16],
    );
    Ok(ExitCode::SUCCESS)
}

fn manifest(a: ManifestArgs) -> Result<ExitCode> {
    let built: Built = match a.layout {
        Layout::Nsynth => adapters::nsynth::build(&a.root)?,
        Layout::Gtzan => {
            use adapters::gtzan::GtzanSplits;
            let splits = match a.gtzan_split.as_str() {
                "none" => GtzanSplits::None,
                s => match s.strip_prefix("marble:") {
                    Some(dir) => GtzanSplits::ListsMarble(PathBuf::from(dir)),
                    None => GtzanSplits::Lists(PathBuf::from(s)),
                },
            };
            adapters::gtzan::build(&a.root, &splits)?
        }
        Layout::Giantsteps => adapters::giantsteps::build(&a.root)?,
        Layout::Maestro => adapters::maestro::build(&a.root)?,
        Layout::Jamendo => adapters::jamendo::build(&a.root, &a.tsv)?,
        Layout::Folder => adapters::folder::build(&a.root, &a.label_name)?,
        Layout::MidiFolder => adapters::midi_folder::build(&a.root)?,
        Layout::Csv => {
            let mut types = BTreeMap::new();
            for t in &a.label_types {
                let (n, ty) = t
                    .rsplit_once(':')
                    .with_context(|| format!("--label-type {t:?}: expected NAME:TYPE"))?;
                types.insert(n.to_string(), ty.parse::<LabelType>()?);
            }
            let delimiter = match a.delimiter.as_str() {
                "tab" | "\\t" | "\t" => '\t',
                d if d.chars().count() == 1 => d.chars().next().unwrap_or(','),
                d => bail!("--delimiter {d:?}: expected one character or `tab`"),
            };
            let spec = adapters::csv::CsvSpec {
                path_column: a.path_column.clone(),
                id_column: a.id_column.clone(),
                types,
                delimiter,
            };
            adapters::csv::build(&a.root, &spec)?
        }
    };
    built.manifest.write(&a.out)?;
    println!(
        "wrote {} entries to {} (hash {})",
        built.manifest.len(),
        a.out.display(),
        &built.manifest.content_hash()[..16]
    );
    if !built.skipped.is_empty() {
        println!("skipped {} entries:", built.skipped.len());
        for s in &built.skipped {
            println!(
                "  {}:{}: {}: {}",
                s.source.display(),
                s.line,
                s.id,
                s.reason
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(a: ShowArgs) -> Result<ExitCode> {
    // a card name that is not also a file
    if !a.manifest.exists()
        && let Some(c) = a.manifest.to_str().and_then(mirlens_datasets::cards::card)
    {
        return show_card(&c, a.json);
    }
    // a bare name (no folder, no extension) that is neither: say so; a path goes on to the manifest reader, whose
    // error names the file and the OS cause
    let bare = a.manifest.components().count() == 1 && a.manifest.extension().is_none();
    if !a.manifest.exists() && bare {
        anyhow::bail!(
            "{} is neither a manifest file nor a dataset card (cards: {})",
            a.manifest.display(),
            mirlens_datasets::cards::builtin_cards()
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let (m, entry_lines) = Manifest::read_with_lines(&a.manifest)?;
    if a.check_files {
        m.check_files(&a.manifest)?;
    }
    let mut bad: Vec<String> = Vec::new();
    if a.probe {
        use rayon::prelude::*;
        let pb = ProgressBar::new(m.len() as u64);
        pb.set_style(
            ProgressStyle::with_template("probe [{bar:30}] {pos}/{len} files (ETA {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bad = m
            .entries
            .par_iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let r = mirlens_audio::decode::probe_file_with(&e.path, mirlens_audio::decode::ProbeMode::Count);
                pb.inc(1);
                let msg = match r {
                    Err(err) => Some(mirlens_core::error_chain(&err)),
                    Ok(info) => {
                        let need = e.offset_secs + e.duration_secs.unwrap_or(0.0);
                        (need > info.duration_secs + 0.05).then(|| {
                            format!(
                                "clip needs {need:.3} s (offset + duration) but the file lasts {:.3} s",
                                info.duration_secs
                            )
                        })
                    }
                };
                let line = entry_lines.get(i).copied().unwrap_or(i + 1);
                msg.map(|m| format!("{}:{line}: {}: {m}", a.manifest.display(), e.id))
            })
            .collect();
        pb.finish_and_clear();
    }
    let splits: BTreeMap<String, usize> = m
        .split_counts()
        .into_iter()
        .map(|(s, n)| (s.map(|s| s.to_string()).unwrap_or_else(|| "none".into()), n))
        .collect();
    let with_duration = m
        .entries
        .iter()
        .filter(|e| e.duration_secs.is_some())
        .count();
    let total_secs: f64 = m
        .entries
        .iter()
        .filter_map(|e| e.duration_secs)
        .fold(0.0, |a, b| a + b);
    let mut columns = Vec::new();
    for (name, ty) in &m.label_schema.columns {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut present = 0;
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for e in &m.entries {
            if let Some(v) = e.labels.get(name) {
                present += 1;
                match v {
                    mirlens_core::LabelValue::Tags(t) => t
                        .iter()
                        .for_each(|x| *counts.entry(x.clone()).or_default() += 1),
                    _ => *counts.entry(v.class_key()).or_default() += 1,
                }
                if let Some(x) = v.as_f64() {
                    lo = lo.min(x);
                    hi = hi.max(x);
                }
            }
        }
        let mut top: Vec<(String, usize)> = counts.iter().map(|(k, v)| (k.clone(), *v)).collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        top.truncate(5);
        columns.push(serde_json::json!({
            "name": name, "type": ty.as_str(), "present": present, "distinct": counts.len(),
            "min": if lo.is_finite() { Some(lo) } else { None }, "max": if hi.is_finite() { Some(hi) } else { None },
            "top": top,
        }));
    }
    let summary = serde_json::json!({
        "unreadable": bad,
        "manifest": a.manifest.display().to_string(),
        "clips": m.len(),
        "duration_secs": total_secs,
        "clips_with_duration": with_duration,
        "splits": splits,
        "labels": columns,
        "content_hash": m.content_hash(),
    });
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let status = if bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    if a.json {
        writeln!(out, "{summary}")?;
        return Ok(status);
    }
    if with_duration == m.len() {
        writeln!(
            out,
            "{}: {} clips, {:.1} s of audio",
            a.manifest.display(),
            m.len(),
            total_secs
        )?;
    } else {
        writeln!(
            out,
            "{}: {} clips ({} with a duration: {:.1} s; the rest play to the end of their file)",
            a.manifest.display(),
            m.len(),
            with_duration,
            total_secs
        )?;
    }
    writeln!(
        out,
        "splits: {}",
        splits
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    writeln!(out, "content hash: {}", m.content_hash())?;
    writeln!(
        out,
        "{:<20} {:<7} {:>7} {:>8}  most frequent",
        "label", "type", "present", "distinct"
    )?;
    for c in &columns {
        let top = c["top"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| format!("{} ({})", p[0].as_str().unwrap_or(""), p[1]))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        writeln!(
            out,
            "{:<20} {:<7} {:>7} {:>8}  {}",
            c["name"].as_str().unwrap_or(""),
            c["type"].as_str().unwrap_or(""),
            c["present"],
            c["distinct"],
            top
        )?;
    }
    if a.probe {
        writeln!(out, "probed {} files: {} unreadable", m.len(), bad.len())?;
        for b in &bad {
            writeln!(out, "  {b}")?;
        }
    }
    Ok(status)
}
