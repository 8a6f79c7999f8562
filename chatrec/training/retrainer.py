"""Continual learning inside the running app: incremental fine-tuning in a background thread.

    retrainer = BackgroundRetrainer(rec).start()   # reads CHATREC_RETRAIN_AFTER_EVENTS / _EVERY_S
    retrainer.notify()                             # after each recorded feedback event
    retrainer.stop()                               # at shutdown (the thread is a daemon anyway)

A run is `chatrec train --incremental` (chatrec/continual.py) with what the app already holds (catalog,
item vectors, profile store). When it passes the non-regression check, the new checkpoint is on disk and
`rec.scorer` is replaced by one attribute assignment: a request in flight keeps the scorer it already read,
the next one gets the new model, and nothing is ever half-swapped. A rejected run leaves both alone.

Chats are never blocked: runs happen in one daemon thread, one at a time, at a raised nice value, with one
torch thread. `torch.set_num_threads` is process-wide, so the chats' own scoring (a few small tensor ops per
request) also runs single-threaded -- on 2 shared cores that costs them nothing measurable.
"""
from __future__ import annotations

import logging
import os
import threading
import time

from chatrec.errors import ChatrecError

log = logging.getLogger("chatrec.retrain")


class BackgroundRetrainer:
    """Fine-tunes `rec`'s reranker after `after_events` new feedback events and/or every `every_s` seconds
    (0 turns a trigger off; defaults come from the config). `run_once` is the same run, synchronously."""

    def __init__(self, rec, *, after_events: int | None = None, every_s: float | None = None, nice: int = 10):
        cfg = rec.config
        self.rec = rec
        self.after_events = int(cfg.retrain_after_events if after_events is None else after_events)
        self.every_s = float(cfg.retrain_every_s if every_s is None else every_s)
        self.nice = nice
        self.last_result: dict | None = None
        self.runs = 0
        self._pending = 0
        self._count_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.after_events > 0 or self.every_s > 0

    @property
    def pending(self) -> int:
        """New events counted since the last run (those recorded before `start` included)."""
        return self._pending

    def start(self) -> BackgroundRetrainer:
        if not self.enabled:
            log.info("background retraining is off (CHATREC_RETRAIN_AFTER_EVENTS and CHATREC_RETRAIN_EVERY_S are 0)")
            return self
        if self._thread is not None and self._thread.is_alive():
            return self
        self._count_backlog()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="chatrec-retrain", daemon=True)
        self._thread.start()
        return self

    def notify(self, n_events: int = 1) -> None:
        """Count newly recorded feedback events; wakes the worker when `after_events` are reached. Cheap: no I/O."""
        with self._count_lock:
            self._pending += n_events
            due = self.after_events > 0 and self._pending >= self.after_events
        if due:
            self._wake.set()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Ask the worker to finish; a run in progress completes first (up to `timeout` seconds of waiting)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_once(self) -> dict:
        """One incremental run now; returns its summary (also kept in `last_result`). "busy" if one is running."""
        from chatrec.training.continual import train_incremental
        from chatrec.ranking.scorers import FusionScorer

        if not self._run_lock.acquire(blocking=False):
            return {"status": "busy", "reason": "an incremental run is already in progress", "swapped": False}
        try:
            with self._count_lock:
                self._pending = 0  # events arriving from now on count towards the next run
            rec, cfg = self.rec, self.rec.config
            try:
                res = train_incremental(cfg, store=rec.store, catalog=rec.catalog, vectors=rec.index.vectors,
                                        embedder_name=rec.index.embedder.name, progress=False, threads=1)
            except ChatrecError as exc:
                log.warning("background retraining: %s", exc)
                summary = {"status": "error", "reason": str(exc), "swapped": False}
            else:
                swapped = False
                if res.accepted:
                    scorer = FusionScorer(res.model, res.meta,
                                          query_weight=getattr(rec.scorer, "query_weight", 0.3))
                    rec.scorer = scorer  # the swap: one reference assignment, atomic for readers
                    swapped = True
                summary = {**res.summary(), "swapped": swapped}
            summary["finished_at"] = time.time()
            self.last_result = summary
            self.runs += 1
            return summary
        finally:
            self._run_lock.release()

    # ---------------------------------------------------------------- internals

    def _count_backlog(self) -> None:
        """Events recorded while the app was down count towards the first run."""
        from chatrec.training.continual import ROW_KINDS, checkpoint_cursor
        from chatrec.ranking.checkpoint import checkpoint_path

        try:
            cursor = checkpoint_cursor(self.rec.config)
            if cursor is None:
                return
            backlog = self.rec.store.count_after(cursor, ROW_KINDS)
        except Exception as exc:  # noqa: BLE001  (a count is a hint; the run itself checks properly)
            log.warning("could not count feedback events newer than %s: %s", checkpoint_path(self.rec.config), exc)
            return
        if backlog:
            self.notify(backlog)

    def _loop(self) -> None:
        import torch

        torch.set_num_threads(1)
        try:  # Linux: the nice value of this thread alone, so the chats win every contest for the CPU
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
        except (AttributeError, OSError) as exc:
            log.debug("could not lower the retraining thread's priority: %s", exc)
        next_due = time.monotonic() + self.every_s if self.every_s > 0 else None
        while not self._stopping.is_set():
            timeout = None if next_due is None else max(0.0, next_due - time.monotonic())
            self._wake.wait(timeout)
            if self._stopping.is_set():
                break
            self._wake.clear()
            if next_due is not None:
                next_due = time.monotonic() + self.every_s
            try:
                result = self.run_once()
                log.info("background retraining: %s (%s)", result.get("status"), result.get("reason"))
            except Exception:  # a failed run must not end the thread: the next trigger tries again
                log.exception("background retraining failed")
