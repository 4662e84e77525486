"""Records on disk: a readable JSON summary plus one ``.npz`` file for the arrays.

Why two files: the JSON can be read, diffed and searched by people and tools; the arrays stay
exact and compact. Loading never unpickles (``allow_pickle=False``) and only rebuilds record
classes registered with :func:`register_record`, so a record file from a stranger cannot run
code.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import uuid
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from mmviz.errors import RecordError

SCHEMA_VERSION = 1
_REGISTRY: dict[str, type] = {}
T = TypeVar("T")


def register_record(cls: type[T]) -> type[T]:
    """Class decorator: allow ``cls`` to be rebuilt from disk by its class name."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} must be a dataclass to be a record")
    known = _REGISTRY.get(cls.__name__)
    if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
        raise TypeError(f"a record called {cls.__name__} is already registered ({known.__module__}); records are saved "
                        "by class name, so names must be unique")
    _REGISTRY[cls.__name__] = cls
    return cls


#: modules whose import registers every record type mmviz writes (imported on demand by the loader,
#: so a record loads in a fresh process whichever module happened to be imported first)
RECORD_MODULES = ("mmviz.records.features", "mmviz.inference.record", "mmviz.explain", "mmviz.explain.analysis",
                  "mmviz.explain.recording", "mmviz.explain.alignment_view", "mmviz.data.competition",
                  "mmviz.data.robustness")


def _register_known(name: str) -> type | None:
    import importlib

    for mod in RECORD_MODULES:
        try:
            importlib.import_module(mod)
        except ImportError:
            continue
        if name in _REGISTRY:
            return _REGISTRY[name]
    return None


def _encode(value: Any, arrays: dict[str, np.ndarray], path: str) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"__record__": type(value).__name__}
        for f in dataclasses.fields(value):
            out[f.name] = _encode(getattr(value, f.name), arrays, f"{path}.{f.name}" if path else f.name)
        return out
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise RecordError(f"Field {path!r} holds an object array, which cannot be saved safely.")
        arrays[path] = value
        return {"__array__": path, "shape": list(value.shape), "dtype": str(value.dtype)}
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else {"__float__": repr(v)}
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, dict):
        return {str(k): _encode(v, arrays, f"{path}[{k}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v, arrays, f"{path}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    raise RecordError(f"Field {path!r} has a type ({type(value).__name__}) that records cannot hold.")


def _decode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, dict):
        if "__array__" in value:
            key = value["__array__"]
            if key not in arrays:
                raise RecordError(f"The array file is missing {key!r}; the record was saved incompletely.")
            return arrays[key]
        if "__float__" in value:
            return float(value["__float__"])
        if "__record__" in value:
            name = value["__record__"]
            cls = _REGISTRY.get(name) or _register_known(name)
            if cls is None:
                raise RecordError(f"Unknown record type {name!r}: this file was written by another version of mmviz.")
            kwargs = {k: _decode(v, arrays) for k, v in value.items() if k != "__record__"}
            return _build(cls, kwargs)
        return {k: _decode(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_decode(v, arrays) for v in value)
    return value


def _build(cls: type, kwargs: dict[str, Any]) -> Any:
    """``cls(**kwargs)``, with a missing, unknown or ill-shaped field named instead of a TypeError."""
    name = cls.__name__
    fields = dataclasses.fields(cls)
    unknown = set(kwargs) - {f.name for f in fields}
    if unknown:
        raise RecordError(f"Record {name} has fields this version does not know: {sorted(unknown)}.")
    missing = [f.name for f in fields if f.name not in kwargs
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise RecordError(f"Record {name} is missing the field(s) {missing}; the file is incomplete or was edited.",
                          hint="Recompute the record.")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError, AttributeError, IndexError, KeyError) as e:
        raise RecordError(f"Record {name} holds a value of the wrong kind or shape ({e}).", hint="Recompute the record.") from e


def record_to_dict(record: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Split a record into a JSON-able dict and its arrays (keyed by field path)."""
    arrays: dict[str, np.ndarray] = {}
    body = _encode(record, arrays, "")
    return {"schema_version": SCHEMA_VERSION, "record": body}, arrays


def record_from_dict(doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    """Inverse of :func:`record_to_dict`."""
    if not isinstance(doc, dict) or not isinstance(doc.get("record"), dict):
        raise RecordError("The file holds no record (expected a JSON object with 'schema_version' and 'record').",
                          hint="Choose a file written by mmviz (e.g. `mmviz features CLIP --out x.json`).")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise RecordError(
            f"Record schema version {doc.get('schema_version')!r} is not supported (this mmviz reads {SCHEMA_VERSION})."
        )
    return _decode(doc["record"], arrays)


def _paths(path: str | Path) -> tuple[Path, Path]:
    p = Path(path)
    stem = p.with_suffix("") if p.suffix in (".json", ".npz") else p
    return stem.with_suffix(".json"), stem.with_suffix(".npz")


def save_record(record: Any, path: str | Path) -> Path:
    """Write ``record`` as ``<path>.json`` + ``<path>.npz``; returns the JSON path."""
    jpath, npath = _paths(path)
    doc, arrays = record_to_dict(record)
    try:
        jpath.parent.mkdir(parents=True, exist_ok=True)
        # unique temporary names, then atomic renames: two processes writing the same record never collide,
        # and a reader sees the old file or the new one, never half of one (arrays first, then the JSON)
        tag = f"{os.getpid()}.{uuid.uuid4().hex[:8]}"
        tmp = npath.with_name(f".{npath.name}.{tag}.tmp")
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
        tmp.replace(npath)
        jtmp = jpath.with_name(f".{jpath.name}.{tag}.tmp")
        jtmp.write_text(json.dumps(doc, indent=1, allow_nan=False))
        jtmp.replace(jpath)
    except OSError as e:  # a parent that is a file, no permission, disk full
        raise RecordError(f"Could not write the record to {jpath}: {e.strerror or e}"
                          f"{f' ({e.filename})' if getattr(e, 'filename', None) else ''}.",
                          hint="Choose a path in a folder you can write to.") from e
    return jpath


def load_record(path: str | Path) -> Any:
    """Read a record written by :func:`save_record`. Never unpickles."""
    jpath, npath = _paths(path)
    if not jpath.exists():
        raise RecordError(f"No record at {jpath}.", hint="Check the path, or recompute the result.")
    try:
        doc = json.loads(jpath.read_text())
        arrays: dict[str, np.ndarray] = {}
        if npath.exists():
            with np.load(npath, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise RecordError(f"The record {jpath.name} is damaged ({e}).", hint="Delete it and recompute.") from e
    try:
        return record_from_dict(doc, arrays)
    except RecordError as e:
        raise RecordError(f"{jpath.name}: {e.message}", hint=e.hint) from e


def records_equal(a: Any, b: Any, *, atol: float = 0.0) -> bool:
    """True when two records hold the same values (arrays compared with ``atol``)."""
    da, aa = record_to_dict(a)
    db, ab = record_to_dict(b)
    if da != db or aa.keys() != ab.keys():
        return False
    for k in aa:
        x, y = aa[k], ab[k]
        if x.shape != y.shape:
            return False
        if np.issubdtype(x.dtype, np.number) and atol > 0:
            if not np.allclose(x, y, atol=atol, equal_nan=True):
                return False
        elif not np.array_equal(x, y, equal_nan=np.issubdtype(x.dtype, np.floating)):
            return False
    return True
