"""The training lab in a real browser: a run with a moving progress bar, saved, then picked."""
import os

import pytest

from tests.conftest import wait_for_app

pytestmark = pytest.mark.browser


def pick(page, label: str, option: str) -> None:
    page.get_by_label(label).first.click()
    page.get_by_role("option", name=option).first.click()
    wait_for_app(page)


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label).first
    box.fill(str(value))
    box.press("Enter")
    wait_for_app(page)


def test_train_save_and_pick_on_the_draw_page(app_server, browser_page, tmp_path):
    page = browser_page
    shots = os.environ.get("CNNDEMO_SHOTS", str(tmp_path))
    os.makedirs(shots, exist_ok=True)
    page.goto(app_server)  # the entry point first: it registers the app's navigation
    wait_for_app(page)
    page.goto(f"{app_server}/training")
    wait_for_app(page)
    assert page.locator("h1").first.inner_text().startswith("Training lab")
    pick(page, "Architecture", "MLP 784-1024-10 (tanh)")
    set_number(page, "Batch size", 16)
    set_number(page, "Epochs", 2)
    page.get_by_role("button", name="Start training").click()
    bar = page.locator("[data-testid='stProgress'] [role='progressbar']").first
    bar.wait_for(timeout=90_000)
    seen = set()
    result = page.locator("[data-testid='stMetric']").filter(has_text="Test accuracy")
    for _ in range(600):
        if result.count():
            break
        values = page.eval_on_selector_all(
            "[data-testid='stProgress'] [role='progressbar']",
            "els => els.map(e => e.getAttribute('aria-valuenow'))")
        seen.update(int(float(v)) for v in values if v is not None)
        page.wait_for_timeout(200)
    assert result.count(), "the run did not finish"
    assert any(0 < v < 100 for v in seen), f"no progress seen between 0 and 100: {seen}"
    wait_for_app(page)
    acc = result.first.inner_text().split()[-1]
    assert acc.endswith("%")
    page.screenshot(path=os.path.join(shots, "training_results.png"), full_page=True)
    name = page.get_by_label("Name", exact=True).first  # not the classroom's "Your name"
    name.fill("browser-mlp")
    name.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Save", exact=True).click()
    wait_for_app(page)
    page.get_by_text("Saved as browser-mlp").wait_for(timeout=30_000)
    page.get_by_role("tab", name="Saved models").click()
    saved = page.locator("[role=tabpanel]:visible")  # the Saved models tab, now open
    saved.get_by_text("browser-mlp", exact=False).first.wait_for(timeout=30_000)
    page.goto(f"{app_server}/draw")
    wait_for_app(page)
    pick(page, "Active model", "browser-mlp (mnist")
    # the sidebar now describes the model just trained: its own held-out accuracy
    assert f"Trained on MNIST: {acc} on 1,000 held-out images" in page.locator(
        "[data-testid='stSidebar']").inner_text()
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=os.path.join(shots, "training_draw_pick.png"), full_page=True)
