"""Sparse autoencoders: TopK, BatchTopK, ReLU (L1) and JumpReLU, trained by mirlens' trainer."""

import json

from . import _mirlens
from ._util import f32_2d


class SAE:
    """A sparse autoencoder. ``encode(x)`` gives dense codes ``[rows, n_latents]`` of raw rows, ``decode(z)`` rows in
    the SAE's input space, ``reconstruct(x)`` both with the reconstruction in raw space. ``w_enc`` is
    ``[d_in, n_latents]`` and ``w_dec`` ``[n_latents, d_in]`` (SAELens layout)."""

    def __init__(self, inner):
        self._s = inner

    arch = property(lambda self: self._s.arch)
    k = property(lambda self: self._s.k)
    d_in = property(lambda self: self._s.d_in)
    n_latents = property(lambda self: self._s.n_latents)
    normalization = property(lambda self: self._s.normalization)
    w_enc = property(lambda self: self._s.w_enc)
    w_dec = property(lambda self: self._s.w_dec)
    b_enc = property(lambda self: self._s.b_enc)
    b_dec = property(lambda self: self._s.b_dec)

    def encode(self, x):
        return self._s.encode(f32_2d(x))

    def decode(self, z):
        return self._s.decode(f32_2d(z, "z"))

    def reconstruct(self, x):
        return self._s.reconstruct(f32_2d(x))

    def save(self, path):
        """Save in mirlens' native format (safetensors + JSON)."""
        self._s.save(str(path))

    def to_saelens(self, path, hook_name=None):
        """Write SAELens' layout (``cfg.json`` + ``sae_weights.safetensors``), normalisation folded in."""
        self._s.to_saelens(str(path), hook_name=hook_name)

    def __repr__(self):
        return repr(self._s)


class TrainResult:
    """A trained SAE with the held-out metrics (``fvu``, ``l0``, dead fraction, …) as a dict."""

    def __init__(self, sae, metrics):
        self.sae = sae
        self.metrics = metrics

    def to_dict(self):
        return {"sae": repr(self.sae), "metrics": self.metrics}

    def __repr__(self):
        return f"TrainResult({self.sae!r}, metrics={self.metrics})"


def train(x, *, arch="topk", k=None, expansion=8, n_latents=None, total_tokens=None, batch_size=None,
          normalization="expected_norm", lr=None, eval_fraction=0.1, seed=0, threads=0, layer=None):
    """Train an SAE on rows ``x`` (an array ``[rows, d_in]``, or a :class:`mirlens.Store` with ``layer=``).

    Returns a :class:`TrainResult`; ``result.sae`` has ``encode``/``decode``/``reconstruct`` on arrays and
    ``save``/``to_saelens``.
    """
    if hasattr(x, "layer") and hasattr(x, "_s"):
        if layer is None:
            raise _mirlens.MirlensError("training on a store needs layer=")
        x = x.layer(layer)
    x = f32_2d(x)
    sae, metrics = _mirlens.train_sae(x, arch=arch, k=k, expansion=expansion, n_latents=n_latents,
                                      total_tokens=total_tokens, batch_size=batch_size,
                                      normalization=normalization, lr=lr, eval_fraction=eval_fraction, seed=seed,
                                      threads=threads)
    return TrainResult(SAE(sae), json.loads(metrics))


def load(path):
    """Load an SAE saved with ``save`` or ``mirlens sae train``."""
    return SAE(_mirlens.Sae.load(str(path)))


def from_saelens(path):
    """Import an SAE from a SAELens directory (``cfg.json`` + ``sae_weights.safetensors``)."""
    return SAE(_mirlens.Sae.from_saelens(str(path)))
