"""The dialogue state in Redis (CHATREC_DIALOGUE_STORE=redis://...): a throwaway redis-server (Debian's package)
on a free port; two app processes share a conversation through it, and a forget removes it."""
import shutil
import subprocess
import time

import pytest

from chatrec.errors import StoreError
from conftest import free_port, make_config

pytest.importorskip("redis", reason="the redis package is not installed (pip install redis)")
SERVER = shutil.which("redis-server")
if SERVER is None:
    pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run installs it)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    port = free_port()
    proc = subprocess.Popen([SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path_factory.mktemp("redis"))], stdout=subprocess.DEVNULL)
    import redis

    deadline = time.time() + 30
    while True:
        try:
            redis.Redis(port=port).ping()
            break
        except redis.ConnectionError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_two_processes_share_a_conversation_through_redis(tmp_path, redis_url):
    from chatrec.app.handlers import Handlers
    from chatrec.chat.recommender import Recommender
    from chatrec.profile.dialogues import RedisDialogues

    config = make_config(tmp_path, dialogue_store=redis_url)
    a = Handlers(Recommender.from_config(config, progress=False))
    b = Handlers(Recommender.from_config(config, progress=False))
    first, key = a.api_chat("movies from the 80s and 90s", None)
    years = sorted(it["year"] for it in first["items"])
    older, key = b.api_critique("older", None, key)
    assert all(it["year"] < years[len(years) // 2] for it in older["items"])
    liked, key = a.api_feedback(2, "like", key)
    assert older["items"][1]["title"] in liked["reply"]
    user = a.sessions.signer.read_web(key).user_id
    store = RedisDialogues(redis_url)
    assert store.count_dialogues(user) == 1 and a.rec.store.count_dialogues(user) == 0  # in Redis, not SQLite
    other, other_key = b.api_chat("westerns", None)
    b.api_forget(key)
    assert store.count_dialogues(user) <= 1 and a.rec.store.events(user) == []
    assert "no list" in a.api_feedback(1, "like", key)[0]["reply"]  # a's copy was dropped too
    assert store.count_dialogues(b.sessions.signer.read_web(other_key).user_id) == 1  # nobody else's


def test_an_unreachable_redis_is_a_clear_error(tmp_path):
    from chatrec.profile.dialogues import RedisDialogues, open_dialogues

    with pytest.raises(StoreError, match="cannot reach the dialogue store redis://x:\\*\\*\\*@127.0.0.1"):
        RedisDialogues(f"redis://x:secret@127.0.0.1:{free_port()}/0")
    with pytest.raises(StoreError, match="use empty"):
        open_dialogues(make_config(tmp_path, dialogue_store="mongodb://x"), None)
    assert open_dialogues(make_config(tmp_path, dialogue_store="memory"), None) is None
