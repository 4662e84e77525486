"""A restricted unpickler for MMSA-style feature pickles.

MMSA distributes CMU-MOSI/MOSEI features as pickles of dicts of numpy arrays. Plain
``pickle.load`` would run any code the file names; this loader only rebuilds numpy arrays,
dtypes and builtin containers, and refuses everything else with a clear message.

It also refuses *sizes* the file cannot hold. A pickle may ask numpy for an empty array of
any shape (``_reconstruct``, ``ndarray(shape)``, an object array's state) or for
``bytearray(n)``; a crafted 2**40-element request would be a MemoryError (or swap the machine)
before anything could be checked. Every such request is compared with the file's size before
anything is allocated: an array's data, or one pickle opcode per element of an object array,
has to be in the file, so an array larger than the file is damaged or crafted.
"""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np

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
#: slack over the file size for tiny arrays (headers, zero-length dtypes)
_SLACK_BYTES = 1 << 16


def _human(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


class _Budget:
    """The largest array (bytes and elements) a file of ``size`` bytes can really hold."""

    def __init__(self, name: str, size: int) -> None:
        self.name, self.size = name, size

    def check(self, shape: Any, dtype: Any = None) -> None:
        try:
            dims = [int(d) for d in (shape if isinstance(shape, (tuple, list)) else (shape,))]
            dt = np.dtype(dtype) if dtype is not None else np.dtype(np.float64)
        except (TypeError, ValueError):
            return  # numpy will refuse it itself, without allocating
        if any(d < 0 for d in dims):
            return
        elements = math.prod(dims)
        nbytes = elements * max(1, dt.itemsize)
        if elements > self.size + _SLACK_BYTES or nbytes > 8 * self.size + _SLACK_BYTES:
            raise DatasetError(
                f"Refusing to load {self.name}: it declares an array of shape {tuple(dims)} ({_human(nbytes)}), "
                f"larger than the whole file ({_human(self.size)}) could hold; the file is damaged or crafted.",
                hint="Only MMSA-style feature pickles (dicts of numpy arrays) can be read; download the file again.")


def _guarded_array_class(budget: _Budget) -> type:
    """An ndarray subclass whose construction and unpickled state are size-checked first."""

    class _GuardedArray(np.ndarray):
        def __new__(cls, shape, dtype=float, *args, **kwargs):
            budget.check(shape, dtype)
            return np.ndarray.__new__(cls, shape, dtype, *args, **kwargs)

        def __setstate__(self, state):
            if isinstance(state, tuple) and len(state) >= 4:
                shape, dtype = state[1], state[2]
                budget.check(shape, dtype)
            return np.ndarray.__setstate__(self, state)

    return _GuardedArray


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, name: str, size: int) -> None:
        super().__init__(file)
        self._budget = _Budget(name, size)
        self._array_cls = _guarded_array_class(self._budget)

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise DatasetError(
                f"Refusing to load this pickle: it asks for {module}.{name}, which is not plain numpy data.",
                hint="Only MMSA-style feature pickles (dicts of numpy arrays) can be read.",
            )
        if (module, name) == ("numpy", "ndarray"):
            return self._array_cls
        if name == "_reconstruct":
            real = super().find_class(module, name)
            budget, guarded = self._budget, self._array_cls

            def reconstruct(subtype, shape, dtype):
                budget.check(shape, np.uint8)  # numpy's own pickles ask for shape (0,) here
                return real(guarded if subtype is np.ndarray else subtype, shape, dtype)

            return reconstruct
        if (module, name) == ("builtins", "bytearray"):
            budget = self._budget

            def safe_bytearray(*args):
                if args and isinstance(args[0], int):
                    budget.check((args[0],), np.uint8)
                return bytearray(*args)

            return safe_bytearray
        return super().find_class(module, name)


def _plain(obj: Any) -> Any:
    """Replace the loader's guarded arrays by plain ndarrays, through builtin containers."""
    if isinstance(obj, np.ndarray):
        return obj.view(np.ndarray) if type(obj) is not np.ndarray else obj
    if isinstance(obj, dict):
        return type(obj)((k, _plain(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_plain(v) for v in obj)
    return obj


def safe_load_pickle(path: str | Path) -> Any:
    """Load a pickle that may only contain numpy arrays and builtin containers of a size it can hold."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            size = p.stat().st_size
            return _plain(_RestrictedUnpickler(f, p.name, size).load())
    except DatasetError:
        raise
    except MemoryError as e:  # the size checks should make this unreachable
        raise DatasetError(f"{p.name} asks for more memory than this machine has; it is damaged or crafted.") from e
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as e:
        raise DatasetError(f"Could not read {p.name} as an MMSA feature pickle ({type(e).__name__}: {e}).",
                           hint="Check that it is an MMSA feature file, and download it again if it is cut short.") from e
