"""The profile store on a real PostgreSQL server (Debian's postgresql, started here on a free port): the
scale-out path behaves like SQLite, and a dead server is a clear error."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from chatrec.errors import StoreError
from chatrec.profile.events import DISLIKE, LIKE, RATING
from chatrec.profile.store import open_store

from conftest import free_port, make_config

pytest.importorskip("psycopg")
BIN = Path("/usr/lib/postgresql")
versions = sorted(BIN.glob("*/bin/initdb")) if BIN.exists() else []
INITDB = str(versions[-1]) if versions else shutil.which("initdb")
if not INITDB:
    pytest.skip("PostgreSQL is not installed (apt-get install postgresql)", allow_module_level=True)
PG_CTL = str(Path(INITDB).with_name("pg_ctl"))


def as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def pg_url():
    data = Path(tempfile.mkdtemp(prefix="chatrec-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    subprocess.run(as_postgres([INITDB, "-D", str(data / "db"), "-A", "trust", "-U", "chatrec"]), check=True,
                   capture_output=True, timeout=120)
    subprocess.run(as_postgres([PG_CTL, "-D", str(data / "db"), "-l", str(data / "log"), "-w", "-o",
                                f"-p {port} -k {data} -c listen_addresses=127.0.0.1", "start"]),
                   check=True, capture_output=True, timeout=120)
    try:
        yield f"postgresql://chatrec@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(as_postgres([PG_CTL, "-D", str(data / "db"), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(data, ignore_errors=True)


def test_events_profiles_and_forgetting(pg_url):
    store = open_store(pg_url)
    first = store.record("u_pg", LIKE, "1")
    assert store.record("u_pg", DISLIKE, "2") == first + 1
    store.record("u_pg", RATING, "3", 5.0)
    store.save_vector("u_pg", np.arange(4, dtype=np.float32))
    store.save_vector("u_pg", np.ones(4, dtype=np.float32))  # upsert
    again = open_store(pg_url)  # a second process / app replica sees the same profile
    p = again.load("u_pg")
    assert p.liked == ["1", "3"] and p.disliked == ["2"] and p.ratings == {"3": 5.0}
    assert np.array_equal(p.vector, np.ones(4, dtype=np.float32))
    assert again.last_event_id() >= first + 2
    assert [e["kind"] for e in again.events_after(first)] [:2] == [DISLIKE, RATING]
    assert again.forget("u_pg") == 3 and store.load("u_pg").liked == []


def test_the_chat_runs_on_postgres(tmp_path, pg_url):
    from chatrec.chat.recommender import Recommender

    rec = Recommender.from_config(make_config(tmp_path, profile_db=pg_url), progress=False)
    s = rec.session("u_chat")
    assert s.turn("comedies from the 90s")["items"]
    assert "Noted" in s.feedback(1, "like")["reply"]
    assert rec.session("u_chat").profile.liked == [s.state.last_items[0]]


def test_unreachable_server_is_a_clear_error():
    with pytest.raises(StoreError, match="cannot open the profile database postgresql://chatrec:\\*\\*\\*@"):
        open_store(f"postgresql://chatrec:secret@127.0.0.1:{free_port()}/postgres")
    with pytest.raises(StoreError, match="use a file path"):
        open_store("mysql://x@y/z")


def test_dialogue_state_is_shared_and_forgotten(pg_url, tmp_path):
    """Two app processes (two Handlers over two connections) serve one conversation through PostgreSQL; a forget
    removes its stored conversations too."""
    from chatrec.app.handlers import Handlers
    from chatrec.chat.recommender import Recommender

    config = make_config(tmp_path, profile_db=pg_url, identity_key="k" * 40)
    a = Handlers(Recommender.from_config(config, progress=False))
    b = Handlers(Recommender.from_config(config, progress=False))
    first, key = a.api_chat("movies from the 80s and 90s", None)
    older, key = b.api_critique("older", None, key)
    assert older["intent"]["kind"] == "refine" and older["items"]
    liked, key = a.api_feedback(1, "like", key)
    assert older["items"][0]["title"] in liked["reply"]
    user = a.sessions.signer.read_web(key).user_id
    assert open_store(pg_url).count_dialogues(user) == 1
    b.api_forget(key)
    store = open_store(pg_url)
    assert store.events(user) == [] and store.load(user).vector is None and store.count_dialogues(user) <= 1
    assert "no list" in a.api_feedback(2, "like", key)[0]["reply"]
