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
from chatrec.ranking.checkpoint import find_collab, load_collab
from chatrec.ranking.diversity import select
from chatrec.ranking.hybrid import HybridWeights, SourceHead, combine, features, find_head, load_head
from chatrec.ranking.scorers import BaselineScorer, ScoreContext, Scorer, load_scorer
from chatrec.retrieval.embed import embedder_for
from chatrec.retrieval.index import VectorIndex, open_or_build, open_vectors
from chatrec.retrieval.retrieve import Request, Retriever, relevance, topic_fit, weighted_centroid
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
class Ranking:
    """`Recommender.rank`'s answer: catalog positions best first, their scores, which sources proposed each, and
    the notes of any constraint retrieval had to loosen."""
    positions: np.ndarray
    scores: np.ndarray
    sources: list[tuple[str, ...]]
    relaxed: list[str]


@dataclass
class Recommendation:
    item: Item
    score: float
    explanation: str
    sources: tuple[str, ...] = ()  # the candidate sources that proposed it (text, collab, profile, quality)

    def to_json(self) -> dict:
        return {"item_id": self.item.item_id, "title": self.item.title, "year": self.item.year,
                "genres": list(self.item.genres), "score": round(float(self.score), 4),
                "explanation": self.explanation}


class Recommender:
    """The shared, thread-safe part: catalog, index, models and the profile store."""

    # what the person turned away from ("not too gory", "isn't cheesy", "less violent"): a film loses this much per
    # unit of cosine its text is closer to those words than the candidates' median (raw cosines, not rescaled: a weak
    # closeness is a weak penalty). A broad request ranked by the priors had moved its query away from the words
    # and still answered *Saw* to "a horror movie that is not too gory". Not for a request with named films: their
    # collaborative neighbourhood is what was asked for ("like Alien but less gory"), the mood's genre weights say
    # "less", and a weak text signal would only add noise to it
    AVOID_WEIGHT = 0.5
    # A genre request prefers films that are mostly what was asked: the share of a film's genres the request names.
    # "a romantic comedy from the 90s" answered *Forrest Gump* (Comedy, Drama, Romance, War) and *True Lies*
    # (Action, Adventure, Comedy, Romance, Thriller) before any film that is a romantic comedy and little else
    GENRE_SHARE_WEIGHT = 0.15

    def __init__(self, config: Config, catalog: Catalog, index: VectorIndex, store: ProfileStore,
                 llm=None, scorer: Scorer | None = None, collab: VectorIndex | None = None,
                 head: SourceHead | None = None):
        self.config = config
        self.catalog = catalog
        self.index = index
        self.store = store
        self.llm = llm
        self.collab = collab
        self.retriever = Retriever(index, config, collab)
        self.weights = HybridWeights.from_config(config)
        self.head = head if config.ranking_head else None  # the learned source head; None: `combine`'s weights
        self.scorer = scorer or BaselineScorer(catalog, index.vectors, config)
        self.rules = RuleParser(catalog, embedder=index.embedder if config.understand_zero_shot else None)
        self.parser = self.rules
        self.explainer = None
        if llm is not None:
            self.parser = LLMParser(catalog, llm, load_prompt(config, "intent"), self.rules, consult=config.llm_consult)
            self.explainer = LLMExplainer(llm, load_prompt(config, "explain"), catalog)
        self._user_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._popularity = np.asarray(catalog.popularity, dtype=np.float32)
        self.retrainer = None  # a chatrec.retrain.BackgroundRetrainer when the app runs one

    def set_popularity(self, popularity) -> None:
        """Replace the popularity prior everywhere it is read (the catalog and its title links, the quality source's
        order, the scorer, the head's feature): a protocol whose population is not the catalog's raters measures it
        its own way (the ReDial catalog: mentions in training dialogues)."""
        self.catalog.set_popularity(popularity)
        self._popularity = np.asarray(popularity, dtype=np.float32)
        self.retriever.set_popularity(self._popularity)
        if hasattr(self.scorer, "popularity"):
            self.scorer.popularity = self._popularity

    @classmethod
    def from_config(cls, config: Config | None = None, progress: bool = True) -> "Recommender":
        config = config or Config.from_env()
        catalog = load_catalog(config.catalog)
        embedder = embedder_for(config)
        index = open_or_build(catalog, embedder, config, progress=progress)
        store = open_store(config.profile_db)
        llm = get_llm(config)
        scorer = None
        try:
            scorer = load_scorer(config, catalog, index.vectors, index.embedder.name)
        except ChatrecError as exc:  # a stale checkpoint must not stop the chat: the baseline ranks instead
            log.warning("not using the trained reranker: %s", exc)
        return cls(config, catalog, index, store, llm=llm, scorer=scorer, collab=open_collab(config, catalog),
                   head=open_head(config, scorer))

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

    def evidence(self, req: Request, profile: Profile, k: int | None = None):
        """Every source's candidates for `req` (retrieval applies every filter and exclusion to every source) and
        the scorer's score of each: what `rank` combines, and what `chatrec train` learns the head from."""
        cands = self.retriever.candidates(req, profile.vector, k or self.config.n_candidates, liked=profile.liked)
        if not len(cands):
            return cands, np.zeros(0, dtype=np.float32)
        base = np.asarray(self.scorer.score(cands.positions, cands.text_sim,
                                            self.score_context(cands.query, req, profile)), dtype=np.float32)
        return cands, base

    def features(self, cands, base: np.ndarray, req: Request) -> np.ndarray:
        pos = cands.positions
        ids = [self.catalog.items[int(p)].item_id for p in pos]
        shown = set(req.shown)
        # named: what the person brought up themselves (this request's films, earlier likes, any film they talked
        # about), as opposed to what was shown to them
        said = set(req.seeds) | {i for i, w in req.taste if w > 0} | (set(req.context) - shown)
        mentioned = req.mentioned()
        centroid = self.retriever.collab_centroid(mentioned)
        context = None if centroid is None else self.collab.vectors[pos] @ centroid
        about = weighted_centroid(self.index.vectors, self.catalog.index_of, mentioned)  # what they are about
        text = None if about is None else self.index.vectors[pos] @ about
        return features(base, cands.text_sim, cands.collab_sim, self.retriever.quality[pos], self._popularity[pos],
                        cands.genre_fit, cands.sources, cands.collab_from_seeds,
                        named=np.array([mentioned.get(i, 0.0) if i in said else 0.0 for i in ids]),
                        shown=np.array([mentioned.get(i, 0.0) if i in shown else 0.0 for i in ids]),
                        context_collab=context, context_text=text)

    def rank(self, req: Request, profile: Profile, k: int | None = None, *, novelty: float = 0.0) -> Ranking:
        """The ranking of every source's candidates, best first. Retrieval applies every filter and exclusion of
        `req` to every source; the scorer (the trained fusion model when there is a checkpoint) scores the union.
        With a collaborative query (films named or liked), the learned source head (`ranking.hybrid.SourceHead`)
        scores every source's evidence together, or without a trained head `ranking.hybrid.combine`'s set weights.
        `novelty` > 0 moves the long tail up (less-rated films get a bonus, blockbusters a penalty); the request's
        soft preferences (moods, quality words) come last."""
        cands, base = self.evidence(req, profile, k)
        if not len(cands):
            return Ranking(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), [], cands.relaxed)
        pos = cands.positions
        if self.head is not None and cands.collaborative:
            # the head is trained for hits; the penalty sets its point on the hit / novelty frontier
            scores = self.head.score(self.features(cands, base, req)) - \
                self.config.head_popularity_penalty * self._popularity[pos]
        else:
            scores = combine(base, cands.collab_sim, self.retriever.quality[pos],
                             collab_from_seeds=cands.collab_from_seeds, has_collab=cands.collab_query is not None,
                             w=self.weights, genre_fit=cands.genre_fit, text_fit=relevance(cands.text_sim))
        if novelty:
            scores = scores - novelty * NOVELTY_SCALE * self._popularity[pos]
        scores = scores + self.soft_preferences(req, pos, cands.topic_sim, spread=mood_scale(scores))
        order = np.argsort(-scores, kind="stable")
        return Ranking(pos[order], scores[order], [cands.sources[j] for j in order], cands.relaxed)

    def soft_preferences(self, req: Request, pos: np.ndarray, topic_sim: np.ndarray | None = None, *,
                         spread: float = 1.0) -> np.ndarray:
        """The request's soft preferences per candidate: genre bonuses and penalties (moods: "feel-good" favours
        comedies, "not too gory" disfavours horror), and the quality and popularity biases of quality words
        ("best", "hidden gem") or of a plain request's defaults, and a penalty for the films closest to what the
        person turned away from (`Request.avoid_text`, `AVOID_WEIGHT`). Zero for a request without any.

        With a topic in the person's words ("movies about dinosaurs"; `Request.topic`, `topic_sim` each candidate's
        cosine to it), a lift from the quality and popularity biases counts by how well the candidate fits the topic
        (`retrieve.topic_fit`): they choose the best-known films *about dinosaurs*, and never
        lift a famous film the words do not describe above the ones they do; a penalty (a panned film) counts in
        full. A mood alone ("something cheerful") is a broad request: the priors count in full.

        `spread`: how many times wider the ranking's scores spread than those the mood weights were set on
        (`mood_scale`); the genre weights count that many times."""
        out = np.zeros(len(pos), dtype=np.float32)
        if req.genre_weights:
            items = self.catalog.items
            out += spread * np.array([sum(req.genre_weights.get(g, 0.0) for g in items[p].genres) for p in pos],
                                     dtype=np.float32)
        if req.genres_in and not req.seeds:
            items, asked = self.catalog.items, set(req.genres_in)
            out += self.GENRE_SHARE_WEIGHT * np.array(
                [len(asked.intersection(items[p].genres)) / max(1, len(items[p].genres)) for p in pos], dtype=np.float32)
        if req.avoid_text and not req.seeds and len(pos):  # with named films, their neighbourhood decides
            away = self.retriever.text_closeness(pos, req.avoid_text)
            out -= self.AVOID_WEIGHT * np.clip(away - np.median(away), 0.0, None)
        if req.quality_bias or req.popularity_bias:
            prior = req.quality_bias * self.retriever.quality[pos] + req.popularity_bias * self._popularity[pos]
            if topic_sim is not None:  # a lift only for what fits the topic; a penalty (a panned film) for all
                prior = np.where(prior > 0, topic_fit(topic_sim) * prior, prior)
            out += prior
        return out

    def period_groups(self, req: Request, positions: np.ndarray) -> np.ndarray | None:
        """Per candidate, which of the request's periods its year falls in (-1: none), when it names several."""
        if len(req.periods) < 2:
            return None
        items = self.catalog.items
        return np.array([next((k for k, (a, b) in enumerate(req.periods) if items[p].year and a <= items[p].year <= b),
                              -1) for p in positions], dtype=np.int64)

    def recommend(self, req: Request, profile: Profile, n: int | None = None, *, settings: "Settings | None" = None,
                  explain: bool = True, lang: str = "en") -> tuple[list[Recommendation], list[str]]:
        """Retrieve, rerank and pick `n` items for `req`. `settings` are one person's knobs (list length,
        diversity, novelty, LLM on/off); `explain=False` gives catalog-template reasons only, so a caller can
        show the list at once and stream the LLM's reasons after it (`ChatSession.handle_stream`)."""
        settings = settings or Settings()
        n = n or settings.n_items or self.config.n_items
        mmr_lambda = self.config.mmr_lambda if settings.diversity is None else 1.0 - 0.5 * settings.diversity
        ranked = self.rank(req, profile, novelty=settings.novelty)
        if not len(ranked.positions):
            return [], ranked.relaxed
        order = select(ranked.positions, ranked.scores, self.index.vectors, n, mmr_lambda,
                       groups=self.period_groups(req, ranked.positions))
        seeds = [self.catalog[i] for i in req.seeds if i in self.catalog.index_of]
        recs = []
        for j in order:
            item = self.catalog.items[int(ranked.positions[j])]
            fans_of = seeds[0] if seeds and "collab" in ranked.sources[j] else None
            reason = template_reason(item, req.wish_text, req.genres_in, seeds, lang=lang, fans_of=fans_of,
                                     moods=req.moods)
            if explain and settings.use_llm and self.explainer is not None:
                reason = self.explainer.reason(item, req.wish_text, reason, lang=lang)
            recs.append(Recommendation(item, float(ranked.scores[j]), reason, ranked.sources[j]))
        return recs, ranked.relaxed


# The spread (standard deviation of the best 50 scores) of the rankings the moods' genre weights were set on: plain
# requests, ranked by the scorer and the set weights ("something funny" 0.063, "something dark" 0.050, "a feel-good
# movie" 0.031). A named film's neighbourhood, where its collaborative similarity counts too, spreads about three
# times wider ("like Alien but funnier" 0.185, "like Pulp Fiction but less violent" 0.199), and the same weights
# hardly moved it: *Aliens* and *The Terminator* stayed in "like Alien but funnier"
MOOD_SPREAD = 0.06
MOOD_SCALE_MAX = 3.0


def mood_scale(scores: np.ndarray, top: int = 50) -> float:
    """How many times a mood's genre weights count in this ranking: its scores' spread over `MOOD_SPREAD`, from 1
    (never less than the weights were set at) to `MOOD_SCALE_MAX`."""
    if len(scores) < 2:
        return 1.0
    best = np.sort(np.asarray(scores, dtype=np.float64))[::-1][:top]
    spread = best.std() / MOOD_SPREAD
    return float(np.clip(spread, 1.0, MOOD_SCALE_MAX)) if np.isfinite(spread) else 1.0


def open_collab(config: Config, catalog: Catalog) -> VectorIndex | None:
    """The collaborative item vectors as a searchable collection, or None: no `chatrec train` output and none
    bundled with the catalog (a catalog without ratings), or vectors that no longer fit (logged; the other
    candidate sources carry on)."""
    path = find_collab(config)
    if path is None:
        return None
    try:
        vectors, _ = load_collab(path, catalog)
        return open_vectors(catalog, vectors, config, "collab")
    except ChatrecError as exc:
        log.warning("not using collaborative candidates: %s", exc)
        return None


def open_head(config: Config, scorer: Scorer | None) -> SourceHead | None:
    """The learned source head `chatrec train` made with this scorer, or None (then `combine`'s set weights rank):
    none trained, a broken file, or one learned on another scorer's scores (each logged)."""
    path = find_head(config)
    if path is None or not config.ranking_head:
        return None
    try:
        head = load_head(path)
    except ChatrecError as exc:
        log.warning("not using the learned ranking head: %s", exc)
        return None
    made_for = head.meta.get("scorer")
    if made_for != (scorer.name if scorer is not None else "baseline"):
        log.warning("not using the learned ranking head %s: it was trained on %s scores", path, made_for)
        return None
    return head


def new_user_id() -> str:
    """Opaque and unguessable: a browser can't reach someone else's profile by counting."""
    return "u_" + secrets.token_urlsafe(12)
