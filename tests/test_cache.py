"""The cache has a size limit: least-recently-used results and uploads go first; the model and notes never do."""

from __future__ import annotations

import os
import time

from mmviz.cli import main
from mmviz.data.cache import CacheLimiter, clear, evict, usage
from mmviz.data.store import ResultsStore
from mmviz.inference.tiny import synthetic_clip


def _file(p, size: int, age_s: float):
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"x" * size)
    t = time.time() - age_s
    os.utime(p, (t, t))
    return p


def _cache(root):
    kb = 1024
    _file(root / "backbones" / "lm.safetensors", 500 * kb, 10_000)  # oldest of all, but never evicted
    _file(root / "notes.sqlite", 10 * kb, 10_000)
    old = [_file(root / "results" / "features" / "old.json", 1 * kb, 5000), _file(root / "results" / "features" / "old.npz", 99 * kb, 5000)]
    mid = _file(root / "app" / "uploads" / "mid.mp4", 100 * kb, 4000)
    new = _file(root / "results" / "inspections" / "ck" / "new.json", 100 * kb, 3000)
    view = [_file(root / "results" / "dataset-views" / "demo-ck" / n, 50 * kb, 3500) for n in ("table.csv", "embeddings.npz")]
    return old, mid, new, view


def test_eviction_removes_the_least_recently_used_until_the_cache_fits(tmp_path):
    old, mid, new, view = _cache(tmp_path)
    assert usage(tmp_path).total == (500 + 10 + 100 + 100 + 100 + 100) * 1024
    ev = evict(tmp_path, 720 * 1024)  # room for the model, notes and 210 kB of results
    assert not any(p.exists() for p in old) and not mid.exists()  # a record goes with its arrays; then the old upload
    assert all(p.exists() for p in view) and new.exists()  # the dataset view (used later) stays, whole
    assert (tmp_path / "backbones" / "lm.safetensors").exists() and (tmp_path / "notes.sqlite").exists()
    assert ev.units == 2 and ev.total_after <= 720 * 1024


def test_files_in_use_are_never_removed(tmp_path):
    _file(tmp_path / "app" / "uploads" / "being-analysed.mp4", 1000, 5)
    assert evict(tmp_path, 0).units == 0  # younger than the grace period
    assert clear(tmp_path).units == 1  # an explicit clear removes it


def test_reading_a_record_marks_it_recently_used(tmp_path):
    store = ResultsStore(tmp_path / "results")
    clip = synthetic_clip(0)
    p = store.put_features(clip, "none")
    os.utime(p, (1, 1))
    assert store.get_features(clip.content_hash, "none") is not None
    assert time.time() - p.stat().st_mtime < 60


def test_the_limiter_evicts_at_most_once_a_minute(tmp_path):
    _cache(tmp_path)
    lim = CacheLimiter(tmp_path, limit_gb=0.0)
    assert lim.maybe_evict().units > 0
    assert lim.maybe_evict() is None


def test_cache_command_shows_sizes_and_clears(tmp_path, capsys):
    _cache(tmp_path)
    assert main(["cache", "--folder", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "backbones" in out and "results/features" in out
    assert main(["cache", "--folder", str(tmp_path), "--clear"]) == 0
    assert "removed 4 stored results and uploads" in capsys.readouterr().out
    assert not (tmp_path / "app" / "uploads" / "mid.mp4").exists() and (tmp_path / "backbones" / "lm.safetensors").exists()
    assert main(["cache", "--folder", str(tmp_path), "--limit", "-1"]) == 2


def test_a_rejected_upload_is_deleted(tmp_path):
    import pytest

    from mmviz.app_service.service import AppService
    from mmviz.errors import MmvizError

    svc = AppService("tiny", tmp_path)
    up = svc.save_upload("random.mp4", os.urandom(4096))
    with pytest.raises(MmvizError):
        svc.analyze_upload(up)
    assert not up.path.exists() and list(svc.uploads.iterdir()) == []
