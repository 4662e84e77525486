"""Many users at once: identical uploads and analyses of the same clip never collide on temporary files."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from mmviz.app_service.service import AppService
from mmviz.inference.tiny import clip_for
from mmviz.records.serialize import load_record, save_record


def test_eight_identical_uploads_at_once_all_succeed(tmp_path):
    svc = AppService("tiny", tmp_path)
    data = b"\x00\x01" * 200_000
    with ThreadPoolExecutor(8) as ex:
        ups = list(ex.map(lambda i: svc.save_upload(f"clip{i}.mp4", data), range(8)))
    assert len({u.path for u in ups}) == 1 and ups[0].path.read_bytes() == data
    assert [p.name for p in svc.uploads.iterdir()] == [ups[0].path.name]  # no temporary file left behind


def test_the_same_record_written_by_many_writers_stays_readable(tmp_path):
    clip = clip_for(AppService("tiny", tmp_path).runner, 0)
    target = tmp_path / "rec"
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda i: save_record(clip, target), range(32)))
    assert load_record(target).content_hash == clip.content_hash
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("rec") or p.name.startswith(".rec")) == ["rec.json", "rec.npz"]


def test_eight_users_analysing_the_same_clip_at_once_get_the_same_answer(tmp_path):
    svc = AppService("tiny", tmp_path)
    clip = clip_for(svc.runner, 5)
    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(lambda i: svc.analyze(clip), range(8)))
    assert len({r.key for r in results}) == 1
    assert len({round(r.explanation.prediction, 6) for r in results}) == 1


def test_temporary_files_of_dead_writers_are_swept_but_live_ones_kept(tmp_path):
    """A kill -9 mid-write leaves `.<record>.<pid>.<id>.tmp`; the next run removes it, never a live writer's."""
    import os
    import subprocess
    import time

    from mmviz.data.store import ResultsStore

    store = ResultsStore(tmp_path)
    (tmp_path / "features").mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    old = time.time() - 120
    stale = tmp_path / "features" / f".abc.json.{dead.pid}.deadbeef.tmp"
    live = tmp_path / "features" / f".abc.npz.{os.getpid()}.cafebabe.tmp"
    fresh = tmp_path / "features" / f".xyz.json.{dead.pid}.0badf00d.tmp"
    for p in (stale, live, fresh):
        p.write_text("half a record")
    for p in (stale, live):
        os.utime(p, (old, old))
    assert store.sweep_temporaries() == 1
    assert not stale.exists()
    assert live.exists()  # its writer (this process) still runs
    assert fresh.exists()  # too young to be sure its writer is gone (a store shared between machines)
