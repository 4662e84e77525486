"""A clip with an edited transcript (the what-if editor): same audio and video, other words.

Why a features transform and not a new extraction: the question "what would the model say if
these words had been spoken?" must hold everything else fixed, so the edited clip keeps this
clip's audio and visual steps, content hash and settings, and only its words change (the
features key, which includes the transcript, then tells the two analyses apart in the store).
"""

from __future__ import annotations

import dataclasses

from mmviz.errors import MmvizError
from mmviz.records.features import ClipFeatures, Word
from mmviz.transcript.align import spread_words, voiced_segments

MAX_CHARS = 5000  # a transcript longer than this is not a one-clip edit


def edit_transcript(feats: ClipFeatures, text: str) -> ClipFeatures:
    """``feats`` with ``text`` as its transcript.

    Word times: when the edit keeps the number of words, word i keeps word i's times (a word
    swapped for another is said at the same moment); otherwise the words are spread over the
    voiced steps as a typed transcript is, and flagged estimated. An empty text removes every
    word (the text-removed input).
    """
    if not isinstance(text, str):
        raise MmvizError("The edited transcript must be text.")
    if len(text) > MAX_CHARS:
        raise MmvizError(f"The edited transcript is {len(text)} characters long; the editor takes up to {MAX_CHARS}.",
                         hint="Shorten it to the words of this clip.")
    tokens = text.split()
    old = feats.words
    if len(tokens) == len(old):
        words = tuple(Word(t, w.start, w.end, w.estimated) for t, w in zip(tokens, old))
    else:
        segs = []
        a = feats.audio
        if a is not None and "speaking" in a.names and a.n_steps:
            segs = voiced_segments(a.column("speaking"), a.times, a.step)
        words = spread_words(" ".join(tokens), segs, duration=feats.duration)
    source = feats.transcript_source if words == old else "typed"
    return dataclasses.replace(feats, words=words, transcript_source=source)
