"""Fusion-token diagnostics: what each block changed, what each token reads and says, and tokens nobody uses.

:func:`token_diagnostics` summarises one :class:`~mmviz.inference.record.Inspection` with
quantities that depend on the clip: how much each fusion block's gated cross-attention (and
feed-forward) changed the fusion tokens on this clip (as the model computed it), each token's
own prediction (the per-token head), each token's share of attention on the null / audio /
visual keys (per block and overall) and where in time the attention went, and the
token-token cosine similarity at the last layer (tokens that are copies of each other waste
capacity). The sigmoid gates and hidden-state norms are kept for reference, but the gates are
constants of the checkpoint (the same on every clip) and the norms are rescaled by the final
RMS norm before any head reads them, so neither says what happened on one clip.

:func:`dead_tokens` looks across a dataset for fusion tokens that never read the
audio-visual stream. The rule is written in its docstring and stored in the record.

Pure numpy; no model calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mmviz.errors import MmvizError
from mmviz.inference.record import MODALITY_NAMES, Inspection
from mmviz.records.serialize import register_record

GATE_NAMES = ("cross_attention", "feed_forward")
DEFAULT_DEAD_THRESHOLD = 0.05
DEFAULT_FROZEN_THRESHOLD = 1e-3
_EPS = 1e-12


@register_record
@dataclass(frozen=True)
class TokenDiagnostics:
    """Fusion tokens of one clip through one checkpoint.

    gates: float32 (n_blocks, 2) sigmoid gates, columns ``GATE_NAMES`` (cross-attention,
        feed-forward); in (0, 1), unitless. Model-wide, the same for every clip.
    block_layers: (n_blocks,) LM layer after which each block runs.
    norms: float32 (n_layers+1, N) L2 norm of each token's hidden state after the embedding
        (row 0) and after every LM layer and its block (rows 1..n_layers); hidden-state units.
    attention_share: float32 (n_blocks, N, 3) share of token n's attention in block b on the
        keys of each modality, columns ``modality_names`` (null, audio, visual); mean over
        heads; each (b, n) row sums to 1.
    attention_share_overall: float32 (N, 3) the same, mean over blocks.
    av_share: float32 (N,) audio + visual share, max over blocks (what :func:`dead_tokens`
        thresholds).
    state_change: float32 (N,) relative change of each token's state from the embedding to
        the last layer, ``‖h_L − h_0‖ / ‖h_0‖`` (0 = the token never changed).
    similarity: float32 (N, N) cosine similarity of the tokens' last-layer states (diagonal 1).
    modality_names: ("null", "audio", "visual").
    settings: how it was computed.
    token_predictions: float32 (N,) each fusion token's own score (the per-token head, same
        scale as the fused score); None for records saved before it was kept.
    fused_prediction: the clip's fused score, for reading the token scores against.
    block_update: float32 (n_blocks, N, 2) ``‖gated branch output‖ / ‖residual‖`` of each block
        and token, columns ``GATE_NAMES`` (cross-attention, feed-forward): how much the block
        changed the token on this clip, as the model recorded it (``Inspection.block_updates``);
        None when the inspection predates it.
    time_bin_edges: float64 (n_bins + 1,) clip seconds; time_share: float32 (n_bins, 2) share
        of all attention (mean over blocks, heads and tokens) on the audio (column 0) and
        visual (column 1) keys whose time falls in each bin; with the null share they sum to 1.
    """

    clip_id: str
    checkpoint_hash: str
    gates: np.ndarray
    gate_names: tuple[str, ...]
    block_layers: tuple[int, ...]
    norms: np.ndarray
    attention_share: np.ndarray
    attention_share_overall: np.ndarray
    av_share: np.ndarray
    state_change: np.ndarray
    similarity: np.ndarray
    modality_names: tuple[str, ...] = MODALITY_NAMES
    settings: dict = field(default_factory=dict)
    token_predictions: np.ndarray | None = None
    fused_prediction: float | None = None
    block_update: np.ndarray | None = None
    time_bin_edges: np.ndarray | None = None
    time_share: np.ndarray | None = None

    @property
    def n_tokens(self) -> int:
        return int(self.norms.shape[1])

    @property
    def n_blocks(self) -> int:
        return int(self.attention_share.shape[0])

    def block_update_mean(self) -> np.ndarray | None:
        """(n_blocks, 2) mean over tokens of :attr:`block_update` (None when not recorded)."""
        return None if self.block_update is None else np.asarray(self.block_update, dtype=np.float64).mean(1)

    def block_share(self) -> np.ndarray:
        """(n_blocks, 3) attention share on null / audio / visual keys per block, mean over tokens and heads."""
        return np.asarray(self.attention_share, dtype=np.float64).mean(1)

    def most_similar_pair(self) -> tuple[int, int, float] | None:
        """(i, j, cosine) of the two distinct tokens whose last-layer states are most alike."""
        sim = np.asarray(self.similarity, dtype=np.float64)
        if sim.shape[0] < 2:
            return None
        off = sim.copy()
        np.fill_diagonal(off, -np.inf)
        i, j = np.unravel_index(int(np.argmax(off)), off.shape)
        return int(min(i, j)), int(max(i, j)), float(off[i, j])


@register_record
@dataclass(frozen=True)
class DeadTokenReport:
    """Fusion tokens that no clip of a dataset uses (see :func:`dead_tokens` for the rule).

    n_clips: clips examined; clip_ids: their ids, in order.
    threshold: a token is *used* in a clip when its audio-visual attention share (max over
        blocks, mean over heads) is >= ``threshold``.
    av_share: float32 (n_clips, N) that share per clip and token.
    av_share_max: float32 (N,) max over clips.
    used_in: int64 (N,) number of clips in which each token is used.
    dead: bool (N,) used in no clip.
    dead_tokens: indices of dead tokens.
    state_change_max: float32 (N,) max over clips of ``‖h_L − h_0‖ / ‖h_0‖``.
    frozen: bool (N,) state_change_max < frozen_threshold: the token's state never changes in
        any clip (it carries no information at all; a stronger failure than dead).
    rule: the rule above in words, for the page and the report.
    """

    n_clips: int
    clip_ids: tuple[str, ...]
    checkpoint_hash: str
    threshold: float
    frozen_threshold: float
    av_share: np.ndarray
    av_share_max: np.ndarray
    used_in: np.ndarray
    dead: np.ndarray
    dead_tokens: tuple[int, ...]
    state_change_max: np.ndarray
    frozen: np.ndarray
    rule: str
    settings: dict = field(default_factory=dict)


def token_diagnostics(ins: Inspection) -> TokenDiagnostics:
    """Gates, norms per layer, attention share per modality and last-layer similarity of the tokens."""
    # normalise
    att = np.asarray(ins.cross_attention, dtype=np.float64)  # (n_blocks, H, N, K)
    kmod = np.asarray(ins.key_modality).astype(np.int64)  # (K,)
    states = np.asarray(ins.token_states, dtype=np.float64)  # (n_layers+1, N, D)
    gates = np.asarray(ins.gates, dtype=np.float32).reshape(-1, 2) if np.size(ins.gates) else np.zeros((0, 2), np.float32)
    # validate
    _validate(ins.clip_id, att, kmod, states, gates)
    # compute
    share = _modality_share(att, kmod)  # (n_blocks, N, 3)
    norms = np.linalg.norm(states, axis=-1)  # (n_layers+1, N)
    upd = _block_update(ins, att.shape[0], att.shape[2])
    edges, tshare = _time_share(att, kmod, np.asarray(ins.key_times, dtype=np.float64))
    tok_pred = np.asarray(ins.predictions.tokens, dtype=np.float32).reshape(-1)
    # build
    return TokenDiagnostics(
        clip_id=ins.clip_id,
        checkpoint_hash=ins.checkpoint_hash,
        gates=gates,
        gate_names=GATE_NAMES,
        block_layers=tuple(int(b) for b in ins.block_layers),
        norms=norms.astype(np.float32),
        attention_share=share.astype(np.float32),
        attention_share_overall=share.mean(0).astype(np.float32),
        av_share=_av_share(share).astype(np.float32),
        state_change=_state_change(states).astype(np.float32),
        similarity=_cosine_matrix(states[-1]).astype(np.float32),
        settings={"attention_share": "mean over heads of the attention mass on each key modality",
                  "av_share": "max over blocks of the audio + visual share",
                  "state_change": "||h_last - h_embedding|| / ||h_embedding||",
                  "similarity": "cosine of last-layer token states",
                  "block_update": "||gated branch output|| / ||residual||, recorded by the model's fusion block",
                  "time_share": "share of all attention on audio / visual keys per time bin, mean over blocks, heads, tokens"},
        token_predictions=tok_pred if tok_pred.shape == (att.shape[2],) else None,
        fused_prediction=float(ins.predictions.fused),
        block_update=upd,
        time_bin_edges=edges,
        time_share=tshare,
    )


def dead_tokens(
    inspections: Sequence[Inspection],
    threshold: float = DEFAULT_DEAD_THRESHOLD,
    *,
    frozen_threshold: float = DEFAULT_FROZEN_THRESHOLD,
) -> DeadTokenReport:
    """Fusion tokens that never read the audio-visual stream anywhere in a dataset.

    The rule (also stored in ``DeadTokenReport.rule``):

    * a fusion token is **used** in a clip when, in at least one fusion block, its attention
      mass on audio and visual keys (mean over heads) is at least ``threshold``
      (default 0.05, i.e. it puts at most 95 % of its attention on the null key everywhere);
    * a token is **dead** when it is used in no clip: ``max over clips and blocks of its
      audio+visual share < threshold``.

    Why not norms: the tokens are pooled after the model's final RMS norm, which rescales every
    token to the same size, so a small raw norm does not mean a small contribution; and the LM
    layers change every token's state through text alone, so a changing state does not mean
    the token fused anything. A token that puts all its attention on the null key only adds a
    clip-independent vector in every block: nothing from the audio or video reaches the output
    through it. Separately, ``frozen`` flags tokens whose state never changes at all
    (``max over clips of ‖h_L − h_0‖ / ‖h_0‖ < frozen_threshold``); a frozen token is also
    reported, whatever its attention.

    All inspections must come from one checkpoint (same number of blocks and tokens).
    """
    # normalise
    ins_list = list(inspections) if inspections is not None else []
    try:
        thr = float(threshold)
        fthr = float(frozen_threshold)
    except (TypeError, ValueError) as e:
        raise MmvizError(f"The dead-token threshold must be a number ({e}).") from e
    # validate
    if not ins_list:
        raise MmvizError("No inspections were given: score some clips first, then look for dead tokens.")
    if not 0.0 < thr <= 1.0:
        raise MmvizError(f"The dead-token threshold is a share of attention and must be in (0, 1]; got {thr}.")
    if not fthr >= 0.0:
        raise MmvizError(f"The frozen-token threshold must be >= 0; got {fthr}.")
    shapes = {(np.shape(i.cross_attention)[0], np.shape(i.cross_attention)[2]) for i in ins_list}
    if len(shapes) > 1:
        raise MmvizError(
            f"The inspections come from models with different fusion blocks / tokens {sorted(shapes)}.",
            hint="Look for dead tokens in one checkpoint's inspections at a time.",
        )
    ckpts = sorted({i.checkpoint_hash for i in ins_list})
    if len(ckpts) > 1:
        raise MmvizError(f"The inspections come from {len(ckpts)} checkpoints ({', '.join(ckpts[:3])}…).",
                         hint="Look for dead tokens in one checkpoint's inspections at a time.")
    # compute
    diags = [token_diagnostics(i) for i in ins_list]
    av = np.stack([d.av_share for d in diags]).astype(np.float32)  # (n_clips, N)
    change = np.stack([d.state_change for d in diags]).astype(np.float32)  # (n_clips, N)
    av_max = av.max(0)
    used_in = (av >= thr).sum(0).astype(np.int64)
    dead = used_in == 0
    change_max = change.max(0)
    frozen = change_max < fthr
    rule = (f"A fusion token is used in a clip when, in at least one fusion block, its attention on audio and "
            f"visual keys (mean over heads) is at least {thr:g} of its attention; it is dead when it is used in "
            f"none of the {len(ins_list)} clips. It is frozen when its hidden state changes by less than "
            f"{fthr:g} (relative, embedding to last layer) in every clip.")
    # build
    return DeadTokenReport(
        n_clips=len(ins_list),
        clip_ids=tuple(i.clip_id for i in ins_list),
        checkpoint_hash=ckpts[0],
        threshold=thr,
        frozen_threshold=fthr,
        av_share=av,
        av_share_max=av_max,
        used_in=used_in,
        dead=dead,
        dead_tokens=tuple(int(n) for n in np.flatnonzero(dead)),
        state_change_max=change_max,
        frozen=frozen,
        rule=rule,
        settings={"threshold": thr, "frozen_threshold": fthr},
    )


# ---------------------------------------------------------------- private helpers


def _validate(clip_id: str, att: np.ndarray, kmod: np.ndarray, states: np.ndarray, gates: np.ndarray) -> None:
    if att.ndim != 4 or att.shape[0] == 0:
        raise MmvizError(
            f"The inspection of {clip_id} holds no cross-attention (shape {att.shape}).",
            hint="This checkpoint has no fusion blocks; token diagnostics need a fusion model.",
        )
    if kmod.shape != (att.shape[3],):
        raise MmvizError(f"The inspection of {clip_id} has {att.shape[3]} keys but {kmod.size} key modalities; "
                         "it was saved incompletely.")
    if states.ndim != 3 or states.shape[1] != att.shape[2] or states.shape[0] < 1:
        raise MmvizError(f"The inspection of {clip_id} has token states of shape {states.shape} for "
                         f"{att.shape[2]} fusion tokens; expected (layers+1, tokens, width).")
    if gates.shape[0] != att.shape[0]:
        raise MmvizError(f"The inspection of {clip_id} has gates for {gates.shape[0]} blocks but attention for {att.shape[0]}.")


def _block_update(ins: Inspection, n_blocks: int, n_tokens: int) -> np.ndarray | None:
    """(n_blocks, N, 2) the model's recorded update sizes, or None when the inspection has none (older records)."""
    u = getattr(ins, "block_updates", None)
    if u is None:
        return None
    u = np.asarray(u, dtype=np.float32)
    if u.shape != (n_blocks, n_tokens, 2):
        raise MmvizError(f"The inspection of {ins.clip_id} has block updates of shape {u.shape} for {n_blocks} blocks "
                         f"and {n_tokens} tokens; it was saved incompletely.")
    return u


TIME_BIN_WIDTHS = (0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0)
MAX_TIME_BINS = 12


def _time_share(att: np.ndarray, kmod: np.ndarray, ktimes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(edges (n_bins+1,), share (n_bins, 2)): attention mass on audio / visual keys per time bin.

    The bin width is the smallest of ``TIME_BIN_WIDTHS`` that gives at most ``MAX_TIME_BINS``
    bins, so every bar of the chart can carry its number.
    """
    mass = att.mean(axis=(0, 1, 2))  # (K,) mean over blocks, heads, tokens; sums to 1 with the null key
    timed = (kmod > 0) & np.isfinite(ktimes)
    if not timed.any():
        return np.zeros(1), np.zeros((0, 2), np.float32)
    t_end = float(np.nanmax(ktimes[timed]))
    # the last key starts at t_end; give it room to the next bin edge
    width = next((w for w in TIME_BIN_WIDTHS if np.floor(t_end / w) + 1 <= MAX_TIME_BINS), TIME_BIN_WIDTHS[-1])
    n_bins = int(np.floor(t_end / width)) + 1
    edges = np.arange(n_bins + 1, dtype=np.float64) * width
    share = np.zeros((n_bins, 2), dtype=np.float64)
    idx = np.clip(np.floor(np.where(timed, ktimes, 0.0) / width).astype(np.int64), 0, n_bins - 1)
    for col, m in ((0, 1), (1, 2)):
        sel = timed & (kmod == m)
        np.add.at(share[:, col], idx[sel], mass[sel])
    return edges, share.astype(np.float32)


def _modality_share(att: np.ndarray, kmod: np.ndarray) -> np.ndarray:
    """(n_blocks, N, 3) attention mass per key modality, mean over heads."""
    per_tok = att.mean(axis=1)  # (n_blocks, N, K)
    onehot = (kmod[:, None] == np.arange(len(MODALITY_NAMES))[None]).astype(np.float64)  # (K, 3)
    return per_tok @ onehot  # (n_blocks, N, 3)


def _av_share(share: np.ndarray) -> np.ndarray:
    """(N,) audio + visual share, max over blocks."""
    return share[:, :, 1:].sum(-1).max(0)


def _state_change(states: np.ndarray) -> np.ndarray:
    """(N,) ‖h_last − h_0‖ / ‖h_0‖ per token (absolute change when h_0 is zero)."""
    d = np.linalg.norm(states[-1] - states[0], axis=-1)  # (N,)
    n0 = np.linalg.norm(states[0], axis=-1)  # (N,)
    return np.where(n0 > _EPS, d / np.maximum(n0, _EPS), d)


def _cosine_matrix(x: np.ndarray) -> np.ndarray:
    """(N, N) cosine similarity of rows; zero rows get similarity 0 to everything (1 to themselves)."""
    n = np.linalg.norm(x, axis=-1, keepdims=True)  # (N, 1)
    u = np.where(n > _EPS, x / np.maximum(n, _EPS), 0.0)
    s = np.clip(u @ u.T, -1.0, 1.0)
    np.fill_diagonal(s, 1.0)
    return s
