"""Training the fusion reranker (`chatrec train`).

- `build_model`: a `FusionModel` whose item statistics come from the training rows only (no peeking at
  held-out data), plus the `UserTable` of histories.
- `fit`: the training loop, run through `accelerate` (CPU here; the same code runs on one or many GPUs
  under `accelerate launch`), seeded, with early stopping on a validation callback and a tqdm bar.
- `make_validator`: NDCG@10 on a fixed sample of validation users, the early-stopping signal.
- `train_catalog`: all of it for the configured catalog, saved through `chatrec.ranking.checkpoint`.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from chatrec.catalog import Catalog
from chatrec.config import Config
from chatrec.errors import ChatrecError
from chatrec.evaluation.metrics import ranking_metrics
from chatrec.ranking.checkpoint import checkpoint_path, collab_path, item_text_vectors, save_checkpoint, save_collab
from chatrec.ranking.fusion import LOSSES, FusionConfig, FusionModel, UserTable, pair_fold, row_losses
from chatrec.ranking.hybrid import head_path, save_head
from chatrec.training.collab import ease_block, fit_als, fit_als_folds, fit_collab, fit_ease, fit_ease_folds
from chatrec.training.hybrid_fit import HeadParams, train_head
from chatrec.training.data import Interactions, data_stamp, holdout_last, load_interactions


def genre_matrix(catalog: Catalog) -> np.ndarray:
    col = {g: j for j, g in enumerate(catalog.genres)}
    m = np.zeros((len(catalog), max(1, len(catalog.genres))), dtype=np.float32)
    for i, it in enumerate(catalog.items):
        for g in it.genres:
            m[i, col[g]] = 1.0
    return m


def item_statistics(catalog: Catalog, train: Interactions, prior: float = 20.0) -> dict:
    """Popularity and shrunk mean rating from the training rows only (the catalog's own counts would leak)."""
    n = len(catalog)
    counts = np.bincount(train.item, minlength=n).astype(np.float32)
    sums = np.bincount(train.item, weights=train.rating, minlength=n).astype(np.float32)
    mean = float(train.rating.mean()) if len(train) else 3.0
    shrunk = (sums + prior * mean) / (counts + prior)
    top = counts.max() if n else 0.0
    return {
        "warm": (counts > 0).astype(np.float32),
        "popularity": (np.log1p(counts) / np.log1p(top) if top > 0 else counts).astype(np.float32),
        "quality": ((shrunk - 3.0) / 2.0).astype(np.float32),
        "year": np.array([it.year or 0 for it in catalog.items], dtype=np.float32),
        "genres": genre_matrix(catalog),
    }


def build_model(cfg: FusionConfig, catalog: Catalog, vectors: np.ndarray, train: Interactions,
                collab_folds: int = 5, seed: int = 0) -> FusionModel:
    """A fresh model with its item statistics, text vectors and (with `cfg.collab_factors`) ALS factors from
    `train`, plus `collab_folds` out-of-fold ALS models for scoring the training rows (0 or 1: none, the
    in-sample scores are used: only for experiments, it leaks)."""
    model = FusionModel(cfg)
    model.set_item_stats(**item_statistics(catalog, train))
    model.set_item_text(vectors)
    if cfg.collab_factors > 0:
        params = dict(factors=cfg.collab_factors, regularization=cfg.collab_reg, alpha=cfg.collab_alpha)
        users, items = fit_als(train, seed=seed, **params)
        folds = fit_als_folds(train, collab_folds, seed=seed + 1, **params) if collab_folds > 1 else None
        model.set_collab(users, items, folds)
    if cfg.ease_items > 0:
        block = ease_block(train, cfg.ease_items)
        b = fit_ease(train, block, cfg.ease_reg)
        folds = fit_ease_folds(train, block, collab_folds, cfg.ease_reg) if collab_folds > 1 else None
        model.set_ease(block, b, folds)
    return model


def user_table(model: FusionModel, data: Interactions, ref_years: np.ndarray | None = None) -> UserTable:
    ref = data.last_year() if ref_years is None else ref_years
    return UserTable(data.histories(), ref, model.text, model.item_genres, model.cfg)


# ---------------------------------------------------------------- training loop

# The defaults of `fit`, `chatrec train` and the evaluation's fusion runs.
# BPR won on the temporal validation split in the seeded runs (reports/evaluation.md: 0.0837 vs 0.0822 for BCE);
# 8 sampled negatives per positive beat 4 on the validation slice of bench/cold_users (0.0723 vs 0.0680)
# The model's own defaults for new training (FusionConfig's field defaults stay as they were, so checkpoints written
# before a field existed still load as the model they were): EASE item-item scores as an input, over the 1,500 most
# rated films (validation NDCG@10, EASE only / ALS + EASE / ALS only: temporal 0.0959 / 0.0908 / 0.0869, random
# 0.1949 / 0.1938 / 0.1852 with 2,500 films; 1,500 scores the same to three digits and keeps the bundled checkpoint
# under 10 MB; the iALS input stays available as `collab_factors`; docs/evaluation.md).
MODEL_DEFAULTS = {"collab_factors": 0, "collab_reg": 0.01, "collab_alpha": 1.0, "ease_items": 1500,
                  "ease_reg": 200.0}
DEFAULTS = {"loss": "bpr", "epochs": 20, "lr": 2e-3, "weight_decay": 0.1, "n_neg": 8, "batch_size": 1024}


@dataclass
class TrainResult:
    model: FusionModel
    curve: list[dict]  # one row per epoch: epoch, loss, val (the validation metric, if any), seconds
    best_epoch: int
    best_val: float | None


def fit(model: FusionModel, table: UserTable, train: Interactions, *, loss: str = DEFAULTS["loss"],
        epochs: int = DEFAULTS["epochs"], batch_size: int = DEFAULTS["batch_size"], lr: float = DEFAULTS["lr"],
        weight_decay: float = DEFAULTS["weight_decay"], n_neg: int = DEFAULTS["n_neg"], seed: int = 0,
        patience: int = 3, validate: Callable[[FusionModel], float] | None = None, progress: bool = True,
        threads: int = 1, weights: np.ndarray | None = None, labels: np.ndarray | None = None,
        desc: str = "epoch", device: str = "auto", collab_scale: float | None = None) -> TrainResult:
    """Train on (user, item) positives with uniformly sampled negatives; keep the best epoch by `validate`.

    `weights` and `labels` (+1 / -1 per row) are for feedback rows (chatrec/continual.py): weak positives
    count less, and -1 rows are explicit negatives (see `fusion.row_losses`). Without them every row is a
    positive of weight 1, as in MovieLens training."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm

    from chatrec.devices import resolve_device

    if loss not in LOSSES:
        raise ChatrecError(f"unknown loss {loss!r}: use one of {', '.join(LOSSES)}")
    if len(train) == 0:
        raise ChatrecError("no training interactions: the catalog folder needs a ratings.csv (or give feedback first)")
    torch.set_num_threads(threads)  # one thread: on 2 shared cores a second one mostly spin-waits
    set_seed(seed)
    # `device` is a Config.device value (chatrec.devices): the one setting the encoder and serving use too
    target = resolve_device(device)
    if target.startswith("cuda:"):
        torch.cuda.set_device(int(target.split(":")[1]))  # accelerate trains on the current CUDA device
    accelerator = Accelerator(cpu=target == "cpu")
    loss_fn = LOSSES[loss]
    weighted = weights is not None or labels is not None
    columns = [torch.as_tensor(train.user), torch.as_tensor(train.item)]
    if weighted:
        columns.append(torch.as_tensor(np.ones(len(train)) if weights is None else weights, dtype=torch.float32))
        columns.append(torch.as_tensor(np.ones(len(train)) if labels is None else labels, dtype=torch.float32))
    pairs = torch.utils.data.TensorDataset(*columns)
    loader = torch.utils.data.DataLoader(pairs, batch_size=batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    table.to(accelerator.device)
    raw = accelerator.unwrap_model(model)
    n_items = raw.cfg.n_items
    n_folds = raw.n_folds  # > 0: each row's ALS input comes from the model fitted without its pair
    ease_table = raw.ease_user_table(table) if n_folds and raw.cfg.ease_items > 0 else None

    curve: list[dict] = []
    best_val, best_epoch, best_state, bad = -math.inf, 0, None, 0
    for epoch in range(1, epochs + 1):
        start = time.time()
        model.train()
        total, steps = 0.0, 0
        bar = tqdm(loader, desc=f"{desc} {epoch}/{epochs}", unit="batch", leave=False,
                   disable=not progress or not accelerator.is_local_main_process)
        for batch in bar:
            users, items = batch[0], batch[1]
            neg = torch.randint(0, n_items, (len(users), n_neg), device=users.device)
            ub = table.batch(users)
            if n_folds:
                ub.fold = pair_fold(users, items, n_folds)
                if ease_table is not None:
                    ub.ease_user = ease_table[ub.fold, users]
            logits = model(ub, torch.cat([items.unsqueeze(1), neg], 1), exclude=items)
            if weighted:
                w = batch[2]
                per_row = row_losses(loss, logits[:, 0], logits[:, 1:], batch[3])
                batch_loss = (w * per_row).sum() / w.sum().clamp_min(1e-9)
            else:
                batch_loss = loss_fn(logits[:, 0], logits[:, 1:])
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(batch_loss)
            optimizer.step()
            total += float(batch_loss.detach())
            steps += 1
            bar.set_postfix(loss=f"{total / steps:.4f}")
        row = {"epoch": epoch, "loss": total / max(steps, 1), "seconds": time.time() - start}
        if validate is not None:
            model.eval()
            with torch.inference_mode():
                row["val"] = float(validate(raw))
            if row["val"] > best_val:
                best_val, best_epoch, bad = row["val"], epoch, 0
                best_state = copy.deepcopy(raw.state_dict())
            else:
                bad += 1
        curve.append(row)
        if progress and accelerator.is_local_main_process:
            extra = f", val {row['val']:.4f}" if "val" in row else ""
            tqdm.write(f"{desc} {epoch}: loss {row['loss']:.4f}{extra} ({row['seconds']:.1f} s)")
        if validate is not None and bad >= patience:
            break
    if best_state is not None:
        raw.load_state_dict(best_state)
    else:
        best_epoch = len(curve)
    raw.drop_folds()  # scoring from here on uses the ALS model fitted on all training rows
    raw.eval()
    table.to("cpu")
    raw.to("cpu")
    return TrainResult(raw, curve, best_epoch, None if validate is None else best_val)


@torch.inference_mode()
def score_all(model: FusionModel, table: UserTable, rows: np.ndarray, user_ids: np.ndarray | None = None,
              chunk: int = 32) -> np.ndarray:
    """(len(rows), n_items) scores over the whole catalog; `user_ids` default to the table's mapping (the rows)."""
    model.eval()
    iv = model.item_vectors()
    out = np.empty((len(rows), model.cfg.n_items), dtype=np.float32)
    rows_t = torch.as_tensor(np.asarray(rows, dtype=np.int64))
    ids_t = None if user_ids is None else torch.as_tensor(np.asarray(user_ids, dtype=np.int64))
    for lo in range(0, len(rows), chunk):
        ub = table.batch(rows_t[lo: lo + chunk], None if ids_t is None else ids_t[lo: lo + chunk])
        out[lo: lo + chunk] = model(ub, None, item_v=iv).numpy()
    return out


# ---------------------------------------------------------------- checkpoints


# ---------------------------------------------------------------- data from the project


# ---------------------------------------------------------------- `chatrec train`


def train_model(catalog: Catalog, vectors: np.ndarray, data: Interactions, *, loss: str | None = None,
                epochs: int | None = None, progress: bool = True, seed: int = 0, model_params: dict | None = None,
                train_params: dict | None = None, device: str = "auto") -> tuple[TrainResult, dict]:
    """Train a fresh fusion model on `data` (its last 10% per user validate); returns the result and the
    checkpoint metadata `extra` that continual training relies on."""

    fit_rows, val_rows = holdout_last(data)
    cfg = FusionConfig(n_users=data.n_users, n_items=data.n_items, n_genres=max(1, len(catalog.genres)),
                       text_dim=vectors.shape[1], ref_year=float(data.last_year().max()),
                       **{**MODEL_DEFAULTS, **(model_params or {})})
    torch.manual_seed(seed)  # the initial weights too: `fit` seeds only what happens after them
    model = build_model(cfg, catalog, vectors, fit_rows, seed=seed)
    table = user_table(model, fit_rows)
    kwargs = {k: v for k, v in DEFAULTS.items() if k not in ("loss", "epochs")}
    kwargs.update(train_params or {})
    result = fit(model, table, fit_rows, loss=loss or DEFAULTS["loss"], epochs=epochs or DEFAULTS["epochs"],
                 seed=seed, validate=make_validator(table, fit_rows, val_rows, seed=seed), progress=progress,
                 device=device, **kwargs)
    # how much familiarity counts for people with short histories (strangers in the chat), chosen on validation
    prior = fit_cold_prior(result.model, fit_rows, val_rows, seed=seed)
    extra = {"loss": loss or DEFAULTS["loss"], "best_epoch": result.best_epoch, "val_ndcg@10": result.best_val,
             "cold_prior": prior,
             "curve": result.curve, "interactions": len(data), "seed": seed, "train_params": kwargs,
             # what `chatrec train --incremental` needs to rebuild the same validation slice and to know which
             # feedback events this checkpoint has learned from (none: full training reads ratings.csv only)
             "base_stamp": data_stamp(data), "events_until": 0, "events_trained": 0, "incremental_runs": []}
    return result, extra


def train_catalog(config: Config, *, loss: str | None = None, epochs: int | None = None, progress: bool = True,
                  seed: int = 0, model_params: dict | None = None, train_params: dict | None = None,
                  head_params: dict | None = None) -> dict:
    """Train the fusion model on the catalog's interactions and save the checkpoint; returns a summary."""
    from chatrec.catalog import load_catalog

    start = time.time()
    catalog = load_catalog(config.catalog)
    data = load_interactions(config.catalog_dir, catalog)
    vectors, emb_name = item_text_vectors(config, catalog)
    result, extra = train_model(catalog, vectors, data, loss=loss, epochs=epochs, progress=progress, seed=seed,
                                model_params=model_params, train_params=train_params, device=config.device)
    path = save_checkpoint(result.model, checkpoint_path(config), catalog=catalog, embedder_name=emb_name,
                           user_keys=data.user_keys, extra=extra)
    collab, params = fit_collab(data, seed=seed)  # "people who liked X also liked": retrieval's collaborative source
    save_collab(collab_path(config), collab, catalog=catalog, params=params)
    # the source head that ranks every candidate source's evidence together, learned on simulated requests
    head_summary = {"val_hit@5": None, "skipped": "CHATREC_RANKING_HEAD is 0"}
    try:
        if not config.ranking_head:
            raise ValueError(head_summary["skipped"])
        head, head_summary = train_head(config, catalog, data, vectors, seed=seed, progress=progress,
                                        params=HeadParams(**(head_params or {})), model_params=model_params)
        save_head(head, head_path(config))
    except ValueError as exc:  # off, or too few ratings to simulate requests from: `combine`'s set weights rank
        head_path(config).unlink(missing_ok=True)
        head_summary = {"val_hit@5": None, "skipped": str(exc)}
    return {"path": str(path), "collab": str(collab_path(config)), "head": str(head_path(config)),
            "head_val_hit@5": head_summary["val_hit@5"], "best_epoch": result.best_epoch,
            "val_ndcg@10": result.best_val,
            "epochs_run": len(result.curve), "seconds": time.time() - start, "interactions": len(data)}


def make_validator(table, train: Interactions, val: Interactions, max_users: int = 300, seed: int = 0):
    """NDCG@10 of a model on (a fixed sample of) the validation users: the early-stopping signal."""

    liked = val.subset(val.rating >= 4)
    users = np.unique(liked.user)
    if len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
    pos, seen = positives_by_user(liked, users), positives_by_user(train, users)

    def validate(model) -> float:
        return ranking_metrics(score_all(model, table, users), pos, seen=seen, ks=(10,))["ndcg@10"]
    return validate


COLD_PRIOR_GRID = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
COLD_PRIOR_POWERS = (1.0, 2.0, 3.0, 4.0)  # how fast the prior fades as a history grows: min(1, 5 / n) ** power


def fit_cold_prior(model: FusionModel, fit_rows: Interactions, val_rows: Interactions, *, cold_share: float = 0.1,
                   n: int = 5, max_users: int = 600, seed: int = 0, grid=COLD_PRIOR_GRID,
                   powers=COLD_PRIOR_POWERS) -> dict:
    """Choose `FusionConfig.cold_prior` and `cold_prior_power` on validation: a sample of validation users, each
    scored twice, with their whole history and as if they had rated only their `n` most recent training films (how
    the evaluation makes cold users, and how little the chat knows of a stranger); the pair with the best NDCG@10
    weighted `cold_share` cold to the rest warm is kept on the model. Every user is scored cold, not `cold_share` of
    them: sixty cold users chose the prior by noise (on the random protocol 16 was chosen, 64 was better on the
    test users of every seed). Returns {"prior^power": NDCG@10} and the choice."""
    from chatrec.training.data import recent_only

    liked = val_rows.subset(val_rows.rating >= 4)
    users = np.unique(liked.user)
    if len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
    full = user_table(model, fit_rows)
    short = user_table(model, fit_rows.subset(recent_only(fit_rows, users, n)))
    pos, seen = positives_by_user(liked, users), positives_by_user(fit_rows, users)
    ndcg = lambda table: ranking_metrics(score_all(model, table, users), pos, seen=seen, ks=(10,))["ndcg@10"]  # noqa: E731
    old = model.cfg.cold_prior, model.cfg.cold_prior_n, model.cfg.cold_prior_power
    model.cfg.cold_prior_n = n
    # the short histories' scores do not depend on the power (their weight is min(1, n / n) = 1): one pass per prior
    values: dict[tuple[float, float], float] = {}
    try:
        for g in grid:
            model.cfg.cold_prior = float(g)
            cold = ndcg(short)
            for p in (powers if g else powers[:1]):  # no prior: every power is the same model
                model.cfg.cold_prior_power = float(p)
                values[(float(g), float(p))] = (1.0 - cold_share) * ndcg(full) + cold_share * cold
    finally:
        model.cfg.cold_prior, model.cfg.cold_prior_n, model.cfg.cold_prior_power = old
    best = max(values, key=lambda k: (values[k], -k[0], -k[1]))  # ties go to the smaller prior, then power
    model.cfg.cold_prior, model.cfg.cold_prior_power = best
    model.cfg.cold_prior_n = n
    return {"cold_prior": best[0], "cold_prior_power": best[1],
            "val_ndcg@10_by_prior": {f"{g}^{p}": round(v, 5) for (g, p), v in values.items()}}


def positives_by_user(data: Interactions, users: np.ndarray) -> list[np.ndarray]:
    order = np.argsort(data.user, kind="stable")
    u, it = data.user[order], data.item[order]
    lo, hi = np.searchsorted(u, users), np.searchsorted(u, users, side="right")
    return [it[a:b] for a, b in zip(lo, hi)]
