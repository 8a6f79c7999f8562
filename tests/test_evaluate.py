"""Evaluation harness: metrics against hand-computed values, splits, and the `evaluate --json` contract."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from chatrec.evaluation.metrics import gini, ranking_metrics
from chatrec.evaluation.offline import make_split, synthetic_movielens
from chatrec.training.data import Interactions


def test_ranking_metrics_match_hand_computed_values():
    # user 0 ranks items 0,1,2,3,4 (scores descending); positives {1, 3}
    # user 1 ranks 4,3,2,1,0; positive {4}, and item 3 is a training item (removed from the ranking)
    scores = np.array([[5, 4, 3, 2, 1], [1, 2, 3, 4, 5]], dtype=float)
    m = ranking_metrics(scores, [np.array([1, 3]), np.array([4])], seen=[np.array([], int), np.array([3])],
                        ks=(2, 5))
    # user 0: hits at ranks 2 and 4
    dcg2_u0 = 1 / math.log2(3)
    idcg2 = 1 + 1 / math.log2(3)
    dcg5_u0 = 1 / math.log2(3) + 1 / math.log2(5)
    # user 1: hit at rank 1
    assert m["recall@2"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["recall@5"] == pytest.approx(1.0)
    assert m["ndcg@2"] == pytest.approx((dcg2_u0 / idcg2 + 1.0) / 2)
    assert m["ndcg@5"] == pytest.approx((dcg5_u0 / idcg2 + 1.0) / 2)
    assert m["mrr"] == pytest.approx((1 / 2 + 1) / 2)
    assert m["hr@10"] == pytest.approx(1.0)
    assert m["users"] == 2


def test_catalogue_metrics_match_hand_computed_values():
    scores = np.array([[3, 2, 1, 0], [3, 2, 1, 0]], dtype=float)
    text = np.eye(4, dtype=np.float32)  # orthogonal items: every pair is at distance 1
    counts = np.array([8, 4, 2, 0])
    m = ranking_metrics(scores, [np.array([0]), np.array([1])], text=text, item_counts=counts, n_users_train=8,
                        ks=(2,))
    # each top list holds all 4 items (top 10 of a 4-item catalog)
    assert m["coverage@10"] == pytest.approx(1.0)
    assert m["diversity@10"] == pytest.approx(1.0)
    # novelty: -log2(8/8), -log2(4/8), -log2(2/8), -log2(max(0,1)/8) -> 0, 1, 2, 3 -> mean 1.5
    assert m["novelty@10"] == pytest.approx(1.5)
    # head = top 20% of 4 items = 1 item (item 0): 3 of 4 slots are long tail
    assert m["longtail@10"] == pytest.approx(0.75)
    assert m["gini@10"] == pytest.approx(0.0)


def test_gini_hand_values():
    assert gini(np.array([1, 1, 1, 1])) == pytest.approx(0.0)
    assert gini(np.array([0, 0, 0, 4])) == pytest.approx(0.75)  # (n-1)/n for all-on-one
    assert gini(np.array([1, 2, 3])) == pytest.approx(2 / 9)


def _toy(n_users=5, per_user=10):
    user = np.repeat(np.arange(n_users), per_user)
    item = np.tile(np.arange(per_user), n_users)
    t = np.tile(np.arange(per_user), n_users) * 10 + user
    return Interactions(user, item, np.full(len(user), 4.0, np.float32), t, n_users, per_user)


def test_temporal_split_holds_out_each_users_latest_ratings():
    data = _toy()
    s = make_split(data, "temporal", seed=0, cold_frac=0.0)
    for u in range(5):
        test_t = s.test.time[s.test.user == u]
        train_t = s.train.time[s.train.user == u]
        assert len(test_t) == 2 and train_t.max() < test_t.min()
        assert len(s.val.time[s.val.user == u]) == 1 and s.val.time[s.val.user == u].max() < test_t.min()
    assert len(s.train) + len(s.test) == len(data)
    assert len(s.fit) + len(s.val) == len(s.train)


def test_cold_users_keep_their_five_latest_training_ratings():
    data = _toy(n_users=10, per_user=20)
    s = make_split(data, "random", seed=1, cold_frac=0.2)
    assert len(s.cold_users) == 2
    for u in s.cold_users:
        assert (s.train.user == u).sum() == 5
        assert (s.val.user == u).sum() == 0


def test_evaluate_json_contract_on_a_tiny_data_set(tmp_path):
    from click.testing import CliRunner

    from chatrec.app.cli import main

    folder = synthetic_movielens(tmp_path / "ml", n_users=30, n_items=40, per_user=15)
    env = {"CHATREC_CATALOG": str(folder), "CHATREC_EMBEDDER": "hashing", "CHATREC_INDEX_DIR": str(tmp_path / "i")}
    res = CliRunner().invoke(main, ["evaluate", "--json", "--quick", "--seeds", "1"], env=env)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert set(out) == {"temporal", "random"}
    for protocol in out.values():
        assert {"fusion", "popularity", "itemknn", "ials", "bpr", "text", "mf"} <= set(protocol)
        for metrics in protocol.values():
            for key in ("ndcg@10", "recall@10", "ndcg@20", "recall@20", "hr@10", "mrr", "coverage@10",
                        "diversity@10", "novelty@10", "gini@10", "longtail@10"):
                assert isinstance(metrics[key], float) and math.isfinite(metrics[key]), key


def test_evaluate_writes_a_report(tmp_path):
    from click.testing import CliRunner

    from chatrec.app.cli import main

    folder = synthetic_movielens(tmp_path / "ml", n_users=30, n_items=40, per_user=15)
    env = {"CHATREC_CATALOG": str(folder), "CHATREC_EMBEDDER": "hashing", "CHATREC_INDEX_DIR": str(tmp_path / "i")}
    res = CliRunner().invoke(main, ["evaluate", "--quick", "--seeds", "1", "--protocol", "temporal",
                                    "--report-dir", str(tmp_path / "rep")], env=env)
    assert res.exit_code == 0, res.output
    md = (tmp_path / "rep" / "evaluation.md").read_text()
    assert "| fusion |" in md and "Behaviour prediction" in md
    for png in ("ndcg_per_model.png", "metric_vs_k.png", "training_curves.png", "cold_slices.png"):
        assert (tmp_path / "rep" / png).stat().st_size > 0


def test_evaluate_without_ratings_is_a_clear_error(tmp_path):
    from click.testing import CliRunner

    from chatrec.app.cli import main
    from tests.conftest import TINY

    res = CliRunner().invoke(main, ["evaluate", "--json", "--quick"],
                             env={"CHATREC_CATALOG": str(TINY), "CHATREC_EMBEDDER": "hashing"})
    assert res.exit_code == 2
    assert "ratings.csv" in res.output
