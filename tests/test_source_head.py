"""The learned source head: features from every candidate source, a head trained on simulated requests, served by
`Recommender.rank` only when it is switched on and fits the scorer; junk files are refused with a clear error."""
from __future__ import annotations

import json

import numpy as np
import pytest

from chatrec.chat.recommender import Recommender
from chatrec.config import Config
from chatrec.errors import ChatrecError
from chatrec.evaluation.offline import synthetic_movielens
from chatrec.profile.store import Profile
from chatrec.ranking.hybrid import FEATURES, SourceHead, find_head, features, head_path, load_head, save_head
from chatrec.retrieval.retrieve import Request
from chatrec.training.fit import train_catalog


def _head(weights: dict[str, float]) -> SourceHead:
    """A hand-made one-unit head whose score is (a positive multiple of) the weighted features: a known answer."""
    n = len(FEATURES)
    w1 = np.zeros((1, n), dtype=np.float32)
    for name, w in weights.items():
        w1[0, FEATURES.index(name)] = w
    return SourceHead(np.zeros(n, np.float32), np.ones(n, np.float32), w1, np.array([10.0], np.float32),
                      np.ones(1, np.float32), 0.0, {"scorer": "fusion"})


def test_features_describe_every_source():
    x = features(np.array([0.2, 0.8]), np.array([0.1, 0.3]), np.array([0.9, 0.0]), np.array([0.5, -0.5]),
                 np.array([1.0, 0.1]), None, [("collab", "quality"), ("text",)], from_seeds=True)
    assert x.shape == (2, len(FEATURES)) and x.dtype == np.float32
    row = dict(zip(FEATURES, x[0]))
    assert row["collab_sim"] == pytest.approx(0.9) and row["src_collab"] == 1 and row["src_quality"] == 1
    assert row["src_text"] == 0 and row["from_seeds"] == 1 and row["genre_fit"] == 0
    assert x[:, FEATURES.index("scorer_z")].tolist() == pytest.approx([-1.0, 1.0])  # z-scored within the list


def test_head_round_trips_and_refuses_junk(tmp_path):
    head = _head({"collab_sim": 1.0})
    path = save_head(head, tmp_path / "hybrid.json")
    again = load_head(path)
    x = np.random.default_rng(0).normal(size=(7, len(FEATURES))).astype(np.float32)
    assert np.allclose(again.score(x), head.score(x))
    for junk in ("not json", json.dumps({"features": ["x"]}),
                 json.dumps({**head.to_json(), "w1": [[1.0]]}),
                 json.dumps({**head.to_json(), "b2": "nan", "w2": [float("nan")]})):
        path.write_text(junk)
        with pytest.raises(ChatrecError, match="chatrec train"):
            load_head(path)


@pytest.fixture
def trained(tmp_path):
    folder = synthetic_movielens(tmp_path / "ml", n_users=60, n_items=80, per_user=25)
    config = Config(catalog=str(folder), embedder="hashing", index_dir=str(tmp_path / "index"),
                    model_dir=str(tmp_path / "models"), profile_db=str(tmp_path / "p.sqlite3"), ranking_head=1)
    summary = train_catalog(config, epochs=2, progress=False, head_params={"epochs": 5})
    return config, summary


def test_train_makes_a_head_the_chat_serves(trained):
    config, summary = trained
    assert find_head(config) == head_path(config) and summary["head_val_hit@5"] is not None
    head = load_head(head_path(config))
    assert head.meta["scorer"] == "fusion" and head.meta["requests"] > 0
    rec = Recommender.from_config(config, progress=False)
    assert rec.head is not None and rec.collab is not None
    liked = rec.catalog.items[3].item_id
    req = Request(seeds=[liked], exclude={liked})
    cands, base = rec.evidence(req, Profile(user_id="u_t"))
    expected = cands.positions[np.argsort(-rec.head.score(rec.features(cands, base, req)), kind="stable")]
    assert rec.rank(req, Profile(user_id="u_t")).positions.tolist() == expected.tolist()  # the head ranks
    # switched off, or made for another scorer: the set weights rank, and the chat goes on
    from dataclasses import replace

    assert Recommender.from_config(replace(config, ranking_head=0), progress=False).head is None
    data = json.loads(head_path(config).read_text())
    data["meta"]["scorer"] = "baseline"
    head_path(config).write_text(json.dumps(data))
    assert Recommender.from_config(config, progress=False).head is None


def test_without_the_switch_train_makes_no_head(tmp_path):
    folder = synthetic_movielens(tmp_path / "ml", n_users=30, n_items=40, per_user=15)
    config = Config(catalog=str(folder), embedder="hashing", index_dir=str(tmp_path / "index"),
                    model_dir=str(tmp_path / "models"), profile_db=str(tmp_path / "p.sqlite3"))
    summary = train_catalog(config, epochs=1, progress=False)
    assert summary["head_val_hit@5"] is None and not head_path(config).exists()
