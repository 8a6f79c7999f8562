"""Screenshots of the app on the bundled MovieLens catalog, for docs/screenshots (headless Debian Chromium).

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Launches `app.py` on a free port with a fresh profile database, holds a short conversation (a wish, a like, a
critique) at desktop width, then a Chinese one at phone width, and saves PNGs. Needs `apt-get install chromium`
(and fonts-noto-color-emoji / fonts-wqy-zenhei for emoji and Chinese glyphs).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import launched_app  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]


def wait_cards(page, timeout=120000):
    page.wait_for_function("() => { const c = document.getElementById('card-1');"
                           " return c && c.offsetParent !== null && c.innerText.length > 40; }", timeout=timeout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    env = {"CHATREC_CATALOG": str(ROOT / "data" / "movielens"), "CHATREC_EMBEDDER": "minilm",
           "CHATREC_MODEL_DIR": str(Path(tempfile.mkdtemp()) / "models")}
    with launched_app(Path(tempfile.mkdtemp(prefix="chatrec-shots-")), **env) as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
        page.goto(url)
        page.get_by_text("Tell me what you feel like watching").first.wait_for(timeout=120000)
        page.screenshot(path=str(out / "start.png"))
        box = page.get_by_placeholder("e.g. something like Alien but less gory")
        box.fill("something like Alien but less gory")
        box.press("Enter")
        wait_cards(page)
        page.locator("#like-2").click()
        page.get_by_text("Noted: you like").first.wait_for(timeout=60000)
        page.screenshot(path=str(out / "cards.png"), full_page=True)
        page.get_by_role("button", name="Older").click()
        page.wait_for_timeout(3000)
        page.screenshot(path=str(out / "critique-older.png"), full_page=True)
        phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
        phone.goto(url)
        phone.wait_for_timeout(4000)
        box = phone.locator("textarea").first
        box.fill("推荐几部宫崎骏的动画电影")
        box.press("Enter")
        wait_cards(phone)
        phone.screenshot(path=str(out / "phone-zh.png"), full_page=True)
        browser.close()
    print("wrote", ", ".join(sorted(f.name for f in out.glob("*.png"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
