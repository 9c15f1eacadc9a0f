"""Stores, probes and SAEs from Python give the CLI's values on the same store and seeds; SAE codes equal the
exported SAELens weights applied in numpy; bad input raises clear exceptions."""

import json
import subprocess

import numpy as np
import pytest

import mirlens
from conftest import GOLDEN, read_safetensors

FIXTURE = GOLDEN / "store" / "fixture_store"


@pytest.fixture(scope="module")
def synth_store(tmp_path_factory, cli):
    """A planted-neuron store written by `mirlens probe synth` (labels `family`, `pitch_class`)."""
    out = tmp_path_factory.mktemp("synth") / "store"
    subprocess.run([cli, "probe", "synth", "--out", str(out), "--clips", "60", "--frames", "2", "--hidden", "16",
                    "--layers", "3", "--seed", "7"], check=True, capture_output=True)
    return out


def test_store_reads_the_fixture_like_plain_python():
    s = mirlens.Store(FIXTURE)
    want = read_safetensors(GOLDEN / "store" / "python_read.safetensors")
    assert s.layers == [0, 1, 2]
    assert s.num_rows == len(s) == want["layer_0"].shape[0]
    for layer in s.layers:
        x = s.layer(layer)
        assert x.dtype == np.float32 and x.shape == (s.num_rows, s.hidden_size)
        np.testing.assert_array_equal(x, want[f"layer_{layer}"])
    np.testing.assert_array_equal(np.array(s.labels("pitch")), want["pitch"])
    cols = s.row_columns()
    np.testing.assert_array_equal(cols["clip_index"], want["clip_index"])
    assert s.label_names == ["family", "pitch"]
    assert s.manifest["num_rows"] == s.num_rows


def test_store_errors_are_clear():
    with pytest.raises(FileNotFoundError, match="no_such_store"):
        mirlens.Store(FIXTURE.parent / "no_such_store")
    s = mirlens.Store(FIXTURE)
    with pytest.raises(mirlens.MirlensError, match=r"layer 7 is not in the store; it holds layers \[0, 1, 2\]"):
        s.layer(7)
    with pytest.raises(mirlens.MirlensError, match="labels present"):
        s.labels("tempo")


def test_probe_sweep_equals_the_cli(synth_store, cli, tmp_path):
    out = tmp_path / "sweep"
    done = subprocess.run([cli, "probe", "sweep", "--store", str(synth_store), "--label", "family", "--folds", "3",
                           "--seed", "2", "--out", str(out)], check=True, capture_output=True, text=True)
    cli_summary = json.loads(done.stdout)
    r = mirlens.probe.sweep(mirlens.Store(synth_store), "family", folds=3, seed=2)
    ours = r.to_dict()
    assert ours["classes"] == cli_summary["classes"]
    assert ours["best_layer"] == cli_summary["best_layer"]
    for a, b in zip(ours["layers"], cli_summary["layers"]):
        assert a["layer"] == b["layer"]
        assert a["accuracy"] == b["accuracy"]
        assert a["ci"] == b["ci"]
    # planted neurons: the family is decodable far above chance (4 classes) at the best layer
    assert r.best.accuracy > 0.9


def test_probe_sweep_on_arrays_equals_the_store_sweep(synth_store):
    s = mirlens.Store(synth_store)
    res = mirlens.probe.sweep(s, "family", pooling="none", folds=3, seed=1)
    fam = s.labels("family")
    classes = sorted(set(fam))
    y = np.array([classes.index(v) for v in fam])
    groups = s.row_columns()["clip_index"]
    xs = [s.layer(l) for l in s.layers]
    arr = mirlens.probe.sweep_arrays(xs, y, groups, names=[str(l) for l in s.layers], folds=3, seed=1)
    for a, b in zip(res.layers, arr.layers):
        assert a.layer == b.layer and a.accuracy == b.accuracy and a.folds == b.folds


def test_sae_trained_from_python_equals_the_cli(synth_store, cli, tmp_path):
    out = tmp_path / "sae"
    subprocess.run([cli, "sae", "train", "--store", str(synth_store), "--layer", "1", "--k", "4", "--expansion", "4",
                    "--tokens", "24000", "--batch", "128", "--seed", "3", "--threads", "1", "--out", str(out)],
                   check=True, capture_output=True)
    from_cli = mirlens.sae.load(out)
    s = mirlens.Store(synth_store)
    r = mirlens.sae.train(s, layer=1, k=4, expansion=4, total_tokens=24000, batch_size=128, seed=3, threads=1)
    x = s.layer(1)
    np.testing.assert_array_equal(r.sae.encode(x), from_cli.encode(x))
    np.testing.assert_array_equal(r.sae.reconstruct(x)[1], from_cli.reconstruct(x)[1])
    cli_metrics = json.loads((out / "sae.json").read_text())["metrics"]
    assert r.metrics["fvu"] == cli_metrics["fvu"]
    # the planted store is not built for SAEs; the dictionary still explains most of the variance
    assert 0.0 <= r.metrics["fvu"] < 0.9


def test_sae_codes_equal_saelens_weights_in_numpy(tmp_path):
    rng = np.random.default_rng(0)
    atoms = rng.normal(size=(32, 12)).astype(np.float32)
    codes = rng.exponential(size=(3000, 32)) * (rng.random((3000, 32)) < 0.1)
    x = (codes @ atoms).astype(np.float32)
    r = mirlens.sae.train(x, k=4, expansion=4, total_tokens=60000, batch_size=256, seed=0)
    sae = r.sae
    sae.to_saelens(tmp_path / "saelens")
    cfg = json.loads((tmp_path / "saelens" / "cfg.json").read_text())
    w = read_safetensors(tmp_path / "saelens" / "sae_weights.safetensors")
    xin = x - w["b_dec"] if cfg["apply_b_dec_to_input"] else x
    pre = xin.astype(np.float64) @ w["W_enc"].astype(np.float64) + w["b_enc"]
    pre = np.maximum(pre, 0.0)
    kth = -np.sort(-pre, axis=1)[:, 3:4]
    want = np.where(pre >= kth, pre, 0.0)
    got = sae.encode(x)
    assert np.max(np.abs(got - want)) < 1e-4 * np.max(np.abs(want))
    dec = sae.decode(got)
    want_dec = got.astype(np.float64) @ w["W_dec"].astype(np.float64) + w["b_dec"]
    assert np.max(np.abs(dec - want_dec)) < 1e-4 * np.max(np.abs(want_dec))
    # round trip through SAELens import
    back = mirlens.sae.from_saelens(tmp_path / "saelens")
    np.testing.assert_allclose(back.encode(x), got, rtol=0, atol=1e-5 * np.max(np.abs(got)))


def test_sae_input_layouts_and_bad_input():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 8)).astype(np.float32)
    sae = mirlens.sae.train(x, k=2, expansion=2, total_tokens=4000, batch_size=100).sae
    ref = sae.encode(x)
    np.testing.assert_array_equal(ref, sae.encode(x.astype(np.float64)))
    np.testing.assert_array_equal(ref, sae.encode(np.asfortranarray(x)))
    bad = x.copy()
    bad[5, 3] = np.nan
    with pytest.raises(mirlens.MirlensError, match="row 5, column 3"):
        sae.encode(bad)
    with pytest.raises(mirlens.MirlensError, match="d_in is 8"):
        sae.encode(x[:, :5])
    with pytest.raises(mirlens.MirlensError, match="needs k"):
        mirlens.sae.train(x, arch="topk")
