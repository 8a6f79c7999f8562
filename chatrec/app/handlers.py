"""What each web event and named API endpoint does: small methods over `ChatSession` verbs.

`Handlers` holds the recommender and the `SessionRegistry`. Every method takes plain values: the page's inputs,
the conversation's signed token (`key`: the tab's hidden field, or an API client's session state) and, from the
page, the browser's stored signed user token (`uid`). The user is always the one those signed ids name
(`SessionRegistry.resolve`), never an in-memory key, so a tab open across a server restart keeps writing to its own
profile. The named API endpoints return the reply's JSON object and the token; UI events a `Screen` (or `Start`),
which `chatrec.app.web` turns into Gradio updates. Nothing here imports Gradio, so each event can be tested by
calling it. After each event the conversation's dialogue state is saved to the dialogue store.

Decisions read the reply's fields: `Reply.ok` (did the action happen), `Reply.recs` (is there a new list),
never its words. API arguments are checked by `chatrec.app.validate`: bad input is answered, never raised.
"""
from __future__ import annotations

import hashlib
import html
import json
import re
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from chatrec.app import validate
from chatrec.app.sessions import Resolved, SessionRegistry, notice
from chatrec.chat.recommender import Recommender, Settings
from chatrec.chat.render import Reply
from chatrec.chat.session import ChatSession
from chatrec.errors import InputError
from chatrec.lang import from_accept_language, genre_label, t
from chatrec.understand.intent import Intent

MAX_CARDS = 10  # card slots on the page
RATE_PROMPT = "Rate…"  # the rating dropdown's value before a choice (its label is translated)
CRITIQUE_BUTTONS = ("newer", "older", "lighter", "darker", "more_like", "less_like")  # each has a crit_* string
_STARS = re.compile(r"^([1-5])★?$")


@dataclass
class Screen:
    """What a UI event changes: the chat, the profile panel and (when `cards` is not None) the list of cards.
    `card_texts` are the cards' markdown, one per card; the page hides the slots beyond them."""
    key: str
    history: list[dict]
    profile: str
    entries: list[str]  # removable profile entries, by label
    cards: list[dict] | None = None  # None: the list did not change
    card_texts: list[str] | None = None
    uid: str | None = None  # the signed user id for the browser to keep


@dataclass
class Start:
    """What opening the page (or the browser's stored id arriving) changes; None leaves that part as it is."""
    key: str
    uid: str | None = None  # the signed user id for the browser to store
    history: list[dict] | None = None
    profile: str | None = None
    entries: list[str] | None = None


class Handlers:
    def __init__(self, rec: Recommender, sessions: SessionRegistry | None = None, export_dir: str | Path | None = None):
        self.rec = rec
        self.sessions = sessions or SessionRegistry(rec)
        # exports are written here, one folder per user (a hash of the id), so a forget deletes them all
        self.export_dir = Path(export_dir) if export_dir else Path(tempfile.gettempdir()) / "chatrec-exports"

    @contextmanager
    def conversation(self, key, uid=None):
        """The conversation the signed ids name (a new anonymous one, with a notice, when they do not verify);
        its dialogue state is saved when the event is done."""
        r = self.sessions.resolve(key, uid)
        if r.rejected:
            r.session.notice = notice("id_rejected", r.session.lang)
        yield r
        self.sessions.save(r.live)

    # ------------------------------------------------------------ named API endpoints: (reply JSON, key)
    # (no docstrings: Gradio would show them as the endpoints' descriptions; the module docstring of web lists them)
    def api_chat(self, message, key):
        with self.conversation(key) as c:
            if message is not None and not isinstance(message, str):
                bad = InputError("message", f"expected text, got {validate.show(message)}")
                return refusal(c.session, bad), c.token
            return c.session.handle(message or "").to_json(), c.token

    def api_feedback(self, position, kind, key):
        with self.conversation(key) as c:
            try:
                pos, kind = validate.position(position), validate.text(kind, "kind").lower().strip()
            except InputError as exc:
                return refusal(c.session, exc, "feedback"), c.token
            return c.session.feedback(pos, kind).to_json(), c.token

    def api_rate(self, position, stars, key):
        with self.conversation(key) as c:
            try:
                pos, value = validate.position(position), validate.stars(stars)
            except InputError as exc:
                return refusal(c.session, exc, "feedback"), c.token
            return c.session.feedback(pos, "rating", value).to_json(), c.token

    def api_critique(self, name, position, key):
        with self.conversation(key) as c:
            try:
                name, pos = validate.text(name, "name"), validate.optional_position(position)
            except InputError as exc:
                return refusal(c.session, exc, "refine"), c.token
            return c.session.critique(name, pos).to_json(), c.token

    def api_profile(self, key):
        with self.conversation(key) as c:
            return c.session.profile_json(), c.token

    def api_forget(self, key):
        with self.conversation(key) as c:
            return self._forget(c).to_json(), c.token

    def api_link(self, link_token, key):
        with self.conversation(key) as c:
            linked = self._link(c, link_token)
            return linked[1], linked[0].token

    # ------------------------------------------------------------ opening the page
    def load(self, saved_uid: str | None, key: str | None, accept_language: str | None = None) -> Start:
        """The page opened: a conversation of the stored user (when the browser sent a valid signed id) and a
        greeting in the browser's language, until the person writes in one."""
        with self.conversation(key, saved_uid) as c:
            session = c.session
            if not session.state.turns:
                session.lang = from_accept_language(accept_language)
            summary, entries = profile_view(session)
            greeting = t("welcome_back" if entries else "greeting", session.lang)
            if session.notice:  # an id that did not verify, or a profile database that cannot be read
                greeting, session.notice = f"{session.notice}\n\n{greeting}", ""
            return Start(c.token, c.user_token, [{"role": "assistant", "content": greeting}], summary, list(entries))

    def uid_changed(self, saved_uid: str | None, key: str | None) -> Start:
        """The browser's stored id can arrive after `load` ran (its component mounts lazily; a slow first visit
        loses that race). Adopt the stored user then (when its signature verifies), unless this tab already started
        a profile of its own; with nothing valid stored, store this conversation's user."""
        with self.conversation(key) as c:
            stored = self.sessions.signer.read_web(saved_uid)
            if stored is None or stored.conversation_id is not None:  # keep this user; say so if one was refused
                lang = c.session.lang
                said = saved_uid and not c.session.state.turns
                note = [{"role": "assistant", "content": f"{notice('id_rejected', lang)}\n\n{t('greeting', lang)}"}]
                return Start(c.token, c.user_token, note if said else None)
            if stored.user_id == c.session.user_id:
                return Start(c.token)
            session = c.session
            if session.profile.excluded or session.profile.critiques or session.state.turns:
                return Start(c.token, c.user_token)
        with self.conversation(None, saved_uid) as a:
            a.session.lang = session.lang
            summary, entries = profile_view(a.session)
            greeting = [{"role": "assistant", "content": t("welcome_back", a.session.lang)}] if entries else None
            return Start(a.token, None, greeting, summary, list(entries))

    # ------------------------------------------------------------ UI events: a Screen each
    def respond(self, message: str, history: list, n_items, diversity, novelty, use_llm, key, uid=None):
        """Streams: the user's message and a "thinking" line at once, then the list (template reasons), then
        each item's LLM-written reason as it is ready."""
        with self.conversation(key, uid) as c:
            apply_settings(c.session, n_items, diversity, novelty, use_llm)
            history = list(history or []) + [{"role": "user", "content": html.escape(message or "")},
                                             {"role": "assistant", "content": "…"}]
            yield self.screen(c, history)
            for reply in c.session.handle_stream(message if isinstance(message, str) else ""):
                yield self.screen(c, history, new_cards(reply), reply.text, replace_last=True)

    def card_feedback(self, slot: int, kind: str, stars, history: list, cards: list[dict], key, uid=None) -> Screen:
        """A card's like / dislike / seen button or its rating; the card says what was done only when it was."""
        with self.conversation(key, uid) as c:
            session = c.session
            cards = cards or last_cards(session)  # after a restart the page's cards are gone; the list is not
            if not cards or not isinstance(slot, int) or not 1 <= slot <= len(cards):
                return self.screen(c, history, None, t("ask_first", session.lang))
            if kind == "rating" and stars in (None, "", RATE_PROMPT):
                return self.screen(c, history)
            m = _STARS.match(str(stars)) if kind == "rating" else None
            value = int(m.group(1)) if m else None  # anything else: the session's "1 to 5 stars" answer
            reply = session.feedback(slot, kind, value)
            cards = [dict(card) for card in cards]
            if reply.ok:
                cards[slot - 1]["status"] = card_status(kind, session.lang, f"{value:g}" if value else "")
            return self.screen(c, history, cards, reply.text)

    def critique(self, name: str, slot: int | None, history: list, n_items, diversity, novelty, use_llm,
                 key, uid=None) -> Screen:
        """A critique button: newer / older / lighter / darker under the chat, more_like / less_like on a card."""
        with self.conversation(key, uid) as c:
            apply_settings(c.session, n_items, diversity, novelty, use_llm)
            reply = c.session.critique(name, slot)
            said = (t(f"crit_{name}", c.session.lang) if name in CRITIQUE_BUTTONS else validate.bounded(name)) + (
                f" #{slot}" if slot else "")
            history = list(history or []) + [{"role": "user", "content": html.escape(said)}]
            return self.screen(c, history, new_cards(reply), reply.text)

    def remove_entry(self, label: str | None, history: list, key, uid=None) -> Screen:
        with self.conversation(key, uid) as c:
            _, entries = profile_view(c.session)
            if not label or label not in entries:
                return self.screen(c, history, None, t("choose_entry", c.session.lang))
            return self.screen(c, history, None, c.session.remove(entries[label]).text)

    def forget(self, history: list, key, uid=None) -> Screen:
        with self.conversation(key, uid) as c:
            reply = self._forget(c)
            return self.screen(c, [], [], reply.text)

    def link(self, link_token: str, history: list, key, uid=None) -> Screen:
        """The explicit step that brings a CLI user (`chatrec profile link --user ID`) to this browser."""
        with self.conversation(key, uid) as c:
            c, reply = self._link(c, link_token)
            return self.screen(c, list(history or []) + [{"role": "assistant", "content": reply["reply"]}])

    def onboard(self, genres: list[str], favourites: str, history: list, key, uid=None) -> Screen:
        with self.conversation(key, uid) as c:
            reply = c.session.onboard(genres or [], favourites or "")
            said = ", ".join(genres or []) + (f" — {favourites}" if favourites else "")
            history = list(history or []) + [{"role": "user",
                                              "content": html.escape(said or t("just_show", c.session.lang))}]
            return self.screen(c, history, new_cards(reply), reply.text)

    def export(self, key, uid=None) -> tuple[str, str, str]:
        """(key, user token, path of a JSON file with everything stored about this user). The file lives in this
        user's export folder, which "Forget me" deletes."""
        with self.conversation(key, uid) as c:
            folder = self.user_exports(c.session.user_id) / secrets.token_urlsafe(12)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "chatrec-profile.json"
            path.write_text(json.dumps(c.session.export(), indent=2, ensure_ascii=False))
            return c.token, c.user_token, str(path)

    def vote(self, liked: bool, history: list, key, uid=None) -> tuple[str, list[dict]]:
        """A thumbs up or down on a chat message: thanked, or asked what to change."""
        with self.conversation(key, uid) as c:
            note = t("vote_up" if liked else "vote_down", c.session.lang)
            return c.token, list(history or []) + [{"role": "assistant", "content": note}]

    # ------------------------------------------------------------ forgetting, linking, exports
    def _forget(self, c: Resolved) -> Reply:
        """Everything about this user, everywhere: the stored events, vector and conversations (the session), the
        in-memory state of every conversation of theirs this process holds, and their exported files."""
        reply = c.session.forget()
        if reply.ok:
            self.sessions.forget_user(c.session.user_id)
            shutil.rmtree(self.user_exports(c.session.user_id), ignore_errors=True)
        return reply

    def _link(self, c: Resolved, link_token) -> tuple[Resolved, dict]:
        user_id = self.sessions.signer.read_link(link_token)
        if user_id is None:
            return c, refusal(c.session, notice("link_rejected", c.session.lang))
        linked = self.sessions.link(c, user_id)
        return linked, refusal(linked.session, notice("linked", linked.session.lang, user=user_id), "chitchat", ok=True)

    def user_exports(self, user_id: str) -> Path:
        return export_folder(self.export_dir, user_id)

    # ------------------------------------------------------------ the screen after an event
    def screen(self, c: Resolved, history: list, cards: list[dict] | None = None,
               note: str | None = None, replace_last: bool = False) -> Screen:
        """The chat with `note` added (or replacing the "thinking" line), the profile, and `cards` when given."""
        session = c.session
        history = list(history or [])
        if note is not None:
            message = {"role": "assistant", "content": note}
            if replace_last and history and history[-1].get("role") == "assistant":
                history[-1] = message
            else:
                history.append(message)
        summary, entries = profile_view(session)
        texts = None if cards is None else [card_markdown(self.rec, n, c, session.lang) for n, c in enumerate(cards, 1)]
        return Screen(c.token, history, summary, list(entries), cards, texts, c.user_token)


def export_folder(export_dir: Path, user_id: str) -> Path:
    """The folder a user's exported files are written to (a hash of the id, so the name reveals nothing)."""
    return Path(export_dir) / hashlib.sha256(user_id.encode()).hexdigest()[:32]


def refusal(session: ChatSession, error, kind: str = "chitchat", ok: bool = False) -> dict:
    """The reply JSON for input refused at the boundary (or a notice): the contract's three keys, no items."""
    return Reply(str(error), Intent(kind).to_json(session.rec.catalog), ok=ok).to_json()


def apply_settings(session: ChatSession, n_items, diversity, novelty, use_llm) -> None:
    session.settings = Settings(n_items, diversity, novelty, bool(use_llm)).clamp()


def last_cards(session: ChatSession) -> list[dict]:
    """The cards of the conversation's last list, rebuilt from the catalog (reasons are not stored)."""
    items = [session.rec.catalog.get(i) for i in session.state.last_items]
    return [{"item_id": it.item_id, "title": it.title, "year": it.year, "genres": list(it.genres), "score": 0.0,
             "explanation": ""} for it in items if it is not None]


def new_cards(reply: Reply) -> list[dict] | None:
    """The cards a reply shows: its picks, or None when it has none (the cards on the page stay)."""
    return reply["items"] if reply.recs else None


def card_status(kind: str, lang: str, stars: str = "") -> str:
    """The line a card shows after feedback on it ("👍 You liked this", "★ You rated it 4/5")."""
    return t(f"status_{kind}", lang, stars=stars) if kind == "rating" else t(f"status_{kind}", lang)


def short(text: str, limit: int = 220) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def card_markdown(rec: Recommender, n: int, card: dict, lang: str = "en") -> str:
    """One card: title, year, genres, a short overview from the catalog, the reason, and what the user did."""
    item = rec.catalog.get(card["item_id"])
    title = html.escape(card["title"]) + (f" ({card['year']})" if card.get("year") else "")
    zh_name = rec.rules.zh_names.get(card["item_id"]) if lang == "zh" else None
    if zh_name:
        title = f"《{html.escape(zh_name)}》{title}"
    lines = [f"**{n}. {title}**", "*" + html.escape(" · ".join(genre_label(g, lang) for g in card.get("genres") or []))
             + "*" if card.get("genres") else ""]
    if item is not None and item.overview:
        lines.append(html.escape(short(item.overview)))
    lines.append(f"**{t('why', lang)}:** {html.escape(card.get('explanation') or '')}")
    if card.get("status"):
        lines.append(f"**{card['status']}**")
    return "\n\n".join(line for line in lines if line)


def profile_view(session: ChatSession) -> tuple[str, dict[str, str]]:
    """(markdown summary, removable entries: label -> item id) of what chatrec believes."""
    p, lang = session.profile_json(), session.lang

    def names(entries):
        return ", ".join(html.escape(e["title"]) for e in entries[:15]) or t("nothing_yet", lang)

    def head(key):
        return f"**{t(key, lang)}:** "
    lines = [head("p_liked") + names(p["liked"]), head("p_disliked") + names(p["disliked"]),
             head("p_seen") + names(p["seen"]),
             head("p_ratings") + (", ".join(f"{html.escape(r['title'])} {r['stars']:g}★" for r in p["ratings"][:15])
                                  or t("none_yet", lang)),
             head("p_genres") + (", ".join(genre_label(g, lang) for g in p["favourite_genres"])
                                 or t("not_known_yet", lang)),
             head("p_critiques") + (", ".join(html.escape(c) for c in p["recent_critiques"]) or t("none", lang))]
    entries = {}
    for kind in ("liked", "disliked", "seen"):
        for e in p[kind]:
            entries[f"{kind}: {e['title']}"] = e["item_id"]
    for r in p["ratings"]:
        entries.setdefault(f"rated {r['stars']:g}★: {r['title']}", r["item_id"])
    return "\n\n".join(lines), entries
