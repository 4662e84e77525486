"""Imports only point down: each mmviz package may import the ones listed before it, never one after.

The order is the data flow (records at the bottom, then media -> features -> model -> explanations
-> stores and training -> figures and reports -> the app and the command line). Imports inside
functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mmviz

LAYERS = ["errors", "settings", "progress", "validate", "records", "media", "transcript", "features", "inference", "explain",
          "data", "demo", "training", "figures", "report", "notes", "scale", "app_service", "app", "commands", "cli", "testing",
          "__main__", "__init__"]
ROOT = Path(mmviz.__file__).parent


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_every_package_has_a_place_in_the_order():
    here = {p.name.removesuffix(".py") for p in ROOT.iterdir() if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"}
    assert here <= set(LAYERS), here - set(LAYERS)


def test_no_module_imports_a_layer_above_it():
    upward = []
    for f in ROOT.rglob("*.py"):
        layer = f.relative_to(ROOT).parts[0].removesuffix(".py")
        for name in _imports(f):
            parts = name.split(".")
            if parts[0] == "mmviz" and len(parts) > 1 and parts[1] in LAYERS and LAYERS.index(parts[1]) > LAYERS.index(layer):
                upward.append(f"{f.relative_to(ROOT)} imports {name}")
    assert upward == []


def test_the_model_package_does_not_import_mmviz_beyond_its_errors():
    import mmviz_models

    root = Path(mmviz_models.__file__).parent
    found = {n for f in root.glob("*.py") for n in _imports(f) if n.startswith("mmviz.")}
    assert found <= {"mmviz.errors"}, found


def test_modality_names_are_declared_once_and_match_the_model():
    from mmviz.records.modalities import KEY_MODALITIES
    from mmviz_models.fusion import MODALITY_NAMES

    assert KEY_MODALITIES == MODALITY_NAMES
