"""The dashboard's service: one model, every result in the one results store.

Pages call these methods and read the records they return; nothing here imports Streamlit
(``mmviz.app_service.cached`` wraps it in ``st.cache_resource``). Uploads are written to
``<cache>/app/uploads/<sha256>.<ext>`` and only their path travels in session state. Features,
inspections and explanations live in :class:`~mmviz.data.store.ResultsStore` under the keys
``mmviz score`` uses too, so a refresh, a second user, or a clip a batch job already scored
is served from disk.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmviz.app_service import backend
from mmviz.data.cache import CacheLimiter
from mmviz.data.scoring import explanation_for, features_for, score_features
from mmviz.data.store import ResultsStore
from mmviz.errors import MmvizError, RecordError
from mmviz.explain.analysis import ClipAnalysis
from mmviz.explain.record import CounterfactualResult, Explanation
from mmviz.explain.recording import RecordingAnalysis
from mmviz.features.utterances import UtteranceLimits, cut_utterances, split_utterances
from mmviz.inference.record import Inspection
from mmviz.inference.runner import ModelRunner
from mmviz.progress import scaled
from mmviz.records.features import ClipFeatures
from mmviz.records.keys import features_key
from mmviz.records.modalities import MODALITIES
from mmviz.records.serialize import load_record
from mmviz.settings import get_settings

MAX_UPLOAD_MB = 500  # keep in step with .streamlit/config.toml server.maxUploadSize
LABEL_RANGE = (-3.0, 3.0)  # the MOSI sentiment scale a label is given on


def parse_label(text: str | float | None) -> float | None:
    """The user's optional label: empty → None, else a number on the MOSI scale [-3, 3].

    Why here and not in the page: the CLI-free service is what tests and other front ends call,
    and the message must be the same wherever a label is typed.
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    raw = str(text).strip().replace("\u2212", "-")  # a typographic minus is still a minus
    try:
        value = float(raw)
    except ValueError:
        raise MmvizError(f"The label {raw!r} is not a number.",
                         hint="Type a sentiment score from -3 (very negative) to +3 (very positive), e.g. 1.5, "
                              "or leave the label empty.") from None
    if not math.isfinite(value) or not LABEL_RANGE[0] <= value <= LABEL_RANGE[1]:
        raise MmvizError(f"The label {raw} is outside the sentiment scale.",
                         hint="Labels are on the MOSI scale from -3 (very negative) to +3 (very positive); "
                              "type a number in that range or leave it empty.")
    return value


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
        self.limiter = CacheLimiter(self.cache, get_settings().cache_limit_gb)
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
        from mmviz.inference.tiny import synthetic_clip

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
        _write_once(path, data)
        return Upload(path, Path(filename).name, sha)

    def save_sidecar(self, filename: str, data: bytes) -> Path:
        """Store an uploaded transcript under its hash; text that cannot be read fails here, naming the user's file."""
        from mmviz.transcript.sidecar import decode_text

        decode_text(data, Path(filename).name)
        sha = hashlib.sha256(data).hexdigest()
        suffix = Path(filename).suffix.lower() if Path(filename).suffix.lower() in (".txt", ".srt", ".vtt", ".json") else ".txt"
        p = self.uploads / f"{sha}{suffix}"
        _write_once(p, data)
        return p

    # ---- features (shared with `mmviz score` through the store)
    def features(self, path: Path, *, filename: str | None = None, transcript: str | None = None,
                 sidecar: Path | None = None, asr: bool = False, progress=None) -> ClipFeatures:
        """Features of an uploaded or server-side file; an upload never picks up a file beside it."""
        return features_for(Path(path), self.store, transcript, sidecar=sidecar, asr=asr, filename=filename or Path(path).name,
                            progress=progress, discover_sidecar=False)

    # ---- records
    def inspection(self, feats: ClipFeatures, runner: ModelRunner | None = None) -> Inspection:
        return score_features([feats], runner or self.runner, self.store)[0]

    def explanation(self, feats: ClipFeatures, ins: Inspection | None = None, runner: ModelRunner | None = None,
                    other: ClipFeatures | None = None, progress=None, settings=None) -> Explanation:
        """The clip's Explanation; ``settings`` (an ExplainSettings, default: the defaults) is part of its store key."""
        return explanation_for(feats, runner or self.runner, self.store, inspection=ins, other=other, progress=progress,
                               settings=settings)

    def analyze(self, feats: ClipFeatures, *, media_path: str | None = None, label: float | None = None,
                decisive_span: tuple[float, float] | None = None, other: ClipFeatures | None = None,
                progress=None) -> ClipAnalysis:
        if progress:
            progress("model", 0.6)
        ins = self.inspection(feats)
        if progress:
            progress("explanations", 0.8)
        expl = self.explanation(feats, ins, other=other,
                                progress=(lambda stage, f: progress(f"explaining: {stage}", 0.8 + 0.2 * f)) if progress else None)
        if progress:
            progress("done", 1.0)
        return ClipAnalysis(feats, ins, expl, media_path=media_path, label=label, decisive_span=decisive_span)

    def upload_features(self, up: Upload, *, transcript: str | None = None, sidecar: Path | None = None, asr: bool = False,
                        sidecar_name: str | None = None, progress=None) -> ClipFeatures:
        """Features of an uploaded clip; a file that cannot be read is deleted at once (it would only fill the disk).

        sidecar_name: the name the user gave the transcript file; an error about it names that
        file, never the hashed name it is stored under.
        """
        try:
            return self.features(up.path, filename=up.filename, transcript=transcript, sidecar=sidecar, asr=asr, progress=progress)
        except MmvizError as e:
            for p in (up.path, sidecar):
                if p is not None and Path(p).parent == self.uploads:
                    Path(p).unlink(missing_ok=True)
            names = {up.path.name: up.filename, str(up.path): up.filename}
            if sidecar is not None:
                names |= {Path(sidecar).name: sidecar_name or "the transcript file", str(sidecar): sidecar_name or "the transcript file"}
            raise _renamed(e, names) from None

    def analyze_upload(self, up: Upload, *, transcript: str | None = None, sidecar: Path | None = None, asr: bool = False,
                       label: float | None = None, progress=None) -> ClipAnalysis:
        """Analyse an uploaded clip as one clip (``analyze_recording`` for one longer than the model reads)."""
        feats = self.upload_features(up, transcript=transcript, sidecar=sidecar, asr=asr, progress=progress)
        res = self.analyze(feats, media_path=str(up.path), label=label, progress=progress)
        self.limiter.maybe_evict()
        return res

    # ---- whole recordings (longer than the model reads)
    def reads_whole(self, feats: ClipFeatures) -> bool:
        """True when the model reads every step and token of ``feats`` (no utterance split needed)."""
        return self.runner.truncation_note(feats) is None

    def utterance_limits(self, feats: ClipFeatures) -> UtteranceLimits:
        """What one utterance of ``feats`` may hold for this model: ``max_av_steps`` of the finest
        step present (60 s at 0.1 s) and ``max_text_tokens`` (64)."""
        cfg = self.runner.cfg
        steps = [float(m.step) for m in (feats.audio, feats.visual) if m is not None and m.n_steps]
        return UtteranceLimits(max_seconds=round(cfg.max_av_steps * min(steps or [0.1]), 6), max_tokens=cfg.max_text_tokens)

    def analyze_recording(self, feats: ClipFeatures, *, media_path: str | None = None, label: float | None = None,
                          limits: UtteranceLimits | None = None, progress=None) -> RecordingAnalysis:
        """Split ``feats`` into utterances that each fit the model and analyse every one whole.

        Each utterance goes through :meth:`analyze`, so its inspection and explanation are in the
        results store under its own key (its features too, so a saved explanation of it reopens);
        ``progress`` reports "utterance i of n: …" across the whole recording.
        """
        limits = limits or self.utterance_limits(feats)
        spans = split_utterances(feats, limits, count_tokens=self.runner.count_tokens)
        pieces = cut_utterances(feats, spans)
        done = []
        n = len(pieces)
        for i, piece in enumerate(pieces):
            if not self.store.features_path(piece.content_hash, "utterance").exists():
                self.store.put_features(piece, "utterance")
            sub = scaled(progress, i / n, (i + 1) / n, prefix=f"utterance {i + 1} of {n}: ")
            done.append(self.analyze(piece, media_path=media_path, progress=sub))
        if progress:
            progress(f"{n} utterances analysed", 1.0)
        return RecordingAnalysis(feats, spans, tuple(done), limits, media_path=media_path, label=label)

    def analyze_file(self, path: Path, *, filename: str | None = None, transcript: str | None = None,
                     sidecar: Path | None = None, asr: bool = False, label: float | None = None, decisive_span=None,
                     progress=None) -> ClipAnalysis:
        feats = self.features(path, filename=filename, transcript=transcript, sidecar=sidecar, asr=asr, progress=progress)
        return self.analyze(feats, media_path=str(path), label=label, decisive_span=decisive_span, progress=progress)

    def open_record(self, path: str | Path) -> ClipAnalysis:
        """A saved analysis (``mmviz explain --out``) or a bare Explanation whose clip is in the store."""
        try:
            rec = load_record(path)
        except RecordError:
            raise
        except (KeyError, TypeError, ValueError) as e:
            raise RecordError(f"{Path(path).name} is not an mmviz record ({e}).",
                              hint="Open the .json written by `mmviz explain --out`.") from e
        if isinstance(rec, ClipAnalysis):
            media = rec.media_path if rec.media_path and Path(rec.media_path).exists() else None
            return ClipAnalysis(rec.features, rec.inspection, rec.explanation, media, rec.label, rec.decisive_span)
        if isinstance(rec, Explanation):
            feats = self.store.find_features(rec.content_hash)
            if feats is None:
                raise RecordError(f"{Path(path).name} holds only an explanation, and its clip's features are not in this "
                                  "server's results store.", hint="Save it with a newer `mmviz explain --out`, which keeps all three records.")
            ins = self.store.get_inspection(rec.checkpoint_hash, feats)
            if ins is None:
                raise RecordError(f"{Path(path).name} holds only an explanation, and the model's inspection of that clip is "
                                  "not in this server's results store.", hint="Save it with a newer `mmviz explain --out`.")
            return ClipAnalysis(feats, ins, rec)
        raise RecordError(f"{Path(path).name} holds a {type(rec).__name__} record, not a clip analysis.",
                          hint="Open the .json written by `mmviz explain --out`.")

    def open_uploaded_record(self, files: list[tuple[str, bytes]]) -> ClipAnalysis:
        """A saved analysis uploaded through the browser: its ``.json`` and (for arrays) its ``.npz``."""
        import tempfile

        jsons = [(n, d) for n, d in files if n.lower().endswith(".json")]
        npzs = [(n, d) for n, d in files if n.lower().endswith(".npz")]
        if len(jsons) != 1 or len(npzs) > 1:
            raise RecordError(f"Upload one record: its .json file and its .npz file (got {len(jsons)} .json, {len(npzs)} .npz).",
                              hint="`mmviz explain CLIP --out NAME` writes NAME.json and NAME.npz; upload both.")
        with tempfile.TemporaryDirectory(dir=self.uploads) as tmp:
            (Path(tmp) / "record.json").write_bytes(jsons[0][1])
            if npzs:
                (Path(tmp) / "record.npz").write_bytes(npzs[0][1])
            try:
                return self.open_record(Path(tmp) / "record.json")
            except RecordError as e:
                raise RecordError(e.message.replace("record.json", jsons[0][0]), hint=e.hint) from None

    def compare_on_clip(self, feats: ClipFeatures, spec_a: str, spec_b: str) -> "ClipComparison":
        """One clip through two checkpoints: both inspections, their attention views and the differences."""
        from mmviz.explain.attention import attention_curves
        from mmviz.inference.record import compare_inspections

        ia = self.inspection(feats, runner=self.runner_for(spec_a))
        ib = self.inspection(feats, runner=self.runner_for(spec_b))
        curves = lambda ins: attention_curves(ins) if ins.has_fusion_tokens else None  # noqa: E731  (late/early/ume: none)
        return ClipComparison(ia, ib, curves(ia), curves(ib), compare_inspections(ia, ib))

    # ---- counterfactuals (on demand, under the runner's lock)
    def counterfactual(self, feats: ClipFeatures, kind: str, *, modality: str = "audio", span=(0.0, 1.0),
                       shift: float = 0.5, other: ClipFeatures | None = None,
                       modalities: tuple[str, ...] = MODALITIES) -> tuple[CounterfactualResult, Inspection]:
        """One changed input (drop / mask / shift / swap) and the model's new prediction.

        modalities: which modalities a "mask" removes inside ``span`` (default all three).
        """
        from mmviz.explain import mask_span, shift_audio, swap_modality, without

        base = self.inspection(feats).predictions.fused
        if kind == "drop":
            changed, name, details = without(feats, (modality,)), f"drop {modality}", {"modality": modality}
        elif kind == "mask":
            modalities = tuple(modalities)
            bad = [m for m in modalities if m not in MODALITIES]
            if bad or not modalities:
                raise MmvizError(f"Cannot mask {', '.join(bad) or 'no modality'}.", hint=f"Pick one of: {', '.join(MODALITIES)}.")
            what = "" if set(modalities) == set(MODALITIES) else " ".join(modalities) + " "
            changed = mask_span(feats, *span, modalities=modalities)
            name = f"mask {what}{span[0]:.2f}–{span[1]:.2f} s"
            details = {"span": [float(span[0]), float(span[1])], "modalities": list(modalities)}
        elif kind == "shift":
            changed, name, details = shift_audio(feats, shift), f"shift audio {shift:+.1f} s", {"seconds": shift}
        elif kind == "swap":
            if other is None:
                raise MmvizError("Pick another clip to swap with.")
            changed, name = swap_modality(feats, other, modality), f"swap {modality} with {other.clip_id}"
            details = {"modality": modality, "other": other.clip_id}
        else:
            raise MmvizError(f"Unknown counterfactual {kind!r}.", hint="Use drop, mask, shift or swap.")
        with self.runner.lock:
            ins = self.runner.inspect([changed])[0]
        fused = ins.predictions.fused
        return CounterfactualResult(name, kind, fused, fused - base, details), ins


    def mask_modality(self, feats: ClipFeatures, modality: str, span: tuple[float, float]) -> tuple[CounterfactualResult, Inspection]:
        """One modality (text, audio or visual) masked over ``span`` seconds: the "mask" counterfactual,
        limited to that modality (audio/visual steps become unmeasured, words inside are removed)."""
        return self.counterfactual(feats, "mask", span=span, modalities=(modality,))

    # ---- what-if: the same clip with an edited transcript (LIT's datapoint editor)
    def what_if_transcript(self, feats: ClipFeatures, text: str, progress=None) -> ClipAnalysis:
        """The clip with ``text`` as its transcript, analysed through the store (cached by its features key).

        Audio and video are the clip's own; words keep their times where the edit keeps the word
        count, else they are spread over the voiced steps as a typed transcript is.
        """
        from mmviz.features.transcript_edit import edit_transcript

        edited = edit_transcript(feats, text)
        key = "edit-" + features_key(edited)
        if not self.store.features_path(edited.content_hash, key).exists():
            self.store.put_features(edited, key)  # so a saved explanation of the edit reopens
        return self.analyze(edited, progress=progress)

    # ---- labelled uploads (a dataset of the clips users analysed with a label)
    @property
    def labels_file(self) -> Path:
        return self.cache / "app" / "labelled_uploads.jsonl"

    def remember_label(self, feats: ClipFeatures, label: float, media_path: str | None = None) -> None:
        """Record that this upload (these features) carries ``label``; "Labelled uploads" in the
        Dataset explorer and Error analysis read this list. The features are kept in the store."""
        key = "labelled-" + features_key(feats)
        if not self.store.features_path(feats.content_hash, key).exists():
            self.store.put_features(feats, key)
        entry = {"clip_id": feats.clip_id, "content_hash": feats.content_hash, "features": key, "label": float(label),
                 "path": media_path or ""}
        with self._lock, open(self.labels_file, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def labelled_uploads(self) -> list[tuple[ClipFeatures, float, str]]:
        """(features, label, media path) of every labelled upload; the latest label of a clip wins."""
        if not self.labels_file.exists():
            return []
        latest: dict[str, dict] = {}
        for line in self.labels_file.read_text(encoding="utf-8").splitlines():
            try:
                e = json.loads(line)
                latest[e["features"]] = e
            except (ValueError, KeyError, TypeError):
                continue  # a torn line from a crash: skip it
        out = []
        for e in latest.values():
            feats = self.store.get_features(e["content_hash"], e["features"])
            if feats is not None:
                out.append((feats, float(e["label"]), str(e.get("path") or "")))
        return out


@dataclass(frozen=True)
class ClipComparison:
    """One clip under checkpoints A and B (what the Compare page lays out)."""

    a: Inspection
    b: Inspection
    attention_a: object
    attention_b: object
    diff: dict


def _renamed(e: MmvizError, names: dict[str, str]) -> MmvizError:
    """The same error with the hashed names of stored uploads replaced by the names the user gave."""
    msg, hint = e.message, e.hint
    for internal, shown in sorted(names.items(), key=lambda kv: -len(kv[0])):  # full paths before bare names
        msg = msg.replace(internal, shown)
        hint = hint.replace(internal, shown) if hint else hint
    out = type(e).__new__(type(e))
    MmvizError.__init__(out, msg, hint=hint)
    return out


def _write_once(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` unless it is there; a unique temporary name, then an atomic rename,
    so two users uploading the same file at once never collide."""
    if path.exists():
        os.utime(path)  # uploaded again: recently used
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    tmp.write_bytes(data)
    tmp.replace(path)


def _warm_up_features() -> None:
    """One second of noise and a few grey frames through the descriptor and speech code: loads
    the recogniser's model and compiles librosa's numba kernels (about 2 s on first use)."""

    from mmviz.features.audio import audio_features
    from mmviz.features.visual import visual_features
    from mmviz.transcript.asr import recognise

    sr = 16000
    noise = (0.01 * np.random.default_rng(0).standard_normal(sr)).astype(np.float32)
    audio_features(noise, sr, hop=0.1, start=0.0, duration=1.0)
    visual_features(np.full((5, 120, 160, 3), 128, np.uint8), np.arange(5) / 5.0, step=0.2)
    recognise(noise, sr, offset=0.0)
