"""Visual descriptors on frames with a real face (scikit-image's astronaut) and without one."""

from __future__ import annotations

import numpy as np
import pytest

from media_fixtures import blank_frames, face_frames
from mmviz.features.visual import FACE_FEATURES, VISUAL_FEATURE_NAMES, visual_features

pytest.importorskip("skimage")


def test_moving_scaled_face_is_tracked():
    frames = face_frames(20, size=(480, 360))
    m = visual_features(frames, (np.arange(20) + 0.5) / 10)
    assert m.names == VISUAL_FEATURE_NAMES
    assert m.column("face_present").mean() >= 0.9
    x = m.column("face_x")
    assert np.nanmean(x[:5]) < np.nanmean(x[-5:])
    assert np.nanmax(m.column("head_motion")) < 0.2, "small steps between samples"
    assert np.nanmean(m.column("eyes")) > 0, "eye cascade fires inside the face box"


def test_face_features_are_nan_without_a_face_and_motion_is_measured():
    frames = blank_frames(5)
    m = visual_features(frames, (np.arange(5) + 0.5) / 10)
    assert (m.column("face_present") == 0).all()
    for name in FACE_FEATURES:
        assert np.isnan(m.column(name)).all(), name
    motion = m.column("motion_energy")
    assert np.isnan(motion[0]) and (motion[1:] > 0).all()


def test_still_frames_have_no_motion_energy():
    frames = np.repeat(blank_frames(1), 3, axis=0)
    m = visual_features(frames, np.array([0.05, 0.15, 0.25]))
    assert np.allclose(m.column("motion_energy")[1:], 0)
    assert m.step == pytest.approx(0.1)


def test_two_users_can_extract_faces_at_the_same_time():
    """A server runs requests on several threads; the same frames give the same descriptors on each."""
    from concurrent.futures import ThreadPoolExecutor

    frames = face_frames(12, size=(480, 360))
    times = (np.arange(12) + 0.5) / 10
    alone = visual_features(frames, times).values
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: visual_features(frames, times).values, range(8)))
    for r in results:
        np.testing.assert_array_equal(r, alone)
