"""Sidecar transcripts: .srt and .vtt cues become words inside their cue; .txt is plain text."""

from __future__ import annotations

import pytest

from mmviz.media.errors import TranscriptEncodingError
from mmviz.transcript.sidecar import SidecarError, parse_sidecar_text, read_sidecar

SRT = """1
00:00:01,000 --> 00:00:02,000
Hello <i>there</i>

2
00:00:02,500 --> 00:00:04,000
general Kenobi
"""

VTT = """WEBVTT
Kind: captions

NOTE a comment that is not a cue

intro
00:01.000 --> 00:02.000 align:start
Hello there

00:00:02.500 --> 00:00:04.000
general Kenobi
"""


@pytest.mark.parametrize("text,kind", [(SRT, "srt"), (VTT, "vtt")])
def test_cues_become_words_spread_within_each_cue(text, kind):
    side = parse_sidecar_text(text, kind)
    assert side.text == "Hello there general Kenobi"
    w = side.words
    assert [x.text for x in w] == ["Hello", "there", "general", "Kenobi"]
    assert w[0].start == pytest.approx(1.0) and w[1].end == pytest.approx(2.0)
    assert w[2].start == pytest.approx(2.5) and w[3].end == pytest.approx(4.0)
    assert all(x.estimated for x in w), "word times inside a cue are interpolated"
    assert w[2].end - w[2].start > w[3].end - w[3].start, "longer word, longer share"


def test_plain_text_has_no_times(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("\ufeffsome   words\nover two lines\n", encoding="utf-8")
    side = read_sidecar(p)
    assert side.text == "some words over two lines" and side.words is None


def test_windows_line_endings_and_bom(tmp_path):
    p = tmp_path / "t.srt"
    p.write_bytes(("\ufeff" + SRT).replace("\n", "\r\n").encode("utf-8"))
    assert read_sidecar(p).text == "Hello there general Kenobi"


def test_not_utf8_names_the_bad_byte(tmp_path):
    p = tmp_path / "t.vtt"
    p.write_bytes(b"WEBVTT\n\n00:00.000 --> 00:01.000\nna\xefve\n")
    with pytest.raises(TranscriptEncodingError, match=r"'t.vtt' is not valid UTF-8 text \(bad byte 0xef"):
        read_sidecar(p)


def test_other_suffixes_are_refused(tmp_path):
    p = tmp_path / "t.docx"
    p.write_bytes(b"x")
    with pytest.raises(SidecarError, match=r"\.txt, \.srt or \.vtt"):
        read_sidecar(p)
