//! `mirlens midi info|roll|render|tokenize|detokenize`: MIDI files as scores, piano rolls, audio and tokens.

use anyhow::{Context, bail};
use mirlens_symbolic::gm::{gm_family_name, nsynth_family_name, program_name};
use mirlens_symbolic::render::{Rendered, find_soundfont, render_additive, render_soundfont};
use mirlens_symbolic::roll::{RollKind, RollOptions, Sustain, piano_roll};
use mirlens_symbolic::tokenize::{Scheme, Tokenizer, TokenizerConfig};
use mirlens_symbolic::{Division, MidiFile, ParseOptions, Score};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `mirlens midi`.
#[derive(Debug, clap::Args)]
pub struct MidiArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: MidiCommand,
}

/// Roll kinds on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KindArg {
    /// pretty_midi's piano roll (sum of velocities, sustain pedal at 64).
    Frame,
    /// 1 at each note's onset frame.
    Onset,
    /// 1 at each note's offset frame.
    Offset,
    /// velocity/127 at each note's onset frame.
    Velocity,
    /// 12 pitch-class rows (pretty_midi's get_chroma).
    Chroma,
}

/// Sustain conventions on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SustainArg {
    /// Notes as written (the frame roll still applies pretty_midi's pedal maximum).
    None,
    /// note_seq / MAESTRO: notes held by the pedal until release or the next onset of the pitch.
    #[value(name = "note_seq")]
    NoteSeq,
}

/// Token schemes on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemeArg {
    /// miditok REMI.
    Remi,
    /// miditok MIDI-Like.
    Midilike,
}

impl From<SchemeArg> for Scheme {
    fn from(s: SchemeArg) -> Scheme {
        match s {
            SchemeArg::Remi => Scheme::Remi,
            SchemeArg::Midilike => Scheme::MidiLike,
        }
    }
}

/// Subcommands of `mirlens midi`.
#[derive(Debug, clap::Subcommand)]
pub enum MidiCommand {
    /// Tracks, programs, tempo map, signatures, duration and note counts.
    Info {
        /// MIDI file.
        file: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// A float32 [128, frames] .npy piano roll (equal to pretty_midi's get_piano_roll for --kind frame).
    Roll {
        /// MIDI file.
        file: PathBuf,
        /// Frames per second.
        #[arg(long, default_value_t = 100.0)]
        fs: f64,
        /// Output .npy file.
        #[arg(long)]
        out: PathBuf,
        /// Which roll ([12, frames] for chroma).
        #[arg(long, value_enum, default_value = "frame")]
        kind: KindArg,
        /// Note-length convention.
        #[arg(long, value_enum, default_value = "none")]
        sustain: SustainArg,
        /// Format 2 files: which pattern (track) to roll.
        #[arg(long, default_value_t = 0)]
        pattern: usize,
    },
    /// Render to a mono WAV (SoundFont through rustysynth, else the additive synthesiser).
    Render {
        /// MIDI file.
        file: PathBuf,
        /// Sample rate in Hz.
        #[arg(long, default_value_t = 24_000)]
        sr: u32,
        /// SF2 SoundFont (default: /usr/share/sounds/sf2/TimGM6mb.sf2 when installed).
        #[arg(long)]
        soundfont: Option<PathBuf>,
        /// Use the additive synthesiser even when a SoundFont is available.
        #[arg(long, conflicts_with = "soundfont")]
        additive: bool,
        /// Output WAV file (16-bit PCM).
        #[arg(long)]
        out: PathBuf,
        /// Format 2 files: which pattern (track) to render.
        #[arg(long, default_value_t = 0)]
        pattern: usize,
    },
    /// miditok-compatible tokens: JSON with `tokens` and `ids`, one list per track.
    Tokenize {
        /// MIDI file.
        file: PathBuf,
        /// Token scheme.
        #[arg(long, value_enum)]
        scheme: SchemeArg,
        /// Output JSON file.
        #[arg(long)]
        out: PathBuf,
        /// Tokenizer configuration JSON (default: miditok 3.1.0's TokenizerConfig()).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// The token vocabulary as a Hugging Face `tokenizer.json` (WordLevel, same ids), for language models over
    /// music tokens: they then load and tokenize like text models (`mirlens embed --text "Bar_None Position_0 …"`).
    Vocab {
        /// Token scheme.
        #[arg(long, value_enum)]
        scheme: SchemeArg,
        /// Add a post-processor that puts BOS_None before every sequence (for LMs trained on BOS … EOS documents,
        /// such as mirlens-midi-small).
        #[arg(long)]
        bos: bool,
        /// Output `tokenizer.json`.
        #[arg(long)]
        out: PathBuf,
        /// Tokenizer configuration JSON (default: miditok 3.1.0's TokenizerConfig()).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// The MIDI files of a dataset manifest (its `midi` field) as a text dataset for a music-token language
    /// model: one JSONL document per clip (same id, split and labels), its tokens joined by spaces, with
    /// per-token word labels `token_type`, `note_pitch`, `note_pitch_class`, `note_octave`, `bar_position` and
    /// `track_family` that `mirlens extract` stores as row labels. Built-in sets (`synth-notes`, …) are generated with
    /// `--seed`.
    Docs {
        /// Dataset manifest (JSONL or CSV with a `midi` column), a built-in set name, or `synth-pieces` (the
        /// symbolic corpus the built-in music LM is trained on; `--limit` pieces, default 400).
        #[arg(long)]
        dataset: String,
        /// Seed of a built-in set.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Use only the first N clips.
        #[arg(long)]
        limit: Option<usize>,
        /// Token scheme.
        #[arg(long, value_enum, default_value = "remi")]
        scheme: SchemeArg,
        /// Tokenizer configuration JSON (default: miditok 3.1.0's TokenizerConfig()).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output JSONL file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Tokens back to a MIDI file (JSON from `midi tokenize`: `tokens` or `ids`).
    Detokenize {
        /// Token JSON file.
        tokens: PathBuf,
        /// Token scheme.
        #[arg(long, value_enum)]
        scheme: SchemeArg,
        /// Output MIDI file.
        #[arg(long)]
        out: PathBuf,
        /// Tokenizer configuration JSON (default: miditok 3.1.0's TokenizerConfig()).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// Run `mirlens midi`.
pub fn run(args: MidiArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        MidiCommand::Info { file, json } => info(&file, json),
        MidiCommand::Roll {
            file,
            fs,
            out,
            kind,
            sustain,
            pattern,
        } => roll(&file, fs, &out, kind, sustain, pattern),
        MidiCommand::Render {
            file,
            sr,
            soundfont,
            additive,
            out,
            pattern,
        } => render(&file, sr, soundfont.as_deref(), additive, &out, pattern),
        MidiCommand::Tokenize {
            file,
            scheme,
            out,
            config,
        } => tokenize(&file, scheme, &out, config.as_deref()),
        MidiCommand::Detokenize {
            tokens,
            scheme,
            out,
            config,
        } => detokenize(&tokens, scheme, &out, config.as_deref()),
        MidiCommand::Docs {
            dataset,
            seed,
            limit,
            scheme,
            config,
            out,
        } => docs(&dataset, seed, limit, scheme, config.as_deref(), &out),
        MidiCommand::Vocab {
            scheme,
            bos,
            out,
            config,
        } => {
            let tok = Tokenizer::new(scheme.into(), load_config(config.as_deref())?)?;
            let v = if bos {
                tok.hf_tokenizer_json_with_bos()
                    .context("the vocabulary has no BOS_None for --bos")?
            } else {
                tok.hf_tokenizer_json()
            };
            let json = serde_json::to_vec_pretty(&v)?;
            mirlens_report::write_atomic(&out, &json)
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "wrote {} ({} tokens, {} WordLevel)",
                out.display(),
                tok.vocab().len(),
                tok.scheme().name()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn pick(file: &Path, f: MidiFile, pattern: usize) -> anyhow::Result<Score> {
    let n = f.scores.len();
    let mut scores = f.scores;
    if pattern >= n {
        bail!(
            "{}: --pattern {pattern} out of range: the file has {n} pattern(s)",
            file.display()
        );
    }
    Ok(scores.swap_remove(pattern))
}

fn info(file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let f = MidiFile::read(file, &ParseOptions::default())?;
    let scores: Vec<serde_json::Value> = f.scores.iter().map(score_json).collect();
    let division = match f.scores.first().map(|s| s.division) {
        Some(Division::Tpq(t)) => serde_json::json!({"ticks_per_quarter": t}),
        Some(Division::Smpte { fps, tpf }) => {
            serde_json::json!({"smpte_fps": fps.as_f64(), "ticks_per_frame": tpf})
        }
        None => serde_json::Value::Null,
    };
    let v = serde_json::json!({
        "path": file.display().to_string(),
        "format": f.format,
        "division": division,
        "scores": scores,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}: format {}, division {}",
        file.display(),
        f.format,
        v["division"]
    );
    for (i, s) in v["scores"].as_array().into_iter().flatten().enumerate() {
        if f.format == 2 {
            println!("pattern {i}:");
        }
        println!(
            "  duration {:.3} s, {} notes, {} tracks",
            s["duration_secs"].as_f64().unwrap_or(0.0),
            s["note_count"],
            s["tracks"].as_array().map_or(0, |t| t.len())
        );
        for t in s["tempos"].as_array().into_iter().flatten() {
            println!(
                "  tempo   tick {:>8}  {:>9.3} s  {:.2} qpm",
                t["tick"],
                t["sec"].as_f64().unwrap_or(0.0),
                t["qpm"].as_f64().unwrap_or(0.0)
            );
        }
        for t in s["time_signatures"].as_array().into_iter().flatten() {
            println!(
                "  time    tick {:>8}  {}/{}",
                t["tick"], t["numerator"], t["denominator"]
            );
        }
        for k in s["key_signatures"].as_array().into_iter().flatten() {
            println!(
                "  key     tick {:>8}  {}",
                k["tick"],
                k["name"].as_str().unwrap_or("")
            );
        }
        for t in s["tracks"].as_array().into_iter().flatten() {
            println!(
                "  track {:>2} ch {:>2} program {:>3} {:<26} notes {:>5} pitch {}–{}{}",
                t["midi_track"],
                t["channel"].as_u64().unwrap_or(0) + 1,
                t["program"],
                t["program_name"].as_str().unwrap_or(""),
                t["notes"],
                t["pitch_min"],
                t["pitch_max"],
                if t["is_drum"].as_bool() == Some(true) {
                    " (drums)"
                } else {
                    ""
                }
            );
        }
        let st = &s["stats"];
        println!(
            "  unterminated {}, zero-length {}, spurious note-offs {}",
            st["unterminated"], st["zero_length"], st["spurious_note_offs"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn score_json(s: &Score) -> serde_json::Value {
    let map = s.tempo_map();
    let tempos: Vec<_> = s
        .tempos
        .iter()
        .map(|t| serde_json::json!({"tick": t.tick, "sec": map.sec(t.tick), "qpm": t.qpm()}))
        .collect();
    let ts: Vec<_> = s
        .time_sigs
        .iter()
        .map(|t| serde_json::json!({"tick": t.tick, "numerator": t.numerator, "denominator": t.denominator()}))
        .collect();
    let ks: Vec<_> = s
        .key_sigs
        .iter()
        .map(|k| serde_json::json!({"tick": k.tick, "sharps": k.sharps, "minor": k.minor, "name": k.name()}))
        .collect();
    let tracks: Vec<_> = s
        .tracks_in_source_order()
        .iter()
        .map(|t| {
            let lo = t.notes.iter().map(|n| n.pitch).min();
            let hi = t.notes.iter().map(|n| n.pitch).max();
            serde_json::json!({
                "midi_track": t.midi_track,
                "channel": t.channel,
                "program": t.program,
                "program_name": if t.is_drum { "Drums" } else { program_name(t.program) },
                "gm_family": if t.is_drum { None } else { Some(gm_family_name(t.program)) },
                "nsynth_family": if t.is_drum { None } else { nsynth_family_name(t.program) },
                "is_drum": t.is_drum,
                "name": t.name,
                "notes": t.notes.len(),
                "zero_length_notes": t.notes.iter().filter(|n| n.is_zero_length()).count(),
                "pitch_min": lo,
                "pitch_max": hi,
                "pedals": t.pedals(64).len(),
                "controls": t.controls.len(),
                "bends": t.bends.len(),
            })
        })
        .collect();
    serde_json::json!({
        "duration_secs": s.duration_secs(),
        "end_tick": s.end_tick,
        "note_count": s.note_count(),
        "tempos": tempos,
        "time_signatures": ts,
        "key_signatures": ks,
        "tracks": tracks,
        "stats": s.stats,
    })
}

fn roll(
    file: &Path,
    fs: f64,
    out: &Path,
    kind: KindArg,
    sustain: SustainArg,
    pattern: usize,
) -> anyhow::Result<ExitCode> {
    // pretty_midi's reading rules, so that the default roll equals get_piano_roll.
    let score = pick(
        file,
        MidiFile::read(file, &ParseOptions::pretty_midi())?,
        pattern,
    )?;
    let opts = RollOptions {
        fs,
        kind: match kind {
            KindArg::Frame => RollKind::Frame,
            KindArg::Onset => RollKind::Onset,
            KindArg::Offset => RollKind::Offset,
            KindArg::Velocity => RollKind::Velocity,
            KindArg::Chroma => RollKind::Chroma,
        },
        sustain: match sustain {
            SustainArg::None => Sustain::None,
            SustainArg::NoteSeq => Sustain::NoteSeq,
        },
        ..Default::default()
    };
    let r = piano_roll(&score, &opts).with_context(|| format!("{}: piano roll", file.display()))?;
    super::embed::write_npy(out, &[r.rows, r.frames], &r.to_f32())?;
    println!(
        "wrote {} ([{}, {}] float32 at {fs} frames/s)",
        out.display(),
        r.rows,
        r.frames
    );
    Ok(ExitCode::SUCCESS)
}

fn render(
    file: &Path,
    sr: u32,
    soundfont: Option<&Path>,
    additive: bool,
    out: &Path,
    pattern: usize,
) -> anyhow::Result<ExitCode> {
    let score = pick(
        file,
        MidiFile::read(file, &ParseOptions::default())?,
        pattern,
    )?;
    let r: Rendered = match (additive, find_soundfont(soundfont)) {
        (false, Some(sf)) => render_soundfont(&score, sr, &sf)?,
        _ => render_additive(&score, sr)?,
    };
    mirlens_audio::wav::write_wav(out, &r.samples, sr, mirlens_audio::wav::WavFormat::Pcm16)?;
    println!(
        "wrote {} ({:.3} s at {sr} Hz, {} notes, {})",
        out.display(),
        r.samples.len() as f64 / sr as f64,
        r.onsets.len(),
        r.synth
    );
    Ok(ExitCode::SUCCESS)
}

fn load_config(config: Option<&Path>) -> anyhow::Result<TokenizerConfig> {
    Ok(match config {
        Some(p) => TokenizerConfig::load(p)?,
        None => TokenizerConfig::default(),
    })
}

fn tokenize(
    file: &Path,
    scheme: SchemeArg,
    out: &Path,
    config: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let score = Score::read(file, &ParseOptions::default())?;
    let tok = Tokenizer::new(scheme.into(), load_config(config)?)?;
    let seqs = tok
        .encode(&score)
        .with_context(|| format!("{}: tokenizing", file.display()))?;
    let tokens: Vec<Vec<String>> = seqs.iter().map(|s| s.tokens.clone()).collect();
    let ids: Vec<Vec<u32>> = seqs.iter().map(|s| s.ids.clone()).collect();
    let v = serde_json::json!({"scheme": tok.scheme().name(), "tokens": tokens, "ids": ids});
    std::fs::write(out, serde_json::to_vec(&v)?)
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "wrote {} ({} track(s), {} tokens)",
        out.display(),
        tokens.len(),
        tokens.iter().map(Vec::len).sum::<usize>()
    );
    Ok(ExitCode::SUCCESS)
}

fn detokenize(
    tokens: &Path,
    scheme: SchemeArg,
    out: &Path,
    config: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let v: serde_json::Value = serde_json::from_slice(
        &std::fs::read(tokens).with_context(|| format!("reading {}", tokens.display()))?,
    )
    .with_context(|| format!("{}: not JSON", tokens.display()))?;
    let tok = Tokenizer::new(scheme.into(), load_config(config)?)?;
    let seqs: Vec<Vec<String>> = if let Some(t) = v.get("tokens") {
        serde_json::from_value(t.clone()).with_context(|| {
            format!(
                "{}: `tokens` must be a list of lists of strings",
                tokens.display()
            )
        })?
    } else if let Some(i) = v.get("ids") {
        let ids: Vec<Vec<u32>> = serde_json::from_value(i.clone()).with_context(|| {
            format!(
                "{}: `ids` must be a list of lists of integers",
                tokens.display()
            )
        })?;
        ids.iter()
            .map(|s| tok.ids_to_tokens(s))
            .collect::<Result<_, _>>()?
    } else {
        bail!(
            "{}: expected a JSON object with `tokens` or `ids`",
            tokens.display()
        );
    };
    let score = tok.decode(&seqs)?;
    mirlens_symbolic::write_midi_file(out, &score)?;
    println!(
        "wrote {} ({} track(s), {} notes)",
        out.display(),
        score.tracks.len(),
        score.note_count()
    );
    Ok(ExitCode::SUCCESS)
}

/// `mirlens midi docs`.
fn docs(
    dataset: &str,
    seed: u64,
    limit: Option<usize>,
    scheme: SchemeArg,
    config: Option<&Path>,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let tok = Tokenizer::new(scheme.into(), load_config(config)?)?;
    if dataset == "synth-pieces" {
        return pieces_docs(&tok, seed, limit.unwrap_or(400), out);
    }
    let (_, manifest, synth) = super::extract::load_dataset_by(dataset, seed, limit)?;
    // a built-in set's scores are generated in memory; a manifest's are read from its `midi` files
    let (ds, skipped) = match &synth {
        Some(g) => mirlens_datasets::token_docs::manifest_documents_with(
            &manifest,
            &tok,
            Path::new(dataset),
            |i, _| g.score(i).map(Ok),
        )?,
        None => {
            mirlens_datasets::token_docs::manifest_documents(&manifest, &tok, Path::new(dataset))?
        }
    };
    if ds.is_empty() {
        bail!(
            "no clip of {dataset} has a readable MIDI file ({} skipped{})",
            skipped.len(),
            skipped
                .first()
                .map(|(id, r)| format!("; first: {id}: {r}"))
                .unwrap_or_default()
        );
    }
    mirlens_report::write_atomic(out, ds.to_jsonl().as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    let tokens: usize = ds.documents.iter().map(|d| d.word_count()).sum();
    println!(
        "wrote {} ({} documents, {tokens} tokens; {} clips skipped)",
        out.display(),
        ds.len(),
        skipped.len()
    );
    for (id, reason) in skipped.iter().take(5) {
        eprintln!("  skipped {id}: {reason}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `midi docs --dataset synth-pieces`: the first N pieces of the symbolic corpus (`--limit`, default 400) with
/// their labels and splits.
fn pieces_docs(tok: &Tokenizer, seed: u64, n: usize, out: &Path) -> anyhow::Result<ExitCode> {
    let manifest = mirlens_datasets::token_docs::pieces_manifest(seed, n)?;
    let pieces = mirlens_datasets::synth::PiecesParams {
        seed,
        count: n.max(1),
        ..Default::default()
    }
    .check()?;
    let (ds, _) = mirlens_datasets::token_docs::manifest_documents_with(
        &manifest,
        tok,
        Path::new("synth-pieces"),
        |i, _| Some(Ok(pieces.score(i))),
    )?;
    mirlens_report::write_atomic(out, ds.to_jsonl().as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    let tokens: usize = ds.documents.iter().map(|d| d.word_count()).sum();
    println!(
        "wrote {} ({} pieces of synth-pieces seed {seed}, {tokens} tokens)",
        out.display(),
        ds.len()
    );
    Ok(ExitCode::SUCCESS)
}
