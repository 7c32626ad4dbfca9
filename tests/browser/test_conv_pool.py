"""The convolution and pooling labs in a real browser: pick a preset, read the drawn grid."""
import os

import pytest

from tests.conftest import wait_for_app

pytestmark = pytest.mark.browser


def open_page(page, base_url, name):
    """Through the app's own navigation, as a student would."""
    page.goto(base_url)
    wait_for_app(page)
    page.locator(f"[data-testid='stSidebarNav'] a[href$='/{name}']").click()
    wait_for_app(page)


def pick(page, label, option):
    box = page.get_by_role("combobox", name=label)
    box.scroll_into_view_if_needed()
    box.click()
    box.fill(option[:12])  # the selectbox filters its options as one types
    page.get_by_role("option", name=option).click()
    wait_for_app(page)


def grid_numbers(page, title):
    """The numbers drawn (SVG text) in the plotly grid whose title starts with `title`."""
    chart = page.locator("[data-testid='stPlotlyChart']").filter(
        has=page.locator(".gtitle", has_text=title)).first
    chart.locator(".heatmaplayer text").first.wait_for()
    chart.scroll_into_view_if_needed()  # so the screenshot shows the grids
    return chart.locator(".heatmaplayer text").all_text_contents()


def shoot(page, tmp_path, name):
    folder = os.environ.get("CNNDEMO_SHOTS", str(tmp_path))
    os.makedirs(folder, exist_ok=True)
    page.screenshot(path=os.path.join(folder, name), full_page=True)


def output_cell_outlined(chart):
    """(row, col) of the output cell outlined in the step-through figure."""
    x0, y0 = chart.locator(".js-plotly-plot").evaluate(
        "gd => gd.layout.shapes.filter(s => s.xref === 'x2').map(s => [s.x0, s.y0])[0]")
    return round(y0 + 0.5), round(x0 + 0.5)


def test_convolution_example_b_in_browser(app_server, browser_page, tmp_path):
    page = browser_page
    open_page(page, app_server, "convolution")
    assert page.locator("h1").first.inner_text().startswith("Convolution")
    assert grid_numbers(page, "output") == ["8", "8", "10", "6"]
    # the step-through plays: the outlined output cell walks to the last position
    step = page.locator("[data-testid='stPlotlyChart']").filter(
        has=page.locator(".updatemenu-button")).first
    assert output_cell_outlined(step) == (0, 0)
    step.locator(".updatemenu-button").first.click()
    page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].some("
                           "gd => gd._transitionData && gd._transitionData._frameQueue && "
                           "gd.layout.shapes && gd.layout.shapes.some(s => s.xref === 'x2' "
                           "&& s.x0 === 0.5 && s.y0 === 0.5))", timeout=15_000)
    assert output_cell_outlined(step) == (1, 1)
    pick(page, "Start from an example", "Worked example B: the 9×9 \"X\" and the diagonal kernel ÷ 9")
    numbers = grid_numbers(page, "output")
    assert len(numbers) == 49
    assert numbers[:7] == ["0.78", "-0.11", "0.11", "0.33", "0.56", "-0.11", "0.33"]
    assert "floor((9 - 3 + 2*0)/1) + 1 = 7" in page.inner_text("body")
    # "Show the code": the source is sent only once the expander is opened, then stays.
    code = page.locator("[data-testid='stCode']").filter(has_text="def conv2d")
    assert code.count() == 0
    page.get_by_text("Show the code").last.click()
    wait_for_app(page)
    code.first.wait_for()
    pick(page, "Start from an example", "Worked example A: 3×3 input, 2×2 kernel, bias 5")
    assert grid_numbers(page, "output") == ["8", "8", "10", "6"]
    assert code.count() == 1
    shoot(page, tmp_path, "convolution_example_b.png")
    assert page.locator("[data-testid='stException']").count() == 0


def test_pooling_six_in_browser(app_server, browser_page, tmp_path):
    page = browser_page
    open_page(page, app_server, "pooling")
    pick(page, "Start from an example", "6×6 grid")
    assert grid_numbers(page, "max pooling") == ["6", "8", "3", "3", "4", "9", "8", "6", "7"]
    assert "floor((6 - 2 + 2*0)/2) + 1 = 3" in page.inner_text("body")
    shoot(page, tmp_path, "pooling_six.png")
    assert page.locator("[data-testid='stException']").count() == 0
