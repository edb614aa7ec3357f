"""Font discovery for document rendering (system packages only: nothing downloaded)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final

# Debian package → font file it installs; the first that exists wins.
_CJK_CANDIDATES: Final = (
    ("fonts-wqy-microhei", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    ("fonts-wqy-zenhei", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    ("fonts-noto-cjk", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)
_MONO_CANDIDATES: Final = (
    ("fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
)


class FontNotFound(RuntimeError):
    """No usable font is installed; the message names the package to install."""


@cache
def cjk_font_path() -> Path:
    """A TrueType font with Chinese glyphs, else FontNotFound naming the package."""
    for _package, path in _CJK_CANDIDATES:
        if Path(path).is_file():
            return Path(path)
    raise FontNotFound(
        "no CJK font found: install the Debian package fonts-wqy-microhei "
        "(apt-get install -y fonts-wqy-microhei)"
    )


@cache
def mono_font_path() -> Path:
    """A monospaced Latin font for numbers (ID numbers are printed in OCR-B on real
    cards); falls back to the CJK font, whose digits are fine for rendering."""
    for _package, path in _MONO_CANDIDATES:
        if Path(path).is_file():
            return Path(path)
    return cjk_font_path()
