"""A page's state as a link: typed fields with defaults and bounds, encoded into a query string.

`encode` writes only the fields that differ from their defaults, so a page left as it opened
has a bare address. `decode` never raises on what a link holds: a value that is missing gets
its default, a value that is malformed or out of bounds gets its default and its name in the
returned list of bad fields (the page shows a short notice naming them).
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any
from urllib.parse import parse_qsl, urlencode

from cnndemo.core import arch

KINDS = ("int", "float", "bool", "choice", "text", "grid", "json", "choices")
MAX_TEXT = 600
MAX_LAYERS = 40
GRID_CHARS = set("0123456789 .,/+-eE;\t")


@dataclass(frozen=True)
class Field:
    """One control: its name in the link, its session key, kind, default and bounds."""
    name: str
    key: str
    kind: str
    default: Any
    lo: float | None = None
    hi: float | None = None
    choices: tuple = ()
    max_len: int = MAX_TEXT
    check: Callable[[Any], Any] | None = None  # json: returns the cleaned value or raises

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown field kind {self.kind!r}")


def _in_bounds(f: Field, v: float) -> bool:
    return (f.lo is None or v >= f.lo) and (f.hi is None or v <= f.hi)


def to_text(f: Field, value: Any) -> str:
    if f.kind == "bool":
        return "1" if value else "0"
    if f.kind == "int":
        return str(int(value))
    if f.kind == "float":
        return repr(float(value))
    if f.kind == "grid":  # rows joined by ';' reads better in an address bar than %0A
        return ";".join(line.strip() for line in str(value).strip().splitlines())
    if f.kind == "json":
        return json.dumps(value, separators=(",", ":"))
    if f.kind == "choices":
        return ",".join(str(v) for v in value)
    return str(value)


def from_text(f: Field, text: str) -> Any:
    """The typed value of one field, or ValueError when the text is not a valid one."""
    if len(text) > (f.max_len if f.kind in ("text", "grid", "json") else 40):
        raise ValueError("too long")
    if f.kind == "bool":
        if text not in ("0", "1", "true", "false"):
            raise ValueError("not a yes/no")
        return text in ("1", "true")
    if f.kind == "int":
        v = int(text)
        if not _in_bounds(f, v):
            raise ValueError("out of bounds")
        return v
    if f.kind == "float":
        v = float(text)
        if not math.isfinite(v) or not _in_bounds(f, v):
            raise ValueError("out of bounds")
        return v
    if f.kind == "choice":
        for c in f.choices:
            if str(c) == text:
                return c
        raise ValueError("not a choice")
    if f.kind == "choices":
        picked = [c for c in f.choices if str(c) in text.split(",")] if text else []
        if text and len(picked) != len(text.split(",")):
            raise ValueError("not a choice")
        return picked
    if f.kind == "grid":
        if not set(text) <= GRID_CHARS:
            raise ValueError("not a grid of numbers")
        return "\n".join(row.strip() for row in text.split(";"))
    if f.kind == "json":
        value = json.loads(text)
        return f.check(value) if f.check else value
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        raise ValueError("control characters")
    return text


def same(f: Field, a: Any, b: Any) -> bool:
    if f.kind == "float":
        try:
            return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    if f.kind == "grid":
        return to_text(f, a) == to_text(f, b)
    return a == b


def encode(spec: list[Field], values: Mapping[str, Any],
           base: Mapping[str, Any] | None = None) -> dict[str, str]:
    """{link name: text} for every field (by session key in `values`) not at its default.
    `base` overrides defaults by session key (a preset's own values, for example)."""
    out = {}
    base = base or {}
    for f in spec:
        default = base.get(f.key, f.default)
        if f.key in values and not same(f, values[f.key], default):
            out[f.name] = to_text(f, values[f.key])
    return out


def decode(spec: list[Field], query: Mapping[str, str],
           base: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """({session key: value} for every field, [names of fields whose value was refused])."""
    values, bad = {}, []
    base = base or {}
    for f in spec:
        values[f.key] = base.get(f.key, f.default)
        if f.name not in query:
            continue
        try:
            values[f.key] = from_text(f, str(query[f.name]))
        except (ValueError, TypeError, KeyError, json.JSONDecodeError):
            bad.append(f.name)
    return values, bad


def to_query(params: Mapping[str, str]) -> str:
    return urlencode(params)


def parse_query(query: str) -> dict[str, str]:
    return dict(parse_qsl(query.lstrip("?"), keep_blank_values=True))


# --------------------------------------------------------------- the shape explorer's network

def _typed(field_type: str, v: Any) -> Any:
    if "bool" in field_type:
        if not isinstance(v, bool):
            raise ValueError("not a yes/no")
        return v
    if v is None:
        if "None" not in field_type:
            raise ValueError("missing")
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError("not a number")
    if "float" in field_type:
        if not 0.0 <= float(v) <= 1.0:
            raise ValueError("out of bounds")
        return float(v)
    if float(v) != int(v) or not 0 <= int(v) <= 100_000:
        raise ValueError("out of bounds")
    return int(v)


def check_network(value: Any) -> list[dict]:
    """A list of layer dicts the shape explorer can show, in arch's full form, or ValueError."""
    if not isinstance(value, list) or len(value) > MAX_LAYERS:
        raise ValueError("not a list of layers")
    out = []
    for d in value:
        if not isinstance(d, dict):
            raise ValueError("not a layer")
        layer = arch.from_dict(d)
        clean = {f.name: _typed(str(f.type), getattr(layer, f.name)) for f in fields(layer)}
        out.append({"type": d["type"], **clean})
    return out


def compact_network(net: list[dict]) -> list[dict]:
    """The same network without the fields left at their defaults: shorter links."""
    out = []
    for d in net:
        layer = arch.from_dict(d)
        keep = {f.name: getattr(layer, f.name) for f in fields(layer)
                if f.default is MISSING or getattr(layer, f.name) != f.default}
        out.append({"type": d["type"], **keep})
    return out


def qr_png(text: str, scale: int = 6, border: int = 2) -> bytes:
    """`text` (the class's join link) as a QR code PNG, black on white, `scale` px a module."""
    import io

    import segno

    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="png", scale=scale, border=border)
    return buf.getvalue()
