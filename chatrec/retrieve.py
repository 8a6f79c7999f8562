"""Retrieval: the dialogue state and the profile become one query vector plus Chroma metadata filters.

query = normalise( wish + mean(session seeds) + profile_weight * profile - 0.3 * avoid - 0.3 * mean(session negatives) )
With nothing to go on (a new user who said nothing specific) the query is the centroid of the most
popular items, so the answer is popular-but-relevant picks within the filters.
Hard constraints (genres in/out, years) and exclusions (shown, rejected, seen) are Chroma `where` filters.
When the filters leave too few items they are relaxed one by one and the caller is told which.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import Config
from .index import VectorIndex, genre_key


@dataclass
class Request:
    """What one retrieval needs; built by the dialogue manager from its state."""
    wish_text: str = ""
    avoid_text: str = ""
    seeds: list[str] = field(default_factory=list)  # item ids to move toward
    negatives: list[str] = field(default_factory=list)  # item ids to move away from
    genres_in: list[str] = field(default_factory=list)
    genres_out: list[str] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    exclude: set[str] = field(default_factory=set)


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

    def query_vector(self, req: Request, profile_vector: np.ndarray | None) -> np.ndarray:
        enc = self.index.embedder.encode
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
    def where(req: Request, relax: int = 0) -> dict | None:
        """Chroma filter; relax=1 drops the year range, relax=2 also drops the wanted genres."""
        clauses: list[dict] = []
        if req.genres_in and relax < 2:
            ors = [{genre_key(g): True} for g in req.genres_in]
            clauses.append(ors[0] if len(ors) == 1 else {"$or": ors})
        for g in req.genres_out:
            clauses.append({genre_key(g): False})
        if relax < 1:
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
        notes: list[str] = []
        has_years = req.year_min is not None or req.year_max is not None
        for relax in range(3):
            if relax == 1 and not has_years:
                continue
            if relax == 2 and not req.genres_in:
                continue
            hits = self.index.search(q, k, self.where(req, relax))
            hits = [(p, s) for p, s in hits if self.catalog.items[p].item_id not in req.exclude]
            if len(hits) >= min_results or relax == 2:
                break
            notes.append("the year range" if relax == 0 and has_years else "the genre filter")
        return q, hits, notes
