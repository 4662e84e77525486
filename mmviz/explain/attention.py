"""Where the fusion tokens look: cross-attention mass over the clip's clock, per modality.

:func:`attention_curves` turns an :class:`~mmviz.inference.record.Inspection` into an
:class:`AttentionCurves` record: for the audio and the visual keys, how much of the fusion
tokens' attention lands on each time step (aggregated over blocks, heads and tokens, and also
kept per block and per head), the share that goes to the learned *null* key ("look at
nothing"), and the full token × key attention with its keys sorted (null, audio by time,
visual by time) so a heatmap per block / head can be drawn with labelled keys.

:func:`attention_attribution_correlation` compares an attention curve with an attribution
over the same time steps (Spearman rank correlation): attention is not explanation, and a low
or negative value tells the user that, on this clip, where the model looks is not what moves
its prediction.

Pure numpy; no model calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmviz.errors import MmvizError
from mmviz.inference.record import MODALITY_NAMES, Inspection
from mmviz.records.serialize import register_record

from mmviz.records.modalities import TIME_MODALITIES  # noqa: E402
AGGREGATION = "mean over blocks, heads and fusion tokens of each key's attention weight"


@register_record
@dataclass(frozen=True)
class AttentionCurves:
    """Cross-attention of one clip, laid out on the clip's clock.

    Units: every attention value is a *share of attention mass* (unitless, in [0, 1]). Each
    token's row sums to 1 over all keys, so for any aggregate
    ``null_share + curves["audio"].sum() + curves["visual"].sum() == 1``.

    clip_id, checkpoint_hash: what was inspected.
    block_layers: (n_blocks,) LM layer after which each fusion block runs (labels blocks).
    times: {"audio": (Ka,), "visual": (Kv,)} float64 seconds of each key, ascending. Empty (0,)
        arrays when the clip has no such stream.
    curves: {"audio": (Ka,), "visual": (Kv,)} float64 attention mass per key, mean over
        blocks, heads and tokens (``AGGREGATION``).
    per_block: {m: (n_blocks, Km)} mass per key, mean over heads and tokens, per block.
    per_head: {m: (n_blocks, H, Km)} mass per key, mean over tokens, per block and head.
    modality_mass: {"null", "audio", "visual": float} total share of each key modality
        (aggregated like ``curves``).
    null_share: float share of the null key (== ``modality_mass["null"]``).
    null_share_per_block: (n_blocks,) float64; null_share_per_head: (n_blocks, H);
    null_share_per_token: (N,) mean over blocks and heads.
    attention: float32 (n_blocks, H, N, K) the inspection's cross-attention with keys reordered
        as ``key_modality`` / ``key_times`` (null first, then audio by time, then visual by
        time): ``attention[b, h]`` is the token × key heatmap of block b, head h.
    key_modality: int8 (K,) index into ``MODALITY_NAMES`` of each sorted key.
    key_times: float64 (K,) seconds of each sorted key (NaN for the null key).
    key_labels: (K,) strings for heatmap columns, e.g. "null", "A 1.05s", "V 0.40s".
    settings: how it was computed (aggregation rule).
    """

    clip_id: str
    checkpoint_hash: str
    block_layers: tuple[int, ...]
    times: dict
    curves: dict
    per_block: dict
    per_head: dict
    modality_mass: dict
    null_share: float
    null_share_per_block: np.ndarray
    null_share_per_head: np.ndarray
    null_share_per_token: np.ndarray
    attention: np.ndarray
    key_modality: np.ndarray
    key_times: np.ndarray
    key_labels: tuple[str, ...]
    settings: dict = field(default_factory=dict)

    @property
    def n_blocks(self) -> int:
        return int(self.attention.shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.attention.shape[1])

    @property
    def n_tokens(self) -> int:
        return int(self.attention.shape[2])

    def heatmap(self, block: int, head: int | None = None) -> np.ndarray:
        """(N, K) token × sorted-key attention of one block (one head, or mean over heads)."""
        if not 0 <= block < self.n_blocks:
            raise MmvizError(f"Block {block} does not exist: this model has {self.n_blocks} fusion block(s).")
        a = self.attention[block]  # (H, N, K)
        if head is None:
            return a.mean(0)
        if not 0 <= head < self.n_heads:
            raise MmvizError(f"Head {head} does not exist: the blocks have {self.n_heads} head(s).")
        return a[head]

    def curve(self, modality: str, block: int | None = None, head: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(times, mass) of one modality: aggregated, for one block, or for one block's head."""
        m = _check_modality(modality)
        if head is not None and block is None:
            raise MmvizError("Choose a block as well as a head: heads are numbered within a block.")
        if block is None:
            return self.times[m], self.curves[m]
        if not 0 <= block < self.n_blocks:
            raise MmvizError(f"Block {block} does not exist: this model has {self.n_blocks} fusion block(s).")
        if head is None:
            return self.times[m], self.per_block[m][block]
        if not 0 <= head < self.n_heads:
            raise MmvizError(f"Head {head} does not exist: the blocks have {self.n_heads} head(s).")
        return self.times[m], self.per_head[m][block, head]


def attention_curves(ins: Inspection) -> AttentionCurves:
    """Attention mass per modality over clip time, per block/head, and the null-key share.

    See :class:`AttentionCurves` for shapes and units. Raises :class:`MmvizError` when the
    inspection holds no cross-attention (a model without fusion blocks) or inconsistent keys.
    """
    # normalise
    att = np.asarray(ins.cross_attention, dtype=np.float64)  # (n_blocks, H, N, K)
    kmod = np.asarray(ins.key_modality).astype(np.int8)  # (K,)
    ktimes = np.asarray(ins.key_times, dtype=np.float64)  # (K,)
    # validate
    _validate_attention(att, kmod, ktimes, ins.clip_id)
    # compute
    order = _key_order(kmod, ktimes)
    att, kmod, ktimes = att[..., order], kmod[order], ktimes[order]
    per_head_all = att.mean(axis=2)  # (n_blocks, H, K) mean over tokens
    per_block_all = per_head_all.mean(axis=1)  # (n_blocks, K)
    overall = per_block_all.mean(axis=0)  # (K,)
    null = kmod == MODALITY_NAMES.index("null")
    times, curves, per_block, per_head = {}, {}, {}, {}
    for m in TIME_MODALITIES:
        sel = kmod == MODALITY_NAMES.index(m)
        times[m] = ktimes[sel]
        curves[m] = overall[sel]
        per_block[m] = per_block_all[:, sel]
        per_head[m] = per_head_all[:, :, sel]
    mass = {m: float(overall[kmod == i].sum()) for i, m in enumerate(MODALITY_NAMES)}
    # build
    return AttentionCurves(
        clip_id=ins.clip_id,
        checkpoint_hash=ins.checkpoint_hash,
        block_layers=tuple(int(b) for b in ins.block_layers),
        times=times,
        curves=curves,
        per_block=per_block,
        per_head=per_head,
        modality_mass=mass,
        null_share=mass["null"],
        null_share_per_block=per_block_all[:, null].sum(-1),  # (n_blocks,)
        null_share_per_head=per_head_all[:, :, null].sum(-1),  # (n_blocks, H)
        null_share_per_token=att[..., null].sum(-1).mean(axis=(0, 1)),  # (N,)
        attention=att.astype(np.float32),
        key_modality=kmod,
        key_times=ktimes,
        key_labels=tuple(_key_label(int(k), t) for k, t in zip(kmod, ktimes)),
        settings={"aggregation": AGGREGATION, "key_order": "null, audio by time, visual by time"},
    )


def attention_attribution_correlation(
    curves: AttentionCurves,
    times,
    attribution_values,
    modality: str,
    *,
    block: int | None = None,
    head: int | None = None,
    use_abs: bool = True,
) -> float:
    """Spearman rank correlation between attention and an attribution over the same time steps.

    ``times`` (T,) seconds and ``attribution_values`` (T,) are one modality's attribution (e.g.
    integrated gradients summed over features per step). Each time is matched to the nearest
    key of ``modality`` (it must lie within half the median key spacing, so only the same
    time grid is accepted; nothing is interpolated). The attention used is the aggregated
    curve, or one block's (``block``) or one head's (``block`` + ``head``).

    ``use_abs`` (default) correlates attention with the attribution's *magnitude*: attention is
    unsigned, and a step that pulls the score down is as important as one that pushes it up.

    Returns a float in [-1, 1] (ties get average ranks; values within 1e-6 of the series' largest
    magnitude count as ties, so float32 noise does not invent a ranking), or NaN when either
    series is constant (no ranking exists). Near 1: the model looks where the evidence is; near 0 or negative:
    attention misleads on this clip.
    """
    # normalise
    m = _check_modality(modality)
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    v = np.asarray(attribution_values, dtype=np.float64).reshape(-1)
    key_t, att = curves.curve(m, block=block, head=head)
    # validate
    if t.shape != v.shape:
        raise MmvizError(f"The attribution has {v.size} values but {t.size} time steps; they must match one to one.")
    if not (np.isfinite(t).all() and np.isfinite(v).all()):
        raise MmvizError("The attribution's times or values contain NaN or infinity; drop those steps first.")
    if t.size < 3:
        raise MmvizError(f"A rank correlation needs at least 3 time steps; the {m} attribution has {t.size}.")
    if key_t.size == 0:
        raise MmvizError(f"This clip has no {m} keys, so there is no {m} attention to compare with.")
    idx = _match_times(key_t, t, m)
    # compute
    a = att[idx]
    return _spearman(a, np.abs(v) if use_abs else v)


# ---------------------------------------------------------------- private helpers


def _check_modality(modality: str) -> str:
    m = str(modality).lower()
    if m not in TIME_MODALITIES:
        raise MmvizError(f"Unknown modality {modality!r}: attention over time exists for {', '.join(TIME_MODALITIES)}.")
    return m


def _validate_attention(att: np.ndarray, kmod: np.ndarray, ktimes: np.ndarray, clip_id: str) -> None:
    if att.ndim != 4:
        raise MmvizError(f"The inspection of {clip_id} holds attention of shape {att.shape}; expected (blocks, heads, tokens, keys).")
    if att.shape[0] == 0 or att.shape[3] == 0:
        raise MmvizError(
            f"The inspection of {clip_id} holds no cross-attention (shape {att.shape}).",
            hint="This checkpoint has no fusion blocks; attention curves need a fusion model.",
        )
    if kmod.shape != (att.shape[3],) or ktimes.shape != (att.shape[3],):
        raise MmvizError(f"The inspection of {clip_id} has {att.shape[3]} keys in its attention but "
                         f"{kmod.size} key modalities and {ktimes.size} key times; it was saved incompletely.")
    if kmod.size and (kmod.min() < 0 or kmod.max() >= len(MODALITY_NAMES)):
        raise MmvizError(f"The inspection of {clip_id} has unknown key modalities {sorted(set(kmod.tolist()))}.")
    timed = kmod != MODALITY_NAMES.index("null")
    if not np.isfinite(ktimes[timed]).all():
        raise MmvizError(f"The inspection of {clip_id} has audio or visual keys without a time.")


def _key_order(kmod: np.ndarray, ktimes: np.ndarray) -> np.ndarray:
    """Stable order: by modality (null, audio, visual), then by time within a modality."""
    return np.lexsort((np.nan_to_num(ktimes, nan=-np.inf), kmod)).astype(np.int64)


def _key_label(kind: int, t: float) -> str:
    name = MODALITY_NAMES[kind]
    return "null" if name == "null" or not np.isfinite(t) else f"{name[0].upper()} {t:.2f}s"


def _match_times(key_t: np.ndarray, t: np.ndarray, modality: str) -> np.ndarray:
    """Index of the nearest key for each time; each must be within half the median key spacing."""
    order = np.argsort(key_t)
    ks = key_t[order]
    pos = np.clip(np.searchsorted(ks, t), 1, max(1, ks.size - 1)) if ks.size > 1 else np.zeros(t.size, dtype=np.int64)
    if ks.size > 1:
        left, right = ks[pos - 1], ks[pos]
        pos = np.where(np.abs(t - left) <= np.abs(right - t), pos - 1, pos)
        spacing = float(np.median(np.diff(ks)))
    else:
        spacing = 0.0
    tol = max(spacing / 2, 1e-6)
    dist = np.abs(ks[pos] - t)
    if (dist > tol).any():
        bad = t[dist > tol][0]
        raise MmvizError(
            f"The attribution step at {bad:.3f} s has no {modality} attention key near it (nearest is {dist.max():.3f} s away).",
            hint="Compare an attribution computed on the same clip's feature time steps.",
        )
    return order[pos]


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1 with ties given their average rank."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    r = np.empty(x.size, dtype=np.float64)
    # boundaries of runs of equal values
    starts = np.r_[0, np.flatnonzero(np.diff(xs) != 0) + 1]
    ends = np.r_[starts[1:], x.size]
    for s, e in zip(starts, ends):
        r[order[s:e]] = (s + e - 1) / 2.0
    return r


def _quantise(x: np.ndarray) -> np.ndarray:
    """Values equal to 6 significant digits of the largest magnitude become ties (float32 noise)."""
    scale = float(np.abs(x).max()) if x.size else 0.0
    return np.round(x / scale, 6) if scale > 0 else x


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = _ranks(_quantise(a)), _ranks(_quantise(b))
    ra -= ra.mean()
    rb -= rb.mean()
    den = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    if den <= 0:
        return float("nan")
    return float(np.clip((ra * rb).sum() / den, -1.0, 1.0))
