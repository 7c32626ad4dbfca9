"""The gradients lab in a real browser: play the regression animation and look at it."""
import os

import numpy as np
import pytest
from PIL import Image

from tests.conftest import wait_for_app

pytestmark = pytest.mark.browser
RED = np.array([0xD6, 0x27, 0x28])  # the model line's colour in the animation


def chart_titles(page):
    return page.locator("[data-testid='stPlotlyChart'] .gtitle").evaluate_all(
        "els => els.map(e => e.textContent)")  # SVG text has no innerText


def test_regression_animation_plays(app_server, browser_page, tmp_path):
    page = browser_page
    page.goto(f"{app_server}/gradients")
    wait_for_app(page)
    assert page.locator("h1").first.inner_text().startswith("Gradients lab")
    page.get_by_role("tab", name="2 · Gradient descent").click()
    wait_for_app(page)
    chart = page.locator("[data-testid='stPlotlyChart']").first
    chart.wait_for()
    page.wait_for_function("document.querySelector(\"[data-testid='stPlotlyChart'] .gtitle\")")
    assert chart_titles(page)[0].startswith("step 200: w = 5.008")

    chart.locator(".updatemenu-button").first.click()  # ▶
    seen = set()
    for _ in range(150):
        seen.add(chart_titles(page)[0].split(":")[0])
        if len(seen) > 3 and "step 200" in seen and chart_titles(page)[0].startswith("step 200"):
            break
        page.wait_for_timeout(100)
    steps = {int(t.split()[1]) for t in seen if t.startswith("step ")}
    assert len(steps) >= 5 and min(steps) < 50, seen  # the line really moved through steps
    # the animation ends on the last frame (a condition, not a fixed pause)
    page.wait_for_function("document.querySelector(\"[data-testid='stPlotlyChart'] .gtitle\")"
                           ".textContent.startsWith('step 200: w = 5.008')")
    assert chart_titles(page)[0].startswith("step 200: w = 5.008")

    shots = os.environ.get("CNNDEMO_SHOTS", str(tmp_path))
    os.makedirs(shots, exist_ok=True)
    path = os.path.join(shots, "gradients_regression.png")
    chart.screenshot(path=path)
    img = np.asarray(Image.open(path).convert("RGB")).astype(int)
    red = (np.abs(img - RED).sum(axis=2) < 40).sum()
    assert red > 200, "the fitted line is not visible in the chart"
    assert page.locator("[data-testid='stException']").count() == 0
