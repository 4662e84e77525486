"""The dashboard's service: one model, results cached on disk by content hash.

Pages call these methods and read the records they return; nothing here imports Streamlit
(``mmviz.app_service.cached`` wraps it in ``st.cache_resource``). Uploads are written to
``<cache>/app/uploads/<sha256>.<ext>`` and only their path travels in session state; every
result is saved under the cache folder, so a refresh or a second user with the same clip is
served from disk.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmviz.app_service import backend
from mmviz.app_service.views import ClipExplanation, ClipResult, Counterfactual
from mmviz.data.store import ResultsStore
from mmviz.errors import MmvizError
from mmviz.features.record import ClipFeatures
from mmviz.inference.record import Inspection
from mmviz.inference.runner import ModelRunner
from mmviz.records.serialize import load_record, save_record

MAX_UPLOAD_MB = 500  # keep in step with .streamlit/config.toml server.maxUploadSize


@dataclass(frozen=True)
class Upload:
    """An uploaded clip on disk (bytes never stay in session state)."""

    path: Path
    filename: str
    sha256: str


class AppService:
    def __init__(self, spec: str | None = None, cache: Path | None = None) -> None:
        self.spec = spec or backend.default_spec()
        self.cache = Path(cache) if cache else backend.cache_dir()
        self.store = ResultsStore(self.cache / "results")
        self.uploads = self.cache / "app" / "uploads"
        self.uploads.mkdir(parents=True, exist_ok=True)
        self._runners: dict[str, ModelRunner] = {}
        self._lock = threading.Lock()
        self.runner = self.runner_for(self.spec)

    def warm_up(self) -> float:
        """Explain a short synthetic clip once and return the seconds it took.

        Why: the first forward and backward pass of a fresh process pays one-time costs
        (PyTorch kernel selection and allocator growth, Captum's import), about 3 s on a 2-core
        CPU. The server pays them in the background right after start (``start_warm_up``) so
        the first analyst's first clip does not. Nothing is cached or shown.
        """
        import time

        from mmviz.explain import explain_clip
        from mmviz.testing.tiny import synthetic_clip

        t0 = time.perf_counter()
        _warm_up_features()
        cfg = self.runner.cfg
        clip = synthetic_clip(0, duration=2.0, text="warming up the model", audio_names=tuple(cfg.audio_features),
                              visual_names=tuple(cfg.visual_features))
        with self.runner.lock:
            explain_clip(self.runner, clip)
        return time.perf_counter() - t0

    def start_warm_up(self) -> threading.Thread:
        """``warm_up`` on a daemon thread; a user's request that arrives meanwhile waits on the model lock."""
        def run() -> None:
            try:
                self.warm_up()
            except Exception:  # noqa: BLE001 - a failed warm-up only means the first request is slower
                pass

        t = threading.Thread(target=run, name="mmviz-warm-up", daemon=True)
        t.start()
        return t

    # ---- models
    def runner_for(self, spec: str) -> ModelRunner:
        with self._lock:
            if spec not in self._runners:
                self._runners[spec] = backend.load_runner(spec)
            return self._runners[spec]

    @property
    def checkpoint_hash(self) -> str:
        return self.runner.checkpoint_hash

    def provenance(self, runner: ModelRunner | None = None) -> dict:
        r = runner or self.runner
        return {"checkpoint": self.spec if r is self.runner else "?", "checkpoint_hash": r.checkpoint_hash,
                "backbone": r.backbone_name, "device": str(r.device),
                }

    # ---- uploads
    def save_upload(self, filename: str, data: bytes) -> Upload:
        if len(data) > MAX_UPLOAD_MB * 2**20:
            raise MmvizError(f"{filename} is larger than {MAX_UPLOAD_MB} MB.", hint="Trim the clip and try again.")
        if not data:
            raise MmvizError(f"{filename} is empty.", hint="Upload a video or audio clip.")
        sha = hashlib.sha256(data).hexdigest()
        suffix = "".join(ch for ch in Path(filename).suffix.lower() if ch.isalnum() or ch == ".")[:8] or ".bin"
        path = self.uploads / f"{sha}{suffix}"
        if not path.exists():
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(path)
        return Upload(path, Path(filename).name, sha)

    def save_sidecar(self, filename: str, data: bytes) -> Path:
        sha = hashlib.sha256(data).hexdigest()
        suffix = Path(filename).suffix.lower() if Path(filename).suffix.lower() in (".txt", ".srt", ".vtt", ".json") else ".txt"
        p = self.uploads / f"{sha}{suffix}"
        if not p.exists():
            p.write_bytes(data)
        return p

    # ---- features
    def features(self, path: Path, *, filename: str | None = None, transcript: str | None = None,
                 sidecar: Path | None = None, asr: bool = False, progress=None) -> ClipFeatures:
        filename = filename or path.name
        sha = backend.file_hash(path)
        tkey = transcript_key(transcript, sidecar, asr)
        cached = self.store.get_features(sha, tkey)
        if cached is not None:
            return cached
        feats = backend.extract(path, transcript=transcript, sidecar=sidecar, filename=filename, progress=progress, asr=asr)
        self.store.put_features(feats, tkey)
        return feats

    # ---- records
    def _record_path(self, kind: str, r: ModelRunner, feats: ClipFeatures) -> Path:
        """Where a record about this clip (and transcript) through this checkpoint is kept."""
        return self.cache / "app" / kind / r.checkpoint_hash / f"{feats.content_hash}-{_words_key(feats)}.json"

    @staticmethod
    def _load_cached(p: Path):
        """The saved record at ``p``, or None when absent or unreadable (it is then recomputed)."""
        if not p.exists():
            return None
        try:
            return load_record(p)
        except MmvizError:
            return None

    def inspection(self, feats: ClipFeatures, runner: ModelRunner | None = None, label: float | None = None) -> Inspection:
        r = runner or self.runner
        p = self._record_path("inspections", r, feats)
        if (found := self._load_cached(p)) is not None:
            return found
        ins = r.inspect([feats], labels=[label])[0]
        save_record(ins, p)
        return ins

    def explanation(self, feats: ClipFeatures, ins: Inspection, runner: ModelRunner | None = None,
                    other: ClipFeatures | None = None, progress=None) -> ClipExplanation:
        r = runner or self.runner
        p = self._record_path("explanations", r, feats)
        if (found := self._load_cached(p)) is not None:
            return found
        from mmviz.app_service.adapt import to_view
        from mmviz.explain import explain_clip

        with r.lock:
            full = explain_clip(r, feats, inspection=ins, other=other, progress=progress)
        save_record(full, p.with_name(p.stem + "-full.json"))  # the explainer's whole record, for provenance
        expl = to_view(full)
        save_record(expl, p)
        return expl

    def analyze(self, feats: ClipFeatures, *, media_path: str | None = None, label: float | None = None,
                decisive_span: tuple[float, float] | None = None, other: ClipFeatures | None = None,
                progress=None) -> ClipResult:
        if progress:
            progress("model", 0.6)
        ins = self.inspection(feats, label=label)
        if progress:
            progress("explanations", 0.8)
        expl = self.explanation(feats, ins, other=other,
                                progress=(lambda stage, f: progress(f"explaining: {stage}", 0.8 + 0.2 * f)) if progress else None)
        if progress:
            progress("done", 1.0)
        return ClipResult(f"{feats.content_hash}-{_words_key(feats)}", feats, ins, expl, media_path, decisive_span, label,
                          tuple(feats.media.warnings))

    def analyze_file(self, path: Path, *, filename: str | None = None, transcript: str | None = None,
                     sidecar: Path | None = None, asr: bool = False, label: float | None = None, decisive_span=None,
                     progress=None) -> ClipResult:
        feats = self.features(path, filename=filename, transcript=transcript, sidecar=sidecar, asr=asr, progress=progress)
        return self.analyze(feats, media_path=str(path), label=label, decisive_span=decisive_span, progress=progress)

    # ---- counterfactuals (on demand, under the runner's lock)
    def counterfactual(self, feats: ClipFeatures, kind: str, *, modality: str = "audio", span=(0.0, 1.0),
                       shift: float = 0.5, other: ClipFeatures | None = None) -> tuple[Counterfactual, Inspection]:
        """One changed input (drop / mask / shift / swap) and the model's new prediction."""
        from mmviz.explain import mask_span, shift_audio, swap_modality, without

        base = self.inspection(feats).predictions.fused
        if kind == "drop":
            changed, name = without(feats, (modality,)), f"drop {modality}"
        elif kind == "mask":
            changed, name = mask_span(feats, *span), f"mask {span[0]:.1f}–{span[1]:.1f} s"
        elif kind == "shift":
            changed, name = shift_audio(feats, shift), f"shift audio {shift:+.1f} s"
        elif kind == "swap":
            if other is None:
                raise MmvizError("Pick another clip to swap with.")
            changed, name = swap_modality(feats, other, modality), f"swap {modality} with {other.clip_id}"
        else:
            raise MmvizError(f"Unknown counterfactual {kind!r}.", hint="Use drop, mask, shift or swap.")
        with self.runner.lock:
            ins = self.runner.inspect([changed])[0]
        return Counterfactual(name, kind, ins.predictions.fused, ins.predictions.fused - base), ins


def _warm_up_features() -> None:
    """One second of noise and a few grey frames through the descriptor and speech code: loads
    the recogniser's model and compiles librosa's numba kernels (about 2 s on first use)."""
    import numpy as np

    from mmviz.features.audio import audio_features
    from mmviz.features.visual import visual_features
    from mmviz.transcript.asr import recognise

    sr = 16000
    noise = (0.01 * np.random.default_rng(0).standard_normal(sr)).astype(np.float32)
    audio_features(noise, sr, hop=0.1, start=0.0, duration=1.0)
    visual_features(np.full((5, 120, 160, 3), 128, np.uint8), np.arange(5) / 5.0, step=0.2)
    recognise(noise, sr, offset=0.0)


def transcript_key(transcript: str | None, sidecar: Path | None, asr: bool = False) -> str:
    """Which transcript the features were made with (part of the cache key)."""
    if transcript:
        return "tx" + hashlib.sha256(transcript.encode()).hexdigest()[:8]
    if sidecar is not None:
        return "sc" + (backend.file_hash(sidecar)[:8] if sidecar.exists() else "missing")
    return "asr" if asr else "default"


def _words_key(feats: ClipFeatures) -> str:
    return hashlib.sha256(feats.transcript.encode()).hexdigest()[:8]
