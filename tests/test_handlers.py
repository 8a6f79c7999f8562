"""The web app's handlers, called directly: plain values in, plain values out, no Gradio launched."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from chatrec.app.handlers import RATE_PROMPT, Handlers, Screen
from chatrec.errors import ChatrecError
from chatrec.lang import detect, t

APP = Path(__file__).resolve().parents[1] / "chatrec" / "app"
KNOBS = (5, 0.5, 0.0, False)  # n_items, diversity, novelty, use_llm as the page sends them


def ask(h: Handlers, message: str, key=None, history=None) -> Screen:
    screens = list(h.respond(message, history or [], *KNOBS, key))
    assert screens[0].history[-1]["content"] == "…" and screens[0].cards is None  # "thinking" first
    return screens[-1]


def user_of(h: Handlers, key: str) -> str:
    return h.sessions.signer.read_web(key).user_id


def zh(text: str) -> bool:
    return detect(text) == "zh"


@pytest.fixture
def h(fresh_recommender) -> Handlers:
    return Handlers(fresh_recommender)


def test_a_wish_fills_the_cards(h):
    s = ask(h, "comedies from the 90s")
    assert len(s.cards) == 5 and len(s.card_texts) == 5
    assert s.card_texts[0].startswith("**1. ") and "**Why:**" in s.card_texts[0]
    assert s.history[-1]["role"] == "assistant" and s.history[-1]["content"] != "…"  # replaced, not appended
    again = ask(h, "more like that", s.key, s.history)
    assert again.key == s.key  # the same session


def test_respond_streams_the_llm_reasons_into_the_same_message(fresh_recommender):
    from chatrec.chat.recommender import Recommender
    from chatrec.llm import FakeLLM

    base = fresh_recommender
    h = Handlers(Recommender(base.config, base.catalog, base.index, base.store, llm=FakeLLM()))
    screens = list(h.respond("comedies from the 90s", [], 5, 0.5, 0.0, True, None))
    assert len(screens) == 2 + 5  # thinking, the list, one update per item's reason
    assert all(len(s.history) == 2 for s in screens)  # the answer replaces the "thinking" line, then itself
    assert "It matches what you asked for:" in screens[-1].card_texts[0]  # the fake LLM's reason, citing the item
    assert "It matches what you asked for:" not in screens[1].card_texts[0]


def test_failed_feedback_in_chinese_leaves_the_card_undone(h, monkeypatch):
    s = ask(h, "推荐几部九十年代的喜剧")
    assert zh(s.history[-1]["content"]) and len(s.cards) == 5
    liked = t("status_like", "zh")

    def broken(*args, **kwargs):
        raise ChatrecError("disk full")
    monkeypatch.setattr(h.rec.store, "record", broken)
    failed = h.card_feedback(1, "like", None, s.history, s.cards, s.key)
    assert zh(failed.history[-1]["content"]) and "disk full" in failed.history[-1]["content"]
    assert "status" not in failed.cards[0] and liked not in failed.card_texts[0]
    bad_stars = h.card_feedback(2, "rating", "9★", s.history, s.cards, s.key)  # out of range: refused
    assert zh(bad_stars.history[-1]["content"]) and "status" not in bad_stars.cards[1]
    monkeypatch.undo()

    done = h.card_feedback(1, "like", None, failed.history, failed.cards, s.key)
    assert done.cards[0]["status"] == liked and f"**{liked}**" in done.card_texts[0]
    assert zh(done.history[-1]["content"])
    rated = h.card_feedback(2, "rating", "4★", done.history, done.cards, s.key)
    assert rated.cards[1]["status"] == t("status_rating", "zh", stars="4")
    assert [c.get("status") for c in rated.cards[2:]] == [None, None, None]
    assert h.rec.store.load(user_of(h, s.key)).liked[0] == s.cards[0]["item_id"]  # saved once


def test_feedback_on_a_stale_list_is_refused(h):
    s = ask(h, "westerns")
    cleared = h.forget(s.history, s.key)  # the session's list is gone; the page still sends the old cards
    assert cleared.cards == [] and cleared.card_texts == []
    stale = h.card_feedback(1, "like", None, cleared.history, s.cards, s.key)
    assert "status" not in stale.cards[0]
    nothing = h.card_feedback(3, "like", None, [], [], s.key)
    assert nothing.cards is None and nothing.history[-1]["content"] == t("ask_first", "en")
    unchosen = h.card_feedback(1, "rating", RATE_PROMPT, s.history, s.cards, s.key)
    assert unchosen.cards is None and unchosen.history == s.history  # the prompt itself is no rating


def test_critique_remove_onboard_export_vote(h):
    s = ask(h, "movies from the 80s and 90s")
    older = h.critique("older", None, s.history, *KNOBS, s.key)
    assert older.history[-2] == {"role": "user", "content": "Older"} and older.cards != s.cards
    refused = h.critique("more_like", 99, older.history, *KNOBS, s.key)
    assert refused.cards is None  # no new list: the cards stay
    liked = h.card_feedback(1, "like", None, older.history, older.cards, s.key)
    label = next(e for e in liked.entries if e.startswith("liked: "))
    assert h.remove_entry(None, liked.history, s.key).history[-1]["content"] == t("choose_entry", "en")
    removed = h.remove_entry(label, liked.history, s.key)
    assert label not in removed.entries and removed.cards is None
    onboarded = h.onboard(["Animation"], "", [], None)
    assert onboarded.cards and onboarded.history[0] == {"role": "user", "content": "Animation"}
    key, uid, path = h.export(s.key)
    assert key == s.key and json.loads(Path(path).read_text())["user_id"] == user_of(h, key)
    key, history = h.vote(False, [], s.key)
    assert history == [{"role": "assistant", "content": t("vote_down", "en")}]


def test_load_greets_in_the_browsers_language_and_a_stored_user_is_adopted(h):
    first = h.load("", None, "zh-CN,zh;q=0.9,en;q=0.8")
    assert first.history[0]["content"] == t("greeting", "zh") and first.uid
    s = ask(h, "westerns", first.key)
    h.card_feedback(1, "like", None, s.history, s.cards, s.key)
    # a second tab whose stored id arrives after `load` ran: adopted, welcomed back
    tab = h.load("", None, "en-US")
    late = h.uid_changed(first.uid, tab.key)
    assert user_of(h, late.key) == user_of(h, first.key)
    assert late.history[0]["content"] == t("welcome_back", "en") and any(e.startswith("liked: ") for e in late.entries)
    assert h.uid_changed(first.uid, late.key).history is None  # already that user: nothing changes
    back = h.load(first.uid, None, None)
    assert back.uid == first.uid and back.history[0]["content"] == t("welcome_back", "en")
    tampered = h.load("../../etc/passwd", None, None)
    assert tampered.uid != "../../etc/passwd" and t("greeting", "en") in tampered.history[0]["content"]
    assert "could not verify" in tampered.history[0]["content"] and user_of(h, tampered.key) != user_of(h, first.key)
    late_bad = h.uid_changed("u_legacy-unsigned-id", h.load("", None, None).key)  # an old, unsigned stored id
    assert "could not verify" in late_bad.history[0]["content"] and late_bad.uid.startswith("v1.web.")


def test_api_handlers_keep_the_json_contract(h):
    r, key = h.api_chat("comedies from the 90s", None)
    assert set(r) == {"reply", "intent", "items"} and len(r["items"]) == 5
    fb, key2 = h.api_feedback(1.0, " LIKE ", key)
    assert key2 == key and fb["intent"]["kind"] == "feedback" and fb["intent"]["sentiment"] == "like"
    assert "position: expected a whole number" in h.api_feedback("x", "like", key)[0]["reply"]
    assert "stars: expected a whole number" in h.api_rate(2, "five", key)[0]["reply"]
    assert h.api_critique("older", None, key)[0]["intent"]["kind"] == "refine"
    assert h.api_critique("more_like", "", key)[0]["items"] == []  # more_like needs a position
    profile, _ = h.api_profile(key)
    assert profile["liked"][0]["item_id"] == r["items"][0]["item_id"]
    assert h.api_chat(None, key)[0]["intent"]["kind"] == "chitchat"  # not text: answered, not raised
    forgot, _ = h.api_forget(key)
    assert set(forgot) == {"reply", "intent", "items"} and h.api_profile(key)[0]["liked"] == []
    other, other_key = h.api_profile(None)
    assert other_key != key and other["user_id"] != profile["user_id"]


# ---------------------------------------------------------------- outcomes are fields, never words
def reads_reply_words(source: str) -> list[int]:
    """Lines where a reply's text (`x.text`, `x["reply"]`) is inspected rather than passed on: a method called on
    it (`.startswith`), a comparison or `in` test, a condition, or a regex over it."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        is_text = (isinstance(node, ast.Attribute) and node.attr == "text") or (
            isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value == "reply")
        if not is_text:
            continue
        p = parents.get(node)
        regex = isinstance(p, ast.Call) and isinstance(p.func, ast.Attribute) and isinstance(p.func.value, ast.Name) \
            and p.func.value.id == "re"
        if isinstance(p, (ast.Attribute, ast.Compare, ast.BoolOp, ast.UnaryOp)) or regex or (
                isinstance(p, (ast.If, ast.IfExp, ast.While, ast.Assert)) and p.test is node):
            found.append(node.lineno)
    return found


def test_the_detector_finds_text_matching():
    assert reads_reply_words("if reply.text.startswith('Noted'): pass") == [1]
    assert reads_reply_words("ok = 'saved' in r['reply']") == [1]
    assert reads_reply_words("import re\nm = re.search('no item', reply.text)") == [2]
    assert reads_reply_words("show(reply.text)\nok = reply.ok") == []


def test_app_decides_by_fields_not_reply_text():
    bad = {p.name: lines for p in APP.glob("*.py") if (lines := reads_reply_words(p.read_text(encoding="utf-8")))}
    assert not bad, f"reply text inspected (use Reply.ok / intent / recs): {bad}"


def test_handlers_and_sessions_need_no_gradio():
    for name in ("handlers.py", "sessions.py"):
        tree = ast.parse((APP / name).read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names} | {
            n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not any(m.split(".")[0] == "gradio" for m in imported), name


def test_handlers_stay_small():
    tree = ast.parse((APP / "handlers.py").read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Handlers")
    long = {f.name: f.end_lineno - f.lineno + 1 for f in cls.body if isinstance(f, ast.FunctionDef)
            and f.end_lineno - f.lineno + 1 > 25}
    assert not long, long
