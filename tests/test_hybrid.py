"""Hybrid candidate generation: every source (text, collaborative, profile, quality) under the same filters and
exclusions, merged with provenance, and the collaborative neighbourhood of a named film at full strength."""
from __future__ import annotations

import numpy as np
import pytest

from chatrec.catalog import Catalog, Item, load_catalog, quality_prior
from chatrec.chat.recommender import Recommender
from chatrec.errors import ChatrecError
from chatrec.profile.store import Profile
from chatrec.ranking.checkpoint import collab_path, load_collab, save_collab
from chatrec.ranking.hybrid import FEATURES, HybridWeights, combine
from chatrec.retrieval.index import open_vectors
from chatrec.retrieval.lexical import Lexicon
from chatrec.retrieval.retrieve import Request, Retriever, saturate

from conftest import TINY, make_config

HEAT, CASABLANCA, UP, PENGUINS, TITANIC, ALIEN = "23", "36", "11", "40", "18", "1"
# people who liked Heat also liked Casablanca, Up and March of the Penguins: nothing in their texts says so
CLUSTER = [HEAT, CASABLANCA, UP, PENGUINS]


def collab_vectors(catalog) -> np.ndarray:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(len(catalog), 16)).astype(np.float32) * 0.3
    for item_id in CLUSTER:
        v[catalog.index_of[item_id], 0] += 5.0
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def hybrid(tmp_path):
    config = make_config(tmp_path)
    catalog = load_catalog(TINY)
    save_collab(collab_path(config), collab_vectors(catalog), catalog=catalog, params={"test": True})
    return Recommender.from_config(config, progress=False)


def ids(rec, positions):
    return [rec.catalog.items[int(p)].item_id for p in positions]


def test_something_like_x_brings_its_collaborative_neighbours(hybrid):
    reply = hybrid.session().turn("something like Heat")
    picked = [it["item_id"] for it in reply["items"]]
    assert set(picked) >= {CASABLANCA, UP, PENGUINS}, picked  # found by the ratings, not by the words
    assert HEAT not in picked
    assert all("collab" in r.sources for r in reply.recs if r.item.item_id in CLUSTER)


def test_every_source_obeys_the_filters_and_exclusions(hybrid):
    req = Request(seeds=[HEAT], genres_out=["Romance"], year_min=1980, exclude={UP, HEAT})
    cands = hybrid.retriever.candidates(req, None, 30, liked=[TITANIC])
    found = {s for srcs in cands.sources for s in srcs}
    assert {"text", "collab", "quality"} <= found
    for item_id in ids(hybrid, cands.positions):
        item = hybrid.catalog[item_id]
        assert "Romance" not in item.genres and item.year >= 1980 and item_id not in {UP, HEAT}
    assert PENGUINS in ids(hybrid, cands.positions)  # a collaborative neighbour that passes every filter
    assert CASABLANCA not in ids(hybrid, cands.positions)  # one that does not (1942, Romance)


def test_the_quality_source_offers_well_rated_known_films_within_the_constraints(hybrid):
    cands = hybrid.retriever.candidates(Request(genres_in=["Horror"]), None, 5)
    quality = [p for p, s in zip(cands.positions, cands.sources) if "quality" in s]
    assert quality and all("Horror" in hybrid.catalog.items[int(p)].genres for p in quality)
    horror = [i for i, it in enumerate(hybrid.catalog.items) if "Horror" in it.genres]
    prior = 0.5 * (hybrid.retriever.quality + 1) * np.asarray(hybrid.catalog.popularity)
    assert max(horror, key=lambda p: prior[p]) in quality


def test_the_profile_source_follows_stored_likes_when_nothing_is_named(hybrid):
    cands = hybrid.retriever.candidates(Request(), None, 10, liked=[HEAT])
    assert cands.collab_query is not None and not cands.collab_from_seeds
    profile = ids(hybrid, [p for p, s in zip(cands.positions, cands.sources) if "profile" in s])
    assert {CASABLANCA, UP, PENGUINS} <= set(profile)


def test_the_context_source_serves_a_ranking_that_keeps_the_conversations_films(hybrid):
    # the ReDial protocol ranks without exclusions: what the conversation showed is evidence, and so are its
    # collaborative neighbours; a disliked film is not
    req = Request(shown=[HEAT], taste=[(TITANIC, -1.0)], keep_mentioned=True)
    assert req.mentioned() == {HEAT: 1.0}
    cands = hybrid.retriever.candidates(req, None, 10)
    assert cands.context_query is not None and cands.collaborative and cands.collab_query is None
    context = ids(hybrid, [p for p, s in zip(cands.positions, cands.sources) if "context" in s])
    assert {CASABLANCA, UP, PENGUINS} <= set(context)
    assert HEAT in context and TITANIC not in context  # the film itself may come again; a disliked one does not
    # every source obeys the filters
    cands = hybrid.retriever.candidates(Request(shown=[HEAT], genres_out=["Romance"], keep_mentioned=True), None, 10)
    assert CASABLANCA not in ids(hybrid, cands.positions)


def test_the_head_reads_the_whole_conversation(hybrid):
    # collaborative and text similarity to every film brought up so far, not only the current request's
    req = Request(shown=[HEAT], taste=[(ALIEN, 0.5)], keep_mentioned=True)
    cands, base = hybrid.evidence(req, Profile("someone"))
    x = dict(zip(FEATURES, hybrid.features(cands, base, req).T))
    vec, text, idx = hybrid.collab.vectors, hybrid.index.vectors, hybrid.catalog.index_of
    rows, w = [idx[HEAT], idx[ALIEN]], np.array([1.0, 0.5], dtype=np.float32)  # what was said a turn ago counts half
    c, t = w @ vec[rows], w @ text[rows]
    pos = np.asarray(cands.positions)
    assert x["context_collab"] == pytest.approx(vec[pos] @ (c / np.linalg.norm(c)), abs=1e-5)
    assert x["context_text"] == pytest.approx(text[pos] @ (t / np.linalg.norm(t)), abs=1e-5)
    # the flags carry how much each film still counts: shown just now 1, named a turn ago a half
    assert x["shown_before"][list(pos).index(idx[HEAT])] == 1 and x["named_before"][list(pos).index(idx[ALIEN])] == 0.5
    assert x["named_before"][list(pos).index(idx[HEAT])] == 0 and x["shown_before"][list(pos).index(idx[ALIEN])] == 0


def test_every_film_brought_up_counts_by_how_recently(hybrid):
    # a film the person only asked about or said they had seen still belongs to the conversation's context, and
    # counts less for every film brought up after it; the films this request turns away from do not count
    from chatrec.chat.state import DialogueState

    state = DialogueState()
    state.bring_up([HEAT])  # "is Heat any good?"
    state.bring_up([ALIEN, UP])  # shown
    state.bring_up([HEAT])  # "I've seen Heat": brought up again, the newest now
    req = state.request()
    assert req.context == [ALIEN, UP, HEAT]
    w = Request.RECENCY
    assert req.mentioned() == {HEAT: 1.0, UP: w, ALIEN: w * w}
    req.negatives = [UP]
    assert UP not in req.mentioned()
    x = dict(zip(FEATURES, hybrid.features(*hybrid.evidence(Request(context=[HEAT], keep_mentioned=True),
                                                            Profile("someone")), Request(context=[HEAT])).T))
    assert x["named_before"].max() == 1.0  # Heat: the person brought it up, nothing has been shown


def test_newer_films_count_more_in_the_conversations_context():
    req = Request(shown=["a", "b", "c"], seeds=["d"], taste=[("b", 0.25), ("e", 0.5), ("f", -1.0)])
    assert req.mentioned() == pytest.approx({"c": 1.0, "b": 0.7, "a": 0.49, "d": 1.0, "e": 0.5})


def test_the_chat_has_no_context_source(hybrid):
    # the chat excludes what it showed and what was named, so their neighbourhood is not a source of its own there
    session = hybrid.session()
    first = session.turn("something like Heat")
    second = session.turn("something funnier")
    assert first["items"] and second["items"]
    req = session.state.request()
    assert HEAT in req.mentioned() and not req.keep_mentioned
    cands = hybrid.retriever.candidates(req, None, 10)
    assert cands.context_query is None and not any("context" in s for s in cands.sources)
    assert not any("context" in r.sources for r in first.recs + second.recs)


def test_a_named_film_counts_more_than_the_stored_profile(hybrid):
    seeds_only, _ = hybrid.retriever.collab_query(Request(seeds=[HEAT]))
    both, from_seeds = hybrid.retriever.collab_query(Request(seeds=[HEAT]), liked=[ALIEN])
    vec = hybrid.collab.vectors
    assert from_seeds and both @ vec[hybrid.catalog.index_of[HEAT]] > both @ vec[hybrid.catalog.index_of[ALIEN]]
    assert seeds_only @ vec[hybrid.catalog.index_of[HEAT]] > 0.99


def test_a_stranger_gets_the_neighbourhood_at_full_strength():
    w = HybridWeights(base=0.3, collab=1.0, quality=0.5, profile_collab=0.3)
    base, collab, quality = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.zeros(2)
    named = combine(base, collab, quality, collab_from_seeds=True, has_collab=True, w=w)
    assert named[1] > named[0]  # the named film's neighbour outranks what the text-based scorer preferred
    profile = combine(base, collab, quality, collab_from_seeds=False, has_collab=True, w=w)
    assert profile[0] > profile[1]  # a stored profile only nudges
    assert list(combine(base, collab, quality, collab_from_seeds=False, has_collab=False, w=w)) == [1.0, 0.0]


def test_among_a_named_films_neighbours_the_closer_story_comes_first():
    # "like Heat": Rumble in the Bronx (seen by Heat's raters the same year) and The Usual Suspects are about as
    # close in the ratings; the crime story is closer to Heat's
    w = HybridWeights()
    base, collab, quality = np.zeros(2), np.array([0.70, 0.66]), np.zeros(2)
    text_fit = np.array([0.1, 0.9])
    scores = combine(base, collab, quality, collab_from_seeds=True, has_collab=True, w=w, text_fit=text_fit)
    assert scores[1] > scores[0]
    assert combine(base, collab, quality, collab_from_seeds=True, has_collab=True, w=w)[0] > \
        combine(base, collab, quality, collab_from_seeds=True, has_collab=True, w=w)[1]
    profile = combine(base, collab, quality, collab_from_seeds=False, has_collab=True, w=w, text_fit=text_fit)
    assert profile[0] > profile[1]  # a stored profile's pull alone: the text term is for named films


def test_without_collaborative_vectors_the_other_sources_answer(recommender):
    assert recommender.collab is None
    cands = recommender.retriever.candidates(Request(seeds=[HEAT]), None, 10)
    assert len(cands) and cands.collab_query is None and not np.any(cands.collab_sim)
    assert {s for srcs in cands.sources for s in srcs} <= {"text", "quality"}
    assert recommender.session().turn("something like Heat")["items"]


def test_collab_vectors_load_by_item_id_and_refuse_junk(tmp_path):
    catalog = load_catalog(TINY)
    vectors = collab_vectors(catalog)
    path = save_collab(tmp_path / "collab.npz", vectors[:10], catalog=_FirstTen(catalog), params={})
    loaded, meta = load_collab(path, catalog)
    assert meta["known_items"] == 10 and np.allclose(loaded[:10], vectors[:10]) and not np.any(loaded[10:])
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ChatrecError, match="chatrec train"):
        load_collab(tmp_path / "junk.npz", catalog)


def test_a_broken_collab_file_does_not_stop_the_chat(tmp_path, caplog):
    config = make_config(tmp_path)
    collab_path(config).parent.mkdir(parents=True)
    collab_path(config).write_bytes(b"garbage")
    rec = Recommender.from_config(config, progress=False)
    assert rec.collab is None and "collaborative" in caplog.text
    assert rec.session().turn("something like Heat")["items"]


def test_the_collab_collection_is_rebuilt_only_when_the_vectors_change(tmp_path):
    config = make_config(tmp_path)
    catalog = load_catalog(TINY)
    vectors = collab_vectors(catalog)
    first = open_vectors(catalog, vectors, config, "collab")
    again = open_vectors(catalog, vectors, config, "collab")
    assert again.manifest["built_at"] == first.manifest["built_at"]
    changed = open_vectors(catalog, np.roll(vectors, 1, axis=0), config, "collab")
    assert changed.manifest["fingerprint"] != first.manifest["fingerprint"]
    hits = changed.search(changed.vectors[0], 3, {"genre:Horror": True})
    assert hits and all("Horror" in catalog.items[p].genres for p, _ in hits)


def test_quality_prior_is_a_bayesian_average():
    catalog = load_catalog(TINY)
    q = quality_prior(catalog)
    counts = np.array([it.rating_count for it in catalog.items])
    means = np.array([it.rating_mean or 0 for it in catalog.items])
    g = (means * counts).sum() / counts.sum()
    i = int(np.argmax(counts))
    assert q[i] == pytest.approx(((means[i] * counts[i] + 20 * g) / (counts[i] + 20) - 3) / 2, rel=1e-5)
    assert q.min() >= -1 and q.max() <= 1


def test_the_ranking_keeps_the_provenance(hybrid):
    ranked = hybrid.rank(Request(seeds=[HEAT]), Profile("someone"))
    assert len(ranked.sources) == len(ranked.positions) and all(ranked.sources)
    assert list(ranked.scores) == sorted(ranked.scores, reverse=True)


class _FirstTen:
    """A catalog of the first ten films (what an older training run knew)."""

    def __init__(self, catalog):
        self.items, self.name = catalog.items[:10], "first-ten"


def test_retriever_needs_no_collab(recommender):
    retriever = Retriever(recommender.index, recommender.config)
    assert retriever.collab_query(Request(seeds=[HEAT])) == (None, False)


def test_a_collaborative_pick_says_people_who_loved_the_named_film_loved_it_too(hybrid):
    reply = hybrid.session().turn("something like Heat")
    casablanca = next(r for r in reply.recs if r.item.item_id == CASABLANCA)
    assert casablanca.explanation.startswith("People who loved Heat loved it too")
    zh = hybrid.session().turn("有没有像《Heat》那样的电影")
    assert any("喜欢《Heat》的人也喜欢它" in r.explanation for r in zh.recs)


# ---------------------------------------------------------------- conversation memory

def test_the_state_remembers_every_film_with_its_sentiment_fading_with_turns():
    from chatrec.chat.state import DialogueState
    from chatrec.understand.intent import Intent

    state = DialogueState()
    state.turns = 1
    state.start_request(Intent("recommend", liked=[HEAT], disliked=[TITANIC]))
    assert state.taste() == []  # the current request's own films count through seeds and negatives
    state.turns = 2
    state.start_request(Intent("recommend", genres_in=["Comedy"]))
    assert dict(state.taste()) == {HEAT: 0.5, TITANIC: -0.5}
    state.turns = 3
    state.start_request(Intent("recommend", liked=[UP]))
    assert dict(state.taste()) == {HEAT: 0.25, TITANIC: -0.25}
    assert state.request().seeds == [UP] and dict(state.request().taste) == {HEAT: 0.25, TITANIC: -0.25}


def test_a_new_request_replaces_the_constraints_but_keeps_the_taste(hybrid):
    session = hybrid.session()
    session.turn("something like Heat from the 90s")
    assert session.state.year_min == 1990
    session.turn("something like Titanic")  # a new request: new films, no years
    req = session.state.request()
    assert req.seeds == [TITANIC] and req.year_min is None and dict(req.taste) == {HEAT: 0.5}
    with_memory, _ = hybrid.retriever.collab_query(req)
    without, _ = hybrid.retriever.collab_query(Request(seeds=[TITANIC]))
    heat = hybrid.collab.vectors[hybrid.catalog.index_of[HEAT]]
    assert with_memory @ heat > without @ heat  # Heat still pulls, at half strength


def test_more_like_and_less_like_are_remembered(hybrid):
    session = hybrid.session()
    first = session.turn("something like Heat")
    second_id = first["items"][1]["item_id"]
    session.critique("more_like", 2)
    assert (second_id, 1) in [(i, s) for i, s, _ in session.state.memory]


def test_the_memory_of_a_very_long_conversation_stays_bounded():
    from chatrec.chat.state import DialogueState

    state = DialogueState()
    for turn in range(500):
        state.turns = turn
        state.remember([str(turn % 40)], +1)
    assert len(state.memory) == DialogueState.MEMORY_SIZE and state.memory[-1] == ("19", 1, 499)


def test_soft_preferences_move_the_ranking_without_filtering(hybrid):
    """Moods and quality words are soft: genre weights, quality and popularity biases reorder the same candidates."""
    profile = Profile(user_id="u_soft")
    plain = hybrid.rank(Request(), profile)
    comedy = hybrid.rank(Request(genre_weights={"Comedy": 2.0}), profile)
    assert set(ids(hybrid, plain.positions)) == set(ids(hybrid, comedy.positions))  # nothing filtered out
    top = lambda r: hybrid.catalog.items[int(r.positions[0])]  # noqa: E731
    assert "Comedy" in top(comedy).genres
    unpopular = hybrid.rank(Request(popularity_bias=-3.0), profile)
    pop = np.asarray(hybrid.catalog.popularity)
    assert pop[unpopular.positions[:3]].mean() < pop[plain.positions[:3]].mean()
    best = hybrid.rank(Request(quality_bias=3.0), profile)
    q = hybrid.retriever.quality
    assert q[best.positions[:3]].mean() >= q[plain.positions[:3]].mean()


def test_quality_priors_choose_among_films_that_fit_the_words(hybrid):
    # "films about penguins": the quality and popularity priors order the films the words describe; a famous film
    # the words do not describe gets no lift from them (the plain request's defaults included)
    from chatrec.retrieval.retrieve import relevance

    # 0 at or below the median closeness (0.35 here), 1 for the closest, linear between
    assert relevance(np.array([0.2, 0.3, 0.5, 0.4], dtype=np.float32)).tolist() == pytest.approx([0, 0, 1, 1 / 3])
    profile = Profile(user_id="u_topic")
    words = Request(wish_text="penguins antarctica wildlife documentary", topic="penguins antarctica wildlife documentary")
    plain = hybrid.rank(words, profile)
    pushed = hybrid.rank(Request(wish_text=words.wish_text, topic=words.topic, quality_bias=3.0, popularity_bias=3.0),
                         profile)
    assert ids(hybrid, plain.positions)[0] == ids(hybrid, pushed.positions)[0] == PENGUINS
    cands, _ = hybrid.evidence(words, profile)
    fit = dict(zip(ids(hybrid, cands.positions), relevance(cands.topic_sim)))
    assert all(fit[i] > 0 for i in ids(hybrid, pushed.positions)[:3])  # nothing unrelated was lifted to the top
    # a penalty counts in full, fitting or not ("hidden gems": the famous move down whether or not they fit)
    pop = np.asarray(hybrid.catalog.popularity, dtype=np.float32)[cands.positions]
    prior = hybrid.soft_preferences(Request(topic=words.topic, popularity_bias=-1.0), cands.positions, cands.topic_sim)
    assert prior == pytest.approx(-pop)
    # a mood's words are no topic ("something cheerful" is a broad request): the priors count in full
    mood = Request(wish_text=words.wish_text, quality_bias=1.0)
    mood_cands, _ = hybrid.evidence(mood, profile)
    assert mood_cands.topic_sim is None
    assert hybrid.soft_preferences(mood, mood_cands.positions) == pytest.approx(
        hybrid.retriever.quality[mood_cands.positions])
    # without words the priors count in full: "the best films" are the best-rated ones
    best = hybrid.rank(Request(quality_bias=3.0), profile)
    q = hybrid.retriever.quality
    assert q[best.positions[:3]].mean() >= np.sort(q[best.positions])[::-1][:10].mean() - 1e-6


def test_the_rating_count_floor_keeps_the_films_that_fit_the_words(hybrid):
    # March of the Penguins has 40 ratings: under a floor of 50 a plain request leaves it out, but "films about
    # penguins" keeps it, since fewer than MIN_KNOWN better-known films fit those words
    from dataclasses import replace

    retriever = Retriever(hybrid.index, replace(hybrid.config, min_ratings=1000), hybrid.collab)
    retriever.MIN_KNOWN = 3  # the test catalog is small
    found = lambda req: ids(hybrid, retriever.candidates(req, None, 40).positions)  # noqa: E731
    assert PENGUINS not in found(Request(min_ratings=50))
    penguins = dict(wish_text="penguins antarctica wildlife documentary", topic="penguins antarctica")
    assert PENGUINS in found(Request(**penguins, min_ratings=50))
    assert PENGUINS not in found(Request(wish_text=penguins["wish_text"], min_ratings=50))  # a mood's words: no topic
    # and a less-known film that does not fit the words still goes
    solaris = "5"  # 30 ratings
    assert solaris not in found(Request(**penguins, min_ratings=50))


def test_a_broad_topics_kinds_are_searched_and_fit_as_the_closest_kind(hybrid):
    # "sports" is searched as boxing, baseball, ...: each kind brings its nearest films, and a film fits the topic
    # (and the wish) as well as it fits the closest kind
    from dataclasses import replace

    profile = Profile(user_id="u_kinds")
    kind = "penguins antarctica wildlife documentary"
    plain = Request(wish_text="space", topic="space")
    broad = replace(plain, topic_kinds=["cowboy doll toys", kind])
    cands = hybrid.retriever.candidates(broad, None, 4)
    assert PENGUINS in ids(hybrid, cands.positions)
    assert PENGUINS not in ids(hybrid, hybrid.retriever.candidates(plain, None, 4).positions)
    retriever = hybrid.retriever
    vecs = retriever.index.vectors[cands.positions]
    own = vecs @ retriever._encode(["space"])[0]
    kinds = retriever._kind_vectors(broad.topic_kinds)
    assert cands.topic_sim == pytest.approx(np.maximum(own, (vecs @ kinds.T).max(1)), abs=1e-5)
    # the wish is the topic; it alone decides (no named film, no taste), so past the full fit every film is as close
    assert cands.text_sim.tolist() == pytest.approx(saturate(cands.topic_sim).tolist(), abs=1e-5)
    # a film described by its genres alone never fits a topic by that closeness (its genre word says nothing of it)
    p = hybrid.catalog.index_of[PENGUINS]
    retriever.described[p] = False
    try:
        again = retriever.candidates(broad, None, 4)
        at = list(again.positions).index(p)
        assert again.topic_sim[at] == 0.0 and again.text_sim[at] == again.text_sim.max() > 0.2  # still close
    finally:
        retriever.described[p] = True
    assert hybrid.rank(broad, profile).positions.size  # and the whole ranking runs on it


def test_what_the_person_turned_away_from_moves_down(hybrid):
    # "a horror movie that is not too gory": the broad request is ranked by the priors, so moving the query away
    # from the words was not enough (Saw was a pick); a film closer to them than the median loses AVOID_WEIGHT per
    # unit of cosine above it
    profile = Profile(user_id="u_avoid")
    plain = Request(quality_bias=0.3, popularity_bias=0.15)
    cands, _ = hybrid.evidence(plain, profile)
    away = "penguins antarctica wildlife documentary"
    avoid = Request(quality_bias=0.3, popularity_bias=0.15, avoid_text=away)
    diff = hybrid.soft_preferences(avoid, cands.positions) - hybrid.soft_preferences(plain, cands.positions)
    closeness = hybrid.retriever.text_closeness(cands.positions, away)
    assert diff == pytest.approx(-hybrid.AVOID_WEIGHT * np.clip(closeness - np.median(closeness), 0, None), abs=1e-6)
    assert diff.argmin() == closeness.argmax() and diff.max() == 0.0 and (diff < 0).sum() <= len(diff) // 2 + 1
    ranked = lambda req: ids(hybrid, hybrid.rank(req, profile).positions)  # noqa: E731
    before = ranked(plain)
    closest = dict(zip(ids(hybrid, cands.positions), closeness.tolist()))
    worst = max(before[:10], key=lambda i: closest.get(i, -1.0))  # the listed film closest to what was turned away
    assert ranked(avoid).index(worst) > before.index(worst)
    # with a named film its neighbourhood decides ("like Alien but less gory"): no text penalty
    assert hybrid.soft_preferences(Request(seeds=[HEAT], avoid_text=away), cands.positions).tolist() == \
        hybrid.soft_preferences(Request(seeds=[HEAT]), cands.positions).tolist()


def test_a_request_with_nothing_to_be_close_to_has_no_text_closeness(hybrid):
    # "a comedy from the 2000s": the text source searches near the popular films' centroid, which finds candidates
    # but says nothing of them (closeness to it put Lemony Snicket first); the scorer and the priors rank them
    aimless = hybrid.retriever.candidates(Request(genres_in=["Comedy"]), None, 20)
    assert len(aimless) and not aimless.text_sim.any()
    assert hybrid.retriever.candidates(Request(genres_in=["Comedy"], wish_text="robots"), None, 20).text_sim.any()
    assert hybrid.retriever.candidates(Request(seeds=[HEAT]), None, 20).text_sim.any()
    profile_vector = hybrid.index.vectors[hybrid.catalog.index_of[UP]]
    assert hybrid.retriever.candidates(Request(), profile_vector, 20).text_sim.any()  # a known taste is a direction


def test_a_request_for_the_little_known_gets_hidden_gems_not_the_best_known(hybrid):
    # "underrated comedies" had the best-known films as a candidate source (Amelie, Young Frankenstein were picks)
    from dataclasses import replace

    retriever = Retriever(hybrid.index, replace(hybrid.config, min_ratings=1000), hybrid.collab)
    def quality_source(req):
        c = retriever.candidates(req, None, 30)
        return [hybrid.catalog.items[int(p)] for p, src in zip(c.positions, c.sources) if "quality" in src]
    known, gems = quality_source(Request()), quality_source(Request(popularity_bias=-0.9, quality_bias=0.8,
                                                                    min_ratings=50))
    assert known and gems
    assert np.mean([it.rating_count for it in gems]) < np.mean([it.rating_count for it in known])
    assert min(it.rating_count for it in gems) >= 50  # and enough people rated each for its rating to mean something


def test_the_rating_count_floor_is_capped_by_config(hybrid):
    """`Request.min_ratings` leaves out films fewer people rated (when enough others fit); `Config.min_ratings` caps
    it, 0 turning it off (the ReDial benchmark, whose counts are another population's)."""
    from dataclasses import replace

    req = Request(min_ratings=150)
    counts = lambda c: {hybrid.catalog.items[int(p)].rating_count for p in c.positions}  # noqa: E731
    at = lambda cap: Retriever(hybrid.index, replace(hybrid.config, min_ratings=cap), hybrid.collab)  # noqa: E731
    assert min(counts(at(1000).candidates(req, None, 40))) >= 150  # the request's own floor
    assert min(counts(at(100).candidates(req, None, 40))) >= 100  # capped by the config
    assert min(counts(at(0).candidates(req, None, 40))) < 100  # off
    assert min(counts(hybrid.retriever.candidates(req, None, 40))) < 100  # the default cap, 5, is below every count


def test_only_a_described_request_needs_described_films(hybrid):
    # "something like Heat" is answered by what people liked together: a neighbour the catalog knows by its title
    # and year only is an answer; "a comedy like Heat" describes, so such a film cannot be shown to fit
    from chatrec.chat.state import DialogueState

    assert not DialogueState(seeds=[HEAT]).request().require_content
    for described in (dict(genres_in=["Comedy"]), dict(wish_text="heist"), dict(year_min=1990), dict(moods=["dark"])):
        assert DialogueState(seeds=[HEAT], **described).request().require_content, described
    # as if the catalog knew Casablanca (a collaborative neighbour of Heat) by its title and year only
    hybrid.retriever.has_content[hybrid.catalog.index_of[CASABLANCA]] = False
    plain = hybrid.retriever.candidates(DialogueState(seeds=[HEAT]).request(exclude={HEAT}), None, 10)
    assert CASABLANCA in ids(hybrid, plain.positions)
    wished = hybrid.retriever.candidates(DialogueState(seeds=[HEAT], wish_text="crime").request(exclude={HEAT}), None, 10)
    assert CASABLANCA not in ids(hybrid, wished.positions)


def test_a_conversation_remembers_films_it_only_talked_about(hybrid):
    # "is Heat any good?" names Heat without liking it: the dialogue state still knows it came up, then the list
    # shown after the next request comes up after it
    session = hybrid.session()
    session.turn("is Heat any good?")
    assert session.state.brought_up == [HEAT]
    reply = session.turn("something like Alien")
    shown = [it["item_id"] for it in reply["items"]]
    assert session.state.brought_up == [HEAT, ALIEN] + shown


def test_a_wish_is_also_searched_among_the_well_known_films(hybrid):
    # the nearest texts of a whole catalog are mostly films few people know; a wish for films worth knowing also
    # brings the nearest texts among the most-rated ones, as text candidates
    retriever = hybrid.retriever
    wish = Request(wish_text="astronaut alone on a space station", min_ratings=10)
    gems = Request(wish_text=wish.wish_text, min_ratings=10, popularity_bias=-0.5)
    like = Request(seeds=[ALIEN], min_ratings=10)

    def found(req):
        c = retriever.candidates(req, None, 2)
        return dict(zip(ids(hybrid, c.positions), c.sources))

    known = retriever.known
    try:
        retriever.known = np.zeros_like(known)
        without = [found(r) for r in (wish, gems, like)]
        retriever.known = retriever.rating_counts >= 200
        with_known = [found(r) for r in (wish, gems, like)]
    finally:
        retriever.known = known
    extra = set(with_known[0]) - set(without[0])
    assert extra and set(without[0]) <= set(with_known[0])
    assert all(retriever.rating_counts[hybrid.catalog.index_of[i]] >= 200 and "text" in with_known[0][i]
               for i in extra)
    # not for the little-known, nor without a wish (a named film's neighbourhood answers "like X")
    assert with_known[1:] == without[1:]


def test_a_broad_topic_alone_ranks_the_films_that_fit_it_by_what_is_known_of_them(hybrid):
    # past the full fit every film is as close as the next (`saturate`) for a broad topic with nothing else to go
    # on; a narrow topic ("sharks") and a request with a named film keep the closest text first
    retriever = hybrid.retriever
    broad = Request(wish_text="space", topic="space", topic_kinds=["astronauts on a space station", "a spaceship"])
    cands = retriever.candidates(broad, None, 20)
    raw = retriever._closeness(cands.positions, retriever._encode(["space"])[0], retriever._kind_vectors(broad.topic_kinds))
    assert cands.text_sim.tolist() == pytest.approx(saturate(raw).tolist(), abs=1e-5)
    a, b = np.argsort(-raw)[:2]
    assert raw[a] > raw[b] and cands.text_sim[a] == cands.text_sim[b]
    for req in (Request(wish_text="space", topic="space"),
                Request(wish_text="space", topic="space", topic_kinds=broad.topic_kinds, seeds=[HEAT])):
        c = retriever.candidates(req, None, 20)
        kinds = retriever._kind_vectors(req.topic_kinds)
        assert c.text_sim.tolist() == pytest.approx(retriever._closeness(c.positions, c.query, kinds).tolist(), abs=1e-6)


def test_a_genre_request_prefers_films_that_are_mostly_that_genre(hybrid):
    # "a romantic comedy" is When Harry Met Sally (Comedy, Romance) before Groundhog Day (+ Fantasy), and both before
    # Pulp Fiction (Comedy + Crime, Drama, Thriller); not with a named film, whose neighbourhood decides
    at = [hybrid.catalog.index_of[i] for i in ("16", "12", "22")]
    soft = hybrid.soft_preferences(Request(genres_in=["Comedy", "Romance"]), np.array(at))
    assert soft[0] > soft[1] > soft[2]
    named = hybrid.soft_preferences(Request(genres_in=["Comedy", "Romance"], seeds=[TITANIC]), np.array(at))
    assert named.tolist() == [0.0, 0.0, 0.0]


def test_a_moods_weights_count_by_how_widely_the_ranking_spreads():
    # the weights were set on plain requests (scores' spread ~0.06); a named film's neighbourhood, ranked by the
    # collaborative similarity to it, spreads about three times wider, and "like Alien but funnier" kept Aliens and The Terminator
    from chatrec.chat.recommender import MOOD_SCALE_MAX, MOOD_SPREAD, mood_scale

    rng = np.random.default_rng(0)
    assert mood_scale(np.array([1.0])) == 1.0
    assert mood_scale(rng.normal(0, MOOD_SPREAD / 2, 200)) == 1.0  # never less than the weights were set at
    assert mood_scale(np.r_[np.full(25, 1.0), np.full(25, 1.0 + 4 * MOOD_SPREAD)]) == pytest.approx(2.0)
    assert mood_scale(rng.normal(0, 1.0, 200)) == MOOD_SCALE_MAX
    assert mood_scale(np.array([np.inf, 1.0, 0.5])) == 1.0  # a broken score never scales a mood by nonsense
    # the best 50 scores decide, not the tail
    assert mood_scale(np.r_[np.full(50, 2.0), np.linspace(-5, 0, 300)]) == 1.0


def test_a_wider_spread_multiplies_the_moods_genre_weights_only(hybrid):
    at = np.array([hybrid.catalog.index_of[i] for i in (UP, ALIEN, TITANIC)])
    funny = Request(genre_weights={"Comedy": 0.25, "Horror": -0.2}, quality_bias=0.3)
    plain = hybrid.soft_preferences(funny, at)
    wide = hybrid.soft_preferences(funny, at, spread=2.0)
    priors = hybrid.soft_preferences(Request(quality_bias=0.3), at)
    assert (wide - priors).tolist() == pytest.approx((2 * (plain - priors)).tolist(), abs=1e-6)
    assert wide[0] > plain[0] and wide[1] < plain[1] and wide[2] == pytest.approx(plain[2])


def test_the_lexicon_finds_the_films_tagged_with_a_topic():
    films = [Item("1", "Gladiator", 2000, ("Action",), tags=("revenge", "ancient rome")),
             Item("2", "Jurassic Park", 1993, ("Adventure",), tags=("dinosaurs",)),
             Item("3", "Looper", 2012, ("Sci-Fi",), tags=("time travel",)),
             Item("4", "Revenge", 1990, ("Drama",), overview="A pilot's affair ends in revenge."),  # title, overview
             Item("5", "Rocky", 1976, ("Drama",), overview="A loan shark's debt collector boxes.")]
    lex = Lexicon(Catalog(films + [Item(str(i), f"Film {i}", 2000, ("Drama",)) for i in range(6, 60)]))
    assert lex.matches("revenge").tolist()[:5] == [True, False, False, False, False]  # tags only
    assert lex.matches("dinosaur")[1] and lex.matches("dinosaurs")[1]  # either number
    assert lex.matches("time travel")[2] and lex.matches("travel ancient") is None  # a phrase: in one film's tags
    assert lex.matches("sharks") is None and lex.matches("") is None and lex.matches("zebra") is None
    common = Lexicon(Catalog([Item(str(i), f"F{i}", 2000, ("Drama",), tags=("family",)) for i in range(10)]))
    assert common.matches("family") is None  # every film is tagged with it: it says nothing about any one
    assert Lexicon(Catalog([Item("1", "A", 2000, ("Drama",))])).matches("revenge") is None  # no tags at all


def test_a_film_tagged_with_the_topic_is_a_candidate_that_fits_it_fully(hybrid):
    # the encoder did not bring Gladiator near "revenge" (2,031st); a tag says so in the viewers' own word
    retriever = hybrid.retriever
    req = Request(wish_text="revenge betrayal", topic="revenge betrayal", min_ratings=0)
    before = retriever.candidates(req, None, 3)
    tagged = next(it for it in hybrid.catalog.items if it.item_id not in ids(hybrid, before.positions))
    items = [Item(it.item_id, it.title, it.year, it.genres, overview=it.overview,
                  tags=("revenge", "betrayal") if it is tagged else it.tags) for it in hybrid.catalog.items]
    lexicon = retriever.lexicon
    try:
        retriever.lexicon = Lexicon(Catalog(items))
        after = retriever.candidates(req, None, 3)
        no_topic = retriever.candidates(Request(wish_text="revenge betrayal"), None, 3)
        excluded = retriever.candidates(Request(wish_text=req.wish_text, topic=req.topic,
                                                exclude={tagged.item_id}), None, 3)
    finally:
        retriever.lexicon = lexicon
    found = dict(zip(ids(hybrid, after.positions), range(len(after.positions))))
    j = found[tagged.item_id]
    assert "text" in after.sources[j]
    assert after.topic_sim[j] == pytest.approx(after.topic_sim.max())
    assert after.text_sim[j] >= float(np.median(after.text_sim))
    assert tagged.item_id not in ids(hybrid, no_topic.positions)  # only the person's own topic words count
    assert tagged.item_id not in ids(hybrid, excluded.positions)  # under every filter and exclusion
