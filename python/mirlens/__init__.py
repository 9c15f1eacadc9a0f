"""mirlens from Python: activation stores, librosa-style front-ends, probes and sparse autoencoders.

Every function calls the same Rust library code as the ``mirlens`` command line, on numpy arrays. Inputs of any
dtype or memory layout are accepted (converted to contiguous float32/int64 once); results are numpy arrays or
small result objects with ``to_dict()``.

>>> import mirlens
>>> store = mirlens.Store("runs/notes/store")          # doctest: +SKIP
>>> x = store.layer(3)                                 # doctest: +SKIP
"""

from ._mirlens import MirlensError, __version__
from .store import Store
from . import align, features, probe, sae

__all__ = ["MirlensError", "Store", "align", "features", "probe", "sae", "__version__"]
