"""Hand freed heap memory back to the operating system after a large computation.

Why: one explanation with the shipped model allocates and frees about 1.4 GB (the batched
integrated-gradients passes keep activations for the backward pass). glibc keeps freed memory
in the arena of the thread that freed it, and the dashboard runs every script run on a new
thread, so a server's resident memory climbed by up to ~0.8 GB per thread that had explained a
clip (1.6 → 4.7 GB after four users) although Python held none of it: ``malloc_trim(0)`` after
three analyses on three threads took a process from 2.9 GB back to 1.4 GB. Trimming costs
milliseconds, next to seconds of explaining.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_libc = None


def release_freed_memory() -> bool:
    """``malloc_trim(0)`` on glibc (every arena); a no-op elsewhere. True when memory was returned."""
    global _libc
    if not sys.platform.startswith("linux"):
        return False
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):  # musl and other C libraries have no malloc_trim
            _libc = False
    return bool(_libc and _libc.malloc_trim(0))
