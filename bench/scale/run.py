"""Scale benchmark: synthetic catalogs of 10k / 100k / 1M items in Chroma; build time and size, retrieval +
rerank latency with and without metadata filters, memory; embedded vs server Chroma.

    .venv/bin/python bench/scale/run.py [--sizes 10000,100000] [--queries 200] [--server] [--out reports/scale]
    .venv/bin/python bench/scale/run.py --sizes 0 --device cuda --text-build 1000000   # a GPU machine: encode +
        store 1M item texts end to end (docs/scale.md)

Synthetic items are realistic: each vector mixes 2-3 real MovieLens item vectors plus noise (so the
neighbourhood structure is that of real film texts), with years, genres and popularity drawn from the real
catalog. Encoding 1M texts would take ~8 hours on 2 cores, so vectors are synthesised; the encoder's own
ceiling (items/s) is measured separately on real texts, by device (`--device`, Config.device) and, on a CPU, with
the multi-process pool (`--processes`), and printed beside the build throughput. `--text-build N` builds an index
of N items from their texts (real catalog texts, each made unique) through `build_index` on the chosen device:
the end-to-end figure (encode + write to Chroma) a GPU machine reports.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from chatrec.catalog import load_catalog  # noqa: E402
from chatrec.config import Config  # noqa: E402
from chatrec.retrieval.index import VectorIndex, cache_path, item_metadata, load_embedding_cache  # noqa: E402
from chatrec.retrieval.retrieve import Request, Retriever, relevance  # noqa: E402
from chatrec.ranking.diversity import select  # noqa: E402


def tqdm_range(lo: int, hi: int, step: int, desc: str):
    from tqdm.auto import tqdm

    return tqdm(range(lo, hi, step), desc=desc, unit="batch", mininterval=10)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synth(n: int, seed: int = 0):
    config = Config()
    cat = load_catalog(config.catalog)
    class _E:  # only the name matters for locating the cache
        name = "all-MiniLM-L6-v2@128"
    cached = load_embedding_cache(cache_path(config, _E()))
    base = np.stack([cached[it.content_hash()] for it in cat.items]).astype(np.float32)
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(base), n), rng.integers(0, len(base), n)
    w = rng.uniform(0.5, 1.0, (n, 1)).astype(np.float32)
    vecs = w * base[a] + (1 - w) * base[b] + rng.normal(0, 0.02, base.shape[1] * n).reshape(n, -1).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    from chatrec.catalog import Item

    items = [Item(item_id=f"s{i}", title=f"s{i}", year=cat.items[a[i]].year, genres=cat.items[a[i]].genres,
                  rating_count=int(rng.integers(0, 300)), rating_mean=float(rng.uniform(2.0, 4.5)))
             for i in range(n)]
    metas = [item_metadata(it, cat.genres) for it in items]
    # collaborative vectors the same way: mixes of the real ones (chatrec train's implicit ALS on MovieLens)
    real = np.load(config.catalog_dir / "collab.npz")["vectors"].astype(np.float32)
    collab = w * real[a] + (1 - w) * real[b] + rng.normal(0, 0.02, real.shape[1] * n).reshape(n, -1).astype(np.float32)
    collab /= np.maximum(np.linalg.norm(collab, axis=1, keepdims=True), 1e-9)
    return cat, vecs, metas, items, collab


def encoder_ceiling(cat, n: int = 256, device: str = "auto", batch_size: int = 64, processes: int = 0) -> dict:
    """Items/s of the MiniLM encoder on `n` real item texts (cycled when the catalog has fewer), on `device`
    (a Config.device value), optionally in a pool of CPU worker processes."""
    from chatrec.devices import describe
    from chatrec.retrieval.embed import get_embedder

    emb = get_embedder("minilm", device)
    texts = [cat.items[i % len(cat)].text() for i in range(n)]
    with emb.worker_pool(processes) if processes > 1 else _null():
        emb.encode(texts[: min(n, 4 * batch_size)], batch_size=batch_size)  # warm-up (a GPU's kernels, the pool)
        t = time.perf_counter()
        emb.encode(texts, batch_size=batch_size)
        seconds = time.perf_counter() - t
    return {"device": describe(emb.device), "dtype": emb.dtype, "batch_size": batch_size,
            "processes": max(1, processes) if emb.device == "cpu" else 1, "texts": n,
            "items_per_s": round(n / seconds, 1)}


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def text_build(cat, n: int, device: str, batch_size: int, processes: int) -> dict:
    """Build an index of `n` items from their texts, end to end (encode + write to Chroma), with the chat's own
    `build_index`. Texts are the catalog's, cycled, each with a copy number so that every one is embedded."""
    from chatrec.catalog import Catalog, Item
    from chatrec.devices import describe
    from chatrec.retrieval.embed import get_embedder
    from chatrec.retrieval.index import build_index

    items = []
    for i in range(n):
        src = cat.items[i % len(cat)]
        items.append(Item(item_id=f"t{i}", title=src.title, year=src.year, genres=src.genres, tags=src.tags,
                          overview=f"{src.overview} ({i // len(cat) + 1})" if i >= len(cat) else src.overview,
                          rating_count=src.rating_count, rating_mean=src.rating_mean))
    catalog = Catalog(items, name=f"text-build-{n}")
    folder = Path(tempfile.mkdtemp(prefix="chatrec-text-build-"))
    config = Config(index_dir=str(folder), catalog=str(folder / "none.csv"), device=device,
                    embed_batch_size=batch_size, embed_processes=processes)
    emb = get_embedder("minilm", device)
    try:
        t = time.perf_counter()
        stats = build_index(catalog, emb, config, progress=True, batch_size=max(batch_size, 1024))
        seconds = time.perf_counter() - t
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"items": n, "device": describe(emb.device), "dtype": emb.dtype, "batch_size": batch_size,
            "processes": max(1, processes) if emb.device == "cpu" else 1, "embedded": stats.embedded,
            "seconds": round(seconds, 1), "items_per_s": round(n / seconds, 1)}


def bench_collection(client, vecs, metas, items, queries: int, label: str, reuse: bool = False,
                     collab: np.ndarray | None = None) -> dict:
    """Build a collection (or, with `reuse`, open the one a previous run left), then time the chat's own path:
    `VectorIndex.search` (exact in memory up to `exact_search_max_items`, HNSW + in-memory filter above) +
    baseline rerank + MMR. With `collab` vectors, also "something like X" requests through every candidate source
    (`Retriever.candidates`: text, the collaborative collection, quality) + rerank + the hybrid score + MMR."""
    from chatrec.catalog import Catalog
    from chatrec.ranking.scorers import BaselineScorer, ScoreContext

    n = len(vecs)
    if reuse:
        col = client.get_collection("scale")
        if col.count() != n:
            raise SystemExit(f"--reuse: the stored collection holds {col.count()} items, not {n}")
        build_s = None
    else:
        try:
            client.delete_collection("scale")
        except Exception:
            pass
        col = client.create_collection("scale", configuration={"hnsw": {"space": "cosine", "ef_search": 200,
                                                                        "ef_construction": 200}})
        batch = min(5000, client.get_max_batch_size())
        t = time.perf_counter()
        for lo in tqdm_range(0, n, batch, desc=f"adding {n:,} items"):
            col.add(ids=[m["item_id"] for m in metas[lo:lo + batch]], embeddings=vecs[lo:lo + batch],
                    metadatas=metas[lo:lo + batch])
        build_s = time.perf_counter() - t
    config = Config.from_env()  # CHATREC_EXACT_SEARCH_MAX_ITEMS, CHATREC_SUBSET_CACHE_MB apply
    catalog = Catalog(items, name="synthetic")
    index = VectorIndex(catalog, None, col, vecs, {}, exact_max_items=config.exact_search_max_items,
                        subset_cache_mb=config.subset_cache_mb)
    scorer = BaselineScorer(catalog, vecs, config)
    rng = np.random.default_rng(1)
    qs = vecs[rng.integers(0, n, queries)] + rng.normal(0, 0.05, (queries, vecs.shape[1])).astype(np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    seen = {items[i].item_id for i in rng.integers(0, n, 50)}  # a returning user's seen and rejected items
    filtered = Retriever.where(Request(genres_in=["Comedy"], genres_out=["Horror"], year_min=1990, exclude=seen))
    out = {"label": label, "items": n, "search": "exact" if n <= index.exact_max_items else "hnsw+mask"}
    if build_s is not None:
        out.update(build_s=round(build_s, 1), build_items_per_s=round(n / build_s))
    for name, where in (("plain", None), ("filtered", filtered)):
        index.search_paths.clear()
        lat = []
        for q in qs:
            t = time.perf_counter()
            hits = index.search(q, config.n_candidates, where)
            if hits:
                pos = np.array([p for p, _ in hits])
                sims = np.array([s for _, s in hits], dtype=np.float32)
                scores = scorer.score(pos, sims, ScoreContext(query_vector=q, profile_vector=q))
                select(pos, scores, vecs, 5, config.mmr_lambda)
            lat.append((time.perf_counter() - t) * 1000)
        out[f"{name}_p50_ms"] = round(float(np.percentile(lat, 50)), 1)
        out[f"{name}_p95_ms"] = round(float(np.percentile(lat, 95)), 1)
        out[f"{name}_max_ms"] = round(float(np.max(lat)), 1)
        out[f"{name}_paths"] = dict(index.search_paths)  # how the queries were answered
    if collab is not None:
        out.update(bench_hybrid(catalog, index, collab, scorer, config, rng, seen, queries))
    return out


def bench_hybrid(catalog, index, collab, scorer, config, rng, seen, queries: int) -> dict:
    from chatrec.ranking.hybrid import HybridWeights, combine
    from chatrec.ranking.scorers import ScoreContext
    from chatrec.retrieval.index import open_vectors

    n = len(catalog)
    t = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="chatrec-scale-collab-"))  # the app's own build, in a store of its own
    collab_index = open_vectors(catalog, collab, Config(index_dir=str(folder)), "collab")
    out = {"collab_build_s": round(time.perf_counter() - t, 1)}
    retriever = Retriever(index, config, collab_index)
    weights = HybridWeights.from_config(config)
    seeds = rng.integers(0, n, queries)
    for name, extra in (("like_x", {}), ("like_x_filtered", {"genres_out": ["Horror"], "year_min": 1990})):
        lat = []
        for s in seeds:
            req = Request(seeds=[catalog.items[int(s)].item_id], exclude=seen, **extra)
            t = time.perf_counter()
            c = retriever.candidates(req, None, config.n_candidates)
            if len(c):
                base = scorer.score(c.positions, c.text_sim, ScoreContext(query_vector=c.query))
                scores = combine(base, c.collab_sim, retriever.quality[c.positions], collab_from_seeds=c.collab_from_seeds,
                                 has_collab=c.collab_query is not None, w=weights, genre_fit=c.genre_fit,
                                 text_fit=relevance(c.text_sim))
                select(c.positions, scores, index.vectors, 5, config.mmr_lambda)
            lat.append((time.perf_counter() - t) * 1000)
        out[f"{name}_p50_ms"] = round(float(np.percentile(lat, 50)), 1)
        out[f"{name}_p95_ms"] = round(float(np.percentile(lat, 95)), 1)
    shutil.rmtree(folder, ignore_errors=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--server", action="store_true", help="also measure a `chroma run` server (smallest size)")
    ap.add_argument("--no-collab", action="store_true", help="skip the collaborative collection and the like-X requests")
    ap.add_argument("--out", default=str(ROOT / "reports" / "scale"))
    ap.add_argument("--keep", help="build into this folder and keep it (a 1M build takes ~25 min on 2 cores)")
    ap.add_argument("--reuse", help="time queries against the collection a --keep run left in this folder "
                                    "(one size only)")
    ap.add_argument("--device", default=None, help="the encoder's device, a Config.device value (default: "
                                                   "CHATREC_DEVICE, else auto); the CPU is always measured too")
    ap.add_argument("--batch-size", type=int, default=None, help="encoder batch (default: 256 on an accelerator, "
                                                                 "else Config.embed_batch_size)")
    ap.add_argument("--processes", type=int, default=0, help="also measure the CPU encoder in this many worker "
                                                             "processes (the multi-process pool)")
    ap.add_argument("--encode-items", type=int, default=256, help="real texts timed per encoder figure")
    ap.add_argument("--text-build", type=int, default=0, help="also build an index of this many items from their "
                                                              "texts, end to end, on --device (0: skip)")
    args = ap.parse_args()
    import chromadb
    from chromadb.config import Settings

    from chatrec.devices import resolve_device

    sizes = [int(s) for s in args.sizes.split(",") if int(s) > 0]
    cat, all_vecs, all_metas, all_items, all_collab = synth(max(sizes, default=1))
    rows = []
    device = resolve_device(args.device or Config.from_env().device)
    cpu_batch = Config.from_env().embed_batch_size
    batch = args.batch_size or (256 if device != "cpu" else cpu_batch)
    encoders = [encoder_ceiling(cat, args.encode_items, "cpu", cpu_batch)]
    if args.processes > 1:
        encoders.append(encoder_ceiling(cat, args.encode_items, "cpu", cpu_batch, args.processes))
    if device != "cpu":
        encoders.append(encoder_ceiling(cat, args.encode_items, device, batch))
    for e in encoders:
        print(f"encoder (MiniLM, real texts, {os.cpu_count()} cores): {json.dumps(e)}", flush=True)
    ceiling = encoders[0]["items_per_s"]
    builds = []
    if args.text_build:
        builds.append(text_build(cat, args.text_build, device, batch, args.processes if device == "cpu" else 0))
        print(f"text build: {json.dumps(builds[-1])}", flush=True)
    if (args.keep or args.reuse) and len(sizes) > 1:
        raise SystemExit("--keep and --reuse take one size")
    for n in sizes:
        folder = args.reuse or args.keep
        path = Path(folder) if folder else Path(tempfile.mkdtemp(prefix=f"scale{n}-"))
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))
        row = bench_collection(client, all_vecs[:n], all_metas[:n], all_items[:n], args.queries, "embedded",
                               reuse=bool(args.reuse), collab=None if args.no_collab else all_collab[:n])
        row["disk_mb"] = round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)
        row["max_rss_mb"] = round(rss_mb())
        print(json.dumps(row), flush=True)
        rows.append(row)
        if not folder:
            shutil.rmtree(path, ignore_errors=True)
    if args.server:
        n = sizes[0]
        path = Path(tempfile.mkdtemp(prefix="scale-server-"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
        server = subprocess.Popen([chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    client = chromadb.HttpClient(host="127.0.0.1", port=port,
                                                 settings=Settings(anonymized_telemetry=False))
                    client.heartbeat()
                    break
                except Exception:
                    time.sleep(0.3)
            row = bench_collection(client, all_vecs[:n], all_metas[:n], all_items[:n], args.queries, "server")
            print(json.dumps(row), flush=True)
            rows.append(row)
        finally:
            server.terminate()
            server.wait(timeout=30)
            shutil.rmtree(path, ignore_errors=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"encoder_items_per_s": round(ceiling), "encoders": encoders,
                                                    "text_builds": builds, "rows": rows}, indent=2))
    cols = ["label", "items", "search", "build_s", "build_items_per_s", "plain_p50_ms", "plain_p95_ms", "filtered_p50_ms",
            "filtered_p95_ms", "like_x_p50_ms", "like_x_p95_ms", "like_x_filtered_p95_ms", "disk_mb", "max_rss_mb"]
    table = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n" + "\n".join(
        "| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows)
    enc_table = "| encoder device | dtype | batch | processes | items/s |\n|---|---|---:|---:|---:|\n" + "\n".join(
        f"| {e['device']} | {e['dtype']} | {e['batch_size']} | {e['processes']} | {e['items_per_s']:,.0f} |"
        for e in encoders)
    if builds:
        enc_table += ("\n\n| text build (encode + store) | device | items | seconds | items/s |\n|---|---|---:|---:|---:|\n"
                      + "\n".join(f"| build_index | {b['device']} ({b['dtype']}) | {b['items']:,} | {b['seconds']} | "
                                  f"{b['items_per_s']:,.0f} |" for b in builds))
    out.with_suffix(".md").write_text(
        f"# Scale benchmark\n\n`python bench/scale/run.py --sizes {args.sizes}{' --server' if args.server else ''}`, "
        f"{os.cpu_count()} cores. The chat's retrieval path (`VectorIndex.search`, k=150: exact in memory up to "
        f"50k items, Chroma HNSW + in-memory filter above) + baseline rerank + MMR, {args.queries} queries; the "
        "filtered query asks for Comedy, not Horror, from 1990, minus 50 seen items.\n\n"
        f"Encoder ceiling (MiniLM on real item texts): **{ceiling:.0f} items/s** — building from texts is bounded "
        "by it, not by Chroma.\n\n" + enc_table + "\n\n" + table
        + "\n\nTargets: retrieve + rerank p95 ≤ 30 ms at 10k and ≤ 100 ms at 1M.\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
