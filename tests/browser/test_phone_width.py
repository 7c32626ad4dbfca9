"""Every lesson page on a phone: 390 px wide, touch, in both languages.

Usable means: the page runs without an exception, nothing sticks out past the screen's right
edge (a wide code block or a row of tabs may scroll inside its own box, as on any phone, but
the page itself never scrolls sideways), and the page's title is on screen.
"""
import pytest

from tests.conftest import wait_for_app
from ui.pages import PAGES

pytestmark = pytest.mark.browser
WIDTH = 390
# elements whose right edge is past the screen and that are not inside a box that scrolls or
# clips them within the screen: what a student could not reach
CUT_OFF = """(w) => { const main = document.querySelector('[data-testid=stMain]'); const out = [];
  const inside = (e) => { for (let a = e.parentElement; a && a !== main; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (['auto', 'scroll', 'hidden', 'clip'].includes(ox) && a.getBoundingClientRect().right <= w + 1)
        return true; } return false; };
  for (const e of main.querySelectorAll('*')) { const r = e.getBoundingClientRect();
    if (r.width > 0 && r.height > 0 && r.right > w + 1 && !inside(e))
      out.push(`${e.tagName}.${e.getAttribute('data-testid') || e.className} right=${Math.round(r.right)}`); }
  return {doc: document.documentElement.scrollWidth, main: main.scrollWidth, cut: out.slice(0, 5)}; }"""


@pytest.fixture(scope="module")
def phone(_browser):
    context = _browser.new_context(viewport={"width": WIDTH, "height": 844}, has_touch=True,
                                   is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(90_000)
    yield page
    context.close()


def _fits(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0
    title = page.locator("[data-testid='stMain'] h1").first
    title.wait_for()
    box = title.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 1
    fit = page.evaluate(CUT_OFF, WIDTH)
    assert fit["doc"] <= WIDTH and fit["main"] <= WIDTH, fit
    assert fit["cut"] == [], fit


@pytest.mark.parametrize("name", [name for _, name, _ in PAGES])
def test_every_page_fits_a_phone(app_server, phone, name):
    phone.goto(f"{app_server}/{'' if name == 'home' else name}", timeout=180_000)
    wait_for_app(phone, timeout_ms=180_000)
    _fits(phone)


def test_every_page_fits_a_phone_in_korean(app_server, phone):
    """The language is a choice in the sidebar, kept while a student moves between pages."""
    phone.goto(app_server, timeout=180_000)
    wait_for_app(phone, timeout_ms=180_000)
    sidebar = phone.locator("[data-testid='stSidebar']")
    phone.locator("[data-testid='stExpandSidebarButton']").click()
    sidebar.get_by_text("한국어").click()
    wait_for_app(phone, timeout_ms=180_000)
    for _, name, _ in PAGES[1:]:
        if not sidebar.is_visible():
            phone.locator("[data-testid='stExpandSidebarButton']").click()
        sidebar.locator(f"a[href$='/{name}']").first.click()
        phone.wait_for_url(f"**/{name}*")
        wait_for_app(phone, timeout_ms=180_000)
        phone.locator("[data-testid='stMain'] h1").first.wait_for()
        assert any("\uac00" <= ch <= "\ud7a3" for ch in
                   phone.locator("[data-testid='stMain'] h1").first.inner_text()), name
        _fits(phone)
