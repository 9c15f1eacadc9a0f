//! Sweeps, feature analysis and the checkpoint-crossing study on planted data (through a real store).

use crate::planted::{data, params};
use mirlens_core::LayerId;
use mirlens_sae::analysis::{FeatureParams, analyze_features};
use mirlens_sae::store_source::{StoreAccess, StoreSource, write_planted_store};
use mirlens_sae::study::{crossing, sweep};
use mirlens_sae::synthetic::mean_max_cosine;
use mirlens_sae::train::train_simple;
use mirlens_sae::{ActivationSource, Architecture, Matrix};
use rand::{Rng, SeedableRng};

#[test]
fn sweep_on_a_store_writes_a_monotone_grid() {
    let dir = tempfile::tempdir().unwrap();
    let pl = data(21);
    write_planted_store(dir.path(), &pl, "planted", 10).unwrap();
    let src = StoreSource::open(
        dir.path(),
        LayerId(0),
        StoreAccess::InMemory,
        Some("source"),
    )
    .unwrap();
    assert_eq!(src.num_rows(), pl.x.rows);
    let mut row = vec![0.0; 32];
    src.fill_rows(&[123], &mut row).unwrap();
    assert_eq!(row, pl.x.row(123));
    assert_eq!(
        src.meta(123).unwrap().source.as_deref(),
        pl.x.meta[123].source.as_deref()
    );
    let on_disk = StoreSource::open(dir.path(), LayerId(0), StoreAccess::OnDisk, None).unwrap();
    on_disk.fill_rows(&[5999], &mut row).unwrap();
    assert_eq!(row, pl.x.row(5999));

    let base = params(Architecture::TopK { k: 1 }, 0, 100_000);
    let res = sweep(&src, &base, &[1, 2], &[1, 3], |_, _, _| {}).unwrap();
    let fvu: Vec<f64> = res.rows.iter().map(|r| r.metrics.fvu).collect();
    assert_eq!(res.rows.len(), 4);
    assert!(
        fvu[0] > fvu[1] && fvu[2] > fvu[3],
        "FVU falls with K: {fvu:?}"
    );
    assert!(
        fvu[0] > fvu[2] && fvu[1] > fvu[3],
        "FVU falls with width: {fvu:?}"
    );
    let t = res.table().unwrap();
    assert_eq!(t.rows.len(), 4);
    assert!(t.to_csv().starts_with("expansion,n_latents,k,lr,fvu"));
    for svg in [
        res.fvu_heatmap().unwrap(),
        res.dead_heatmap().unwrap(),
        res.fvu_lines().unwrap(),
    ] {
        assert!(svg.starts_with("<svg") && svg.contains("n/d"));
    }
}

#[test]
fn features_find_planted_labels_and_sources() {
    let pl = data(4);
    let out = train_simple(&pl.x, &params(Architecture::TopK { k: 3 }, 64, 300_000)).unwrap();
    assert!(mean_max_cosine(&pl.dictionary, &out.sae.w_dec, 32) > 0.9);
    let rep = analyze_features(&out.sae, &pl.x, None, &FeatureParams::default()).unwrap();
    // label `latent` = strongest planted latent of the row: alive features match a class with high precision
    let alive: Vec<_> = rep.features.iter().filter(|f| f.fires > 0).collect();
    let (mean_prec, mean_mi, _) = rep.label_summary("latent", 0.9);
    assert!(alive.len() >= 40, "{} alive", alive.len());
    // the label is the strongest of 3 active latents, so a perfect feature has precision ≈ 1/3; chance is 1/48
    assert!(mean_prec > 0.2, "mean best precision {mean_prec}");
    assert!(mean_mi > 0.05, "mean MI {mean_mi}");
    let top = &alive[0].top;
    assert!(top.windows(2).all(|w| w[0].activation >= w[1].activation));
    assert!(top[0].clip_id.starts_with("clip"));
    let total: usize = rep.tendency_counts.values().sum();
    assert_eq!(total, 64);
}

#[test]
fn crossing_study_separates_specific_from_mixed_checkpoints() {
    use mirlens_sae::synthetic::{PlantedParams, planted};
    let pl = planted(PlantedParams {
        d: 32,
        n_true: 48,
        k_true: 3,
        rows: 6000,
        noise: 0.02,
        seed: 8,
        source_exclusive: true,
    });
    // "late" checkpoint: each row's latents come from its source's half (specific features); "early": the same
    // rows with random source tags (mixed features)
    let late = pl.x.clone();
    let mut early = pl.x.clone();
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    for m in early.meta.iter_mut() {
        m.source = Some(if rng.random::<bool>() { "A" } else { "B" }.to_string());
    }
    let srcs: Vec<(String, &dyn ActivationSource)> =
        vec![("early".into(), &early as &Matrix), ("late".into(), &late)];
    let p = params(Architecture::TopK { k: 3 }, 64, 150_000);
    let (res, reports) = crossing(&srcs, &p, &FeatureParams::default(), |_, _, _| {}).unwrap();
    assert_eq!(reports.len(), 2);
    let mixed_early = res.points[0].tendency.get("mixed").copied().unwrap_or(0.0);
    let mixed_late = res.points[1].tendency.get("mixed").copied().unwrap_or(0.0);
    assert!(mixed_early > 0.9, "early mixed {mixed_early}");
    assert!(
        mixed_late < mixed_early - 0.3,
        "late mixed {mixed_late} vs early {mixed_early}"
    );
    let t = res.table().unwrap();
    assert_eq!(t.rows.len(), 2);
    assert!(t.columns.iter().any(|c| c == "tendency_mixed"));
    assert!(res.tendency_plot().unwrap().contains("<svg"));
    assert!(res.label_plot().unwrap().contains("<svg"));
}
