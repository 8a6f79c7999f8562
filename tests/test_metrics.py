"""Every metric in chatrec.evaluation.metrics against values worked out by hand (the working is in the comments).

The rank-list functions (recall_at, ndcg_at, hit_rate_at, reciprocal_rank, rank_of) are the formulas; the full-ranking
`ranking_metrics` (training, `chatrec evaluate`) and the rank-list `metrics_from_ranks` (`chatrec evaluate-crs`)
are checked to give the same numbers as those formulas on the same rankings.
"""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from chatrec.evaluation.metrics import (bootstrap_ci, discount, gini, hit_rate_at, ideal_dcg, metrics_from_ranks,
                                        ndcg_at, per_user_metrics, rank_of, ranking_metrics, recall_at,
                                        reciprocal_rank)

INF = np.inf


# ------------------------------------------------------------------ the formulas, one relevant item per query

def test_discount_and_ideal_dcg():
    # 1/log2(rank + 1): rank 1 -> 1/log2(2) = 1; rank 3 -> 1/log2(4) = 0.5; rank 7 -> 1/log2(8) = 1/3
    assert discount([1, 3, 7]).tolist() == pytest.approx([1.0, 0.5, 1 / 3])
    # a perfect ranking of n relevant items fills ranks 1..min(n, k):
    # n=1: 1; n=2: 1 + 1/log2(3) = 1.6309; n=5 with k=3: 1 + 0.6309 + 0.5 = 2.1309; n=0: nothing to find, 0
    assert ideal_dcg([1, 2, 5, 0], 3).tolist() == pytest.approx([1.0, 1 + 1 / math.log2(3), 1.5 + 1 / math.log2(3), 0.0])


def test_single_target_queries():
    # five queries, one target each, ranked 1, 3, 12, 60 and not at all (None)
    ranks = [1, 3, 12, 60, None]
    # Recall@10: ranks 1 and 3 are within 10 -> [1, 1, 0, 0, 0]; @50 also counts 12
    assert recall_at(ranks, 10).tolist() == [1, 1, 0, 0, 0]
    assert recall_at(ranks, 50).tolist() == [1, 1, 1, 0, 0]
    assert hit_rate_at(ranks, 1).tolist() == [1, 0, 0, 0, 0]
    # NDCG@10 with one target: the ideal DCG is 1, so it is 1/log2(rank + 1) within the top 10:
    # rank 1 -> 1, rank 3 -> 1/log2(4) = 0.5, rank 12 -> outside the top 10 -> 0
    assert ndcg_at(ranks, 10).tolist() == pytest.approx([1.0, 0.5, 0.0, 0.0, 0.0])
    # reciprocal rank: 1/1, 1/3, 1/12, 1/60, and 0 for the target that was never ranked
    assert reciprocal_rank(ranks).tolist() == pytest.approx([1.0, 1 / 3, 1 / 12, 1 / 60, 0.0])


def test_several_relevant_items_per_query():
    # query 0: 2 relevant items at ranks 2 and 4; query 1: 3 relevant, only one ranked (at 1); inf pads the rows
    ranks = np.array([[2, 4, INF], [1, INF, INF]])
    n_rel = np.array([2, 3])
    # Recall@3: query 0 finds 1 of 2 = 0.5; query 1 finds 1 of 3
    assert recall_at(ranks, 3, n_rel).tolist() == pytest.approx([0.5, 1 / 3])
    # NDCG@5, query 0: DCG = 1/log2(3) + 1/log2(5) = 0.6309 + 0.4307 = 1.0616; ideal (2 relevant) = 1 + 0.6309
    #   = 1.6309 -> 0.6509. Query 1: DCG = 1; ideal (3 relevant) = 1 + 0.6309 + 0.5 = 2.1309 -> 0.4693
    dcg0, idcg0 = 1 / math.log2(3) + 1 / math.log2(5), 1 + 1 / math.log2(3)
    assert ndcg_at(ranks, 5, n_rel).tolist() == pytest.approx([dcg0 / idcg0, 1 / (1.5 + 1 / math.log2(3))])
    # with k=1 the ideal DCG is 1 for both: query 0 has nothing at rank 1 -> 0; query 1 -> 1
    assert ndcg_at(ranks, 1, n_rel).tolist() == [0.0, 1.0]
    # hit rate and reciprocal rank look at the first relevant item: ranks 2 and 1
    assert hit_rate_at(ranks, 1).tolist() == [0.0, 1.0]
    assert reciprocal_rank(ranks).tolist() == [0.5, 1.0]


def test_rank_of_breaks_ties_either_way():
    scores = np.array([0.9, 0.5, 0.5, 0.1])
    # an item scoring 0.5: pessimistic counts both 0.5s as ahead (#>= 0.5 = 3); optimistic only 0.9 (1 + 1 = 2)
    assert rank_of(scores, scores[[0, 1, 3]], ties="pessimistic").tolist() == [1, 3, 4]
    assert rank_of(scores, scores[[0, 1, 3]], ties="optimistic").tolist() == [1, 2, 4]
    # one value per row of a score matrix
    assert rank_of(np.array([[3, 2, 1], [1, 1, 1]]), np.array([2, 1]), ties="optimistic").tolist() == [2, 1]
    with pytest.raises(ValueError):
        rank_of(scores, [0.5], ties="random")


# ------------------------------------------------------------------ rank lists (chatrec evaluate-crs)

def test_metrics_from_ranks_match_hand_computed_values():
    ranks = [1, 3, None, 12, 60]
    m = metrics_from_ranks(ranks)
    assert m["n_targets"] == 5
    assert m["recall@1"] == pytest.approx(1 / 5)  # only rank 1
    assert m["recall@10"] == pytest.approx(2 / 5)  # ranks 1 and 3
    assert m["recall@50"] == pytest.approx(3 / 5)  # and 12
    assert m["ndcg@10"] == pytest.approx((1.0 + 1.0 / math.log2(4)) / 5)  # 1 and 1/log2(3 + 1) = 0.5
    assert m["mrr"] == pytest.approx((1 + 1 / 3 + 0 + 1 / 12 + 1 / 60) / 5)
    assert set(metrics_from_ranks([], ks=(5,))) == {"recall@5", "ndcg@10", "mrr", "n_targets"}
    assert metrics_from_ranks([])["n_targets"] == 0 and metrics_from_ranks([])["mrr"] == 0.0


def test_bootstrap_ci_resamples_whole_groups():
    keys = ("recall@1", "recall@10", "mrr")
    # one group only: every resample is that group, so the interval is the point estimate itself:
    # recall@1 = 1/2 (rank 1 of ranks 1 and 20), recall@10 = 1/2, MRR = (1 + 1/20) / 2 = 0.525
    ci = bootstrap_ci([[1, 20]], keys, n_boot=50)
    assert ci == {"recall@1": [0.5, 0.5], "recall@10": [0.5, 0.5], "mrr": [0.525, 0.525]}
    # two groups: a resample is (a, a), (a, b) or (b, b); all-hits a=[1] and all-miss b=[None, None] give recall@1
    # 1, 1/3 or 0 -- the 95% interval spans [0, 1] once both extremes are drawn (200 resamples: surely)
    ci = bootstrap_ci([[1], [None, None], []], keys, n_boot=200)
    assert ci["recall@1"] == [0.0, 1.0]
    groups = [[1, 20], [None], [2, 3, 100], [5], [None, 7]]
    ci = bootstrap_ci(groups, keys, n_boot=200)
    point = metrics_from_ranks([r for g in groups for r in g])
    for k in keys:
        assert ci[k][0] <= point[k] + 1e-9 and point[k] <= ci[k][1] + 1e-9
    assert bootstrap_ci(groups, keys, n_boot=0) == {} and bootstrap_ci([[], []], keys) == {}
    assert bootstrap_ci(groups, keys, n_boot=200, seed=3) == bootstrap_ci(groups, keys, n_boot=200, seed=3)


# ------------------------------------------------------------------ full rankings (training, chatrec evaluate)

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
    # the same per user, before averaging: [user 0, user 1]
    per = per_user_metrics(scores, [np.array([1, 3]), np.array([4])], seen=[np.array([], int), np.array([3])],
                           ks=(2, 5))
    assert per["recall@2"].tolist() == [0.5, 1.0]
    assert per["ndcg@2"].tolist() == pytest.approx([dcg2_u0 / idcg2, 1.0])
    assert per["rr"].tolist() == [0.5, 1.0] and per["hr@10"].tolist() == [1.0, 1.0]
    assert {k: float(v.mean()) for k, v in per.items() if k != "rr"} == {k: m[k] for k in per if k != "rr"}


def test_ranking_metrics_ties_favour_the_user_and_users_without_positives_do_not_count():
    # user 0: its positive (item 2) ties with item 1 at 0.5, behind 1.0 -> MRR counts the tie in its favour:
    #   rank 1 + #(> 0.5) = 2 -> 1/2 (pessimistic would say 3)
    # user 1: positive item 1 scores 0.2, below 0.9 and 0.5 -> rank 3 -> 1/3; user 2 has no positive: not counted
    scores = np.array([[1.0, 0.5, 0.5, 0.0], [0.9, 0.2, 0.5, 0.1], [1.0, 0.9, 0.8, 0.7]])
    m = ranking_metrics(scores, [np.array([2]), np.array([1]), np.array([], int)], ks=(1, 3))
    assert m["users"] == 2
    assert m["mrr"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    # both positives are at rank 2 or 3 of their top-k lists, however the tie is ordered there
    assert m["recall@1"] == 0.0 and m["hr@10"] == 1.0
    assert m["recall@3"] == pytest.approx(1.0)


def test_the_two_paths_agree_on_the_same_rankings():
    # a full ranking and the rank list read off it must give the same Recall/NDCG/MRR when each user has one
    # positive: ranking_metrics (users x items) against metrics_from_ranks (one target per query)
    rng = np.random.default_rng(7)
    scores = rng.random((40, 60))
    positives = [np.array([p]) for p in rng.integers(0, 60, 40)]
    full = ranking_metrics(scores, positives, ks=(1, 10, 50))
    ranks = [int(rank_of(scores[u], scores[u, p])[0]) for u, p in enumerate(positives)]
    lists = metrics_from_ranks(ranks, ks=(1, 10, 50))
    for k in ("recall@1", "recall@10", "recall@50", "ndcg@10", "mrr"):
        assert full[k] == pytest.approx(lists[k]), k


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
    # sorted 1,2,3: sum_i (2i - n - 1) x_i / (n * total) = (-2*1 + 0*2 + 2*3) / (3 * 6) = 4/18 = 2/9
    assert gini(np.array([1, 2, 3])) == pytest.approx(2 / 9)
    assert gini(np.array([])) == 0.0 and gini(np.zeros(3)) == 0.0


def test_metrics_module_imports_nothing_else_from_chatrec():
    # training's early stopping imports it: it must load alone, without the protocols (or torch) behind it
    code = ("import sys, chatrec.evaluation.metrics; "
            "print(sorted(m for m in sys.modules if m.startswith('chatrec') and m not in "
            "('chatrec', 'chatrec.evaluation', 'chatrec.evaluation.metrics')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_list_metrics_by_hand():
    # picks 7, 3, 9, 1, 5; the user liked 3, 9 and 4 (4 was not picked); 9 is one of the popular head items
    from chatrec.evaluation.metrics import list_metrics, precision_at, self_information, tail_share

    counts = np.zeros(10)
    counts[[7, 3, 9, 1, 5]] = [8, 2, 8, 4, 1]  # of 8 users: 7 and 9 by everyone, 3 by 2, 1 by 4, 5 by 1
    m = list_metrics([7, 3, 9, 1, 5], {3, 9, 4}, item_counts=counts, n_users=8, head={7, 9}, k=5)
    assert m["hit"] == 2 / 5  # 3 and 9
    assert m["hit_tail"] == 1 / 5  # only 3 is outside the head
    # self-information: 7 and 9: -log2(8/8) = 0; 3: -log2(2/8) = 2; 1: -log2(4/8) = 1; 5: -log2(1/8) = 3
    assert m["novelty"] == (0 + 2 + 0 + 1 + 3) / 5
    assert m["tail_share"] == 3 / 5  # 3, 1 and 5
    assert list(self_information([5], counts, 8)) == [3.0] and tail_share([], {1}) == 0.0
    # a short list: the missing picks are misses, not left out of the denominator
    assert list_metrics([3], {3}, item_counts=counts, n_users=8, head=set(), k=5)["hit"] == 1 / 5
    assert precision_at(np.array([[1.0, 4.0, np.inf]]), 3)[0] == 1 / 3
