"""The same-run baselines of the ReDial benchmark (bench/crs/run.py): what a model of the training dialogues
ranks over the whole catalog, without the chat. They are baselines, never chatrec's number -- the live chat cannot
reproduce them -- so they live here, outside the package (issue 16, item 5: one ranking path).

- `DialogueModel`: co-mention over the *training* conversations, "context film -> film the recommender named
  next", MovieLens item-item similarity and training mention popularity;
- `Weights` / `blend_scores`: those signals blended with the chat's own ranking; `tune_weights` picks the weights
  on training conversations (co-mention leaving out every conversation that shares a worker), written to
  bench/crs/weights.json by `run.py --tune-train N`.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chatrec.catalog import Catalog  # noqa: E402
from chatrec.evaluation import redial  # noqa: E402


@dataclass
class Weights:
    """Blend of the pipeline's ranking with the dialogue model's signals (picked on training conversations)."""
    pipeline: float = 0.1  # reciprocal-rank score of the pipeline's long list
    genre: float = 0.25  # share of the genres the seeker asked for (dialogue state) that the film has
    comention: float = 1.0  # conversation-level co-mention with the films mentioned so far (train)
    directed: float = 0.1  # context film -> film the recommender then named (train recommender turns)
    cf: float = 0.1  # MovieLens item-item similarity (who rated both)
    cf_liked: float = 0.25  # the same over ratings >= 4
    popularity: float = 0.5  # how many training conversations mention the film
    target_popularity: float = 0.1  # how often recommenders name it in training conversations
    repeat_recommender: float = 1.0  # the recommender named it earlier in this dialogue
    repeat_seeker: float = 1.0  # the seeker named it earlier
    content: float = 0.25  # text-embedding similarity to the films mentioned so far (MiniLM item vectors)
    recency: float = 0.7  # weight of a context film decays by this factor per newer mention

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


class DialogueModel:
    """Co-mention over training conversations, MovieLens item-item similarity, training mention popularity.

    Each similarity is a cosine over a sparse "who mentioned / rated it" matrix X (rows: conversations or
    users, columns: catalog items): score(t) = sum_c w_c cos(X_c, X_t) = (sum_c w_c X_c/|X_c|) . X_t/|X_t|,
    computed per turn with two sparse products; no item-item matrix is stored. The directed signal counts,
    over the training recommender turns, how often film t was named after film c had been mentioned."""

    def __init__(self, catalog: Catalog, train: list[redial.Conversation] | None = None,
                 canonical: dict[str, str] | None = None, ratings_path: str | Path | None = None,
                 ml_of: dict[str, str] | None = None, vectors: np.ndarray | None = None):
        from scipy import sparse

        self.catalog = catalog
        self.vectors = vectors
        n = len(catalog)
        idx = catalog.index_of
        canonical = canonical or {}
        train = train or []
        rows, cols = [], []
        self.conv_row: dict[str, int] = {}
        counts = np.zeros(n, dtype=np.float32)
        c_rows, c_cols, t_rows, t_cols, turn_conv = [], [], [], [], []
        for r, conv in enumerate(train):
            self.conv_row[conv.conv_id] = r
            ids = {canonical.get(x, x) for m in conv.messages for x in m.mentions}
            for x in ids:
                if x in idx:
                    rows.append(r)
                    cols.append(idx[x])
                    counts[idx[x]] += 1
            for t in redial.eval_turns(conv, canonical):
                k = len(turn_conv)
                turn_conv.append(r)
                c_rows += [k for c in t.context if c in idx]
                c_cols += [idx[c] for c in t.context if c in idx]
                t_rows += [k for x in t.targets if x in idx]
                t_cols += [idx[x] for x in t.targets if x in idx]
        # leave-out groups: a training conversation is scored without every conversation that shares a worker
        # with it. ReDial workers did many dialogues (1,395 of the 1,401 training ones share a worker with
        # another) and no dev conversation shares one with training: leaving out only the conversation itself
        # tunes to worker habits and overstates what transfers to dev.
        by_worker: dict = defaultdict(set)
        for r, conv in enumerate(train):
            for w in (conv.seeker, conv.recommender):
                by_worker[w].add(r)
        self.leave_out = {conv.conv_id: np.array(sorted(by_worker[conv.seeker] | by_worker[conv.recommender] | {r}))
                          for r, conv in enumerate(train)}
        n_conv, n_turn = max(1, len(train)), max(1, len(turn_conv))
        self.mentions = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_conv, n))
        self.comention = self._normalised(self.mentions)
        self.turn_conv = np.array(turn_conv, dtype=np.int64)
        self.ctx = self._normalised(sparse.csr_matrix((np.ones(len(c_rows), np.float32), (c_rows, c_cols)),
                                                      shape=(n_turn, n)))
        self.tgt = sparse.csr_matrix((np.ones(len(t_rows), np.float32), (t_rows, t_cols)), shape=(n_turn, n)).tocsc()
        self.mention_counts = counts
        self.target_counts = np.asarray(self.tgt.sum(axis=0)).ravel().astype(np.float32)
        self.popularity = redial.log_scaled(counts)
        self.target_popularity = redial.log_scaled(self.target_counts)
        self.cf = self.cf_liked = None
        if ratings_path and ml_of and Path(ratings_path).exists():
            rr, cc, stars, n_raters = redial.linked_ratings(ratings_path, ml_of, idx)
            if len(rr):
                liked = stars >= 4.0
                shape = (n_raters, n)
                self.cf = self._normalised(sparse.csr_matrix((np.ones(len(rr), np.float32), (rr, cc)), shape=shape))
                self.cf_liked = self._normalised(sparse.csr_matrix(
                    (np.ones(int(liked.sum()), np.float32), (rr[liked], cc[liked])), shape=shape))
        self.genre_flags = {g: np.array([g in it.genres for it in catalog.items], dtype=np.float32)
                            for g in catalog.genres}

    @staticmethod
    def _normalised(x):
        """Columns scaled to unit length, as CSC so column slices are cheap."""
        from scipy import sparse

        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
        norms[norms == 0] = 1.0
        return (x @ sparse.diags(1.0 / norms)).tocsc().astype(np.float32)

    @staticmethod
    def _spread(matrix, positions: list[int], weights: np.ndarray, drop_rows=None, out=None) -> np.ndarray:
        u = np.asarray(matrix[:, positions] @ weights).ravel()
        if drop_rows is not None:
            u[drop_rows] = 0.0  # leave-one-out on the training side: a conversation never counts itself
        return np.asarray((out if out is not None else matrix).T @ u).ravel().astype(np.float32)

    def signals(self, context: list[str], recency: float = 0.7, exclude_conv: str | None = None,
                memo: dict | None = None) -> dict:
        """Every signal for a dialogue whose films so far are `context` (oldest first), each an array over the
        catalog. `exclude_conv`: score a training conversation without itself and its workers' other ones.
        `memo`: a dict the caller owns, remembering the answer per (context, recency, exclude_conv) -- the weight
        search asks for the same turns' signals hundreds of times."""
        if memo is not None:
            key = (tuple(context), recency, exclude_conv)
            if key not in memo:
                memo[key] = self.signals(context, recency, exclude_conv)
            return memo[key]
        idx = self.catalog.index_of
        positions = [idx[c] for c in context if c in idx]
        n = len(self.catalog)
        zero = np.zeros(n, dtype=np.float32)
        rows = self.leave_out.get(exclude_conv) if exclude_conv is not None else None
        popularity, target_popularity = self.popularity, self.target_popularity
        if rows is not None:  # the left-out conversations' own mentions must not count either
            popularity = redial.log_scaled(self.mention_counts - np.asarray(self.mentions[rows].sum(axis=0)).ravel())
            turns = np.flatnonzero(np.isin(self.turn_conv, rows))
            target_popularity = redial.log_scaled(self.target_counts - np.asarray(self.tgt[turns].sum(axis=0)).ravel())
        base = {"popularity": popularity, "target_popularity": target_popularity}
        if not positions:
            return {"comention": zero, "directed": zero, "cf": zero, "cf_liked": zero, "content": zero, **base}
        w = np.array([recency ** (len(positions) - 1 - j) for j in range(len(positions))], dtype=np.float32)
        co = self._spread(self.comention, positions, w, rows)
        directed = self._spread(self.ctx, positions, w, None if rows is None else np.isin(self.turn_conv, rows),
                                self.tgt)
        cf = self._spread(self.cf, positions, w) if self.cf is not None else zero
        cf_liked = self._spread(self.cf_liked, positions, w) if self.cf_liked is not None else zero
        content = zero
        if self.vectors is not None:
            q = (self.vectors[positions] * w[:, None]).sum(axis=0)
            content = np.clip(self.vectors @ (q / max(float(np.linalg.norm(q)), 1e-9)), 0.0, None).astype(np.float32)
        return {"comention": _scale(co), "directed": _scale(directed), "cf": _scale(cf), "cf_liked": _scale(cf_liked),
                "content": content, **base}

    def genre_match(self, genres: list[str]) -> np.ndarray:
        flags = [self.genre_flags[g] for g in genres if g in self.genre_flags]
        return np.mean(flags, axis=0) if flags else np.zeros(len(self.catalog), dtype=np.float32)


def _scale(x: np.ndarray) -> np.ndarray:
    top = float(x.max()) if x.size else 0.0
    return x / top if top > 0 else x


def blend_scores(record: redial.TurnRecord, model: DialogueModel, weights: Weights, n: int, exclude_conv: bool = False,
                 memo: dict | None = None) -> np.ndarray:
    """Score every catalog position: the chat's ranking (reciprocal rank, `weights.pipeline`) + the dialogue model's
    signals (`memo`: see `DialogueModel.signals`)."""
    score = weights.pipeline * redial.pipeline_scores(record, n)
    sig = model.signals(record.turn.context, weights.recency,
                        exclude_conv=record.turn.conv_id if exclude_conv else None, memo=memo)
    for name in ("comention", "directed", "cf", "cf_liked", "content"):
        w = getattr(weights, name)
        if w:
            score += w * sig[name]
    score += weights.popularity * sig["popularity"] + weights.target_popularity * sig["target_popularity"]
    wanted = [g for g in dict.fromkeys(record.state.get("genres_in", []) + record.state.get("genres_said", []))
              if g not in record.state.get("genres_out", [])]
    if weights.genre and wanted:
        score += weights.genre * model.genre_match(wanted)
    idx = model.catalog.index_of
    for c in record.turn.context:
        if c in idx:
            score[idx[c]] += (weights.repeat_recommender if c in record.turn.context_by_recommender
                              else weights.repeat_seeker)
    return score


def tune_weights(records: list[redial.TurnRecord], model: DialogueModel, catalog: Catalog, grid: dict | None = None,
                 objective=lambda m: m["recall@10"] + 0.5 * m["recall@50"]) -> tuple[Weights, float]:
    """Coordinate search over the blend weights on TRAINING records (co-mention statistics leave out every
    conversation that shares a worker with the scored one).
    The default objective weighs Recall@10 and Recall@50 (the two numbers the issue sets targets for)."""
    grid = grid or {name: [0.0, 0.1, 0.25, 0.5, 1.0, 2.0] for name in Weights.__dataclass_fields__
                    if name != "recency"} | {"recency": [0.4, 0.7, 1.0]}
    memo: dict = {}  # the signals of a turn do not depend on the weights tried, except recency: computed once each

    def value(w):
        return objective(redial.evaluate_records(records, catalog, n_boot=0,
                                                 score=lambda r: blend_scores(r, model, w, len(catalog), True, memo)))
    return _coordinate_search(Weights(), grid, value)


def _coordinate_search(best: Weights, grid: dict, value) -> tuple[Weights, float]:
    best_v = value(best)
    for _ in range(2):
        for name, options in grid.items():
            for v in options:
                w = dataclasses.replace(best, **{name: v})
                got = value(w)
                if got > best_v + 1e-9:
                    best, best_v = w, got
    return best, best_v


# ================================================================ putting it together

def default_weights_path() -> Path:
    return Path(__file__).resolve().parent / "weights.json"


def load_weights(path: str | Path | None = None) -> Weights:
    path = Path(path) if path else default_weights_path()
    if path.exists():
        data = json.loads(path.read_text())
        return Weights(**{k: v for k, v in data.get("weights", data).items() if k in Weights.__dataclass_fields__})
    return Weights()


def build_model(rcat: redial.RedialCatalog, train_path: str | Path | None = redial.TRAIN_FILE,
                ratings_path: str | Path | None = redial.MOVIELENS_DIR / "ratings.csv",
                vectors: np.ndarray | None = None) -> DialogueModel:
    train = redial.load_redial(train_path) if train_path and Path(train_path).exists() else []
    return DialogueModel(rcat.catalog, train, rcat.canonical, ratings_path, rcat.ml_of, vectors)
