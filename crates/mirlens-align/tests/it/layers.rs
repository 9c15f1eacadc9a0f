//! Layer × layer matrices: every cell equals the measure computed on its own.

use crate::planted::randn;
use faer::Mat;
use mirlens_align::layers::layer_matrix;
use mirlens_align::measures::{MeasureParams, Metric, measure};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn layers(
    seed: u64,
    n: usize,
    count: usize,
    width: usize,
    z: &Mat<f64>,
) -> Vec<(String, Mat<f64>)> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|l| {
            let noise = 0.2 + 1.5 * l as f64;
            let m = z * &randn(&mut rng, z.ncols(), width)
                + randn(&mut rng, n, width) * faer::Scale(noise);
            (format!("layer-{l}"), m)
        })
        .collect()
}

#[test]
fn cells_equal_single_measures_and_best_is_the_least_noisy_pair() {
    let mut rng = StdRng::seed_from_u64(1);
    let z = randn(&mut rng, 60, 4);
    let xs = layers(2, 60, 3, 8, &z);
    let ys = layers(3, 60, 4, 6, &z);
    let params = MeasureParams {
        k: 5,
        ..Default::default()
    };
    for metric in Metric::ALL {
        let lm = layer_matrix(&xs, &ys, metric, &params).unwrap();
        for (i, (_, x)) in xs.iter().enumerate() {
            for (j, (_, y)) in ys.iter().enumerate() {
                let want = measure(metric, x.as_ref(), y.as_ref(), &params).unwrap();
                let got = lm.values[i * ys.len() + j];
                assert!(
                    (got - want).abs() < 1e-10,
                    "{metric} [{i}, {j}]: {got} vs {want}"
                );
            }
        }
        assert_eq!(
            lm.best_pair,
            ["layer-0".to_string(), "layer-0".to_string()],
            "{metric}: {:?}",
            lm.values
        );
        let csv = lm.to_csv();
        assert_eq!(csv.lines().count(), 4);
        assert!(csv.starts_with("x_layer,layer-0,layer-1,layer-2,layer-3\n"));
        assert!(lm.to_svg("X", "Y").unwrap().starts_with("<svg"));
    }
}
