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


def open_detail(page, app_ready):
    """Open "One layer up close": closed, the page neither computes nor sends it."""
    page.locator(".st-key-draw_detail_open summary").click()
    app_ready(page)


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
    # What the network sees and the six layers' maps; the layer detail is closed.
    expect(page.locator("[data-testid='stImage'] img, .cnn-gallery img")).to_have_count(1 + 6)
    assert page.get_by_text("Channel 0 up close").count() == 0
    open_detail(page, app_ready)
    # Layer 0 up close: every kernel and map as a picture, the picked channel as a heatmap.
    expect(page.get_by_text("Channel 0 up close")).to_be_visible()
    expect(page.get_by_role("img", name="Feature map of channel 0")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("img", name="Kernel of channel 0, input channel 0")).to_be_visible()
    # What the network sees, the six layers' maps, and the layer's kernels and maps: all decoded.
    pictures = page.locator("[data-testid='stImage'] img, .cnn-gallery img")
    expect(pictures).to_have_count(1 + 6 + 2)
    expect(page.locator(".cnn-gallery figcaption").filter(has_text="0: Conv2d")).to_contain_text("[1, 32, 28, 28]")
    page.wait_for_function("() => [...document.querySelectorAll('.cnn-gallery img')].every(i => i.complete)")
    assert all(pictures.nth(i).evaluate("img => img.naturalWidth") > 0 for i in range(pictures.count()))

    clear(page, app_ready)
    expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible()

    stroke(page, canvas(page), [(60, 50), (220, 50), (120, 245)])
    expect(page.locator(METRIC)).to_have_text("7", timeout=60_000)
    app_ready(page)
    expect(page.get_by_text("Channel 0 up close")).to_be_visible()  # still open for the next digit

    clear(page, app_ready)
    assert page.locator(METRIC).count() == 0
    assert page.locator("[data-testid='stException']").count() == 0


def test_undo_takes_the_stroke_off_and_a_cell_shows_its_value_under_the_pointer(app_server, browser_page, app_ready):
    from playwright.sync_api import expect

    page = browser_page
    page.goto(f"{app_server}/draw")
    app_ready(page)
    stroke(page, canvas(page), [(60, 50), (220, 50), (120, 245)])
    expect(page.locator(METRIC)).to_have_text("7", timeout=60_000)
    app_ready(page)
    open_detail(page, app_ready)

    # Point at a cell of the feature map: its row, column and the model's value appear beside it.
    fmap = page.locator(".st-key-draw_channel_map .cnn-heatmap-canvas")
    fmap.scroll_into_view_if_needed()
    box = fmap.bounding_box()
    cell = (box["height"] - 18) // 28  # cells are square, below an 18 px row of column numbers
    page.mouse.move(box["x"] + 26 + cell * 14.5, box["y"] + 18 + cell * 9.5)
    tip = page.locator(".st-key-draw_channel_map .cnn-heatmap-tip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("row 9, column 14")
    float(tip.inner_text().split("activation")[1])  # a number
    # The probabilities: pointing at the predicted bar gives its exact value.
    bars = page.locator(".st-key-draw_probs .cnn-bars-canvas")
    bars.scroll_into_view_if_needed()
    b = bars.bounding_box()
    page.mouse.move(b["x"] + 56 + (b["width"] - 62) * 7.5 / 10, b["y"] + b["height"] - 40)
    expect(page.locator(".st-key-draw_probs .cnn-bars-tip")).to_contain_text("7: ")

    # Undo: the canvas is empty again, and so is the prediction.
    c = canvas(page)
    c.scroll_into_view_if_needed()
    page.locator(".cnn-canvas-undo").click()
    app_ready(page)
    expect(page.locator(METRIC)).to_have_count(0, timeout=30_000)
    expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible()
    ink = c.evaluate("cv => cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data"
                     ".filter((v, i) => i % 4 === 0 && v > 0).length")
    assert ink == 0
    assert page.locator("[data-testid='stException']").count() == 0


def test_the_same_drawing_again_comes_in_full_and_clear_during_a_run_keeps_the_page(app_server, browser_page,
                                                                                    app_ready):
    """Streamlit 1.67 sends a large element that the browser already holds as a reference to it.
    When a new stroke or Clear interrupts a Draw run, Streamlit drops the run's unsent elements
    but keeps those references, and the elements of any fragment nested in it. The browser then
    places one under a container that never came ("Bad delta path index") and the student's page
    goes blank. `.streamlit/config.toml` turns the references off, and the Draw page nests no
    fragment. Here the same 1 is drawn twice, so every large element repeats; each must come in
    full, and all of them from the one fragment. Then a stroke is cleared before its run ends,
    and the page must still work."""
    from playwright.sync_api import expect
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    page = browser_page
    received, page_errors = [], []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda data: received.append(data)))
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    page.goto(f"{app_server}/draw")
    app_ready(page)
    stroke(page, canvas(page), [(150, 40), (140, 240)])
    expect(page.locator(METRIC)).to_have_text("1", timeout=60_000)
    app_ready(page)
    open_detail(page, app_ready)  # so that every drawing below sends all of its large elements
    clear(page, app_ready)
    received.clear()
    for _ in range(2):
        stroke(page, canvas(page), [(150, 40), (140, 240)])
        expect(page.locator(METRIC)).to_have_text("1", timeout=60_000)
        app_ready(page)
        clear(page, app_ready)
    msgs = [ForwardMsg.FromString(data) for data in received if isinstance(data, bytes)]
    large = [m for m in msgs if m.WhichOneof("type") == "delta" and m.ByteSize() >= 10_000]
    assert [m.WhichOneof("type") for m in msgs].count("ref_hash") == 0
    # Every element of the page below its title belongs to the one fragment a stroke reruns:
    # a fragment nested in it would keep its elements when a stroke interrupts the run.
    assert len({m.delta.fragment_id for m in msgs if m.WhichOneof("type") == "delta"} - {""}) == 1
    assert len(large) >= 2 * 4  # the bars, two galleries and two heatmaps, once per drawing

    stroke(page, canvas(page), [(150, 40), (140, 240)])
    page.locator(".st-key-draw_clear button").click()  # at once: the drawing's run is still going
    app_ready(page)
    expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible(timeout=60_000)
    stroke(page, canvas(page), [(60, 50), (220, 50), (120, 245)])
    expect(page.locator(METRIC)).to_have_text("7", timeout=60_000)
    assert page_errors == []
    assert page.locator("[data-testid='stException']").count() == 0
