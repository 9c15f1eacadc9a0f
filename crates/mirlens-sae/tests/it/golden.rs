//! SAELens parity: SAELens's encode/decode of our exports equals ours; SAEs written by SAELens import exactly.
//! Fixtures: `tests/golden/sae/generate.py` (sae-lens 6.54.12).

use mirlens_sae::io::{import_saelens, load_native};
use mirlens_test_support::golden::Golden;
use mirlens_test_support::{Tolerance, assert_close, golden_dir};

/// f32 against torch f32 with a different summation order (matmul blocking): achieved max abs error ≈ 1e-6.
const SAELENS: Tolerance = Tolerance {
    name: "saelens-f32",
    atol: 2e-5,
    rtol: 1e-5,
};

fn x(g: &Golden) -> Vec<f32> {
    g.tensors["x"].data.clone()
}

#[test]
fn saelens_encode_decode_of_our_exports_equals_ours() {
    let dir = golden_dir("sae");
    let g = Golden::load(dir.join("saelens_of_ours.safetensors"));
    let x = x(&g);
    for arch in ["topk", "jumprelu"] {
        let (ours, _) = load_native(&dir.join(format!("ours_{arch}")).join("native")).unwrap();
        let (codes, recon) = ours.reconstruct(&x).unwrap();
        let a = assert_close(
            &format!("{arch}: feature acts"),
            &codes.to_dense(),
            &g.tensors[&format!("{arch}.acts")].data,
            SAELENS,
        );
        let r = assert_close(
            &format!("{arch}: reconstruction"),
            &recon,
            &g.tensors[&format!("{arch}.recon")].data,
            SAELENS,
        );
        eprintln!(
            "{arch}: acts max abs {:.2e}, recon max abs {:.2e}",
            a.max_abs, r.max_abs
        );
        // and our importer reads our export back to the same numbers
        let back = import_saelens(&dir.join(format!("ours_{arch}")).join("saelens")).unwrap();
        let (c2, r2) = back.reconstruct(&x).unwrap();
        assert_close(
            &format!("{arch}: re-imported acts"),
            &c2.to_dense(),
            &codes.to_dense(),
            Tolerance::TIGHT,
        );
        assert_close(
            &format!("{arch}: re-imported recon"),
            &r2,
            &recon,
            Tolerance::TIGHT,
        );
    }
}

#[test]
fn saes_written_by_saelens_import_exactly() {
    let dir = golden_dir("sae");
    let g = Golden::load(dir.join("saelens_written.safetensors"));
    let x = x(&g);
    for name in [
        "saelens_topk",
        "saelens_topk_rescaled",
        "saelens_standard",
        "saelens_jumprelu",
    ] {
        let sae = import_saelens(&dir.join(name)).unwrap();
        let (codes, recon) = sae.reconstruct(&x).unwrap();
        let a = assert_close(
            &format!("{name}: feature acts"),
            &codes.to_dense(),
            &g.tensors[&format!("{name}.acts")].data,
            SAELENS,
        );
        let r = assert_close(
            &format!("{name}: reconstruction"),
            &recon,
            &g.tensors[&format!("{name}.recon")].data,
            SAELENS,
        );
        eprintln!(
            "{name}: acts max abs {:.2e}, recon max abs {:.2e}",
            a.max_abs, r.max_abs
        );
    }
}
