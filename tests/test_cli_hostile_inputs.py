"""Malformed and hostile files get one clear sentence from the CLI (exit code 2), never a traceback.

Each case here used to escape as a raw exception: KeyError / IndexError / MemoryError from an
MMSA pickle, TypeError from a features record with no fields, FileExistsError from an ``--out``
under a file, and a checkpoint whose backbone folder holds a pickle was loaded with torch.
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from mmviz.cli import main


def _cli(argv, capsys) -> tuple[int, str]:
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return rc, err


def _part(k=3, t=4):
    rng = np.random.default_rng(0)
    return {
        "audio": rng.normal(size=(k, t, 5)).astype(np.float32),
        "vision": rng.normal(size=(k, t, 3)).astype(np.float32),
        "raw_text": ["it was fine"] * k,
        "regression_labels": np.linspace(-1, 1, k).astype(np.float32),
        "id": [f"c{i}" for i in range(k)],
    }


def _no_audio():
    p = _part()
    del p["audio"]
    return {"train": p}


def _flat_audio():
    p = _part()
    p["audio"] = p["audio"][:, 0, :]  # (N, D): no time axis
    return {"train": p}


def _short_ids():
    p = _part()
    p["raw_text"] = ["only one"]  # fewer texts than labels
    p["id"] = ["c0"]
    return {"train": p}


def _few_rows():
    p = _part()
    p["regression_labels"] = np.zeros(7, np.float32)  # 7 labels for 3 clips
    return {"train": p}


def _not_a_dict():
    return {"train": [1, 2, 3]}


@pytest.mark.parametrize("make,words", [
    (_no_audio, "'audio'"), (_flat_audio, "(clips, steps, features)"), (_short_ids, "'raw_text'"),
    (_few_rows, "labels"), (_not_a_dict, "'train'"),
])
def test_malformed_mmsa_pickles_are_named(tmp_path, capsys, make, words):
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps(make()))
    rc, err = _cli(["train", path, "--out", tmp_path / "ckpt", "--backbone", "tiny-random-llama"], capsys)
    assert rc == 2, err
    assert "bad.pkl" in err and words in err, err


def _opcodes_array(shape: int) -> bytes:
    """A pickle asking numpy for an array of ``shape`` int8 elements (no data behind it)."""
    g = lambda mod, name: b"c" + mod + b"\n" + name + b"\n"  # noqa: E731
    return (b"(S'train'\n" + g(b"numpy.core.multiarray", b"_reconstruct") + b"(" + g(b"numpy", b"ndarray")
            + b"(I%d\ntC\x01btRd." % shape)


def _object_array_state(n: int) -> bytes:
    """A real object-array pickle whose state claims ``n`` elements."""
    import io

    class P(pickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, np.ndarray):
                f, args, st = obj.__reduce__()
                return f, args, (st[0], (n,), st[2], st[3], st[4])
            return NotImplemented

    buf = io.BytesIO()
    P(buf, protocol=2).dump({"train": np.array(["a", "b"], dtype=object)})
    return buf.getvalue()


@pytest.mark.parametrize("payload", [
    _opcodes_array(2 ** 40),
    b"(S'train'\n" + b"cnumpy\nndarray\n((I1099511627776\nttRd.",
    b"(S'train'\n" + b"cbuiltins\nbytearray\n(I1099511627776\ntRd.",
    _object_array_state(2 ** 40),
], ids=["reconstruct", "ndarray", "bytearray", "object-state"])
def test_a_crafted_terabyte_array_is_refused_before_allocating(tmp_path, capsys, payload):
    import resource

    path = tmp_path / "huge.pkl"
    path.write_bytes(payload)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rc, err = _cli(["train", path, "--out", tmp_path / "ckpt", "--backbone", "tiny-random-llama"], capsys)
    assert rc == 2, err
    assert "huge.pkl" in err and ("larger than" in err or "too large" in err), err
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000, "nothing big was allocated (KiB)"


def test_real_mmsa_pickles_with_object_text_arrays_still_load(tmp_path):
    from mmviz.data.dataset import load_dataset

    part = _part()
    part["raw_text"] = np.array(part["raw_text"], dtype=object)
    part["id"] = np.array(part["id"], dtype=object)
    (tmp_path / "ok.pkl").write_bytes(pickle.dumps({"train": part, "test": _part(2)}, protocol=4))
    data = load_dataset(tmp_path / "ok.pkl")
    assert len(data) == 5 and data[0].features.transcript == "it was fine"
    assert type(data[0].features.audio.values) is np.ndarray


@pytest.mark.parametrize("doc,words", [
    ({"schema_version": 1, "record": {"__record__": "ClipFeatures"}}, "missing"),
    ({"schema_version": 1, "record": {"__record__": "ClipFeatures", "clip_id": "x"}}, "content_hash"),
    ({"schema_version": 1}, "no record"),
    ([1, 2, 3], "no record"),
])
def test_a_features_record_without_fields_is_named(tmp_path, capsys, doc, words):
    (tmp_path / "rec.json").write_text(json.dumps(doc))
    rc, err = _cli(["inspect", tmp_path / "rec.json", "--checkpoint", tmp_path / "nope"], capsys)
    assert rc == 2, err
    assert "rec.json" in err and words in err, err


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from media_fixtures import write_test_clip

    return write_test_clip(tmp_path_factory.mktemp("out") / "clip.mp4", duration=1.0, fps=10.0)


@pytest.mark.parametrize("cmd", ["features", "score"])
def test_out_under_a_file_is_one_clear_message(tmp_path, capsys, clip, cmd):
    (tmp_path / "afile").write_text("not a folder")
    argv = [cmd, clip if cmd == "features" else clip.parent, "--out", tmp_path / "afile" / "sub" / "x.json"]
    rc, err = _cli(argv, capsys)
    assert rc == 2, err
    assert "afile" in err and "not a folder" in err, err


def test_out_with_a_missing_parent_is_created(tmp_path, capsys, clip):
    rc, err = _cli(["features", clip, "--out", tmp_path / "new" / "deeper" / "f.json"], capsys)
    assert rc == 0, err
    assert (tmp_path / "new" / "deeper" / "f.json").exists()


def test_out_preflight_creates_the_parent_for_plain_file_writers(tmp_path):
    """score writes its CSV with pandas, which does not create folders."""
    from mmviz.cli import prepare_out

    target = tmp_path / "a" / "b" / "table.csv"
    prepare_out(str(target))
    assert target.parent.is_dir()


def test_save_record_turns_os_errors_into_a_message(tmp_path):
    from mmviz.errors import RecordError
    from mmviz.records.serialize import save_record
    from mmviz.testing.tiny import synthetic_clip

    (tmp_path / "afile").write_text("x")
    with pytest.raises(RecordError, match="Could not write"):
        save_record(synthetic_clip(0), tmp_path / "afile" / "rec.json")


@pytest.fixture(scope="module")
def tiny_lm_folder(tmp_path_factory):
    """A tiny Llama saved twice: as safetensors, and as a torch pickle (pytorch_model.bin)."""
    import torch

    from mmviz.testing.tiny import tiny_config
    from mmviz_models.backbone import _tiny_lm, load_tokenizer

    lm = _tiny_lm(tiny_config(), len(load_tokenizer()))
    d = tmp_path_factory.mktemp("lm")
    lm.save_pretrained(d / "safe")
    lm.config.save_pretrained(d / "pickled")  # transformers 5 only writes safetensors: pickle by hand
    torch.save(lm.state_dict(), d / "pickled" / "pytorch_model.bin")
    assert (d / "pickled" / "pytorch_model.bin").exists() and not list((d / "pickled").glob("*.safetensors"))
    return d


def _checkpoint_naming(tmp_path, backbone: str):
    from mmviz.testing.tiny import tiny_model
    from mmviz_models.checkpoint import save_checkpoint

    model, _ = tiny_model()
    ckpt = tmp_path / "ckpt"
    save_checkpoint(model, ckpt)
    cfg = json.loads((ckpt / "config.json").read_text())
    cfg["backbone"] = backbone
    (ckpt / "config.json").write_text(json.dumps(cfg))
    return ckpt


def test_checkpoint_whose_backbone_folder_holds_a_pickle_is_refused(tmp_path, capsys, tiny_lm_folder, monkeypatch):
    import torch

    from mmviz.records.serialize import save_record
    from mmviz.testing.tiny import synthetic_clip

    def no_torch_load(*a, **k):
        raise AssertionError("torch.load was called on a checkpoint's backbone")

    monkeypatch.setattr(torch, "load", no_torch_load)
    ckpt = _checkpoint_naming(tmp_path, str(tiny_lm_folder / "pickled"))
    save_record(synthetic_clip(0), tmp_path / "clip.json")
    rc, err = _cli(["inspect", tmp_path / "clip.json", "--checkpoint", ckpt], capsys)
    assert rc == 2, err
    assert "pytorch_model.bin" in err and "safetensors" in err, err


def test_backbone_folder_of_safetensors_still_loads(tiny_lm_folder, monkeypatch):
    import torch

    from mmviz_models.backbone import load_backbone
    from mmviz_models.config import FusionConfig

    monkeypatch.setattr(torch, "load", lambda *a, **k: (_ for _ in ()).throw(AssertionError("torch.load")))
    bb = load_backbone(FusionConfig(backbone=str(tiny_lm_folder / "safe")))
    assert bb.lm.config.hidden_size == 32 and bb.fingerprint.startswith("dir:")
