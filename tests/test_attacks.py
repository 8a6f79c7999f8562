"""The attacks of issue 18, made as an attacker would: raw HTTP against a running `python app.py` (Gradio's queue
protocol, the same requests the page sends), not Python calls. Each asserts the answer and that no other
profile changed (read straight from the SQLite file). reports/security.md lists them with their results."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import cli_env, launched_app

CHATREC = [sys.executable, "-m", "chatrec.app.cli"]


class RawClient:
    """Gradio's wire protocol by hand: POST /gradio_api/queue/join, then read the SSE stream of
    /gradio_api/queue/data until the event completes. A `Tab` is one session hash plus what the page holds."""

    def __init__(self, url: str):
        self.url = url
        self.config = json.loads(urllib.request.urlopen(url + "config", timeout=30).read())
        comps = self.config["components"]
        self.elem = {c["props"].get("elem_id"): c["id"] for c in comps if c.get("props", {}).get("elem_id")}
        self.deps = self.config["dependencies"]

    def dep(self, *, api_name: str | None = None, elem: str | None = None, event: str = "click") -> dict:
        if api_name:
            return next(d for d in self.deps if d["api_name"] == api_name)
        if elem == "page":
            return next(d for d in self.deps if [0, "load"] in [list(t) for t in d["targets"]])
        target = self.elem[elem]
        return next(d for d in self.deps if [target, event] in [list(t) for t in d["targets"]])

    def post(self, path: str, body: bytes) -> dict:
        req = urllib.request.Request(self.url + path, data=body, headers={"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(req, timeout=60).read())

    def call(self, dep: dict, data: list, session_hash: str | None = None, raw_body: bytes | None = None) -> dict:
        session_hash = session_hash or uuid.uuid4().hex[:12]
        body = raw_body or json.dumps({"data": data, "fn_index": dep["id"], "trigger_id": None,
                                       "session_hash": session_hash, "event_data": None}).encode()
        event_id = self.post("gradio_api/queue/join", body)["event_id"]
        with urllib.request.urlopen(f"{self.url}gradio_api/queue/data?session_hash={session_hash}", timeout=120) as r:
            for raw in r:
                line = raw.decode().strip()
                if line.startswith("data:"):
                    msg = json.loads(line[5:])
                    if msg.get("event_id") == event_id and msg.get("msg") == "process_completed":
                        return msg
        raise AssertionError("no process_completed")

    def api(self, name: str, *args, session_hash: str | None = None) -> dict:
        """A named API endpoint (its `gr.State` input, the conversation, is the server's: None is sent)."""
        msg = self.call(self.dep(api_name=name), [*args, None], session_hash)
        assert msg["success"], msg
        return msg["output"]["data"][0]


class Tab:
    """One browser tab: a session hash, the hidden conversation field and the browser's stored user id."""

    def __init__(self, client: RawClient, conv: str = "", uid: str = ""):
        self.c, self.hash, self.conv, self.uid = client, uuid.uuid4().hex[:12], conv, uid
        self.history: list = []

    def _out(self, msg: dict, first: int = 0) -> list:
        assert msg["success"], msg
        data = msg["output"]["data"]
        self.conv, self.uid = data[first], data[first + 1] if isinstance(data[first + 1], str) else self.uid
        return data

    def open(self) -> str:
        data = self._out(self.c.call(self.c.dep(elem="page"), [self.uid, self.conv], self.hash))
        self.history = data[2]
        return text_of(data[2][-1])

    def say(self, message: str) -> str:
        dep = self.c.dep(elem="send")
        data = self._out(self.c.call(dep, [message, self.history, 5, 0.5, 0, False, self.conv, self.uid], self.hash),
                         first=1)
        self.history = data[3]
        return text_of(data[3][-1])

    def card(self, slot: int, kind: str = "like") -> str:
        dep = self.c.dep(elem=f"{kind}-{slot}")
        data = self._out(self.c.call(dep, [slot, kind, None, self.history, None, self.conv, self.uid], self.hash))
        self.history = data[2]
        return text_of(data[2][-1])

    def forget(self) -> str:
        data = self._out(self.c.call(self.c.dep(elem="forget"), [self.history, self.conv, self.uid], self.hash))
        return text_of(data[2][-1])

    def export(self) -> dict:
        data = self._out(self.c.call(self.c.dep(elem="export"), [self.conv, self.uid], self.hash))
        return data[2]["value"] if "value" in data[2] else data[2]


def text_of(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)


def user_of(token: str) -> str:
    """The user id a signed token carries (readable by anyone; it is the signature that cannot be forged)."""
    import base64

    part = token.split(".")[2]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


def stored(db: Path, user_id: str) -> tuple:
    """Everything stored about `user_id`, read from the file itself."""
    con = sqlite3.connect(db)
    try:
        events = con.execute("SELECT id, kind, item_id, value FROM events WHERE user_id = ? ORDER BY id",
                             (user_id,)).fetchall()
        vector = con.execute("SELECT vector FROM profiles WHERE user_id = ?", (user_id,)).fetchall()
        talks = con.execute("SELECT COUNT(*) FROM dialogues WHERE user_id = ?", (user_id,)).fetchone()[0]
        return tuple(events), tuple(vector), talks
    finally:
        con.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attacks")
    with launched_app(tmp) as (url, proc):
        client = RawClient(url)
        victim = Tab(client)
        victim.open()
        victim.say("comedies from the 90s")
        assert "Noted" in victim.card(1, "like")
        yield client, tmp, victim, user_of(victim.conv)


def test_the_identity_key_is_not_in_config(app):
    client, tmp, victim, uid = app
    key = (tmp / "identity_key").read_text().strip()
    assert len(key) >= 32 and key not in json.dumps(client.config)
    assert victim.uid.startswith("v1.web.") and uid.startswith("w_")


@pytest.mark.parametrize("attack", ["chosen id alice", "victim's raw id", "tampered signature", "other key",
                                    "link token as id", "cli user id"])
def test_impersonation_gets_a_fresh_user_and_a_notice(app, attack):
    client, tmp, victim, uid = app
    before = stored(tmp / "profiles.sqlite3", uid)
    from chatrec.app.identity import Signer

    sent = {"chosen id alice": "alice", "victim's raw id": uid,
            "tampered signature": victim.uid[:-3] + ("xyz" if not victim.uid.endswith("xyz") else "abc"),
            "other key": Signer(b"k" * 32).web_user(uid),
            "link token as id": Signer(b"k" * 32).link(uid), "cli user id": "cli-user"}[attack]
    for tab in (Tab(client, uid=sent), Tab(client, conv=sent), Tab(client, conv=sent, uid=sent)):
        greeting = tab.open() if not tab.conv else tab.say("westerns")
        assert "could not verify" in greeting, (attack, greeting)
        assert user_of(tab.conv) != uid
        tab.say("westerns")
        tab.card(1, "like")  # the impersonator's actions land on their own new profile ...
        assert "deleted your profile" in tab.forget()
    assert stored(tmp / "profiles.sqlite3", uid) == before  # ... and the victim's is as it was


def test_api_state_cannot_be_chosen_by_the_client(app):
    client, tmp, victim, uid = app
    before = stored(tmp / "profiles.sqlite3", uid)
    # the named endpoints keep the conversation in server-side state: a value sent for it is ignored
    msg = client.call(client.dep(api_name="profile"), [victim.conv])
    assert msg["success"] and msg["output"]["data"][0]["user_id"] != uid
    msg = client.call(client.dep(api_name="forget"), [victim.conv])
    assert msg["success"] and stored(tmp / "profiles.sqlite3", uid) == before


def test_a_link_token_is_only_accepted_by_the_link_step(app):
    client, tmp, victim, uid = app
    env = cli_env(tmp)
    proc = subprocess.run(CHATREC + ["chat", "--json", "--user", "cli-user"], input="westerns\n/like 1\n", text=True,
                          capture_output=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr
    link = subprocess.run(CHATREC + ["profile", "link", "--user", "cli-user"], capture_output=True, text=True,
                          env=env, timeout=60).stdout.strip()
    cli_before = stored(tmp / "profiles.sqlite3", "cli-user")
    replayed = Tab(client, uid=link)  # the other namespace's token where a web id belongs: refused
    assert "could not verify" in replayed.open() and user_of(replayed.conv) != "cli-user"
    hand = client.call(client.dep(elem="link"), [link, [], replayed.conv, replayed.uid], replayed.hash)
    assert hand["success"] and "Linked" in text_of(hand["output"]["data"][2][-1])
    assert user_of(hand["output"]["data"][0]) == "cli-user"
    assert stored(tmp / "profiles.sqlite3", "cli-user")[0] == cli_before[0]
    forged = client.call(client.dep(elem="link"), [link[:-2] + "zz", [], replayed.conv, replayed.uid], replayed.hash)
    assert "not valid" in text_of(forged["output"]["data"][2][-1])


BAD_NUMBERS = [1.5, True, "abc", "1", 10 ** 30, 0, -1, None, [1], {"n": 1}]


def test_bad_numbers_and_strings_are_clear_errors(app):
    client, tmp, victim, uid = app
    before = stored(tmp / "profiles.sqlite3", uid)
    h = uuid.uuid4().hex[:12]
    assert client.api("chat", "comedies from the 90s", session_hash=h)["items"]
    mine = stored(tmp / "profiles.sqlite3", user_of(victim.conv))
    rows = []
    for bad in BAD_NUMBERS:
        rows += [("feedback", (bad, "like"), "position"), ("rate", (bad, 4), "position"),
                 ("rate", (2, bad), "stars"), ("critique", ("more_like", bad), "position")]
    rows += [("rate", (2, 4.5), "stars"), ("rate", (2, 6), "stars"),
             ("feedback", (1, "k" * 100_000), "kind"), ("critique", ("n" * 100_000, None), "name")]
    for name, args, field in rows:
        if name == "critique" and args[1] is None and field == "position":
            continue  # no position is a valid critique ("older")
        out = client.api(name, *args, session_hash=h)
        assert out["reply"].startswith(f"{field}: "), (name, args, out["reply"][:100])
        assert len(out["reply"]) < 300 and out["items"] == []
    # NaN and Infinity are not JSON, but a raw client can send them: refused the same way
    dep = client.dep(api_name="feedback")
    for literal in (b"NaN", b"Infinity", b"-Infinity", b"1e400"):
        body = (b'{"data": [' + literal + b', "like", null], "fn_index": ' + str(dep["id"]).encode()
                + b', "session_hash": "' + h.encode() + b'", "event_data": null, "trigger_id": null}')
        msg = client.call(dep, [], h, raw_body=body)
        assert msg["success"] and msg["output"]["data"][0]["reply"].startswith("position: "), (literal, msg)
    long_chat = client.api("chat", "x" * 100_000, session_hash=h)
    assert len(long_chat["reply"]) < 300
    assert stored(tmp / "profiles.sqlite3", uid) == before and stored(tmp / "profiles.sqlite3",
                                                                      user_of(victim.conv)) == mine


def test_forget_with_two_live_tabs_and_an_exported_file(app):
    client, tmp, victim, uid = app
    victim_before = stored(tmp / "profiles.sqlite3", uid)
    a = Tab(client)
    a.open()
    a.say("comedies from the 90s")
    b = Tab(client, uid=a.uid)  # the same person in a second tab
    b.open()
    b.say("westerns")
    assert user_of(b.conv) == user_of(a.conv)
    person = user_of(a.conv)
    a.card(1, "like")
    b.card(2, "like")
    exported = a.export()
    url = exported["url"]
    assert json.loads(urllib.request.urlopen(url, timeout=30).read())["user_id"] == person
    assert len(stored(tmp / "profiles.sqlite3", person)[0]) == 2
    assert "deleted your profile" in a.forget()
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url, timeout=30)
    assert e.value.code in (403, 404)
    events, vector, talks = stored(tmp / "profiles.sqlite3", person)
    assert events == () and vector == () and talks <= 1
    assert "no list" in b.card(1, "like")  # tab b's list went with the forget
    assert stored(tmp / "profiles.sqlite3", person)[0] == ()  # and it brought nothing back
    assert stored(tmp / "profiles.sqlite3", uid) == victim_before


@pytest.mark.slow
def test_a_tab_across_kill_9_keeps_its_profile(tmp_path):
    db = tmp_path / "profiles.sqlite3"
    with launched_app(tmp_path) as (url, proc):
        client = RawClient(url)
        tab, other = Tab(client), Tab(client)
        tab.open()
        other.open()
        tab.say("comedies from the 90s")
        other.say("westerns")
        assert "Noted" in tab.card(1, "like")
        assert "won't come back" in other.card(1, "dislike")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    person, other_person = user_of(tab.conv), user_of(other.conv)
    other_before = stored(db, other_person)
    with launched_app(tmp_path) as (url, _):
        tab.c = RawClient(url)  # the same page, talking to the restarted server
        tab.hash = uuid.uuid4().hex[:12]
        said = tab.card(2, "like")  # the list from before the restart is still this conversation's
        assert "Noted" in said and user_of(tab.conv) == person
        assert "1. " in tab.say("older")  # answered in context: a refined list
        events = stored(db, person)[0]
        assert [e[1] for e in events if e[1] == "like"] == ["like", "like"]
        assert "deleted your profile" in tab.forget()  # forget erases exactly the person who asked
        assert stored(db, person)[0] == () and stored(db, other_person) == other_before


@pytest.mark.slow
def test_a_corrupt_database_file_is_a_clear_message(tmp_path):
    from test_security import corrupt

    db = tmp_path / "profiles.sqlite3"
    with launched_app(tmp_path) as (url, _):
        client = RawClient(url)
        tab = Tab(client)
        tab.open()
        tab.say("westerns")
        tab.card(1, "like")
    con = sqlite3.connect(db)
    person = user_of(tab.conv)
    con.executemany("INSERT INTO events(user_id, item_id, kind, value, created_at) VALUES (?, ?, 'seen', NULL, 0)",
                    [(person, str(i)) for i in range(400)])
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    corrupt(db)
    with launched_app(tmp_path) as (url, _):
        tab.c, tab.hash = RawClient(url), uuid.uuid4().hex[:12]
        said = tab.say("comedies")
        assert "cannot be read" in said and str(db) in said and "chatrec profile recover" in said
        assert "Error" != said


def test_the_json_api_checks_its_input_and_its_ids(app):
    client, tmp, victim, uid = app
    before = stored(tmp / "profiles.sqlite3", uid)

    def post(endpoint: str, body: bytes) -> tuple[int, dict]:
        req = urllib.request.Request(client.url + f"api/v1/{endpoint}", data=body,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    status, first = post("chat", b'{"message": "comedies from the 90s"}')
    assert status == 200 and first["items"] and first["conversation"].startswith("v1.web.")
    conv = first["conversation"].encode()
    table = [("feedback", b'{"position": NaN, "kind": "like"}', "position"),
             ("feedback", b'{"position": Infinity, "kind": "like"}', "position"),
             ("feedback", b'{"position": 1.5, "kind": "like"}', "position"),
             ("feedback", b'{"position": true, "kind": "like"}', "position"),
             ("feedback", b'{"position": "2", "kind": "like"}', "position"),
             ("feedback", b'{"position": 1e300, "kind": "like"}', "position"),
             ("feedback", b'{"kind": "like"}', "position"),
             ("feedback", b'{"position": 1, "kind": "' + b"k" * 100_000 + b'"}', "body"),
             ("feedback", b'{"position": 1, "kind": "' + b"k" * 1000 + b'"}', "kind"),
             ("rate", b'{"position": 1, "stars": true}', "stars"),
             ("rate", b'{"position": 1, "stars": 4.5}', "stars"),
             ("rate", b'{"position": 1, "stars": 6}', "stars"),
             ("chat", b'{"message": 42}', "message"),
             ("chat", b'not json', "body"),
             ("chat", b'[1, 2]', "body"),
             ("chat", b'{"message": "hi", "conversation": 7}', "conversation")]
    for endpoint, body, field in table:
        body = body.replace(b"{", b'{"conversation": "' + conv + b'", ', 1) if field != "conversation" else body
        status, out = post(endpoint, body)
        assert status in (400, 413) and out["field"] == field and len(out["error"]) < 200, (endpoint, body[:60], out)
    status, ok = post("feedback", b'{"conversation": "' + conv + b'", "position": 1, "kind": "like"}')
    assert status == 200 and "Noted" in ok["reply"]  # the bad requests lost nothing: the list is still there
    status, forged = post("forget", b'{"conversation": "' + victim.conv.encode()[:-2] + b'zz"}')
    assert status == 200 and "could not verify" in forged["reply"]
    assert stored(tmp / "profiles.sqlite3", uid) == before
