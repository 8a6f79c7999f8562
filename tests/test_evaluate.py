"""Evaluation harness: splits and the `evaluate --json` contract (the metrics themselves: tests/test_metrics.py)."""
from __future__ import annotations

import json
import math

import numpy as np

from chatrec.evaluation.offline import make_split, synthetic_movielens
from chatrec.training.data import Interactions


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
