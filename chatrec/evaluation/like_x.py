""""Something like X": does the chat pick what a person who loves X also loves?

Protocol (issue 16, written before any tuning):
- Test users: `n_users` MovieLens users (seeded draw) with at least `min_likes` films rated >= 4 and one rated 5.
  All of their ratings are held out: the item similarities of every method and chatrec's trained reranker are
  learned from the other users only (`holdout_folder` writes a copy of the catalog folder without them).
- A case: one test user, X = one of their 5-star films (seeded), the targets = their other films rated >= 4.
- A request: X in a phrasing people use ("Something like X", "I loved X, got anything similar?", 有没有像《X》那样的
  电影 ...), sent as the first message of a fresh conversation (a stranger: no profile, no user id).
- Picks: the 5 films shown. hit rate = picks among the targets / 5. Debiased hit rate: the same, counting only
  targets outside the 200 most-rated films of the training users. Novelty = mean self-information of the picks
  (-log2 of the share of training users who rated them); long-tail share = picks outside those 200.
- Baselines in the same run, from the same training users, each given X directly (no parsing): popularity,
  genre + popularity, item-kNN from X (cosine, `implicit`), iALS item similarity (`implicit`), text-only (the
  index's sentence vectors).
"""
from __future__ import annotations

import csv
import random
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from chatrec.catalog import Catalog
from chatrec.evaluation.metrics import list_metrics
from chatrec.training.collab import CollabParams
from chatrec.training.data import Interactions, user_item_matrix

N_PICKS = 5
HEAD = 200  # "popular": the this-many most-rated films of the training users

# phrasings: {t} title, {y} year, {zh} the Chinese title when the alias table has one (else the English title)
PHRASINGS = {
    "en": ["Something like {t}", "movies like {t}", "I loved {t}, got anything similar?",
           "recommend films like {t} ({y})"],
    "zh": ["有没有像《{zh}》那样的电影", "推荐几部类似《{zh}》的片子"],
}

# the requests issue 16 was filed with, and what the chat answered then
ISSUE_EXAMPLES = [
    ("Something like The Sound of Music", "Oklahoma!, A Sound of Thunder, The Music Man, The King and I, Sound of the Mountain"),
    ("Something like The Blind Side", "At First Sight, Blindness, Ray, The Reader, Blind Fury"),
    ("movies like Heat", "The Heat, White Heat, City Heat, Red Heat, Dead Heat"),
    ("something like Groundhog Day", "The Meteor Man, Baby's Day Out, Jack the Bear, Training Day, Cop and ½"),
    ("Recommend films like Fargo", "Ransom, Carpool, Trailer Park Boys, Speed, Crash (1996)"),
    ("I adored Before Sunrise, got anything similar?",
     "Before Sunset, The Breakfast Club, Sleeping Beauty (1959), Love Actually, Generation War"),
    ("有没有像《泰坦尼克号》那样的爱情片", "Mermaids, For Roseanna, Life Is Beautiful, Mrs. Brown, Swept from the Sea"),
]


@dataclass
class Case:
    user: int  # index in the full Interactions
    user_key: str
    seed: int  # catalog position of X
    targets: set[int] = field(default_factory=set)  # catalog positions the user rated >= 4, X excluded


def make_cases(data: Interactions, n_users: int = 150, min_likes: int = 10, seed: int = 0) -> list[Case]:
    """One case per drawn test user (see the module docstring)."""
    rng = random.Random(seed)
    liked: dict[int, set[int]] = {}
    loved: dict[int, list[int]] = {}
    for u, i, r in zip(data.user.tolist(), data.item.tolist(), data.rating.tolist()):
        if r >= 4:
            liked.setdefault(u, set()).add(i)
        if r >= 5:
            loved.setdefault(u, []).append(i)
    eligible = sorted(u for u in loved if len(liked.get(u, ())) >= min_likes + 1)
    users = sorted(rng.sample(eligible, min(n_users, len(eligible))))
    cases = []
    for u in users:
        x = rng.choice(sorted(loved[u]))
        cases.append(Case(u, data.user_keys[u] if data.user_keys else str(u), x, liked[u] - {x}))
    return cases


def without_users(data: Interactions, users: set[int]) -> Interactions:
    return data.subset(~np.isin(data.user, sorted(users)))


def holdout_folder(src: Path, dst: Path, test_user_keys: set[str], overviews: Path | None = None) -> Path:
    """A copy of the MovieLens folder `src` whose ratings.csv lacks the test users, so the catalog's rating
    counts, the reranker and every similarity are learned without them. Tags stay whole: they are part of the
    item texts the live chat embeds (the same vectors, the bundled embedding cache shared)."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("movies.csv", "links.csv", "tags.csv", "README.txt"):
        if (src / name).exists():
            shutil.copy(src / name, dst / name)
    with open(src / "ratings.csv", newline="", encoding="utf-8") as fin, \
            open(dst / "ratings.csv", "w", newline="", encoding="utf-8") as fout:
        reader, writer = csv.reader(fin), csv.writer(fout)
        header = next(reader)
        writer.writerow(header)
        col = header.index("userId")
        writer.writerows(row for row in reader if row[col] not in test_user_keys)
    if overviews is not None and overviews.exists():
        shutil.copy(overviews, dst / "overviews.csv")
    if (src / "embeddings").exists() and not (dst / "embeddings").exists():
        (dst / "embeddings").symlink_to((src / "embeddings").resolve(), target_is_directory=True)
    return dst


# ---------------------------------------------------------------- baselines: X -> 5 catalog positions

class Baselines:
    """Every baseline is fitted on the training users' interactions and answers `picks(x, n)`."""

    def __init__(self, catalog: Catalog, train: Interactions, text_vectors: np.ndarray, seed: int = 0):
        from implicit.cpu.als import AlternatingLeastSquares
        from implicit.nearest_neighbours import CosineRecommender
        from threadpoolctl import threadpool_limits


        self.catalog = catalog
        self.counts = np.bincount(train.item, minlength=len(catalog)).astype(np.float64)
        ui = user_item_matrix(train)
        self.knn = CosineRecommender(K=200, num_threads=1)
        self.knn.fit(ui, show_progress=False)
        # the same settings as the chat's collaborative vectors (chatrec.training.collab, chosen on validation users)
        self.als = AlternatingLeastSquares(**asdict(CollabParams()), random_state=seed, num_threads=1)
        with threadpool_limits(1, "blas"):
            self.als.fit(ui, show_progress=False)
        self.text = text_vectors
        self.genres = [set(it.genres) for it in catalog.items]

    def _top(self, scores: np.ndarray, x: int, n: int) -> list[int]:
        scores = np.asarray(scores, dtype=np.float64).copy()
        scores[x] = -np.inf
        top = np.argpartition(-scores, n)[:n]
        return [int(i) for i in top[np.argsort(-scores[top], kind="stable")]]

    def popularity(self, x: int, n: int = N_PICKS) -> list[int]:
        return self._top(self.counts, x, n)

    def genre_popularity(self, x: int, n: int = N_PICKS) -> list[int]:
        g = self.genres[x]
        overlap = np.array([len(g & h) / max(1, len(g | h)) for h in self.genres])
        return self._top((overlap >= 0.5) * 1e6 + self.counts, x, n)  # the most rated of the films like X in genre

    def itemknn(self, x: int, n: int = N_PICKS) -> list[int]:
        ids, _ = self.knn.similar_items(x, N=n + 1)
        return [int(i) for i in ids if int(i) != x][:n]

    def ials(self, x: int, n: int = N_PICKS) -> list[int]:
        ids, _ = self.als.similar_items(x, N=n + 1)
        return [int(i) for i in ids if int(i) != x][:n]

    def text_only(self, x: int, n: int = N_PICKS) -> list[int]:
        return self._top(self.text @ self.text[x], x, n)

    METHODS = ("popularity", "genre_popularity", "itemknn", "ials", "text_only")


# ---------------------------------------------------------------- the chat

def phrase(template: str, catalog: Catalog, x: int, zh_names: dict[str, str]) -> str:
    item = catalog.items[x]
    return template.format(t=item.title, y=item.year or "", zh=zh_names.get(item.item_id, item.title))


def chat_picks(rec, text: str, user_id: str) -> tuple[list[int], list[str]]:
    """The chat's 5 picks for `text` as the first message of a fresh conversation, and the films it linked."""
    reply = rec.session(user_id).turn(text)
    idx = rec.catalog.index_of
    picks = [idx[it["item_id"]] for it in reply["items"] if it["item_id"] in idx]
    return picks, [d["item_id"] for d in reply["intent"].get("liked", [])]


def side_by_side(rec, baselines: "Baselines", text: str, user_id: str) -> dict:
    """The chat's picks for `text` (the first message of a fresh conversation) and item-kNN's from the film it
    linked, as labels: how the reports show a request beside the baseline the issue compares it with."""
    picks, linked = chat_picks(rec, text, user_id)
    items, idx = rec.catalog.items, rec.catalog.index_of
    knn = baselines.itemknn(idx[linked[0]]) if linked and linked[0] in idx else []
    return {"chatrec": [items[p].label for p in picks], "itemknn": [items[p].label for p in knn]}


# ---------------------------------------------------------------- scoring

@dataclass
class Scored:
    method: str
    lang: str = "-"
    hit: list[float] = field(default_factory=list)
    hit_tail: list[float] = field(default_factory=list)
    novelty: list[float] = field(default_factory=list)
    tail_share: list[float] = field(default_factory=list)
    linked: list[bool] = field(default_factory=list)

    def add(self, picks: list[int], case: Case, counts: np.ndarray, n_users: int, head: set[int],
            linked: bool = True) -> None:
        m = list_metrics(picks, case.targets, item_counts=counts, n_users=n_users, head=head, k=N_PICKS)
        self.hit.append(m["hit"])
        self.hit_tail.append(m["hit_tail"])
        self.novelty.append(m["novelty"])
        self.tail_share.append(m["tail_share"])
        self.linked.append(linked)

    def summary(self) -> dict:
        def mean_se(xs):
            a = np.asarray(xs, dtype=np.float64)
            return (float(a.mean()), float(a.std(ddof=1) / np.sqrt(len(a))) if len(a) > 1 else 0.0) if len(a) else (0.0, 0.0)
        out = {"method": self.method, "lang": self.lang, "n": len(self.hit)}
        for name in ("hit", "hit_tail", "novelty", "tail_share"):
            out[name], out[name + "_se"] = mean_se(getattr(self, name))
        out["linked"] = float(np.mean(self.linked)) if self.linked else 0.0
        return out


def head_items(counts: np.ndarray, n: int = HEAD) -> set[int]:
    return {int(i) for i in np.argsort(-counts, kind="stable")[:n]}
