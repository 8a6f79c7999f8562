"""Training data: (user, item, rating, time) rows as NumPy arrays, read from the catalog's ratings.csv.

Item positions are catalog positions. `rank_in_user` / `recent_only` / `holdout_last` are the per-user,
by-time cuts that training, continual learning and the offline protocols share.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chatrec.catalog import Catalog
from chatrec.errors import ChatrecError


@dataclass
class Interactions:
    user: np.ndarray  # int64 user index (0..n_users-1)
    item: np.ndarray  # int64 catalog position
    rating: np.ndarray  # float32; implicit data may use 1.0
    time: np.ndarray  # int64 (seconds); order within a user matters, the scale does not
    n_users: int
    n_items: int
    user_keys: list[str] = field(default_factory=list)  # user index -> external id

    def __len__(self) -> int:
        return len(self.user)

    def subset(self, mask: np.ndarray) -> "Interactions":
        return Interactions(self.user[mask], self.item[mask], self.rating[mask], self.time[mask],
                            self.n_users, self.n_items, self.user_keys)

    def histories(self) -> list[list[int]]:
        """Per user, item positions ordered by time (oldest first)."""
        order = np.lexsort((self.item, self.time, self.user))
        u, it = self.user[order], self.item[order]
        bounds = np.searchsorted(u, np.arange(self.n_users + 1))
        return [it[bounds[k]: bounds[k + 1]].tolist() for k in range(self.n_users)]

    def last_year(self) -> np.ndarray:
        """Per user, the year of their latest interaction ("now" for that user); users without any: the newest year."""
        latest = np.full(self.n_users, self.time.max() if len(self.time) else 0, dtype=np.int64)
        if len(self.time):
            per_user = np.full(self.n_users, -1, dtype=np.int64)
            np.maximum.at(per_user, self.user, self.time)
            latest = np.where(per_user >= 0, per_user, latest)
        return np.array([_year(t) for t in latest], dtype=np.float32)


def _year(seconds: int) -> float:
    return float(time.gmtime(int(seconds)).tm_year) if seconds > 0 else 0.0


def load_interactions(catalog_dir: str | Path, catalog: Catalog) -> Interactions:
    """MovieLens ratings.csv -> Interactions over catalog positions (rows for unknown items are dropped)."""
    import pandas as pd

    path = Path(catalog_dir) / "ratings.csv"
    if not path.exists():
        raise ChatrecError(f"no interactions to train on: {path} does not exist (training needs a MovieLens-style "
                           "ratings.csv beside the catalog)")
    df = pd.read_csv(path, dtype={"userId": str, "movieId": str})
    pos = df["movieId"].map(catalog.index_of)
    df = df[pos.notna()].assign(pos=pos[pos.notna()].astype(np.int64))
    keys, user = np.unique(df["userId"].to_numpy(), return_inverse=True)
    order = sorted(range(len(keys)), key=lambda k: (len(keys[k]), keys[k]))  # numeric ids in numeric order
    remap = np.empty(len(keys), dtype=np.int64)
    remap[order] = np.arange(len(keys))
    return Interactions(
        user=remap[user].astype(np.int64), item=df["pos"].to_numpy(np.int64),
        rating=df["rating"].to_numpy(np.float32), time=df["timestamp"].to_numpy(np.int64),
        n_users=len(keys), n_items=len(catalog), user_keys=[str(keys[k]) for k in order],
    )


def holdout_last(data: Interactions, frac: float = 0.1) -> tuple[Interactions, Interactions]:
    """(fit, validation): each user's most recent `frac` of interactions are the validation set."""
    rank, n = rank_in_user(data, data.time)
    val = rank >= n - np.round(frac * n).astype(np.int64)
    return data.subset(~val), data.subset(val)


def data_stamp(data: Interactions) -> dict:
    """A cheap fingerprint of training interactions: enough to notice that ratings.csv changed."""
    return {"rows": len(data), "users": int(data.n_users),
            "time_max": int(data.time.max()) if len(data) else 0,
            "checksum": int((data.user.astype(np.int64) * 7919 + data.item * 31 + data.time).sum() % (2**61 - 1))}


def rank_in_user(data: Interactions, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: its 0-based rank within its user by `key`, and the user's row count."""
    order = np.lexsort((key, data.user))
    counts = np.bincount(data.user, minlength=data.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(data), dtype=np.int64)
    rank[order] = np.arange(len(data)) - starts[data.user[order]]
    return rank, counts[data.user]


def recent_only(data: Interactions, users: np.ndarray, n: int) -> np.ndarray:
    """Row mask: every row, except that `users` keep only their `n` most recent rows (how cold users are made)."""
    rank, count = rank_in_user(data, data.time)
    return ~np.isin(data.user, users) | (rank >= count - n)


def user_item_matrix(data: Interactions):
    """Users x items, 1.0 where a user interacted with an item (any rating, duplicates once): what the implicit
    models (ALS, BPR, item-kNN) and the collaborative item vectors are fitted on."""
    from scipy.sparse import csr_matrix

    m = csr_matrix((np.ones(len(data), dtype=np.float32), (data.user, data.item)), shape=(data.n_users, data.n_items))
    m = m.tocsr()
    m.sum_duplicates()
    m.data[:] = 1.0
    return m
