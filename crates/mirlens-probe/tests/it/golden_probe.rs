//! Logistic-regression parity with scikit-learn 1.9.1 on `tests/golden/probe/lr.safetensors`.

use mirlens_core::Tolerance;
use mirlens_probe::{LogisticParams, LogisticRegression, Matrix, Penalty};
use mirlens_test_support::golden::Golden;

/// Test accuracy must be within half a percentage point of scikit-learn's.
const ACC_PP: f64 = 0.005;
/// L2 coefficients vs scikit-learn's (both solved to a gradient tolerance of 1e-6).
const COEF: Tolerance = Tolerance {
    name: "lr-coef",
    atol: 2e-4,
    rtol: 2e-3,
};

fn load() -> (Golden, Matrix, Vec<usize>, Matrix, Vec<usize>) {
    let g = Golden::load(mirlens_test_support::golden_dir("probe").join("lr.safetensors"));
    let m = |n: &str| {
        let t = g.get(n);
        Matrix::new(t.shape[0], t.shape[1], t.data.clone()).unwrap()
    };
    let y = |n: &str| {
        g.get(n)
            .data
            .iter()
            .map(|&v| v as usize)
            .collect::<Vec<_>>()
    };
    let (xtr, xte, ytr, yte) = (m("x_train"), m("x_test"), y("y_train"), y("y_test"));
    (g, xtr, ytr, xte, yte)
}

#[test]
fn logistic_regression_matches_sklearn_accuracy_l2_and_l1() {
    let (g, xtr, ytr, xte, yte) = load();
    let acc = &g.get("acc").data;
    let ybtr: Vec<usize> = ytr.iter().map(|&c| (c == 0) as usize).collect();
    let ybte: Vec<usize> = yte.iter().map(|&c| (c == 0) as usize).collect();
    let l2 = LogisticParams {
        c: 1.0,
        tol: 1e-6,
        max_iter: 1000,
        ..Default::default()
    };
    let l1 = LogisticParams {
        c: 0.05,
        penalty: Penalty::L1,
        tol: 1e-6,
        max_iter: 2000,
        ..Default::default()
    };
    let cases = [
        ("multinomial L2", &ytr, &yte, l2, acc[0]),
        ("multinomial L1", &ytr, &yte, l1, acc[1]),
        ("binary L2", &ybtr, &ybte, l2, acc[2]),
        ("binary L1", &ybtr, &ybte, l1, acc[3]),
    ];
    for (name, ytr, yte, p, want) in cases {
        let m = LogisticRegression::fit(&xtr, ytr, &p).unwrap();
        let got = m.score(&xte, yte).unwrap();
        eprintln!(
            "{name}: mirlens {got:.4}, sklearn {want:.4}, iterations {}",
            m.iterations
        );
        assert!(
            (got - want as f64).abs() <= ACC_PP + 1e-9,
            "{name}: accuracy {got} vs sklearn {want}"
        );
    }
    let m = LogisticRegression::fit(&xtr, &ytr, &l2).unwrap();
    let rep = mirlens_test_support::assert_close(
        "multinomial L2 coefficients",
        &m.coef,
        &g.get("coef_multi_l2").data,
        COEF,
    );
    eprintln!("multinomial L2 coef max abs err {:.2e}", rep.max_abs);
    let mb = LogisticRegression::fit(&xtr, &ybtr, &l2).unwrap();
    let rep = mirlens_test_support::assert_close(
        "binary L2 coefficients",
        &mb.coef,
        &g.get("coef_binary_l2").data,
        COEF,
    );
    eprintln!("binary L2 coef max abs err {:.2e}", rep.max_abs);
}
