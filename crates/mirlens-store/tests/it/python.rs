//! The committed fixture store read by Rust equals what `read_store.py` (numpy + safetensors only) read from it.

use mirlens_core::{LayerId, Tolerance};
use mirlens_store::Store;
use mirlens_test_support::{assert_close, golden::Golden, golden_dir};

#[test]
fn python_reads_the_same_values_as_rust() {
    let dir = golden_dir("store");
    let store = Store::open(dir.join("fixture_store")).unwrap();
    let g = Golden::load(dir.join("python_read.safetensors"));
    for &l in store.layers() {
        let (v, rows, dim) = store.read_layer(l).unwrap();
        let t = &g.tensors[&format!("layer_{}", l.0)];
        assert_eq!(t.shape, vec![rows, dim]);
        assert_close(&format!("python {l}"), &v, &t.data, Tolerance::EXACT_F32);
        let st = store.stats(l).unwrap();
        let mean: Vec<f32> = st.mean.iter().map(|&x| x as f32).collect();
        assert_close(
            &format!("python mean of {l}"),
            &mean,
            &g.tensors[&format!("mean_{}", l.0)].data,
            Tolerance::TIGHT,
        );
    }
    let pitch: Vec<f32> = store
        .rows()
        .iter()
        .map(|r| r.labels["pitch"].as_f64().unwrap() as f32)
        .collect();
    assert_eq!(pitch, g.tensors["pitch"].data);
    let clip: Vec<f32> = store.rows().iter().map(|r| r.clip_index as f32).collect();
    assert_eq!(clip, g.tensors["clip_index"].data);
    assert_eq!(g.metadata["model"], store.manifest().header.model);
    assert_eq!(store.layers(), &[LayerId(0), LayerId(1), LayerId(2)]);
}
