"""Training the fusion reranker, and its checkpoints.

- `Interactions`: (user, item, rating, time) rows as NumPy arrays, with item positions = catalog positions.
- `build_model`: a `FusionModel` whose item statistics come from the training rows only (no peeking at
  held-out data), plus the `UserTable` of histories.
- `fit`: the training loop, run through `accelerate` (CPU here; the same code runs on one or many GPUs
  under `accelerate launch`), seeded, with early stopping on a validation callback and a tqdm bar.
- `save_checkpoint` / `load_checkpoint`: weights + config + catalog fingerprint + embedder name, written
  atomically; a checkpoint made for another catalog or embedder is refused with a message naming
  `chatrec train`.
- `item_text_vectors`: the frozen sentence vectors of the catalog, from the bundled embedding cache or the
  built index; items are embedded only when neither has them.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .catalog import Catalog
from .config import Config
from .errors import ChatrecError
from .fusion import LOSSES, FusionConfig, FusionModel, UserTable, row_losses

CHECKPOINT = "fusion.pt"
TRAIN_HINT = "run `chatrec train` to train the reranker for this catalog and embedder"


@dataclass
class Interactions:
    user: np.ndarray  # int64 user index (0..n_users-1)
    item: np.ndarray  # int64 catalog position
    rating: np.ndarray  # float32; implicit data may use 1.0
    time: np.ndarray  # int64 (seconds); order within a user matters, the scale does not
    n_users: int
    n_items: int
    user_keys: list[str] = field(default_factory=list)  # user index -> external id

    def __len__(self) -> int:
        return len(self.user)

    def subset(self, mask: np.ndarray) -> "Interactions":
        return Interactions(self.user[mask], self.item[mask], self.rating[mask], self.time[mask],
                            self.n_users, self.n_items, self.user_keys)

    def histories(self) -> list[list[int]]:
        """Per user, item positions ordered by time (oldest first)."""
        order = np.lexsort((self.item, self.time, self.user))
        u, it = self.user[order], self.item[order]
        bounds = np.searchsorted(u, np.arange(self.n_users + 1))
        return [it[bounds[k]: bounds[k + 1]].tolist() for k in range(self.n_users)]

    def last_year(self) -> np.ndarray:
        """Per user, the year of their latest interaction ("now" for that user); users without any: the newest year."""
        latest = np.full(self.n_users, self.time.max() if len(self.time) else 0, dtype=np.int64)
        if len(self.time):
            per_user = np.full(self.n_users, -1, dtype=np.int64)
            np.maximum.at(per_user, self.user, self.time)
            latest = np.where(per_user >= 0, per_user, latest)
        return np.array([_year(t) for t in latest], dtype=np.float32)


def _year(seconds: int) -> float:
    return float(time.gmtime(int(seconds)).tm_year) if seconds > 0 else 0.0


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


def build_model(cfg: FusionConfig, catalog: Catalog, vectors: np.ndarray, train: Interactions) -> FusionModel:
    model = FusionModel(cfg)
    model.set_item_stats(**item_statistics(catalog, train))
    model.set_item_text(vectors)
    return model


def user_table(model: FusionModel, data: Interactions, ref_years: np.ndarray | None = None) -> UserTable:
    ref = data.last_year() if ref_years is None else ref_years
    return UserTable(data.histories(), ref, model.text, model.item_genres, model.cfg)


# ---------------------------------------------------------------- training loop

# The defaults of `fit`, `chatrec train` and the evaluation's fusion runs.
# BPR won on the temporal validation split in the seeded runs (reports/evaluation.md: 0.0837 vs 0.0822 for BCE);
# 8 sampled negatives per positive beat 4 on the validation slice of bench/cold_users (0.0723 vs 0.0680)
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
        desc: str = "epoch") -> TrainResult:
    """Train on (user, item) positives with uniformly sampled negatives; keep the best epoch by `validate`.

    `weights` and `labels` (+1 / -1 per row) are for feedback rows (chatrec/continual.py): weak positives
    count less, and -1 rows are explicit negatives (see `fusion.row_losses`). Without them every row is a
    positive of weight 1, as in MovieLens training."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm

    if loss not in LOSSES:
        raise ChatrecError(f"unknown loss {loss!r}: use one of {', '.join(LOSSES)}")
    if len(train) == 0:
        raise ChatrecError("no training interactions: the catalog folder needs a ratings.csv (or give feedback first)")
    torch.set_num_threads(threads)  # one thread: on 2 shared cores a second one mostly spin-waits
    set_seed(seed)
    accelerator = Accelerator()
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
            logits = model(table.batch(users), torch.cat([items.unsqueeze(1), neg], 1), exclude=items)
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

def checkpoint_path(config: Config) -> Path:
    """Where `chatrec train` (and --incremental) write the reranker."""
    return Path(config.model_dir) / CHECKPOINT


def bundled_checkpoint_path(config: Config) -> Path:
    """A checkpoint shipped beside the catalog (data/movielens/fusion.pt): a fresh clone or a Space serves the
    trained reranker at once, without a training run. It is read, never written."""
    return catalog_folder(config) / CHECKPOINT


def find_checkpoint(config: Config) -> Path | None:
    """The checkpoint to load: the one trained here, else the bundled one, else None."""
    for path in (checkpoint_path(config), bundled_checkpoint_path(config)):
        if path.exists():
            return path
    return None


def save_checkpoint(model: FusionModel, path: Path, *, catalog: Catalog, embedder_name: str,
                    user_keys: list[str], extra: dict | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": 1,
        "config": dataclasses.asdict(model.cfg),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "catalog_fingerprint": catalog.fingerprint(),
        "catalog": catalog.name,
        "embedder": embedder_name,
        "user_keys": list(user_keys),
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "extra": extra or {},
    }
    # a temp name of its own per writer (a background fine-tune and a CLI run must not share one), in the same
    # folder so os.replace stays a rename on one file system
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic: a crash mid-save leaves the previous checkpoint intact
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: Path, *, catalog: Catalog, embedder_name: str, vectors: np.ndarray) -> tuple[FusionModel, dict]:
    """The model ready for inference, and the checkpoint's metadata. Refuses a checkpoint for other data."""
    path = Path(path)
    if not path.exists():
        raise ChatrecError(f"no reranker checkpoint at {path}; {TRAIN_HINT}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ChatrecError(f"the reranker checkpoint {path} is unreadable ({exc}); {TRAIN_HINT}") from exc
    if payload.get("catalog_fingerprint") != catalog.fingerprint():
        raise ChatrecError(f"the reranker checkpoint {path} was trained on another catalog "
                           f"({payload.get('catalog')}, fingerprint {payload.get('catalog_fingerprint')}) than "
                           f"{catalog.name} ({catalog.fingerprint()}); {TRAIN_HINT}")
    if payload.get("embedder") != embedder_name:
        raise ChatrecError(f"the reranker checkpoint {path} was trained with embedder {payload.get('embedder')}, "
                           f"not {embedder_name}; {TRAIN_HINT}")
    try:  # a checkpoint from another version of the model: other fields or other shapes
        model = FusionModel(FusionConfig(**payload["config"]))
        model.load_state_dict(payload["state_dict"])
    except (TypeError, RuntimeError, KeyError) as exc:
        raise ChatrecError(f"the reranker checkpoint {path} does not fit this version of the model "
                           f"({str(exc).splitlines()[0][:200]}); {TRAIN_HINT}") from exc
    model.set_item_text(vectors)
    model.eval()
    return model, {k: v for k, v in payload.items() if k != "state_dict"}


# ---------------------------------------------------------------- data from the project

def item_text_vectors(config: Config, catalog: Catalog) -> tuple[np.ndarray, str]:
    """(vectors aligned with catalog.items, embedder name): embedding cache first, then the index, then encode."""
    from .errors import IndexNotReady
    from .index import VectorIndex, cache_path, load_embedding_cache

    name = embedder_name(config.embedder)
    cached = load_embedding_cache(cache_path(config, _Named(name)))
    hashes = [it.content_hash() for it in catalog.items]
    if cached and all(h in cached for h in hashes):
        v = np.stack([cached[h] for h in hashes]).astype(np.float32)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12), name
    from .embed import get_embedder

    embedder = get_embedder(config.embedder)
    try:
        return VectorIndex.open(catalog, embedder, config).vectors, embedder.name
    except IndexNotReady:
        pass
    if len(catalog) > 2000 and not embedder.name.startswith("hashing"):
        raise ChatrecError("no embedding cache or built index holds this catalog's vectors; "
                           "run `chatrec build-index` first")
    return embedder.encode([it.text() for it in catalog.items]), embedder.name


@dataclass
class _Named:
    name: str


def embedder_name(spec: str) -> str:
    """The name an embedder spec resolves to, without loading a model where the name is known."""
    if spec == "minilm":
        return "all-MiniLM-L6-v2@128"  # what SentenceTransformerEmbedder reports (max_seq_length 128)
    from .embed import get_embedder

    return get_embedder(spec).name


def load_interactions(catalog_dir: str | Path, catalog: Catalog) -> Interactions:
    """MovieLens ratings.csv -> Interactions over catalog positions (rows for unknown items are dropped)."""
    import pandas as pd

    path = Path(catalog_dir) / "ratings.csv"
    if not path.exists():
        raise ChatrecError(f"no interactions to train on: {path} does not exist (training needs a MovieLens-style "
                           "ratings.csv beside the catalog)")
    df = pd.read_csv(path, dtype={"userId": str, "movieId": str})
    pos = df["movieId"].map(catalog.index_of)
    df = df[pos.notna()].assign(pos=pos[pos.notna()].astype(np.int64))
    keys, user = np.unique(df["userId"].to_numpy(), return_inverse=True)
    order = sorted(range(len(keys)), key=lambda k: (len(keys[k]), keys[k]))  # numeric ids in numeric order
    remap = np.empty(len(keys), dtype=np.int64)
    remap[order] = np.arange(len(keys))
    return Interactions(
        user=remap[user].astype(np.int64), item=df["pos"].to_numpy(np.int64),
        rating=df["rating"].to_numpy(np.float32), time=df["timestamp"].to_numpy(np.int64),
        n_users=len(keys), n_items=len(catalog), user_keys=[str(keys[k]) for k in order],
    )


# ---------------------------------------------------------------- `chatrec train`

def holdout_last(data: Interactions, frac: float = 0.1) -> tuple[Interactions, Interactions]:
    """(fit, validation): each user's most recent `frac` of interactions are the validation set."""
    from .evaluate import _rank_in_user

    rank, n = _rank_in_user(data, data.time)
    val = rank >= n - np.round(frac * n).astype(np.int64)
    return data.subset(~val), data.subset(val)


def train_model(catalog: Catalog, vectors: np.ndarray, data: Interactions, *, loss: str | None = None,
                epochs: int | None = None, progress: bool = True, seed: int = 0, model_params: dict | None = None,
                train_params: dict | None = None) -> tuple[TrainResult, dict]:
    """Train a fresh fusion model on `data` (its last 10% per user validate); returns the result and the
    checkpoint metadata `extra` that continual training relies on."""
    from .evaluate import make_validator

    fit_rows, val_rows = holdout_last(data)
    cfg = FusionConfig(n_users=data.n_users, n_items=data.n_items, n_genres=max(1, len(catalog.genres)),
                       text_dim=vectors.shape[1], ref_year=float(data.last_year().max()), **(model_params or {}))
    torch.manual_seed(seed)  # the initial weights too: `fit` seeds only what happens after them
    model = build_model(cfg, catalog, vectors, fit_rows)
    table = user_table(model, fit_rows)
    kwargs = {k: v for k, v in DEFAULTS.items() if k not in ("loss", "epochs")}
    kwargs.update(train_params or {})
    result = fit(model, table, fit_rows, loss=loss or DEFAULTS["loss"], epochs=epochs or DEFAULTS["epochs"],
                 seed=seed, validate=make_validator(table, fit_rows, val_rows, seed=seed), progress=progress,
                 **kwargs)
    extra = {"loss": loss or DEFAULTS["loss"], "best_epoch": result.best_epoch, "val_ndcg@10": result.best_val,
             "curve": result.curve, "interactions": len(data), "seed": seed, "train_params": kwargs,
             # what `chatrec train --incremental` needs to rebuild the same validation slice and to know which
             # feedback events this checkpoint has learned from (none: full training reads ratings.csv only)
             "base_stamp": data_stamp(data), "events_until": 0, "events_trained": 0, "incremental_runs": []}
    return result, extra


def data_stamp(data: Interactions) -> dict:
    """A cheap fingerprint of training interactions: enough to notice that ratings.csv changed."""
    return {"rows": len(data), "users": int(data.n_users),
            "time_max": int(data.time.max()) if len(data) else 0,
            "checksum": int((data.user.astype(np.int64) * 7919 + data.item * 31 + data.time).sum() % (2**61 - 1))}


def train_catalog(config: Config, *, loss: str | None = None, epochs: int | None = None, progress: bool = True,
                  seed: int = 0, model_params: dict | None = None, train_params: dict | None = None) -> dict:
    """Train the fusion model on the catalog's interactions and save the checkpoint; returns a summary."""
    from .catalog import load_catalog

    start = time.time()
    catalog = load_catalog(config.catalog)
    data = load_interactions(catalog_folder(config), catalog)
    vectors, emb_name = item_text_vectors(config, catalog)
    result, extra = train_model(catalog, vectors, data, loss=loss, epochs=epochs, progress=progress, seed=seed,
                                model_params=model_params, train_params=train_params)
    path = save_checkpoint(result.model, checkpoint_path(config), catalog=catalog, embedder_name=emb_name,
                           user_keys=data.user_keys, extra=extra)
    return {"path": str(path), "best_epoch": result.best_epoch, "val_ndcg@10": result.best_val,
            "epochs_run": len(result.curve), "seconds": time.time() - start, "interactions": len(data)}


def catalog_folder(config: Config) -> Path:
    return Path(config.catalog) if Path(config.catalog).is_dir() else Path(config.catalog).parent
