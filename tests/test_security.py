"""Whose profile is it: signed identities, restarts, shared dialogue state, a complete forget, storage faults and
bad input, called through the handlers (no server). `tests/test_attacks.py` makes the same attacks over raw HTTP
against a running app."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chatrec.app.handlers import Handlers
from chatrec.app.identity import Signer, identity_key
from chatrec.chat.recommender import Recommender
from chatrec.config import Config
from chatrec.profile.recover import recover
from chatrec.profile.store import SQLiteStore
from conftest import cli_env, make_config

KNOBS = (5, 0.5, 0.0, False)
CHATREC = [sys.executable, "-m", "chatrec.app.cli"]


def ask(h: Handlers, message: str, key=None, uid=None):
    return list(h.respond(message, [], *KNOBS, key, uid))[-1]


def user_of(h: Handlers, key: str) -> str:
    return h.sessions.signer.read_web(key).user_id


def snapshot(store, user_id: str) -> tuple:
    """Everything stored about a user: events, vector bytes, stored conversations."""
    p = store.load(user_id)
    return (tuple((e["kind"], e["item_id"], e["value"]) for e in store.events(user_id)),
            None if p.vector is None else p.vector.tobytes(), store.count_dialogues(user_id))


@pytest.fixture
def h(fresh_recommender) -> Handlers:
    return Handlers(fresh_recommender, export_dir=fresh_recommender.config.model_dir + "/exports")


@pytest.fixture
def victim(h):
    """A web user with a like, a rating and a stored conversation."""
    s = ask(h, "comedies from the 90s")
    h.card_feedback(1, "like", None, s.history, s.cards, s.key, s.uid)
    h.card_feedback(2, "rating", "5★", s.history, s.cards, s.key, s.uid)
    uid = user_of(h, s.key)
    before = snapshot(h.rec.store, uid)
    assert before[0] and before[1] is not None and before[2] == 1
    return s, uid, before


# ---------------------------------------------------------------- 1. identity
def test_tokens_verify_only_as_signed_in_their_namespace(tmp_path):
    signer = Signer(b"k" * 32)
    token = signer.web_conversation("w_abc", "c_1")
    assert signer.read_web(token).user_id == "w_abc" and signer.read_web(token).conversation_id == "c_1"
    body, _, mac = token.rpartition(".")
    assert signer.read_web(body + "." + mac[:-1] + ("A" if mac[-1] != "A" else "B")) is None  # tampered MAC
    forged = body.replace(body.split(".")[2], "d19ib2I")  # another user id, same MAC
    assert signer.read_web(forged + "." + mac) is None
    assert Signer(b"x" * 32).read_web(token) is None  # another server's key
    link = signer.link("alice")
    assert signer.read_web(link) is None and signer.read_link(link) == "alice"  # namespaces do not mix
    assert signer.read_link(token) is None and signer.read_link(signer.link("alice", ttl_s=-1)) is None  # expired
    for junk in (None, "", "alice", "w_abc", 42, ["x"], "v1.web", "v1.web..", "a" * 5000, "v1.web.%%%.xyz"):
        assert signer.read_web(junk) is None


def test_the_identity_key_stays_on_the_server(tmp_path):
    config = Config(profile_db=str(tmp_path / "state" / "p.sqlite3"))
    key = identity_key(config)
    assert identity_key(config) == key and len(key) >= 32  # generated once, kept across restarts
    assert (tmp_path / "state" / "identity_key").stat().st_mode & 0o777 == 0o600
    assert identity_key(Config(profile_db=str(tmp_path / "p"), identity_key="given-key-of-some-length")) == \
        b"given-key-of-some-length"
    assert "given-key" not in repr(Config(identity_key="given-key")) and "k" * 20 not in repr(Signer(b"k" * 32))


@pytest.mark.parametrize("attack", ["alice", "victim_raw", "tampered", "link_as_id", "other_key", "cli_user"])
def test_an_id_that_does_not_verify_gets_a_fresh_user_and_a_notice(h, victim, attack, tmp_path):
    s, uid, before = victim
    sent = {
        "alice": "alice",
        "victim_raw": uid,
        "tampered": s.uid[:-2] + ("AA" if not s.uid.endswith("AA") else "BB"),
        "link_as_id": h.sessions.signer.link(uid),
        "other_key": Signer(b"z" * 32).web_user(uid),
        "cli_user": "cli-user",
    }[attack]
    for key, stored in ((None, sent), (sent, None), (sent, sent)):
        start = h.load(stored, key, None) if key is None else None
        screen = ask(h, "westerns", key, stored) if key is not None else None
        text = (start.history[0] if start else screen.history[-1])["content"]
        new_key = (start or screen).key
        assert "could not verify" in text, attack
        assert user_of(h, new_key) != uid
        if screen is not None:  # and what the impersonator does lands on their own new profile
            h.card_feedback(1, "like", None, screen.history, screen.cards, screen.key, screen.uid)
            assert h.api_forget(screen.key)[0]["intent"]["kind"] == "chitchat"
    assert snapshot(h.rec.store, uid) == before


def test_web_and_cli_namespaces_are_separate_and_a_link_joins_them(h, tmp_path):
    cli = h.rec.session("cli-user")  # a command-line user with a profile
    cli.turn("westerns")
    cli.feedback(1, "like")
    r, key = h.api_profile(None)
    assert r["user_id"].startswith("w_") and r["liked"] == []  # web ids are in their own namespace
    bad, key = h.api_link("v1.link.Y2xpLXVzZXI.0.forged", key)
    assert "not valid" in bad["reply"] and h.api_profile(key)[0]["user_id"] == r["user_id"]
    ok, key = h.api_link(h.sessions.signer.link("cli-user"), key)
    assert "Linked" in ok["reply"]
    assert h.api_profile(key)[0]["liked"] == [{"item_id": cli.profile.liked[0],
                                               "title": h.rec.catalog[cli.profile.liked[0]].label}]
    proc = subprocess.run(CHATREC + ["chat", "--json", "--user", r["user_id"]], input="hi\n", text=True,
                          capture_output=True, env=cli_env(tmp_path), timeout=240)
    assert proc.returncode == 2 and "web user's id" in proc.stderr


# ---------------------------------------------------------------- 2 + 3. restart-safe, state any replica can serve
def test_a_tab_across_a_restart_keeps_its_user_and_its_conversation(fresh_recommender):
    config = fresh_recommender.config
    before = Handlers(fresh_recommender)
    s = ask(before, "comedies from the 90s")
    older = before.critique("older", None, s.history, *KNOBS, s.key, s.uid)
    # the server restarts: a new process, nothing in memory; the tab still sends its signed ids
    after = Handlers(Recommender.from_config(config, progress=False))
    liked = after.card_feedback(2, "like", None, older.history, older.cards, older.key, older.uid)
    assert liked.cards[1].get("status")  # the list from before the restart is still known
    assert after.rec.store.load(user_of(after, s.key)).liked == [older.cards[1]["item_id"]]
    # only the browser's stored user id (the tab's field lost): same user, new conversation
    fresh = ask(after, "westerns", None, s.uid)
    assert user_of(after, fresh.key) == user_of(after, s.key)
    forgot = after.forget([], older.key, older.uid)
    assert user_of(after, forgot.key) == user_of(before, s.key)  # the person who asked, nobody else
    assert after.rec.store.load(user_of(after, s.key)).liked == []


def test_two_replicas_alternate_turns_of_one_conversation(fresh_recommender):
    config = fresh_recommender.config
    a, b = Handlers(fresh_recommender), Handlers(Recommender.from_config(config, progress=False))
    r1, key = a.api_chat("movies from the 80s and 90s", None)
    years = sorted(it["year"] for it in r1["items"])
    r2, key = b.api_critique("older", None, key)  # replica b knows replica a's list
    assert r2["intent"]["kind"] == "refine" and all(it["year"] < years[len(years) // 2] for it in r2["items"])
    r3, key = a.api_feedback(1, "like", key)  # a picks up b's list, not its own stale copy
    assert "Noted" in r3["reply"] and r2["items"][0]["title"] in r3["reply"]
    r4, key = b.api_chat("more like that", key)
    shown = {it["item_id"] for r in (r1, r2, r4) for it in r["items"]}
    assert len(shown) == sum(len(r["items"]) for r in (r1, r2, r4))  # nothing shown twice across replicas
    assert b.api_profile(key)[0]["liked"][0]["item_id"] == r2["items"][0]["item_id"]


# ---------------------------------------------------------------- 4. a complete forget
def test_forget_reaches_every_session_store_and_file(h, fresh_recommender):
    tab1 = ask(h, "comedies from the 90s")
    tab2 = ask(h, "westerns", None, tab1.uid)  # a second tab of the same person
    uid = user_of(h, tab1.key)
    assert user_of(h, tab2.key) == uid
    h.card_feedback(1, "like", None, tab1.history, tab1.cards, tab1.key, tab1.uid)
    h.card_feedback(2, "like", None, tab2.history, tab2.cards, tab2.key, tab2.uid)
    _, _, path = h.export(tab1.key, tab1.uid)
    assert Path(path).exists() and h.rec.store.count_dialogues(uid) == 2
    other = ask(h, "horror films")
    h.card_feedback(1, "dislike", None, other.history, other.cards, other.key, other.uid)
    kept = snapshot(h.rec.store, user_of(h, other.key))

    h.forget([], tab1.key, tab1.uid)
    assert not Path(path).exists() and not h.user_exports(uid).exists()
    assert h.rec.store.events(uid) == [] and h.rec.store.load(uid).vector is None
    assert h.rec.store.count_dialogues(uid) <= 1  # at most tab 1's fresh, empty conversation
    # tab 2 dropped what it held: no list to like from, and a new like does not bring the old vector back
    stale = h.card_feedback(1, "like", None, tab2.history, tab2.cards, tab2.key, tab2.uid)
    assert "status" not in stale.cards[0]
    again = ask(h, "animated films", tab2.key, tab2.uid)
    h.card_feedback(1, "like", None, again.history, again.cards, again.key, again.uid)
    p = h.rec.store.load(uid)
    item = again.cards[0]["item_id"]
    assert p.liked == [item]
    expected = h.rec.index.vectors[h.rec.catalog.index_of[item]]
    assert np.allclose(p.vector, expected / np.linalg.norm(expected), atol=1e-5)  # from the new like alone
    assert snapshot(h.rec.store, user_of(h, other.key)) == kept  # nobody else touched


def test_forget_on_another_replica_resets_this_one(fresh_recommender):
    a = Handlers(fresh_recommender)
    b = Handlers(Recommender.from_config(fresh_recommender.config, progress=False))
    r, key = a.api_chat("comedies from the 90s", None)
    a.api_feedback(1, "like", key)
    _, key_b = b.api_forget(key)
    assert "no list" in a.api_feedback(2, "like", key)[0]["reply"]  # replica a's copy was dropped
    assert a.api_profile(key)[0]["liked"] == []


# ---------------------------------------------------------------- 5. storage faults
def corrupt(path: Path) -> None:
    """Overwrite two data pages in the middle of the file with garbage: the file opens, some rows cannot be read."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 4096 // 2
    for page in (middle, middle + 1):
        data[page * 4096 + 8:(page + 1) * 4096] = b"\xa5" * (4096 - 8)
    path.write_bytes(bytes(data))


def filled_db(path: Path, users=("alice", "bob"), n=300) -> None:
    store = SQLiteStore(path)
    store.record_many([(u, "like", str(i), None, None) for u in users for i in range(n)])
    store.save_vector("alice", np.ones(8, dtype=np.float32))
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()


def test_a_corrupt_database_is_a_clear_message_in_the_chat(tmp_path):
    config = make_config(tmp_path)
    rec = Recommender.from_config(config, progress=False)
    h = Handlers(rec)
    s = ask(h, "comedies from the 90s")
    uid = user_of(h, s.key)
    rec.store.record_many([(uid, "seen", str(i), None, None) for i in range(400)])
    rec.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rec.store.close()
    corrupt(tmp_path / "profiles.sqlite3")
    rec.store = SQLiteStore(tmp_path / "profiles.sqlite3")
    h = Handlers(rec)  # the app restarted: the tab's profile must be read from the damaged file
    screen = ask(h, "westerns", s.key, s.uid)  # answered, with the fault named, not a bare "Error"
    said = screen.history[-1]["content"]
    assert "cannot be read" in said and "profiles.sqlite3" in said and "chatrec profile recover" in said
    start = h.load(s.uid, None, None)  # a new tab of the same person
    assert "cannot be read" in start.history[0]["content"]
    liked = h.card_feedback(1, "like", None, screen.history, screen.cards, screen.key, screen.uid)
    assert "profiles.sqlite3" in liked.history[-1]["content"]
    r, _ = h.api_chat("comedies", s.key)
    assert set(r) == {"reply", "intent", "items"}


def test_cli_check_and_recover(tmp_path):
    db = tmp_path / "profiles.sqlite3"
    env = cli_env(tmp_path)
    filled_db(db)
    ok = subprocess.run(CHATREC + ["profile", "check"], capture_output=True, text=True, env=env, timeout=60)
    assert ok.returncode == 0 and "ok:" in ok.stdout and "600 events" in ok.stdout
    corrupt(db)
    damaged = db.read_bytes()
    bad = subprocess.run(CHATREC + ["profile", "check"], capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 1 and str(db) in bad.stderr and "recover" in bad.stderr
    show = subprocess.run(CHATREC + ["profile", "show", "--user", "alice"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert show.returncode == 2 and str(db) in show.stderr and "Traceback" not in show.stderr
    chat = subprocess.run(CHATREC + ["chat", "--json", "--user", "alice"], input="hi\n", capture_output=True,
                          text=True, env=env, timeout=240)
    assert chat.returncode == 2 and str(db) in chat.stderr and "Traceback" not in chat.stderr
    out = tmp_path / "new.sqlite3"
    rec = subprocess.run(CHATREC + ["profile", "recover", "--out", str(out)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert rec.returncode == 0 and "recovered" in rec.stdout and str(out) in rec.stdout, rec.stderr
    assert db.read_bytes() == damaged  # the damaged file is kept as it was
    store = SQLiteStore(out)
    assert store.check() == [] and 0 < len(store.events("alice")) + len(store.events("bob")) < 600
    assert store.last_event_id() >= 600  # ids of lost events are never handed out again
    env["CHATREC_PROFILE_DB"] = str(out)
    again = subprocess.run(CHATREC + ["profile", "check"], capture_output=True, text=True, env=env, timeout=60)
    assert again.returncode == 0


def test_recover_keeps_everything_from_a_healthy_file(tmp_path):
    filled_db(tmp_path / "p.sqlite3", n=20)
    result = recover(tmp_path / "p.sqlite3", tmp_path / "q.sqlite3")
    assert result.events == 40 and not result.lost_ids and not result.missing_ids and result.vectors == 1
    assert len(SQLiteStore(tmp_path / "q.sqlite3").load("alice").liked) == 20


# ---------------------------------------------------------------- 6. input at the boundary
BAD_POSITIONS = [math.nan, math.inf, -math.inf, True, False, 1.5, "abc", "1", 10 ** 30, 0, -3, None, [1], {"a": 1}]


@pytest.mark.parametrize("bad", BAD_POSITIONS, ids=repr)
def test_bad_positions_are_refused_naming_the_field(h, victim, bad):
    s, uid, before = victim
    for call in (lambda k: h.api_feedback(bad, "like", k), lambda k: h.api_rate(bad, 4, k),
                 lambda k: h.api_critique("more_like", bad, k) if bad is not None else h.api_rate(bad, 4, k)):
        r, _ = call(s.key)
        assert r["reply"].startswith("position: expected a whole number"), (bad, r["reply"])
        assert r["items"] == [] and set(r) == {"reply", "intent", "items"}
    assert snapshot(h.rec.store, uid) == before


@pytest.mark.parametrize("bad", [math.nan, math.inf, True, 4.5, 0, 6, "5", "five", 10 ** 30, None], ids=repr)
def test_bad_stars_are_refused_naming_the_field(h, victim, bad):
    s, uid, before = victim
    r, _ = h.api_rate(3, bad, s.key)
    assert r["reply"].startswith("stars: expected a whole number from 1 to 5"), r["reply"]
    assert snapshot(h.rec.store, uid) == before


def test_echoed_strings_are_bounded(h, victim):
    s, uid, before = victim
    r, _ = h.api_feedback(1, "k" * 100_000, s.key)
    assert r["reply"].startswith("kind: at most 200 characters") and len(r["reply"]) < 300
    assert len(h.api_feedback(1, "k" * 150, s.key)[0]["reply"]) < 400
    assert len(h.api_critique("n" * 100_000, None, s.key)[0]["reply"]) < 300
    assert len(h.api_chat("x" * 100_000, s.key)[0]["reply"]) < 300
    assert h.api_chat(12345, s.key)[0]["reply"].startswith("message: expected text")
    assert snapshot(h.rec.store, uid) == before
    assert h.api_rate(2, 4.0, s.key)[0]["reply"].startswith("Saved")  # a whole number sent as 4.0 is fine


def test_cli_answers_a_line_that_is_not_utf8_and_goes_on(tmp_path):
    lines = b"comedies from the 90s\n\xff\xfe bad \xc3\x28 bytes\n/like 1\n/rate 2 4.5\n/like 99999999999999999999\n"
    proc = subprocess.run(CHATREC + ["chat", "--json", "--user", "bytes-user"], input=lines, capture_output=True,
                          env=cli_env(tmp_path), timeout=240)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr
    out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(out) == 5 and out[0]["items"] and "Noted" in out[2]["reply"]
    assert "1 to 5" in out[3]["reply"] and "no item" in out[4]["reply"].lower()


def test_cli_forget_deletes_the_web_exports_too(tmp_path):
    from chatrec.app.handlers import export_folder

    env = dict(cli_env(tmp_path), GRADIO_TEMP_DIR=str(tmp_path / "gradio"))
    store = SQLiteStore(tmp_path / "profiles.sqlite3")
    store.record("w_someone", "like", "1")
    store.save_dialogue("c_1", "w_someone", {"state": {}})
    folder = export_folder(tmp_path / "gradio" / "chatrec-exports", "w_someone") / "x"
    folder.mkdir(parents=True)
    (folder / "chatrec-profile.json").write_text("{}")
    proc = subprocess.run(CHATREC + ["profile", "forget", "--user", "w_someone"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0 and "deleted 1 events" in proc.stdout
    assert not folder.exists() and store.count_dialogues("w_someone") == 0 and store.events("w_someone") == []


def test_an_opened_page_stores_nothing_and_old_conversations_are_pruned(h):
    start = h.load("", None, None)
    uid = user_of(h, start.key)
    assert h.rec.store.count_dialogues(uid) == 0  # nothing said yet: no row
    s = ask(h, "westerns", start.key, start.uid)
    assert h.rec.store.count_dialogues(uid) == 1
    h.rec.store._write("UPDATE dialogues SET updated_at = 0 WHERE user_id = ?", (uid,))
    assert h.rec.store.prune_dialogues(3600) == 1 and h.rec.store.count_dialogues(uid) == 0
    expired = h.card_feedback(1, "like", None, s.history, s.cards, s.key, s.uid)  # the conversation expired ...
    assert "status" not in expired.cards[0] and h.rec.store.load(uid).liked == []
    assert user_of(h, expired.key) == uid  # ... the person did not
