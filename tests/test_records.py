"""Records save as JSON + npz, load back exactly, never unpickle, and can be compared."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmviz.errors import RecordError
from mmviz.inference.record import compare_inspections
from mmviz.records.serialize import load_record, records_equal, save_record
from mmviz.testing.tiny import synthetic_clip, tiny_runner


def test_clip_features_round_trip_keeps_nan_and_names(tmp_path):
    clip = synthetic_clip(0)
    clip.visual.values[0, 0] = np.nan
    back = load_record(save_record(clip, tmp_path / "clip"))
    assert records_equal(clip, back)
    assert back.visual.names == clip.visual.names and np.isnan(back.visual.values[0, 0])


def test_inspection_round_trip_and_readable_summary(tmp_path, tiny_runner):
    ins = tiny_runner.inspect([synthetic_clip(1)])[0]
    path = save_record(ins, tmp_path / "ins")
    doc = json.loads(path.read_text())
    assert doc["record"]["__record__"] == "Inspection"
    assert doc["record"]["predictions"]["fused"] == pytest.approx(ins.predictions.fused)
    assert records_equal(ins, load_record(path))


def test_unknown_record_types_are_refused(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps({"schema_version": 1, "record": {"__record__": "os.system"}}))
    with pytest.raises(RecordError, match="Unknown record type"):
        load_record(tmp_path / "x.json")


def test_object_arrays_are_never_loaded(tmp_path):
    np.savez(tmp_path / "x.npz", **{"a": np.array([{"evil": 1}], dtype=object)})
    (tmp_path / "x.json").write_text(json.dumps({"schema_version": 1, "record": {"__array__": "a"}}))
    with pytest.raises(RecordError, match="damaged"):
        load_record(tmp_path / "x.json")


def test_compare_two_checkpoints_on_one_clip():
    clip = synthetic_clip(2)
    a = tiny_runner(seed=0).inspect([clip])[0]
    b = tiny_runner(seed=1).inspect([clip])[0]
    diff = compare_inspections(a, b)
    assert diff["same_clip"] and not diff["same_checkpoint"]
    assert diff["prediction_delta"]["fused"] == pytest.approx(b.predictions.fused - a.predictions.fused)
    assert diff["attention_l1"] > 0


def test_a_saved_explanation_loads_in_a_fresh_process(tmp_path):
    import subprocess
    import sys

    from mmviz.explain import explain_clip
    from mmviz.inference.tiny import synthetic_clip, tiny_runner
    from mmviz.records.serialize import save_record

    runner = tiny_runner()
    save_record(explain_clip(runner, synthetic_clip(0)), tmp_path / "e")
    code = f"from mmviz.records.serialize import load_record; print(type(load_record({str(tmp_path / 'e.json')!r})).__name__)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "Explanation", r.stderr
