"""Read transcript sidecar files: .srt and .vtt subtitles (timed cues) or .txt (plain text).

Why cue words are marked estimated: subtitles time whole cues, not words; words inside a cue
are spread over the cue in proportion to their length, so their individual times are guesses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mmviz.records.features import Word
from mmviz.media.errors import MediaError, TranscriptEncodingError

_TIME = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})")
_ARROW = re.compile(rf"({_TIME.pattern})\s*-->\s*({_TIME.pattern})")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")


class SidecarError(MediaError):
    """A sidecar transcript has an unsupported type or cannot be read."""

    kind = "sidecar"


@dataclass(frozen=True)
class Sidecar:
    """A parsed sidecar: ``words`` with times for .srt/.vtt, or only ``text`` for .txt."""

    text: str
    words: tuple[Word, ...] | None


def decode_text(data: bytes, name: str = "transcript") -> str:
    """UTF-8 (with or without BOM) → str, or a TranscriptEncodingError saying where it broke."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise TranscriptEncodingError(
            f"The transcript {name!r} is not valid UTF-8 text (bad byte 0x{data[e.start]:02x} at position {e.start}).",
            hint="Save it as UTF-8 (e.g. in your editor choose 'UTF-8' encoding, or run `iconv -f latin1 -t utf-8`), then try again.",
        ) from e


def _seconds(m: re.Match) -> float:
    h, mnt, s, frac = m.group(1), m.group(2), m.group(3), m.group(4)
    return int(h or 0) * 3600 + int(mnt) * 60 + int(s) + int(frac.ljust(3, "0")) / 1000


def spread_in_span(tokens: list[str], start: float, end: float) -> list[Word]:
    """Words over [start, end] in proportion to their length (+1 for the gap), estimated=True."""
    if not tokens:
        return []
    weights = [len(t) + 1 for t in tokens]
    total = float(sum(weights))
    out, t = [], start
    for tok, wgt in zip(tokens, weights):
        d = (end - start) * wgt / total
        out.append(Word(tok, round(t, 4), round(t + d, 4), True))
        t += d
    return out


def parse_cues(text: str) -> list[Word]:
    """Words from SRT or WebVTT text (cue numbers, headers, NOTE blocks and tags are skipped)."""
    words: list[Word] = []
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    for block in blocks:
        lines = [ln.strip() for ln in block.strip().split("\n") if ln.strip()]
        for i, line in enumerate(lines):
            m = _ARROW.search(line)
            if not m:
                continue
            t0 = _seconds(_TIME.match(m.group(1)))
            t1 = _seconds(_TIME.match(m.group(6)))
            body = " ".join(_TAG.sub("", ln) for ln in lines[i + 1:])
            if t1 > t0:
                words.extend(spread_in_span(body.split(), t0, t1))
            break
    return words


def parse_sidecar_text(text: str, kind: str) -> Sidecar:
    """Parse sidecar ``text`` of ``kind`` ('srt', 'vtt' or 'txt')."""
    kind = kind.lower().lstrip(".")
    if kind in ("srt", "vtt"):
        words = tuple(parse_cues(text))
        return Sidecar(" ".join(w.text for w in words), words)
    if kind == "txt":
        return Sidecar(" ".join(text.split()), None)
    raise SidecarError(f"Transcript files must be .txt, .srt or .vtt, not .{kind}.", hint="Convert the transcript to one of those.")


def read_sidecar(path: str | Path) -> Sidecar:
    """Read and parse a .txt / .srt / .vtt file (type from the suffix)."""
    path = Path(path)
    if not path.is_file():
        raise SidecarError(f"No transcript file at {str(path)!r}.", hint="Check the path and try again.")
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("txt", "srt", "vtt"):
        raise SidecarError(f"Transcript files must be .txt, .srt or .vtt, not {path.suffix or 'a file without a suffix'}.",
                           hint="Convert the transcript to one of those.")
    return parse_sidecar_text(decode_text(path.read_bytes(), path.name), kind)
