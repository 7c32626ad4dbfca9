"""A page that fails for one student must not affect the others.

A real `streamlit run` server with Streamlit's agent API (a real session and a real script
run per request, in the server's own threads, as for browsers): several students use the
Draw page at once, each checked against the shipped model run here, while one student picks
a checkpoint that turns out corrupt, or students hang up in the middle of a run.
(AppTest cannot do this: each AppTest run swaps Streamlit's process-wide Runtime, so two at
once in one process break each other.)
"""
import json
import os
import re
import shutil
import tempfile
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from cnndemo.core import checkpoints, data, inference, preprocess
from tests.conftest import streamlit_server

STUDENTS = 4
DIGITS_EACH = 6


@pytest.fixture(scope="module")
def server():
    """(base URL, the class's checkpoint folder) of a server with the agent API on."""
    ckpts = Path(tempfile.mkdtemp(prefix="cnndemo-isolation-"))
    env = dict(os.environ, CNNDEMO_OFFLINE="1", CNNDEMO_USER_CHECKPOINTS=str(ckpts))
    try:
        with streamlit_server(env, ("--server.enableAgentApi", "true"), name="isolation") as url:
            Student(url).random_digit()  # warm-up: imports, the model cache, the digits
            yield url, ckpts
    finally:
        shutil.rmtree(ckpts, ignore_errors=True)


def interact(url: str, body: dict, timeout: float = 180) -> dict:
    req = urllib.request.Request(url + "/_stcore/agent/interact", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:  # say what the server refused, not just the status
        raise AssertionError(f"{e.code}: {e.read()[:400]!r} for {body}") from None


def elements(tree, kind: str) -> list[dict]:
    found, stack = [], [tree]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            if n.get("type") == kind:
                found.append(n)
            stack.extend(n.values())
        elif isinstance(n, list):
            stack.extend(reversed(n))
    return found


def bodies(tree, kind: str) -> list[str]:
    return [str(e.get("props", {}).get("body", "")) for e in elements(tree, kind)]


class Student:
    """One browser tab on the Draw page, through the agent API."""

    def __init__(self, url: str):
        self.url = url
        self.snap = interact(url, {"page": "draw"})
        self.sid = self.snap["session_id"]

    def act(self, **body) -> dict:
        self.snap = interact(self.url, {"session_id": self.sid, **body})
        return self.seen()

    def random_digit(self) -> dict:
        return self.act(trigger={"key": "draw_random"})

    def seen(self) -> dict:
        """What the student sees: the digit shown, the prediction, warnings and errors."""
        tree = self.snap["tree"]
        captions = bodies(tree, "caption")
        index = next((int(m.group(1)) for c in captions if (m := re.search(r"#(\d+) of", c))), None)
        metrics = [e["props"]["value"] for e in elements(tree, "metric")]
        return {"index": index, "predicted": metrics[0] if metrics else None,
                "confidence": next((c for c in captions if c.startswith("Confidence")), None),
                "trail": next((m.group(1) for c in bodies(tree, "markdown")
                               if (m := re.search(r"`(\[1, 1, 28.*?)`", c))), None),
                "model": next((c for c in captions if c.startswith("Model:")), None),
                "warnings": bodies(tree, "warning"),
                "problems": [str(e.get("props")) for k in ("exception", "error")
                             for e in elements(tree, k)]}


@pytest.fixture(scope="module")
def oracle():
    """What the shipped model shows for held-out digit i, computed here without the server."""
    ds = data.load("mnist")
    shipped = checkpoints.load(checkpoints.shipped_path("mnist"))

    def expected(i: int) -> dict:
        image = preprocess.preprocess(ds.test_x[i].numpy()).image
        r = inference.run(shipped.model, image, shipped.spec, shipped.classes)
        return {"index": i, "predicted": r.prediction.label,
                "confidence": f"Confidence: {r.prediction.confidence:.1%}",
                "trail": " → ".join(inference.format_shape(s) for s in r.shape_trail()),
                "model": "Model: digits", "warnings": [], "problems": []}

    return expected


def unsure_ok(seen: dict, want: dict) -> bool:
    """The page replaces the confidence caption by a warning when the model is unsure."""
    if seen["confidence"] is None and want["confidence"]:
        return {**seen, "confidence": want["confidence"], "warnings": []} == want
    return seen == want


def class_at_work(url: str, barrier: threading.Barrier) -> list[dict]:
    student = Student(url)
    barrier.wait()
    return [student.random_digit() for _ in range(DIGITS_EACH)]


def check_class(results, oracle):
    seen = [r for rs in results for r in rs]
    assert len(seen) == STUDENTS * DIGITS_EACH
    wrong = [(s, oracle(s["index"])) for s in seen
             if s["index"] is None or not unsure_ok(s, oracle(s["index"]))]
    assert not wrong, f"{len(wrong)} of {len(seen)} wrong; first: {wrong[0]}"


def test_a_corrupt_checkpoint_picked_by_one_student_leaves_the_others_unaffected(server, oracle):
    url, ckpts = server
    blob = torch.load(checkpoints.shipped_path("mnist"), weights_only=True)
    mine = ckpts / "mine.pt"  # the shipped weights under another name
    torch.save({**blob, "meta": {**blob["meta"], "name": "mine"}}, mine)
    mismatch = ckpts / "mismatch.pt"  # readable metadata, weights of another shape
    torch.save({"format": checkpoints.FORMAT, "meta": {**blob["meta"], "name": "mismatch"},
                "state_dict": {"0.weight": torch.zeros(3)}}, mismatch)
    barrier = threading.Barrier(STUDENTS + 1)
    label = lambda name: f"{name} (mnist, {blob['meta']['accuracy']:.1%})"  # noqa: E731

    def unlucky() -> list[dict]:
        student = Student(url)
        barrier.wait()
        seen = [student.act(widget_state={"model_path": label("mine")}), student.random_digit()]
        mine.write_bytes(os.urandom(4096))  # the file goes bad while it is the active model
        seen.append(student.random_digit())
        seen.append(student.act(widget_state={"model_path": label("mismatch")}))
        seen.append(student.random_digit())
        return seen

    with ThreadPoolExecutor(STUDENTS + 1) as pool:
        bad = pool.submit(unlucky)
        results = list(pool.map(class_at_work, [url] * STUDENTS, [barrier] * STUDENTS))
        unlucky_seen = bad.result()
    check_class(results, oracle)
    # the unlucky student is told, and still reads digits with the shipped model
    for s in unlucky_seen:
        assert s["problems"] == []
    assert unlucky_seen[1]["model"] == "Model: mine"
    after_garbage, after_mismatch = unlucky_seen[2], unlucky_seen[4]
    for s in (after_garbage, after_mismatch):
        want = oracle(s["index"])
        assert (s["predicted"], s["model"]) == (want["predicted"], "Model: digits")
    assert any("could not be loaded" in w and "mismatch.pt" in w
               for w in after_mismatch["warnings"]), after_mismatch["warnings"]


def test_students_who_hang_up_mid_run_leave_the_others_working(server, oracle):
    url, _ = server
    barrier = threading.Barrier(STUDENTS + 2)

    def hang_up() -> int:
        """Open pages and leave before they finish, again and again; never come back."""
        barrier.wait()
        left = 0
        for page in ("convolution", "draw", "losses", "shapes"):
            try:
                interact(url, {"page": page}, timeout=0.05)
            except OSError:  # our own timeout: we hung up while the script was running
                left += 1
        return left

    with ThreadPoolExecutor(STUDENTS + 2) as pool:
        leavers = [pool.submit(hang_up) for _ in range(2)]
        results = list(pool.map(class_at_work, [url] * STUDENTS, [barrier] * STUDENTS))
        assert sum(f.result() for f in leavers) > 0  # somebody really left mid-run
    check_class(results, oracle)
    latecomer = Student(url).random_digit()  # the server still serves a new student
    assert unsure_ok(latecomer, oracle(latecomer["index"]))
