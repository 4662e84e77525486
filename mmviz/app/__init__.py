"""The Streamlit dashboard, shipped inside the package so an installed mmviz can start it anywhere.

- ``main.py``            the entry script (navigation only)
- ``app_pages/*.py``     one file per page (not ``pages/``: a ``pages`` folder next to the entry
                         script switches Streamlit into its legacy multipage mode on the first run)
- ``streamlit_config.toml``  server/browser/theme settings; ``mmviz app`` passes them as flags
                         because Streamlit only reads ``.streamlit/config.toml`` from the current
                         folder (the checkout's ``.streamlit/config.toml`` links to this file)

Paths come from :mod:`importlib.resources`, so they are right in a checkout, an editable
install and a wheel alike. This module imports nothing heavy (no Streamlit).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["APP_DIR", "MAIN_SCRIPT", "STREAMLIT_CONFIG", "page_path"]

#: folder of the dashboard scripts (a real folder: Streamlit runs scripts from files)
APP_DIR: Path = Path(str(files(__name__)))
MAIN_SCRIPT: Path = APP_DIR / "main.py"
STREAMLIT_CONFIG: Path = APP_DIR / "streamlit_config.toml"


def page_path(name: str) -> Path:
    """Absolute path of one page script, e.g. ``page_path("clip_review.py")``.

    Absolute, because Streamlit resolves relative page paths against the folder of whichever
    entry script it was started on (the packaged ``main.py`` or the checkout's ``app.py`` shim).
    """
    return APP_DIR / "app_pages" / name
