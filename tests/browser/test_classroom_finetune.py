"""The teacher fine-tunes the class's model in a real browser on a real server: 40 drawings in
the class's store (real digits drawn with a fat marker), a job process, the before/after
figures on the panel and the new model in the sidebar's list. CNNDEMO_SHOTS=DIR keeps a
screenshot of the panel."""
import os
import tempfile
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from cnndemo.classroom import store
from cnndemo.core import data
from tests.conftest import streamlit_server, wait_for_app

pytestmark = pytest.mark.browser
KEY = "teacher-key-for-the-fine-tune-test"
# the sidebar's model picker shows the model (its text or its input's value)
SHOWN = """(name) => { const el = document.querySelector('.st-key-model_path');
  return !!el && (el.innerText + [...el.querySelectorAll('input')].map(i => i.value).join(' '))
    .includes(name); }"""


@pytest.fixture(scope="module")
def server():
    runs = tempfile.mkdtemp(prefix="cnndemo-ft-browser-")
    env = dict(os.environ, CNNDEMO_TEACHER_KEY=KEY, CNNDEMO_RUNS_DIR=runs,
               CNNDEMO_USER_CHECKPOINTS=tempfile.mkdtemp(prefix="cnndemo-ft-browser-ckpt-"))
    with streamlit_server(env, name="finetune") as url:
        yield url, Path(runs)


def test_teacher_fine_tunes_and_sees_before_after_and_the_new_model(server, _browser):
    url, runs = server
    context = _browser.new_context(viewport={"width": 1280, "height": 900})
    t = context.new_page()
    t.set_default_timeout(60_000)
    t.goto(f"{url}/class", timeout=180_000)
    wait_for_app(t)
    main = t.locator("[data-testid='stMain']")
    t.locator(".st-key-classroom_key_in_page input").fill(KEY)
    main.get_by_role("button", name="Unlock teacher mode").click()
    t.locator(".st-key-classroom_start button").click()
    heading = t.locator("h2", has_text="Class code")
    heading.wait_for()
    code = heading.inner_text().split()[-1]
    main.get_by_text("fine-tuning needs at least 10").wait_for()

    ds = data.load("mnist")
    pick = torch.randperm(len(ds.train_y), generator=torch.Generator().manual_seed(11))[:40]
    fat = F.max_pool2d(F.max_pool2d(ds.train_x[pick].float()[:, None], 3, 1, 1), 3, 1, 1)
    s = store.Store(runs / "classroom.sqlite3")
    for img, label in zip(fat[:, 0].to(torch.uint8), ds.train_y[pick]):
        s.add_drawing(code, "m1", "Ji-woo", img.numpy().tobytes(), 0, int(label))

    main.get_by_text("on the 40 drawings the class labelled").wait_for()  # the panel polls
    button = t.locator(".st-key-classroom_ft_start button")
    button.wait_for()
    button.click()
    name = f"class-{code}-finetuned"
    main.get_by_text(f"Saved as {name}").wait_for(timeout=300_000)
    # the before/after bars name the held-out drawings (the table below says it too)
    t.locator(".st-key-classroom_ft_chart").get_by_text(
        "Class drawings it never saw (10)").first.wait_for(state="attached")
    main.get_by_text("10 of the class's drawings were held out").wait_for()
    assert main.get_by_text("Class drawings it trained on (30): training accuracy").count()
    assert main.locator(".st-key-classroom_ft_chart").count() == 1
    if os.environ.get("CNNDEMO_SHOTS"):
        main.get_by_text("Fine-tune on the class's drawings").first.scroll_into_view_if_needed()
        t.screenshot(path=str(Path(os.environ["CNNDEMO_SHOTS"]) / "finetune.png"), full_page=True)
    t.locator(".st-key-classroom_ft_use button").click()
    t.locator(".st-key-classroom_ft_use button:disabled").wait_for()  # in use on her screen
    t.wait_for_function(SHOWN, arg=name)
    context.close()
