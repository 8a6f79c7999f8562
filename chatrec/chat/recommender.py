"""The shared recommender and the one ranking path.

`Recommender` holds what every conversation shares (catalog, index, scorer, parsers, explainer, profile
store) and is thread-safe. `rank` is the ranking itself: retrieval under the request's filters, then the
scorer, best first. The chat's `recommend` (which adds novelty, the diversity step and reasons) and the
ReDial benchmark both call it, so a benchmark number is a number the live chat reproduces.
"""
from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass

import numpy as np

from chatrec.catalog import Catalog, Item, load_catalog
from chatrec.chat.explain import LLMExplainer, template_reason
from chatrec.config import Config
from chatrec.errors import ChatrecError
from chatrec.llm import get_llm, load_prompt
from chatrec.profile.store import Profile, ProfileStore, open_store
from chatrec.ranking.diversity import select
from chatrec.ranking.scorers import BaselineScorer, ScoreContext, Scorer, load_scorer
from chatrec.retrieval.embed import get_embedder
from chatrec.retrieval.index import VectorIndex, open_or_build
from chatrec.retrieval.retrieve import Request, Retriever
from chatrec.understand.llm_parser import LLMParser
from chatrec.understand.rules import RuleParser

log = logging.getLogger("chatrec")


NOVELTY_SCALE = 0.4  # novelty 1.0 outweighs the popularity prior (popularity_weight 0.15) by a wide margin


@dataclass
class Settings:
    """One person's knobs from the settings panel; None means the configured default."""
    n_items: int | None = None
    diversity: float | None = None  # 0 = most relevant only, 1 = as varied as possible (MMR lambda 1.0 → 0.5)
    novelty: float = 0.0  # 0 = popularity helps, 1 = favour less-known films
    use_llm: bool = True  # False: rule parser and template reasons even when an LLM is configured

    def clamp(self) -> "Settings":
        def within(x, lo, hi):
            return None if x is None else min(hi, max(lo, x))
        n = within(int(self.n_items), 1, 20) if self.n_items else None
        return Settings(n, within(self.diversity, 0.0, 1.0), within(self.novelty or 0.0, 0.0, 1.0), bool(self.use_llm))


@dataclass
class Recommendation:
    item: Item
    score: float
    explanation: str

    def to_json(self) -> dict:
        return {"item_id": self.item.item_id, "title": self.item.title, "year": self.item.year,
                "genres": list(self.item.genres), "score": round(float(self.score), 4),
                "explanation": self.explanation}


class Recommender:
    """The shared, thread-safe part: catalog, index, models and the profile store."""

    def __init__(self, config: Config, catalog: Catalog, index: VectorIndex, store: ProfileStore,
                 llm=None, scorer: Scorer | None = None):
        self.config = config
        self.catalog = catalog
        self.index = index
        self.store = store
        self.llm = llm
        self.retriever = Retriever(index, config)
        self.scorer = scorer or BaselineScorer(catalog, index.vectors, config)
        self.rules = RuleParser(catalog)
        self.parser = self.rules
        self.explainer = None
        if llm is not None:
            self.parser = LLMParser(catalog, llm, load_prompt(config, "intent"), self.rules, consult=config.llm_consult)
            self.explainer = LLMExplainer(llm, load_prompt(config, "explain"), catalog)
        self._user_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._popularity = np.asarray(catalog.popularity, dtype=np.float32)
        self.retrainer = None  # a chatrec.retrain.BackgroundRetrainer when the app runs one

    @classmethod
    def from_config(cls, config: Config | None = None, progress: bool = True) -> "Recommender":
        config = config or Config.from_env()
        catalog = load_catalog(config.catalog)
        embedder = get_embedder(config.embedder)
        index = open_or_build(catalog, embedder, config, progress=progress)
        store = open_store(config.profile_db)
        llm = get_llm(config)
        scorer = None
        try:
            scorer = load_scorer(config, catalog, index.vectors, index.embedder.name)
        except ChatrecError as exc:  # a stale checkpoint must not stop the chat: the baseline ranks instead
            log.warning("not using the trained reranker: %s", exc)
        return cls(config, catalog, index, store, llm=llm, scorer=scorer)

    def session(self, user_id: str | None = None):
        """A new conversation (a `ChatSession`) for `user_id`, or for a new anonymous user."""
        from chatrec.chat.session import ChatSession  # the session module builds on this one

        return ChatSession(self, user_id or new_user_id())

    def user_lock(self, user_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._user_locks.setdefault(user_id, threading.Lock())

    def score_context(self, query: np.ndarray, req: Request, profile: Profile) -> ScoreContext:
        """What the scorer knows about this person and request. Its history: the films they liked, then the films
        this request names ("something like Alien": a film they like, said in words), most recent last."""
        idx = self.catalog.index_of
        history = [idx[i] for i in dict.fromkeys(profile.liked + req.seeds) if i in idx]
        return ScoreContext(query_vector=query, profile_vector=profile.vector, history=history,
                            negatives=[idx[i] for i in profile.disliked if i in idx], user_key=profile.user_id)

    def rank(self, req: Request, profile: Profile, k: int | None = None, *,
             novelty: float = 0.0) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """The ranking: (catalog positions, scores) of up to `k` candidates, best first, and the notes of any
        constraint retrieval had to loosen. Retrieval applies every filter and exclusion of `req`; the scorer
        (the trained fusion model when there is a checkpoint) orders what it found. `novelty` > 0 moves the
        long tail up (less-rated films get a bonus, blockbusters a penalty)."""
        query, hits, relaxed = self.retriever.candidates(req, profile.vector, k or self.config.n_candidates)
        if not hits:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), relaxed
        positions = np.array([p for p, _ in hits], dtype=np.int64)
        sims = np.array([s for _, s in hits], dtype=np.float32)
        scores = np.asarray(self.scorer.score(positions, sims, self.score_context(query, req, profile)),
                            dtype=np.float32)
        if novelty:
            scores = scores - novelty * NOVELTY_SCALE * self._popularity[positions]
        order = np.argsort(-scores, kind="stable")
        return positions[order], scores[order], relaxed

    def recommend(self, req: Request, profile: Profile, n: int | None = None, *, settings: "Settings | None" = None,
                  explain: bool = True, lang: str = "en") -> tuple[list[Recommendation], list[str]]:
        """Retrieve, rerank and pick `n` items for `req`. `settings` are one person's knobs (list length,
        diversity, novelty, LLM on/off); `explain=False` gives catalog-template reasons only, so a caller can
        show the list at once and stream the LLM's reasons after it (`ChatSession.handle_stream`)."""
        settings = settings or Settings()
        n = n or settings.n_items or self.config.n_items
        mmr_lambda = self.config.mmr_lambda if settings.diversity is None else 1.0 - 0.5 * settings.diversity
        positions, scores, relaxed = self.rank(req, profile, novelty=settings.novelty)
        if not len(positions):
            return [], relaxed
        order = select(positions, scores, self.index.vectors, n, mmr_lambda)
        seeds = [self.catalog[i] for i in req.seeds if i in self.catalog.index_of]
        recs = []
        for j in order:
            item = self.catalog.items[int(positions[j])]
            reason = template_reason(item, req.wish_text, req.genres_in, seeds, lang=lang)
            if explain and settings.use_llm and self.explainer is not None:
                reason = self.explainer.reason(item, req.wish_text, reason, lang=lang)
            recs.append(Recommendation(item, float(scores[j]), reason))
        return recs, relaxed


def new_user_id() -> str:
    """Opaque and unguessable: a browser can't reach someone else's profile by counting."""
    return "u_" + secrets.token_urlsafe(12)
