import numpy as np
import pytest

from chatrec.errors import StoreError
from chatrec.profile.events import DISLIKE, LIKE, RATING, SEEN
from chatrec.profile.store import SQLiteStore, open_store
from chatrec.profile.vector import move_vector


def test_events_persist_across_store_instances(tmp_path):
    path = tmp_path / "p.sqlite3"
    store = SQLiteStore(path)
    store.record("alice", LIKE, "1")
    store.record("alice", DISLIKE, "2")
    store.record("alice", SEEN, "3")
    store.record("alice", RATING, "4", 5.0)
    store.save_vector("alice", np.array([0.6, 0.8], dtype=np.float32))
    store.close()
    again = SQLiteStore(path).load("alice")
    assert again.liked == ["1", "4"] and again.disliked == ["2"] and again.seen == ["3"]
    assert again.ratings == {"4": 5.0}
    np.testing.assert_allclose(again.vector, [0.6, 0.8])
    assert again.excluded == {"1", "2", "3", "4"}
    assert SQLiteStore(path).load("bob").liked == []  # no one else's data


def test_latest_event_about_an_item_wins(tmp_path):
    store = SQLiteStore(tmp_path / "p.sqlite3")
    store.record("u", DISLIKE, "7")
    store.record("u", LIKE, "7")
    assert store.load("u").liked == ["7"] and store.load("u").disliked == []


def test_export_and_forget(tmp_path):
    store = SQLiteStore(tmp_path / "p.sqlite3")
    store.record("u", LIKE, "1")
    store.record("v", LIKE, "2")
    store.save_vector("u", np.ones(3, dtype=np.float32))
    data = store.export("u")
    assert data["liked"] == ["1"] and len(data["events"]) == 1 and data["has_vector"]
    assert store.forget("u") == 1
    assert store.load("u").liked == [] and store.load("u").vector is None
    assert store.load("v").liked == ["2"]


def test_unknown_kind_and_unwritable_path(tmp_path):
    store = SQLiteStore(tmp_path / "p.sqlite3")
    with pytest.raises(ValueError, match="unknown feedback kind"):
        store.record("u", "love", "1")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="CHATREC_PROFILE_DB"):
        SQLiteStore(blocker / "sub" / "p.sqlite3")
    with pytest.raises(StoreError, match="use a file path, sqlite:///path or postgresql://"):
        open_store("redis://localhost/db")


def test_move_vector_rule():
    item = np.array([1.0, 0.0], dtype=np.float32)
    assert np.allclose(move_vector(None, item, LIKE, 0.3), item)  # first like: the item itself
    assert move_vector(None, item, DISLIKE, 0.3) is None
    v = np.array([0.0, 1.0], dtype=np.float32)
    liked = move_vector(v, item, LIKE, 0.3)
    disliked = move_vector(v, item, DISLIKE, 0.3)
    assert liked @ item > v @ item > disliked @ item  # toward, then away
    assert np.isclose(np.linalg.norm(liked), 1.0)
    assert move_vector(v, item, RATING, 0.3, rating=3.0) is v  # a middling rating moves nothing
    assert move_vector(v, item, RATING, 0.3, rating=5.0) @ item > 0
