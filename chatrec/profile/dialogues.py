"""Where each conversation's dialogue state lives, so any app replica can serve its next turn.

`open_dialogues(config, store)`: by default the profile database itself (its `dialogues` table, SQLite or
PostgreSQL: `ProfileStore.save_dialogue / load_dialogue`); `redis://host:port/db` a Redis server
(`RedisDialogues`, needs `pip install redis`); `memory` none (this process only, sticky sessions needed). Every
backend has the same four verbs and drops a user's conversations when the user is forgotten.

Redis layout: `chatrec:dialogue:<conversation id>` is a hash {user, state (JSON), rev}, expiring after
`ttl_s` of inactivity; `chatrec:user-dialogues:<user id>` the set of that user's conversation ids.
"""
from __future__ import annotations

import json
import re
import secrets
from typing import Protocol

from chatrec.config import Config
from chatrec.errors import StoreError


class DialogueStore(Protocol):
    def save_dialogue(self, conversation_id: str, user_id: str, state: dict) -> str: ...
    def load_dialogue(self, conversation_id: str) -> tuple[str, dict, str] | None: ...
    def count_dialogues(self, user_id: str) -> int: ...
    def forget_dialogues(self, user_id: str) -> int: ...
    def prune(self, max_age_s: float) -> int: ...


class RedisDialogues:
    PREFIX = "chatrec:dialogue:"
    USER = "chatrec:user-dialogues:"

    def __init__(self, url: str, ttl_s: int = 30 * 24 * 3600):
        try:
            import redis
        except ImportError:
            raise StoreError(f"dialogue store {_redact(url)}: Redis needs the redis package; pip install redis") \
                from None
        self._errors = (redis.RedisError, OSError)
        self.url, self.ttl_s = _redact(url), ttl_s
        try:
            self.r = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
            self.r.ping()
        except self._errors as exc:
            raise StoreError(f"cannot reach the dialogue store {self.url}: {exc}. Check that the Redis server runs "
                             "and CHATREC_DIALOGUE_STORE names it (redis://host:port/db).") from None

    def _do(self, what: str, fn):
        try:
            return fn()
        except self._errors as exc:
            raise StoreError(f"the dialogue store {self.url} failed to {what}: {exc}") from None

    def save_dialogue(self, conversation_id: str, user_id: str, state: dict) -> str:
        rev = secrets.token_hex(8)
        key = self.PREFIX + conversation_id

        def run():
            pipe = self.r.pipeline(transaction=True)
            pipe.hset(key, mapping={"user": user_id, "state": json.dumps(state, ensure_ascii=False), "rev": rev})
            pipe.expire(key, self.ttl_s)
            pipe.sadd(self.USER + user_id, conversation_id)
            pipe.expire(self.USER + user_id, self.ttl_s)
            pipe.execute()
        self._do("save", run)
        return rev

    def load_dialogue(self, conversation_id: str) -> tuple[str, dict, str] | None:
        row = self._do("read", lambda: self.r.hgetall(self.PREFIX + conversation_id))
        if not row:
            return None
        try:
            return row[b"user"].decode(), json.loads(row[b"state"]), row[b"rev"].decode()
        except (KeyError, ValueError):
            return None

    def count_dialogues(self, user_id: str) -> int:
        ids = self._do("read", lambda: self.r.smembers(self.USER + user_id))
        return sum(1 for c in ids if self._do("read", lambda c=c: self.r.exists(self.PREFIX + c.decode())))

    def prune(self, max_age_s: float) -> int:
        return 0  # keys expire by themselves (`ttl_s` after their last save)

    def forget_dialogues(self, user_id: str) -> int:
        def run():
            ids = [c.decode() for c in self.r.smembers(self.USER + user_id)]
            n = self.r.delete(*[self.PREFIX + c for c in ids]) if ids else 0
            self.r.delete(self.USER + user_id)
            return n
        return self._do("delete", run)


class _InProfileStore:
    """The profile database's own `dialogues` table (its forget already drops them with the profile)."""

    def __init__(self, store):
        self.store = store

    def save_dialogue(self, conversation_id, user_id, state):
        return self.store.save_dialogue(conversation_id, user_id, state)

    def load_dialogue(self, conversation_id):
        return self.store.load_dialogue(conversation_id)

    def count_dialogues(self, user_id):
        return self.store.count_dialogues(user_id)

    def forget_dialogues(self, user_id):
        return 0  # ProfileStore.forget deleted them in the same transaction as the events

    def prune(self, max_age_s):
        return self.store.prune_dialogues(max_age_s)


def _redact(url: str) -> str:
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


def open_dialogues(config: Config, store) -> DialogueStore | None:
    """The configured dialogue store; None for "memory"."""
    where = config.dialogue_store
    if where == "memory":
        return None
    if where.startswith(("redis://", "rediss://", "unix://")):
        return RedisDialogues(where)
    if where:
        raise StoreError(f"dialogue store {_redact(where)}: use empty (the profile database), memory, or "
                         "redis://host:port/db")
    return _InProfileStore(store)
