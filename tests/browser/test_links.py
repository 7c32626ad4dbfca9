"""A lab's state is a link: the sidebar's "Copy link" shows this page's address with its
controls, and that address opens the same state in a fresh browser."""
import pytest

from tests.conftest import wait_for_app

pytestmark = pytest.mark.browser


def test_the_copy_link_opens_the_same_state_in_a_fresh_browser(app_server, _browser):
    from playwright.sync_api import expect

    first = _browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    first.goto(f"{app_server}/pooling?preset=six&kernel=3&stride=3", timeout=180_000)
    wait_for_app(first)
    sidebar = first.locator("[data-testid='stSidebar']")
    sidebar.get_by_role("button", name="Copy link").click()
    shown = first.locator("[data-testid='stPopoverBody'] code").first
    shown.wait_for()
    link = shown.inner_text().strip()
    assert link.startswith(f"{app_server}/pooling?"), link
    assert "/pooling/pooling" not in link
    for part in ("preset=six", "kernel=3", "stride=3"):
        assert part in link, link

    fresh = _browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    fresh.goto(link, timeout=180_000)
    wait_for_app(fresh)
    for key in ("pooling_kernel", "pooling_stride"):
        expect(fresh.locator(f".st-key-{key} input[type='range']")).to_have_value(
            "3", timeout=60_000)
    assert fresh.locator("[data-testid='stException']").count() == 0
    for p in (first, fresh):
        p.context.close()
