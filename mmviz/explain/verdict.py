"""The verdict: did one modality decide, did they add up, or did they disagree?

The rule (from the exact Shapley values phi_m of text, audio, visual; T = sum_m |phi_m|):

1. A modality is *salient* when |phi_m| >= 20 % of T.
2. **conflicting** — at least one salient modality pushes the score up (phi > 0) and at least
   one salient modality pulls it down (phi < 0).
3. otherwise **dominant** — the largest |phi_m| is at least 60 % of T;
4. otherwise **complementary** — two or more salient modalities push the same way and none
   carries 60 %.

The *dominant* field is always the modality with the largest |phi_m|. When T is below
``WEAK`` (score units) the text says that no modality moves the score much.

Interaction (I = f(all) - f(none) - sum_m (f({m}) - f(none)), read only when |I| >= 25 % of T),
judged by its sign *relative to* the summed single effects S = sum_m (f({m}) - f(none)):

* **synergy** — I has the sign of S: together they push further in the same direction than
  the sum of each alone;
* **redundancy** — I opposes S but the joint effect J = S + I keeps S's direction: each alone
  says more than they do together (they carry overlapping evidence);
* **cancellation** — I opposes S and J is reversed or under 10 % of |S|: together they undo
  what each would do alone;
* **joint** — |S| is under 10 % of |I|: the modalities move the score only together.

Besides the rule's sentence, ``summary`` is one plain line for people who do not read Shapley
values, and ``notes`` says when Shapley and integrated gradients disagree in sign on a
modality, and why that can happen.
"""

from __future__ import annotations

import numpy as np

from mmviz.explain.record import MODALITIES, ExplainSettings, ModalityIG, ModalityShapley, Verdict

SALIENT, DOMINANT, INTERACTING, WEAK = 0.2, 0.6, 0.25, 0.05
NEUTRAL = 0.5  # |score| below this reads as about neutral in the summary
DISAGREE = 0.05  # both |Shapley| and |IG| at least this (score units) for a sign disagreement to be noted
RULE = ("salient: |phi| >= 20% of sum|phi|; conflicting: salient modalities of both signs; "
        "dominant: top |phi| >= 60% of sum|phi|; complementary: otherwise; interaction (|I| >= 25% of sum|phi|): "
        "synergy if I has the sign of the summed single effects, else redundancy or cancellation")
WORDS = {"text": "the words", "audio": "the voice", "visual": "the face"}


def _join(ms: list[str]) -> str:
    names = [WORDS[m] for m in ms]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def interaction_kind(phi: dict, interaction: float) -> str:
    """"synergy" | "redundancy" | "cancellation" | "joint" | "" (interaction too small to mention)."""
    total = sum(abs(float(phi.get(m, 0.0))) for m in MODALITIES)
    joint = sum(float(phi.get(m, 0.0)) for m in MODALITIES)  # f(all) - f(none)
    singles = joint - interaction
    if total <= 0 or abs(interaction) < INTERACTING * total:
        return ""
    if abs(singles) < 0.1 * abs(interaction):
        return "joint"
    if np.sign(interaction) == np.sign(singles):
        return "synergy"
    if np.sign(joint) == np.sign(singles) and abs(joint) >= 0.1 * abs(singles):
        return "redundancy"
    return "cancellation"


def interaction_text(phi: dict, interaction: float) -> str:
    """The sentence about the interaction ("" when it is too small to mention)."""
    kind = interaction_kind(phi, interaction)
    joint = sum(float(phi.get(m, 0.0)) for m in MODALITIES)
    singles = joint - interaction
    way = "up" if singles >= 0 else "down"
    if kind == "synergy":
        return (f"Together they push the score further {way} than the sum of each alone ({joint:+.2f} together vs "
                f"{singles:+.2f} summed; interaction {interaction:+.2f}): they reinforce each other.")
    if kind == "redundancy":
        return (f"Each alone says more than they do together ({singles:+.2f} summed vs {joint:+.2f} together; "
                f"interaction {interaction:+.2f}): they carry overlapping evidence (redundancy), so removing one "
                "costs less than it seems.")
    if kind == "cancellation":
        return (f"Each alone would move the score {singles:+.2f} in total, but together only {joint:+.2f} "
                f"(interaction {interaction:+.2f}): combined, they cancel out.")
    if kind == "joint":
        return (f"The modalities move the score only together ({joint:+.2f}), hardly at all one at a time "
                f"(interaction {interaction:+.2f}).")
    return ""


def verdict_from_values(phi: dict, interaction: float = 0.0) -> tuple[str, str, str, dict]:
    """(kind, dominant, text, shares) from Shapley values {modality: phi}."""
    mags = {m: abs(float(phi.get(m, 0.0))) for m in MODALITIES}
    total = sum(mags.values())
    shares = {m: (mags[m] / total if total > 0 else 0.0) for m in MODALITIES}
    top = max(MODALITIES, key=lambda m: mags[m])
    salient = [m for m in MODALITIES if total > 0 and mags[m] >= SALIENT * total]
    up = [m for m in salient if phi[m] > 0]
    down = [m for m in salient if phi[m] < 0]
    direction = "up" if phi.get(top, 0.0) >= 0 else "down"
    if up and down:
        kind = "conflicting"
        text = (f"The modalities disagree: {_join(up)} push{'es' if _singular(up) else ''} the score up while "
                f"{_join(down)} pull{'s' if _singular(down) else ''} it down; the score follows {WORDS[top]} "
                f"({shares[top]:.0%} of the evidence).")
    elif shares[top] >= DOMINANT:
        kind = "dominant"
        it, carry, push = ("it", "carries", "pushes") if _singular([top]) else ("they", "carry", "push")
        text = f"Mostly {WORDS[top]}: {it} {carry} {shares[top]:.0%} of the evidence and {push} the score {direction}."
    else:
        kind = "complementary"
        text = f"The modalities agree and add up: {_join(salient or [top])} all push the score {direction}."
    if total < WEAK:
        text += f" No modality moves the score much here (all together {total:.2f} points)."
    extra = interaction_text(phi, interaction)
    if extra:
        text += " " + extra
    return kind, top, text, shares


def _reads(score: float) -> str:
    if abs(score) < NEUTRAL:
        return f"about neutral ({score:+.2f})"
    return f"{'positive' if score > 0 else 'negative'} ({score:+.2f})"


def summary_line(phi: dict, full: float, interaction: float = 0.0) -> str:
    """One plain line for a manager: what mostly decided, which way, and what pulled against it."""
    kind, top, _, shares = verdict_from_values(phi, interaction)
    mags = {m: abs(float(phi.get(m, 0.0))) for m in MODALITIES}
    total = sum(mags.values())
    if total < WEAK:
        return f"Nothing in this clip moved the score much; it reads as {_reads(full)}."
    toward = lambda m: "positive" if phi[m] > 0 else "negative"  # noqa: E731
    if kind == "conflicting":
        up = [m for m in MODALITIES if phi[m] > 0 and mags[m] >= SALIENT * total]
        down = [m for m in MODALITIES if phi[m] < 0 and mags[m] >= SALIENT * total]
        line = (f"A tug of war: {_join(up)} pulled towards positive, {_join(down)} towards negative, and "
                f"{WORDS[top]} won; the clip reads as {_reads(full)}.")
    else:
        if kind == "dominant":
            lead = f"Mostly {WORDS[top]}"
            movers = [top]
        else:
            movers = [m for m in MODALITIES if mags[m] >= SALIENT * total]
            lead = f"{_join(movers)} together".capitalize()
        agrees = (full > 0) == (phi[top] > 0) and abs(full) >= NEUTRAL
        verb = (f"made this clip read as {_reads(full)}" if agrees
                else f"pushed it towards {toward(top)}, and the clip reads as {_reads(full)}")
        pronoun = "it" if len(movers) == 1 and _singular(movers) else "they"
        line = f"{lead}: {pronoun} {verb}"
        minor = [m for m in MODALITIES if m not in movers and mags[m] >= 0.1 * total]
        helped = [m for m in minor if np.sign(phi[m]) == np.sign(phi[top])]
        against = [m for m in minor if np.sign(phi[m]) != np.sign(phi[top])]
        if helped:
            line += f"; {_join(helped)} agreed"
        if against:
            slight = "slightly " if all(shares[m] < SALIENT for m in against) else ""
            line += f"; {_join(against)} pulled {slight}the other way"
        line += "."
    return line[0].upper() + line[1:]


def disagreement_notes(shapley: ModalityShapley, ig: ModalityIG | None) -> tuple[str, ...]:
    """One note per modality whose Shapley value and integrated-gradients total disagree in sign, saying why."""
    if ig is None:
        return ()
    notes = []
    for m in MODALITIES:
        a, b = float(shapley.values.get(m, 0.0)), float(ig.totals.get(m, 0.0))
        if min(abs(a), abs(b)) < DISAGREE or np.sign(a) == np.sign(b):
            continue
        path = "text" if m == "text" else "audio+visual"
        span = abs(ig.prediction - ig.path_baselines.get(path, ig.prediction))
        gap = abs(ig.deltas.get(path, 0.0)) / span if span > 1e-9 else 0.0
        if m == "text":
            why = ("Shapley removes the transcript (the empty transcript) and averages over the clip with and without "
                   "audio and video, while integrated gradients walks from a row of pad tokens, which the frozen LM "
                   "reads as text, to the words with audio and video as they are")
        else:
            why = (f"Shapley replaces {WORDS[m]} with the '{shapley.baseline}' baseline and averages over the other "
                   f"modalities present or removed, while integrated gradients walks from the training mean with the "
                   f"other modalities as they are")
        note = (f"Shapley and integrated gradients disagree on {WORDS[m]} ({m}: Shapley {a:+.2f}, integrated gradients "
                f"{b:+.2f}). They answer different questions: {why}. Where the model saturates (its score flattens "
                f"near a limit) a path of small steps and an outright removal can point different ways. Trust the "
                f"Shapley value for what removing it does")
        note += (f"; this integrated-gradients path also misses {gap:.0%} of what it should add up to at "
                 f"{ig.steps.get(path, '?')} steps." if gap > 0.2 else ".")
        notes.append(note)
    return tuple(notes)


def verdict(shapley: ModalityShapley, settings: ExplainSettings | None = None, ig: ModalityIG | None = None) -> Verdict:
    """The verdict record of one clip's Shapley values (rule in the module docstring); ``ig`` adds disagreement notes."""
    s = settings or shapley.settings  # normalise
    if not all(np.isfinite(float(v)) for v in shapley.values.values()):  # validate
        raise ValueError("Shapley values must be finite")
    kind, top, text, shares = verdict_from_values(shapley.values, shapley.interaction)  # compute
    absent = [m for m in MODALITIES if m not in shapley.present]
    if absent:
        text += f" ({_join(absent).capitalize()} {'is' if len(absent) == 1 else 'are'} missing from this clip and count as 0.)"
    return Verdict(kind, top, text, shares, RULE, s, s.seed,  # build
                   summary=summary_line(shapley.values, shapley.full, shapley.interaction),
                   interaction=interaction_kind(shapley.values, shapley.interaction),
                   notes=disagreement_notes(shapley, ig))


def _singular(mods) -> bool:
    """Grammatical number of the joined names ("the words" is plural, "the voice" singular)."""
    return len(mods) == 1 and not WORDS[mods[0]].endswith("words")
