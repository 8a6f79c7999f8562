"""A real browser (Debian's Chromium, driven by Playwright) against a launched app: type a wish, see the
list, like an item, critique, see the list change, reload and find the profile kept."""
import os
import shutil
from pathlib import Path

import pytest

from conftest import launched_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.slow

playwright = pytest.importorskip("playwright.sync_api")
if not os.path.exists(CHROMIUM):
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with launched_app(tmp_path_factory.mktemp("browser")) as (url, _):
        yield url


def radio_labels(page):
    return page.locator("label").filter(has_text=__import__("re").compile(r"^\s*\d\. ")).all_inner_texts()


def test_browser_conversation(app_url, tmp_path):
    shots = Path(os.environ.get("CHATREC_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(app_url)
        page.get_by_text("Tell me what you feel like watching").first.wait_for(timeout=60000)
        box = page.get_by_placeholder("e.g. something like Alien but less gory")
        box.fill("comedies from the 90s")
        box.press("Enter")
        page.locator("label", has_text="1. ").first.wait_for(timeout=60000)
        first = radio_labels(page)
        assert len(first) == 5
        page.screenshot(path=str(shots / "chat.png"), full_page=True)
        page.locator("label", has_text=first[0].strip()).first.click()
        page.get_by_role("button", name="👍 Like").click()
        page.get_by_text("Noted: you like").first.wait_for(timeout=60000)
        page.get_by_role("button", name="Older").click()
        page.wait_for_function(
            "(old) => [...document.querySelectorAll('label')].map(l => l.innerText.trim())"
            ".filter(t => /^\\d\\. /.test(t)).join('|') !== old", arg="|".join(t.strip() for t in first),
            timeout=60000)
        assert radio_labels(page) != first
        liked_title = first[0].split(". ", 1)[1].rsplit(" (", 1)[0].strip()
        page.reload()
        page.get_by_text("Welcome back").first.wait_for(timeout=60000)
        assert liked_title in page.locator("text=Liked:").first.locator("..").inner_text()
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(shots / "phone.png"), full_page=True)
        browser.close()
