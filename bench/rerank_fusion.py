"""Latency of the fusion scorer on 200 candidates (target: <= 5 ms on 2 cores).

    .venv/bin/python bench/rerank_fusion.py [--runs 500] [--report reports/rerank_latency.md]

Uses models/fusion.pt when `chatrec train` has written one, else an untrained model of the same shape
(latency does not depend on the weights). Item vectors come from the bundled embedding cache.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--candidates", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--report")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from chatrec.catalog import load_catalog
    from chatrec.config import Config
    from chatrec.ranking.scorers import BaselineScorer, FusionScorer, ScoreContext, load_scorer
    from chatrec.training.fit import build_model
    from chatrec.ranking.checkpoint import item_text_vectors
    from chatrec.training.data import load_interactions
    from chatrec.ranking.fusion import FusionConfig

    config = Config.from_env()
    catalog = load_catalog(config.catalog)
    vectors, _ = item_text_vectors(config, catalog)
    scorer = load_scorer(config, catalog, vectors)
    source = "checkpoint"
    if scorer is None:
        data = load_interactions(config.catalog, catalog)
        cfg = FusionConfig(n_users=data.n_users, n_items=len(catalog), n_genres=len(catalog.genres),
                           text_dim=vectors.shape[1])
        scorer = FusionScorer(build_model(cfg, catalog, vectors, data).eval(), {"user_keys": data.user_keys})
        source = "untrained model of the same shape"
    rng = np.random.default_rng(0)
    rows = []
    for label, ctx_fn in (
        ("chat-only user, 10 liked items + query", lambda: ScoreContext(
            query_vector=vectors[rng.integers(len(catalog))], history=list(rng.integers(0, len(catalog), 10)))),
        ("known user, 100-item history", lambda: ScoreContext(
            history=list(rng.integers(0, len(catalog), 100)), user_key="1")),
        ("stranger, nothing known", lambda: ScoreContext()),
    ):
        for name, s in (("fusion", scorer), ("baseline", BaselineScorer(catalog, vectors, config))):
            times = []
            for _ in range(args.runs):
                pos = rng.choice(len(catalog), args.candidates, replace=False)
                sims = rng.random(args.candidates).astype(np.float32)
                ctx = ctx_fn()
                t = time.perf_counter()
                s.score(pos, sims, ctx)
                times.append((time.perf_counter() - t) * 1000)
            times = np.array(times[10:])
            rows.append((label, name, np.percentile(times, 50), np.percentile(times, 95)))
    lines = [f"# Rerank latency: {args.candidates} candidates, {args.runs} runs, torch threads {args.threads}",
             "", f"Model: {source}. Machine: 2 shared CPU cores (other work running).", "",
             "| context | scorer | p50 ms | p95 ms |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c:.2f} | {d:.2f} |" for a, b, c, d in rows]
    text = "\n".join(lines)
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n")


if __name__ == "__main__":
    main()
