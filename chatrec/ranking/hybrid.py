"""The hybrid score: the scorer's view of the candidates, with the collaborative evidence and the quality prior.

    with films named or liked in this conversation (a collaborative query from seeds):
        score = base_weight * scorer + collab_weight * cos_collab(item, seeds) + quality_weight * quality(item)
                + genre_weight * jaccard(genres(item), genres(seeds)) + text_weight * text_fit(item, seeds)
    with only the stored profile's likes:
        score = scorer + profile_collab_weight * cos_collab(item, profile likes)
    otherwise:
        score = scorer

`scorer` is the trained fusion model's [0, 1] score (or the baseline's), `cos_collab` the cosine between
collaborative item vectors (chatrec.training.collab), `quality` the Bayesian-average rating in [-1, 1]
(`catalog.quality_prior`), `text_fit` how close the item's text is to the request's (`retrieve.relevance`: 0 at
the candidates' median, 1 at the closest). A stranger who names a film gets that film's collaborative neighbourhood at full
strength: films people liked together are the strongest evidence for "something like X". The weights are
`Config` fields, chosen on validation users of the "something like X" protocol (docs/evaluation.md).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chatrec.config import Config
from chatrec.errors import ChatrecError


@dataclass(frozen=True)
class HybridWeights:
    base: float = 0.3
    collab: float = 1.0
    quality: float = 0.5
    profile_collab: float = 0.3
    genre: float = 0.3
    text: float = 0.2

    @classmethod
    def from_config(cls, config: Config) -> "HybridWeights":
        return cls(config.hybrid_base_weight, config.collab_weight, config.hybrid_quality_weight,
                   config.profile_collab_weight, config.hybrid_genre_weight, config.hybrid_text_weight)


def combine(base: np.ndarray, collab_sim: np.ndarray, quality: np.ndarray, *, collab_from_seeds: bool,
            has_collab: bool, w: HybridWeights, genre_fit: np.ndarray | None = None,
            text_fit: np.ndarray | None = None) -> np.ndarray:
    """The final scores of one candidate list (arrays aligned with it)."""
    base = np.asarray(base, dtype=np.float32)
    if not has_collab:
        return base
    if collab_from_seeds:
        fit = 0.0 if genre_fit is None else w.genre * genre_fit
        if text_fit is not None:
            fit = fit + w.text * np.asarray(text_fit, dtype=np.float32)
        return (w.base * base + w.collab * collab_sim + w.quality * quality + fit).astype(np.float32)
    return (base + w.profile_collab * collab_sim).astype(np.float32)


# ---------------------------------------------------------------- the learned source head

# What the head reads about each candidate of one request, in this order (`features`). Per-list z-scores let a
# per-candidate model see where a candidate stands in its list, which raw cosines alone do not say.
FEATURES = ("scorer", "scorer_z", "text_sim", "text_z", "collab_sim", "collab_z", "quality", "popularity",
            "genre_fit", "src_text", "src_collab", "src_profile", "src_quality", "from_seeds", "named_before",
            "shown_before", "context_collab", "context_text")
HEAD_FILE = "hybrid.json"


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - float(x.mean())) / sd if sd > 1e-6 else np.zeros_like(x)


def features(base: np.ndarray, text_sim: np.ndarray, collab_sim: np.ndarray, quality: np.ndarray,
             popularity: np.ndarray, genre_fit: np.ndarray | None, sources: list[tuple[str, ...]],
             from_seeds: bool, named: np.ndarray | None = None, shown: np.ndarray | None = None,
             context_collab: np.ndarray | None = None, context_text: np.ndarray | None = None) -> np.ndarray:
    """(n candidates, len(FEATURES)) float32: every source's evidence about each candidate of one request.
    `named` / `shown`: how much the conversation's naming (or liking) / showing of each candidate earlier still
    counts (`Request.mentioned`'s recency weight, 0 if never); 0 in the chat, which excludes both, but not in a
    ranking without exclusions (the ReDial protocol). `context_collab`: the
    collaborative similarity to every film the conversation has named, liked or shown so far (0 without any);
    `context_text`: the text similarity to the same films."""
    n = len(base)
    base, text_sim, collab_sim = (np.asarray(a, dtype=np.float32) for a in (base, text_sim, collab_sim))
    flag = lambda name: np.fromiter((name in s for s in sources), dtype=np.float32, count=n)  # noqa: E731
    cols = [base, _z(base), text_sim, _z(text_sim), collab_sim, _z(collab_sim), np.asarray(quality, np.float32),
            np.asarray(popularity, np.float32), np.zeros(n, np.float32) if genre_fit is None else genre_fit,
            flag("text"), flag("collab"), flag("profile"), flag("quality"), np.full(n, float(from_seeds), np.float32),
            np.zeros(n, np.float32) if named is None else np.asarray(named, np.float32),
            np.zeros(n, np.float32) if shown is None else np.asarray(shown, np.float32),
            np.zeros(n, np.float32) if context_collab is None else np.asarray(context_collab, np.float32),
            np.zeros(n, np.float32) if context_text is None else np.asarray(context_text, np.float32)]
    return np.stack(cols, axis=1).astype(np.float32)


@dataclass
class SourceHead:
    """A small MLP over `features`, trained by `chatrec train` (chatrec.training.hybrid_fit) on simulated
    requests: "something like X" from a person's liked film, and a known person's stored likes, with the films
    they went on to like as the answer. It replaces the hand-set weights of `combine` when a collaborative query
    exists; it runs in numpy (a 18 x 16 x 1 network), so serving needs no torch for it.

        score = w2 · relu(W1 · (x - mean) / std + b1) + b2
    """
    mean: np.ndarray
    std: np.ndarray
    w1: np.ndarray  # (hidden, n_features)
    b1: np.ndarray
    w2: np.ndarray  # (hidden,)
    b2: float
    meta: dict

    def score(self, x: np.ndarray) -> np.ndarray:
        h = np.maximum(((x - self.mean) / self.std) @ self.w1.T + self.b1, 0.0)
        return (h @ self.w2 + self.b2).astype(np.float32)

    def to_json(self) -> dict:
        return {"features": list(FEATURES), "mean": self.mean.tolist(), "std": self.std.tolist(),
                "w1": self.w1.tolist(), "b1": self.b1.tolist(), "w2": self.w2.tolist(), "b2": float(self.b2),
                "meta": self.meta}

    @classmethod
    def from_json(cls, data: dict) -> "SourceHead":
        if list(data.get("features", [])) != list(FEATURES):
            raise ValueError(f"made for the features {data.get('features')}, this version reads {list(FEATURES)}")
        arr = lambda k: np.asarray(data[k], dtype=np.float32)  # noqa: E731
        head = cls(arr("mean"), arr("std"), arr("w1"), arr("b1"), arr("w2"), float(data["b2"]), dict(data.get("meta", {})))
        n, h = len(FEATURES), len(head.b1)
        if head.mean.shape != (n,) or head.std.shape != (n,) or head.w1.shape != (h, n) or head.w2.shape != (h,):
            raise ValueError("the weights have the wrong shapes")
        if not all(np.isfinite(a).all() for a in (head.mean, head.std, head.w1, head.b1, head.w2)):
            raise ValueError("the weights are not all finite")
        return head


def head_path(config: Config) -> Path:
    """Where `chatrec train` writes the source head."""
    return Path(config.model_dir) / HEAD_FILE


def find_head(config: Config) -> Path | None:
    """The head to serve: the one trained here, else the one bundled with the catalog, else None."""
    for path in (head_path(config), config.catalog_dir / HEAD_FILE):
        if path.exists():
            return path
    return None


def save_head(head: SourceHead, path: Path) -> Path:
    """Written atomically (a temp file in the same folder, renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(head.to_json(), indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_head(path: Path) -> SourceHead:
    try:
        return SourceHead.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ChatrecError(f"the ranking head {path} is unusable ({exc}); run `chatrec train` to make a new one") from exc
