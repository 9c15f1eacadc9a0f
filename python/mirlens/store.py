"""Activation stores written by ``mirlens extract`` (or ``mirlens run``)."""

import json

from . import _mirlens


class Store:
    """An activation store opened read-only.

    ``layers`` lists the layer indices; ``layer(i)`` reads one layer as a float32 ``[rows, hidden]`` array;
    ``rows`` gives the row metadata as a pandas DataFrame when pandas is installed (else a dict of columns);
    ``labels(name)`` returns one value per row (``None`` where a row lacks the label).
    """

    def __init__(self, path):
        self._s = _mirlens.Store(str(path))

    @property
    def path(self):
        return self._s.path

    @property
    def layers(self):
        return list(self._s.layers)

    @property
    def hidden_size(self):
        return self._s.hidden_size

    @property
    def num_rows(self):
        return self._s.num_rows

    def __len__(self):
        return self._s.num_rows

    @property
    def manifest(self):
        return json.loads(self._s.manifest_json())

    def layer(self, i):
        """Layer ``i`` as a float32 array ``[rows, hidden]``."""
        return self._s.layer(int(i))

    @property
    def label_names(self):
        return self._s.label_names()

    def labels(self, name):
        """Values of label ``name``, one per row."""
        return self._s.labels(name)

    def row_columns(self):
        """Row metadata as a dict of columns (numpy arrays and lists)."""
        return self._s.row_columns()

    @property
    def rows(self):
        """Row metadata and every label as a pandas DataFrame (a dict of columns without pandas)."""
        cols = dict(self._s.row_columns())
        for name in self.label_names:
            cols[name] = self._s.labels(name)
        try:
            import pandas as pd
        except ImportError:
            return cols
        return pd.DataFrame(cols)

    def __repr__(self):
        return repr(self._s)
