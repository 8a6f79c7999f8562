"""One conversation: the verbs a person uses, and the policy that answers each message.

A turn: clean the message -> intent (chatrec.understand) -> update the dialogue state (chat.state) -> policy
(recommend, answer about a film, record feedback, small talk) -> a `Reply` (chat.render). Every verb returns a
`Reply`; its `ok` field says whether the action happened, and `to_json()` is the CLI and API contract.

No exception reaches the person chatting: known problems become a clear reply, unknown ones are logged
and answered with an apology; the state is left as it was before the turn.
"""
from __future__ import annotations

import copy
import logging
import re
import time

from chatrec.catalog import Item
from chatrec.chat.recommender import Recommendation, Recommender, Settings
from chatrec.chat.render import Reply, about, item_label, lead, unsupported_note
from chatrec.chat.state import DialogueState
from chatrec.errors import ChatrecError, StoreError
from chatrec.lang import detect, t
from chatrec.profile.events import CLEAR, CRITIQUE, DISLIKE, LIKE, LIKE_AT, RATING, SEEN
from chatrec.profile.store import Profile
from chatrec.profile.vector import move_vector, replay_vector
from chatrec.understand.intent import Intent, ParseContext, clean_message

log = logging.getLogger("chatrec")

FEEDBACK_KINDS = (LIKE, DISLIKE, SEEN, RATING)
CRITIQUES = ("newer", "older", "lighter", "darker", "more_like", "less_like", "other")

_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_COMMAND = re.compile(r"^/(like|dislike|seen|rate)\s+(-?\d+)(?:\s+(-?\d+(?:\.\d+)?))?\s*$", re.I)
_USER_ID = re.compile(r"[\w.@:-]{1,128}")


def bounded(text, limit: int = 200) -> str:
    """`text` as it may be echoed back: a string of at most `limit` characters."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…"


class ChatSession:
    def __init__(self, recommender: Recommender, user_id: str):
        if not isinstance(user_id, str) or not _USER_ID.fullmatch(user_id):
            raise ChatrecError("a user id is 1-128 letters, digits or . _ @ : -")
        self.rec = recommender
        self.user_id = user_id
        self.state = DialogueState()
        self.llm_notice_given = False
        self.notice = ""  # a one-time note prepended to the next reply
        self.store_fault = ""  # why the stored profile could not be read ("" when it could)
        try:
            self.profile = recommender.store.load(user_id)
        except StoreError as exc:  # a corrupt or unreachable profile database: say so, and still chat
            self.profile, self.store_fault = Profile(user_id), str(exc)
            self.notice = t("cant_now", "en", exc=exc)
        self.settings = Settings()
        self._recent: list[float] = []  # times of recent messages, for the per-session rate limit
        self.lang = "en"  # the language of the last message with letters in it: replies follow it

    # ------------------------------------------------------------ public verbs
    def handle(self, line: str, *, explain: bool = True) -> Reply:
        """One input line as the CLI reads it: a chat message or a /like N, /dislike N, /seen N, /rate N S command.
        `explain=False`: catalog-template reasons only (the caller streams the LLM's reasons after the list)."""
        m = _COMMAND.match(line.strip()) if isinstance(line, str) else None
        if m:
            kind, pos, value = m.group(1).lower(), int(m.group(2)), m.group(3)
            kind = RATING if kind == "rate" else kind
            return self.feedback(pos, kind, float(value) if value is not None else None)
        if isinstance(line, str) and line.strip().startswith("/"):
            return self._reply(t("commands_help", self.lang), Intent("chitchat"), ok=False)
        return self.turn(line, explain=explain)

    def handle_stream(self, line: str):
        """Like `handle`, but yields the answer as it grows: first the list with catalog-template reasons (fast),
        then the answer again each time the LLM has written and checked one item's reason. Without an LLM (or
        with it switched off) it yields once."""
        explainer = self.rec.explainer if self.settings.use_llm else None
        reply = self.handle(line, explain=explainer is None)
        yield reply
        if explainer is None or not reply.recs:
            return
        wish = self.state.wish_text
        for n, r in enumerate(reply.recs):
            new = explainer.reason(r.item, wish, r.explanation, lang=self.lang)
            if new != r.explanation:
                reply = copy.copy(reply)  # earlier yields keep their text
                reply.recs = list(reply.recs)
                reply.recs[n] = Recommendation(r.item, r.score, new)
                yield reply

    def turn(self, message, *, explain: bool = True) -> Reply:
        if isinstance(message, str):
            self.lang = detect(message[:2000]) or self.lang
        refused = Intent("chitchat", unclear=True)
        if self._rate_limited():
            return self._reply(t("rate_limited", self.lang, limit=self.rec.config.rate_limit_per_minute), refused,
                               ok=False)
        if not isinstance(message, str):
            return self._reply(t("not_text", self.lang), refused, ok=False)
        if not message.strip():
            return self._reply(t("empty", self.lang), refused, ok=False)
        limit = self.rec.config.max_message_chars
        if len(message) > limit:
            return self._reply(t("too_long", self.lang, n=len(message), limit=limit), refused, ok=False)
        text = clean_message(message, limit)
        if not text:
            return self._reply(t("unreadable", self.lang), refused, ok=False)
        return self._guarded(lambda: self._turn(text, explain), text)

    def critique(self, name: str, position: int | None = None) -> Reply:
        """A one-click critique of the last list: newer, older, lighter, darker, more_like N, less_like N."""
        name = bounded(str(name).lower().strip().replace(" ", "_"))
        intent = Intent("refine", critiques=[name], refs=[position] if isinstance(position, int) else [])
        if name not in CRITIQUES:
            return self._reply(t("unknown_critique", self.lang, name=name, names=", ".join(CRITIQUES)), intent,
                               ok=False)
        if not self.state.last_items:
            return self._reply(t("no_list_refine", self.lang), intent, ok=False)
        if name in ("more_like", "less_like"):
            n = len(self.state.last_items)
            if not isinstance(position, int) or not 1 <= position <= n:
                return self._reply(t("which_item", self.lang, n=n), intent, ok=False)
        return self._guarded(lambda: self._apply_refine(intent), name)

    def remove(self, item_id: str) -> Reply:
        """Take an item out of the profile (undo a like, dislike, seen or rating); the vector is rebuilt."""
        intent = Intent("feedback", sentiment=CLEAR)
        item = self.rec.catalog.get(str(item_id))
        if item is None or item.item_id not in (set(self.profile.liked) | set(self.profile.disliked)
                                                | set(self.profile.seen) | set(self.profile.ratings)):
            return self._reply(t("not_in_profile", self.lang), intent, ok=False)

        def run():
            store, vectors, index_of = self.rec.store, self.rec.index.vectors, self.rec.catalog.index_of
            store.record(self.user_id, CLEAR, item.item_id)
            vec = replay_vector(store.events(self.user_id),
                                lambda i: vectors[index_of[i]] if i in index_of else None, self.rec.config.profile_rate)
            store.save_vector(self.user_id, vec)
            self.profile = store.load(self.user_id)
            return self._reply(t("removed", self.lang, item=item.label), intent)
        return self._guarded(run, "remove")

    def forget(self) -> Reply:
        """Delete everything stored about this user and start the conversation afresh."""
        def run():
            n = self.rec.store.forget(self.user_id)
            self.state = DialogueState()
            self.profile = self.rec.store.load(self.user_id)
            return self._reply(t("forgot", self.lang, n=n), Intent("chitchat"))
        return self._guarded(run, "forget")

    def onboard(self, genres: list[str] | None = None, favourites: str = "") -> Reply:
        """Cold start: a few genres and/or titles the person loves become likes and a first request."""
        cat = self.rec.catalog
        genres = [g for g in (genres or []) if g in cat.genres]
        favourites = clean_message(favourites or "", self.rec.config.max_message_chars)
        self.lang = detect(favourites) or self.lang
        found = [t[0] for t in self.rec.rules.find_titles(favourites)] if favourites else []
        if not genres and not found:
            if favourites:
                return self._reply(t("onboard_none", self.lang), Intent("chitchat", unclear=True), ok=False)
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

    def feedback(self, position: int, kind: str, value: float | None = None) -> Reply:
        """Like, dislike, mark seen or rate (1-5 stars) the `position`-th item (1-based) of the last list."""
        intent = Intent("feedback", sentiment=kind, refs=[position] if isinstance(position, int) else [])
        if kind not in FEEDBACK_KINDS:
            return self._reply(t("unknown_feedback", self.lang, kind=bounded(kind)), intent, ok=False)
        if not self.state.last_items:
            return self._reply(t("no_list", self.lang), intent, ok=False)
        n = len(self.state.last_items)
        if not isinstance(position, int) or isinstance(position, bool) or not 1 <= position <= n:
            return self._reply(t("no_item", self.lang, pos=position, n=n, s="s" if n != 1 else ""), intent, ok=False)
        if kind == RATING and (isinstance(value, bool) or not isinstance(value, (int, float)) or value != value
                               or not 1 <= value <= 5 or value != int(value)):
            return self._reply(t("rating_range", self.lang), intent, ok=False)
        item = self.rec.catalog[self.state.last_items[position - 1]]
        already = {LIKE: self.profile.liked, DISLIKE: self.profile.disliked, SEEN: self.profile.seen}.get(kind, [])
        if item.item_id in already:  # a double click must not move the profile twice: nothing new to save
            return self._reply(t("already", self.lang, item=item.label, kind=kind), intent)
        try:
            with self.rec.user_lock(self.user_id):
                self._record(kind, item, value)
        except ChatrecError as exc:
            return self._reply(t("save_failed", self.lang, exc=exc), intent, ok=False)
        except Exception:
            log.exception("feedback failed")
            return self._reply(t("save_failed_retry", self.lang), intent, ok=False)
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
    def _rate_limited(self) -> bool:
        limit = self.rec.config.rate_limit_per_minute
        if limit <= 0:
            return False
        now = time.monotonic()
        self._recent = [s for s in self._recent if now - s < 60.0]
        if len(self._recent) >= limit:
            return True
        self._recent.append(now)
        return False

    def _guarded(self, fn, what: str) -> Reply:
        """Run one step under the user's lock; on any failure restore the dialogue state and say so plainly."""
        saved = copy.deepcopy(self.state)
        try:
            with self.rec.user_lock(self.user_id):
                return fn()
        except ChatrecError as exc:
            self.state = saved
            return self._reply(t("cant_now", self.lang, exc=exc), Intent("chitchat", unclear=True), ok=False)
        except Exception:
            self.state = saved
            log.exception("step failed for %r", str(what)[:200])
            return self._reply(t("oops", self.lang), Intent("chitchat", unclear=True), ok=False)

    def _record(self, kind: str, item: Item, value: float | None = None) -> None:
        """Write the event durably first, then apply it to the in-memory profile and its vector."""
        self.rec.store.record(self.user_id, kind, item.item_id, value)
        if self.rec.retrainer is not None:
            self.rec.retrainer.notify()  # counts toward the next background fine-tune; never blocks
        # the vector moves from the stored one, not this session's copy: another session (another tab, another
        # replica) may have changed it, or the person may have asked to be forgotten there
        self.profile = self.rec.store.load(self.user_id)
        vec = self.rec.index.vectors[self.rec.catalog.index_of[item.item_id]]
        new_vec = move_vector(self.profile.vector, vec, kind, self.rec.config.profile_rate, value)
        if new_vec is not self.profile.vector:
            self.rec.store.save_vector(self.user_id, new_vec)
        self.profile = self.rec.store.load(self.user_id)

    def _turn(self, text: str, explain: bool) -> Reply:
        state = self.state
        state.turns += 1
        parser = self.rec.parser if self.settings.use_llm else self.rec.rules
        failures = getattr(parser, "failures", 0)
        intent = parser.parse(text, ParseContext(list(state.last_items)))
        if getattr(parser, "failures", 0) > failures and not self.llm_notice_given:
            self.llm_notice_given = True  # said once per conversation, then the rule path quietly carries on
            self.notice = t("llm_down", self.lang)
        state.bring_up(intent.liked + intent.disliked + ([intent.about_item] if intent.about_item else []))
        kind = intent.kind
        if kind == "goodbye":
            return self._reply(t("goodbye", self.lang), intent)
        if kind == "chitchat":
            return self._reply(t("chitchat", self.lang, n=len(self.rec.catalog)), intent)
        if kind == "ask_about_item":
            return self._about(intent)
        if kind == "feedback":
            return self._text_feedback(intent)
        # durable likes/dislikes of titles the person named with feeling ("I loved Up", "I hated Titanic")
        if intent.praised:
            for item_id in intent.liked:
                if item_id not in self.profile.liked:
                    self._record(LIKE, self.rec.catalog[item_id])
        if intent.panned:
            for item_id in intent.disliked:
                if item_id not in self.profile.disliked:
                    self._record(DISLIKE, self.rec.catalog[item_id])
        if kind == "refine" and state.last_items:
            return self._apply_refine(intent, explain)
        if not intent.unclear:
            state.start_request(intent)
            self._set_within(intent)
        return self._recommend(intent, explain)

    def _set_within(self, intent: Intent) -> None:
        """A named director, studio or series ("宫崎骏的动画", "Nolan films") limits the picks to their films."""
        if intent.collections:
            self.state.within = self.rec.rules.collection_items(intent.collections)
            self.state.within_names = list(intent.collections)

    def _apply_refine(self, intent: Intent, explain: bool = True) -> Reply:
        state = self.state
        for critique in intent.critiques:
            label = critique
            if critique in ("more_like", "less_like") and intent.refs and 0 < intent.refs[0] <= len(state.last_items):
                label = f"{critique}:{state.last_items[intent.refs[0] - 1]}"
            self.rec.store.record(self.user_id, CRITIQUE, label)
            self.profile.critiques = (self.profile.critiques + [label])[-10:]
        state.refine(intent, self.rec.catalog)
        self._set_within(intent)
        return self._recommend(intent, explain)

    def _recommend(self, intent: Intent, explain: bool = True) -> Reply:
        state = self.state
        exclude = set(state.shown) | self.profile.excluded | set(state.seeds) | set(state.negatives)
        req = state.request(exclude, unclear=intent.unclear, stranger=not self.profile.liked)
        unknown = []
        if _CJK_RUN.search(req.wish_text) and not getattr(self.rec.index.embedder, "multilingual", False):
            # Chinese words the query translation did not know: noise to an English-only embedder, so they are
            # left out of the query, and the reply says which ones
            unknown = _CJK_RUN.findall(req.wish_text)
            req.wish_text = _CJK_RUN.sub(" ", req.wish_text).strip()
        recs, relaxed = self.rec.recommend(req, self.profile, settings=self.settings, explain=explain, lang=self.lang)
        if not recs:
            return self._reply(t("nothing_found", self.lang), intent, ok=False)
        state.last_items = [r.item.item_id for r in recs]
        state.shown.extend(i for i in state.last_items if i not in state.shown)
        state.bring_up(state.last_items)
        head = lead(None if intent.unclear else req, relaxed, self.lang, catalog=self.rec.catalog, rules=self.rec.rules,
                    within_names=state.within_names, has_profile=self.profile.vector is not None)
        if unknown:
            head = t("unknown_words", self.lang, words="、".join(f"“{w}”" for w in unknown)) + head
        note = unsupported_note(intent.unsupported, self.lang)  # "I don't know running times yet, so I ignored …"
        if note:
            head = f"{note}\n{head}"
        zh_names = self.rec.rules.zh_names
        return self._reply(head, intent, recs, labels=[item_label(r.item, self.lang, zh_names) for r in recs],
                           tail=t("list_hint", self.lang))

    def _about(self, intent: Intent) -> Reply:
        item = self.rec.catalog.get(intent.about_item) if intent.about_item else None
        if item is None:
            return self._reply(t("which_film", self.lang, n=len(self.state.last_items)), intent, ok=False)
        return self._reply(about(item, self.lang, self.rec.rules.zh_names, intent.asks_people), intent)

    def _text_feedback(self, intent: Intent) -> Reply:
        state = self.state
        refs = [r for r in intent.refs if 1 <= r <= len(state.last_items)]
        if not refs and len(state.last_items) == 1:
            refs = [1]
        if not refs:
            return self._reply(t("which_one", self.lang), intent, ok=False)
        kind = intent.sentiment or LIKE
        said = []
        for r in refs:
            item = self.rec.catalog[state.last_items[r - 1]]
            self._record(kind, item)
            said.append(item.label)
        verb = t({LIKE: "verb_like", DISLIKE: "verb_dislike", SEEN: "verb_seen"}[kind], self.lang)
        items = ("、" if self.lang == "zh" else ", ").join(said)
        if intent.critiques:  # "I've seen the first two, any others?": noted, and the next list at once
            self.notice = "\n".join(x for x in (self.notice, t("noted_then", self.lang, verb=verb, items=items)) if x)
            state.refine(intent, self.rec.catalog)
            return self._recommend(intent)
        return self._reply(t("noted_text", self.lang, verb=verb, items=items), intent)

    def _reply(self, text: str, intent: Intent, recs: list[Recommendation] | None = None, *,
               labels: list[str] | None = None, tail: str = "", ok: bool = True) -> Reply:
        if self.notice:
            text, self.notice = f"{self.notice}\n{text}", ""
        return Reply(text, intent.to_json(self.rec.catalog), list(recs or []), list(labels or []), tail, ok)
