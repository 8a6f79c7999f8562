"""User profiles and feedback events, stored durably.

Every feedback event is appended to the `events` table and committed (SQLite WAL, synchronous=FULL)
before the caller acknowledges it; the profile is derived from the events, so it can always be
rebuilt. The profile vector is kept beside them and moved by the rule in `chatrec.profile.vector`.

The store is an interface (`ProfileStore`); `SQLiteStore` is the single-machine default.
"""
from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from chatrec.errors import StoreError

from chatrec.profile.events import CLEAR, CRITIQUE, DISLIKE, EVENT_KINDS, LIKE, RATING, SEEN, rating_kind


@dataclass
class Profile:
    user_id: str
    liked: list[str] = field(default_factory=list)
    disliked: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    ratings: dict[str, float] = field(default_factory=dict)
    critiques: list[str] = field(default_factory=list)  # most recent last
    vector: np.ndarray | None = None

    @property
    def excluded(self) -> set[str]:
        """Items never to recommend again: rejected, already seen, already liked or rated."""
        return set(self.disliked) | set(self.seen) | set(self.liked) | set(self.ratings)

    def to_dict(self) -> dict:
        return {
            "user_id": self.user_id,
            "liked": list(self.liked),
            "disliked": list(self.disliked),
            "seen": list(self.seen),
            "ratings": dict(self.ratings),
            "critiques": list(self.critiques),
            "has_vector": self.vector is not None,
        }


class ProfileStore(Protocol):
    def record(self, user_id: str, kind: str, item_id: str, value: float | None = None,
               at: float | None = None) -> int: ...
    def record_many(self, rows) -> int: ...
    def events_after(self, after_id: int = 0, kinds: tuple[str, ...] | None = None) -> list[dict]: ...
    def count_after(self, after_id: int = 0, kinds: tuple[str, ...] | None = None) -> int: ...
    def last_event_id(self) -> int: ...
    def load(self, user_id: str) -> Profile: ...
    def events(self, user_id: str) -> list[dict]: ...
    def save_vector(self, user_id: str, vector: np.ndarray | None) -> None: ...
    def export(self, user_id: str) -> dict: ...
    def forget(self, user_id: str) -> int: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value REAL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_user ON events(user_id, id);
CREATE TABLE IF NOT EXISTS profiles (
    user_id TEXT PRIMARY KEY,
    vector BLOB,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dialogues (
    conversation_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    state TEXT NOT NULL,
    rev TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS dialogues_user ON dialogues(user_id);
"""


class SQLiteStore:
    """One connection shared by all threads, writes serialised by a lock (no 'database is locked')."""

    _errors: tuple = (sqlite3.Error,)  # what the driver raises; PostgresStore swaps in psycopg's

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.executescript(_SCHEMA)
            self.conn.commit()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open the profile database {path}: {exc}. Point CHATREC_PROFILE_DB (or --profile-db) at a "
                "writable file; if the file is corrupt, move it aside (a new one is created) and keep it for recovery."
            ) from None
        self._lock = threading.Lock()

    def _write(self, sql: str, args: tuple):
        with self._lock:
            try:
                cur = self.conn.execute(sql, args)
                self.conn.commit()
                return cur
            except self._errors as exc:
                self.conn.rollback()
                raise StoreError(f"could not save to the profile database {self.path}: {exc}") from None

    def _read(self, sql: str, args: tuple = ()) -> list:
        """All rows of one query; a driver error (a corrupt page, an unreadable file, a lost server) becomes a
        `StoreError` that names the database and the commands that check and recover it."""
        with self._lock:
            try:
                return self.conn.execute(sql, args).fetchall()
            except self._errors as exc:
                try:
                    self.conn.rollback()
                except self._errors:
                    pass
                raise StoreError(unreadable(self.path, exc)) from None

    def record(self, user_id: str, kind: str, item_id: str, value: float | None = None,
               at: float | None = None) -> int:
        """Append one event; `at` (seconds) defaults to now (importers and replays pass the original time)."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown feedback kind {kind!r}; expected one of {EVENT_KINDS}")
        cur = self._write(
            "INSERT INTO events(user_id, item_id, kind, value, created_at) VALUES (?, ?, ?, ?, ?)",
            (user_id, str(item_id), kind, value, time.time() if at is None else float(at)),
        )
        return int(cur.lastrowid)

    def record_many(self, rows) -> int:
        """Append (user_id, kind, item_id, value, at) rows in one transaction (one fsync, not one per row:
        replaying thousands of ratings would otherwise take minutes); returns the last event id."""
        now = time.time()
        checked = []
        for user_id, kind, item_id, value, at in rows:
            if kind not in EVENT_KINDS:
                raise ValueError(f"unknown feedback kind {kind!r}; expected one of {EVENT_KINDS}")
            checked.append((user_id, str(item_id), kind, value, now if at is None else float(at)))
        with self._lock:
            try:
                self.conn.executemany(
                    "INSERT INTO events(user_id, item_id, kind, value, created_at) VALUES (?, ?, ?, ?, ?)", checked)
                self.conn.commit()
            except self._errors as exc:
                self.conn.rollback()
                raise StoreError(f"could not save to the profile database {self.path}: {exc}") from None
        return self.last_event_id()

    def _kinds_clause(self, kinds) -> tuple[str, tuple]:
        if not kinds:
            return "", ()
        return f" AND kind IN ({', '.join('?' * len(kinds))})", tuple(kinds)

    def events_after(self, after_id: int = 0, kinds: tuple[str, ...] | None = None) -> list[dict]:
        """Every user's events with id > `after_id`, oldest first (what continual training reads)."""
        clause, args = self._kinds_clause(kinds)
        rows = self._read(
            "SELECT id, user_id, item_id, kind, value, created_at FROM events WHERE id > ?" + clause + " ORDER BY id",
            (int(after_id), *args))
        return [dict(id=r[0], user_id=r[1], item_id=r[2], kind=r[3], value=r[4], created_at=r[5]) for r in rows]

    def count_after(self, after_id: int = 0, kinds: tuple[str, ...] | None = None) -> int:
        clause, args = self._kinds_clause(kinds)
        return int(self._read("SELECT COUNT(*) FROM events WHERE id > ?" + clause, (int(after_id), *args))[0][0])

    def last_event_id(self) -> int:
        """The newest event id ever handed out (AUTOINCREMENT: ids of forgotten events are never reused)."""
        rows = self._read("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
        return int(rows[0][0]) if rows else 0

    def events(self, user_id: str) -> list[dict]:
        rows = self._read("SELECT id, item_id, kind, value, created_at FROM events WHERE user_id = ? ORDER BY id",
                          (user_id,))
        return [dict(id=r[0], item_id=r[1], kind=r[2], value=r[3], created_at=r[4]) for r in rows]

    def load(self, user_id: str) -> Profile:
        profile = Profile(user_id)
        # The latest event about an item decides its state: a like after a dislike wins, and vice versa.
        state: dict[str, str] = {}
        for ev in self.events(user_id):
            item, kind = ev["item_id"], ev["kind"]
            if kind == CRITIQUE:
                profile.critiques = (profile.critiques + [item])[-10:]
            elif kind == CLEAR:
                state.pop(item, None)
                profile.ratings.pop(item, None)
            elif kind == RATING and ev["value"] is not None:
                profile.ratings[item] = float(ev["value"])
                if rating_kind(ev["value"]):
                    state[item] = rating_kind(ev["value"])
            elif kind in (LIKE, DISLIKE):
                state[item] = kind
            elif kind == SEEN and item not in state:
                state[item] = SEEN
        for item, kind in state.items():
            {LIKE: profile.liked, DISLIKE: profile.disliked, SEEN: profile.seen}[kind].append(item)
        rows = self._read("SELECT vector FROM profiles WHERE user_id = ?", (user_id,))
        if rows and rows[0][0] is not None:
            profile.vector = np.frombuffer(rows[0][0], dtype=np.float32).copy()
        return profile

    def save_vector(self, user_id: str, vector: np.ndarray | None) -> None:
        blob = None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()
        self._write(
            "INSERT INTO profiles(user_id, vector, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET vector = excluded.vector, updated_at = excluded.updated_at",
            (user_id, blob, time.time()),
        )

    def export(self, user_id: str) -> dict:
        data = self.load(user_id).to_dict()
        data["events"] = self.events(user_id)
        return data

    def forget(self, user_id: str) -> int:
        with self._lock:
            try:
                n = self.conn.execute("DELETE FROM events WHERE user_id = ?", (user_id,)).rowcount
                self.conn.execute("DELETE FROM profiles WHERE user_id = ?", (user_id,))
                self.conn.execute("DELETE FROM dialogues WHERE user_id = ?", (user_id,))
                self.conn.commit()
            except self._errors as exc:
                self.conn.rollback()
                raise StoreError(f"could not delete from the profile database {self.path}: {exc}") from None
        return n

    # ------------------------------------------------------------ dialogue state (chatrec.chat.state), per conversation
    def save_dialogue(self, conversation_id: str, user_id: str, state: dict) -> str:
        """Store a conversation's dialogue state (JSON), so any app replica can serve its next turn; returns the
        new revision (a replica holding an older one reloads)."""
        rev = secrets.token_hex(8)
        self._write(
            "INSERT INTO dialogues(conversation_id, user_id, state, rev, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(conversation_id) DO UPDATE SET user_id = excluded.user_id, state = excluded.state, "
            "rev = excluded.rev, updated_at = excluded.updated_at",
            (conversation_id, user_id, json.dumps(state, ensure_ascii=False), rev, time.time()))
        return rev

    def load_dialogue(self, conversation_id: str) -> tuple[str, dict, str] | None:
        """(user id, state, revision) of a stored conversation, or None."""
        rows = self._read("SELECT user_id, state, rev FROM dialogues WHERE conversation_id = ?", (conversation_id,))
        if not rows:
            return None
        try:
            return rows[0][0], json.loads(rows[0][1]), rows[0][2]
        except ValueError:
            return None  # a damaged row: the conversation starts afresh (the profile is kept)

    def dialogue_rev(self, conversation_id: str) -> str | None:
        rows = self._read("SELECT rev FROM dialogues WHERE conversation_id = ?", (conversation_id,))
        return rows[0][0] if rows else None

    def prune_dialogues(self, max_age_s: float) -> int:
        """Delete conversations untouched for `max_age_s` seconds (the profile stays); returns how many."""
        return self._write("DELETE FROM dialogues WHERE updated_at < ?", (time.time() - max_age_s,)).rowcount

    def count_dialogues(self, user_id: str) -> int:
        return int(self._read("SELECT COUNT(*) FROM dialogues WHERE user_id = ?", (user_id,))[0][0])

    def check(self) -> list[str]:
        """Problems found reading the whole database (empty: healthy)."""
        problems = []
        if isinstance(self.conn, sqlite3.Connection):
            try:
                problems += [r[0] for r in self._read("PRAGMA integrity_check(10)") if r[0] != "ok"]
            except StoreError as exc:
                problems.append(str(exc))
        for table in ("events", "profiles", "dialogues"):
            try:
                self._read(f"SELECT * FROM {table}")
            except StoreError as exc:
                problems.append(f"table {table}: {exc}")
        return problems

    def close(self) -> None:
        with self._lock:
            self.conn.close()


_PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id BIGSERIAL PRIMARY KEY,
    user_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value DOUBLE PRECISION,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS events_user ON events(user_id, id);
CREATE TABLE IF NOT EXISTS profiles (
    user_id TEXT PRIMARY KEY,
    vector BYTEA,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS dialogues (
    conversation_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    state TEXT NOT NULL,
    rev TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS dialogues_user ON dialogues(user_id);
"""


class _Rows:
    """A fetched result: reads on PostgreSQL are fetched at once and their transaction ended, so no
    connection sits "idle in transaction" between chat turns."""

    def __init__(self, rows, rowcount):
        self._rows, self.rowcount = rows, rowcount

    def fetchone(self):
        return self._rows[0] if self._rows else None

    def fetchall(self):
        return self._rows


class _PGConnection:
    """The few sqlite3-connection verbs SQLiteStore uses, on a psycopg connection (`?` becomes `%s`)."""

    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql: str, args: tuple = ()):
        cur = self.conn.execute(sql.replace("?", "%s"), args)
        if sql.lstrip().upper().startswith("SELECT"):
            rows = cur.fetchall()
            self.conn.commit()
            return _Rows(rows, cur.rowcount)
        return cur

    def executemany(self, sql: str, rows) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), rows)

    def executescript(self, script: str) -> None:
        self.conn.execute(script)

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


class PostgresStore(SQLiteStore):
    """The same store on a PostgreSQL server (`postgresql://user@host:5432/db`): the scale-out path, where
    several app processes share one profile database. Needs `pip install "psycopg[binary]"`."""

    def __init__(self, url: str):
        try:
            import psycopg
        except ImportError:
            raise StoreError(f"profile store {_redact(url)}: PostgreSQL needs psycopg; "
                             "pip install 'psycopg[binary]'") from None
        self._errors = (psycopg.Error,)
        self.path = _redact(url)
        try:
            self.conn = _PGConnection(psycopg.connect(url, connect_timeout=10))
            self.conn.executescript(_PG_SCHEMA)
            self.conn.commit()
        except psycopg.Error as exc:
            raise StoreError(f"cannot open the profile database {self.path}: {str(exc).strip()}. Check that the "
                             "server runs and CHATREC_PROFILE_DB names it (postgresql://user@host:port/db).") from None
        self._lock = threading.Lock()

    def record(self, user_id: str, kind: str, item_id: str, value: float | None = None,
               at: float | None = None) -> int:
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown feedback kind {kind!r}; expected one of {EVENT_KINDS}")
        cur = self._write(
            "INSERT INTO events(user_id, item_id, kind, value, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            (user_id, str(item_id), kind, value, time.time() if at is None else float(at)),
        )
        return int(cur.fetchone()[0])

    def last_event_id(self) -> int:
        with self._lock:
            last, called = self.conn.execute("SELECT last_value, is_called FROM events_id_seq").fetchone()
        return int(last) if called else 0


def unreadable(where, exc) -> str:
    return (f"the profile database {where} cannot be read: {str(exc).strip()}. Check it with `chatrec profile check` "
            "and rebuild what can be saved with `chatrec profile recover` (the damaged file is kept).")


def _redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def open_store(url_or_path: str) -> ProfileStore:
    """A path (or sqlite:///path) opens SQLite (the default, one machine); postgresql://… a server database."""
    if url_or_path.startswith("sqlite:///"):
        url_or_path = url_or_path[len("sqlite:///"):]
    elif url_or_path.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url_or_path)
    elif "://" in url_or_path:
        raise StoreError(f"profile store {_redact(url_or_path)}: use a file path, sqlite:///path or "
                         "postgresql://user@host:port/db")
    return SQLiteStore(url_or_path)

