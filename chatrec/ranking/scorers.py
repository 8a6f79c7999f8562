"""Scorers: a score for each retrieved candidate.

`Scorer` is the interface. `FusionScorer` is the trained fusion model (chatrec.ranking.fusion), loaded by
`load_scorer` from the checkpoint `chatrec train` wrote, or from the one bundled with the catalog; that is
the default. `BaselineScorer` is the untrained scorer used without any checkpoint:

    score = similarity(query, item) + profile_weight * cos(profile, item)
            + popularity_weight * popularity(item) + 0.1 * (shrunk mean rating - 3) / 2

The diversity step that picks the final list from the scores is `chatrec.ranking.diversity.select`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from chatrec.catalog import Catalog, quality_prior
from chatrec.config import Config


@dataclass
class ScoreContext:
    """Everything a scorer may know about the person and the request."""
    query_vector: np.ndarray | None = None  # the retrieval query: wish + named titles + profile
    profile_vector: np.ndarray | None = None  # the stored profile vector (EMA of liked items)
    history: list[int] = field(default_factory=list)  # catalog positions liked / rated well, oldest first
    negatives: list[int] = field(default_factory=list)  # catalog positions disliked
    user_key: str | None = None  # a user id the model was trained on, if any; chat-only users have None


class Scorer(Protocol):
    name: str

    def score(self, positions: np.ndarray, similarities: np.ndarray, ctx: ScoreContext) -> np.ndarray: ...


class BaselineScorer:
    name = "baseline"

    def __init__(self, catalog: Catalog, vectors: np.ndarray, config: Config, prior_strength: float = 20.0):
        self.vectors = vectors
        self.config = config
        self.popularity = np.asarray(catalog.popularity, dtype=np.float32)
        self.quality = quality_prior(catalog, prior_strength)

    def score(self, positions, similarities, ctx: ScoreContext):
        profile_vector = ctx.profile_vector
        positions = np.asarray(positions, dtype=np.int64)
        s = np.asarray(similarities, dtype=np.float32).copy()
        if profile_vector is not None and profile_vector.shape[0] == self.vectors.shape[1]:
            s += self.config.profile_weight * (self.vectors[positions] @ profile_vector)
        s += self.config.popularity_weight * self.popularity[positions]
        s += 0.1 * self.quality[positions]
        return s


class FusionScorer:
    """The trained fusion model (chatrec/fusion.py) behind the `Scorer` interface.

    The person is a known user (`ctx.user_key` among the checkpoint's users) or, for chat-only people,
    just their history (`ctx.history`, liked items) and profile vector; the retrieval query plays the
    part of the "recent taste" vector the model was trained with. The catalog's item tower is computed
    once at load time, so scoring a candidate list is a few small tensor operations.

    Scores are the model's logits min-max scaled to [0, 1] over the candidates, mixed with the retrieval
    similarity (`query_weight`): a trained taste model should rerank what was asked for, not overrule the
    request. [0, 1] scores also keep `select`'s MMR trade-off meaningful.
    """
    name = "fusion"
    FULL_TRUST_AFTER = 5  # liked items after which a chat user's taste model counts fully
    STRANGER_TRUST = 0.3  # share of the model weight kept for someone the model knows nothing about

    def __init__(self, model, meta: dict, query_weight: float = 0.3):
        import torch

        self.torch = torch
        self.model = model
        self.cfg = model.cfg
        self.user_index = {k: i for i, k in enumerate(meta.get("user_keys", []))}
        self.query_weight = query_weight
        with torch.inference_mode():
            self.item_v = model.item_vectors()
        self.text = model.text  # (n_items + 1, d); the padding row is zero

    def user_batch(self, ctx: ScoreContext):
        from chatrec.ranking.fusion import UserBatch

        torch, cfg = self.torch, self.cfg
        hist = [p for p in ctx.history if 0 <= p < cfg.n_items][-cfg.history_len:]
        h = torch.full((1, cfg.history_len), cfg.n_items, dtype=torch.long)
        if hist:
            h[0, cfg.history_len - len(hist):] = torch.as_tensor(hist, dtype=torch.long)
        profile = self.text[h[0]].sum(0, keepdim=True)
        if not hist and ctx.profile_vector is not None and ctx.profile_vector.shape == (cfg.text_dim,):
            profile = torch.as_tensor(ctx.profile_vector, dtype=torch.float32).unsqueeze(0)
        if ctx.query_vector is not None and ctx.query_vector.shape == (cfg.text_dim,):
            recent = torch.as_tensor(ctx.query_vector, dtype=torch.float32).unsqueeze(0)
        else:
            recent = self.text[h[0, -cfg.recent_len:]].sum(0, keepdim=True)
        user = self.user_index.get(ctx.user_key, cfg.n_users) if ctx.user_key is not None else cfg.n_users
        return UserBatch(users=torch.tensor([user]), history=h, profile=profile, recent=recent,
                         genres=self.model.item_genres[h[0]].sum(0, keepdim=True),
                         ref_year=torch.tensor([cfg.ref_year]))

    def score(self, positions, similarities, ctx: ScoreContext):
        torch = self.torch
        positions = np.asarray(positions, dtype=np.int64)
        if len(positions) == 0:
            return np.zeros(0, dtype=np.float32)
        with torch.inference_mode():
            items = torch.as_tensor(positions).unsqueeze(0)
            logits = self.model(self.user_batch(ctx), items, item_v=self.item_v)[0].numpy()
        s = _minmax(logits)
        # How far to trust the taste model depends on what it knows about this person: a known user, or a chat
        # user with `FULL_TRUST_AFTER` liked items, gets the full model weight; a stranger's first request is
        # ranked mostly by what was asked for (the model then adds only its popularity/quality prior). Without
        # this, new users' first lists lost 6 points of Recall@10 on bench/zh in both languages.
        known = ctx.user_key is not None and ctx.user_key in self.user_index
        evidence = 1.0 if known else min(1.0, len(ctx.history) / self.FULL_TRUST_AFTER)
        model_weight = (1 - self.query_weight) * (self.STRANGER_TRUST + (1 - self.STRANGER_TRUST) * evidence)
        s = model_weight * s + (1 - model_weight) * _minmax(np.asarray(similarities, dtype=np.float32))
        return s.astype(np.float32)


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = float(np.min(x)), float(np.max(x))
    return (x - lo) / (hi - lo) if hi > lo else np.full_like(x, 0.5, dtype=np.float32)


def load_scorer(config: Config, catalog: Catalog, vectors: np.ndarray, embedder_name: str | None = None):
    """The trained fusion scorer, or None when no checkpoint exists (the caller keeps `BaselineScorer`).

    A checkpoint trained on another catalog or embedder raises `ChatrecError` naming `chatrec train`.
    `embedder_name` defaults to the name `config.embedder` resolves to (pass `index.embedder.name`).
    """
    from chatrec.ranking.checkpoint import embedder_name as resolve, find_checkpoint, load_checkpoint

    path = find_checkpoint(config)
    if path is None:
        return None
    model, meta = load_checkpoint(path, catalog=catalog, embedder_name=embedder_name or resolve(config.embedder),
                                  vectors=np.asarray(vectors, dtype=np.float32), device=config.device)
    return FusionScorer(model, meta)
