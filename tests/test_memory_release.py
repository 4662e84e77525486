"""release_freed_memory: callable anywhere, and on glibc it trims the heap (the load test measures the effect)."""

import sys

import pytest

from mmviz.inference.memory import release_freed_memory

pytestmark = pytest.mark.unit


def test_release_freed_memory_returns_a_bool_and_is_repeatable():
    junk = [bytes(200) for _ in range(200_000)]  # ~50 MB of small heap blocks, then freed
    del junk
    first = release_freed_memory()
    assert isinstance(first, bool)
    assert isinstance(release_freed_memory(), bool)
    if sys.platform.startswith("linux") and "glibc" in " ".join(__import__("platform").libc_ver()):
        assert first  # glibc returned the freed pages
