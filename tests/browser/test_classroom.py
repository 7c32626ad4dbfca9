"""A real lesson in real browsers: one teacher and two students on a real server.

The teacher unlocks teacher mode, starts the lesson and advances; both students land on the
same page in the same state; a student who leaves follow mode stays put; the training lock
hides the training controls; a drawing sent from the Draw page shows in the teacher's gallery.
Follow latency (teacher's click -> the student's page shows the new step) is printed.
"""
import os
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlparse

import pytest

from tests.conftest import streamlit_server, wait_for_app

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
KEY = "teacher-key-for-the-browser-test"
METRIC = "[data-testid='stMetricValue']"
# records when each "Step N of" text first shows, in the page's own clock (ms since epoch)
WATCH = """() => { window.__steps = window.__steps || {};
  const look = () => { for (const m of document.body.innerText.matchAll(/Step (\\d+) of/g)) {
      if (!(m[1] in window.__steps)) window.__steps[m[1]] = Date.now(); } };
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true,
                                                     characterData: true});
  look(); }"""


@pytest.fixture(scope="module")
def class_server():
    env = dict(os.environ, CNNDEMO_TEACHER_KEY=KEY,
               CNNDEMO_RUNS_DIR=tempfile.mkdtemp(prefix="cnndemo-class-browser-"))
    with streamlit_server(env, name="class") as url:
        yield url


def _page(browser, url, **ctx):
    context = browser.new_context(**({"viewport": {"width": 1280, "height": 900}} | ctx))
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url, timeout=180_000)
    wait_for_app(page)
    return page


def _main(page):
    return page.locator("[data-testid='stMain']")


def start_lesson(browser, url):
    t = _page(browser, f"{url}/class")
    t.locator(".st-key-classroom_key_in_page input").fill(KEY)
    _main(t).get_by_role("button", name="Unlock teacher mode").click()
    t.locator(".st-key-classroom_start button").wait_for()
    t.locator(".st-key-classroom_start button").click()
    heading = t.locator("h2", has_text="Class code")
    heading.wait_for()
    return t, heading.inner_text().split()[-1]


def join(browser, url, code, name, **ctx):
    s = _page(browser, f"{url}/class", **ctx)
    s.locator(".st-key-classroom_code_in_page input").fill(code)
    s.locator(".st-key-classroom_name_in_page input").fill(name)
    _main(s).get_by_role("button", name="Join the class").click()
    s.wait_for_url("**/convolution**")
    s.get_by_text("Step 1 of 12", exact=False).wait_for()
    s.evaluate(WATCH)  # students poll every second, so their app is rarely idle: wait on text
    return s


def where_url(url: str) -> tuple[str, dict]:
    u = urlparse(url)
    # the training page's `owner` is each browser's own id, not the lesson's state
    return u.path, {k: v for k, v in parse_qsl(u.query) if k != "owner"}


def where(page) -> tuple[str, dict]:
    return where_url(page.url)


def advance(teacher, students, n):
    """Teacher clicks Next; returns each student's ms from the click to showing step n."""
    t0 = time.time() * 1000
    teacher.locator(".st-key-classroom_next button").click()
    out = []
    for s in students:
        # a student's poll waits for the page's own run to finish (the training page times
        # a few batches the first time it opens), so allow for a slow, shared machine
        s.wait_for_function("n => window.__steps && (n in window.__steps)", arg=str(n),
                            timeout=180_000)
        out.append(s.evaluate("n => window.__steps[n]", str(n)) - t0)
    teacher.get_by_text(f"Step {n} of 12", exact=False).wait_for()
    teacher.locator(".st-key-classroom_next button").wait_for()
    for s in students:  # the same page in the same state as the teacher's
        s.wait_for_url(lambda u: where_url(u) == where_url(teacher.url))
    return out


def test_a_lesson_with_one_teacher_and_two_students(class_server, _browser):
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)  # a shared 2-core machine: generous waits, no sleeps
    teacher, code = start_lesson(_browser, class_server)
    a = join(_browser, class_server, code, "Ji-woo")
    b = join(_browser, class_server, code, "<i>Sam</i>")
    for s in (a, b):
        expect(s.get_by_text("Step 1 of 12", exact=False)).to_be_visible()
        assert where(s) == ("/convolution", {"preset": "example_b", "tab": "why"})
        expect(s.get_by_role("tab", name="Why convolution?", selected=True)).to_be_visible()

    latencies = []
    for n in range(2, 7):  # A, B and stacking, filters, pooling, 3-D volumes
        latencies += advance(teacher, [a, b], n)
        assert where(a) == where(b) == where(teacher), (n, a.url, b.url, teacher.url)
        if n == 3:  # each step opens its own section of the page
            expect(a.get_by_role("tab", name="Stacking", selected=True)).to_be_visible()
    assert where(a) == ("/pooling", {"preset": "six", "kernel": "3", "stride": "3", "tab": "volume"})
    expect(a.locator(".st-key-pooling_kernel")).to_contain_text("3")

    # B leaves follow mode and stays put while A moves on
    b.locator(".st-key-classroom_follow label").click()
    expect(b.get_by_text("Exploring on your own")).to_be_visible()
    latencies += advance(teacher, [a], 7)
    expect(b.get_by_text("Exploring on your own; the class is at step 7")).to_be_visible()
    assert where(a)[0] == "/shapes" and where(b)[0] == "/pooling"

    # the training lock hides the training controls from B (not yet the training step)
    b.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Training").click()
    expect(b.get_by_text("locked training", exact=False)).to_be_visible()
    assert b.locator(".st-key-training_start").count() == 0

    for n in range(8, 13):  # on to the last step, the class's results on the Draw page
        latencies += advance(teacher, [a], n)
    assert where(a)[0] == "/draw"
    teacher.locator("[data-testid='stSidebar']").get_by_role("link", name="Class panel").click()
    teacher.locator(".st-key-classroom_end").wait_for()

    canvas = a.locator(".dc-canvas.upper-canvas").first
    box = canvas.bounding_box()
    a.mouse.move(box["x"] + 150, box["y"] + 40)
    a.mouse.down()
    for k in range(1, 16):
        a.mouse.move(box["x"] + 150 - 10 * k / 15, box["y"] + 40 + 200 * k / 15)
    a.mouse.up()
    expect(a.locator(METRIC)).to_have_text("1", timeout=60_000)
    a.locator("[class*='st-key-classroom_send_'] button").click()
    expect(a.get_by_text("Sent to the class as a 1")).to_be_visible()
    expect(teacher.get_by_text("read 1 · drew 1")).to_be_visible(timeout=30_000)
    expect(teacher.get_by_text("Ji-woo", exact=True)).to_be_visible()
    expect(teacher.locator(METRIC).first).to_have_text("2")  # connected students
    for p in (teacher, a, b):
        assert p.locator("[data-testid='stException']").count() == 0

    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    print(f"\nfollow latency over {len(latencies)} moves: p50 {latencies[len(latencies) // 2]:.0f} ms,"
          f" p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms")
    for p in (teacher, a, b):
        p.context.close()


def touch_stroke(page, canvas, points, steps=12):
    """A finger stroke: real touch events through Chromium's input pipeline (CDP)."""
    box = canvas.bounding_box()
    cdp = page.context.new_cdp_session(page)
    pts = [(box["x"] + x, box["y"] + y) for x, y in points]

    def send(kind, x=None, y=None):
        touch = [] if x is None else [{"x": x, "y": y, "radiusX": 4, "radiusY": 4, "force": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch})

    send("touchStart", *pts[0])
    for (ax, ay), (bx, by) in zip(pts, pts[1:]):
        for k in range(1, steps + 1):
            send("touchMove", ax + (bx - ax) * k / steps, ay + (by - ay) * k / steps)
    send("touchEnd")


@pytest.mark.parametrize("width,height", [(390, 844), (1024, 768)])
def test_drawing_with_a_finger_on_a_phone_and_a_tablet(class_server, _browser, width, height):
    from playwright.sync_api import expect

    page = _page(_browser, f"{class_server}/draw", viewport={"width": width, "height": height},
                 has_touch=True, is_mobile=True, device_scale_factor=2)
    canvas = page.locator(".dc-canvas.upper-canvas").first
    canvas.scroll_into_view_if_needed()
    touch_stroke(page, canvas, [(150, 40), (140, 240)])
    expect(page.locator(METRIC)).to_have_text("1", timeout=120_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1  # no sideways scroll
    assert page.locator("[data-testid='stException']").count() == 0
    page.context.close()


def test_a_student_joins_from_the_link_under_the_qr_code(class_server, _browser):
    from playwright.sync_api import expect

    teacher, code = start_lesson(_browser, class_server)
    link = f"{class_server}/class?join={code}"
    expect(_main(teacher).get_by_text(link, exact=True)).to_be_visible()
    # the QR code (it may arrive a moment after the link's text: wait for it, do not count)
    expect(_main(teacher).locator("[data-testid='stImage'] img").first).to_be_visible()
    s = _page(_browser, link, viewport={"width": 390, "height": 844}, has_touch=True)
    expect(s.locator(".st-key-classroom_code_in_page input")).to_have_value(code)
    _main(s).get_by_role("button", name="Join the class").click()
    s.wait_for_url("**/convolution**")
    expect(s.get_by_text("Step 1 of 12", exact=False)).to_be_visible()
    for p in (teacher, s):
        p.context.close()
