"""A restricted unpickler for MMSA-style feature pickles.

MMSA distributes CMU-MOSI/MOSEI features as pickles of dicts of numpy arrays. Plain
``pickle.load`` would run any code the file names; this loader only rebuilds numpy arrays,
dtypes and builtin containers, and refuses everything else with a clear message.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from mmviz.errors import DatasetError

_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("builtins", "list"),
    ("builtins", "dict"),
    ("builtins", "tuple"),
    ("builtins", "set"),
    ("builtins", "bytearray"),
    ("collections", "OrderedDict"),
    ("_codecs", "encode"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise DatasetError(
            f"Refusing to load this pickle: it asks for {module}.{name}, which is not plain numpy data.",
            hint="Only MMSA-style feature pickles (dicts of numpy arrays) can be read.",
        )


def safe_load_pickle(path: str | Path) -> Any:
    """Load a pickle that may only contain numpy arrays and builtin containers."""
    try:
        with open(path, "rb") as f:
            return _RestrictedUnpickler(f).load()
    except DatasetError:
        raise
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as e:
        raise DatasetError(f"Could not read {Path(path).name} as an MMSA feature pickle ({e}).") from e
