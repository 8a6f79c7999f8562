"""The web app's live sessions: one `ChatSession` per browser tab (or `gradio_client.Client`), reached through an
opaque key the page holds in `gr.State`, and the secret that lets a returning browser keep its user id.

Nothing here imports Gradio: the registry is plain Python, used by `chatrec.app.handlers`.
"""
from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from pathlib import Path

from chatrec.chat.recommender import Recommender
from chatrec.chat.session import ChatSession
from chatrec.config import Config
from chatrec.errors import ChatrecError


class SessionRegistry:
    """Sessions by opaque key, least recently used dropped past `capacity` (their profiles stay stored)."""

    def __init__(self, rec: Recommender, capacity: int = 5000):
        self.rec = rec
        self.capacity = capacity
        self._sessions: OrderedDict[str, ChatSession] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str | None, user_id: str | None = None) -> tuple[str, ChatSession]:
        """The session behind `key`; an unknown or empty key starts a new one (for `user_id` when that is a valid
        id, else for a fresh random user) under a new key."""
        with self._lock:
            if key and key in self._sessions:
                self._sessions.move_to_end(key)
                return key, self._sessions[key]
            key = secrets.token_urlsafe(16)
            try:
                session = self.rec.session(user_id)
            except ChatrecError:  # a tampered id from the browser: start a fresh user
                session = self.rec.session()
            self._sessions[key] = session
            while len(self._sessions) > self.capacity:
                self._sessions.popitem(last=False)
            return key, session

    def adopt(self, key: str, user_id: str) -> tuple[str, ChatSession | None]:
        """Point `key` at the stored user `user_id`; None when the id is not a valid one (then nothing changes)."""
        try:
            session = self.rec.session(user_id)
        except ChatrecError:
            return key, None
        with self._lock:
            self._sessions[key] = session
            self._sessions.move_to_end(key)
        return key, session


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
