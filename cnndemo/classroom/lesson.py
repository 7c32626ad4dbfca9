"""The guided lesson: an ordered list of steps read from a teacher-editable JSON file."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cnndemo.classroom import links, pages

DEFAULT_PATH = Path(__file__).resolve().parent / "lesson.json"


class LessonFileError(ValueError):
    """The lesson file cannot be used; the message says which step and why."""


@dataclass(frozen=True)
class Step:
    page: str
    state: str  # a link query for the page, as links.encode writes it
    title: dict
    say: dict

    def text(self, what: str, lang: str) -> str:
        table = self.title if what == "title" else self.say
        return table.get(lang) or table.get("en", "")


def parse(doc: dict) -> list[Step]:
    steps = doc.get("steps") if isinstance(doc, dict) else None
    if not isinstance(steps, list) or not steps:
        raise LessonFileError("the lesson file needs a non-empty list called 'steps'")
    out = []
    for n, s in enumerate(steps, 1):
        if not isinstance(s, dict):
            raise LessonFileError(f"step {n} is not an object")
        page, state = s.get("page"), s.get("state", "")
        if page not in pages.SPECS:
            raise LessonFileError(f"step {n}: unknown page {page!r}; pages: {', '.join(pages.PAGES)}")
        if not isinstance(state, str):
            raise LessonFileError(f"step {n}: 'state' must be a link query string")
        query = links.parse_query(state)
        _, bad = links.decode(pages.SPECS[page], query, pages.base_from_query(page, query))
        unknown = set(query) - {f.name for f in pages.SPECS[page]}
        if bad or unknown:
            raise LessonFileError(f"step {n}: the state has bad or unknown fields: "
                                  f"{', '.join(sorted({*bad, *unknown}))}")
        for part in ("title", "say"):
            table = s.get(part)
            if not isinstance(table, dict) or not isinstance(table.get("en"), str):
                raise LessonFileError(f"step {n}: '{part}' needs at least an English ('en') text")
        out.append(Step(page, state, s["title"], s["say"]))
    return out


def load(path: str | Path | None = None) -> list[Step]:
    p = Path(path) if path is not None else DEFAULT_PATH
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise LessonFileError(f"cannot read {p.name}: {e}") from e
    return parse(doc)
