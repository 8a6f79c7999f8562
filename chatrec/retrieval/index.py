"""The vector index: item embeddings in a Chroma collection, plus a manifest that says what built it.

Layout of `index_dir`:
    manifest.json   catalog fingerprint, embedder name, dimension, item count, build time, and the device and
                    dtype the vectors were made with (informational: a new device never rebuilds)
    chroma/         the embedded Chroma store (absent when a Chroma server is configured)

`build_index` is incremental: an item whose text is unchanged is not embedded again, a changed item is
re-embedded alone, and items gone from the catalog are deleted. `VectorIndex.open` refuses a missing or
mismatched index with a message that names the command to run.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import weakref
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chatrec.catalog import Catalog, Item
from chatrec.config import Config
from chatrec.retrieval.embed import Embedder
from chatrec.errors import ChatrecError, IndexNotReady

log = logging.getLogger("chatrec")

COLLECTION = "items"
MANIFEST = "manifest.json"
BUILD_HINT = "run `chatrec build-index` (the app builds it by itself on start)"


def genre_key(genre: str) -> str:
    return f"genre:{genre}"


def item_metadata(item: Item, genres: list[str]) -> dict:
    meta: dict = {
        "item_id": item.item_id,
        "year": item.year if item.year is not None else -1,
        "rating_count": item.rating_count,
        "content_hash": item.content_hash(),
    }
    present = set(item.genres)
    # Every item carries every genre flag, so "not Horror" can be a plain equality filter.
    for g in genres:
        meta[genre_key(g)] = g in present
    return meta


def make_client(config: Config):
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if config.chroma_host:
        try:
            return chromadb.HttpClient(host=config.chroma_host, port=config.chroma_port, settings=settings)
        except Exception as exc:
            raise ChatrecError(
                f"cannot reach the Chroma server at {config.chroma_host}:{config.chroma_port} ({exc}); "
                "start it with `chroma run --path DIR --port P` or unset CHATREC_CHROMA_HOST"
            ) from exc
    path = Path(config.index_dir) / "chroma"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChatrecError(f"cannot create the index folder {path}: {exc.strerror}") from exc
    try:
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except Exception as exc:
        raise IndexNotReady(
            f"the Chroma store in {path} is unreadable ({type(exc).__name__}: {exc}); delete that folder and "
            "run `chatrec build-index` (or restart the app, which rebuilds it)"
        ) from exc


def _read_manifest(index_dir: Path) -> dict | None:
    path = index_dir / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexNotReady(f"the index manifest {path} is unreadable ({exc}); {BUILD_HINT} with --rebuild") from None


@dataclass
class BuildStats:
    embedded: int
    metadata_updated: int
    deleted: int
    unchanged: int
    seconds: float

    def summary(self) -> str:
        return (f"embedded {self.embedded}, metadata updated {self.metadata_updated}, deleted {self.deleted}, "
                f"unchanged {self.unchanged} in {self.seconds:.1f} s")


def build_index(catalog: Catalog, embedder: Embedder, config: Config, rebuild: bool = False,
                progress: bool = True, batch_size: int = 256) -> BuildStats:
    from tqdm.auto import tqdm

    start = time.time()
    index_dir = Path(config.index_dir)
    client = make_client(config)
    manifest = None if rebuild else _read_manifest_or_none(index_dir)
    if rebuild or (manifest and (manifest.get("embedder") != embedder.name or manifest.get("dim") != embedder.dim)):
        _drop(client)
    collection = client.get_or_create_collection(
        COLLECTION, configuration={"hnsw": {"space": "cosine", "ef_search": 200, "ef_construction": 200}}
    )
    existing: dict[str, dict] = {}
    total = collection.count()
    for offset in range(0, total, 5000):
        got = collection.get(include=["metadatas"], limit=5000, offset=offset)
        existing.update(zip(got["ids"], got["metadatas"]))

    to_embed: list[Item] = []
    to_update: list[tuple[str, dict]] = []
    for item in catalog.items:
        meta = item_metadata(item, catalog.genres)
        old = existing.get(item.item_id)
        if old is None or old.get("content_hash") != meta["content_hash"]:
            to_embed.append(item)
        elif old != meta:
            to_update.append((item.item_id, meta))
    stale = [i for i in existing if i not in catalog.index_of]

    max_batch = min(batch_size, client.get_max_batch_size())
    cached = load_embedding_cache(cache_path(config, embedder))
    # A large build on the CPU may encode in worker processes (Config.embed_processes); each round then hands the
    # pool enough texts for every worker, and is written to Chroma in store-sized batches. One bar either way.
    processes = config.embed_processes if len(to_embed) >= config.embed_pool_min_items else 0
    pooled = processes > 1 and getattr(embedder, "device", "cpu") == "cpu" and hasattr(embedder, "worker_pool")
    slab = max(max_batch, processes * 8 * config.embed_batch_size) if pooled else max_batch
    bar = tqdm(total=len(to_embed), desc="Embedding items", unit="item", disable=not progress or not to_embed)
    with embedder.worker_pool(processes) if pooled else _nothing():
        for lo in range(0, len(to_embed), slab):
            round_ = to_embed[lo: lo + slab]
            vectors = _encode_with_cache(embedder, round_, cached, config.embed_batch_size)
            for b in range(0, len(round_), max_batch):
                batch = round_[b: b + max_batch]
                collection.upsert(
                    ids=[it.item_id for it in batch],
                    embeddings=vectors[b: b + max_batch].tolist(),
                    metadatas=[item_metadata(it, catalog.genres) for it in batch],
                    documents=[it.text() for it in batch],
                )
            bar.update(len(round_))
    bar.close()
    for lo in range(0, len(to_update), max_batch):
        chunk = to_update[lo: lo + max_batch]
        collection.update(ids=[i for i, _ in chunk], metadatas=[m for _, m in chunk])
    for lo in range(0, len(stale), max_batch):
        collection.delete(ids=stale[lo: lo + max_batch])

    new_manifest = {
        "catalog": catalog.name,
        "catalog_fingerprint": catalog.fingerprint(),
        "embedder": embedder.name,
        "dim": embedder.dim,
        # what the vectors were made with: informational only (fp16 GPU and fp32 CPU vectors are interchangeable,
        # so a new device never rebuilds the index); an incremental build on another device lists both
        **_made_with(manifest, embedder, fresh=bool(to_embed), kept=len(to_embed) < len(catalog)),
        "count": collection.count(),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "collection": COLLECTION,
    }
    _write_manifest(index_dir / MANIFEST, new_manifest)
    return BuildStats(len(to_embed), len(to_update), len(stale),
                      len(catalog) - len(to_embed) - len(to_update), time.time() - start)


def _write_manifest(path: Path, manifest: dict) -> None:
    """Atomically: a crash mid-build leaves the old manifest, never half a new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, path)


def cache_path(config: Config, embedder: Embedder) -> Path | None:
    """Precomputed embeddings shipped beside a catalog folder: <catalog>/embeddings/<embedder>.npz."""
    folder = config.catalog_dir
    safe = "".join(ch if ch.isalnum() or ch in "-_.@" else "_" for ch in embedder.name)
    return folder / "embeddings" / f"{safe}.npz"


def load_embedding_cache(path: Path | None) -> dict[str, np.ndarray]:
    """content hash -> vector. A missing or unreadable cache is simply empty: items are embedded instead."""
    if path is None or not path.exists():
        return {}
    try:
        with np.load(path) as data:
            return dict(zip(data["hashes"].tolist(), data["vectors"].astype(np.float32)))
    except (OSError, KeyError, ValueError):
        return {}


def save_embedding_cache(index: "VectorIndex", path: Path) -> None:
    """Write the index's vectors keyed by item content hash (float16: 7 MB for 10k MiniLM vectors)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    hashes = np.array([it.content_hash() for it in index.catalog.items])
    np.savez_compressed(path, hashes=hashes, vectors=index.vectors.astype(np.float16))


@contextmanager
def _nothing():
    yield


def _made_with(old: dict | None, embedder: Embedder, *, fresh: bool, kept: bool) -> dict:
    """The manifest's "device" and "dtype": this build's, joined with the previous build's for vectors it kept."""
    now = {"device": getattr(embedder, "device", "cpu"), "dtype": getattr(embedder, "dtype", "float32")}
    if not old or not kept:
        return now
    if not fresh:
        return {key: old.get(key, now[key]) for key in now}
    return {key: ",".join(sorted(set(str(old.get(key, now[key])).split(",")) | {now[key]})) for key in now}


def _encode_with_cache(embedder: Embedder, batch: list[Item], cached: dict[str, np.ndarray],
                       batch_size: int = 64) -> np.ndarray:
    out = np.zeros((len(batch), embedder.dim), dtype=np.float32)
    missing = []
    for j, it in enumerate(batch):
        vec = cached.get(it.content_hash())
        if vec is not None and vec.shape == (embedder.dim,):
            out[j] = vec / max(float(np.linalg.norm(vec)), 1e-12)
        else:
            missing.append(j)
    if missing:
        out[missing] = embedder.encode([batch[j].text() for j in missing], batch_size=batch_size)
    return out


def _read_manifest_or_none(index_dir: Path) -> dict | None:
    try:
        return _read_manifest(index_dir)
    except IndexNotReady:
        return None


def _drop(client) -> None:
    try:
        client.delete_collection(COLLECTION)
    except Exception:  # not there: nothing to drop
        pass


class VectorIndex:
    """An opened, verified index. `vectors[i]` is the embedding of `catalog.items[i]`."""

    def __init__(self, catalog: Catalog, embedder: Embedder, collection, vectors: np.ndarray, manifest: dict,
                 exact_max_items: int = 50_000, oversample: int = 4, subset_cache_mb: float = 1024):
        self.catalog = catalog
        self.embedder = embedder
        self.collection = collection
        self.vectors = vectors
        self.manifest = manifest
        # Below `exact_max_items` a query is one matrix-vector product (0.2 ms at 10k items, 17 ms at 100k)
        # plus a metadata mask: exact, and faster than any ANN round trip. Above it, a filter that allows at most
        # `exact_max_items` items is answered exactly over those items; a broader one by Chroma's HNSW,
        # unfiltered and oversampled by the filter's selectivity, with the mask applied to its hits (see `search`).
        self.exact_max_items = exact_max_items
        self.oversample = oversample
        self.columns = _metadata_columns(catalog)
        self.ann_failures = 0  # searches answered exactly because the vector store failed
        self.search_paths: Counter[str] = Counter()  # how queries were answered (see `search`), for benchmarks
        self.max_ann_k = 20_000  # the widest HNSW round before exact search takes over
        # Contiguous copies of the rows a filter allows, kept for the next queries with that filter (see `_subset`):
        # exact search over a filter's rows reads only them (~20 ms for 272k of 1M rows, against ~90 ms to gather
        # them per query or to score all 1M and mask). At most this many MB in all, least recently used dropped.
        self.subset_cache_bytes = int(subset_cache_mb * 2**20)
        self._subsets: list[_Subset] = []  # most recently used first
        self._subsets_lock = threading.Lock()

    @classmethod
    def open(cls, catalog: Catalog, embedder: Embedder, config: Config) -> "VectorIndex":
        index_dir = Path(config.index_dir)
        manifest = _read_manifest(index_dir)
        if manifest is None:
            raise IndexNotReady(f"no index found in {index_dir}; {BUILD_HINT}")
        if manifest.get("embedder") != embedder.name or manifest.get("dim") != embedder.dim:
            raise IndexNotReady(
                f"the index in {index_dir} was built with embedder {manifest.get('embedder')} "
                f"({manifest.get('dim')}-d), not {embedder.name} ({embedder.dim}-d); {BUILD_HINT}"
            )
        if manifest.get("catalog_fingerprint") != catalog.fingerprint():
            raise IndexNotReady(f"the catalog changed since the index in {index_dir} was built; {BUILD_HINT}")
        client = make_client(config)
        try:
            collection = client.get_collection(COLLECTION)
        except Exception:
            raise IndexNotReady(f"the index manifest exists but its Chroma collection is missing; {BUILD_HINT}") from None
        if collection.count() != len(catalog):
            raise IndexNotReady(
                f"the index holds {collection.count()} items but the catalog has {len(catalog)}; {BUILD_HINT}"
            )
        vectors = np.zeros((len(catalog), embedder.dim), dtype=np.float32)
        for lo in range(0, len(catalog), 5000):
            got = collection.get(include=["embeddings"], limit=5000, offset=lo)
            for item_id, vec in zip(got["ids"], got["embeddings"]):
                vectors[catalog.index_of[item_id]] = vec
        return cls(catalog, embedder, collection, vectors, manifest, exact_max_items=config.exact_search_max_items,
                   subset_cache_mb=config.subset_cache_mb)

    def search(self, vector: np.ndarray, k: int, where: dict | None = None, *,
               mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Nearest items to `vector` that satisfy `where` (a Chroma filter): [(catalog position, cosine)].
        `mask`: `where` already evaluated by `where_mask` over this catalog (a caller that asks several indexes of
        one catalog evaluates it once)."""
        k = max(1, min(k, len(self.catalog)))
        vector = np.asarray(vector, dtype=np.float32)
        if mask is None:
            mask = where_mask(where, self.columns, len(self.catalog), self.catalog.index_of)
        allowed = None if mask is None else np.flatnonzero(mask)
        if len(self.catalog) <= self.exact_max_items or (allowed is not None and len(allowed) <= self.exact_max_items):
            self.search_paths["exact"] += 1
            return self._exact(vector, k, mask, allowed)  # small catalog, or a narrow filter
        try:
            if allowed is None:
                self.search_paths["hnsw"] += 1
                return self._ann(vector, k, None)
            # A broad filter: ask HNSW for enough neighbours that ~k of them pass it (by the filter's share of the
            # catalog), then filter in memory. Neighbourhoods are not random samples -- near a horror film few
            # items pass "no horror" -- so a short round is retried as wide as its pass rate says is needed, and a
            # second short round is answered exactly in memory. (Chroma's own filtered query took seconds at 1M.)
            want = min(len(self.catalog), max(k * self.oversample, int(1.5 * k * len(self.catalog) / len(allowed))))
            for path in ("hnsw+mask", "hnsw+mask wide"):
                hits = [(p, s) for p, s in self._ann(vector, want, None) if mask[p]]
                if len(hits) >= k or want >= len(self.catalog):
                    self.search_paths[path] += 1
                    return hits[:k]
                if self._cacheable(len(allowed)):
                    # A wide HNSW round costs more than exact search over the filter's own rows once they are a
                    # contiguous copy (at 1M: k = 8,000 took 113 ms, the copy of 272k rows ~20 ms), and exact is
                    # exact. The first query with a new filter pays for the copy, about one masked full pass.
                    self.search_paths["exact after hnsw"] += 1
                    return self._exact(vector, k, mask, allowed)
                # as wide as the pass rate this neighbourhood showed says is needed, with a margin
                wider = max(2 * want, int(1.25 * k * want / max(len(hits), 1)))
                wider = min(len(self.catalog), wider, max(self.max_ann_k, want))
                if wider <= want:
                    break
                want = wider
            self.search_paths["exact after hnsw"] += 1
            return self._exact(vector, k, mask, allowed)
        except ChatrecError as exc:
            # The vector store is gone (a Chroma server restarted, a network blip): every vector is in memory, so
            # answer exactly -- slower at a million items (~0.1 s), but the chat goes on. Said once in the log.
            if not self.ann_failures:
                log.warning("%s; answering by exact search over the in-memory vectors until it is back", exc)
            self.ann_failures += 1
            return self._exact(vector, k, mask, allowed)

    def _exact(self, vector: np.ndarray, k: int, mask: np.ndarray | None, allowed: np.ndarray | None):
        if allowed is not None and self._cacheable(len(allowed)):  # score only the rows the filter allows
            sub = self._subset(mask, allowed)
            sims = sub.vectors @ vector
            if sub.count != len(allowed):  # a cached superset of this filter (a few more items excluded since)
                sims[~mask[sub.rows]] = -np.inf
            return [(int(sub.rows[j]), float(sims[j])) for j in _top_k(sims, k) if np.isfinite(sims[j])]
        if allowed is not None and len(allowed) < len(self.catalog) // 4:  # narrow: score only what it allows
            sims = self.vectors[allowed] @ vector
            return [(int(allowed[j]), float(sims[j])) for j in _top_k(sims, k)]
        sims = self.vectors @ vector
        if mask is not None:
            sims = np.where(mask, sims, -np.inf)
        return [(int(p), float(sims[p])) for p in _top_k(sims, k) if np.isfinite(sims[p])]

    def _cacheable(self, allowed: int) -> bool:
        """Whether a filter allowing `allowed` rows is searched over a cached copy of them: not when it allows more
        than half the catalog (scoring every row and masking costs at most twice as much, and copies nothing) or
        when the copy would not fit the cache."""
        n = len(self.catalog)
        return 0 < allowed <= n // 2 and allowed * self.vectors.shape[1] * self.vectors.itemsize <= self.subset_cache_bytes

    def _subset(self, mask: np.ndarray, allowed: np.ndarray) -> "_Subset":
        """The cached rows of this filter, or of a filter that allows at most twice as many items and every one
        this one allows: a conversation's filter mostly stays while its exclusions (items shown, seen, rejected)
        grow by a few per turn, so one copy serves it turn after turn. Made and cached when there is none."""
        with self._subsets_lock:
            for i, sub in enumerate(self._subsets):
                if len(allowed) <= sub.count <= 2 * len(allowed) + 64 and not np.any(mask > sub.mask):
                    self._subsets.insert(0, self._subsets.pop(i))
                    return sub
            sub = _Subset(mask.copy(), allowed, np.take(self.vectors, allowed, axis=0), len(allowed))
            self._subsets.insert(0, sub)
            total = 0
            for i, kept in enumerate(self._subsets):
                total += kept.vectors.nbytes
                if i >= _MAX_SUBSETS or (i and total > self.subset_cache_bytes):
                    del self._subsets[i:]
                    break
            return sub

    def _ann(self, vector: np.ndarray, k: int, where: dict | None) -> list[tuple[int, float]]:
        try:
            res = self.collection.query(
                query_embeddings=[np.asarray(vector, dtype=np.float32).tolist()],
                n_results=k, where=where or None, include=["distances"],
            )
        except Exception as exc:
            raise ChatrecError(f"vector search failed: {exc}") from exc
        ids, dists = res["ids"][0], res["distances"][0]
        return [(self.catalog.index_of[i], 1.0 - float(d)) for i, d in zip(ids, dists) if i in self.catalog.index_of]


_MAX_SUBSETS = 8  # cached filters per index: each lookup compares the filter with every one of them


@dataclass
class _Subset:
    mask: np.ndarray  # the filter's mask over the catalog (a private copy)
    rows: np.ndarray  # catalog positions of the allowed rows
    vectors: np.ndarray  # their vectors, contiguous
    count: int


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the `k` highest scores, best first."""
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return top[np.argsort(-scores[top])]


_COLUMNS: "weakref.WeakKeyDictionary[Catalog, dict[str, np.ndarray]]" = weakref.WeakKeyDictionary()


def _metadata_columns(catalog: Catalog) -> dict[str, np.ndarray]:
    """The filterable metadata of every item as arrays (what Chroma stores, kept beside the vectors). Made once
    per catalog: the text index and the collaborative one share them."""
    if catalog not in _COLUMNS:
        _COLUMNS[catalog] = _columns(catalog)
    return _COLUMNS[catalog]


def _columns(catalog: Catalog) -> dict[str, np.ndarray]:
    metas = [item_metadata(it, catalog.genres) for it in catalog.items]
    keys = metas[0].keys() if metas else []
    return {key: np.array([m[key] for m in metas], dtype=object if key in ("item_id", "content_hash") else None)
            for key in keys}


_OPS = {"$gte": np.greater_equal, "$gt": np.greater, "$lte": np.less_equal, "$lt": np.less,
        "$eq": np.equal, "$ne": np.not_equal}


def where_mask(where: dict | None, columns: dict[str, np.ndarray], n: int,
               index_of: dict[str, int] | None = None) -> np.ndarray | None:
    """Evaluate a Chroma `where` filter (the subset chatrec writes: $and, $or, equality, comparisons,
    $in, $nin) over metadata columns; None when there is no filter. Unknown keys match nothing, as in Chroma."""
    if not where:
        return None
    mask = np.ones(n, dtype=bool)
    for key, cond in where.items():
        if key in ("$and", "$or"):
            parts = [where_mask(c, columns, n, index_of) for c in cond]
            part = np.logical_and.reduce(parts) if key == "$and" else np.logical_or.reduce(parts)
        elif key not in columns:
            part = np.zeros(n, dtype=bool)
        elif isinstance(cond, dict):
            part = np.ones(n, dtype=bool)
            for op, value in cond.items():
                if op in ("$in", "$nin"):
                    if key == "item_id" and index_of is not None:  # ids → positions: no string comparisons
                        hit = np.zeros(n, dtype=bool)
                        hit[[index_of[v] for v in value if v in index_of]] = True
                    else:
                        hit = np.isin(columns[key], list(value))
                    part &= hit if op == "$in" else ~hit
                elif op in _OPS:
                    part &= _OPS[op](columns[key], value)
                else:
                    raise ChatrecError(f"unsupported filter operator {op!r}")
        else:
            part = columns[key] == cond
        mask &= part
    return mask


def open_vectors(catalog: Catalog, vectors: np.ndarray, config: Config, name: str) -> VectorIndex:
    """A second collection of the same vector store, holding vectors made elsewhere (the collaborative item vectors
    `chatrec train` writes): searched with the same filters and the same exact / HNSW paths as the text index, so it
    scales the same way. Its manifest (`<name>.json`) holds a fingerprint of the vectors; new vectors rebuild it.
    Items with a zero vector (nobody rated them) are left out of the collection; exact search scores them 0."""
    import hashlib

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    fingerprint = hashlib.sha256(vectors.tobytes() + catalog.fingerprint().encode()).hexdigest()[:20]
    manifest_path = Path(config.index_dir) / f"{name}.json"
    collection_name = f"{COLLECTION}-{name}"
    client = make_client(config)
    try:
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    except (OSError, ValueError):
        manifest = None
    present = np.flatnonzero(np.linalg.norm(vectors, axis=1) > 1e-9)
    if manifest is not None:
        try:
            if client.get_collection(collection_name).count() != manifest.get("count"):
                manifest = None
        except Exception:  # the manifest outlived its collection (a deleted store): build it again
            manifest = None
    if manifest is None or manifest.get("fingerprint") != fingerprint:
        try:
            client.delete_collection(collection_name)
        except Exception:  # not there yet
            pass
        collection = client.create_collection(collection_name, configuration={
            "hnsw": {"space": "cosine", "ef_search": 200, "ef_construction": 200}})
        batch = client.get_max_batch_size()
        for lo in range(0, len(present), batch):
            rows = present[lo: lo + batch]
            collection.add(ids=[catalog.items[p].item_id for p in rows], embeddings=vectors[rows].tolist(),
                           metadatas=[item_metadata(catalog.items[p], catalog.genres) for p in rows])
        manifest = {"name": name, "fingerprint": fingerprint, "dim": int(vectors.shape[1]), "count": int(len(present)),
                    "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        _write_manifest(manifest_path, manifest)
    try:
        collection = client.get_collection(collection_name)
    except Exception as exc:
        raise IndexNotReady(f"the {name} collection is missing from the vector store; {BUILD_HINT}") from exc
    return VectorIndex(catalog, None, collection, vectors, manifest, exact_max_items=config.exact_search_max_items,
                       subset_cache_mb=config.subset_cache_mb)


def open_or_build(catalog: Catalog, embedder: Embedder, config: Config, progress: bool = True) -> VectorIndex:
    """Open the index, building (or updating) it first when it is missing or stale."""
    try:
        return VectorIndex.open(catalog, embedder, config)
    except IndexNotReady:
        pass
    try:
        build_index(catalog, embedder, config, progress=progress)
    except IndexNotReady:
        # an unreadable embedded store is only derived data: move it aside and build afresh
        store = Path(config.index_dir) / "chroma"
        if config.chroma_host or not store.exists():
            raise
        aside = store.with_name(f"chroma.corrupt-{int(time.time())}")
        store.rename(aside)
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()  # chromadb keeps one client per path per process
        log.warning("the Chroma store was unreadable; moved it to %s and rebuilt the index", aside)
        build_index(catalog, embedder, config, progress=progress)
    return VectorIndex.open(catalog, embedder, config)
