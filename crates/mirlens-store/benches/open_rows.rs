//! Opening large stores: writes a frame-level store of N rows with 5 row-level label columns (hidden size 1, f16,
//! 100 frames per clip, 1000 clips per shard), then measures in a fresh process-like sequence: the time to open it,
//! the resident memory after opening, and after loading each part of the row table.
//!
//! `cargo run -p mirlens-store --example open_rows -- 1000000 10000000` (built as an example from this file; the
//! stores are written under `$TMPDIR` and removed afterwards). Prints one table row per size.

use mirlens_core::{DType, LayerId, Pooling};
use mirlens_store::{
    ClipEntry, LabelData, LabelField, LabelKind, LabelLevel, LabelSchema, Part, ShardColumns,
    Store, StoreHeader, StoreLayout, StoreWriter,
};
use std::time::Instant;

const FRAMES_PER_CLIP: usize = 100;
const CLIPS_PER_SHARD: usize = 1000;

fn rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn schema() -> LabelSchema {
    let cat = |n: usize| LabelKind::Categorical {
        classes: (0..n).map(|i| format!("c{i}")).collect(),
    };
    LabelSchema::new()
        .with(LabelField::new("instrument", LabelLevel::Row, cat(11)))
        .with(LabelField::new("chord", LabelLevel::Row, cat(24)))
        .with(LabelField::new(
            "pitch",
            LabelLevel::Row,
            LabelKind::Integer,
        ))
        .with(LabelField::new(
            "loudness",
            LabelLevel::Row,
            LabelKind::Real,
        ))
        .with(LabelField::new(
            "notes",
            LabelLevel::Row,
            LabelKind::MultiHot {
                width: 12,
                classes: Vec::new(),
            },
        ))
}

fn write(dir: &std::path::Path, rows: usize) -> Result<(), Box<dyn std::error::Error>> {
    let clips = rows / FRAMES_PER_CLIP;
    let h = StoreHeader {
        model: "open-bench".into(),
        revision: None,
        config_hash: "0".into(),
        layers: vec![LayerId(0)],
        hidden_size: 1,
        dtype: DType::F16,
        pooling: Pooling::None,
        frame_rate: 50.0,
        dataset: "open-bench".into(),
        dataset_hash: "0".into(),
        dataset_clips: clips,
        clips_per_shard: CLIPS_PER_SHARD,
    };
    let layout = StoreLayout::for_header(&h).with_labels(schema());
    let mut w = StoreWriter::open_with(dir, h.clone(), layout, Part::WHOLE)?;
    for k in w.pending_shards() {
        let mut s = ShardColumns {
            index: k,
            ..ShardColumns::default()
        };
        let (mut inst, mut chord, mut pitch, mut loud, mut notes) =
            (vec![], vec![], vec![], vec![], vec![]);
        for c in h.shard_clips(k) {
            s.clips.push(ClipEntry {
                index: c,
                id: format!("clip-{c:08}"),
                split: Some("train".into()),
                source: format!("audio/clip-{c:08}.wav"),
                ..ClipEntry::default()
            });
            for f in 0..FRAMES_PER_CLIP {
                let r = c * FRAMES_PER_CLIP + f;
                s.row_clip.push(c as u32);
                s.position.push(f as u32);
                s.span_start.push(f as f64 / 50.0);
                s.span_end.push((f + 1) as f64 / 50.0);
                inst.push((c % 11) as u32);
                chord.push(((r / 7) % 24) as u32);
                pitch.push(((r % 88) + 21) as i64);
                loud.push((r % 1000) as f64 * 0.001);
                notes.extend((0..12).map(|j| (r + j).is_multiple_of(3) as u8));
            }
        }
        let n = s.row_clip.len();
        s.row_labels
            .insert("instrument".into(), LabelData::Codes(inst));
        s.row_labels.insert("chord".into(), LabelData::Codes(chord));
        s.row_labels
            .insert("pitch".into(), LabelData::Integer(pitch));
        s.row_labels
            .insert("loudness".into(), LabelData::Real(loud));
        s.row_labels.insert(
            "notes".into(),
            LabelData::MultiHot {
                width: 12,
                values: notes,
            },
        );
        s.layers = vec![(0..n).map(|r| (r % 97) as f32 * 0.01).collect()];
        w.write_columns(s)?;
    }
    w.finalize()?;
    Ok(())
}

/// Open the store at `dir` and load its columns, printing the measurements (run in a fresh process).
fn measure(dir: &std::path::Path) -> Result<String, Box<dyn std::error::Error>> {
    let base = rss_mb();
    let t = Instant::now();
    let store = Store::open(dir)?;
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    let after_open = rss_mb();
    let rows = store.num_rows();
    let c = store.row_clips()?;
    let p = store.positions()?;
    assert_eq!((c[rows - 1], p[rows - 1]), ((rows / 100 - 1) as u32, 99));
    let after_core = rss_mb();
    for name in ["instrument", "chord", "pitch", "loudness", "notes"] {
        assert_eq!(store.row_label(name)?.len(), rows);
    }
    let after_labels = rss_mb();
    let (a, _) = store.spans()?;
    assert_eq!(a.len(), rows);
    let after_spans = rss_mb();
    Ok(format!(
        "{open_ms:.1} | {base:.1} → {after_open:.1} ({:+.1}) | {:+.1} | {:+.1} | {:+.1}",
        after_open - base,
        after_core - after_open,
        after_labels - after_core,
        after_spans - after_labels
    ))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--measure") {
        let dir = args.get(1).ok_or("--measure DIR")?;
        println!("{}", measure(std::path::Path::new(dir))?);
        return Ok(());
    }
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() {
        vec![1_000_000]
    } else {
        sizes
    };
    println!(
        "| rows | write s | open ms | RSS before → after open (MB, Δ) | + `row.clip` & `row.position` (Δ MB) | + 5 label columns (Δ MB) | + spans (Δ MB) | row tables on disk (MB) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for rows in sizes {
        let tmp = tempfile::tempdir()?;
        let dir = tmp.path().join("store");
        let t = Instant::now();
        write(&dir, rows)?;
        let write_s = t.elapsed().as_secs_f64();
        let disk: u64 = std::fs::read_dir(dir.join("rows"))?
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum();
        let out = std::process::Command::new(std::env::current_exe()?)
            .arg("--measure")
            .arg(&dir)
            .output()?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
        }
        println!(
            "| {rows} | {write_s:.1} | {} | {:.0} |",
            String::from_utf8_lossy(&out.stdout).trim(),
            disk as f64 / 1048576.0
        );
    }
    Ok(())
}
