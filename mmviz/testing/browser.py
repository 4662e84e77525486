"""Shared pieces of the browser tests and the benchmarks: a local dashboard server, Chromium, media files.

In the package (not under tests/) so benchmarks import it without touching ``sys.path``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import numpy as np

CHROMIUM = os.environ.get("MMVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path("test-artifacts").resolve()  # screenshots and server logs, in the folder tests run from


def wait_until_healthy(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Return once the Streamlit server at ``url`` answers /_stcore/health; raise if it exits or times out."""
    t0 = time.time()
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            pass
        if proc.poll() is not None or time.time() - t0 > timeout:
            raise RuntimeError(f"streamlit did not start (exit {proc.poll()})")
        time.sleep(0.3)


#: base URL -> server process of every server running now (load and fault benchmarks read RSS or kill it)
SERVERS: dict[str, subprocess.Popen] = {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(env_extra: dict | None = None, timeout: float = 120):
    """The packaged dashboard, started exactly as ``mmviz app`` starts it, on a free port bound to
    127.0.0.1; yields the base URL once /_stcore/health answers (``SERVERS[url]`` is its process)."""
    port = free_port()
    env = dict(os.environ) | {"MMVIZ_CHECKPOINT": os.environ.get("MMVIZ_CHECKPOINT", "tiny")} | (env_extra or {})
    log = open(ARTIFACTS.joinpath(f"streamlit-{port}.log") if ARTIFACTS.exists() else os.devnull, "w")
    from mmviz.commands.app import streamlit_command

    cmd = streamlit_command(sys.executable, port, "127.0.0.1") + ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    SERVERS[f"http://127.0.0.1:{port}"] = proc
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, proc, timeout)
        yield url
    finally:
        SERVERS.pop(url, None)
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def launch_browser(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def write_test_clip(path: Path, seconds: float = 3.0, fps: int = 10, sr: int = 16000, size=(160, 120)) -> Path:
    """A small mp4 (moving gradient + a tone) written with mmviz.media.encode when present, else PyAV."""
    n = int(seconds * fps)
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]]
    frames = np.stack([np.stack([(xx * 255 // size[0] + 8 * i) % 256, yy * 255 // size[1], np.full_like(xx, 128)], -1)
                       for i in range(n)]).astype(np.uint8)
    t = np.arange(int(seconds * sr)) / sr
    audio = (0.3 * np.sin(2 * np.pi * (180 + 40 * np.sin(2 * np.pi * 0.5 * t)) * t)).astype(np.float32)
    try:
        from mmviz.media.encode import write_clip

        write_clip(path, frames, fps, audio, sr)
        return path
    except ImportError:
        pass
    import av

    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        as_ = c.add_stream("aac", rate=sr)
        as_.layout = "mono"
        for f in frames:
            for pkt in vs.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(pkt)
        for pkt in vs.encode():
            c.mux(pkt)
        hop = 1024
        for i in range(0, len(audio), hop):
            fr = av.AudioFrame.from_ndarray(audio[None, i : i + hop], format="flt", layout="mono")
            fr.sample_rate, fr.pts, fr.time_base = sr, i, Fraction(1, sr)
            for pkt in as_.encode(fr):
                c.mux(pkt)
        for pkt in as_.encode():
            c.mux(pkt)
    return path


def assert_healthy(page) -> None:
    """No Streamlit exception box and no browser console error on ``page`` (a Playwright page whose
    ``console_errors`` list the e2e fixture fills)."""
    from mmviz.testing import testids as T

    assert page.locator(T.EXCEPTION).count() == 0, page.locator(T.EXCEPTION).first.inner_text()
    assert page.console_errors == [], page.console_errors


def shot(page, name: str, height: int = 1000) -> None:
    """A full-width screenshot into ARTIFACTS (kept by CI, looked at by people)."""
    page.set_viewport_size({"width": 1400, "height": height})
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
