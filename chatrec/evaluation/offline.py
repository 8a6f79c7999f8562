"""Offline evaluation on MovieLens: splits, baselines, metrics, one code path for every model.

Protocols (per user; positives are held-out ratings >= 4):
- temporal: each user's last 20% of ratings by time are the test set; of the rest, the last 1/8 (10% of the
  user's ratings) is the validation set for tuning and early stopping.
- random: a per-user random 80/10/10 split (fit / validation / test), drawn anew for every seed.
In both, 10% of the users (drawn by the seed) keep only their 5 most recent training ratings: the
cold-user slice (MovieLens has no user with fewer than 20 ratings, so cold users are made by truncation).

Every model is tuned on (fit -> validation) once, then refitted on fit + validation for each seed and
ranked over the whole catalog minus the user's training items. Baselines: popularity, ItemKNN (cosine),
implicit ALS and BPR (the `implicit` package, small grids), text-only cosine, a pure-MF version of our
model; and the fusion model (its variants in `RunOptions.fusion_variants` tried, the better on validation kept).

Metrics (`chatrec.evaluation.metrics.ranking_metrics`, tested against hand-computed values in tests/test_metrics.py):
Recall@K = hits in top K / positives; NDCG@K with binary gains; HR@10; MRR = 1 / rank of the first
positive in the full ranking; coverage = share of the catalog in anyone's top 10; intra-list diversity =
mean pairwise (1 - cosine) of top-10 text vectors; novelty = mean -log2(share of users who interacted
with the item); Gini of exposure over the catalog's top-10 counts; long-tail share = share of top-10 slots
given to items outside the 20% most interacted-with.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from chatrec.catalog import load_catalog
from chatrec.evaluation.metrics import KS, ranking_metrics
from chatrec.ranking.checkpoint import item_text_vectors
from chatrec.ranking.fusion import FusionConfig
from chatrec.training.data import Interactions, load_interactions, rank_in_user, recent_only, user_item_matrix
from chatrec.training.fit import (MODEL_DEFAULTS, build_model, fit, fit_cold_prior, make_validator, positives_by_user,
                                  score_all, user_table)

COLD_ITEM_MAX = 5  # an item with at most this many training ratings is "cold"


# ---------------------------------------------------------------- splits

@dataclass
class Split:
    protocol: str
    seed: int
    train: Interactions  # fit + val: what the final models learn from
    fit: Interactions  # for tuning
    val: Interactions  # all held-out validation ratings; ranking metrics use those >= 4
    test: Interactions
    cold_users: np.ndarray


def make_split(data: Interactions, protocol: str, seed: int, cold_frac: float = 0.1, cold_n: int = 5) -> Split:
    rng = np.random.default_rng(seed)
    if protocol == "temporal":
        rank, n = rank_in_user(data, data.time + rng.random(len(data)) * 1e-3)  # ties broken at random
        n_test = np.maximum(1, np.round(0.2 * n)).astype(np.int64)
        n_val = np.round(0.1 * n).astype(np.int64)
        test = rank >= n - n_test
        val = ~test & (rank >= n - n_test - n_val)
    elif protocol == "random":
        rank, n = rank_in_user(data, rng.random(len(data)))
        n_test = np.maximum(1, np.round(0.1 * n)).astype(np.int64)
        n_val = np.round(0.1 * n).astype(np.int64)
        test = rank < n_test
        val = ~test & (rank < n_test + n_val)
    else:
        raise ValueError(f"unknown protocol {protocol!r}")
    train = ~test
    cold = np.sort(rng.choice(data.n_users, size=int(round(cold_frac * data.n_users)), replace=False))
    is_cold = np.isin(data.user, cold)
    if len(cold):  # cold users keep only their `cold_n` most recent training rows, all in fit
        keep = np.ones(len(data), dtype=bool)
        keep[np.flatnonzero(train)] = recent_only(data.subset(train), cold, cold_n)
        train &= keep
        val &= ~is_cold
    fit = train & ~val
    return Split(protocol, seed, data.subset(train), data.subset(fit), data.subset(val), data.subset(test), cold)


# ---------------------------------------------------------------- models

class Popularity:
    name = "popularity"

    def fit(self, train: Interactions, seed: int = 0):
        self.counts = np.bincount(train.item, minlength=train.n_items).astype(np.float32)
        return self

    def scores(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(users), len(self.counts)))


class ItemKNN:
    name = "itemknn"
    grid = [{"K": k} for k in (50, 100, 200, 400)]

    def __init__(self, K: int = 200):
        self.K = K

    def fit(self, train: Interactions, seed: int = 0):
        from implicit.nearest_neighbours import CosineRecommender

        self.ui = user_item_matrix(train)
        self.model = CosineRecommender(K=self.K, num_threads=1)
        self.model.fit(self.ui, show_progress=False)
        return self

    def scores(self, users):
        return np.asarray((self.ui[users] @ self.model.similarity).todense(), dtype=np.float32)


class ALS:
    name = "ials"
    grid = [{"factors": f, "regularization": r, "alpha": a} for f in (32, 64, 128) for r in (0.01, 0.1)
            for a in (1.0, 5.0)]

    def __init__(self, factors: int = 64, regularization: float = 0.1, alpha: float = 1.0, iterations: int = 20):
        self.params = dict(factors=factors, regularization=regularization, alpha=alpha, iterations=iterations)

    def fit(self, train: Interactions, seed: int = 0):
        from implicit.cpu.als import AlternatingLeastSquares

        from threadpoolctl import threadpool_limits

        self.model = AlternatingLeastSquares(**self.params, random_state=seed, num_threads=1)
        with threadpool_limits(1, "blas"):  # implicit's own advice: its BLAS calls must not spawn threads
            self.model.fit(user_item_matrix(train), show_progress=False)
        return self

    def scores(self, users):
        return self.model.user_factors[users] @ self.model.item_factors.T


class BPR:
    name = "bpr"
    grid = [{"factors": f, "learning_rate": lr, "regularization": r} for f in (32, 64, 128) for lr in (0.01, 0.05)
            for r in (0.001, 0.01)]

    def __init__(self, factors: int = 64, learning_rate: float = 0.01, regularization: float = 0.01,
                 iterations: int = 100):
        self.params = dict(factors=factors, learning_rate=learning_rate, regularization=regularization,
                           iterations=iterations)

    def fit(self, train: Interactions, seed: int = 0):
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        self.model = BayesianPersonalizedRanking(**self.params, random_state=seed, num_threads=1)
        self.model.fit(user_item_matrix(train), show_progress=False)
        return self

    def scores(self, users):
        return self.model.user_factors[users] @ self.model.item_factors.T


class TextCosine:
    """Cosine between an item's text vector and the mean text vector of the user's liked training items."""
    name = "text"

    def __init__(self, text: np.ndarray):
        self.text = text

    def fit(self, train: Interactions, seed: int = 0):
        liked = train.rating >= 4
        prof = np.zeros((train.n_users, self.text.shape[1]), dtype=np.float32)
        np.add.at(prof, train.user[liked], self.text[train.item[liked]])
        none = np.linalg.norm(prof, axis=1) == 0  # nobody liked: use everything they rated
        all_ = np.zeros_like(prof)
        np.add.at(all_, train.user, self.text[train.item])
        prof[none] = all_[none]
        self.profile = prof / np.maximum(np.linalg.norm(prof, axis=1, keepdims=True), 1e-9)
        return self

    def scores(self, users):
        return self.profile[users] @ self.text.T


@dataclass
class FusionRunner:
    """Our model behind the same fit/scores interface; `variant` 'mf' switches off text, history and context."""
    catalog: object
    text: np.ndarray
    variant: str = "fusion"
    loss: str = "bpr"
    epochs: int = 20
    validate_on: Interactions | None = None  # when given, early stopping on this split's NDCG@10
    progress: bool = False
    params: dict = field(default_factory=dict)  # FusionConfig fields
    train_params: dict = field(default_factory=dict)  # `fit` keywords (lr, weight_decay, n_neg, batch_size)
    result: object = None

    @property
    def name(self) -> str:
        return self.variant

    def model_config(self, train: Interactions):
        params = {**MODEL_DEFAULTS, **self.params} if self.variant == "fusion" else dict(self.params)
        cfg = FusionConfig(n_users=train.n_users, n_items=train.n_items, n_genres=max(1, len(self.catalog.genres)),
                           text_dim=self.text.shape[1], **params)
        if self.variant == "mf":
            cfg.use_text = cfg.use_history = cfg.use_context = False
            cfg.id_dropout = 0.0
            cfg.collab_factors = 0
        return cfg

    def fit(self, train: Interactions, seed: int = 0):
        torch.manual_seed(seed)  # the initial weights too: `fit` seeds only what happens after them
        model = build_model(self.model_config(train), self.catalog, self.text, train, seed=seed)
        table = user_table(model, train)
        validate = None if self.validate_on is None else make_validator(table, train, self.validate_on, seed=seed)
        self.result = fit(model, table, train, loss=self.loss, epochs=self.epochs, seed=seed, validate=validate,
                          patience=2, progress=self.progress, **self.train_params)
        self.model, self.table = self.result.model, table
        return self

    def scores(self, users):
        return score_all(self.model, self.table, users)


# ---------------------------------------------------------------- running a protocol

def evaluate_model(model, train: Interactions, test: Interactions, text: np.ndarray, cold_users: np.ndarray,
                   chunk: int = 128) -> dict:
    """All metrics for one fitted model on one split, plus the cold-user and cold-item slices."""
    liked = test.subset(test.rating >= 4)
    users = np.unique(liked.user)
    pos, seen = positives_by_user(liked, users), positives_by_user(train, users)
    counts = np.bincount(train.item, minlength=train.n_items)
    score_rows = np.concatenate([np.asarray(model.scores(users[lo: lo + chunk]), dtype=np.float32)
                                 for lo in range(0, len(users), chunk)])
    n_train_users = len(np.unique(train.user))
    out = ranking_metrics(score_rows, pos, seen=seen, text=text, item_counts=counts, n_users_train=n_train_users)
    # cold users: the same ranking, only the truncated users
    cold = np.isin(users, cold_users)
    if cold.any():
        c = ranking_metrics(score_rows[cold], [pos[i] for i in np.flatnonzero(cold)],
                            seen=[seen[i] for i in np.flatnonzero(cold)], ks=(10,))
        out["cold_user_ndcg@10"], out["cold_user_recall@10"] = c["ndcg@10"], c["recall@10"]
    # cold items: rank only cold items (<= COLD_ITEM_MAX training ratings); targets are the cold positives
    cold_items = counts <= COLD_ITEM_MAX
    cpos = [p[cold_items[p]] for p in pos]
    has = np.array([len(p) > 0 for p in cpos])
    if has.any():
        rows = score_rows[has].copy()
        rows[:, ~cold_items] = -np.inf
        c = ranking_metrics(rows, [cpos[i] for i in np.flatnonzero(has)],
                            seen=[seen[i] for i in np.flatnonzero(has)], ks=(10,))
        out["cold_item_ndcg@10"], out["cold_item_recall@10"] = c["ndcg@10"], c["recall@10"]
    return out


def tune(factory: Callable[[dict], object], grid: list[dict], split: Split, text: np.ndarray) -> tuple[dict, float]:
    """The grid point with the best validation NDCG@10 (fit on split.fit, ranked against split.val)."""
    best, best_val = grid[0], -1.0
    for params in grid:
        m = factory(params).fit(split.fit, seed=0)
        val = evaluate_model(m, split.fit, split.val, text, np.array([], dtype=np.int64))["ndcg@10"]
        if val > best_val:
            best, best_val = params, val
    return best, best_val


@dataclass
class RunOptions:
    seeds: int = 3
    quick: bool = False  # small grids and few epochs: a smoke test, not a benchmark
    models: tuple[str, ...] = ("popularity", "itemknn", "ials", "bpr", "text", "mf", "fusion")
    protocols: tuple[str, ...] = ("temporal", "random")
    epochs: int = 20
    fusion_params: dict = field(default_factory=dict)
    # fusion variants tried on validation (label -> loss and FusionConfig overrides); BCE lost to BPR on validation
    # in both protocols once the collaborative inputs were in (docs/evaluation.md), so only BPR is tried
    fusion_variants: dict = field(default_factory=lambda: {
        "bpr, ALS + EASE inputs": {"loss": "bpr"},
        "bpr, EASE input only": {"loss": "bpr", "params": {"collab_factors": 0}},
    })
    progress: bool = True


def run_protocol(data: Interactions, catalog, text: np.ndarray, protocol: str, opts: RunOptions,
                 log: Callable[[str], None] = print) -> dict:
    """{model: {"runs": [metrics per seed], "params": ..., "val": ..., "seconds": ..., "curves": ...}}"""
    split0 = make_split(data, protocol, seed=0)
    results: dict[str, dict] = {}
    epochs = 2 if opts.quick else opts.epochs
    classical = {
        "popularity": (lambda p: Popularity(), [{}]),
        "itemknn": (lambda p: ItemKNN(**p), ItemKNN.grid),
        "ials": (lambda p: ALS(**p), ALS.grid),
        "bpr": (lambda p: BPR(**p), BPR.grid),
        "text": (lambda p: TextCosine(text), [{}]),
    }
    for name in opts.models:
        t0 = time.time()
        if name in classical:
            factory, grid = classical[name]
            grid = grid[:2] if opts.quick else grid
            params, val = tune(factory, grid, split0, text) if len(grid) > 1 else (grid[0], None)
            make = lambda seed, p=params, f=factory: f(p)  # noqa: E731
            entry = {"params": params, "val": val, "runs": [], "curves": {}}
        else:
            # fusion and mf: early stopping on the validation split picks the epoch count; for fusion the variant
            # (`RunOptions.fusion_variants`: which collaborative inputs) is the one with the best validation NDCG@10
            # over every validation user
            variants = {"bpr": {"loss": "bpr"}} if name == "mf" or opts.quick else opts.fusion_variants
            tried, runners = {}, {}
            base_params = dict(opts.fusion_params)
            if name == "fusion" and "ials" in results and "collab_factors" not in base_params:
                # the ALS input uses the ALS baseline's settings, tuned on the same validation split
                p = results["ials"]["params"]
                base_params.update(collab_factors=p["factors"], collab_reg=p["regularization"],
                                   collab_alpha=p["alpha"])
            for label, spec in variants.items():
                vp = {**base_params, **spec.get("params", {})}
                r = runners[label] = FusionRunner(catalog, text, variant=name, loss=spec["loss"], epochs=epochs,
                                                  validate_on=split0.val, params=vp, progress=opts.progress).fit(split0.fit)
                val = evaluate_model(r, split0.fit, split0.val, text, np.array([], dtype=np.int64))["ndcg@10"]
                tried[label] = {"val": val, "best_epoch": r.result.best_epoch, "curve": r.result.curve,
                                "loss": spec["loss"], "params": vp}
                log(f"  {protocol}/{name} {label}: val ndcg@10 {val:.4f} "
                    f"at epoch {r.result.best_epoch} ({sum(c['seconds'] for c in r.result.curve):.0f} s)")
            label = max(tried, key=lambda k: tried[k]["val"])
            best_epoch = max(1, tried[label]["best_epoch"])
            loss, fusion_params = tried[label]["loss"], dict(tried[label]["params"])
            if name == "fusion":  # how much familiarity counts for short histories: chosen as `chatrec train` does
                prior = fit_cold_prior(runners[label].model, split0.fit, split0.val)
                fusion_params["cold_prior"] = prior["cold_prior"]
                fusion_params["cold_prior_power"] = prior["cold_prior_power"]
                log(f"  {protocol}/{name} cold prior {prior['cold_prior']} ^ {prior['cold_prior_power']}: "
                    f"{prior['val_ndcg@10_by_prior']}")
            make = lambda seed, l=loss, e=best_epoch, n=name, fp=fusion_params: FusionRunner(  # noqa: E731
                catalog, text, variant=n, loss=l, epochs=e, params=dict(fp))
            entry = {"params": {"loss": loss, "epochs": best_epoch, **fusion_params},
                     "val": tried[label]["val"], "losses": {k: v["val"] for k, v in tried.items()},
                     "curves": {k: v["curve"] for k, v in tried.items()}, "runs": [], "_runner": runners[label]}
        for seed in range(opts.seeds):
            split = split0 if seed == 0 else make_split(data, protocol, seed=seed)
            m = make(seed).fit(split.train, seed=seed)
            entry["runs"].append(evaluate_model(m, split.train, split.test, text, split.cold_users))
        entry["seconds"] = time.time() - t0
        results[name] = entry
        r = entry["runs"]
        log(f"{protocol:9s} {name:11s} ndcg@10 {np.mean([x['ndcg@10'] for x in r]):.4f} "
            f"recall@10 {np.mean([x['recall@10'] for x in r]):.4f} ({entry['seconds']:.0f} s)")
    return results


def summarise(results: dict) -> dict:
    """{protocol: {model: {metric: mean over seeds}}} -- the `--json` contract."""
    out: dict = {}
    for protocol, models in results.items():
        out[protocol] = {}
        for name, entry in models.items():
            runs = entry["runs"]
            keys = [k for k in runs[0] if k != "users"]
            out[protocol][name] = {k: float(np.mean([r[k] for r in runs if k in r])) for k in keys}
    return out


def spread(results: dict) -> dict:
    """{protocol: {model: {metric: std over seeds}}}."""
    return {p: {n: {k: float(np.std([r[k] for r in e["runs"] if k in r])) for k in e["runs"][0] if k != "users"}
                for n, e in ms.items()} for p, ms in results.items()}


# ---------------------------------------------------------------- behaviour prediction

def _user_rating_stats(data: Interactions) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(data.user, minlength=data.n_users).astype(np.float32)
    sums = np.bincount(data.user, weights=data.rating, minlength=data.n_users).astype(np.float32)
    mean = np.where(counts > 0, sums / np.maximum(counts, 1), data.rating.mean() if len(data) else 3.5)
    return mean - 3.5, np.log1p(counts)


def pair_features(model, table, history: Interactions, pairs: Interactions, chunk: int = 4096):
    """(context features + user rating mean/count, fusion logit) for (user, item) pairs."""
    mean, count = _user_rating_stats(history)
    feats, logits = [], []
    with torch.inference_mode():
        for lo in range(0, len(pairs), chunk):
            users = torch.as_tensor(pairs.user[lo: lo + chunk])
            items = torch.as_tensor(pairs.item[lo: lo + chunk]).unsqueeze(1)
            ub = table.batch(users)
            p, r, g = model.summaries(ub)
            feats.append(model._features(ub, items, p, r, g)[:, 0].numpy())
            logits.append(model(ub, items)[:, 0].numpy())
    base = np.column_stack([np.concatenate(feats), mean[pairs.user], count[pairs.user]])
    return base, np.concatenate(logits)


def behaviour_prediction(runner, split: Split) -> dict:
    """Like (rating >= 4) vs not for held-out pairs: logistic regression on the context features, with and
    without the fusion model's logit. Trained on the validation pairs, tested on the test pairs."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = runner.model  # trained on split.fit
    xb_val, lg_val = pair_features(model, runner.table, split.fit, split.val)
    test_table = user_table(model, split.train)
    xb_test, lg_test = pair_features(model, test_table, split.train, split.test)
    y_val, y_test = split.val.rating >= 4, split.test.rating >= 4
    out = {}
    for name, xv, xt in (("logreg", xb_val, xb_test),
                         ("fusion", np.column_stack([xb_val, lg_val]), np.column_stack([xb_test, lg_test]))):
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(xv, y_val)
        prob = clf.predict_proba(xt)[:, 1]
        out[name] = {"accuracy": float(accuracy_score(y_test, prob >= 0.5)), "f1": float(f1_score(y_test, prob >= 0.5)),
                     "auc": float(roc_auc_score(y_test, prob))}
    out["majority"] = {"accuracy": float(max(y_test.mean(), 1 - y_test.mean())), "f1": 0.0, "auc": 0.5}
    out["pairs"] = {"train": int(len(y_val)), "test": int(len(y_test)), "positive_share": float(y_test.mean())}
    return out


# ---------------------------------------------------------------- the whole run and its report

def run_all(config, opts: RunOptions, log: Callable[[str], None] = print) -> dict:
    start = time.time()
    catalog = load_catalog(config.catalog)
    folder = config.catalog_dir
    data = load_interactions(folder, catalog)
    text, emb_name = item_text_vectors(config, catalog)
    results, behaviour = {}, None
    for protocol in opts.protocols:
        results[protocol] = run_protocol(data, catalog, text, protocol, opts, log=log)
        runner = results[protocol].get("fusion", {}).pop("_runner", None)
        if protocol == "temporal" and runner is not None:
            behaviour = behaviour_prediction(runner, make_split(data, protocol, seed=0))
    for models in results.values():
        for entry in models.values():
            entry.pop("_runner", None)
    return {"results": results, "behaviour": behaviour, "seconds": time.time() - start, "embedder": emb_name,
            "catalog": catalog.name, "interactions": len(data), "users": data.n_users, "items": data.n_items,
            "seeds": opts.seeds, "quick": opts.quick}


METRIC_ORDER = ["ndcg@10", "recall@10", "ndcg@20", "recall@20", "hr@10", "mrr", "coverage@10", "diversity@10",
                "novelty@10", "gini@10", "longtail@10"]
BASELINES = ("popularity", "itemknn", "ials", "bpr", "text", "mf")


def write_report(run: dict, out_dir: Path) -> Path:
    """reports/evaluation.md with tables, plus PNG plots beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    results = run["results"]
    mean, std = summarise(results), spread(results)
    lines = ["# Offline evaluation", "",
             f"Generated by `chatrec evaluate` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
             f"{run['catalog']} ({run['interactions']:,} ratings, {run['users']} users, {run['items']:,} items), "
             f"embedder {run['embedder']}, {run['seeds']} seed(s){' (QUICK: smoke test, not a benchmark)' if run['quick'] else ''}, "
             f"{run['seconds'] / 60:.1f} min in all on 2 shared CPU cores.",
             "", "Protocols, metrics and definitions: [docs/evaluation.md](../docs/evaluation.md). Means ± std over seeds.", ""]
    for protocol, models in mean.items():
        lines += [f"## {protocol}", "", "| model | " + " | ".join(METRIC_ORDER) + " |",
                  "|---|" + "---|" * len(METRIC_ORDER)]
        for name, m in models.items():
            cells = [f"{m[k]:.4f} ± {std[protocol][name][k]:.4f}" if k in m else "" for k in METRIC_ORDER]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        base = {n: m["ndcg@10"] for n, m in models.items() if n in BASELINES}
        if "fusion" in models and base:
            best = max(base, key=base.get)
            ratio = models["fusion"]["ndcg@10"] / base[best] if base[best] else float("nan")
            lines += ["", f"fusion NDCG@10 / best baseline ({best}) = **{ratio:.3f}** (target ≥ 1.10)."]
        lines += ["", "Cold slices (NDCG@10 / Recall@10): cold users = 10% of users cut to their 5 most recent "
                  "training ratings; cold items = ranking among items with ≤ 5 training ratings only.", "",
                  "| model | cold-user NDCG@10 | cold-user Recall@10 | cold-item NDCG@10 | cold-item Recall@10 |",
                  "|---|---|---|---|---|"]
        for name, m in models.items():
            cells = [f"{m.get(k, float('nan')):.4f} ± {std[protocol][name].get(k, float('nan')):.4f}"
                     for k in ("cold_user_ndcg@10", "cold_user_recall@10", "cold_item_ndcg@10", "cold_item_recall@10")]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines += ["", "Tuned on validation (fit → validation split, seed 0):", ""]
        for name, entry in results[protocol].items():
            tried = {k: round(v, 4) for k, v in entry["losses"].items()} if "losses" in entry else None
            extra = f"; variants tried (val NDCG@10, all validation users): {tried}" if tried else ""
            val = f"{entry['val']:.4f}" if isinstance(entry.get("val"), float) else "—"
            lines.append(f"- {name}: {entry['params']} (val NDCG@10 {val}{extra}; {entry['seconds']:.0f} s)")
        lines.append("")
    if run.get("behaviour"):
        b = run["behaviour"]
        lines += ["## Behaviour prediction (temporal, seed 0)", "",
                  f"Like (rating ≥ 4) vs not for {b['pairs']['test']:,} held-out pairs "
                  f"({b['pairs']['positive_share']:.1%} likes); logistic regression trained on the "
                  f"{b['pairs']['train']:,} validation pairs. `logreg`: context features + the user's mean "
                  "rating and count; `fusion`: the same plus the fusion model's logit.", "",
                  "| model | accuracy | F1 | AUC |", "|---|---|---|---|"]
        for name in ("majority", "logreg", "fusion"):
            r = b[name]
            lines.append(f"| {name} | {r['accuracy']:.4f} | {r['f1']:.4f} | {r['auc']:.4f} |")
        lines.append("")
    continual = out_dir / "continual.json"  # bench/continual_replay.py's result: kept across report rewrites
    if continual.exists():
        lines += continual_section(json.loads(continual.read_text())).splitlines() + [""]
    lines += ["## Plots", "", "![NDCG@10 per model](ndcg_per_model.png)", "", "![metric vs K](metric_vs_k.png)", "",
              "![training curves](training_curves.png)", "", "![cold slices](cold_slices.png)", ""]

    protocols = list(mean)
    models = list(next(iter(mean.values())))
    fig, axes = plt.subplots(1, len(protocols), figsize=(5 * len(protocols), 3.5), squeeze=False)
    for ax, p in zip(axes[0], protocols):
        vals = [mean[p][m]["ndcg@10"] for m in models]
        errs = [std[p][m]["ndcg@10"] for m in models]
        ax.bar(models, vals, yerr=errs, color=["tab:red" if m == "fusion" else "tab:blue" for m in models])
        ax.set_title(f"{p}: NDCG@10"), ax.tick_params(axis="x", rotation=45)
    fig.tight_layout(), fig.savefig(out_dir / "ndcg_per_model.png", dpi=100), plt.close(fig)

    fig, axes = plt.subplots(len(protocols), 2, figsize=(10, 3.5 * len(protocols)), squeeze=False)
    for row, p in zip(axes, protocols):
        for ax, metric in zip(row, ("ndcg", "recall")):
            for m in models:
                ax.plot(KS, [mean[p][m][f"{metric}@{k}"] for k in KS], marker="o", label=m)
            ax.set_title(f"{p}: {metric}@K"), ax.set_xlabel("K")
        row[0].legend(fontsize=7)
    fig.tight_layout(), fig.savefig(out_dir / "metric_vs_k.png", dpi=100), plt.close(fig)

    fig, axes = plt.subplots(1, len(protocols), figsize=(5 * len(protocols), 3.5), squeeze=False)
    for ax, p in zip(axes[0], protocols):
        for m in ("fusion", "mf"):
            for loss, curve in results[p].get(m, {}).get("curves", {}).items():
                ax.plot([c["epoch"] for c in curve], [c.get("val", np.nan) for c in curve], marker="o",
                        label=f"{m} ({loss})")
        ax.set_title(f"{p}: validation NDCG@10 per epoch"), ax.set_xlabel("epoch"), ax.legend(fontsize=7)
    fig.tight_layout(), fig.savefig(out_dir / "training_curves.png", dpi=100), plt.close(fig)

    fig, axes = plt.subplots(1, len(protocols), figsize=(5 * len(protocols), 3.5), squeeze=False)
    for ax, p in zip(axes[0], protocols):
        x = np.arange(len(models))
        for j, k in enumerate(("cold_user_ndcg@10", "cold_item_ndcg@10")):
            ax.bar(x + 0.4 * j, [mean[p][m].get(k, 0.0) for m in models], width=0.4, label=k)
        ax.set_xticks(x + 0.2, models, rotation=45), ax.set_title(f"{p}: cold slices"), ax.legend(fontsize=7)
    fig.tight_layout(), fig.savefig(out_dir / "cold_slices.png", dpi=100), plt.close(fig)

    path = out_dir / "evaluation.md"
    path.write_text("\n".join(lines))
    (out_dir / "evaluation.json").write_text(json.dumps({"mean": mean, "std": std, "behaviour": run.get("behaviour"),
                                                         "params": {p: {n: e["params"] for n, e in ms.items()}
                                                                    for p, ms in results.items()}}, indent=1))
    return path


# ---------------------------------------------------------------- continual learning (bench/continual_replay.py)

CONTINUAL_HEADING = "## Continual learning"


def continual_section(run: dict) -> str:
    """The report section for a bench/continual_replay.py result (its JSON)."""
    names = {"frozen_stale": "frozen, stale history", "frozen": "frozen (histories up to t1)",
             "incremental": "**incremental fine-tune**", "full": "full retrain (reference)"}
    p = run["incremental_params"]
    lines = [CONTINUAL_HEADING, "",
             f"Replay of MovieLens ratings as feedback events (`{run['command'].strip()}`, {run['generated']}; "
             f"{run['catalog']}, embedder {run['embedder']}, seeds 0..{run['seeds'] - 1}, {run['seconds'] / 60:.1f} min "
             "on 2 shared CPU cores). The model is trained on the base slice (before t0) as `chatrec train` does; "
             "the next slice (t0..t1) is written to a profile database as `rating` events and `chatrec train "
             "--incremental`'s code fine-tunes the checkpoint on them "
             f"({p['epochs']} epochs, lr {p['lr']}, {p['replay']}× replayed base rows, at least {p['min_replay']}; "
             f"gate tolerance {p['tolerance']}); every model is then ranked on the following slice (t1..t2) with the "
             "temporal protocol's candidates (full catalog minus everything the user rated before t1; positives = "
             "ratings ≥ 4). *Frozen* keeps the base weights but sees histories up to t1, as the app does without "
             "retraining. Means ± std over seeds; Δ = paired difference to *frozen* over test users (per-user "
             "NDCG@10 averaged over seeds) with a 95% bootstrap interval. Details: "
             "[docs/evaluation.md](../docs/evaluation.md#continual-learning).", ""]
    if run.get("tuning"):
        t = run["tuning"]
        grid = ", ".join(f"{g['lr']:g}×{g['epochs']}: {g['ndcg@10']:.4f}" for g in t["grid"])
        lines += [f"Fine-tuning lr × epochs were chosen on a validation replay that ends before every test slice "
                  f"(per-user slices: base = first 60%, feedback = next 10%, validation = the 10% after; seed 0; "
                  f"frozen {t['frozen']:.4f}): {grid} (reports/continual_tuning.json).", ""]
    titles = {"user": "Per-user time slices (each user's first 60% / next 20% / last 20% of ratings)",
              "global": "One clock for everyone (t0, t1 = 80% and 90% quantiles of rating times)"}
    for protocol, r in run["protocols"].items():
        title = titles.get(protocol, protocol)
        if "cuts" in r:
            title += f": t0 {r['cuts'][0]}, t1 {r['cuts'][1]}, t2 {r['cuts'][2]}"
        u = r["users"]
        if r.get("skipped"):
            lines += [f"### {title}", "", f"Skipped: {r['skipped']}.", ""]
            continue
        lines += [f"### {title}", "",
                  f"{r['rows']['base']:,} base / {r['rows']['feedback']:,} feedback / {r['rows']['test']:,} test "
                  f"ratings; {u['feedback']} people gave feedback, {u['feedback_unknown']} of them unknown to the "
                  f"base model (served through the history path); {u['test']} test users "
                  f"({u['test_known_at_t0']} known at t0).", "",
                  "| model | NDCG@10 | Recall@10 | NDCG@20 | HR@10 | MRR | Δ NDCG@10 vs frozen [95% CI] |",
                  "|---|---|---|---|---|---|---|"]
        seeds = r["seeds"]
        for name in seeds[0]["metrics"]:
            cells = []
            for k in ("ndcg@10", "recall@10", "ndcg@20", "hr@10", "mrr"):
                v = [s["metrics"][name][k] for s in seeds]
                cells.append(f"{np.mean(v):.4f} ± {np.std(v):.4f}")
            d = r["diff_vs_frozen"].get(name)
            cells.append("—" if d is None else f"{d[0]:+.4f} [{d[1]:+.4f}, {d[2]:+.4f}]")
            lines.append(f"| {names.get(name, name)} | " + " | ".join(cells) + " |")
        g = [s["gate"] for s in seeds]
        lines += ["", "Gate (validation NDCG@10 on the base slice's held-out last 10% per user, old → new): " +
                  "; ".join(f"seed {s['seed']}: {x['val_old']:.4f} → {x['val_new']:.4f} {x['status']}"
                            for s, x in zip(seeds, g)) +
                  f". Fine-tuning rows: {g[0]['new_rows']:,} feedback + {g[0]['replay_rows']:,} replayed; "
                  f"{g[0]['newly_warm_items']} items turned warm.",
                  "", "Time per seed (mean): base training {:.0f} s, incremental run {:.0f} s{}.".format(
                      np.mean([s["base_train_s"] for s in seeds]), np.mean([s["incremental_s"] for s in seeds]),
                      f", full retrain {np.mean([s['full_train_s'] for s in seeds]):.0f} s"
                      if "full_train_s" in seeds[0] else "")]
        n = r.get("by_user_kind_n", {})
        if n.get("new_after_t0"):
            bk = r["by_user_kind"]
            lines += ["", "NDCG@10 by test user (seed means): " + "; ".join(
                f"{kind.replace('_', ' ')} (n={n[kind]}): " + ", ".join(
                    f"{name} {v:.4f}" for name, v in bk[kind].items() if v is not None)
                for kind in ("known_at_t0", "new_after_t0"))]
        lines.append("")
    return "\n".join(lines)


def splice_section(text: str, section: str, heading: str = CONTINUAL_HEADING) -> str:
    """`text` with its `heading` section replaced by `section` (or inserted before "## Plots", else appended)."""
    section = section.rstrip("\n") + "\n"
    start = text.find(heading + "\n")
    if start >= 0:
        nxt = text.find("\n## ", start + len(heading))
        end = len(text) if nxt < 0 else nxt + 1
        return text[:start] + section + ("\n" if nxt >= 0 else "") + text[end:]
    plots = text.find("\n## Plots")
    if plots >= 0:
        return text[: plots + 1] + section + "\n" + text[plots + 1:]
    return text.rstrip("\n") + "\n\n" + section


def synthetic_movielens(folder: Path, n_users: int = 40, n_items: int = 60, per_user: int = 20, seed: int = 0) -> Path:
    """A tiny MovieLens-style folder (movies.csv, ratings.csv) with real structure: every user prefers one
    genre. For tests and smoke runs."""
    import csv

    rng = np.random.default_rng(seed)
    genres = ["Comedy", "Horror", "Romance", "Sci-Fi"]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    item_genre = [i % len(genres) for i in range(n_items)]
    with open(folder / "movies.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["movieId", "title", "genres"])
        for i in range(n_items):
            w.writerow([i + 1, f"{genres[item_genre[i]]} Story {i} ({1980 + i % 30})", genres[item_genre[i]]])
    with open(folder / "ratings.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["userId", "movieId", "rating", "timestamp"])
        for u in range(n_users):
            fav = u % len(genres)
            liked = [i for i in range(n_items) if item_genre[i] == fav]
            other = [i for i in range(n_items) if item_genre[i] != fav]
            n_like = min(len(liked), int(per_user * 0.75))
            picks = list(rng.choice(liked, n_like, replace=False)) + \
                list(rng.choice(other, per_user - n_like, replace=False))
            rng.shuffle(picks)
            t0 = 1_000_000_000 + int(rng.integers(0, 10**8))
            for k, i in enumerate(picks):
                r = float(rng.choice([4.0, 4.5, 5.0])) if item_genre[i] == fav else float(rng.choice([1.0, 2.0, 3.0]))
                w.writerow([u + 1, i + 1, r, t0 + 1000 * k])
    return folder
