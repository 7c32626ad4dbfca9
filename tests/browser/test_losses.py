"""The loss lab in a real browser: the course table, the bits toggle, a typed bad input."""
import os

import pytest

from tests.conftest import wait_for_app

pytestmark = pytest.mark.browser


def open_losses(page, base_url):
    """Through the app's own navigation, as a student would."""
    page.goto(base_url)
    wait_for_app(page)
    page.locator("[data-testid='stSidebarNav'] a[href$='/losses']").click()
    wait_for_app(page)
    page.get_by_role("tab", name="② CE vs MSE vs L1").click()


def rows(page):
    table = page.locator("[data-testid='stTable'] tbody tr")
    return [table.nth(i).inner_text().split() for i in range(table.count())]


def test_course_table_in_browser(app_server, browser_page, tmp_path):
    page = browser_page
    open_losses(page, app_server)
    assert page.locator("h1").first.inner_text().startswith("Loss lab")
    page.get_by_text("The course table (dog vs cat)").click()
    wait_for_app(page)
    assert rows(page) == [["0.9", "0.1054", "0.0100", "0.1000"],
                          ["0.3", "1.2040", "0.4900", "0.7000"],
                          ["0.1", "2.3026", "0.8100", "0.9000"]]
    page.get_by_role("radiogroup", name="The model gives the cat").get_by_text("0.3").click()
    wait_for_app(page)
    metric = page.locator("[data-testid='stMetric']").filter(has_text="Cross-entropy").first
    assert "1.2040" in metric.inner_text()
    page.get_by_text("bits (log₂)").click()
    wait_for_app(page)
    assert [r[1] for r in rows(page)] == ["0.1520", "1.7370", "3.3219"]
    shot = os.environ.get("CNNDEMO_SHOTS", str(tmp_path))
    os.makedirs(shot, exist_ok=True)
    page.screenshot(path=os.path.join(shot, "losses_course_table.png"), full_page=True)
    assert page.locator("[data-testid='stException']").count() == 0


def test_negative_probability_is_rejected_in_browser(app_server, browser_page):
    page = browser_page
    open_losses(page, app_server)
    page.get_by_text("Type them").click()
    wait_for_app(page)
    box = page.get_by_label("Probabilities of classes 0, 1, 2")
    box.fill("0.5, -0.2, 0.7")
    box.press("Enter")
    wait_for_app(page)
    error = page.locator("[data-testid='stAlertContentError']").first
    assert "negative" in error.inner_text()
    assert page.locator("[data-testid='stException']").count() == 0


def test_a_link_opens_its_tab_in_browser(app_server, browser_page):
    page = browser_page
    page.goto(app_server.rstrip("/") + "/losses?tab=grad&true=1")
    wait_for_app(page)
    selected = page.get_by_role("tab", selected=True)
    assert selected.inner_text().strip() == "③ Why MSE learns slowly"
    metric = page.locator("[data-testid='stMetric']").filter(has_text="CE/").first
    assert "z1" in metric.inner_text()  # the link's true class, in the gradients tab
    page.get_by_role("tab", name="④ Entropy and KL").click()
    wait_for_app(page)
    page.wait_for_function("() => location.search.includes('tab=entropy')")
    assert page.locator("[data-testid='stException']").count() == 0
