"""Rebuilding a damaged SQLite profile database from what can still be read (`chatrec profile recover`).

The damaged file is opened read-only and never changed. Events are read in id ranges; a range that touches a
corrupt page is read again one id at a time, so one bad page costs only the rows stored on it. Readable profile
vectors and dialogue states are copied too. Everything goes into a new file, which the operator then puts in place
of the old one (the command prints how).
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from chatrec.errors import StoreError
from chatrec.profile.store import SQLiteStore

CHUNK = 256


@dataclass
class Recovery:
    source: str
    target: str
    events: int = 0
    lost_ids: list[int] = field(default_factory=list)  # event ids whose rows raised an error when read
    missing_ids: list[int] = field(default_factory=list)  # ids that did not come back (damaged, or forgotten before)
    vectors: int = 0
    vectors_lost: bool = False
    dialogues: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lost = f"{len(self.lost_ids)} event ids unreadable" if self.lost_ids else "no read errors"
        if self.missing_ids:
            lost += (f", {len(self.missing_ids)} ids below the highest missing (on damaged pages, or deleted earlier "
                     "by a forget)")
        vec = "profile vectors unreadable (each user's vector restarts at their next like)" if self.vectors_lost \
            else f"{self.vectors} profile vectors"
        return (f"recovered {self.events} events ({lost}), {vec}, {self.dialogues} conversations "
                f"from {self.source} into {self.target}")


def _rows(conn, sql: str, args: tuple = ()):
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.Error:
        return None


def _upper_bound(conn) -> int | None:
    for sql in ("SELECT max(id) FROM events", "SELECT seq FROM sqlite_sequence WHERE name = 'events'"):
        rows = _rows(conn, sql)
        if rows and rows[0][0] is not None:
            return int(rows[0][0])
    return None


def read_events(conn, rec: Recovery) -> list[tuple]:
    """Every readable event row (id, user_id, item_id, kind, value, created_at), oldest first: read in id ranges,
    a range that fails one id at a time. A damaged page can also make SQLite return fewer rows without an error,
    so the ids below the highest one that did not come back are listed too (`missing_ids`: lost, or deleted
    earlier by a forget; the log cannot tell which)."""
    cols = "id, user_id, item_id, kind, value, created_at"
    top = _upper_bound(conn)
    out, start, empty_chunks = [], 1, 0
    while (top is not None and start <= top) or (top is None and empty_chunks < 40):
        end = start + CHUNK - 1
        chunk = _rows(conn, f"SELECT {cols} FROM events WHERE id BETWEEN ? AND ? ORDER BY id", (start, end))
        if chunk is None:  # a corrupt page in this range: one id at a time
            chunk = []
            for i in range(start, end + 1):
                one = _rows(conn, f"SELECT {cols} FROM events WHERE id = ?", (i,))
                if one is None:
                    rec.lost_ids.append(i)
                else:
                    chunk += one
        empty_chunks = 0 if chunk else empty_chunks + 1
        out += chunk
        start = end + 1
    if top is None:
        rec.problems.append("the highest event id could not be read; ids were probed until 10,240 in a row were "
                            "missing")
    got = {r[0] for r in out}
    last = max([top or 0, *got]) if got or top else 0
    rec.missing_ids = [i for i in range(1, last + 1) if i not in got and i not in set(rec.lost_ids)]
    return out


def recover(source: str | Path, target: str | Path | None = None) -> Recovery:
    source = Path(source)
    if not source.is_file():
        raise StoreError(f"profile database {source} not found")
    target = Path(target) if target else source.with_name(
        f"{source.stem}.recovered-{time.strftime('%Y%m%d-%H%M%S')}{source.suffix}")
    if target.exists():
        raise StoreError(f"{target} already exists; choose another --out")
    rec = Recovery(str(source), str(target))
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {source} even read-only: {exc}") from None
    try:
        events = read_events(conn, rec)
        vectors = _rows(conn, "SELECT user_id, vector, updated_at FROM profiles")
        rec.vectors_lost = vectors is None
        dialogues = _rows(conn, "SELECT conversation_id, user_id, state, rev, updated_at FROM dialogues") or []
    finally:
        conn.close()
    out = SQLiteStore(target)
    with out._lock:
        out.conn.executemany("INSERT INTO events(id, user_id, item_id, kind, value, created_at) "
                             "VALUES (?, ?, ?, ?, ?, ?)", events)
        out.conn.executemany("INSERT INTO profiles(user_id, vector, updated_at) VALUES (?, ?, ?)", vectors or [])
        out.conn.executemany("INSERT INTO dialogues(conversation_id, user_id, state, rev, updated_at) "
                             "VALUES (?, ?, ?, ?, ?)", dialogues)
        top = max(rec.lost_ids + rec.missing_ids, default=0)
        if top:  # ids are never reused, even those of lost events
            out.conn.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'events'", (top,))
        out.conn.commit()
    out.close()
    rec.events, rec.vectors, rec.dialogues = len(events), len(vectors or []), len(dialogues)
    return rec
