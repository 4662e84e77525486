"""The one key scheme for every stored result.

A result depends on the clip's bytes, on the transcript it was read with, on the settings
that made it and — for anything the model computed — on the checkpoint's weights *and* its
config (normalisation statistics live there). Each part is hashed here, once, so the app,
the CLI and batch scoring find each other's records (see ``mmviz.data.store``).

- ``transcript_input_key``: which transcript a clip is read with *before* extraction (typed
  text, a sidecar file's contents, offline recognition, or none) — the features' key.
- ``features_key``: what the model actually reads (content hash + transcript words +
  extraction settings) — the key of inspections and explanations.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any


def sha256_file(path: str | Path) -> str:
    """sha256 hex of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def short_hash(*parts: str | bytes, n: int = 12) -> str:
    """First ``n`` hex digits of sha256 over the parts (joined unambiguously)."""
    h = hashlib.sha256()
    for p in parts:
        b = p if isinstance(p, bytes) else str(p).encode()
        h.update(len(b).to_bytes(8, "little") + b)
    return h.hexdigest()[:n]


def settings_key(settings: Any) -> str:
    """Short stable hash of settings (a dataclass, a dict, or None for "the defaults")."""
    if settings is None:
        return "default"
    if dataclasses.is_dataclass(settings) and not isinstance(settings, type):
        settings = settings.to_dict() if hasattr(settings, "to_dict") else dataclasses.asdict(settings)
    return short_hash(json.dumps(settings, sort_keys=True, default=str), n=10)


def transcript_input_key(transcript: str | None = None, sidecar: str | Path | None = None, asr: bool = False) -> str:
    """Which transcript a clip is read with, before extraction (same precedence as extraction).

    A sidecar is keyed by its *contents*, so editing the .txt beside a clip gives new features.
    """
    if transcript and transcript.strip():
        return "tx" + short_hash(transcript.strip(), n=10)
    if sidecar is not None:
        p = Path(sidecar)
        return "sc" + (sha256_file(p)[:10] if p.exists() else "missing")
    return "asr" if asr else "none"


def features_key(feats: Any) -> str:
    """Key of everything computed from one ClipFeatures: content, transcript words, extraction settings."""
    return f"{feats.content_hash[:16]}-{short_hash(feats.transcript, n=8)}-{settings_key(feats.settings or None)}"

