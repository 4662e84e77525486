"""Plain text is spread over voiced segments, word length deciding each word's share."""

from __future__ import annotations

import numpy as np
import pytest

from mmviz.transcript.align import spread_words, voiced_segments


def test_voiced_segments_from_step_activity():
    active = np.array([0, 1, 1, 0, 0, 1, 0])
    times = (np.arange(7) + 0.5) * 0.1
    assert voiced_segments(active, times, 0.1) == [pytest.approx((0.1, 0.3)), pytest.approx((0.5, 0.6))]


def test_words_fall_inside_voiced_segments_in_order():
    words = spread_words("aa bb cc dd", [(1.0, 2.0), (3.0, 4.0)], duration=5.0)
    assert [w.text for w in words] == ["aa", "bb", "cc", "dd"]
    assert all(w.estimated for w in words)
    assert words[0].start == pytest.approx(1.0) and words[1].end == pytest.approx(2.0)
    assert words[2].start == pytest.approx(3.0) and words[3].end == pytest.approx(4.0)
    assert not any(2.0 < w.start < 3.0 for w in words), "nothing placed in the pause"


def test_longer_words_get_more_time():
    words = spread_words("a extraordinarily", [(0.0, 1.0)], duration=1.0)
    assert words[1].end - words[1].start > 5 * (words[0].end - words[0].start)


def test_without_speech_words_cover_the_clip():
    words = spread_words("one two", [], duration=2.0)
    assert words[0].start == 0.0 and words[-1].end == pytest.approx(2.0)


def test_empty_text_gives_no_words():
    assert spread_words("   ", [(0.0, 1.0)], duration=1.0) == ()
