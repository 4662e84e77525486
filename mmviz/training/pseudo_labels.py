"""Self-MM unimodal pseudo-labels: each head learns what its own modality's evidence says.

Why: with ``head_targets="label"`` the text, audio and visual heads all learn the clip label,
so a unimodal head is pushed to predict sentiment its modality may not carry. Self-MM (Yu et
al., AAAI 2021; the label generator Self-MI, arXiv 2311.03785, builds on) generates a label per
modality from the fused one: where a clip's audio representation sits relative to the
positive and negative audio class centres, compared with where its fused representation sits
relative to the fused centres, moves its audio label up or down from the fused label.

Followed from MMSA's ``trains/multiTask/SELF_MM.py`` (``update_centers``, ``update_labels``),
written anew here:

* memory: the latest (detached) representation of every training item per space — fused and
  each modality's, i.e. what its head reads (``FusionOutput.emb_*``) — and its current label;
* centres: mean representation of the items whose label (in that space) is > 0 / < 0, recomputed
  after every step over the items seen so far (0-labelled items belong to neither);
* relative distance ``δ = (d_neg − d_pos) / (d_pos + ε)`` in each space (positive = nearer the
  positive centre), for the modality (δ_s) and the fused space (δ_f);
* new label ``½·(δ_s/δ_f)·y_f + ½·(y_f + δ_s − δ_f)``, clipped to ±3, the mean of Self-MM's
  ratio and difference forms;
* momentum over epochs: from the second epoch on, ``y_s ← (n−1)/(n+1)·y_s + 2/(n+1)·new`` at the
  item's step in epoch n (1-based), so a label settles as training goes on.

Differences: a clip without a modality (or shown with it removed by modality dropout) keeps
its targets untouched and adds nothing to that modality's memory; Self-MM's extra weighting of
the unimodal losses by ``tanh|y_s − y_f|`` is not used (every head keeps the plain L1).

Which targets are replaced (:meth:`SelfMMLabeller.targets`): under ``head_targets="label"``
every unimodal target is the clip label, so the pseudo-label replaces it; under
``"planted"`` a modality's own valence is real evidence and stays — only its unknown (NaN)
targets get the pseudo-label — unless ``replace_all`` is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from mmviz.errors import MmvizError
from mmviz_models.losses import HeadTargets

#: the ``--pseudo-labels`` choices
PSEUDO_LABELS: tuple[str, ...] = ("none", "self-mm")
UNIMODAL: tuple[str, ...] = ("text", "audio", "visual")
#: labels are kept on the dataset's [-BOUND, BOUND] scale
BOUND = 3.0
_EPS = 1e-8


class SelfMMLabeller:
    """Per-item pseudo-labels for the text, audio and visual heads of one training run.

    ``labels``: the fused (clip) label of every training item, in the order the loop indexes
    them. ``replace_all``: overwrite real per-head targets too (see the module docstring).
    """

    def __init__(self, labels: Sequence[float], *, replace_all: bool = False) -> None:
        self.fused = torch.tensor([float(v) for v in labels], dtype=torch.float32)  # (n,)
        self.replace_all = bool(replace_all)
        self.labels = {m: self.fused.clone() for m in UNIMODAL}  # (n,) each: the pseudo-labels
        self.memory: dict[str, torch.Tensor] = {}  # space -> (n, d) latest representation
        self.seen = {s: torch.zeros(len(self.fused), dtype=torch.bool) for s in ("fused",) + UNIMODAL}  # (n,) each
        self.centres: dict[str, tuple[torch.Tensor, torch.Tensor] | None] = {}  # space -> (positive, negative) (d,)

    def __len__(self) -> int:
        return len(self.fused)

    # ---- targets
    def targets(self, idx: Sequence[int], y: HeadTargets, usable: torch.Tensor, owns_targets: bool) -> HeadTargets:
        """``y`` with the unimodal targets of the usable items replaced by their pseudo-labels.

        ``usable``: (B, 3) bool per item and modality (text, audio, visual): the item is shown
        complete and has that modality. ``owns_targets``: ``y`` carries real per-head targets
        (``head_targets="planted"``), which are kept unless ``replace_all``.
        """
        ii = torch.as_tensor(list(idx), dtype=torch.long)
        cols = {}
        for j, m in enumerate(UNIMODAL):
            old = getattr(y, m)  # (B,)
            put = usable[:, j].to(old.device)  # (B,)
            if owns_targets and not self.replace_all:
                put = put & torch.isnan(old)
            cols[m] = torch.where(put, self.labels[m][ii].to(old.device), old)  # (B,)
        return HeadTargets(y.fused, cols["text"], cols["audio"], cols["visual"])

    # ---- observing the model
    @torch.no_grad()
    def observe(self, idx: Sequence[int], out, usable: torch.Tensor, epoch: int) -> None:
        """After a training step: update labels (from the 2nd epoch), the memory and the centres.

        ``out``: the step's FusionOutput; ``usable`` as in :meth:`targets`; ``epoch`` 0-based.
        """
        ii = torch.as_tensor(list(idx), dtype=torch.long)
        complete = usable.any(1)  # (B,) shown complete (a complete item without a modality is still one)
        feats = {"fused": out.emb_fused.detach().float().cpu()} | {m: getattr(out, f"emb_{m}").detach().float().cpu() for m in UNIMODAL}
        rows = {"fused": complete.cpu()} | {m: usable[:, j].cpu() for j, m in enumerate(UNIMODAL)}
        if epoch >= 1:
            self._update_labels(ii, feats, rows, n=epoch + 1)
        for space, f in feats.items():
            if space not in self.memory:
                self.memory[space] = torch.zeros(len(self), f.shape[1])
            self.memory[space][ii[rows[space]]] = f[rows[space]]
            self.seen[space][ii[rows[space]]] = True
        for space in feats:
            self.centres[space] = self._centre(space)

    def _label(self, space: str) -> torch.Tensor:
        return self.fused if space == "fused" else self.labels[space]

    def _centre(self, space: str) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(positive centre, negative centre) of a space over the seen items; None without both classes."""
        lab, seen, mem = self._label(space), self.seen[space], self.memory[space]
        pos, neg = seen & (lab > 0), seen & (lab < 0)
        if not bool(pos.any()) or not bool(neg.any()):
            return None
        return mem[pos].mean(0), mem[neg].mean(0)

    def _update_labels(self, ii: torch.Tensor, feats: dict[str, torch.Tensor], rows: dict[str, torch.Tensor], n: int) -> None:
        cf = self.centres.get("fused")
        if cf is None:
            return
        delta_f = relative_distance(feats["fused"], *cf)  # (B,)
        y_f = self.fused[ii]  # (B,)
        for m in UNIMODAL:
            cm = self.centres.get(m)
            ok = rows[m] & rows["fused"]
            if cm is None or not bool(ok.any()):
                continue
            new = self_mm_label(y_f, relative_distance(feats[m], *cm), delta_f)  # (B,)
            old = self.labels[m][ii]
            mixed = (n - 1) / (n + 1) * old + 2 / (n + 1) * new  # momentum over epochs
            self.labels[m][ii[ok]] = mixed[ok]

    # ---- saving (resumable training) and reporting
    def state_dict(self) -> dict[str, torch.Tensor]:
        out = {"fused": self.fused} | {f"label/{m}": v for m, v in self.labels.items()}
        out |= {f"memory/{s}": v for s, v in self.memory.items()} | {f"seen/{s}": v for s, v in self.seen.items()}
        return {k: v.contiguous() for k, v in out.items()}

    def save(self, path: Path) -> None:
        save_file(self.state_dict(), str(path))

    def load(self, path: Path) -> None:
        state = load_file(str(path))
        if state["fused"].shape != self.fused.shape or not torch.equal(state["fused"], self.fused):
            raise MmvizError(f"The saved pseudo-labels in {path} belong to other training data.",
                             hint="Resume with the same data, or train afresh into a new --out folder.")
        self.labels = {m: state[f"label/{m}"] for m in UNIMODAL}
        self.memory = {k.split("/", 1)[1]: v for k, v in state.items() if k.startswith("memory/")}
        self.seen = {k.split("/", 1)[1]: v for k, v in state.items() if k.startswith("seen/")}
        self.centres = {s: self._centre(s) for s in self.memory}

    def summary(self) -> dict[str, float]:
        """Mean |pseudo-label − fused label| per modality: how far the heads' targets moved."""
        return {m: float((self.labels[m] - self.fused).abs().mean()) for m in UNIMODAL}


def relative_distance(f: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """Self-MM's δ = (‖f − c_neg‖ − ‖f − c_pos‖) / (‖f − c_pos‖ + ε): > 0 nearer the positive centre.  (B, d) -> (B,)"""
    d_pos = (f - pos).norm(dim=-1)  # (B,)
    d_neg = (f - neg).norm(dim=-1)  # (B,)
    return (d_neg - d_pos) / (d_pos + _EPS)


def self_mm_label(y_f: torch.Tensor, delta_s: torch.Tensor, delta_f: torch.Tensor) -> torch.Tensor:
    """Self-MM's unimodal label from the fused label and the two relative distances, clipped to ±3."""
    # (δ_s − δ_f) first: at a centre δ is ~1e8 and y_f + δ_s would lose y_f in float32
    new = 0.5 * delta_s / (delta_f + _EPS) * y_f + 0.5 * (y_f + (delta_s - delta_f))
    return new.clamp(-BOUND, BOUND)


def check_pseudo_labels(name: str) -> str:
    """The validated ``--pseudo-labels`` value (MmvizError naming the choices otherwise)."""
    if name not in PSEUDO_LABELS:
        raise MmvizError(f"Unknown pseudo-label method {name!r}.", hint=f"Use one of: {', '.join(PSEUDO_LABELS)}.")
    return name


# ---- what the training loop calls
STATE_FILE = "pseudo_labels.safetensors"


def start_labeller(method: str, labels: Sequence[float], *, replace_all: bool = False,
                   resume_from: Path | None = None) -> SelfMMLabeller | None:
    """The labeller ``method`` asks for (None for "none"), restored from ``resume_from`` when it holds one."""
    if check_pseudo_labels(method) == "none":
        return None
    lab = SelfMMLabeller(labels, replace_all=replace_all)
    if resume_from is not None and (Path(resume_from) / STATE_FILE).exists():
        lab.load(Path(resume_from) / STATE_FILE)
    return lab


def usable_rows(shown: Sequence, originals: Sequence, out) -> torch.Tensor:
    """(B, 3) bool: item shown complete (``shown[i] is originals[i]``, not modality-dropped) and has that modality."""
    complete = torch.tensor([s is o for s, o in zip(shown, originals)], dtype=torch.bool)  # (B,)
    return complete[:, None] & out.modality_present.detach().cpu()  # (B, 3)
