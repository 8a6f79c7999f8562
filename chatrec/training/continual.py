"""Continual learning: feedback events become training rows, and `chatrec train --incremental` fine-tunes the
fusion reranker from its checkpoint on the events it has not learned from yet.

Events -> rows (`events_to_rows`); per (user, item) the latest event decides, as in `SQLiteStore.load`:

    like, rating >= 4              positive, weight 1
    rating 2.5-3.5, seen           positive, weight 0.5 (watched without a strong opinion: the base model
                                   learns from every MovieLens rating as "watched", so this is still signal,
                                   just a weaker one)
    dislike, rating <= 2           negative, weight 1 (the item itself is the negative: `fusion.row_losses`)
    clear                          the pair has no row (and leaves histories and item statistics)
    critique                       no row: it is about the request, not the item

Users: the checkpoint's user table is not grown. A person the checkpoint knows (their id is among its
`user_keys`, e.g. a MovieLens user id) trains their own id embedding; everyone else (chat users) is a row
mapped to the shared "unknown" id, so only their history (every item they acted on, oldest first) speaks for
them -- exactly how `FusionScorer` serves them. Fine-tuning updates all shared weights and the item tables
(id embeddings, biases), and the item statistics (popularity, mean rating, warm flags) are recomputed from
the base rows plus every current feedback state; an item that turns warm starts from a zero id embedding.

A run (`train_incremental`): rows decided by events newer than the checkpoint's cursor (`events_until`), mixed
with a replay sample of the base training rows (against forgetting), `epochs` passes at a learning rate
well below the base one, then the offline metric -- NDCG@10 on the base data's fixed validation slice (each user's last 10%,
rebuilt from ratings.csv exactly as `chatrec train` held it out; items a person has given feedback on are
out of their candidates, as in the app) -- for the old and the new model. The new
checkpoint replaces the old one atomically only if it does not regress by more than `tolerance`; otherwise
the old one stays, the reason is logged, and the cursor does not move (the events are tried again next time).
Every run that trains appends one JSON line to `<model_dir>/retrain_log.jsonl`.
"""
from __future__ import annotations

import copy
import json
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from chatrec.catalog import Catalog, load_catalog
from chatrec.config import Config
from chatrec.errors import ChatrecError
from chatrec.profile.events import CLEAR, DISLIKE, LIKE, RATING, SEEN, rating_kind
from chatrec.profile.store import open_store
from chatrec.ranking.checkpoint import (TRAIN_HINT, checkpoint_path, embedder_name as resolve_embedder, find_checkpoint,
                                        item_text_vectors, load_checkpoint, save_checkpoint)
from chatrec.training.data import Interactions, data_stamp, holdout_last, load_interactions
from chatrec.training.fit import DEFAULTS, fit, item_statistics, make_validator, user_table

log = logging.getLogger("chatrec.continual")

ROW_KINDS = (LIKE, DISLIKE, SEEN, RATING)
STATE_KINDS = ROW_KINDS + (CLEAR,)  # the kinds that change what is known about a (user, item) pair
WEAK = 0.5  # weight of "watched, no strong opinion" rows
LOG_NAME = "retrain_log.jsonl"
# Fine-tuning defaults. lr and epochs were picked on a validation replay that ends before the test slice of
# bench/continual_replay.py (reports/continual_tuning.json): 3e-4 x 6 beat 1e-3 and 3e-3 at 1/3/6 epochs, and
# the larger rates also lost ground on the gate's slice (forgetting). Twice as many replayed base rows as new ones.
INCREMENTAL = {"epochs": Config.retrain_epochs, "lr": Config.retrain_lr, "replay": Config.retrain_replay,
               "min_replay": Config.retrain_min_replay, "tolerance": Config.retrain_tolerance}  # Config's defaults


def row_label(kind: str, value: float | None) -> tuple[float, float, float] | None:
    """(label, weight, implied rating for the item statistics) of one state event, or None (no row)."""
    if kind == LIKE:
        return 1.0, 1.0, 5.0
    if kind == DISLIKE:
        return -1.0, 1.0, 1.0
    if kind == SEEN:
        return 1.0, WEAK, 3.0
    if kind == RATING and value is not None:
        v = float(value)
        kind = rating_kind(v)
        if kind == LIKE:
            return 1.0, 1.0, v
        if kind == DISLIKE:
            return -1.0, 1.0, v
        return 1.0, WEAK, v
    return None


@dataclass
class FeedbackRows:
    """One row per (user, item) pair whose latest event is a like, dislike, seen or rating."""
    user_keys: list[str]
    item: np.ndarray  # catalog positions
    label: np.ndarray  # +1 / -1
    weight: np.ndarray
    rating: np.ndarray  # implied rating (item statistics)
    time: np.ndarray  # int64 seconds of the deciding event
    event_id: np.ndarray  # the deciding event
    unknown_items: int = 0  # rows dropped: item no longer in the catalog

    def __len__(self) -> int:
        return len(self.item)

    def subset(self, mask: np.ndarray) -> "FeedbackRows":
        return FeedbackRows([k for k, m in zip(self.user_keys, mask) if m], self.item[mask], self.label[mask],
                            self.weight[mask], self.rating[mask], self.time[mask], self.event_id[mask],
                            self.unknown_items)


def events_to_rows(events: list[dict], catalog: Catalog) -> FeedbackRows:
    """Training rows from profile-store events (any order; applied by id)."""
    state: dict[tuple[str, str], dict] = {}
    for ev in sorted(events, key=lambda e: e["id"]):
        key = (ev["user_id"], str(ev["item_id"]))
        if ev["kind"] == CLEAR:
            state.pop(key, None)
        elif ev["kind"] in ROW_KINDS and row_label(ev["kind"], ev.get("value")) is not None:
            state[key] = ev
    keys, items, labels, weights, ratings, times, ids, unknown = [], [], [], [], [], [], [], 0
    for (user, item_id), ev in state.items():
        pos = catalog.index_of.get(item_id)
        if pos is None:
            unknown += 1
            continue
        label, weight, rating = row_label(ev["kind"], ev.get("value"))
        keys.append(user)
        items.append(pos)
        labels.append(label)
        weights.append(weight)
        ratings.append(rating)
        times.append(int(ev["created_at"]))
        ids.append(int(ev["id"]))
    return FeedbackRows(keys, np.array(items, dtype=np.int64), np.array(labels, dtype=np.float32),
                        np.array(weights, dtype=np.float32), np.array(ratings, dtype=np.float32),
                        np.array(times, dtype=np.int64), np.array(ids, dtype=np.int64), unknown)


def dedupe_latest(data: Interactions) -> Interactions:
    """One row per (user, item): the latest (a MovieLens user who rates a film again in the chat)."""
    if len(data) == 0:
        return data
    order = np.lexsort((data.time, data.item, data.user))
    u, it = data.user[order], data.item[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = (u[1:] != u[:-1]) | (it[1:] != it[:-1])
    keep = np.sort(order[last])
    return data.subset(keep)


@dataclass
class FeedbackTable:
    """Base users and feedback users in one table: rows 0..n_users-1 are the checkpoint's users, the rest are
    people it does not know (model id = n_users, the unknown id)."""
    merged: Interactions  # base rows + every current feedback state, deduplicated; users are table rows
    row_of: dict[str, int]
    user_ids: np.ndarray  # table row -> model user index
    new_users: int


def feedback_table(base: Interactions, user_keys: list[str], rows: FeedbackRows) -> FeedbackTable:
    n_users = len(user_keys)
    row_of = {k: i for i, k in enumerate(user_keys)}
    for k in rows.user_keys:
        if k not in row_of:
            row_of[k] = len(row_of)
    ev_user = np.array([row_of[k] for k in rows.user_keys], dtype=np.int64)
    merged = Interactions(np.concatenate([base.user, ev_user]), np.concatenate([base.item, rows.item]),
                          np.concatenate([base.rating, rows.rating]).astype(np.float32),
                          np.concatenate([base.time, rows.time]).astype(np.int64), len(row_of), base.n_items,
                          list(row_of))
    user_ids = np.concatenate([np.arange(n_users), np.full(len(row_of) - n_users, n_users)]).astype(np.int64)
    return FeedbackTable(dedupe_latest(merged), row_of, user_ids, len(row_of) - n_users)


@dataclass
class IncrementalResult:
    status: str  # "accepted", "rejected", "no_new_events"
    reason: str
    model: object = None  # the fine-tuned FusionModel (also when rejected), None when nothing ran
    meta: dict = field(default_factory=dict)  # checkpoint metadata of `model` (as load_checkpoint returns it)
    val_old: float | None = None
    val_new: float | None = None
    new_events: int = 0  # events newer than the cursor
    new_rows: int = 0  # training rows they decided
    replay_rows: int = 0
    new_users: int = 0  # feedback users the checkpoint does not know
    newly_warm_items: int = 0
    events_until: int = 0  # the cursor after this run
    path: str = ""
    seconds: float = 0.0
    curve: list = field(default_factory=list)

    def summary(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("model", "meta")}

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"


def fine_tune(model, meta: dict, *, catalog: Catalog, base: Interactions, rows: FeedbackRows, new: np.ndarray,
              epochs: int = INCREMENTAL["epochs"], lr: float = INCREMENTAL["lr"], replay: float = INCREMENTAL["replay"],
              min_replay: int = INCREMENTAL["min_replay"], tolerance: float = INCREMENTAL["tolerance"],
              seed: int = 0, progress: bool = True, threads: int = 1, gate=None) -> IncrementalResult:
    """Fine-tune a copy of `model` on the `new` rows (a mask over `rows`, which hold every current feedback
    state) plus replayed base rows; compare old and new on the base data's validation slice.

    `base` are the interactions the checkpoint was trained on (before its own hold-out). `gate(model) ->
    float` overrides the metric (tests force a regression with it)."""

    start = time.time()
    extra = meta.get("extra", {})
    user_keys = list(meta.get("user_keys", []))
    if base.n_users != len(user_keys):
        raise ChatrecError(f"the base interactions have {base.n_users} users, the checkpoint {len(user_keys)}; "
                           f"{TRAIN_HINT}")
    fit_rows, val_rows = holdout_last(base)
    ft = feedback_table(fit_rows, user_keys, rows)
    if gate is None:
        # Every validation user, not the 300 of early stopping: the gate compares two close models. Items a
        # person has given feedback on are out of their candidates, as in the app: otherwise the tuned model,
        # which rightly ranks a film someone has just rated, would be charged for it on an older slice.
        gate = make_validator(user_table(model, fit_rows), ft.merged, val_rows, max_users=10**9,
                              seed=int(extra.get("seed", 0)))
    model.eval()
    with torch.inference_mode():
        val_old = float(gate(model))

    tuned = copy.deepcopy(model)
    old_warm = tuned.warm.clone()
    tuned.set_item_stats(**item_statistics(catalog, ft.merged))
    newly_warm = (tuned.warm > 0) & (old_warm == 0)
    with torch.no_grad():  # the id embedding of a formerly cold item never trained: start it at zero
        tuned.item_emb.weight[newly_warm] = 0.0
    if len(rows):
        tuned.cfg.ref_year = max(tuned.cfg.ref_year, float(time.gmtime(int(rows.time.max())).tm_year))
    table = user_table(tuned, ft.merged)
    table.user_ids = torch.as_tensor(ft.user_ids)

    fresh = rows.subset(new)
    rng = np.random.default_rng(seed)
    n_replay = min(len(fit_rows), max(int(min_replay), round(replay * len(fresh))))
    pick = np.sort(rng.choice(len(fit_rows), n_replay, replace=False)) if n_replay else np.zeros(0, np.int64)
    ev_user = np.array([ft.row_of[k] for k in fresh.user_keys], dtype=np.int64)
    train = Interactions(np.concatenate([fit_rows.user[pick], ev_user]), np.concatenate([fit_rows.item[pick], fresh.item]),
                         np.concatenate([fit_rows.rating[pick], fresh.rating]).astype(np.float32),
                         np.concatenate([fit_rows.time[pick], fresh.time]), len(ft.row_of), base.n_items)
    weights = np.concatenate([np.ones(n_replay, np.float32), fresh.weight])
    labels = np.concatenate([np.ones(n_replay, np.float32), fresh.label])  # base rows: positives, as in training
    params = {**{k: DEFAULTS[k] for k in ("weight_decay", "n_neg", "batch_size")},
              **{k: v for k, v in extra.get("train_params", {}).items() if k in ("weight_decay", "n_neg", "batch_size")}}
    result = fit(tuned, table, train, loss=extra.get("loss", DEFAULTS["loss"]), epochs=epochs, lr=lr, seed=seed,
                 validate=None, progress=progress, threads=threads, weights=weights, labels=labels,
                 desc="fine-tune", **params)
    tuned = result.model
    with torch.inference_mode():
        val_new = float(gate(tuned))
    delta = val_new - val_old
    passed = delta >= -tolerance
    verdict = "no regression" if delta >= 0 else f"{'within' if passed else 'beyond'} the tolerance {tolerance:.4f}"
    reason = f"validation NDCG@10 {val_old:.4f} -> {val_new:.4f} ({delta:+.4f}, {verdict})"
    new_meta = {k: v for k, v in meta.items()}
    new_meta["extra"] = dict(extra)
    new_meta["config"] = {**meta.get("config", {}), "ref_year": tuned.cfg.ref_year}
    return IncrementalResult("accepted" if passed else "rejected", reason, tuned, new_meta, val_old, val_new,
                             new_rows=len(fresh), replay_rows=int(n_replay), new_users=ft.new_users,
                             newly_warm_items=int(newly_warm.sum()), seconds=time.time() - start,
                             curve=result.curve)


@contextmanager
def _exclusive(path: Path):
    """One incremental run per checkpoint at a time, across processes (the app's background thread and a CLI run)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ChatrecError(f"another incremental training run holds {path}; try again when it has finished") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


def train_incremental(config: Config, *, store=None, catalog: Catalog | None = None, vectors: np.ndarray | None = None,
                      embedder_name: str | None = None, base: Interactions | None = None,
                      epochs: int | None = None, lr: float | None = None, replay: float | None = None,
                      tolerance: float | None = None, seed: int = 0, progress: bool = True, threads: int = 1,
                      gate=None) -> IncrementalResult:
    """`chatrec train --incremental`: fine-tune the checkpoint on feedback events it has not learned from.

    Unset `epochs`, `lr`, `replay` and `tolerance` take the config's `retrain_*` values (their one home).
    `catalog`, `vectors` and `embedder_name` let a running app pass what it already holds; `base` replaces the
    catalog's ratings.csv as the checkpoint's training data (the replay experiment trains on a time slice)."""

    start = time.time()
    path = find_checkpoint(config) or checkpoint_path(config)  # fine-tuning a bundled model writes to model_dir
    out = checkpoint_path(config)
    if not path.exists():
        raise ChatrecError(f"no reranker checkpoint at {path} to fine-tune: run `chatrec train` first "
                           "(--incremental continues from an existing model)")
    if catalog is None:
        catalog = load_catalog(config.catalog)
    if vectors is None:
        vectors, embedder_name = item_text_vectors(config, catalog)
    stamp = _stamp(path)
    model, meta = load_checkpoint(path, catalog=catalog, embedder_name=embedder_name or resolve_embedder(config.embedder),
                                  vectors=np.asarray(vectors, dtype=np.float32))
    extra = meta.get("extra", {})
    store = store if store is not None else open_store(config.profile_db)
    cursor = int(extra.get("events_until", 0))
    last_id = store.last_event_id()
    if cursor > last_id:  # ids only grow, so a smaller newest id means another (or a new) profile database
        log.warning("the checkpoint has learned from events up to #%d but %s holds ids up to #%d: a different "
                    "profile database; treating all its events as new", cursor, config.profile_db, last_id)
        cursor = 0
    n_new = store.count_after(cursor, STATE_KINDS)
    if n_new == 0:
        res = IncrementalResult("no_new_events", f"no new feedback events since the checkpoint (it has learned from "
                                f"events up to #{cursor}); nothing to do", events_until=cursor, path=str(path),
                                seconds=time.time() - start)
        _log_run(config, res)
        return res
    events = store.events_after(0, STATE_KINDS)
    snapshot = max(e["id"] for e in events)  # later events wait for the next run
    rows = events_to_rows(events, catalog)
    new = rows.event_id > cursor
    if not new.any():
        res = IncrementalResult("no_new_events", f"{n_new} new feedback events, but none leaves a training row "
                                "(only removals, or items not in the catalog); nothing to do", new_events=n_new,
                                events_until=cursor, path=str(path), seconds=time.time() - start)
        _log_run(config, res)
        return res
    if base is None:
        base = load_interactions(config.catalog_dir, catalog)
    if "base_stamp" in extra and extra["base_stamp"] != data_stamp(base):
        raise ChatrecError(f"the training ratings changed since the checkpoint {path} was trained "
                           f"({extra['base_stamp']} then, {data_stamp(base)} now), so its validation slice cannot be "
                           f"rebuilt; {TRAIN_HINT}")
    if list(base.user_keys) != list(meta.get("user_keys", [])):
        raise ChatrecError(f"the checkpoint {path} was trained on other users than the ratings now hold; {TRAIN_HINT}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(out.with_name(out.name + ".lock")):
        res = fine_tune(model, meta, catalog=catalog, base=base, rows=rows, new=new,
                        epochs=epochs or config.retrain_epochs, lr=lr or config.retrain_lr,
                        replay=config.retrain_replay if replay is None else replay,
                        min_replay=config.retrain_min_replay,
                        tolerance=config.retrain_tolerance if tolerance is None else tolerance,
                        seed=seed, progress=progress, threads=threads, gate=gate)
        res.new_events, res.path = n_new, str(path)
        if res.accepted and _stamp(path) != stamp:
            res.status = "rejected"
            res.reason = (f"{res.reason}, but the checkpoint changed on disk while fine-tuning (a new `chatrec "
                          "train`?); keeping the newer file")
        if res.accepted:
            ex = res.meta["extra"]
            ex["events_until"] = int(snapshot)
            ex["events_trained"] = int(ex.get("events_trained", 0)) + res.new_rows
            ex["val_ndcg@10_gate"] = res.val_new
            ex["incremental_runs"] = (list(ex.get("incremental_runs", [])) + [{
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "new_rows": res.new_rows,
                "replay_rows": res.replay_rows, "events_until": int(snapshot), "val_old": res.val_old,
                "val_new": res.val_new}])[-20:]
            save_checkpoint(res.model, out, catalog=catalog, embedder_name=res.meta["embedder"],
                            user_keys=res.meta["user_keys"], extra=ex)
            res.events_until, res.path = int(snapshot), str(out)
            res.reason = f"{res.reason}: checkpoint updated"
        else:
            res.events_until = cursor
            res.reason = f"{res.reason}: kept the old checkpoint"
    res.seconds = time.time() - start
    _log_run(config, res)
    return res


def _log_run(config: Config, res: IncrementalResult) -> None:
    """One JSON line per run beside the checkpoint, so a background decision can be looked up later."""
    level = logging.WARNING if res.status == "rejected" else logging.INFO
    log.log(level, "incremental training %s: %s", res.status, res.reason)
    if res.status == "no_new_events":  # a timer that finds nothing to do must not grow the file forever
        return
    try:
        path = Path(config.model_dir) / LOG_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        line = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **res.summary()}
        with open(path, "a") as f:
            f.write(json.dumps(line, default=float) + "\n")
    except OSError as exc:  # the log is a convenience; the decision itself is already made
        log.warning("could not append to %s: %s", Path(config.model_dir) / LOG_NAME, exc)


def checkpoint_cursor(config: Config) -> int | None:
    """The id of the newest event the checkpoint has learned from; None without a readable checkpoint."""
    path = find_checkpoint(config)
    if path is None:
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001  (unreadable: load_checkpoint says why when it is used)
        return None
    return int(payload.get("extra", {}).get("events_until", 0))

