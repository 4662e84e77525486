"""Shared fixtures: a tiny deterministic fusion model, synthetic clips, and paths.

Expensive objects are session-scoped. Tests that need the real SmolLM2, real media tools or
a browser carry ``@pytest.mark.slow`` (run in CI; skip locally with ``-m "not slow"``).

Every test also gets exactly one tier marker (``pytest_collection_modifyitems`` below), so
``python3 -m pytest -m unit`` runs the fast tier on its own:
- ``browser``: drives Chromium (``tests/e2e/`` or a ``browser`` mark, e.g. the wheel test);
- ``media``: real media decoding/encoding, espeak-ng speech, speech recognition or the real
  language model (``slow`` mark, or a file in ``MEDIA_FILES``);
- ``unit``: everything else (tiny model, synthetic arrays).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


#: test files whose tests decode or write real clips, speak with espeak-ng or recognise speech
MEDIA_FILES = frozenset({
    "test_app_pages.py", "test_app_service.py", "test_backbone_real.py", "test_build_default.py",
    "test_demo_corpus.py", "test_demo_face.py", "test_features_audio.py", "test_features_extract.py",
    "test_features_visual.py", "test_media_decode.py", "test_media_errors.py",
    "test_transcript_asr.py",
})


def tier_of(item: pytest.Item) -> str:
    """The tier of one collected test (see the module docstring)."""
    path = Path(str(item.path))
    if "e2e" in path.parts or item.get_closest_marker("browser"):
        return "browser"
    if item.get_closest_marker("media") or item.get_closest_marker("slow") or path.name in MEDIA_FILES:
        return "media"
    return "unit"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(item)
        if not item.get_closest_marker(tier):
            item.add_marker(tier)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared (data for tests); tests that need it skip cleanly when it is absent."""
    d = Path(os.environ.get("MMVIZ_SHARED_DIR", REPO.parent / "shared"))
    if not d.exists():
        pytest.skip(f"shared data folder {d} is not present")
    return d


@pytest.fixture(scope="session")
def tiny_runner():
    from mmviz.testing.tiny import tiny_runner as make

    return make()


@pytest.fixture(scope="session")
def real_backbone():
    from mmviz_models.backbone import load_backbone
    from mmviz_models.config import FusionConfig

    return load_backbone(FusionConfig())


@pytest.fixture(scope="session")
def small_demo_dir(tmp_path_factory) -> Path:
    """The first 8 committed demo clips (with their metadata rows): a quick stand-in for the full set."""
    import shutil

    import pandas as pd

    from mmviz.demo import DEMO_N

    src = REPO / "mmviz" / "demo" / "clips"
    out = tmp_path_factory.mktemp("demo8")
    meta = pd.read_csv(src / "metadata.csv").head(8)
    for f in meta["file"]:
        shutil.copy(src / f, out / f)
        shutil.copy(src / f.replace(".mp4", ".txt"), out / f.replace(".mp4", ".txt"))
    meta.to_csv(out / "metadata.csv", index=False)
    assert DEMO_N >= 8
    return out
