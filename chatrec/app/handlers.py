"""What each web event and named API endpoint does: small methods over `ChatSession` verbs.

`Handlers` holds the recommender and the `SessionRegistry`. Every method takes plain values (the page's inputs
and the client's session key) and returns plain values: the named API endpoints the reply's JSON object and
the key; UI events a `Screen` (or `Start`), which `chatrec.app.web` turns into Gradio updates. Nothing here
imports Gradio, so each event can be tested by calling it.

Decisions read the reply's fields: `Reply.ok` (did the action happen), `Reply.recs` (is there a new list),
never its words.
"""
from __future__ import annotations

import html
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from chatrec.app.sessions import SessionRegistry
from chatrec.chat.recommender import Recommender, Settings
from chatrec.chat.render import Reply
from chatrec.chat.session import ChatSession
from chatrec.lang import from_accept_language, genre_label, t

MAX_CARDS = 10  # card slots on the page
RATE_PROMPT = "Rate…"  # the rating dropdown's value before a choice (its label is translated)
CRITIQUE_BUTTONS = ("newer", "older", "lighter", "darker", "more_like", "less_like")  # each has a crit_* string


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


@dataclass
class Start:
    """What opening the page (or the browser's stored id arriving) changes; None leaves that part as it is."""
    key: str
    uid: str | None = None  # the user id for the browser to store
    history: list[dict] | None = None
    profile: str | None = None
    entries: list[str] | None = None


class Handlers:
    def __init__(self, rec: Recommender, sessions: SessionRegistry | None = None):
        self.rec = rec
        self.sessions = sessions or SessionRegistry(rec)

    # ------------------------------------------------------------ named API endpoints: (reply JSON, key)
    # (no docstrings: Gradio would show them as the endpoints' descriptions; the module docstring of web lists them)
    def api_chat(self, message: str, key: str | None):
        key, session = self.sessions.get(key)
        return session.handle(message if isinstance(message, str) else "").to_json(), key

    def api_feedback(self, position, kind: str, key: str | None):
        key, session = self.sessions.get(key)
        return session.feedback(as_int(position), str(kind).lower().strip()).to_json(), key

    def api_rate(self, position, stars, key: str | None):
        key, session = self.sessions.get(key)
        try:
            value = float(stars)
        except (TypeError, ValueError):
            value = None
        return session.feedback(as_int(position), "rating", value).to_json(), key

    def api_critique(self, name: str, position, key: str | None):
        key, session = self.sessions.get(key)
        return session.critique(str(name), as_int(position) if position not in (None, "") else None).to_json(), key

    def api_profile(self, key: str | None):
        key, session = self.sessions.get(key)
        return session.profile_json(), key

    def api_forget(self, key: str | None):
        key, session = self.sessions.get(key)
        return session.forget().to_json(), key

    # ------------------------------------------------------------ opening the page
    def load(self, saved_uid: str | None, key: str | None, accept_language: str | None = None) -> Start:
        """The page opened: this tab's session (the stored user's, when the browser already sent its id) and a
        greeting in the browser's language, until the person writes in one."""
        key, session = self.sessions.get(key, saved_uid or None)
        if not session.state.turns:
            session.lang = from_accept_language(accept_language)
        summary, entries = profile_view(session)
        greeting = t("welcome_back" if entries else "greeting", session.lang)
        return Start(key, session.user_id, [{"role": "assistant", "content": greeting}], summary, list(entries))

    def uid_changed(self, saved_uid: str | None, key: str | None) -> Start:
        """The browser's stored id can arrive after `load` ran (its component mounts lazily; a slow first visit
        loses that race). Adopt the stored user then, unless this tab already started a profile of its own;
        with nothing stored, store this session's id."""
        key, session = self.sessions.get(key, saved_uid or None)
        if not saved_uid:
            return Start(key, session.user_id)
        if saved_uid == session.user_id:
            return Start(key)
        blank = not (session.profile.excluded or session.profile.critiques or session.state.turns)
        if blank:
            key, adopted = self.sessions.adopt(key, saved_uid)
            if adopted is not None:
                adopted.lang = session.lang
                summary, entries = profile_view(adopted)
                greeting = [{"role": "assistant", "content": t("welcome_back", adopted.lang)}] if entries else None
                return Start(key, None, greeting, summary, list(entries))
        return Start(key, session.user_id)

    # ------------------------------------------------------------ UI events: a Screen each
    def respond(self, message: str, history: list, n_items, diversity, novelty, use_llm, key: str | None):
        """Streams: the user's message and a "thinking" line at once, then the list (template reasons), then
        each item's LLM-written reason as it is ready."""
        key, session = self.sessions.get(key)
        apply_settings(session, n_items, diversity, novelty, use_llm)
        history = list(history or []) + [{"role": "user", "content": html.escape(message or "")},
                                         {"role": "assistant", "content": "…"}]
        yield self.screen(key, session, history)
        for reply in session.handle_stream(message or ""):
            yield self.screen(key, session, history, new_cards(reply), reply.text, replace_last=True)

    def card_feedback(self, slot: int, kind: str, stars, history: list, cards: list[dict], key: str | None) -> Screen:
        """A card's like / dislike / seen button or its rating; the card says what was done only when it was."""
        key, session = self.sessions.get(key)
        if not cards or slot > len(cards):
            return self.screen(key, session, history, None, t("ask_first", session.lang))
        if kind == "rating" and stars in (None, "", RATE_PROMPT):
            return self.screen(key, session, history)
        value = float(str(stars).rstrip("★")) if kind == "rating" else None
        reply = session.feedback(slot, kind, value)
        cards = [dict(c) for c in cards]
        if reply.ok:
            cards[slot - 1]["status"] = card_status(kind, session.lang, f"{value:g}" if value else "")
        return self.screen(key, session, history, cards, reply.text)

    def critique(self, name: str, slot: int | None, history: list, n_items, diversity, novelty, use_llm,
                 key: str | None) -> Screen:
        """A critique button: newer / older / lighter / darker under the chat, more_like / less_like on a card."""
        key, session = self.sessions.get(key)
        apply_settings(session, n_items, diversity, novelty, use_llm)
        reply = session.critique(name, slot)
        said = (t(f"crit_{name}", session.lang) if name in CRITIQUE_BUTTONS else name) + (f" #{slot}" if slot else "")
        history = list(history or []) + [{"role": "user", "content": said}]
        return self.screen(key, session, history, new_cards(reply), reply.text)

    def remove_entry(self, label: str | None, history: list, key: str | None) -> Screen:
        key, session = self.sessions.get(key)
        _, entries = profile_view(session)
        if not label or label not in entries:
            return self.screen(key, session, history, None, t("choose_entry", session.lang))
        return self.screen(key, session, history, None, session.remove(entries[label]).text)

    def forget(self, history: list, key: str | None) -> Screen:
        key, session = self.sessions.get(key)
        reply = session.forget()
        return self.screen(key, session, [], [], reply.text)

    def onboard(self, genres: list[str], favourites: str, history: list, key: str | None) -> Screen:
        key, session = self.sessions.get(key)
        reply = session.onboard(genres or [], favourites or "")
        said = ", ".join(genres or []) + (f" — {favourites}" if favourites else "")
        history = list(history or []) + [{"role": "user", "content": html.escape(said or t("just_show", session.lang))}]
        return self.screen(key, session, history, new_cards(reply), reply.text)

    def export(self, key: str | None) -> tuple[str, str]:
        """(key, path of a JSON file with everything stored about this user)."""
        key, session = self.sessions.get(key)
        path = Path(tempfile.mkdtemp(prefix="chatrec-export-")) / "chatrec-profile.json"
        path.write_text(json.dumps(session.export(), indent=2, ensure_ascii=False))
        return key, str(path)

    def vote(self, liked: bool, history: list, key: str | None) -> tuple[str, list[dict]]:
        """A thumbs up or down on a chat message: thanked, or asked what to change."""
        key, session = self.sessions.get(key)
        note = t("vote_up" if liked else "vote_down", session.lang)
        return key, list(history or []) + [{"role": "assistant", "content": note}]

    # ------------------------------------------------------------ the screen after an event
    def screen(self, key: str, session: ChatSession, history: list, cards: list[dict] | None = None,
               note: str | None = None, replace_last: bool = False) -> Screen:
        """The chat with `note` added (or replacing the "thinking" line), the profile, and `cards` when given."""
        history = list(history or [])
        if note is not None:
            message = {"role": "assistant", "content": note}
            if replace_last and history and history[-1].get("role") == "assistant":
                history[-1] = message
            else:
                history.append(message)
        summary, entries = profile_view(session)
        texts = None if cards is None else [card_markdown(self.rec, n, c, session.lang) for n, c in enumerate(cards, 1)]
        return Screen(key, history, summary, list(entries), cards, texts)


def apply_settings(session: ChatSession, n_items, diversity, novelty, use_llm) -> None:
    session.settings = Settings(n_items, diversity, novelty, bool(use_llm)).clamp()


def new_cards(reply: Reply) -> list[dict] | None:
    """The cards a reply shows: its picks, or None when it has none (the cards on the page stay)."""
    return reply["items"] if reply.recs else None


def as_int(value) -> int:
    """An API position as an int; anything unreadable becomes -1, which the session answers as out of range."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


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
