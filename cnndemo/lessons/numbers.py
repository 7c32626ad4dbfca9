"""Numbers as a student types them into a text box: `0.5, 1/4 0.25`.

One rule for every box in the app (the convolution grids and the loss lab's vectors):
numbers are separated by spaces, commas or semicolons, and a fraction like 1/9 is a number.
"""
from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[,\s;]+")


def tokens(text: str) -> list[str]:
    """The number-like pieces of a line of text, in order."""
    return [t for t in _SEPARATORS.split(text.strip()) if t]


def number(token: str) -> float:
    """`0.25` or a fraction `1/4` as a float; ValueError when it is neither (1/0 included)."""
    try:
        if "/" in token:
            a, b = token.split("/", 1)
            return float(a) / float(b)
        return float(token)
    except ZeroDivisionError:
        raise ValueError(f"{token!r} divides by zero") from None
