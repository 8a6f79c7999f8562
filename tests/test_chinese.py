"""Chinese and mixed-language conversations: detection, replies, feedback in Chinese, the alias table, query
translation, the CLI and the web app. Tiny catalog and the hashing embedder, except the alias-table check."""
import csv
import json
import re
import string
import subprocess
import sys

import pytest

from chatrec.catalog import load_catalog
from chatrec.config import ROOT
from chatrec.chat.explain import LLMExplainer, template_reason
from chatrec.understand.intent import ParseContext
from chatrec.understand.rules import RuleParser
from chatrec.lang import MESSAGES, UI, detect, from_accept_language, t
from chatrec.llm import FakeLLM
from conftest import TINY, cli_env, launched_app

CAT = load_catalog(TINY)
RULES = RuleParser(CAT)
ITEM_KEYS = {"item_id", "title", "year", "genres", "score", "explanation"}


def zh(text: str) -> bool:
    return detect(text) == "zh"


# ------------------------------------------------------------------ language detection and the message catalog

@pytest.mark.parametrize("text, lang", [
    ("推荐几部九十年代的喜剧", "zh"), ("不喜欢第二部", "zh"), ("再来几部类似的", "zh"),
    ("推荐一些像 The Matrix 的电影", "zh"), ("Miyazaki 的动画", "zh"), ("90年代的 comedy", "zh"),
    ("comedies from the 90s", "en"), ("something like Alien but less gory", "en"),
    ("I watched it with my friend 小王 yesterday and we both loved it", "en"),
    ("2", None), ("👍", None), ("", None), ("？？", None),
])
def test_detect(text, lang):
    assert detect(text) == lang


def test_accept_language():
    assert from_accept_language("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert from_accept_language("zh-TW") == "zh"
    assert from_accept_language("en-GB,en;q=0.9") == "en"
    assert from_accept_language(None) == "en"


def test_every_message_has_both_languages_with_the_same_placeholders():
    fields = lambda s: {f for _, f, _, _ in string.Formatter().parse(s) if f}  # noqa: E731
    for key, entry in MESSAGES.items():
        assert set(entry) == {"en", "zh"}, key
        assert fields(entry["zh"]) - {"kind_zh"} <= fields(entry["en"]) | {"kind"}, key
    assert set(UI["en"]) == set(UI["zh"])
    assert t("goodbye", "zh") == "再见！你的喜好已经保存，下次再来。"
    assert t("goodbye", "fr") == t("goodbye", "en")  # no translation: English


# ------------------------------------------------------------------ the parser: aliases, collections, translation

def test_chinese_titles_people_and_series_link_to_catalog_items():
    spirited, totoro, star_wars = "34", "35", "3"
    assert RULES.parse("我喜欢千与千寻").liked == [spirited]
    assert RULES.parse("像星球大战那样的电影").liked == [star_wars]  # the title, as a model to follow
    intent = RULES.parse("宫崎骏的动画")
    assert intent.collections == ["Hayao Miyazaki"] and intent.genres_in == ["Animation"]
    assert set(RULES.collection_items(intent.collections)) == {spirited, totoro}  # only what the catalog has
    assert RULES.parse("Miyazaki's animated films").collections == ["Hayao Miyazaki"]
    assert RULES.parse("星球大战系列").collections == ["Star Wars"]
    assert RULES.parse("the Star Wars films").collections == ["Star Wars"]


def test_query_translation_puts_chinese_wishes_in_english():
    assert RULES.parse("关于恐龙的电影").wish_text == "dinosaur dinosaurs"
    intent = RULES.parse("有没有关于时间旅行的科幻片")
    assert intent.genres_in == ["Sci-Fi"] and intent.wish_text == "time travel"
    assert RULES.parse("关于太空的电影").wish_text == "space"  # a genre word that says more than the genre
    assert RuleParser(CAT, translate=False).parse("关于恐龙的电影").wish_text == "恐龙"
    assert RULES.parse("功夫电影").liked == []  # an everyday word, not the film called 功夫


def test_chinese_feedback_intents():
    last = ParseContext(["10", "11", "12", "13", "14"])
    intent = RULES.parse("不喜欢第二部", last)
    assert (intent.kind, intent.sentiment, intent.refs) == ("feedback", "dislike", [2])
    assert RULES.parse("再来几部类似的", last).kind == "refine"


def test_alias_table_holds_only_catalog_films():
    """Every row of the shipped table names a MovieLens film by the id and title it has in the bundled catalog."""
    movielens = load_catalog(ROOT / "data" / "movielens")
    with open(ROOT / "data" / "movielens" / "aliases_zh.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) > 500
    for row in rows:
        item = movielens.get(row["movie_id"])
        assert item is not None and item.title == row["title"], row
        assert row["kind"] in ("title", "person", "series")
    rules = RuleParser(movielens)
    assert len(rules.collection_items(["Hayao Miyazaki"])) >= 9
    assert rules.parse("千与千寻").liked == ["5618"]


# ------------------------------------------------------------------ explanations

def test_template_reason_in_chinese():
    alien = CAT["1"]
    reason = template_reason(alien, "space", ["Sci-Fi"], lang="zh")
    assert zh(reason) and "科幻" in reason and "space" in reason and reason.endswith("。")
    assert not re.search(r"\b(it is|rated|as you asked)\b", reason)


def test_llm_explanation_in_chinese_is_checked_like_the_english_one():
    alien = CAT["1"]
    fallback = template_reason(alien, "", ["Sci-Fi"], lang="zh")
    ok = LLMExplainer(FakeLLM(["一部太空船员被致命外星生物追杀的科幻恐怖片。"]), "prompt", CAT)
    assert ok.reason(alien, "space", fallback, lang="zh") == "一部太空船员被致命外星生物追杀的科幻恐怖片。"
    assert "Simplified Chinese" in ok.llm.calls[0][-1]["content"]
    invented = LLMExplainer(FakeLLM(["这部电影获得了奥斯卡最佳视觉效果奖，非常精彩。"]), "prompt", CAT)
    assert invented.reason(alien, "space", fallback, lang="zh") == fallback
    english = LLMExplainer(FakeLLM(["A scary Sci-Fi Horror film about a deadly alien creature."]), "prompt", CAT)
    assert english.reason(alien, "space", fallback, lang="zh") == fallback


# ------------------------------------------------------------------ conversations through the library

def test_chinese_conversation_replies_in_chinese(recommender):
    s = recommender.session()
    r = s.turn("你好")
    assert r["intent"]["kind"] == "chitchat" and zh(r["reply"])
    r = s.turn("推荐几部九十年代的喜剧")
    assert set(r) == {"reply", "intent", "items"} and len(r["items"]) == 5
    assert all(set(it) == ITEM_KEYS for it in r["items"])
    assert all("Comedy" in it["genres"] and 1990 <= it["year"] <= 1999 for it in r["items"])
    assert zh(r["reply"]) and all(zh(it["explanation"]) for it in r["items"])
    first = [it["item_id"] for it in r["items"]]

    r = s.turn("不喜欢第二部")  # "I don't like the second one"
    assert (r["intent"]["kind"], r["intent"]["sentiment"], r["intent"]["refs"]) == ("feedback", "dislike", [2])
    assert first[1] in s.profile.disliked and zh(r["reply"])

    r = s.turn("再来几部类似的")  # "a few more like these"
    assert r["intent"]["kind"] == "refine" and r["items"] and zh(r["reply"])
    assert not set(first) & {it["item_id"] for it in r["items"]}
    assert all("Comedy" in it["genres"] for it in r["items"])  # the same request, more of it

    r = s.handle("/like 1")
    assert r["intent"]["sentiment"] == "like" and zh(r["reply"])  # a command keeps the chat's language
    assert zh(s.turn("介绍一下第一部")["reply"])
    r = s.turn("comedies from the 80s")
    assert not zh(r["reply"]) and r["reply"].startswith("Here are some picks")  # English again: replies follow
    assert zh(s.turn("再见")["reply"])


def test_miyazaki_in_chinese_gives_his_films(recommender):
    r = recommender.session().turn("宫崎骏的动画")
    assert {it["title"] for it in r["items"]} == {"Spirited Away", "My Neighbor Totoro"}
    assert "宫崎骏" in r["reply"] and "《千与千寻》" in r["reply"]


def test_chinese_critique_and_errors(recommender):
    s = recommender.session()
    assert zh(s.turn("不喜欢第二部")["reply"])  # no list yet: said in Chinese
    s.turn("推荐几部科幻片")
    r = s.critique("older")
    assert r["intent"]["kind"] == "refine" and zh(r["reply"])
    assert zh(s.feedback(9, "like")["reply"])


# ------------------------------------------------------------------ CLI and web app

def test_cli_chinese_script(tmp_path):
    script = ["你好", "推荐几部九十年代的喜剧", "不喜欢第二部", "再来几部类似的", "/like 1", "宫崎骏的动画", "再见"]
    proc = subprocess.run([sys.executable, "-m", "chatrec.app.cli", "chat", "--json", "--user", "zh-user"],
                          input="\n".join(script) + "\n", text=True, capture_output=True, env=cli_env(tmp_path),
                          timeout=240)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(out) == len(script)
    assert [o["intent"]["kind"] for o in out] == ["chitchat", "recommend", "feedback", "refine", "feedback",
                                                  "recommend", "goodbye"]
    assert all(set(o) == {"reply", "intent", "items"} and zh(o["reply"]) for o in out)
    assert all(set(it) == ITEM_KEYS for o in out for it in o["items"])
    assert out[2]["intent"]["sentiment"] == "dislike" and out[2]["items"] == []
    disliked = out[1]["items"][1]["item_id"]
    assert disliked not in {it["item_id"] for it in out[3]["items"]}
    assert {it["title"] for it in out[5]["items"]} == {"Spirited Away", "My Neighbor Totoro"}
    assert "千与千寻" in proc.stdout  # written as UTF-8, not \u escapes


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with launched_app(tmp_path_factory.mktemp("zh-app")) as (url, _):
        yield url


def test_gradio_client_chinese_conversation(app_url):
    from gradio_client import Client

    c = Client(app_url, verbose=False)
    r = c.predict("推荐几部九十年代的喜剧", api_name="/chat")
    assert set(r) == {"reply", "intent", "items"} and len(r["items"]) == 5 and zh(r["reply"])
    second = r["items"][1]["item_id"]
    fb = c.predict("不喜欢第二部", api_name="/chat")
    assert fb["intent"]["kind"] == "feedback" and fb["intent"]["sentiment"] == "dislike" and zh(fb["reply"])
    more = c.predict("再来几部类似的", api_name="/chat")
    assert more["intent"]["kind"] == "refine" and zh(more["reply"])
    assert second not in {it["item_id"] for it in more["items"]}
    liked = c.predict(1, "like", api_name="/feedback")
    assert zh(liked["reply"])
    assert c.predict(api_name="/profile")["disliked"][0]["item_id"] == second
    assert not zh(c.predict("hello", api_name="/chat")["reply"])


def test_app_ships_chinese_interface_strings(app_url):
    import urllib.request

    config = json.loads(urllib.request.urlopen(app_url + "config", timeout=30).read().decode("utf-8"))
    translations = config["i18n_translations"]
    assert {"en", "zh", "zh-CN"} <= set(translations)
    assert translations["zh"]["send"] == "发送" and "42" in translations["zh"]["intro"]
    assert "__i18n__" in json.dumps(config["components"], ensure_ascii=False)  # components carry keys, not text


@pytest.mark.slow
def test_browser_in_chinese(app_url, tmp_path):
    """A browser whose locale is zh-CN sees the interface in Chinese (gr.I18n) and a Chinese greeting (the
    Accept-Language header), chats in Chinese and gets Chinese cards."""
    import os
    import shutil
    from pathlib import Path

    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    shots = Path(os.environ.get("CHATREC_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=zh-CN"])
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page.goto(app_url)
        page.get_by_text("你好！告诉我你想看什么").first.wait_for(timeout=60000)
        page.get_by_role("button", name="发送").wait_for(timeout=30000)
        box = page.get_by_placeholder("比如：像《千与千寻》那样的动画")
        box.fill("宫崎骏的动画")
        box.press("Enter")
        page.locator("#card-1").first.get_by_text("推荐理由").wait_for(timeout=60000)
        cards = page.locator("#card-1").first.inner_text() + page.locator("#card-2").first.inner_text()
        assert "Spirited Away" in cards and "My Neighbor Totoro" in cards
        page.locator("#like-1").click()
        page.locator("#card-1").first.get_by_text("你喜欢这部").wait_for(timeout=60000)
        page.screenshot(path=str(shots / "chat-zh.png"), full_page=True)
        browser.close()


def test_onboarding_with_chinese_titles(recommender):
    s = recommender.session()
    r = s.onboard(["Animation"], "千与千寻, 龙猫")
    assert set(s.profile.liked) == {"34", "35"} and zh(r["reply"]) and r["items"]


@pytest.mark.slow
def test_chinese_requests_with_the_real_embedder_and_catalog(tmp_path):
    """MiniLM over the whole bundled catalog (index built from the shipped embedding cache): query translation
    and the alias table serve Chinese requests the English model cannot read."""
    from chatrec.chat.recommender import Recommender
    from conftest import make_config

    rec = Recommender.from_config(make_config(tmp_path, catalog=str(ROOT / "data" / "movielens"), embedder="minilm",
                                              n_items=10), progress=False)
    s = rec.session()
    r = s.turn("关于恐龙的电影")
    dinos = [it for it in r["items"] if re.search(r"dinosaur", rec.catalog[it["item_id"]].text(), re.I)]
    assert len(dinos) >= 6 and zh(r["reply"])
    r = s.turn("宫崎骏的动画")
    miyazaki = set(rec.rules.collection_items(["Hayao Miyazaki"]))
    assert len(r["items"]) == 10 and {it["item_id"] for it in r["items"]} <= miyazaki


def test_unknown_chinese_words_are_left_out_and_said(recommender):
    """An English-only embedder cannot read a Chinese word the translation table lacks: the reply says so and the
    query goes on without it (a multilingual embedder, `use`, keeps it)."""
    r = recommender.session().turn("关于疫情的科幻片")
    assert "疫情" in r["reply"].split("\n")[0] and "我还不认识" in r["reply"]
    assert r["items"] and all("Sci-Fi" in it["genres"] for it in r["items"])
    assert "疫情" in r["intent"]["wish_text"]  # the intent still says what was asked


def test_traditional_characters_are_read():
    intent = RULES.parse("推薦幾部九十年代的喜劇，不要愛情片")
    assert (intent.genres_in, intent.genres_out, intent.year_min) == (["Comedy"], ["Romance"], 1990)
    assert RULES.parse("宮崎駿的動畫").collections == ["Hayao Miyazaki"]
    assert RULES.parse("關於鯊魚的電影").wish_text == "shark sharks"
    last = ParseContext(["10", "11", "12"])
    assert RULES.parse("不喜歡第二部", last).sentiment == "dislike"
