//! The training corpus: a deterministic mixture of `synth-notes`, `synth-chords` and `synth-sequences` clips with
//! their frame-aligned teacher features (MFCC for k-means, CQT for reconstruction).
//!
//! Alignment: model frame `t` covers samples `[320 t, 320 t + 400)` (receptive field 400 for the MERT conv stack),
//! centred at `320 t + 200`; the front-ends use centred frames at `hop · j`, so frame `t` takes spectral column
//! `j = round((hop · t + rf / 2) / hop)` (= `t + 1` for MERT's stack), clamped to the last column.

use crate::PretrainError;
use crate::recipe::Recipe;
use mirlens_audio::frontend::cqt::{Cqt, CqtParams};
use mirlens_audio::frontend::db::DbParams;
use mirlens_audio::frontend::mel::MelSpectrogramParams;
use mirlens_audio::frontend::mfcc::{Mfcc, MfccParams};
use mirlens_datasets::Split;
use mirlens_datasets::synth::dsp::{Rng, derive_seed};
use mirlens_datasets::synth::{ChordsParams, NotesParams, SequencesParams, SynthDataset};
use mirlens_models::FrameGeometry;

/// One clip with frame-aligned features.
#[derive(Debug, Clone)]
pub struct Clip {
    /// Generator clip id.
    pub id: String,
    /// Waveform (zero-mean, unit-variance normalised), `clip_samples` long.
    pub samples: Vec<f32>,
    /// MFCC per model frame, `[frames, n_mfcc]` row-major.
    pub mfcc: Vec<f32>,
    /// log-CQT per model frame, `[frames, cqt_bins]` row-major (standardised by the corpus).
    pub cqt: Vec<f32>,
}

/// Training and validation pools with their frame count.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Training clips.
    pub train: Vec<Clip>,
    /// Held-out validation clips.
    pub valid: Vec<Clip>,
    /// Model frames per clip.
    pub frames: usize,
    /// Per-bin mean and standard deviation of the raw log-CQT (training pool), used to standardise it.
    pub cqt_stats: (Vec<f32>, Vec<f32>),
}

/// Conv geometry of the recipe's model.
pub fn geometry(recipe: &Recipe) -> FrameGeometry {
    let ks: Vec<(usize, usize)> = recipe
        .model
        .conv_kernel
        .iter()
        .copied()
        .zip(recipe.model.conv_stride.iter().copied())
        .collect();
    FrameGeometry::new(&ks)
}

fn normalize(x: &mut [f32]) {
    let n = x.len().max(1) as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let inv = 1.0 / (var + 1e-7).sqrt();
    for v in x {
        *v = ((*v as f64 - mean) * inv) as f32;
    }
}

struct Sources {
    notes: Box<dyn SynthDataset>,
    chords: Box<dyn SynthDataset>,
    sequences: Box<dyn SynthDataset>,
}

fn sources(recipe: &Recipe) -> Result<Sources, PretrainError> {
    let sr = recipe.model.sample_rate;
    let secs = recipe.corpus.clip_secs;
    let seed = recipe.seed;
    let notes = NotesParams {
        seed,
        sample_rate: sr,
        duration_secs: secs,
        repeats: 8,
        ..Default::default()
    }
    .check()?;
    let chords = ChordsParams {
        seed,
        sample_rate: sr,
        chord_secs: secs,
        chord_repeats: 4,
        ..Default::default()
    }
    .check()?;
    let sequences = SequencesParams {
        seed,
        sample_rate: sr,
        duration_secs: secs,
        count: (recipe.corpus.train_clips + recipe.corpus.valid_clips) * 4,
        ..Default::default()
    }
    .check()?;
    Ok(Sources {
        notes: Box::new(notes),
        chords: Box::new(chords),
        sequences: Box::new(sequences),
    })
}

/// Deterministic pick of `count` clips of `split` from the mixture, in order of a seeded permutation of each
/// generator's indices.
fn pick(recipe: &Recipe, src: &Sources, split: Split, count: usize) -> Vec<(String, Vec<f32>)> {
    let c = &recipe.corpus;
    let gens: [(&dyn SynthDataset, f64); 3] = [
        (src.notes.as_ref(), c.notes_weight),
        (src.chords.as_ref(), c.chords_weight),
        (src.sequences.as_ref(), c.sequences_weight),
    ];
    let total: f64 = gens.iter().map(|g| g.1).sum();
    let tag = match split {
        Split::Train => 0x5452_4149,
        _ => 0x5641_4C49,
    };
    let mut rng = Rng::new(derive_seed(recipe.seed, tag, 0));
    // A seeded permutation per generator.
    let mut perms: Vec<(Vec<usize>, usize)> = gens
        .iter()
        .enumerate()
        .map(|(g, (ds, _))| {
            let mut p: Vec<usize> = (0..ds.len()).collect();
            let mut r = Rng::new(derive_seed(recipe.seed, 0x5045_524D, g as u64));
            for i in (1..p.len()).rev() {
                p.swap(i, r.below(i + 1));
            }
            (p, 0)
        })
        .collect();
    let n = recipe.clip_samples();
    let mut out = Vec::with_capacity(count);
    // Generators with zero weight are never drawn from.
    let mut exhausted = [gens[0].1 == 0.0, gens[1].1 == 0.0, gens[2].1 == 0.0];
    while out.len() < count && exhausted.iter().any(|e| !e) {
        let u = rng.uniform() * total;
        let mut acc = 0.0;
        let mut g = 0;
        for (i, (_, w)) in gens.iter().enumerate() {
            acc += w;
            if u < acc {
                g = i;
                break;
            }
        }
        if exhausted[g] {
            continue;
        }
        let (perm, pos) = &mut perms[g];
        loop {
            if *pos >= perm.len() {
                exhausted[g] = true;
                break;
            }
            let idx = perm[*pos];
            *pos += 1;
            let clip = gens[g].0.clip(idx);
            let s = clip.split.unwrap_or(Split::Train);
            if s != split {
                continue;
            }
            let mut samples = clip.samples;
            samples.resize(n, 0.0);
            out.push((clip.id, samples));
            break;
        }
    }
    out
}

/// Frame-aligned MFCC and raw log-CQT extractor for one recipe.
pub struct Teacher {
    mfcc: Mfcc,
    cqt: Cqt,
    hop: usize,
    rf: usize,
    frames: usize,
    n_mfcc: usize,
    n_cqt: usize,
}

impl Teacher {
    /// Plan the front-ends (hop = model hop).
    pub fn new(recipe: &Recipe) -> Result<Self, PretrainError> {
        let sr = recipe.model.sample_rate as f64;
        let hop = recipe.hop();
        let geom = geometry(recipe);
        let mfcc = Mfcc::new(&MfccParams {
            mel: MelSpectrogramParams::librosa(sr, 1024, hop, 64),
            db: DbParams::power(),
            n_mfcc: recipe.targets.n_mfcc,
            lifter: 0.0,
        })?;
        let cqt = Cqt::new(&CqtParams {
            sr,
            hop_length: hop,
            n_bins: recipe.targets.cqt_bins,
            ..CqtParams::librosa(sr)
        })?;
        Ok(Teacher {
            mfcc,
            cqt,
            hop,
            rf: geom.receptive_field,
            frames: geom.num_frames(recipe.clip_samples()),
            n_mfcc: recipe.targets.n_mfcc,
            n_cqt: recipe.targets.cqt_bins,
        })
    }

    fn column(&self, t: usize, n_cols: usize) -> usize {
        let j = ((self.hop * t + self.rf / 2) as f64 / self.hop as f64).round() as usize;
        j.min(n_cols.saturating_sub(1))
    }

    /// `(mfcc [frames, n_mfcc], log-CQT [frames, n_cqt])` of a waveform.
    pub fn features(&self, y: &[f32]) -> Result<(Vec<f32>, Vec<f32>), PretrainError> {
        let m = self.mfcc.compute(y)?;
        let c = self.cqt.magnitude(y)?;
        let mut mf = vec![0f32; self.frames * self.n_mfcc];
        let mut cq = vec![0f32; self.frames * self.n_cqt];
        for t in 0..self.frames {
            let j = self.column(t, m.n_frames);
            for b in 0..self.n_mfcc {
                mf[t * self.n_mfcc + b] = m.data[b * m.n_frames + j];
            }
            let j = self.column(t, c.n_frames);
            for b in 0..self.n_cqt {
                cq[t * self.n_cqt + b] = (c.data[b * c.n_frames + j] + 1e-3).ln();
            }
        }
        Ok((mf, cq))
    }
}

impl Corpus {
    /// Generate the pools and their features (deterministic in the recipe).
    pub fn build(recipe: &Recipe) -> Result<Self, PretrainError> {
        let src = sources(recipe)?;
        let teacher = Teacher::new(recipe)?;
        let make = |split: Split, count: usize| -> Result<Vec<Clip>, PretrainError> {
            let picked = pick(recipe, &src, split, count);
            if picked.len() < count {
                return Err(PretrainError::Corpus {
                    message: format!(
                        "only {} {split:?} clips available, {count} requested",
                        picked.len()
                    ),
                });
            }
            picked
                .into_iter()
                .map(|(id, raw)| {
                    // Features from the raw clip (scale-invariant after standardisation), model input normalised.
                    let (mfcc, cqt) = teacher.features(&raw)?;
                    let mut samples = raw;
                    normalize(&mut samples);
                    Ok(Clip {
                        id,
                        samples,
                        mfcc,
                        cqt,
                    })
                })
                .collect()
        };
        let mut train = make(Split::Train, recipe.corpus.train_clips)?;
        let mut valid = make(Split::Valid, recipe.corpus.valid_clips)?;
        let nb = recipe.targets.cqt_bins;
        let (mean, std) = column_stats(train.iter().map(|c| c.cqt.as_slice()), nb);
        for c in train.iter_mut().chain(valid.iter_mut()) {
            standardize(&mut c.cqt, &mean, &std);
        }
        Ok(Corpus {
            train,
            valid,
            frames: teacher.frames,
            cqt_stats: (mean, std),
        })
    }
}

/// Per-column mean and standard deviation (floored at 1e-3) of row-major `[rows, d]` blocks.
pub fn column_stats<'a>(blocks: impl Iterator<Item = &'a [f32]>, d: usize) -> (Vec<f32>, Vec<f32>) {
    let mut s = vec![0f64; d];
    let mut s2 = vec![0f64; d];
    let mut n = 0usize;
    for b in blocks {
        for row in b.chunks_exact(d) {
            for (k, &v) in row.iter().enumerate() {
                s[k] += v as f64;
                s2[k] += (v as f64) * (v as f64);
            }
            n += 1;
        }
    }
    let n = n.max(1) as f64;
    let mean: Vec<f32> = s.iter().map(|v| (v / n) as f32).collect();
    let std: Vec<f32> = s2
        .iter()
        .zip(&s)
        .map(|(q, m)| ((q / n - (m / n).powi(2)).max(0.0).sqrt().max(1e-3)) as f32)
        .collect();
    (mean, std)
}

/// Standardise row-major `[rows, d]` in place.
pub fn standardize(x: &mut [f32], mean: &[f32], std: &[f32]) {
    let d = mean.len();
    for row in x.chunks_exact_mut(d) {
        for k in 0..d {
            row[k] = (row[k] - mean[k]) / std[k];
        }
    }
}
