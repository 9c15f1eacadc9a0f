//! Round trips through the native, SAELens and sparsify formats; determinism and checkpoint resume.

use crate::planted::{data, params};
use mirlens_sae::io::{
    SaveInfo, export_saelens, export_sparsify, import_saelens, import_sparsify, load_native,
    save_native,
};
use mirlens_sae::train::{RunOptions, train, train_simple};
use mirlens_sae::{Architecture, Normalization, Sae};
use mirlens_test_support::{Tolerance, assert_close};

/// Tolerance of reconstructions after folding the input normalisation into the weights (f32 reassociation).
const FOLDED: Tolerance = Tolerance {
    name: "folded",
    atol: 1e-4,
    rtol: 1e-4,
};

fn trained(arch: Architecture, norm: Normalization) -> (Sae, Vec<f32>) {
    let pl = data(3);
    let mut p = params(arch, 64, 60_000);
    p.normalization = norm;
    let out = train_simple(&pl.x, &p).unwrap();
    (out.sae, pl.x.data[..40 * 32].to_vec())
}

fn same_outputs(a: &Sae, b: &Sae, x: &[f32], what: &str) {
    let (ca, ya) = a.reconstruct(x).unwrap();
    let (cb, yb) = b.reconstruct(x).unwrap();
    assert_close(
        &format!("{what}: codes"),
        &cb.to_dense(),
        &ca.to_dense(),
        FOLDED,
    );
    assert_close(&format!("{what}: reconstruction"), &yb, &ya, FOLDED);
}

#[test]
fn native_round_trip_for_every_architecture_and_normalisation() {
    let dir = tempfile::tempdir().unwrap();
    for (arch, norm) in [
        (Architecture::TopK { k: 3 }, Normalization::StandardizeDim),
        (
            Architecture::BatchTopK { k: 3 },
            Normalization::ExpectedNorm,
        ),
        (Architecture::Relu, Normalization::Center),
        (Architecture::JumpRelu, Normalization::UnitNorm),
        (Architecture::TopK { k: 3 }, Normalization::StandardizeToken),
    ] {
        let (sae, x) = trained(arch, norm);
        let d = dir.path().join(format!("{}-{norm:?}", arch.name()));
        let m = save_native(&d, &sae, SaveInfo::default()).unwrap();
        assert_eq!(
            m.normalization.folded,
            norm.foldable() && norm != Normalization::None
        );
        let (back, m2) = load_native(&d).unwrap();
        assert_eq!(m, m2);
        assert_eq!(back.arch, arch);
        same_outputs(&sae, &back, &x, &format!("native {} {norm:?}", arch.name()));
    }
}

#[test]
fn saelens_and_sparsify_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    for arch in [
        Architecture::TopK { k: 3 },
        Architecture::Relu,
        Architecture::JumpRelu,
        Architecture::BatchTopK { k: 3 },
    ] {
        let (sae, x) = trained(arch, Normalization::ExpectedNorm);
        let d = dir.path().join(format!("saelens-{}", arch.name()));
        export_saelens(&d, &sae, Some("layer.6")).unwrap();
        let back = import_saelens(&d).unwrap();
        same_outputs(&sae, &back, &x, &format!("saelens {}", arch.name()));
        let cfg: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("cfg.json")).unwrap()).unwrap();
        let want = match arch {
            Architecture::TopK { .. } => "topk",
            Architecture::Relu => "standard",
            _ => "jumprelu",
        };
        assert_eq!(cfg["architecture"], want);
    }
    let (sae, x) = trained(Architecture::TopK { k: 3 }, Normalization::Center);
    let d = dir.path().join("sparsify");
    export_sparsify(&d, &sae).unwrap();
    let back = import_sparsify(&d).unwrap();
    same_outputs(&sae, &back, &x, "sparsify");
    // per-token normalisation cannot be expressed in SAELens
    let (sae, _) = trained(Architecture::TopK { k: 3 }, Normalization::UnitNorm);
    assert!(export_saelens(&dir.path().join("bad"), &sae, None).is_err());
}

#[test]
fn strict_loading_rejects_unused_and_missing_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let (sae, _) = trained(Architecture::TopK { k: 3 }, Normalization::None);
    let d = dir.path().join("s");
    export_sparsify(&d, &sae).unwrap();
    // add a skip connection flag → unsupported
    let cfg = d.join("cfg.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&cfg).unwrap()).unwrap();
    v["skip_connection"] = true.into();
    std::fs::write(&cfg, serde_json::to_vec(&v).unwrap()).unwrap();
    let err = import_sparsify(&d).unwrap_err().to_string();
    assert!(err.contains("skip_connection"), "{err}");
    // SAELens with a missing tensor
    let d = dir.path().join("l");
    export_saelens(&d, &sae, None).unwrap();
    let w = d.join("sae_weights.safetensors");
    let bytes = std::fs::read(&w).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let kept: Vec<(String, safetensors::tensor::TensorView<'_>)> = st
        .tensors()
        .into_iter()
        .filter(|(n, _)| n != "b_enc")
        .collect();
    std::fs::write(&w, safetensors::serialize(kept, None).unwrap()).unwrap();
    let err = import_saelens(&d).unwrap_err().to_string();
    assert!(err.contains("b_enc"), "{err}");
}

#[test]
fn training_is_deterministic_and_resumes_bit_exactly() {
    let pl = data(9);
    let p = params(Architecture::TopK { k: 3 }, 64, 51_200);
    let a = train_simple(&pl.x, &p).unwrap();
    let b = train_simple(&pl.x, &p).unwrap();
    assert_eq!(a.sae, b.sae, "same seed, same weights");
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    let part = train(
        &pl.x,
        &p,
        RunOptions {
            checkpoint_dir: Some(ck.clone()),
            stop_after: Some(77),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(part.eval.is_none());
    let resumed = train(
        &pl.x,
        &p,
        RunOptions {
            checkpoint_dir: Some(ck),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        resumed.sae, a.sae,
        "resumed run equals the uninterrupted one"
    );
    assert_eq!(resumed.eval.unwrap().fvu, a.eval.unwrap().fvu);
    let mut q = p.clone();
    q.seed = 2;
    let c = train_simple(&pl.x, &q).unwrap();
    assert_ne!(c.sae.w_dec, a.sae.w_dec);
}
