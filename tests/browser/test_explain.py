"""A student draws a 7 on the Draw page, opens Explain, and sees four maps and a successful attack."""
import pytest

from tests.browser.test_draw import METRIC, canvas, stroke

pytestmark = pytest.mark.browser


def test_draw_a_seven_then_explain_and_fool_it(app_server, browser_page, app_ready):
    from playwright.sync_api import expect

    page = browser_page
    page.goto(f"{app_server}/draw")
    app_ready(page)
    stroke(page, canvas(page), [(60, 50), (220, 50), (120, 245)])
    expect(page.locator(METRIC).first).to_have_text("7", timeout=60_000)
    app_ready(page)

    # Same session: follow the sidebar link (a new URL would start a new session without the drawing).
    page.locator("[data-testid='stSidebarNav'] a", has_text="Explain").click()
    expect(page.locator("h1").first).to_have_text("Why did it say that, and can we fool it?", timeout=60_000)
    app_ready(page)
    expect(page.get_by_text("my last drawing")).to_be_visible()
    expect(page.locator(METRIC).first).to_have_text("7", timeout=90_000)
    for title in ("Saliency (gradient) · 7", "Integrated Gradients · 7", "Grad-CAM · 7", "Occlusion · 7"):
        expect(page.get_by_text(title, exact=True)).to_be_visible()
    maps = page.locator("[data-testid='stImage'] img")
    assert maps.count() >= 5  # the input and the four maps, at least
    for i in range(5):
        assert maps.nth(i).evaluate("img => img.complete && img.naturalWidth") == 224
    expect(page.get_by_text("Its real resolution is only 14×14", exact=False)).to_be_visible()

    attack = page.get_by_text("PGD, targeted: make it say 3")
    attack.scroll_into_view_if_needed()
    fooled = page.get_by_text("Fooled: “7” became", exact=False)  # FGSM, PGD, targeted PGD, in order
    expect(fooled.nth(2)).to_be_visible()
    assert fooled.count() == 3
    assert fooled.nth(2).inner_text().startswith("Fooled: “7” became “3”")
    assert page.locator(METRIC).nth(3).inner_text() == "3"
    assert page.locator("[data-testid='stException']").count() == 0
