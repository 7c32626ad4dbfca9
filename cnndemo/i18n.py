"""English and Korean UI strings.

Each page owns one JSON file per language (`locales/en/<page>.json`, `locales/ko/<page>.json`)
holding flat `"page.key": "text"` pairs; they are merged here. A missing Korean string falls
back to English, and a missing key shows the key itself, so a gap is visible, never fatal.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGS = ("en", "ko")
LANG_NAMES = {"en": "English", "ko": "한국어"}
LOCALES = Path(__file__).resolve().parent / "locales"


@cache
def strings(lang: str) -> dict:
    merged: dict = {}
    for path in sorted((LOCALES / lang).glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def t(key: str, lang: str = "en", **fmt) -> str:
    text = strings(lang).get(key) or strings("en").get(key) or key
    if fmt:
        try:
            return text.format(**fmt)
        except (KeyError, IndexError, ValueError):
            return text
    return text
