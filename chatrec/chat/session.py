"""The dialogue manager: one `ChatSession` per conversation, over one shared `Recommender`.

A turn: clean the message -> intent -> update the dialogue state -> policy (recommend, answer, record
feedback, small talk) -> reply. Every reply has the same JSON shape (the CLI and API contract):

    {"reply": str, "intent": {"kind": str, ...}, "items": [{"item_id", "title", "year", "genres", "score",
                                                           "explanation"}]}

No exception reaches the person chatting: known problems become a clear reply, unknown ones are logged
and answered with an apology; the state is left as it was before the turn.
"""
from __future__ import annotations

import copy
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from chatrec.catalog import Catalog, Item, load_catalog
from chatrec.config import Config
from chatrec.retrieval.embed import get_embedder
from chatrec.errors import ChatrecError
from chatrec.chat.explain import LLMExplainer, template_reason
from chatrec.retrieval.index import VectorIndex, open_or_build
from chatrec.understand.intent import Intent, LLMParser, ParseContext, RuleParser, clean_message
from chatrec.lang import detect, genre_label, join, t
from chatrec.llm import get_llm, load_prompt
from chatrec.profile.events import CLEAR, CRITIQUE, DISLIKE, LIKE, LIKE_AT, RATING, SEEN
from chatrec.profile.store import Profile, ProfileStore, open_store
from chatrec.profile.vector import move_vector, replay_vector
from chatrec.ranking.scorers import BaselineScorer, ScoreContext, Scorer, load_scorer
from chatrec.ranking.diversity import select
from chatrec.retrieval.retrieve import Request, Retriever

log = logging.getLogger("chatrec")

FEEDBACK_KINDS = (LIKE, DISLIKE, SEEN, RATING)
CRITIQUES = ("newer", "older", "lighter", "darker", "more_like", "less_like", "other")


@dataclass
class DialogueState:
    """What this conversation has established so far."""
    seeds: list[str] = field(default_factory=list)  # items to recommend near (titles the user named, "more like #2")
    negatives: list[str] = field(default_factory=list)  # items to move away from ("less like #1")
    genres_in: list[str] = field(default_factory=list)
    genres_any: bool = False
    genres_out: list[str] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    wish_text: str = ""
    avoid_text: str = ""
    shown: list[str] = field(default_factory=list)
    last_items: list[str] = field(default_factory=list)
    turns: int = 0
    within: list[str] = field(default_factory=list)  # only these items: a director's films, a series
    within_names: list[str] = field(default_factory=list)

    def start_request(self, intent: Intent) -> None:
        """A new request replaces the session's constraints (the stored profile stays)."""
        self.seeds = list(intent.liked)
        self.negatives = list(intent.disliked)
        self.genres_in, self.genres_out = list(intent.genres_in), list(intent.genres_out)
        self.genres_any = intent.genres_any
        self.year_min, self.year_max = intent.year_min, intent.year_max
        self.wish_text, self.avoid_text = intent.wish_text, intent.avoid_text
        self.within, self.within_names = [], []

    def refine(self, intent: Intent, catalog: Catalog) -> None:
        """A critique narrows or shifts the current request."""
        self.seeds = list(dict.fromkeys(self.seeds + intent.liked))
        self.negatives = list(dict.fromkeys(self.negatives + intent.disliked))
        self.genres_out = list(dict.fromkeys(self.genres_out + intent.genres_out))
        self.genres_in = [g for g in dict.fromkeys(self.genres_in + intent.genres_in) if g not in self.genres_out]
        if intent.year_min is not None or intent.year_max is not None:
            self.year_min, self.year_max = intent.year_min, intent.year_max
        if intent.wish_text:
            self.wish_text = intent.wish_text
        if intent.avoid_text:
            self.avoid_text = " ".join(dict.fromkeys((self.avoid_text + " " + intent.avoid_text).split()))
        last = [catalog[i] for i in self.last_items if i in catalog.index_of]
        years = sorted(it.year for it in last if it.year)
        referenced = [self.last_items[r - 1] for r in intent.refs if 0 < r <= len(self.last_items)]
        for critique in intent.critiques:
            if critique == "older" and years:
                self.year_max, self.year_min = years[len(years) // 2] - 1, None
            elif critique == "newer" and years:
                self.year_min, self.year_max = years[len(years) // 2] + 1, None
            elif critique == "lighter":
                self.wish_text = _add_words(self.wish_text, "light-hearted funny feel-good")
                self.avoid_text = _add_words(self.avoid_text, "dark violent grim")
            elif critique == "darker":
                self.wish_text = _add_words(self.wish_text, "dark intense gritty")
                self.avoid_text = _add_words(self.avoid_text, "light-hearted family comedy")
            elif critique == "more_like" and referenced:
                self.seeds = list(dict.fromkeys(referenced + self.seeds))[:3]
            elif critique == "less_like" and referenced:
                self.negatives = list(dict.fromkeys(self.negatives + referenced))


def _add_words(text: str, words: str) -> str:
    return " ".join(dict.fromkeys((text + " " + words).split()))


_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
# the notes `Retriever.candidates` returns when it loosens a constraint -> their message keys
_RELAX_KEYS = {"“all of those genres” to “any of them”": "relax_genres_any", "the year range": "relax_years",
               "the genre filter": "relax_genres", "“only their films”": "relax_within"}

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

    def session(self, user_id: str | None = None) -> "ChatSession":
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

    def recommend(self, req: Request, profile: Profile, n: int | None = None, *, settings: "Settings | None" = None,
                  explain: bool = True, lang: str = "en") -> tuple[list[Recommendation], list[str]]:
        """Retrieve, rerank and pick `n` items for `req`. `settings` are one person's knobs (list length,
        diversity, novelty, LLM on/off); `explain=False` gives catalog-template reasons only, so a caller can
        show the list at once and stream the LLM's reasons after it (`ChatSession.handle_stream`)."""
        settings = settings or Settings()
        n = n or settings.n_items or self.config.n_items
        mmr_lambda = self.config.mmr_lambda if settings.diversity is None else 1.0 - 0.5 * settings.diversity
        query, hits, relaxed = self.retriever.candidates(req, profile.vector, self.config.n_candidates)
        if not hits:
            return [], relaxed
        positions = np.array([p for p, _ in hits])
        sims = np.array([s for _, s in hits], dtype=np.float32)
        scores = self.scorer.score(positions, sims, self.score_context(query, req, profile))
        if settings.novelty:  # push the long tail up: less-rated films get a bonus, blockbusters a penalty
            scores = scores - settings.novelty * NOVELTY_SCALE * self._popularity[positions]
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


_COMMAND = re.compile(r"^/(like|dislike|seen|rate)\s+(-?\d+)(?:\s+(-?\d+(?:\.\d+)?))?\s*$", re.I)


class ChatSession:
    def __init__(self, recommender: Recommender, user_id: str):
        if not isinstance(user_id, str) or not re.fullmatch(r"[\w.@:-]{1,128}", user_id):
            raise ChatrecError("a user id is 1-128 letters, digits or . _ @ : -")
        self.rec = recommender
        self.user_id = user_id
        self.state = DialogueState()
        self.profile = recommender.store.load(user_id)
        self.llm_notice_given = False
        self.notice = ""  # a one-time note prepended to the next reply
        self.settings = Settings()
        self._explain_inline = True  # handle_stream turns this off to show the list before the LLM's reasons
        self._recent: list[float] = []  # times of recent messages, for the per-session rate limit
        self.lang = "en"  # the language of the last message with letters in it: replies follow it

    # ------------------------------------------------------------ public verbs
    def handle(self, line: str) -> dict:
        """One input line as the CLI reads it: a chat message or a /like N, /dislike N, /seen N, /rate N S command."""
        m = _COMMAND.match(line.strip()) if isinstance(line, str) else None
        if m:
            kind, pos, value = m.group(1).lower(), int(m.group(2)), m.group(3)
            kind = RATING if kind == "rate" else kind
            return self.feedback(pos, kind, float(value) if value is not None else None)
        if isinstance(line, str) and line.strip().startswith("/"):
            return self._reply(t("commands_help", self.lang), Intent("chitchat"))
        return self.turn(line)

    def handle_stream(self, line: str):
        """Like `handle`, but yields the answer as it grows: first the list with catalog-template reasons (fast),
        then the same answer again each time the LLM has written and checked one item's reason. Without an
        LLM (or with it switched off) it yields once."""
        explainer = self.rec.explainer if self.settings.use_llm else None
        self._explain_inline = explainer is None
        try:
            result = self.handle(line)
        finally:
            self._explain_inline = True
        yield result
        if explainer is None or not result["items"]:
            return
        wish = self.state.wish_text
        for it in result["items"]:
            item = self.rec.catalog.get(it["item_id"])
            old = it["explanation"]
            new = explainer.reason(item, wish, old, lang=self.lang) if item is not None else old
            if new != old:
                result = copy.deepcopy(result)
                target = next(x for x in result["items"] if x["item_id"] == it["item_id"])
                target["explanation"] = new
                result["reply"] = result["reply"].replace(f"{item.label} — {old}", f"{item.label} — {new}", 1)
                yield result

    def _rate_limited(self) -> bool:
        limit = self.rec.config.rate_limit_per_minute
        if limit <= 0:
            return False
        now = time.monotonic()
        self._recent = [t for t in self._recent if now - t < 60.0]
        if len(self._recent) >= limit:
            return True
        self._recent.append(now)
        return False

    def turn(self, message) -> dict:
        if isinstance(message, str):
            self.lang = detect(message[:2000]) or self.lang
        if self._rate_limited():
            return self._reply(t("rate_limited", self.lang, limit=self.rec.config.rate_limit_per_minute),
                               Intent("chitchat", unclear=True))
        if not isinstance(message, str):
            return self._reply(t("not_text", self.lang), Intent("chitchat", unclear=True))
        if not message.strip():
            return self._reply(t("empty", self.lang), Intent("chitchat", unclear=True))
        limit = self.rec.config.max_message_chars
        if len(message) > limit:
            return self._reply(t("too_long", self.lang, n=len(message), limit=limit), Intent("chitchat", unclear=True))
        text = clean_message(message, limit)
        if not text:
            return self._reply(t("unreadable", self.lang), Intent("chitchat", unclear=True))
        return self._guarded(lambda: self._turn(text), text)

    def critique(self, name: str, position: int | None = None) -> dict:
        """A one-click critique of the last list: newer, older, lighter, darker, more_like N, less_like N."""
        name = str(name).lower().strip().replace(" ", "_")
        intent = Intent("refine", critiques=[name], refs=[position] if isinstance(position, int) else [])
        if name not in CRITIQUES:
            return self._reply(t("unknown_critique", self.lang, name=name, names=", ".join(CRITIQUES)), intent)
        if not self.state.last_items:
            return self._reply(t("no_list_refine", self.lang), intent)
        if name in ("more_like", "less_like"):
            n = len(self.state.last_items)
            if not isinstance(position, int) or not 1 <= position <= n:
                return self._reply(t("which_item", self.lang, n=n), intent)
        return self._guarded(lambda: self._apply_refine(intent), name)

    def remove(self, item_id: str) -> dict:
        """Take an item out of the profile (undo a like, dislike, seen or rating); the vector is rebuilt."""
        intent = Intent("feedback", sentiment=CLEAR)
        item = self.rec.catalog.get(str(item_id))
        if item is None or item.item_id not in (set(self.profile.liked) | set(self.profile.disliked)
                                                | set(self.profile.seen) | set(self.profile.ratings)):
            return self._reply(t("not_in_profile", self.lang), intent)
        def run():
            store, vectors, index_of = self.rec.store, self.rec.index.vectors, self.rec.catalog.index_of
            store.record(self.user_id, CLEAR, item.item_id)
            vec = replay_vector(store.events(self.user_id),
                                lambda i: vectors[index_of[i]] if i in index_of else None, self.rec.config.profile_rate)
            store.save_vector(self.user_id, vec)
            self.profile = store.load(self.user_id)
            return self._reply(t("removed", self.lang, item=item.label), intent)
        return self._guarded(run, "remove")

    def forget(self) -> dict:
        """Delete everything stored about this user and start the conversation afresh."""
        def run():
            n = self.rec.store.forget(self.user_id)
            self.state = DialogueState()
            self.profile = self.rec.store.load(self.user_id)
            return self._reply(t("forgot", self.lang, n=n), Intent("chitchat"))
        return self._guarded(run, "forget")

    def onboard(self, genres: list[str] | None = None, favourites: str = "") -> dict:
        """Cold start: a few genres and/or titles the person loves become likes and a first request."""
        cat = self.rec.catalog
        genres = [g for g in (genres or []) if g in cat.genres]
        favourites = clean_message(favourites or "", self.rec.config.max_message_chars)
        self.lang = detect(favourites) or self.lang
        found = [t[0] for t in self.rec.rules.find_titles(favourites)] if favourites else []
        if not genres and not found:
            if favourites:
                return self._reply(t("onboard_none", self.lang), Intent("chitchat", unclear=True))
            intent = Intent("recommend", unclear=False)
            return self._guarded(lambda: self._recommend(intent), "onboard")
        intent = Intent("recommend", liked=list(dict.fromkeys(found)), genres_in=genres, genres_any=True)
        def run():
            for item_id in intent.liked:
                if item_id not in self.profile.liked:
                    self._record(LIKE, cat[item_id])
            self.state.start_request(intent)
            return self._recommend(intent)
        return self._guarded(run, "onboard")

    def export(self) -> dict:
        return self.rec.store.export(self.user_id)

    def _guarded(self, fn, what: str) -> dict:
        """Run one step under the user's lock; on any failure restore the dialogue state and say so plainly."""
        saved = copy.deepcopy(self.state)
        try:
            with self.rec.user_lock(self.user_id):
                return fn()
        except ChatrecError as exc:
            self.state = saved
            return self._reply(t("cant_now", self.lang, exc=exc), Intent("chitchat", unclear=True))
        except Exception:
            self.state = saved
            log.exception("step failed for %r", str(what)[:200])
            return self._reply(t("oops", self.lang), Intent("chitchat", unclear=True))

    def feedback(self, position: int, kind: str, value: float | None = None) -> dict:
        intent = Intent("feedback", sentiment=kind, refs=[position] if isinstance(position, int) else [])
        if kind not in FEEDBACK_KINDS:
            return self._reply(t("unknown_feedback", self.lang, kind=kind), intent)
        if not self.state.last_items:
            return self._reply(t("no_list", self.lang), intent)
        n = len(self.state.last_items)
        if not isinstance(position, int) or isinstance(position, bool) or not 1 <= position <= n:
            return self._reply(t("no_item", self.lang, pos=position, n=n, s="s" if n != 1 else ""), intent)
        if kind == RATING and (value is None or not 1 <= value <= 5):
            return self._reply(t("rating_range", self.lang), intent)
        item = self.rec.catalog[self.state.last_items[position - 1]]
        already = {LIKE: self.profile.liked, DISLIKE: self.profile.disliked, SEEN: self.profile.seen}.get(kind, [])
        if item.item_id in already:  # a double click must not move the profile twice
            return self._reply(t("already", self.lang, item=item.label, kind=kind), intent)
        try:
            with self.rec.user_lock(self.user_id):
                self._record(kind, item, value)
        except ChatrecError as exc:
            return self._reply(t("save_failed", self.lang, exc=exc), intent)
        except Exception:
            log.exception("feedback failed")
            return self._reply(t("save_failed_retry", self.lang), intent)
        if kind == RATING:
            return self._reply(t("rated", self.lang, item=item.label, stars=f"{value:g}"), intent)
        words = {LIKE: "liked", DISLIKE: "disliked", SEEN: "seen"}
        return self._reply(t(words[kind], self.lang, item=item.label), intent)

    def profile_json(self) -> dict:
        """What chatrec believes about this user, in words a person can check."""
        cat, p = self.rec.catalog, self.profile
        def labels(ids):
            return [{"item_id": i, "title": cat[i].label if i in cat.index_of else i} for i in ids]
        genres: dict[str, int] = {}
        for i in list(p.liked) + [i for i, r in p.ratings.items() if r >= LIKE_AT and i not in p.liked]:
            for g in cat[i].genres if i in cat.index_of else ():
                genres[g] = genres.get(g, 0) + 1
        def critique_words(label: str) -> str:
            name, _, item_id = label.partition(":")
            words = name.replace("_", " ")
            return f"{words} {cat[item_id].title}" if item_id in cat.index_of else words
        return {"user_id": self.user_id, "liked": labels(p.liked), "disliked": labels(p.disliked),
                "seen": labels(p.seen),
                "ratings": [{"item_id": i, "title": cat[i].label if i in cat.index_of else i, "stars": r}
                            for i, r in p.ratings.items()],
                "favourite_genres": [g for g, _ in sorted(genres.items(), key=lambda kv: (-kv[1], kv[0]))[:5]],
                "recent_critiques": [critique_words(c) for c in p.critiques[-5:]]}

    # ------------------------------------------------------------ internals
    def _record(self, kind: str, item: Item, value: float | None = None) -> None:
        """Write the event durably first, then apply it to the in-memory profile and its vector."""
        self.rec.store.record(self.user_id, kind, item.item_id, value)
        if self.rec.retrainer is not None:
            self.rec.retrainer.notify()  # counts toward the next background fine-tune; never blocks
        vec = self.rec.index.vectors[self.rec.catalog.index_of[item.item_id]]
        new_vec = move_vector(self.profile.vector, vec, kind, self.rec.config.profile_rate, value)
        if new_vec is not self.profile.vector:
            self.rec.store.save_vector(self.user_id, new_vec)
        self.profile = self.rec.store.load(self.user_id)

    def _turn(self, text: str) -> dict:
        state = self.state
        state.turns += 1
        parser = self.rec.parser if self.settings.use_llm else self.rec.rules
        failures = getattr(parser, "failures", 0)
        intent = parser.parse(text, ParseContext(list(state.last_items)))
        if getattr(parser, "failures", 0) > failures and not self.llm_notice_given:
            self.llm_notice_given = True  # said once per conversation, then the rule path quietly carries on
            self.notice = t("llm_down", self.lang)
        kind = intent.kind
        if kind == "goodbye":
            return self._reply(t("goodbye", self.lang), intent)
        if kind == "chitchat":
            return self._reply(t("chitchat", self.lang, n=len(self.rec.catalog)), intent)
        if kind == "ask_about_item":
            return self._about(intent, text)
        if kind == "feedback":
            return self._text_feedback(intent)
        # durable likes/dislikes of titles the person named with feeling ("I loved Up", "I hated Titanic")
        if re.search(r"\b(loved?|liked|enjoyed|adored?|favou?rite)\b|(?<!不)(?<!不太)喜欢|(?<!不)爱看|最爱", text, re.I):
            for item_id in intent.liked:
                if item_id not in self.profile.liked:
                    self._record(LIKE, self.rec.catalog[item_id])
        if re.search(r"\b(hated?|disliked?|didn'?t like|can'?t stand)\b|不喜欢|讨厌|受不了", text, re.I):
            for item_id in intent.disliked:
                if item_id not in self.profile.disliked:
                    self._record(DISLIKE, self.rec.catalog[item_id])
        if kind == "refine" and state.last_items:
            return self._apply_refine(intent)
        if not intent.unclear:
            state.start_request(intent)
            self._set_within(intent)
        return self._recommend(intent)

    def _set_within(self, intent: Intent) -> None:
        """A named director, studio or series ("宫崎骏的动画", "Nolan films") limits the picks to their films."""
        if intent.collections:
            self.state.within = self.rec.rules.collection_items(intent.collections)
            self.state.within_names = list(intent.collections)

    def _apply_refine(self, intent: Intent) -> dict:
        state = self.state
        for critique in intent.critiques:
            label = critique
            if critique in ("more_like", "less_like") and intent.refs and 0 < intent.refs[0] <= len(state.last_items):
                label = f"{critique}:{state.last_items[intent.refs[0] - 1]}"
            self.rec.store.record(self.user_id, CRITIQUE, label)
            self.profile.critiques = (self.profile.critiques + [label])[-10:]
        state.refine(intent, self.rec.catalog)
        self._set_within(intent)
        return self._recommend(intent)

    def _recommend(self, intent: Intent) -> dict:
        state = self.state
        exclude = set(state.shown) | self.profile.excluded | set(state.seeds) | set(state.negatives)
        if intent.unclear:  # the plain recommender: the profile (or popularity) and nothing else
            req = Request(exclude=exclude)
        else:
            req = Request(
                wish_text=state.wish_text, avoid_text=state.avoid_text, seeds=state.seeds, negatives=state.negatives,
                genres_in=state.genres_in, genres_any=state.genres_any, genres_out=state.genres_out,
                year_min=state.year_min,
                year_max=state.year_max, exclude=exclude, within=list(state.within),
            )
        unknown = []
        if _CJK_RUN.search(req.wish_text) and not getattr(self.rec.index.embedder, "multilingual", False):
            # Chinese words the query translation did not know: noise to an English-only embedder, so they are
            # left out of the query, and the reply says which ones
            unknown = _CJK_RUN.findall(req.wish_text)
            req.wish_text = _CJK_RUN.sub(" ", req.wish_text).strip()
        recs, relaxed = self.rec.recommend(req, self.profile, settings=self.settings, explain=self._explain_inline,
                                           lang=self.lang)
        if not recs:
            return self._reply(t("nothing_found", self.lang), intent)
        state.last_items = [r.item.item_id for r in recs]
        state.shown.extend(i for i in state.last_items if i not in state.shown)
        lines = [self._lead(intent, req, relaxed)]
        if unknown:
            lines[0] = t("unknown_words", self.lang, words="、".join(f"“{w}”" for w in unknown)) + lines[0]
        zh_names = self.rec.rules.zh_names if self.lang == "zh" else {}
        for n, r in enumerate(recs, 1):
            zh = f"《{zh_names[r.item.item_id]}》" if r.item.item_id in zh_names else ""
            lines.append(f"{n}. {zh}{r.item.label} — {r.explanation}")
        lines.append(t("list_hint", self.lang))
        return self._reply("\n".join(lines), intent, recs)

    def _lead(self, intent: Intent, req: Request, relaxed: list[str]) -> str:
        cat, lang = self.rec.catalog, self.lang
        zh = lang == "zh"
        if intent.unclear:
            lead = t("unclear_profile" if self.profile.vector is not None else "unclear_popular", lang)
        else:
            parts = []
            if req.seeds:
                names = self.rec.rules.zh_names
                titles = [f"《{names.get(i, cat[i].title)}》" if zh else cat[i].title for i in req.seeds[:3]]
                parts.append(t("lead_like", lang, titles=("、" if zh else ", ").join(titles)))
            if self.state.within_names and req.within:
                parts.append(t("lead_from", lang, names=join([self.rec.rules.collection_name(k, lang)
                                                              for k in self.state.within_names], lang)))
            if req.genres_in:
                genres = [genre_label(g, lang) if zh else g.lower() for g in req.genres_in]
                parts.append(("或" if req.genres_any else "、").join(genres) if zh else
                             (" or " if req.genres_any else " and ").join(genres))
            if req.genres_out:
                genres = [genre_label(g, lang) if zh else g.lower() for g in req.genres_out]
                parts.append(t("lead_no", lang, genres=("、" if zh else ", ").join(genres)))
            if req.year_min or req.year_max:
                parts.append(f"{req.year_min or '…'}–{req.year_max or '…'}")
            if req.wish_text:
                parts.append(f"“{req.wish_text}”")
            if req.avoid_text:
                parts.append(t("lead_less", lang, words=req.avoid_text))
            lead = t("picks", lang) + (("（" + "；".join(parts) + "）") if zh else f" ({'; '.join(parts)})") \
                if parts else t("picks_for_you", lang)
        if relaxed:
            what = [t(_RELAX_KEYS[r], lang) if r in _RELAX_KEYS else r for r in relaxed]
            lead += t("relaxed", lang, what=join(what, lang))
        return lead + ("：" if zh else ":")

    def _about(self, intent: Intent, text: str) -> dict:
        item = self.rec.catalog.get(intent.about_item) if intent.about_item else None
        lang = self.lang
        if item is None:
            return self._reply(t("which_film", lang, n=len(self.state.last_items)), intent)
        zh_name = self.rec.rules.zh_names.get(item.item_id) if lang == "zh" else None
        facts = [f"《{zh_name}》{item.label}" if zh_name else f"{item.label}"]
        if item.genres:
            sep = "、" if lang == "zh" else ", "
            facts.append(t("about_genres", lang, genres=sep.join(genre_label(g, lang) for g in item.genres)))
        if item.overview:
            facts.append(t("about_overview_en", lang) + item.overview)
        if item.tags:
            facts.append(t("about_tags", lang, tags=", ".join(item.tags)))
        if item.rating_mean:
            facts.append(t("about_rating", lang, mean=item.rating_mean, count=item.rating_count))
        if re.search(r"\b(who|director|directed|cast|stars?|actors?)\b|导演|谁拍|主演|演员|谁演", text, re.I):
            facts.append(t("about_no_people", lang))
        return self._reply("\n".join(facts), intent)

    def _text_feedback(self, intent: Intent) -> dict:
        state = self.state
        refs = [r for r in intent.refs if 1 <= r <= len(state.last_items)]
        if not refs and len(state.last_items) == 1:
            refs = [1]
        if not refs:
            return self._reply(t("which_one", self.lang), intent)
        kind = intent.sentiment or LIKE
        said = []
        for r in refs:
            item = self.rec.catalog[state.last_items[r - 1]]
            self._record(kind, item)
            said.append(item.label)
        verb = t({LIKE: "verb_like", DISLIKE: "verb_dislike", SEEN: "verb_seen"}[kind], self.lang)
        return self._reply(t("noted_text", self.lang, verb=verb, items=("、" if self.lang == "zh" else ", ").join(said)),
                           intent)

    def _reply(self, text: str, intent: Intent, recs: list[Recommendation] | None = None) -> dict:
        if self.notice:
            text, self.notice = f"{self.notice}\n{text}", ""
        return {"reply": text, "intent": intent.to_json(self.rec.catalog), "items": [r.to_json() for r in recs or []]}
