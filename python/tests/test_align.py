"""align.score equals the reference formulas (numpy here; platonic-rep's goldens) and the CLI's result.json."""

import json
import subprocess

import numpy as np
import pytest

import mirlens
from conftest import GOLDEN

CASES = json.loads((GOLDEN / "align" / "cases.json").read_text())["cases"]


def linear_cka(x, y):
    x = x - x.mean(0)
    y = y - y.mean(0)
    return np.linalg.norm(y.T @ x) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))


def hsic_unbiased(k, l):
    m = k.shape[0]
    k = k.copy()
    l = l.copy()
    np.fill_diagonal(k, 0)
    np.fill_diagonal(l, 0)
    v = (k * l.T).sum() + k.sum() * l.sum() / ((m - 1) * (m - 2)) - 2 * (k @ l).sum() / (m - 2)
    return v / (m * (m - 3))


def debiased_cka(x, y):
    k, l = x @ x.T, y @ y.T
    return hsic_unbiased(k, l) / np.sqrt(hsic_unbiased(k, k) * hsic_unbiased(l, l))


@pytest.mark.parametrize("case", sorted(CASES))
def test_measures_equal_numpy_formulas_and_platonic_rep(case):
    c = CASES[case]
    x, y = np.array(c["x"]), np.array(c["y"])
    cka = mirlens.align.score(x, y, metric="cka", permutations=0, bootstrap=0)
    assert abs(cka.value - linear_cka(x, y)) < 1e-12
    assert abs(cka.value - c["platonic"]["cka_raw_noeps"]) < 1e-12
    assert cka.p_value is None and cka.ci is None and cka.n == len(x)
    dcka = mirlens.align.score(x, y, metric="cka_debiased", permutations=0, bootstrap=0)
    assert abs(dcka.value - debiased_cka(x, y)) < 1e-12
    assert abs(dcka.value - c["platonic"]["unbiased_cka_raw_noeps"]) < 1e-12
    knn = mirlens.align.score(x, y, metric="mutual_knn", permutations=0, bootstrap=0)
    # platonic-rep returns a float32: the reference value is rounded to 6e-8
    assert abs(knn.value - c["platonic"]["mutual_knn"]) < 1e-7
    ang = mirlens.align.score(x, y, metric="angular", permutations=0, bootstrap=0)
    assert abs(ang.value - c["netrep"]["angular_alpha_1.0"]) < 1e-9


def test_score_with_null_equals_the_cli(tmp_path, cli):
    rng = np.random.default_rng(4)
    z = rng.normal(size=(120, 6))
    x = z @ rng.normal(size=(6, 10)) + 0.5 * rng.normal(size=(120, 10))
    y = z @ rng.normal(size=(6, 8)) + 0.5 * rng.normal(size=(120, 8))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y.astype(np.float32))
    out = tmp_path / "result.json"
    subprocess.run([cli, "align", "score", "--x", str(tmp_path / "x.npy"), "--y", str(tmp_path / "y.npy"),
                    "--metric", "cka_debiased", "--permutations", "200", "--seed", "5", "--out", str(out)],
                   check=True, capture_output=True)
    want = json.loads(out.read_text())
    got = mirlens.align.score(x, y.astype(np.float32), metric="cka_debiased", permutations=200,
                              bootstrap=want["bootstrap"], seed=5)
    g = got.to_dict()
    # the same library code in both: counts are equal; the floating values agree to the last bits (the permuted
    # statistics go through parallel linear algebra, whose summation order may differ by a few ulp between runs)
    for key in ("p_value", "n", "permutations", "bootstrap"):
        assert g[key] == want[key], key
    for key in ("value", "null_mean", "null_sd"):
        assert g[key] == pytest.approx(want[key], rel=5e-15, abs=0), key
    assert g["ci"] == pytest.approx(want["ci"], rel=5e-15, abs=0)
    # a shared latent: far above the permutation null
    assert got.value > 0.5 and got.p_value == pytest.approx(1 / 201)


def test_layers_matrix_and_errors():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(60, 5))
    xs = [base + s * rng.normal(size=(60, 5)) for s in (0.0, 1.0, 3.0)]
    r = mirlens.align.layers(xs, [base], metric="cka", x_names=["a", "b", "c"], y_names=["t"])
    assert r.values.shape == (3, 1)
    assert r.values[0, 0] == pytest.approx(1.0, abs=1e-12)
    assert r.values[0, 0] > r.values[1, 0] > r.values[2, 0]
    assert r.best_pair == ("a", "t")
    with pytest.raises(mirlens.MirlensError, match="metric"):
        mirlens.align.score(xs[0], base, metric="nope")
    with pytest.raises(mirlens.MirlensError):
        mirlens.align.score(xs[0], base[:10])
