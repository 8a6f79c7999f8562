"""The web app's live conversations, found by signed ids (`chatrec.app.identity`), never by anything a client
could choose, and kept where every replica can reach them.

A request carries a conversation token (the tab's hidden field, or an API client's session state) and, from the
page, the browser's stored user token. `SessionRegistry.resolve` verifies them: a valid conversation token gives
that user's conversation, from this process's cache or, after a restart or on another replica, from the dialogue
store; a valid user token alone a new conversation of that user; anything else a new anonymous user, with a
notice when something was sent but did not verify. After each event `save` writes the dialogue state (the
constraints, the shown items, the last list, the conversation's film memory, the language) to the dialogue store:
the `dialogues` table of the profile database (SQLite or PostgreSQL) or Redis (`Config.dialogue_store`,
chatrec.profile.dialogues), so any replica can answer the next turn.

Nothing here imports Gradio: the registry is plain Python, used by `chatrec.app.handlers`.
"""
from __future__ import annotations

import json
import logging
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from chatrec.app.identity import Signer, new_conversation, new_web_user
from chatrec.chat.recommender import Recommender
from chatrec.chat.session import ChatSession
from chatrec.chat.state import DialogueState, state_from_dict, state_to_dict
from chatrec.config import Config
from chatrec.errors import ChatrecError
from chatrec.profile.dialogues import open_dialogues

log = logging.getLogger("chatrec")
KEEP_DIALOGUES_S = 90 * 24 * 3600  # a conversation's stored state is dropped after 90 days without a turn
EMPTY_STATE = state_to_dict(DialogueState())

NOTICES = {
    "id_rejected": {"en": "I could not verify the id this page sent (it was missing its signature, changed, or from "
                          "elsewhere), so you continue as a new anonymous user. No other profile was read or changed.",
                    "zh": "无法验证这个页面发来的身份（签名缺失、被改动或来自别处），所以你将以新的匿名用户继续。"
                          "没有读取或改动任何其他人的档案。"},
    "link_rejected": {"en": "That link is not valid (changed, expired, or not from this server); nothing changed.",
                      "zh": "这个链接无效（被改动、已过期或不是本服务器签发的），什么都没有改变。"},
    "linked": {"en": "Linked: this browser now uses the profile of {user}.", "zh": "已关联：这个浏览器现在使用 {user} 的档案。"},
}


def notice(name: str, lang: str = "en", **kw) -> str:
    table = NOTICES[name]
    return (table.get(lang) or table["en"]).format(**kw)


@dataclass
class Live:
    """One conversation held by this process: the session, its id, and the dialogue-store revision it has."""
    session: ChatSession
    conversation_id: str
    rev: str | None = None
    saved: str = ""  # the JSON last written, so an event that changed nothing writes nothing


@dataclass
class Resolved:
    token: str  # the signed conversation id to hand back
    user_token: str  # the signed user id for the browser to keep
    live: Live
    rejected: bool = False  # something was sent that did not verify

    @property
    def session(self) -> ChatSession:
        return self.live.session


class SessionRegistry:
    """Conversations by conversation id, least recently used dropped past `capacity` (what they established stays
    in the dialogue store, their profiles in the profile store)."""

    def __init__(self, rec: Recommender, capacity: int = 5000, signer: Signer | None = None):
        self.rec = rec
        self.capacity = capacity
        self.signer = signer or Signer.from_config(rec.config)
        self.dialogues = open_dialogues(rec.config, rec.store)  # None: this process only ("memory")
        self.shared = self.dialogues is not None
        if self.shared:
            try:  # conversations nobody continued for a long time go (their profiles stay)
                self.dialogues.prune(KEEP_DIALOGUES_S)
            except ChatrecError as exc:
                log.warning("could not prune old conversations: %s", exc)
        self._live: OrderedDict[str, Live] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------ finding the conversation
    def resolve(self, token=None, user_token=None) -> Resolved:
        """The conversation `token` names (verified), else a new one for the user `user_token` names (verified),
        else a new one for a new anonymous user. `rejected` says a token was sent that did not verify."""
        ident = self.signer.read_web(token)
        rejected = bool(token) and (ident is None or ident.conversation_id is None)
        if ident is not None and ident.conversation_id is not None:
            live = self._conversation(ident.user_id, ident.conversation_id)
        else:
            user = self.signer.read_web(user_token)
            rejected = rejected or (bool(user_token) and (user is None or user.conversation_id is not None))
            uid = user.user_id if user is not None and user.conversation_id is None else new_web_user()
            live = self._conversation(uid, new_conversation())
        uid, cid = live.session.user_id, live.conversation_id
        return Resolved(self.signer.web_conversation(uid, cid), self.signer.web_user(uid), live, rejected)

    def _conversation(self, user_id: str, conversation_id: str) -> Live:
        with self._lock:
            live = self._live.get(conversation_id)
            if live is not None and live.session.user_id == user_id:
                self._live.move_to_end(conversation_id)
            else:
                live = Live(self.rec.session(user_id), conversation_id)
                self._live[conversation_id] = live
                while len(self._live) > self.capacity:
                    self._live.popitem(last=False)
        self._sync(live)
        return live

    def _sync(self, live: Live) -> None:
        """Bring a cached conversation up to date with the dialogue store: another replica may have answered its
        last turn, or the person may have asked to be forgotten elsewhere. A store that cannot be read is said
        (once per fault) and this process's copy carries on."""
        if not self.shared:
            return
        try:
            self._load(live)
        except ChatrecError as exc:
            log.warning("dialogue store unavailable, keeping this process's state: %s", exc)
            if live.session.store_fault != str(exc):
                live.session.store_fault = live.session.notice = str(exc)

    def _load(self, live: Live) -> None:
        session = live.session
        stored = self.dialogues.load_dialogue(live.conversation_id)
        if stored is None:
            if live.rev is not None:  # it was stored, and is gone: forgotten elsewhere
                self._reset(live)
            return
        user_id, data, rev = stored
        if rev == live.rev or user_id != session.user_id:
            return
        try:
            session.state = state_from_dict(data.get("state"))
        except (TypeError, ValueError, AttributeError):
            session.state = DialogueState()
        session.lang = data.get("lang") if data.get("lang") in ("en", "zh") else session.lang
        live.rev, live.saved = rev, ""
        session.profile = self.rec.store.load(session.user_id)

    def _reset(self, live: Live) -> None:
        session = live.session
        session.state = DialogueState()
        try:
            session.profile = self.rec.store.load(session.user_id)
        except ChatrecError:
            pass
        live.rev, live.saved = None, ""

    # ------------------------------------------------------------ after an event
    def save(self, live: Live) -> None:
        """Write the conversation's dialogue state to the dialogue store when it changed."""
        if not self.shared:
            return
        data = {"state": state_to_dict(live.session.state), "lang": live.session.lang}
        if live.rev is None and data["state"] == EMPTY_STATE:
            return  # a page opened, nothing said yet: no row
        text = json.dumps(data, sort_keys=True, ensure_ascii=False)
        if text == live.saved:
            return
        try:
            live.rev = self.dialogues.save_dialogue(live.conversation_id, live.session.user_id, data)
            live.saved = text
        except ChatrecError as exc:  # the turn was answered; its state stays in this process
            log.warning("could not store the dialogue state: %s", exc)

    def forget_user(self, user_id: str) -> int:
        """Every conversation of `user_id` this process holds drops what it established (the store's copies
        went with the profile); returns how many there were."""
        if self.shared:
            self.dialogues.forget_dialogues(user_id)  # Redis; the profile database dropped its own already
        with self._lock:
            lives = [live for live in self._live.values() if live.session.user_id == user_id]
        for live in lives:
            self._reset(live)
        return len(lives)

    def link(self, resolved: Resolved, user_id: str) -> Resolved:
        """Switch this conversation to the (CLI) user a verified link token named: a new conversation of theirs."""
        live = self._conversation(user_id, new_conversation())
        live.session.lang = resolved.session.lang
        return Resolved(self.signer.web_conversation(user_id, live.conversation_id), self.signer.web_user(user_id),
                        live)


def browser_secret(config: Config) -> str:
    """The key `gr.BrowserState` encrypts the stored user id with: `config.browser_secret` when set, else one
    kept beside the profile database, so a browser's id survives app restarts."""
    if config.browser_secret:
        return config.browser_secret
    path = Path(config.profile_db).parent / "browser_secret"
    try:
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(32)
        path.write_text(value)
        path.chmod(0o600)
        return value
    except OSError:
        return secrets.token_urlsafe(32)  # ids then last until the app restarts
