import json

import numpy as np
import pytest

from chatrec.catalog import load_table
from chatrec.retrieval.embed import HashingEmbedder
from chatrec.errors import IndexNotReady
from chatrec.retrieval.index import VectorIndex, build_index
from chatrec.retrieval.retrieve import Request, Retriever
from conftest import TINY, make_config


def test_build_is_incremental(tmp_path):
    config = make_config(tmp_path)
    cat, emb = load_table(TINY), HashingEmbedder()
    first = build_index(cat, emb, config, progress=False)
    assert first.embedded == 42
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["count"] == 42 and manifest["dim"] == emb.dim and manifest["embedder"] == emb.name
    assert manifest["catalog_fingerprint"] == cat.fingerprint()
    again = build_index(cat, emb, config, progress=False)
    assert again.embedded == 0 and again.unchanged == 42
    # change one item, drop another
    lines = TINY.read_text().splitlines()
    row = json.loads(lines[0]); row["description"] = "A completely different story about cooking."
    changed = tmp_path / "changed.jsonl"
    changed.write_text("\n".join([json.dumps(row)] + lines[1:-1]) + "\n")
    cat2 = load_table(changed)
    third = build_index(cat2, emb, config, progress=False)
    assert (third.embedded, third.deleted) == (1, 1)
    index = VectorIndex.open(cat2, emb, config)
    assert index.collection.count() == 41
    np.testing.assert_allclose(index.vectors[cat2.index_of["1"]], emb.encode([cat2["1"].text()])[0], atol=1e-5)


def test_missing_or_mismatched_index_names_the_command(tmp_path):
    config = make_config(tmp_path)
    cat = load_table(TINY)
    with pytest.raises(IndexNotReady, match="chatrec build-index"):
        VectorIndex.open(cat, HashingEmbedder(), config)
    build_index(cat, HashingEmbedder(), config, progress=False)
    with pytest.raises(IndexNotReady, match="built with embedder hashing-256.*chatrec build-index"):
        VectorIndex.open(cat, HashingEmbedder(dim=128), config)
    (tmp_path / "index" / "manifest.json").write_text("{corrupt")
    with pytest.raises(IndexNotReady, match="unreadable"):
        VectorIndex.open(cat, HashingEmbedder(), config)


def test_retrieval_respects_filters_and_exclusions(recommender):
    retriever = Retriever(recommender.index, recommender.config)
    cat = recommender.catalog
    req = Request(wish_text="space", genres_in=["Sci-Fi"], genres_out=["Horror"], year_min=1970, year_max=2010,
                  exclude={"3"})
    cands = retriever.candidates(req, None, k=50)
    assert len(cands) and not cands.relaxed
    for pos in cands.positions:
        item = cat.items[pos]
        assert "Sci-Fi" in item.genres and "Horror" not in item.genres
        assert 1970 <= item.year <= 2010 and item.item_id != "3"


def test_impossible_filters_are_relaxed_and_reported(recommender):
    retriever = Retriever(recommender.index, recommender.config)
    req = Request(genres_in=["Western"], year_min=2015, year_max=2018)
    cands = retriever.candidates(req, None, k=10, min_results=1)
    assert len(cands) and cands.relaxed == ["the year range"]
    assert all("Western" in recommender.catalog.items[p].genres for p in cands.positions)


def test_several_genres_mean_all_of_them_unless_or(recommender):
    retriever = Retriever(recommender.index, recommender.config)
    genres = lambda cands: [recommender.catalog.items[p].genres for p in cands.positions]
    cands = retriever.candidates(Request(genres_in=["Animation", "Children"]), None, k=50)
    assert len(cands) and not cands.relaxed and all("Animation" in g and "Children" in g for g in genres(cands))
    cands = retriever.candidates(Request(genres_in=["Animation", "Western"], genres_any=True), None, k=50)
    assert any("Western" in g for g in genres(cands)) and any("Animation" in g for g in genres(cands))
    cands = retriever.candidates(Request(genres_in=["Documentary", "Western"]), None, k=50)
    assert cands.relaxed == ["“all of those genres” to “any of them”"] and len(cands)


def test_embedding_cache_skips_the_encoder(tmp_path, monkeypatch):
    from chatrec.retrieval.index import cache_path, save_embedding_cache

    config = make_config(tmp_path)
    cat, emb = load_table(TINY), HashingEmbedder()
    build_index(cat, emb, config, progress=False)
    index = VectorIndex.open(cat, emb, config)
    path = tmp_path / "cache" / "vectors.npz"
    save_embedding_cache(index, path)

    class Counting(HashingEmbedder):
        calls = 0
        def encode(self, texts, batch_size=64, progress=False):
            Counting.calls += len(texts)
            return super().encode(texts)

    import chatrec.retrieval.index as idx
    other = make_config(tmp_path / "second")
    monkeypatch.setattr(idx, "cache_path", lambda c, e: path)
    stats = build_index(cat, Counting(), other, progress=False)
    assert stats.embedded == 42 and Counting.calls == 0
    again = VectorIndex.open(cat, emb, other)
    np.testing.assert_allclose(again.vectors, index.vectors, atol=2e-3)  # float16 in the cache
    assert cache_path(config, emb).name == "hashing-256.npz"


WHERES = [None, {"genre:Comedy": True}, {"$and": [{"genre:Sci-Fi": True}, {"genre:Horror": False}]},
          {"$or": [{"genre:Western": True}, {"genre:Animation": True}]},
          {"$and": [{"year": {"$gte": 1990}}, {"year": {"$lte": 1999}}]},
          {"$and": [{"year": {"$gte": 0}}, {"year": {"$lte": 1980}}, {"item_id": {"$nin": ["1", "3"]}}]},
          {"item_id": {"$in": ["2", "5", "9"]}}, {"genre:NoSuchGenre": True}]


@pytest.mark.parametrize("where", WHERES)
def test_in_memory_filters_match_chroma(recommender, where):
    """The exact in-memory search and the HNSW path with post-filtering return what Chroma's own filtered
    query returns (the filter language is evaluated the same way)."""
    index = recommender.index
    n = len(recommender.catalog)
    q = index.vectors[0] + index.vectors[7]
    q = q / np.linalg.norm(q)
    chroma = index._ann(q, n, where)
    exact = index.search(q, n, where)
    assert {p for p, _ in exact} == {p for p, _ in chroma}
    assert [p for p, _ in exact[:5]] == [p for p, _ in chroma[:5]]
    old = index.exact_max_items
    try:
        for threshold in (0, 10):  # HNSW + mask; and exact over a narrow filter's items above the threshold
            index.exact_max_items = threshold
            ann = index.search(q, 5, where)
            assert [p for p, _ in ann] == [p for p, _ in chroma[:5]], threshold
    finally:
        index.exact_max_items = old


def test_a_vector_store_that_goes_away_mid_run_degrades_to_exact_search(recommender, caplog):
    """A Chroma server that dies after start-up: searches are answered exactly from the in-memory vectors
    (the same items), the failure is logged once, and the chat keeps answering."""
    index = recommender.index
    q = index.vectors[2] + index.vectors[5]
    q = q / np.linalg.norm(q)
    where = {"$and": [{"year": {"$gte": 0}}, {"item_id": {"$nin": ["1"]}}]}  # broad: goes through HNSW
    expected = [index.search(q, 5, w) for w in (None, where)]

    class Dead:
        def query(self, **kwargs):
            raise ConnectionError("Could not connect to a Chroma server")

    old = index.exact_max_items, index.collection
    try:
        index.exact_max_items, index.collection = 0, Dead()
        with caplog.at_level("WARNING", logger="chatrec"):
            got = [index.search(q, 5, w) for w in (None, where)]
        assert [[p for p, _ in g] for g in got] == [[p for p, _ in e] for e in expected]
        assert index.ann_failures == 2
        assert sum("exact search" in r.message for r in caplog.records) == 1  # said once, not per query
        reply = recommender.session().handle("something like Alien")
        assert reply["items"]
        index.collection = old[1]  # the server is back: searches go to it again
        index.search_paths.clear()
        assert [p for p, _ in index.search(q, 5)] == [p for p, _ in expected[0]]
        assert index.search_paths["hnsw"] == 1
    finally:
        index.exact_max_items, index.collection = old


@pytest.mark.parametrize("where", WHERES[1:])
def test_filtered_hnsw_search_never_needs_chromas_filtered_query(recommender, where):
    """Above the exact-search size a filter is applied to oversampled HNSW neighbours in memory; when too few
    pass, a wider round and then exact search answer -- the same items as exact search, without Chroma's own
    filtered query (seconds at a million items)."""
    index = recommender.index
    q = index.vectors[4] + index.vectors[11]
    q = q / np.linalg.norm(q)
    expected = [p for p, _ in index.search(q, 6, where)]
    calls = []
    real_ann = index._ann

    def spy(vector, k, w):
        calls.append((k, w))
        return real_ann(vector, k, w)

    old = index.exact_max_items, index.oversample, index.max_ann_k
    try:
        index._ann = spy
        index.exact_max_items, index.oversample, index.max_ann_k = 0, 1, 12  # tiny rounds: force the escalation
        got = [p for p, _ in index.search(q, 6, where)]
    finally:
        del index._ann
        index.exact_max_items, index.oversample, index.max_ann_k = old
    assert got == expected
    assert all(w is None for _, w in calls)


def test_filtered_exact_search_reuses_a_contiguous_copy_of_the_allowed_rows(recommender):
    """Exact search over a filter's rows keeps a contiguous copy of them: the same answer as scoring every row and
    masking, one copy for a conversation whose exclusions grow turn by turn, and the cache stays within its budget."""
    from chatrec.retrieval.index import VectorIndex, where_mask

    base = recommender.index
    cat = recommender.catalog
    index = VectorIndex(cat, None, base.collection, base.vectors, {}, exact_max_items=base.exact_max_items)
    q = index.vectors[3] + index.vectors[9]
    q = q / np.linalg.norm(q)

    def brute(where, k):
        sims = index.vectors @ q
        sims = np.where(where_mask(where, index.columns, len(cat), cat.index_of), sims, -np.inf)
        return [int(p) for p in np.argsort(-sims, kind="stable")[:k] if np.isfinite(sims[p])]

    def scores(hits):  # ties (the hashing embedder makes a few) may come in either order
        return [round(s, 5) for _, s in hits]

    def brute_scores(where, k):
        sims = index.vectors @ q
        return [round(float(sims[p]), 5) for p in brute(where, k)]

    where = {"genre:Drama": True}
    assert scores(index.search(q, 8, where)) == brute_scores(where, 8)
    assert len(index._subsets) == 1
    first = index._subsets[0]
    for turn in range(1, 4):  # the same filter minus the items shown so far: answered from the same copy
        shown = [cat.items[p].item_id for p in brute(where, 2 * turn)]
        narrower = {"$and": [where, {"item_id": {"$nin": shown}}]}
        assert scores(index.search(q, 8, narrower)) == brute_scores(narrower, 8)
        assert len(index._subsets) == 1 and index._subsets[0] is first
    other = {"genre:Comedy": True}
    assert scores(index.search(q, 5, other)) == brute_scores(other, 5)
    assert len(index._subsets) == 2 and index._subsets[1] is first  # most recently used first
    index.search(q, 5, where)
    assert index._subsets[0] is first
    index.subset_cache_bytes = first.vectors.nbytes + 1  # room for one copy: a new one pushes out the others
    masks = [sub.mask for sub in index._subsets]
    third = next({f"genre:{g}": True} for g in cat.genres
                 if 0 < (m := index.columns[f"genre:{g}"]).sum() <= first.count and all(np.any(m > o) for o in masks))
    index.search(q, 5, third)
    assert len(index._subsets) == 1 and index._subsets[0] is not first
    index.subset_cache_bytes = 0  # no cache: the same answers without copies
    index._subsets.clear()
    assert scores(index.search(q, 8, where)) == brute_scores(where, 8) and not index._subsets


def test_a_short_hnsw_round_falls_back_to_exact_search_over_the_cached_rows(recommender):
    """Above the exact-search size, a filter whose HNSW neighbours mostly fail it (near a horror film, "no horror")
    is answered exactly over a cached copy of its rows instead of a wide HNSW round: exact, and cheaper at 1M."""
    from chatrec.retrieval.index import VectorIndex, where_mask

    base = recommender.index
    index = VectorIndex(recommender.catalog, None, base.collection, base.vectors, {}, exact_max_items=0, oversample=1)
    q = index.vectors[4] + index.vectors[11]
    q = q / np.linalg.norm(q)
    where = {"genre:Drama": True}
    mask = where_mask(where, index.columns, len(recommender.catalog))
    assert 6 <= mask.sum() <= len(mask) // 2
    expected = [p for p, _ in base.search(q, 6, where)]  # exact (the tiny catalog is under the threshold)
    calls = []
    real_ann = index._ann

    def failing_neighbourhood(vector, k, w):  # every neighbour HNSW finds fails the filter
        calls.append(k)
        return [(p, s) for p, s in real_ann(vector, k, w) if not mask[p]]

    index._ann = failing_neighbourhood
    got = [p for p, _ in index.search(q, 6, where)]
    assert got == expected
    assert len(calls) == 1 and index.search_paths == {"exact after hnsw": 1} and len(index._subsets) == 1
