"""Retrieval: the dialogue state and the profile become one query vector plus Chroma metadata filters.

query = normalise( wish + mean(session seeds) + profile_weight * profile - 0.3 * avoid - 0.3 * mean(session negatives) )
With nothing to go on (a new user who said nothing specific) the query is the centroid of the most
popular items, so the answer is popular-but-relevant picks within the filters.
Hard constraints (genres in/out, years) and exclusions (shown, rejected, seen) are Chroma `where` filters.
When the filters leave too few items they are relaxed one by one and the caller is told which.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from chatrec.config import Config
from chatrec.retrieval.index import VectorIndex, genre_key


@dataclass
class Request:
    """What one retrieval needs; built by the dialogue manager from its state."""
    wish_text: str = ""
    avoid_text: str = ""
    seeds: list[str] = field(default_factory=list)  # item ids to move toward
    negatives: list[str] = field(default_factory=list)  # item ids to move away from
    genres_in: list[str] = field(default_factory=list)
    genres_any: bool = False  # "comedies or dramas": any of genres_in; otherwise all of them
    genres_out: list[str] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    exclude: set[str] = field(default_factory=set)
    within: list[str] = field(default_factory=list)  # only these items (a director's films, a series), if any


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 else v


class Retriever:
    def __init__(self, index: VectorIndex, config: Config):
        self.index = index
        self.catalog = index.catalog
        self.config = config
        top = np.argsort([-it.rating_count for it in self.catalog.items])[:100]
        self.popular_centroid = _unit(index.vectors[top].mean(axis=0))

    def _vec(self, item_ids: list[str]) -> np.ndarray | None:
        pos = [self.catalog.index_of[i] for i in item_ids if i in self.catalog.index_of]
        return _unit(self.index.vectors[pos].mean(axis=0)) if pos else None

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Query texts, cached: a refinement ("older", "no horror") keeps the wish, and popular wishes repeat."""
        return np.stack([self._encode_one(t) for t in texts])

    @functools.lru_cache(maxsize=4096)  # noqa: B019  (one Retriever per process; bounded)
    def _encode_one(self, text: str) -> np.ndarray:
        vec = self.index.embedder.encode([text])[0]
        vec.setflags(write=False)
        return vec

    def query_vector(self, req: Request, profile_vector: np.ndarray | None) -> np.ndarray:
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
        return _unit(q).astype(np.float32)

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

    def candidates(self, req: Request, profile_vector: np.ndarray | None, k: int,
                   min_results: int = 1) -> tuple[np.ndarray, list[tuple[int, float]], list[str]]:
        """(query vector, [(catalog position, similarity)], notes on relaxed constraints)."""
        q = self.query_vector(req, profile_vector)
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
        for n, (step, note) in enumerate(steps):
            if step:
                relax.add(step)
                notes.append(note)
            hits = self.index.search(q, k, self.where(req, frozenset(relax)))
            hits = [(p, s) for p, s in hits if self.catalog.items[p].item_id not in req.exclude]
            if len(hits) >= min_results:
                break
        return q, hits, notes
