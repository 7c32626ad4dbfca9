"""The shape explorer in a real browser: pick course-a, change the first kernel, see it."""
import os
import tempfile

import pytest

from tests.conftest import wait_for_app

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CNNDEMO_SHOTS", tempfile.gettempdir())


def _open_shapes(page, base):
    page.goto(base)
    wait_for_app(page)
    page.locator("a[href$='/shapes']").first.click()
    page.wait_for_selector("text=Layer shape explorer")
    wait_for_app(page)


def _tab(page, name):
    """Only the open tab is drawn: click it and wait for its rerun."""
    page.get_by_role("tab", name=name).click()
    wait_for_app(page)


def _code(page) -> str:
    return page.locator("[data-testid='stCode']").filter(has_text="class Net").first.text_content()


def test_course_a_kernel_change_updates_table_code_and_3d(app_server, browser_page):
    page = browser_page
    _open_shapes(page, app_server)
    page.locator("[data-testid='stSelectbox']").filter(has_text="Start from").click()
    page.get_by_role("option", name="Course CNN A").click()
    wait_for_app(page)
    _tab(page, "PyTorch code")
    assert "x = self.conv1(x)  # [b, 16, 24, 24]" in _code(page)
    assert page.locator("[data-testid='stMetricValue']").first.inner_text() == "123,222"

    kernel = page.get_by_label("kernel", exact=True).first
    assert kernel.input_value() == "5"
    kernel.fill("3")
    kernel.press("Enter")
    wait_for_app(page)
    page.wait_for_function("() => [...document.querySelectorAll(\"[data-testid='stMetricValue']\")]"
                           ".some(e => e.innerText === '122,966')")
    code = _code(page)
    assert "self.conv1 = nn.Conv2d(1, 16, kernel_size=3)" in code
    assert "x = self.conv1(x)  # [b, 16, 26, 26]" in code
    assert "x = self.conv2(x)  # [b, 32, 22, 22]" in code
    assert "x = self.flatten(x)  # [b, 576]" in code  # 7x7 pools to 3x3: still 576
    assert page.locator("[data-testid='stException']").count() == 0

    table = page.locator("[data-testid='stDataFrame']").first
    table.scroll_into_view_if_needed()
    table.screenshot(path=os.path.join(SHOTS, "shapes_table.png"))
    _tab(page, "3-D view")
    chart = page.locator("[data-testid='stPlotlyChart']").first
    chart.scroll_into_view_if_needed()
    page.wait_for_selector("[data-testid='stPlotlyChart'] canvas")
    box = chart.bounding_box()
    assert box["width"] > 600 and box["height"] > 300
    chart.screenshot(path=os.path.join(SHOTS, "shapes_3d.png"))
