"""PNG and SVG of a chart, through Kaleido, which drives a Chromium-based browser.

Kaleido finds the browser on the PATH (``chromium``, ``google-chrome``) or at
``BROWSER_PATH``. Where there is none, :func:`chart_image` raises :class:`ExportUnavailable`
with what to install, and the app and the command line show that message.
"""

from __future__ import annotations

import os
import shutil

import plotly.graph_objects as go

#: Browsers Kaleido can drive, looked for on the PATH.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

INSTALL_HINT = (
    "PNG and SVG images are drawn by Kaleido in a Chromium browser, and none was found. "
    "Install one (Debian/Ubuntu: `sudo apt-get install chromium`) or set BROWSER_PATH to a "
    "Chrome or Chromium binary. PowerPoint, PDF and CSV downloads do not need it."
)


class ExportUnavailable(RuntimeError):
    """An export that needs software the machine lacks (the message says what)."""


def browser_path() -> str | None:
    """The browser Kaleido will use, or None."""
    explicit = os.environ.get("BROWSER_PATH")
    if explicit:
        return explicit if os.path.exists(explicit) else None
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def chart_image(fig: go.Figure, fmt: str, *, width: int = 1280, height: int = 720) -> bytes:
    """``fig`` as ``png`` or ``svg`` bytes (``width`` x ``height`` pixels)."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"image format must be png or svg, got {fmt!r}")
    if browser_path() is None:
        raise ExportUnavailable(INSTALL_HINT)
    try:
        import plotly.io as pio

        return pio.to_image(fig, format=fmt, width=width, height=height)
    except (ImportError, RuntimeError, OSError) as exc:
        raise ExportUnavailable(f"{INSTALL_HINT} ({type(exc).__name__}: {exc})") from exc
