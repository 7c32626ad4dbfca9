"""A student at a browser: draw a 1 and a 7 with the mouse, read the predictions, clear."""

import pytest

pytestmark = pytest.mark.browser

METRIC = "[data-testid='stMetricValue']"


def stroke(page, canvas, points, steps=15):
    """Press, drag through `points` (canvas pixels) in small moves, release: a mouse stroke."""
    box = canvas.bounding_box()
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + points[0][0], y0 + points[0][1])
    page.mouse.down()
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        for k in range(1, steps + 1):
            page.mouse.move(x0 + ax + (bx - ax) * k / steps, y0 + ay + (by - ay) * k / steps)
    page.mouse.up()


def canvas(page):
    # Fabric.js draws on two stacked canvases; the upper one takes the mouse.
    c = page.locator(".dc-canvas.upper-canvas").first
    c.wait_for(state="visible")
    return c


def clear(page, app_ready):
    page.locator(".st-key-draw_clear button").click()
    app_ready(page)
    page.wait_for_selector(METRIC, state="detached")


def test_draw_one_and_seven_then_clear(app_server, browser_page, app_ready):
    from playwright.sync_api import expect

    page = browser_page
    page.goto(f"{app_server}/draw")
    app_ready(page)
    assert page.locator(METRIC).count() == 0
    expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible()

    stroke(page, canvas(page), [(150, 40), (140, 240)])
    expect(page.locator(METRIC)).to_have_text("1", timeout=60_000)
    app_ready(page)
    expect(page.get_by_text("What each layer sees")).to_be_visible()
    expect(page.get_by_text("[1, 1, 28, 28] → [1, 32, 28, 28]", exact=False)).to_be_visible()
    # Layer 0 up close: every kernel and map as a picture, the picked channel as a heatmap.
    expect(page.get_by_text("Channel 0 up close")).to_be_visible()
    expect(page.locator(".st-key-draw_channel_map .js-plotly-plot")).to_be_visible(timeout=30_000)
    expect(page.locator(".st-key-draw_channel_kernel .js-plotly-plot")).to_be_visible()
    pictures = page.locator("[data-testid='stImage'] img")
    assert pictures.count() >= 9
    assert all(pictures.nth(i).evaluate("img => img.naturalWidth") > 0 for i in range(pictures.count()))

    clear(page, app_ready)
    expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible()

    stroke(page, canvas(page), [(60, 50), (220, 50), (120, 245)])
    expect(page.locator(METRIC)).to_have_text("7", timeout=60_000)
    app_ready(page)

    clear(page, app_ready)
    assert page.locator(METRIC).count() == 0
    assert page.locator("[data-testid='stException']").count() == 0
