"""Hostile input, prompt injection, faults and durability."""
import json
import os
import signal
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatrec.chat.recommender import Recommender
from chatrec.errors import StoreError
from chatrec.chat.explain import titles_in_text
from chatrec.understand.intent import ParseContext
from chatrec.llm import FakeLLM, load_prompt
from chatrec.profile.store import SQLiteStore
from conftest import DATA, launched_app, make_config

INJECTIONS = (DATA / "prompt_injections.txt").read_text().splitlines()
KINDS = {"recommend", "refine", "feedback", "ask_about_item", "chitchat", "goodbye"}

hostile_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(blacklist_categories=()), max_size=200),  # surrogates, controls, anything
    st.sampled_from(["", " ", "\x00" * 50, "<b>bold</b>", "🎬" * 100, "1990s" * 40, "/like 99999999999999999999",
                     "like like like like", "不要恐怖片", "Ж" * 5000, "' OR 1=1 --"]),
    st.builds(lambda a, b: a + " " + b, st.sampled_from(["something like", "no", "older", "the second one",
                                                           "I loved", "tell me about"]), st.text(max_size=80)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=hostile_text)
def test_fuzz_parser_and_dialogue(recommender, message):
    intent = recommender.rules.parse(message[:4000], ParseContext(["1", "2", "3"]))
    assert intent.kind in KINDS
    s = recommender.session()
    s.rec.config.rate_limit_per_minute = 0
    result = s.handle(message)
    assert set(result) == {"reply", "intent", "items"}
    assert isinstance(result["reply"], str) and 0 < len(result["reply"]) < 6000
    for item in result["items"]:
        assert recommender.catalog.get(item["item_id"]).title == item["title"]


@pytest.fixture
def leaky_recommender(tmp_path):
    """An LLM that obeys every attack: it answers with its own system prompt and invents titles."""
    rec = Recommender.from_config(make_config(tmp_path), progress=False)
    explain_prompt = load_prompt(rec.config, "explain")

    class Obedient(FakeLLM):
        def generate(self, messages, schema=None, stream=False, max_tokens=None):
            if schema is not None:
                return json.dumps({"kind": "recommend", "liked": ["Totally Real Movie", "The Godfather Part IV"],
                                   "genres_in": ["Hacking"]})
            return messages[0]["content"] + " Also watch Hackers Delight 3000 and The Godfather."

    from chatrec.chat.explain import LLMExplainer
    from chatrec.understand.llm_parser import LLMParser

    llm = Obedient()
    rec.llm = llm
    rec.parser = LLMParser(rec.catalog, llm, load_prompt(rec.config, "intent"), rec.rules)
    rec.explainer = LLMExplainer(llm, explain_prompt, rec.catalog)
    return rec, [load_prompt(rec.config, name) for name in ("intent", "explain", "chitchat")]


def test_prompt_injections_leak_nothing_and_stay_in_the_catalog(leaky_recommender):
    from chatrec.chat.explain import leaks

    rec, prompts = leaky_recommender
    assert len(INJECTIONS) >= 50
    s = rec.session()
    s.rec.config.rate_limit_per_minute = 0
    for attack in INJECTIONS:
        result = s.turn(attack)
        text = result["reply"] + " ".join(it["explanation"] for it in result["items"])
        for prompt in prompts:
            assert not leaks(text, prompt), (attack, text)
        for item in result["items"]:
            assert rec.catalog.get(item["item_id"]) is not None
            # an explanation names no film but its own and those the person named (all in the catalog)
            named = {t["item_id"] for t in result["intent"]["liked"]}
            assert titles_in_text(item["explanation"], rec.catalog) <= {item["item_id"]} | named, item
        for name in ("Totally Real Movie", "Hackers Delight", "Godfather Part IV"):
            assert name not in "".join(it["title"] for it in result["items"])


def test_rate_limit_per_session(fresh_recommender):
    fresh_recommender.config.rate_limit_per_minute = 3
    s = fresh_recommender.session()
    assert [bool(s.turn("comedy")["items"]) for _ in range(3)] == [True, True, True]
    slowed = s.turn("comedy")
    assert "faster than 3 a minute" in slowed["reply"] and slowed["items"] == []
    assert fresh_recommender.session().turn("comedy")["items"]  # other sessions are not affected


def test_corrupt_profile_database_names_the_fix(tmp_path):
    bad = tmp_path / "profiles.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="move it aside"):
        SQLiteStore(bad)


def test_corrupt_chroma_store_is_rebuilt(tmp_path):
    config = make_config(tmp_path)
    Recommender.from_config(config, progress=False)
    store = tmp_path / "index" / "chroma"
    for f in store.rglob("*.sqlite3"):
        f.write_bytes(b"garbage" * 1000)
    rec = Recommender.from_config(config, progress=False)
    assert rec.session().turn("comedy")["items"]
    assert list((tmp_path / "index").glob("chroma.corrupt-*"))


@pytest.mark.slow
def test_acknowledged_feedback_survives_kill_9(tmp_path):
    from gradio_client import Client

    with launched_app(tmp_path) as (url, proc):
        c = Client(url, verbose=False)
        r = c.predict("westerns", api_name="/chat")
        ack = c.predict(1, "like", api_name="/feedback")
        assert "Noted" in ack["reply"]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    rows = sqlite3.connect(tmp_path / "profiles.sqlite3").execute("SELECT item_id, kind FROM events").fetchall()
    assert rows == [(r["items"][0]["item_id"], "like")]


@pytest.mark.slow
def test_concurrent_clients_are_isolated(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    wishes = ["westerns", "comedies", "horror films", "animated films", "crime dramas", "sci-fi"]
    with launched_app(tmp_path) as (url, _):
        def conversation(wish):
            c = Client(url, verbose=False)
            first = c.predict(wish, api_name="/chat")
            c.predict(1, "dislike", api_name="/feedback")
            profile = c.predict(api_name="/profile")
            return wish, first, profile
        with ThreadPoolExecutor(len(wishes)) as pool:
            results = list(pool.map(conversation, wishes))
    users = {profile["user_id"] for _, _, profile in results}
    assert len(users) == len(wishes)
    for wish, first, profile in results:
        # each client sees only its own dislike: the first item of its own list
        assert [d["item_id"] for d in profile["disliked"]] == [first["items"][0]["item_id"]], wish


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 1 MB file system (tmpfs) to fill up; skipped where mounting is not allowed (not root)."""
    import subprocess

    mnt = tmp_path / "disk"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root): the disk-full path is covered by a mocked StoreError")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(folder):
    """Write a filler file until the file system is full; returns its path."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def test_a_full_disk_loses_nothing_acknowledged_and_recovers(fresh_recommender, tiny_disk):
    rec = fresh_recommender
    rec.store = SQLiteStore(tiny_disk / "profiles.sqlite3")
    s = rec.session()
    s.turn("comedy")
    assert "Noted" in s.handle("/like 1")["reply"]
    kept = s.profile.liked[:]
    filler = _fill(tiny_disk)
    r = s.handle("/dislike 2")  # the disk is full: a clear reply, nothing half-applied
    assert "could not save" in r["reply"]
    assert s.profile.disliked == [] and s.profile.liked == kept
    filler.unlink()  # space again: the next feedback is saved, and everything acknowledged is still there
    assert "won't come back" in s.handle("/dislike 2")["reply"] and len(s.profile.disliked) == 1
    again = SQLiteStore(tiny_disk / "profiles.sqlite3").load(s.user_id)
    assert again.liked == kept and len(again.disliked) == 1
