"""The app as a student reaches it: a shared link straight to a lesson, and the home page."""
import pytest

from tests.conftest import wait_for_app


@pytest.mark.parametrize("path,heading", [("convolution", "Convolution"), ("losses", "Loss lab")])
def test_a_direct_link_opens_the_lesson_with_the_app_sidebar(app_server, browser_page, path,
                                                             heading):
    page = browser_page
    page.goto(f"{app_server}/{path}")
    page.locator("h1").filter(has_text=heading).wait_for()
    wait_for_app(page)
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_text("Active model").wait_for()           # the model picker from app.py
    assert sidebar.get_by_text("한국어").count() == 1       # the language switch from app.py
    assert "Draw a digit" in sidebar.inner_text()          # navigation titles, not file names
    assert heading in page.locator("h1").first.inner_text()
    assert page.locator("[data-testid='stException']").count() == 0


def test_switching_to_korean_translates_the_home_page(app_server, browser_page):
    page = browser_page
    page.goto(app_server)
    wait_for_app(page)
    assert "cnndemo" in page.locator("h1").first.inner_text()
    page.locator("[data-testid='stSidebar']").get_by_text("한국어").click()
    wait_for_app(page)
    assert "합성곱 신경망" in page.locator("h1").first.inner_text()
    assert "숫자 그리기" in page.locator("[data-testid='stSidebar']").inner_text()
