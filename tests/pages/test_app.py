"""The whole app runs, in both languages, without an exception."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnndemo.core import checkpoints

APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.mark.parametrize("lang,title,kind", [("en", "cnndemo", "held-out"),
                                             ("ko", "합성곱 신경망", "따로 떼어 둔")])
def test_app_runs_in_both_languages(lang, title, kind):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception
    assert title in at.title[0].value
    sidebar = " ".join(m.value for m in at.sidebar.caption)
    assert ("CPU" in sidebar) or ("CUDA" in sidebar) or ("MPS" in sidebar)
    assert at.sidebar.selectbox[0].value.endswith("digits.pt")
    # the shipped model's held-out accuracy is shown, as its file records it
    acc = checkpoints.load(checkpoints.shipped_path("mnist")).meta["accuracy"]
    assert f"{acc:.2%}" in sidebar and "MNIST" in sidebar and kind in sidebar


def test_a_damaged_save_stays_in_the_model_list_and_explains_itself(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNDEMO_USER_CHECKPOINTS", str(tmp_path))
    broken = tmp_path / "broken.pt"
    broken.write_bytes(checkpoints.shipped_path("mnist").read_bytes()[:4000])
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["model_path"] = str(broken)
    at.run()
    assert not at.exception
    assert "broken.pt (cannot be read)" in " ".join(at.sidebar.selectbox[0].options)
    warning = " ".join(w.value for w in at.warning)
    assert "broken.pt" in warning and "damaged or truncated" in warning


def test_the_server_reads_the_digits_while_it_starts():
    """ui.common starts reading MNIST when the server imports it, so the first student's
    click on a lab that shows real digits does not wait for it (nor does the class behind)."""
    import threading

    import ui.common  # noqa: F401  (what the server imports with its first page)
    from cnndemo.core import data

    for t in threading.enumerate():
        if t.name == "cnndemo-warm-digits":
            t.join(timeout=120)
    assert any(key[0] == "mnist" for key in data._MEMORY)
