"""Continual-learning replay on MovieLens: does fine-tuning on new feedback beat the frozen model?

    .venv/bin/python bench/continual_replay.py [--seeds 3] [--protocol user global] [--no-full]
                                               [--json reports/continual.json] [--report reports/evaluation.md]

For each protocol the ratings are cut into three consecutive time slices: base (before t0), feedback
(t0..t1) and test (t1..t2).
- `user`: per user, the first 60% of their ratings by time, the next 20%, the last 20% (the last 20% is the
  test set of `chatrec evaluate`'s temporal protocol); every user is in every slice.
- `global`: one clock for everyone: t0 and t1 at the 80% and 90% quantiles of all rating times. Most people
  who rate after t1 never rated before, so few test users have any history (see the report).

Per seed: the fusion model is trained on the base slice exactly as `chatrec train` does (checkpoint, cursor 0);
the feedback slice is written as `rating` events into a fresh profile database; `train_incremental` (the
code behind `chatrec train --incremental`) fine-tunes from the checkpoint. All models are ranked on the test
slice with the candidate protocol of `chatrec evaluate` (full catalog minus everything the user rated before
t1; positives = test ratings >= 4; users with at least one positive and one earlier rating):
- frozen, stale history: the base model, knowing only the base slice about each person;
- frozen: the base model with histories up to t1 (what the app does without retraining: the profile
  grows, the weights do not);
- incremental: the fine-tuned model (whether or not its gate accepted it; the gate's verdict is reported);
- full retrain (reference, `--no-full` skips it): a new model trained on base + feedback from scratch.
The report's headline is incremental vs frozen, with a paired bootstrap interval over test users.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatrec.training.data import rank_in_user  # noqa: E402
from chatrec.evaluation.metrics import per_user_metrics, ranking_metrics  # noqa: E402
from chatrec.training.data import Interactions  # noqa: E402

MODELS = ("frozen_stale", "frozen", "incremental", "full")
LABELS = {"frozen_stale": "frozen, stale history", "frozen": "frozen (histories up to t1)",
          "incremental": "incremental fine-tune", "full": "full retrain (reference)"}


def reindex(data: Interactions, mask: np.ndarray) -> Interactions:
    """The rows under `mask`, with only the users who have any (a model's user table holds no one else)."""
    sub = data.subset(mask)
    present = np.unique(sub.user)
    remap = np.full(data.n_users, -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    return Interactions(remap[sub.user], sub.item, sub.rating, sub.time, len(present), data.n_items,
                        [data.user_keys[u] for u in present])


def slices(data: Interactions, protocol: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if protocol == "user":
        rng = np.random.default_rng(0)  # the slices stay fixed across model seeds
        rank, n = rank_in_user(data, data.time + rng.random(len(data)) * 1e-3)
        n_test = np.maximum(1, np.round(0.2 * n)).astype(np.int64)
        n_feed = np.round(0.2 * n).astype(np.int64)
        test = rank >= n - n_test
        feed = ~test & (rank >= n - n_test - n_feed)
        return ~test & ~feed, feed, test
    if protocol == "global":
        t0, t1 = np.quantile(data.time, [0.8, 0.9])
        return data.time < t0, (data.time >= t0) & (data.time < t1), data.time >= t1
    raise ValueError(protocol)


class TestSet:
    """Test users with their positives, their seen items and two histories (up to t0 / up to t1)."""

    def __init__(self, data: Interactions, base: np.ndarray, feed: np.ndarray, test: np.ndarray):
        before = base | feed
        liked = test & (data.rating >= 4)
        has_hist = np.zeros(data.n_users, dtype=bool)
        has_hist[data.user[before]] = True
        self.users = np.array([u for u in np.unique(data.user[liked]) if has_hist[u]], dtype=np.int64)
        self.keys = [data.user_keys[u] for u in self.users]

        def per_user(mask):
            order = np.lexsort((data.item[mask], data.time[mask], data.user[mask]))
            u, it, t = data.user[mask][order], data.item[mask][order], data.time[mask][order]
            lo, hi = np.searchsorted(u, self.users), np.searchsorted(u, self.users, side="right")
            return [it[a:b] for a, b in zip(lo, hi)], [t[a:b] for a, b in zip(lo, hi)]

        self.positives, _ = per_user(liked)
        self.history, times = per_user(before)
        self.stale_history, _ = per_user(base)
        self.seen = self.history
        self.ref_year = np.array([time.gmtime(int(t[-1])).tm_year for t in times], dtype=np.float32)
        self.known_at_t0 = np.array([len(h) > 0 for h in self.stale_history])


def score(model, user_keys: list[str], ts: TestSet, stale: bool = False) -> np.ndarray:
    from chatrec.ranking.fusion import UserTable
    from chatrec.training.fit import score_all

    index = {k: i for i, k in enumerate(user_keys)}
    ids = np.array([index.get(k, model.cfg.n_users) for k in ts.keys], dtype=np.int64)
    hist = ts.stale_history if stale else ts.history
    table = UserTable([list(h) for h in hist], ts.ref_year, model.text, model.item_genres, model.cfg, user_ids=ids)
    return score_all(model, table, np.arange(len(ts.users)))


def metrics(scores: np.ndarray, ts: TestSet) -> dict:
    m = ranking_metrics(scores, ts.positives, seen=ts.seen, ks=(10, 20))
    per = per_user_metrics(scores, ts.positives, seen=ts.seen, ks=(10,))["ndcg@10"]  # for the paired intervals
    assert len(per) == len(ts.users) and abs(per.mean() - m["ndcg@10"]) < 1e-9, (per.mean(), m["ndcg@10"])
    keep = ("ndcg@10", "recall@10", "ndcg@20", "recall@20", "hr@10", "mrr", "coverage@10")
    out = {k: m[k] for k in keep}
    out["per_user_ndcg@10"] = per.tolist()
    return out


def paired_ci(a: np.ndarray, b: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of a - b over users and a 95% paired-bootstrap interval."""
    d = np.asarray(a) - np.asarray(b)
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, len(d), (n, len(d)))].mean(1)
    return float(d.mean()), float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))


def run_protocol(config, catalog, vectors, emb_name, data, protocol, seeds, full, log) -> dict:
    from chatrec.training.continual import train_incremental
    from chatrec.profile.store import SQLiteStore
    from chatrec.ranking.checkpoint import save_checkpoint
    from chatrec.training.fit import train_model

    base_m, feed_m, test_m = slices(data, protocol)
    base = reindex(data, base_m)
    ts = TestSet(data, base_m, feed_m, test_m)
    feed_idx = np.flatnonzero(feed_m)
    feed_idx = feed_idx[np.argsort(data.time[feed_idx], kind="stable")]
    out = {"protocol": protocol, "rows": {"base": int(base_m.sum()), "feedback": int(feed_m.sum()),
                                          "test": int(test_m.sum())},
           "users": {"base": base.n_users, "feedback": int(len(np.unique(data.user[feed_m]))),
                     "feedback_unknown": int(len(set(data.user[feed_m].tolist()) - set(data.user[base_m].tolist()))),
                     "test": int(len(ts.users)), "test_known_at_t0": int(ts.known_at_t0.sum())},
           "seeds": [], "times": {}}
    if protocol == "global":
        t0, t1 = np.quantile(data.time, [0.8, 0.9])
        out["cuts"] = [time.strftime("%Y-%m-%d", time.gmtime(int(t))) for t in (t0, t1, data.time.max())]
    log(f"[{protocol}] base {out['rows']['base']:,} rows / {base.n_users} users, feedback {out['rows']['feedback']:,} "
        f"rows ({out['users']['feedback_unknown']} unknown users), test users {len(ts.users)}")
    if len(ts.users) == 0:
        out["skipped"] = "no test user has a positive after t1 and a rating before it"
        log(f"[{protocol}] skipped: {out['skipped']}")
        return out
    with tempfile.TemporaryDirectory(prefix="chatrec-replay-") as tmp:
        store = SQLiteStore(Path(tmp) / "events.sqlite3")
        t = time.time()
        store.record_many((data.user_keys[u], "rating", catalog.items[i].item_id, float(r), float(ts_))
                          for u, i, r, ts_ in zip(data.user[feed_idx], data.item[feed_idx], data.rating[feed_idx],
                                                  data.time[feed_idx]))
        out["times"]["record_events_s"] = time.time() - t
        for seed in range(seeds):
            run = {"seed": seed}
            cfg = dataclasses.replace(config, model_dir=str(Path(tmp) / f"models{seed}"),
                                      profile_db=str(Path(tmp) / "events.sqlite3"))
            t = time.time()
            result, extra = train_model(catalog, vectors, base, seed=seed, progress=False)
            save_checkpoint(result.model, Path(cfg.model_dir) / "fusion.pt", catalog=catalog, embedder_name=emb_name,
                            user_keys=base.user_keys, extra=extra)
            run["base_train_s"], run["base_epochs"] = time.time() - t, result.best_epoch
            frozen = result.model
            t = time.time()
            res = train_incremental(cfg, store=store, catalog=catalog, vectors=vectors, embedder_name=emb_name,
                                    base=base, seed=seed, progress=False)
            run["incremental_s"] = time.time() - t
            run["gate"] = {"status": res.status, "val_old": res.val_old, "val_new": res.val_new,
                           "new_rows": res.new_rows, "replay_rows": res.replay_rows, "new_users": res.new_users,
                           "newly_warm_items": res.newly_warm_items}
            run["metrics"] = {"frozen_stale": metrics(score(frozen, base.user_keys, ts, stale=True), ts),
                              "frozen": metrics(score(frozen, base.user_keys, ts), ts),
                              "incremental": metrics(score(res.model, base.user_keys, ts), ts)}
            if full:
                upto = reindex(data, base_m | feed_m)
                t = time.time()
                full_result, _ = train_model(catalog, vectors, upto, seed=seed, progress=False)
                run["full_train_s"] = time.time() - t
                run["metrics"]["full"] = metrics(score(full_result.model, upto.user_keys, ts), ts)
            m = run["metrics"]
            log(f"[{protocol}] seed {seed}: " + ", ".join(f"{k} {v['ndcg@10']:.4f}" for k, v in m.items())
                + f"; gate {res.status} ({res.reason}); base {run['base_train_s']:.0f} s, fine-tune "
                f"{run['incremental_s']:.0f} s" + (f", full {run['full_train_s']:.0f} s" if full else ""))
            out["seeds"].append(run)
        store.close()
    per = {name: np.mean([r["metrics"][name]["per_user_ndcg@10"] for r in out["seeds"]], axis=0)
           for name in out["seeds"][0]["metrics"]}
    out["diff_vs_frozen"] = {name: paired_ci(per[name], per["frozen"]) for name in per if name != "frozen"}
    known = ts.known_at_t0
    out["by_user_kind"] = {kind: {name: float(per[name][mask].mean()) if mask.any() else None for name in per}
                           for kind, mask in (("known_at_t0", known), ("new_after_t0", ~known))}
    out["by_user_kind_n"] = {"known_at_t0": int(known.sum()), "new_after_t0": int((~known).sum())}
    return out


def tune(config, catalog, vectors, emb_name, data, log, seed: int = 0) -> dict:
    """Choose the fine-tuning learning rate and epochs without the test slice: per-user slices, base = first 60%,
    feedback = the next 10%, validation = the 10% after that (all before the test slice of `run_protocol`)."""
    from chatrec.training.continual import INCREMENTAL, events_to_rows, fine_tune
    from chatrec.profile.store import SQLiteStore
    from chatrec.training.fit import train_model

    base_m, feed_m, _ = slices(data, "user")
    sub = data.subset(feed_m)
    rank, n = rank_in_user(sub, sub.time + np.random.default_rng(1).random(len(sub)) * 1e-3)
    first = np.zeros(len(data), dtype=bool)
    first[np.flatnonzero(feed_m)[rank < np.round(n / 2)]] = True
    val_m = feed_m & ~first
    base = reindex(data, base_m)
    ts = TestSet(data, base_m, first, val_m)
    t = time.time()
    result, extra = train_model(catalog, vectors, base, seed=seed, progress=False)
    log(f"[tune] base model: {time.time() - t:.0f} s; {int(first.sum()):,} feedback rows, {len(ts.users)} validation users")
    meta = {"user_keys": base.user_keys, "extra": extra}
    idx = np.flatnonzero(first)
    with tempfile.TemporaryDirectory(prefix="chatrec-tune-") as tmp:
        store = SQLiteStore(Path(tmp) / "events.sqlite3")
        store.record_many((data.user_keys[u], "rating", catalog.items[i].item_id, float(r), float(tt))
                          for u, i, r, tt in zip(data.user[idx], data.item[idx], data.rating[idx], data.time[idx]))
        rows = events_to_rows(store.events_after(0), catalog)
        store.close()
    out = {"frozen": metrics(score(result.model, base.user_keys, ts), ts)["ndcg@10"], "grid": []}
    log(f"[tune] frozen {out['frozen']:.4f}")
    for lr in (3e-4, 1e-3, 3e-3):
        for epochs in (1, 3, 6):
            t = time.time()
            res = fine_tune(result.model, meta, catalog=catalog, base=base, rows=rows, new=np.ones(len(rows), bool),
                            epochs=epochs, lr=lr, replay=INCREMENTAL["replay"], min_replay=INCREMENTAL["min_replay"],
                            seed=seed, progress=False)
            ndcg = metrics(score(res.model, base.user_keys, ts), ts)["ndcg@10"]
            out["grid"].append({"lr": lr, "epochs": epochs, "ndcg@10": ndcg, "gate_old": res.val_old,
                                "gate_new": res.val_new, "seconds": time.time() - t})
            log(f"[tune] lr {lr:g} epochs {epochs}: validation NDCG@10 {ndcg:.4f} (gate {res.val_old:.4f} -> "
                f"{res.val_new:.4f}), {time.time() - t:.0f} s")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--protocol", nargs="+", default=["user", "global"], choices=["user", "global"])
    ap.add_argument("--no-full", action="store_true", help="Skip the full-retrain reference (saves a training per seed).")
    ap.add_argument("--tune", action="store_true", help="Only the learning-rate x epochs grid on a validation replay "
                    "that ends before the test slice (writes --json with a '_tuning' suffix).")
    ap.add_argument("--json", default=str(ROOT / "reports" / "continual.json"))
    ap.add_argument("--report", default=str(ROOT / "reports" / "evaluation.md"),
                    help="Markdown report whose 'Continual learning' section is (re)written; '' for none.")
    args = ap.parse_args()

    import torch

    from chatrec.catalog import load_catalog
    from chatrec.config import Config
    from chatrec.training.continual import INCREMENTAL
    from chatrec.evaluation.offline import continual_section, splice_section
    from chatrec.training.fit import DEFAULTS
    from chatrec.ranking.checkpoint import item_text_vectors
    from chatrec.training.data import load_interactions

    torch.set_num_threads(1)
    start = time.time()
    config = Config.from_env()
    catalog = load_catalog(config.catalog)
    data = load_interactions(config.catalog_dir, catalog)
    vectors, emb_name = item_text_vectors(config, catalog)
    run = {"generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "catalog": catalog.name,
           "embedder": emb_name, "interactions": len(data), "seeds": args.seeds, "full_retrain": not args.no_full,
           "incremental_params": dict(INCREMENTAL), "base_params": dict(DEFAULTS),
           "command": "python bench/continual_replay.py " + " ".join(sys.argv[1:]), "protocols": {}}
    if args.tune:
        run["tuning"] = tune(config, catalog, vectors, emb_name, data, print)
        path = Path(args.json).with_name(Path(args.json).stem + "_tuning.json")
        path.write_text(json.dumps(run, indent=1))
        print(f"wrote {path} ({(time.time() - start) / 60:.1f} min)")
        return
    for protocol in args.protocol:
        run["protocols"][protocol] = run_protocol(config, catalog, vectors, emb_name, data, protocol, args.seeds,
                                                  not args.no_full, print)
    run["seconds"] = time.time() - start
    tuning = Path(args.json).with_name(Path(args.json).stem + "_tuning.json") if args.json else None
    if tuning is not None and tuning.exists():  # how the fine-tuning defaults were chosen, shown in the report
        run["tuning"] = json.loads(tuning.read_text())["tuning"]
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(run, indent=1))
        print(f"wrote {args.json}")
    if args.report:
        path = Path(args.report)
        text = path.read_text() if path.exists() else "# Offline evaluation\n"
        path.write_text(splice_section(text, continual_section(run)))
        print(f"updated the 'Continual learning' section of {path}")
    print(f"{run['seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
