"""Sentences the project writes itself, each with a known text valence.

Why: to check that the fusion model reads the *words*, the demo corpus needs sentences whose
sentiment is known exactly, not estimated. Every sentence is a template filled from word
lists; the sentiment lives in one slot (an evaluative adjective phrase) whose valence is
listed here by hand on the MOSI scale [-3, 3]. Every other slot (subject, verb, time
phrase) is chosen from neutral words, so the sentence's valence *is* the slot's valence.
Neutral sentences fill the slot with a descriptive, non-evaluative phrase (valence 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Evaluative phrases and their valence on [-3, 3] (hand-assigned, roughly following the
#: VADER lexicon's ordering: "terrible" < "bad" < "okay" < "good" < "wonderful").
EVALUATIVE: dict[str, float] = {
    "absolutely horrible": -3.0,
    "truly awful": -3.0,
    "terrible": -2.5,
    "really disappointing": -2.5,
    "awful": -2.3,
    "bad": -2.0,
    "pretty boring": -1.8,
    "disappointing": -1.7,
    "dull": -1.5,
    "a bit weak": -1.0,
    "not great": -1.0,
    "somewhat flat": -0.7,
    "okay": 0.5,
    "decent": 0.8,
    "pretty nice": 1.0,
    "nice": 1.3,
    "good": 1.7,
    "enjoyable": 1.8,
    "really good": 2.2,
    "great": 2.3,
    "excellent": 2.6,
    "wonderful": 2.7,
    "truly amazing": 3.0,
    "absolutely fantastic": 3.0,
}

#: Descriptive phrases that state a fact and carry no sentiment (valence 0).
NEUTRAL_PHRASES: tuple[str, ...] = (
    "about two hours long",
    "filmed in the city",
    "released on a tuesday",
    "shown in the main hall",
    "made by a small team",
    "in english",
    "about a family",
    "set in the winter",
)

#: More evaluative phrases for the varied generator (``mmviz.demo.factors``); the original
#: generator (the committed demo clips) draws only from :data:`EVALUATIVE`.
EXTRA_EVALUATIVE: dict[str, float] = {
    "a complete disaster": -3.0,
    "painful to sit through": -2.8,
    "dreadful": -2.7,
    "really poor": -2.4,
    "a waste of time": -2.4,
    "quite annoying": -2.0,
    "mediocre": -1.4,
    "forgettable": -1.3,
    "a little slow": -0.8,
    "uneven": -0.6,
    "fine i guess": 0.4,
    "solid": 1.2,
    "pleasant": 1.4,
    "quite charming": 1.9,
    "really fun": 2.1,
    "beautiful": 2.4,
    "brilliant": 2.7,
    "one of the best things i have seen": 2.9,
}

#: More factual phrases for the varied generator.
EXTRA_NEUTRAL: tuple[str, ...] = (
    "shot in black and white",
    "based on a novel",
    "about ninety minutes",
    "shown on a monday night",
    "made last year",
    "set by the sea",
    "in two parts",
    "about a teacher",
)

#: Sentence frames of the varied generator; ``{s}`` subject, ``{p}`` phrase. The first is the
#: original generator's frame; :mod:`mmviz.demo.factors` holds the last three out of training.
FRAMES: tuple[str, ...] = (
    "{s} was {p}",
    "i found {s} {p}",
    "in my opinion {s} is {p}",
    "we all thought {s} was {p}",
    "{s} turned out {p}",
    "for me {s} was just {p}",
    "my friends said {s} was {p}",
    "to be fair {s} felt {p}",
    "i have to say {s} seemed {p}",
    "looking back {s} was {p}",
)

#: Neutral subjects: what the sentence is about.
SUBJECTS: tuple[str, ...] = (
    "the movie", "the film", "the story", "the ending", "the show",
    "the music", "the acting", "the book", "the trip", "the meal",
)

#: Neutral openers that add length without sentiment.
OPENERS: tuple[str, ...] = ("", "i think ", "honestly ", "so ", "well ", "to me ")

#: Neutral tails.
TAILS: tuple[str, ...] = ("", " overall", " this time", " i would say", " in the end")


@dataclass(frozen=True)
class Sentence:
    """A sentence with its planted text valence.

    text: lower-case, no punctuation (like MOSI transcripts, as spoken).
    valence: sentiment of the words on [-3, 3]; 0 for neutral sentences.
    source: where it came from ("templates", "mosi", "vader").
    source_id: row id in the source dataset ("" for templates).
    """

    text: str
    valence: float
    source: str = "templates"
    source_id: str = ""


def nearest_phrase(target: float, rng: np.random.Generator, phrases: dict[str, float] | None = None) -> tuple[str, float]:
    """The evaluative phrase (of ``phrases``, default :data:`EVALUATIVE`) whose valence is closest to
    ``target`` (ties broken by ``rng``)."""
    items = sorted((EVALUATIVE if phrases is None else phrases).items())
    dist = np.array([abs(v - target) for _, v in items])
    best = np.flatnonzero(dist <= dist.min() + 1e-9)
    phrase, val = items[int(rng.choice(best))]
    return phrase, float(val)


def make_sentence(target_valence: float, rng: np.random.Generator) -> Sentence:
    """A template sentence whose valence is the listed phrase valence nearest the target.

    ``target_valence == 0`` (or within 0.25 of it) gives a neutral sentence. The returned
    valence is the exact listed value, not the target.
    """
    opener = OPENERS[int(rng.integers(len(OPENERS)))]
    subject = SUBJECTS[int(rng.integers(len(SUBJECTS)))]
    tail = TAILS[int(rng.integers(len(TAILS)))]
    if abs(target_valence) < 0.25:
        phrase = NEUTRAL_PHRASES[int(rng.integers(len(NEUTRAL_PHRASES)))]
        return Sentence(f"{opener}{subject} was {phrase}{tail}", 0.0)
    phrase, val = nearest_phrase(float(np.clip(target_valence, -3, 3)), rng)
    return Sentence(f"{opener}{subject} was {phrase}{tail}", val)


def varied_sentence(target_valence: float, rng: np.random.Generator, frames: tuple[str, ...],
                    phrases: dict[str, float], neutral: tuple[str, ...]) -> Sentence:
    """Like :func:`make_sentence`, from the given frames and phrase pools (a factor set's)."""
    frame = frames[int(rng.integers(len(frames)))]
    opener = OPENERS[int(rng.integers(len(OPENERS)))]
    subject = SUBJECTS[int(rng.integers(len(SUBJECTS)))]
    tail = TAILS[int(rng.integers(len(TAILS)))]
    if abs(target_valence) < 0.25:
        phrase, val = neutral[int(rng.integers(len(neutral)))], 0.0
    else:
        phrase, val = nearest_phrase(float(np.clip(target_valence, -3, 3)), rng, phrases)
    text = f"{opener}{frame.format(s=subject, p=phrase)}{tail}"
    return Sentence(" ".join(text.split()), float(val))


def neutral_sentence(rng: np.random.Generator) -> Sentence:
    """A sentence with no sentiment (valence 0)."""
    return make_sentence(0.0, rng)
