"""A real browser (Debian's Chromium, driven by Playwright) against a launched app: type a wish, see the
list, like an item, critique, see the list change, reload and find the profile kept."""
import os
import re
import shutil
import time
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


VISIBLE_TITLES = """const titles = [];
    for (let n = 1; n <= 10; n++) {
        const card = document.getElementById('card-' + n);
        if (!card || card.offsetParent === null) continue;
        const strong = card.querySelector('.chatrec-card-body strong');
        titles.push(strong ? strong.innerText : '');
    }"""


def card_titles(page) -> list[str]:
    """Titles on the visible recommendation cards, in order."""
    return page.evaluate(f"() => {{ {VISIBLE_TITLES} return titles; }}")


def wait_for_new_cards(page, old: list[str]):
    page.wait_for_function(f"(old) => {{ {VISIBLE_TITLES} return titles.length > 0 && titles.join('|') !== old; }}",
                           arg="|".join(old), timeout=60000)


def welcome_back(page, shots):
    try:
        page.get_by_text("Welcome back").first.wait_for(timeout=60000)
    except playwright.TimeoutError:
        page.screenshot(path=str(shots / "no-welcome-back.png"), full_page=True)
        stored = page.evaluate("() => localStorage.getItem('chatrec_user')")
        pytest.fail(f"no 'Welcome back' after reload; stored id: {stored!r}; page says: "
                    f"{page.locator('body').inner_text()[:800]!r}")


def test_browser_conversation(app_url, tmp_path):
    shots = Path(os.environ.get("CHATREC_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        # a slow first paint (as on a cold machine): component code arrives late, so the browser-state
        # component may mount after the page's `load` event already ran; the user's id must be stored anyway
        def slow(route):
            time.sleep(1.0)
            route.continue_()
        page.route(re.compile(r"/assets/Index-[^/]*\.js"), slow)
        page.goto(app_url)
        page.get_by_text("Tell me what you feel like watching").first.wait_for(timeout=60000)
        box = page.get_by_placeholder("e.g. something like Alien but less gory")
        box.fill("comedies from the 90s")
        box.press("Enter")
        wait_for_new_cards(page, [])
        first = card_titles(page)
        assert len(first) == 5 and all(t.startswith(f"{n}. ") for n, t in enumerate(first, 1))
        assert "Why:" in page.locator("#card-1").first.inner_text()
        page.screenshot(path=str(shots / "chat.png"), full_page=True)
        page.locator("#like-1").click()
        page.get_by_text("Noted: you like").first.wait_for(timeout=60000)
        page.locator("#card-1").first.get_by_text("You liked this").wait_for(timeout=60000)
        page.get_by_role("button", name="Older").click()
        wait_for_new_cards(page, first)
        older = card_titles(page)
        page.locator("#more-2").click()
        wait_for_new_cards(page, older)
        liked_title = first[0].split(". ", 1)[1].rsplit(" (", 1)[0].strip()
        for _ in range(2):
            page.reload()
            welcome_back(page, shots)
            assert liked_title in page.locator("text=Liked:").first.locator("..").inner_text()
        page.unroute(re.compile(r"/assets/Index-[^/]*\.js"))
        page.set_viewport_size({"width": 390, "height": 844})
        box = page.get_by_placeholder("e.g. something like Alien but less gory")
        box.fill("a heist film, no horror")
        box.press("Enter")
        wait_for_new_cards(page, [])
        page.screenshot(path=str(shots / "phone.png"), full_page=True)
        browser.close()
