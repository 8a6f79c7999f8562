"""Retrieval: candidates from several sources, every one under the same filters and exclusions.

Sources (each candidate keeps the names of the sources that proposed it):
- "text": the nearest item texts to one query vector,
  query = normalise( wish + mean(session seeds) + profile_weight * profile - 0.3 * avoid - 0.3 * mean(negatives) );
  with nothing to go on it is the centroid of the most popular items; for a wish, also the nearest texts among the
  well-known films (`Retriever.KNOWN_TOP`), which the nearest texts of the whole catalog seldom reach, and for a
  topic the best-known films viewers tagged with its words (`retrieval.lexical`), which fit it fully;
- "collab": the collaborative neighbours of the films this conversation named or liked (the seeds), from the item
  vectors `chatrec train` learned from the ratings, served by a second collection of the vector store;
- "profile": the collaborative neighbours of the films the person liked before (their stored profile);
- "context": the collaborative neighbours of the films the conversation showed, for a ranking that does not exclude
  them (the ReDial protocol: a recommender may name a film again); the chat excludes shown films, so never there;
- "quality": the best-rated well-known films within the constraints (a Bayesian-average rating times
  familiarity), so a broad request is never answered with obscure or panned films only.
Hard constraints (genres in/out, years, "only these films") and exclusions (shown, rejected, seen) are Chroma
`where` filters. When the filters leave too few items they are relaxed one by one and the caller is told which.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from chatrec.catalog import quality_prior
from chatrec.config import Config
from chatrec.retrieval.index import VectorIndex, genre_key, where_mask
from chatrec.retrieval.lexical import Lexicon


@dataclass
class Request:
    """What one retrieval needs; built by the dialogue manager from its state."""
    wish_text: str = ""
    avoid_text: str = ""
    # the person's own words about what the films are ("dinosaurs"; not the words a mood stands for), a part of
    # wish_text: with a topic, the rating-count floor and the quality priors choose among the films that fit it
    topic: str = ""
    # the kinds of film a broad topic covers ("sports": "boxing", "baseball", ...): each is searched as a text
    # query of its own, and a film's closeness to the wish and to the topic is the closest kind's when that is closer
    topic_kinds: list[str] = field(default_factory=list)
    seeds: list[str] = field(default_factory=list)  # item ids to move toward
    negatives: list[str] = field(default_factory=list)  # item ids to move away from
    genres_in: list[str] = field(default_factory=list)
    genres_any: bool = False  # "comedies or dramas": any of genres_in; otherwise all of them
    genres_out: list[str] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    exclude: set[str] = field(default_factory=set)
    within: list[str] = field(default_factory=list)  # only these items (a director's films, a series), if any
    taste: list[tuple[str, float]] = field(default_factory=list)  # (item id, weight): earlier turns' films, +/-
    # soft preferences (moods, quality words), applied by `Recommender.rank` after the scorer, never as filters:
    genre_weights: dict[str, float] = field(default_factory=dict)  # genre -> bonus (+) or penalty (-) per match
    quality_bias: float = 0.0  # > 0: "best", "acclaimed" (Bayesian-average rating counts more); < 0: "so bad it's good"
    popularity_bias: float = 0.0  # > 0: "well-known"; < 0: "hidden gem", "obscure" (the long tail moves up)
    moods: list[str] = field(default_factory=list)  # the moods as understood, for the reply's understanding line
    # a descriptive request ("something cheerful", "thrillers"): items with neither genres nor an overview are
    # never candidates, since nothing about them can fit a description (they would match on their titles alone)
    require_content: bool = False
    # well-known films only, when enough of the candidates are: films rated by fewer people than this are left out
    # unless fewer than `MIN_KNOWN` candidates would remain (0: no such preference, as on the ReDial catalog)
    min_ratings: int = 0
    # films shown earlier in this conversation: the chat excludes them; a ranking without exclusions (the ReDial
    # protocol, where a recommender may name a film again) reads them as evidence
    shown: list[str] = field(default_factory=list)
    periods: list[tuple[int, int]] = field(default_factory=list)  # several periods named: the list draws from each
    # a ranking that keeps the conversation's own films (the ReDial protocol: a recommender may name a film again):
    # their collaborative neighbourhood is then a source of its own ("context"); the chat excludes them
    keep_mentioned: bool = False

    # every film the conversation brought up (named with any sentiment, or shown), oldest first: see `mentioned`
    context: list[str] = field(default_factory=list)

    RECENCY = 0.7  # a film the conversation brought up counts this much less for each film brought up after it

    def mentioned(self) -> dict[str, float]:
        """Every film this conversation has brought up, with how much it still counts: `RECENCY` less per film
        brought up since (the newest 1; `context`, or what was shown when a request carries no context), this
        request's own films 1, what earlier turns named or liked at least their memory weight; the films this
        request turns away from (`negatives`) not at all."""
        out: dict[str, float] = {}
        for j, i in enumerate(reversed(self.context or self.shown)):
            out.setdefault(i, self.RECENCY ** j)
        for i, w in [(i, 1.0) for i in self.seeds] + [(i, w) for i, w in self.taste if w > 0]:
            out[i] = max(out.get(i, 0.0), w)
        for i in self.negatives:
            out.pop(i, None)
        return out


@dataclass
class Candidates:
    """The union of every source's candidates, with what the ranker needs to know about each."""
    positions: np.ndarray  # catalog positions, each once
    text_sim: np.ndarray  # cosine to the text query, for every candidate
    collab_sim: np.ndarray  # cosine to the collaborative query (seeds, then profile likes); 0 without one
    sources: list[tuple[str, ...]]  # which sources proposed each candidate
    query: np.ndarray  # the text query vector
    collab_query: np.ndarray | None  # the collaborative query vector, if there was one
    collab_from_seeds: bool = False  # the collaborative query holds films this conversation named or liked
    relaxed: list[str] = field(default_factory=list)  # notes on the constraints that had to be loosened
    genre_fit: np.ndarray | None = None  # Jaccard overlap of each candidate's genres with the named films' (0: none)
    context_query: np.ndarray | None = None  # the "context" source's query (see `Retriever.context_query`), if any
    topic_sim: np.ndarray | None = None  # cosine to the request's topic alone (`Request.topic`), if it has one

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def collaborative(self) -> bool:
        """Whether any collaborative query took part: what the learned source head is trained to rank."""
        return self.collab_query is not None or self.context_query is not None


def weighted_centroid(vectors: np.ndarray, index_of: dict[str, int], item_ids, known_only: bool = False
                      ) -> np.ndarray | None:
    """The unit weighted mean of the rows of `item_ids` (a dict id -> weight, or a list: weight 1 each); rows of
    zeros are skipped with `known_only` (films the ratings do not know). None without any row."""
    weights = item_ids if isinstance(item_ids, dict) else dict.fromkeys(item_ids, 1.0)
    rows = [(index_of[i], w) for i, w in weights.items()
            if i in index_of and w > 0 and (not known_only or np.any(vectors[index_of[i]]))]
    if not rows:
        return None
    pos, w = zip(*rows)
    return _unit(np.asarray(w, dtype=np.float32) @ vectors[list(pos)]).astype(np.float32)


def relevance(text_sim: np.ndarray) -> np.ndarray:
    """How well each candidate fits the request's words, in [0, 1]: 1 for the closest text, 0 at or below the
    candidates' median closeness, linear between. Scale-free: sentence-vector cosines differ by encoder and query."""
    sim = np.asarray(text_sim, dtype=np.float32)
    if not len(sim):
        return sim
    mid, top = float(np.median(sim)), float(sim.max())
    if top - mid < 1e-6:
        return np.ones_like(sim)
    return np.clip((sim - mid) / (top - mid), 0.0, 1.0)


# A film this far up the topic's relevance scale (0: the candidates' median closeness, 1: the closest) fits the
# topic fully: the rating-count floor keeps the well-known films that fit, and the ranking's priors lift them in full
# ("a movie about music" had the closest texts first, which were films few people rated, ahead of *Almost Famous*)
TOPIC_FIT = 0.5


def full_fit(sim: np.ndarray) -> float:
    """The closeness at which a candidate fits fully: `TOPIC_FIT` up the `relevance` scale of these candidates."""
    mid, top = float(np.median(sim)), float(sim.max())
    return mid + TOPIC_FIT * (top - mid)


def topic_fit(topic_sim: np.ndarray) -> np.ndarray:
    """How fully each candidate fits the request's topic, in [0, 1]: `relevance` counted in full from `full_fit`."""
    return np.clip(relevance(topic_sim) / TOPIC_FIT, 0.0, 1.0)


def saturate(text_sim: np.ndarray) -> np.ndarray:
    """`text_sim` with every value above the full-fit level (`full_fit`) set to it."""
    sim = np.asarray(text_sim, dtype=np.float32)
    return np.minimum(sim, full_fit(sim)).astype(np.float32)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 else v


class Retriever:
    """Candidates for a request. `collab` is the vector index of collaborative item vectors (None when the catalog
    has no ratings to learn them from, or `chatrec train` has not run): without it the other sources answer."""

    PROFILE_WEIGHT = 0.5  # the stored profile's likes count half as much as the films this conversation named
    MIN_KNOWN = 10  # `Request.min_ratings` applies only when at least this many candidates pass it
    MIN_PER_KIND = 20  # a broad topic's kinds each bring at least this many text candidates
    # A wish is also searched among the this many most-rated films: the nearest texts of a whole catalog are mostly
    # films few people know ("musicians": Hustle & Flow, The Rocker; among the well known: Mr. Holland's Opus,
    # That Thing You Do!, Whiplash, Amadeus), and the rating floor and the quality priors can only choose among
    # the candidates they are given
    KNOWN_TOP = 1000

    def __init__(self, index: VectorIndex, config: Config, collab: VectorIndex | None = None):
        self.index = index
        self.catalog = index.catalog
        self.config = config
        self.collab = collab
        self.rating_counts = np.array([it.rating_count for it in self.catalog.items], dtype=np.int64)
        top = np.argsort(-self.rating_counts, kind="stable")[:100]
        self.popular_centroid = _unit(index.vectors[top].mean(axis=0))
        self.quality = quality_prior(self.catalog)
        self.set_popularity(self.catalog.popularity)
        self.has_content = np.array([bool(it.genres or it.overview) for it in self.catalog.items])
        # described beyond its genres (an overview or tags): only such a text says what a film is about. A film known
        # by its genres alone ("Genres: Musical.") is close to "music" through its genre word, which says nothing of
        # its subject: it never fits a topic (`Request.topic`) by that closeness
        self.described = np.array([bool(it.overview or it.tags) for it in self.catalog.items])
        n = len(self.rating_counts)
        # the KNOWN_TOP-th largest count, without sorting a million counts
        cut = int(np.partition(self.rating_counts, n - min(self.KNOWN_TOP, n))[n - min(self.KNOWN_TOP, n)]) if n else 0
        self.known = self.rating_counts >= max(1, cut)  # all False for a catalog without ratings
        self.lexicon = Lexicon(self.catalog)  # the films tagged with a topic (built on the first topic)

    def set_popularity(self, popularity) -> None:
        """The "quality" source's order: well rated (Bayesian average) and well known (`popularity`, the catalog's
        log-scaled rating counts unless a protocol measures familiarity otherwise)."""
        familiar = np.asarray(popularity, dtype=np.float32)
        self.quality_order = np.argsort(-(0.5 * (self.quality + 1.0) * familiar), kind="stable")
        # for "hidden gems", "underrated": well rated and little known (the rating floor then keeps films enough
        # people rated for their rating to mean something)
        self.gem_order = np.argsort(-(0.5 * (self.quality + 1.0) * (1.0 - familiar)), kind="stable")

    def _vec(self, item_ids: list[str]) -> np.ndarray | None:
        return weighted_centroid(self.index.vectors, self.catalog.index_of, item_ids)

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Query texts, cached: a refinement ("older", "no horror") keeps the wish, and popular wishes repeat."""
        return np.stack([self._encode_one(t) for t in texts])

    @functools.lru_cache(maxsize=4096)  # noqa: B019  (one Retriever per process; bounded)
    def _encode_one(self, text: str) -> np.ndarray:
        vec = self.index.embedder.encode([text])[0]
        vec.setflags(write=False)
        return vec

    def query_vector(self, req: Request, profile_vector: np.ndarray | None) -> tuple[np.ndarray, bool]:
        """The text query, and whether it aims anywhere: without a wish, named films or a known taste it is the
        popular films' centroid, which finds candidates but says nothing about them."""
        enc = self._encode
        parts = []
        if req.wish_text:
            parts.append(enc([req.wish_text])[0])
        seeds = self._vec(req.seeds)
        if seeds is not None:
            parts.append(seeds)
        if profile_vector is not None and profile_vector.shape == self.popular_centroid.shape:
            parts.append(profile_vector * (self.config.profile_weight if parts else 1.0))
        q = np.sum(parts, axis=0) if parts else self.popular_centroid.copy()
        if req.avoid_text:
            q = q - 0.3 * enc([req.avoid_text])[0]
        negatives = self._vec(req.negatives)
        if negatives is not None:
            q = q - 0.3 * negatives
        return _unit(q).astype(np.float32), bool(parts)

    @staticmethod
    def where(req: Request, relax: frozenset = frozenset()) -> dict | None:
        """Chroma filter. `relax` may hold "genres_any" (any wanted genre will do), "years", "genres" and
        "within" (dropped)."""
        clauses: list[dict] = []
        if req.within and "within" not in relax:
            clauses.append({"item_id": {"$in": sorted(set(req.within))}})
        if req.genres_in and "genres" not in relax:
            wanted = [{genre_key(g): True} for g in req.genres_in]
            if len(wanted) == 1:
                clauses.append(wanted[0])
            elif req.genres_any or "genres_any" in relax:
                clauses.append({"$or": wanted})
            else:
                clauses.extend(wanted)
        for g in req.genres_out:
            clauses.append({genre_key(g): False})
        if "years" not in relax:
            if req.year_min is not None:
                clauses.append({"year": {"$gte": int(req.year_min)}})
            if req.year_max is not None:
                clauses.append({"year": {"$lte": int(req.year_max)}})
                if req.year_min is None:
                    clauses.append({"year": {"$gte": 0}})  # unknown years are stored as -1
        if req.exclude:
            clauses.append({"item_id": {"$nin": sorted(req.exclude)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def collab_query(self, req: Request, liked: list[str] = ()) -> tuple[np.ndarray | None, bool]:
        """The collaborative query: the mean collaborative vector of the seeds (the films this request names, at
        full weight), plus the conversation's earlier films (`req.taste`, weighted by recency, + liked / - disliked)
        and the stored profile's likes (at `PROFILE_WEIGHT`), minus the negatives'; and whether the seeds
        contributed. None without collaborative vectors or anything to go on."""
        if self.collab is None:
            return None, False
        idx, vec = self.catalog.index_of, self.collab.vectors
        usable = lambda i: i in idx and np.any(vec[idx[i]])  # noqa: E731  (a film the ratings know)
        seeds = [idx[i] for i in req.seeds if usable(i)]
        said = [(idx[i], w) for i, w in req.taste if usable(i)]
        taste = [idx[i] for i in liked if i not in req.seeds and usable(i)]
        if not seeds and not taste and not any(w > 0 for _, w in said):
            return None, False
        q = np.zeros(vec.shape[1], dtype=np.float32)
        if seeds:
            q += _unit(vec[seeds].mean(axis=0))
        for p, w in said:
            q += w * vec[p]
        if taste:
            q += (self.PROFILE_WEIGHT if seeds or said else 1.0) * _unit(vec[taste].mean(axis=0))
        negatives = [idx[i] for i in req.negatives if i in idx and np.any(vec[idx[i]])]
        if negatives:
            q -= 0.3 * _unit(vec[negatives].mean(axis=0))
        return _unit(q).astype(np.float32), bool(seeds)

    def context_query(self, req: Request) -> np.ndarray | None:
        """The collaborative neighbourhood of every film the conversation has brought up (`Request.mentioned`):
        a source only for a ranking that does not exclude them (the ReDial protocol, where a recommender may name
        a film again); the chat excludes what it showed and what was named, so there it has none."""
        films = req.mentioned()
        if self.collab is None or not req.keep_mentioned or not films:
            return None
        return self.collab_centroid(films)

    def collab_centroid(self, item_ids) -> np.ndarray | None:
        """The unit mean collaborative vector of the films among `item_ids` the ratings know (a dict: weighted by
        its values); None without any."""
        if self.collab is None:
            return None
        return weighted_centroid(self.collab.vectors, self.catalog.index_of, item_ids, known_only=True)

    def _by_prior(self, mask: np.ndarray | None, k: int, req: Request | None = None) -> list[int]:
        """The first `k` items of the quality order that pass the filter `mask` (None: no filter). A request for the
        little-known (`Request.popularity_bias` < 0) takes the hidden gems' order instead, among the films at least
        `Request.min_ratings` people rated: the best-known films are the opposite of what it asks for."""
        order = self.quality_order
        if req is not None and req.popularity_bias < 0:
            order = self.gem_order
            floor = min(req.min_ratings, self.config.min_ratings)
            if floor:
                order = order[self.rating_counts[order] >= floor]
        order = order if mask is None else order[mask[order]]
        return [int(p) for p in order[:k]]

    def candidates(self, req: Request, profile_vector: np.ndarray | None, k: int, *, liked: list[str] = (),
                   min_results: int = 1) -> Candidates:
        """Every source's candidates under the request's filters and exclusions, merged with their provenance.
        `liked`: the stored profile's liked items (the "profile" source)."""
        q, aimed = self.query_vector(req, profile_vector)
        topic = _unit(self._encode([req.topic])[0]).astype(np.float32) if req.topic else None
        kinds = self._kind_vectors(req.topic_kinds)
        cq, from_seeds = self.collab_query(req, liked)
        ctx = self.context_query(req)
        tagged = self.lexicon.matches(req.topic) if req.topic else None  # viewers' own word for the topic
        # Loosen one constraint at a time until something matches; each step is reported to the person.
        steps: list[tuple[str, str]] = [("", "")]
        if len(req.genres_in) > 1 and not req.genres_any:
            steps.append(("genres_any", "“all of those genres” to “any of them”"))
        if req.year_min is not None or req.year_max is not None:
            steps.append(("years", "the year range"))
        if req.genres_in:
            steps.append(("genres", "the genre filter"))
        if req.within:
            steps.append(("within", "“only their films”"))
        relax: set[str] = set()
        notes: list[str] = []
        found: dict[int, list[str]] = {}
        floor = min(req.min_ratings, self.config.min_ratings)
        # a wish for films worth knowing (a rating floor, not a request for the little-known): see KNOWN_TOP
        known = self.known if req.wish_text and aimed and floor and req.popularity_bias >= 0 else None
        for step, note in steps:
            if step:
                relax.add(step)
                notes.append(note)
            where = self.where(req, frozenset(relax))
            # one evaluation of the filter for every source (the indexes share the catalog and its metadata)
            mask = where_mask(where, self.index.columns, len(self.catalog), self.catalog.index_of)
            found = {}
            for p, _ in self.index.search(q, k, where, mask=mask):
                found.setdefault(p, []).append("text")
            if known is not None and known.any():
                for p, _ in self.index.search(q, max(20, k // 3), where, mask=known if mask is None else mask & known):
                    if "text" not in found.setdefault(p, []):
                        found[p].append("text")
            if kinds is not None:  # a broad topic: the nearest films of each kind it covers are text candidates too
                for kv in kinds:
                    for p, _ in self.index.search(kv, max(self.MIN_PER_KIND, k // len(kinds)), where, mask=mask):
                        if "text" not in found.setdefault(p, []):
                            found[p].append("text")
            if cq is not None:
                for p, _ in self.collab.search(cq, k, where, mask=mask):
                    found.setdefault(p, []).append("collab" if from_seeds else "profile")
            if ctx is not None:
                for p, _ in self.collab.search(ctx, k, where, mask=mask):
                    found.setdefault(p, []).append("context")
            if req.keep_mentioned:  # the conversation's own films, which such a ranking may name again
                for i in req.mentioned():
                    p = self.catalog.index_of.get(i)
                    if p is not None and (mask is None or mask[p]):
                        found.setdefault(p, []).append("context")
            if tagged is not None:  # the best-known films tagged with the topic, however far their texts are
                allowed = np.flatnonzero(tagged if mask is None else tagged & mask)
                for p in allowed[np.argsort(-self.rating_counts[allowed], kind="stable")][:k]:
                    if "text" not in found.setdefault(int(p), []):
                        found[int(p)].append("text")
            for p in self._by_prior(mask, max(10, k // 3), req):
                found.setdefault(p, []).append("quality")
            found = {p: s for p, s in found.items() if self.catalog.items[p].item_id not in req.exclude
                     and (self.has_content[p] or not req.require_content)}
            # each candidate's cosine to the topic alone, once: the floor reads it, and so does the ranking
            topic_cos = None
            if topic is not None:
                at = np.fromiter(found, dtype=np.int64, count=len(found))
                topic_cos = dict(zip(found, np.where(self.described[at], self._closeness(at, topic, kinds),
                                                     0.0).astype(np.float32).tolist()))
                if tagged is not None and topic_cos:  # tagged with the topic: as close to it as the closest text
                    top = max(topic_cos.values())
                    topic_cos = {p: top if tagged[p] else c for p, c in topic_cos.items()}
            if floor:
                found = self._well_known(found, floor, topic_cos)
            if len(found) >= min_results:
                break
        positions = np.fromiter(found, dtype=np.int64, count=len(found))
        text_sim = self._closeness(positions, q, kinds)
        if tagged is not None and aimed and len(text_sim):  # a film tagged with the topic fits the wish fully
            text_sim = np.where(tagged[positions], np.maximum(text_sim, full_fit(text_sim)), text_sim).astype(np.float32)
        if not aimed:
            # nothing to be close to: closeness to the popular films' centroid had put Lemony Snicket first in 2000s
            # comedies; the scorer and the priors rank them
            text_sim = np.zeros_like(text_sim)
        elif kinds is not None and cq is None and len(text_sim):
            # a broad topic alone decides: every film that fits one of its kinds fully is as close as the next, and
            # what is known of the films chooses among them ("musicians": Hustle & Flow, 4 ratings, was closer than
            # The Pianist). Not a narrow one ("sharks", "dinosaurs"): there the closest texts are the most about it,
            # and the well-known films merely near the word would displace them
            text_sim = saturate(text_sim)
        collab_sim = (self.collab.vectors[positions] @ cq).astype(np.float32) if cq is not None else \
            np.zeros(len(positions), dtype=np.float32)
        topic_sim = None if topic_cos is None else np.array([topic_cos[p] for p in found], dtype=np.float32)
        return Candidates(positions, text_sim, collab_sim, [tuple(found[p]) for p in positions], q, cq, from_seeds, notes,
                          self.seed_genre_fit(req, positions), ctx, topic_sim)

    def text_closeness(self, positions: np.ndarray, text: str) -> np.ndarray:
        """Each item's cosine to `text` (embedded like a wish, cached)."""
        return self._closeness(positions, _unit(self._encode([text])[0]), None)

    def _kind_vectors(self, kinds: list[str]) -> np.ndarray | None:
        """(m, d) unit query vectors of a broad topic's kinds (`Request.topic_kinds`), None without any."""
        if not kinds:
            return None
        vecs = self._encode(list(kinds)).astype(np.float32)
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)

    def _closeness(self, positions: np.ndarray, query: np.ndarray, kinds: np.ndarray | None) -> np.ndarray:
        """Each item's cosine to `query`, or to the closest of a broad topic's `kinds` when that is closer: a boxing
        film is as close to "sports" as it is to "boxing"."""
        vecs = self.index.vectors[positions]
        sim = vecs @ query
        if kinds is not None and len(positions):
            sim = np.maximum(sim, (vecs @ kinds.T).max(axis=1))
        return sim.astype(np.float32)

    def _well_known(self, found: dict, floor: int, topic_cos: dict | None) -> dict:
        """`found` without the films fewer than `floor` people rated, when at least `MIN_KNOWN` better-known ones
        are left. With a topic (`topic_cos`: each candidate's cosine to `Request.topic` alone, without a mood's
        words) the better-known films must also fit it fully (`topic_fit`): "films about chess"
        keeps the chess films few people rated when too few well-known ones are about chess, rather than fill the
        list with famous films that are not."""
        counts = self.rating_counts
        known = [p for p in found if counts[p] >= floor]
        if len(known) < self.MIN_KNOWN:
            return found
        if topic_cos is not None:
            fits = dict(zip(found, topic_fit(np.array([topic_cos[p] for p in found], dtype=np.float32)) >= 1.0))
            if sum(fits[p] for p in known) < self.MIN_KNOWN:
                return {p: s for p, s in found.items() if counts[p] >= floor or fits[p]}
        return {p: found[p] for p in known}

    def seed_genre_fit(self, req: Request, positions: np.ndarray) -> np.ndarray:
        """Per candidate: the Jaccard overlap of its genres with the genres of the films the request names (0
        without any): "like Titanic" is usually also a romance."""
        seed_genres = {g for i in req.seeds if i in self.catalog.index_of for g in self.catalog[i].genres}
        if not seed_genres:
            return np.zeros(len(positions), dtype=np.float32)
        items = self.catalog.items
        return np.array([len(seed_genres & set(items[p].genres)) / len(seed_genres | set(items[p].genres))
                         for p in positions], dtype=np.float32)
