"""The whole app runs, in both languages, without an exception."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

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
    # the shipped model's held-out accuracy is shown
    assert "98.30%" in sidebar and "MNIST" in sidebar and kind in sidebar
