"""The class's shared state: one SQLite file in WAL mode under the runs folder.

Every server process on the machine opens the same file, so a teacher on one process and a
student on another see the same lesson. Each thread gets its own connection (sqlite3
connections must not be shared between threads) with a busy timeout, so 30 students polling
at once wait for each other for a few milliseconds instead of failing.

The store is bounded: at most `max_drawings` drawings per lesson (the oldest go first), a
lesson and everything in it is deleted when the teacher ends it or `ttl_s` after its last
change, and no more than `max_lessons` lessons exist at once.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud
CODE_LEN = 5
NAME_MAX = 40

SCHEMA = """
CREATE TABLE IF NOT EXISTS lessons (
    code TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL,
    step INTEGER NOT NULL, page TEXT NOT NULL, state TEXT NOT NULL,
    locks TEXT NOT NULL, seq INTEGER NOT NULL, model TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS members (
    lesson TEXT NOT NULL, member TEXT NOT NULL, name TEXT NOT NULL, number INTEGER NOT NULL,
    seen REAL NOT NULL, PRIMARY KEY (lesson, member));
CREATE TABLE IF NOT EXISTS drawings (
    id INTEGER PRIMARY KEY AUTOINCREMENT, lesson TEXT NOT NULL, member TEXT NOT NULL,
    name TEXT NOT NULL, image BLOB NOT NULL, pred INTEGER, label INTEGER, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS drawings_lesson ON drawings (lesson, id);
"""


class StoreError(ValueError):
    """A request the store refuses (unknown lesson, too many lessons, bad image)."""


def runs_dir() -> Path:
    return Path(os.environ.get("CNNDEMO_RUNS_DIR", REPO / "runs"))


def default_path() -> Path:
    return runs_dir() / "classroom.sqlite3"


@dataclass(frozen=True)
class Lesson:
    code: str
    step: int
    page: str
    state: str  # a link query string, as cnndemo.classroom.links encodes it
    locks: frozenset = field(default_factory=frozenset)
    seq: int = 0  # bumps on every change the students must follow
    created: float = 0.0
    updated: float = 0.0
    model: str = ""  # the class's model under the model lock; '' = the shipped digits model


@dataclass(frozen=True)
class Member:
    member: str
    name: str
    number: int
    seen: float

    @property
    def display(self) -> str:
        return self.name


@dataclass(frozen=True)
class Drawing:
    id: int
    member: str
    name: str
    image: bytes  # 28*28 uint8, row-major: what the model read
    pred: int | None
    label: int | None
    created: float


def clean_code(text: str | None) -> str:
    """A class code as typed or put in a link: upper case, only the code alphabet's letters
    (a tampered link cannot smuggle anything else into the form); '' when nothing is left."""
    kept = "".join(ch for ch in str(text or "").strip().upper() if ch in CODE_ALPHABET)
    return kept[:CODE_LEN]


def clean_name(name: str | None, number: int) -> str:
    """Plain text, one line, bounded; 'Student 7' when empty. Rendering stays plain too."""
    text = " ".join(str(name or "").split())[:NAME_MAX]
    return text or f"Student {number}"


class Store:
    def __init__(self, path: str | Path | None = None, *, max_drawings: int = 600,
                 ttl_s: float = 6 * 3600, max_lessons: int = 50, busy_ms: int = 10_000):
        self.path = Path(path) if path is not None else default_path()
        self.max_drawings, self.ttl_s, self.max_lessons = max_drawings, ttl_s, max_lessons
        self.busy_ms = busy_ms
        self._local = threading.local()
        self._ready = False

    # ---------------------------------------------------------------- connections
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.busy_ms / 1000, isolation_level=None,
                               check_same_thread=True)
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_ms)}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        if not self._ready:
            conn.executescript(SCHEMA)
            cols = {row[1] for row in conn.execute("PRAGMA table_info(lessons)")}
            if "model" not in cols:  # a store file from before the class model
                with contextlib.suppress(sqlite3.OperationalError):  # another process did it
                    conn.execute("ALTER TABLE lessons ADD COLUMN model TEXT NOT NULL DEFAULT ''")
            self._ready = True
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _write(self, fn):
        """Run fn(conn) in one IMMEDIATE transaction (takes the write lock up front, so two
        writers never deadlock upgrading from a read)."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            out = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return out

    def journal_mode(self) -> str:
        return self._conn().execute("PRAGMA journal_mode").fetchone()[0]

    # ---------------------------------------------------------------- lessons
    def start_lesson(self, page: str, state: str = "", step: int = 0,
                     locks=()) -> Lesson:
        now = time.time()

        def go(conn):
            self._purge(conn, now)
            n = conn.execute("SELECT COUNT(*) FROM lessons").fetchone()[0]
            if n >= self.max_lessons:
                raise StoreError(f"too many lessons running ({n}); end one first")
            for _ in range(50):
                code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LEN))
                if conn.execute("SELECT 1 FROM lessons WHERE code=?", (code,)).fetchone() is None:
                    break
            conn.execute("INSERT INTO lessons (code, created, updated, step, page, state, locks,"
                         " seq) VALUES (?,?,?,?,?,?,?,?)",
                         (code, now, now, int(step), page, state, json.dumps(sorted(locks)), 1))
            return code

        return self.lesson(self._write(go))

    def lesson(self, code: str | None) -> Lesson | None:
        """The running lesson with this code (case-insensitive), or None."""
        if not code:
            return None
        row = self._conn().execute(
            "SELECT code, step, page, state, locks, seq, created, updated, model FROM lessons"
            " WHERE code=? AND updated>?", (str(code).strip().upper(), time.time() - self.ttl_s)
        ).fetchone()
        if row is None:
            return None
        return Lesson(row[0], row[1], row[2], row[3], frozenset(json.loads(row[4])), row[5],
                      row[6], row[7], row[8])

    def _update(self, code: str, sql: str, args: tuple) -> Lesson:
        def go(conn):
            cur = conn.execute(f"UPDATE lessons SET {sql}, seq=seq+1, updated=? WHERE code=?",
                               (*args, time.time(), code))
            if cur.rowcount == 0:
                raise StoreError(f"no lesson {code!r}")
        self._write(go)
        return self.lesson(code)

    def set_step(self, code: str, step: int, page: str, state: str) -> Lesson:
        return self._update(code, "step=?, page=?, state=?", (int(step), page, state))

    def set_locks(self, code: str, locks) -> Lesson:
        return self._update(code, "locks=?", (json.dumps(sorted(locks)),))

    def set_model(self, code: str, path: str) -> Lesson:
        """The class's model under the model lock ('' for the shipped one). Not a step: the
        students' pages rerun with it where they are (seq stays)."""
        def go(conn):
            cur = conn.execute("UPDATE lessons SET model=?, updated=? WHERE code=?",
                               (str(path), time.time(), code))
            if cur.rowcount == 0:
                raise StoreError(f"no lesson {code!r}")
        self._write(go)
        return self.lesson(code)

    def end_lesson(self, code: str) -> None:
        self._write(lambda conn: self._delete(conn, code))

    @staticmethod
    def _delete(conn, code: str) -> None:
        for table, col in (("drawings", "lesson"), ("members", "lesson"), ("lessons", "code")):
            conn.execute(f"DELETE FROM {table} WHERE {col}=?", (code,))

    def _purge(self, conn, now: float) -> None:
        old = [r[0] for r in conn.execute("SELECT code FROM lessons WHERE updated<=?",
                                          (now - self.ttl_s,))]
        for code in old:
            self._delete(conn, code)

    def purge_expired(self) -> None:
        self._write(lambda conn: self._purge(conn, time.time()))

    # ---------------------------------------------------------------- members
    def join(self, code: str, member: str, name: str | None = None) -> Member:
        code = str(code).strip().upper()

        def go(conn):
            if self.lesson(code) is None:
                raise StoreError(f"no lesson {code!r}")
            row = conn.execute("SELECT number FROM members WHERE lesson=? AND member=?",
                               (code, member)).fetchone()
            number = row[0] if row else 1 + conn.execute(
                "SELECT COALESCE(MAX(number), 0) FROM members WHERE lesson=?", (code,)).fetchone()[0]
            shown = clean_name(name, number)
            conn.execute("INSERT OR REPLACE INTO members VALUES (?,?,?,?,?)",
                         (code, member, shown, number, time.time()))
            return Member(member, shown, number, time.time())

        return self._write(go)

    def heartbeat(self, code: str, member: str) -> bool:
        """Mark a member as still here; False when the lesson or the member is gone."""
        def go(conn):
            return conn.execute("UPDATE members SET seen=? WHERE lesson=? AND member=?",
                                (time.time(), code, member)).rowcount > 0
        return self._write(go)

    def leave(self, code: str, member: str) -> None:
        self._write(lambda conn: conn.execute(
            "DELETE FROM members WHERE lesson=? AND member=?", (code, member)))

    def members(self, code: str, within_s: float | None = 15.0) -> list[Member]:
        """Members seen in the last `within_s` seconds (all with None), by number."""
        since = 0.0 if within_s is None else time.time() - within_s
        rows = self._conn().execute(
            "SELECT member, name, number, seen FROM members WHERE lesson=? AND seen>=?"
            " ORDER BY number", (code, since)).fetchall()
        return [Member(*r) for r in rows]

    # ---------------------------------------------------------------- drawings
    def add_drawing(self, code: str, member: str, name: str, image: bytes,
                    pred: int | None, label: int | None = None) -> int:
        image = bytes(image)
        if len(image) != 28 * 28:
            raise StoreError(f"a drawing is 784 bytes (28x28), not {len(image)}")

        def go(conn):
            if conn.execute("SELECT 1 FROM lessons WHERE code=?", (code,)).fetchone() is None:
                raise StoreError(f"no lesson {code!r}")
            cur = conn.execute(
                "INSERT INTO drawings (lesson, member, name, image, pred, label, created)"
                " VALUES (?,?,?,?,?,?,?)", (code, member, name, image, pred, label, time.time()))
            conn.execute("DELETE FROM drawings WHERE lesson=? AND id NOT IN (SELECT id FROM"
                         " drawings WHERE lesson=? ORDER BY id DESC LIMIT ?)",
                         (code, code, self.max_drawings))
            return cur.lastrowid

        return self._write(go)

    def set_label(self, code: str, drawing_id: int, member: str, label: int | None) -> bool:
        """The student says what they drew; only the drawing's own author may say it."""
        if label is not None and not 0 <= int(label) <= 9:
            raise StoreError("a digit label is 0 to 9")

        def go(conn):
            return conn.execute("UPDATE drawings SET label=? WHERE id=? AND lesson=? AND member=?",
                                (label, int(drawing_id), code, member)).rowcount > 0
        return self._write(go)

    def drawings(self, code: str, limit: int | None = None) -> list[Drawing]:
        """Newest first."""
        sql = ("SELECT id, member, name, image, pred, label, created FROM drawings"
               " WHERE lesson=? ORDER BY id DESC")
        args: tuple = (code,)
        if limit is not None:
            sql += " LIMIT ?"
            args = (code, int(limit))
        return [Drawing(*r) for r in self._conn().execute(sql, args).fetchall()]

    def count_drawings(self, code: str) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM drawings WHERE lesson=?",
                                    (code,)).fetchone()[0]
