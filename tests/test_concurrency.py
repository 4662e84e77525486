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
