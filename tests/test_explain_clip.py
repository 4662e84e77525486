"""explain_clip: everything for one clip, the registry it iterates, errors, saving, the bundle pages draw."""

from __future__ import annotations

import numpy as np
import pytest

from mmviz.errors import MmvizError
from mmviz.explain import Explainer, ExplainSettings, Explanation, explain_clip, explainers
from mmviz.records.serialize import load_record, records_equal, save_record
from mmviz.testing.tiny import synthetic_clip

CORE = ["shapley", "integrated_gradients", "time_attribution", "word_attribution", "counterfactuals"]
FAST = ExplainSettings(ig_steps=8, word_steps=8)


@pytest.fixture(scope="module")
def explained(tiny_runner):
    return explain_clip(tiny_runner, synthetic_clip(0), FAST, other=synthetic_clip(1))


def test_registry_holds_one_contract():
    names = [e.name for e in explainers()]
    assert names[:5] == CORE
    for e in explainers():
        assert isinstance(e, Explainer) and callable(e.explain) and callable(e.applies_to)


def test_explain_clip_fills_every_part(explained, tiny_runner):
    e = explained
    assert isinstance(e, Explanation) and e.present == ("text", "audio", "visual")
    assert e.prediction == pytest.approx(e.shapley.full, abs=1e-5)
    assert e.verdict.kind in ("dominant", "complementary", "conflicting")
    assert {t.modality for t in e.time_attributions} == {"audio", "visual"}
    assert len(e.word_attributions.scores) == 5
    assert any(c.kind == "swap" for c in e.counterfactuals)
    assert e.attention is not None and set(e.attention_vs_attribution) == {"audio", "visual"}
    assert e.token_diagnostics is not None
    for part in ("prediction", *CORE, "attention_views", "map_placement", "total"):
        assert part in e.timings
    assert e.settings == FAST.to_dict() and e.seed == 0
    for rec in (e.shapley, e.integrated_gradients, e.time_attributions, e.word_attributions, e.counterfactuals):
        assert rec.settings == FAST and rec.seed == 0


def test_explanation_round_trips(explained, tmp_path):
    save_record(explained, tmp_path / "e")
    back = load_record(tmp_path / "e")
    assert records_equal(explained, back)
    assert back.shapley.values == explained.shapley.values


def test_same_seed_same_answer(tiny_runner, explained):
    again = explain_clip(tiny_runner, synthetic_clip(0), FAST, other=synthetic_clip(1))
    assert again.shapley.values == explained.shapley.values
    np.testing.assert_array_equal(again.word_attributions.scores, explained.word_attributions.scores)


def test_methods_subset(tiny_runner):
    e = explain_clip(tiny_runner, synthetic_clip(0), ExplainSettings(methods=("shapley",)))
    assert e.shapley is not None and e.integrated_gradients is None and e.word_attributions is None
    with pytest.raises(MmvizError, match="Unknown explanation method"):
        explain_clip(tiny_runner, synthetic_clip(0), ExplainSettings(methods=("magic",)))


def test_nothing_to_explain(tiny_runner):
    with pytest.raises(MmvizError) as err:
        explain_clip(tiny_runner, synthetic_clip(0, audio=False, visual=False, text=""))
    assert "no audio, no video and no transcript words" in str(err.value)


def test_audio_only_clip_works_and_says_so(tiny_runner):
    e = explain_clip(tiny_runner, synthetic_clip(0, visual=False, text=""), FAST)
    assert e.present == ("audio",)
    assert e.shapley.values["text"] == 0.0 and e.shapley.values["visual"] == 0.0
    assert e.word_attributions.words == () and [t.modality for t in e.time_attributions] == ["audio"]
    assert any("no video" in n for n in e.notes) and any("no transcript" in n for n in e.notes)


def test_progress_and_map_placement(tiny_runner):
    from mmviz.explain.embedding_map import fit_map

    ins = tiny_runner.inspect([synthetic_clip(i) for i in range(12)])
    ref = fit_map(np.stack([i.embeddings["fused"] for i in ins]), [f"c{i}" for i in range(12)], space="fused", n_iter=50)
    stages = []
    e = explain_clip(tiny_runner, synthetic_clip(3), FAST, reference=ref, inspection=ins[3],
                     progress=lambda s, f: stages.append((s, f)))
    assert e.map_xy is not None and np.isfinite(e.map_xy).all() and e.map_space == "fused"
    assert stages[0][0] == "prediction" and stages[-1] == ("done", 1.0)


def test_an_analysis_saves_and_loads_whole(tiny_runner, tmp_path):
    """What a page draws (features + inspection + explanation) round-trips through one record."""
    from mmviz.explain.analysis import ClipAnalysis
    from mmviz.records.serialize import load_record, records_equal, save_record

    clip = synthetic_clip(0)
    ins = tiny_runner.inspect([clip])[0]
    a = ClipAnalysis(clip, ins, explain_clip(tiny_runner, clip, FAST, inspection=ins), label=1.0, decisive_span=(0.5, 1.0))
    back = load_record(save_record(a, tmp_path / "a"))
    assert isinstance(back, ClipAnalysis) and back.key == a.key and records_equal(a, back)
    with pytest.raises(ValueError, match="different clips"):
        ClipAnalysis(synthetic_clip(1), ins, a.explanation)


def test_record_names_do_not_shadow_other_records():
    """The serialiser finds classes by name: a second class under a taken name is refused."""
    import dataclasses

    import mmviz.explain.record as rec
    from mmviz.records.serialize import _REGISTRY, register_record

    with pytest.raises(TypeError, match="already registered"):
        @register_record
        @dataclasses.dataclass(frozen=True)
        class Explanation:  # noqa: F811 - the clash is the point
            x: int
    for name in dir(rec):
        obj = getattr(rec, name)
        if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == rec.__name__:
            assert _REGISTRY[obj.__name__] is obj


def test_the_registry_says_which_record_fills_which_explanation_field():
    import dataclasses

    from mmviz.explain import Explainer, explainers, register_explainer
    from mmviz.explain.base import check_dependencies, shared_passes
    from mmviz.explain.record import Explanation, ModalityShapley, WordAttributions

    check_dependencies()  # every declared shared pass exists
    by_field = {e.field: e for e in explainers() if e.field}
    assert set(by_field) == {"shapley", "integrated_gradients", "time_attributions", "word_attributions", "counterfactuals"}
    assert set(by_field) <= {f.name for f in dataclasses.fields(Explanation)}
    assert {"av_ig", "text_ig"} <= set(shared_passes())
    assert by_field["time_attributions"].uses == ("av_ig",) and by_field["word_attributions"].uses == ("word_shapley", "word_ig")

    with pytest.raises(TypeError, match="cannot hold"):
        @register_explainer
        class Wrong(Explainer[WordAttributions]):  # a word record cannot fill the Shapley field
            name, record_type, field = "wrong", WordAttributions, "shapley"

            def explain(self, runner, features, settings=None, *, context=None):
                raise AssertionError

    with pytest.raises(TypeError, match="already filled"):
        @register_explainer
        class Twice(Explainer[ModalityShapley]):
            name, record_type, field = "shapley-again", ModalityShapley, "shapley"

            def explain(self, runner, features, settings=None, *, context=None):
                raise AssertionError
