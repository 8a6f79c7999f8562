"""Continual learning: feedback events -> rows, `chatrec train --incremental`, the gate, the background retrainer."""
from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from chatrec.catalog import load_catalog
from chatrec.config import Config
from chatrec.training.continual import events_to_rows, feedback_table, train_incremental
from chatrec.errors import ChatrecError
from chatrec.evaluation.offline import synthetic_movielens
from chatrec.ranking.fusion import LOSSES, row_losses
from chatrec.profile.store import open_store
from chatrec.ranking.scorers import FusionScorer, ScoreContext
from chatrec.training.retrainer import BackgroundRetrainer
from chatrec.ranking.checkpoint import checkpoint_path, item_text_vectors, load_checkpoint
from chatrec.training.data import load_interactions
from chatrec.training.fit import train_catalog


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A synthetic MovieLens folder and a checkpoint trained on it (copied per test, so tests can change it)."""
    root = tmp_path_factory.mktemp("trained")
    folder = synthetic_movielens(root / "ml", n_users=40, n_items=60, per_user=20)
    config = Config(catalog=str(folder), embedder="hashing", index_dir=str(root / "index"),
                    model_dir=str(root / "models"), profile_db=str(root / "unused.sqlite3"))
    train_catalog(config, epochs=2, progress=False)
    return folder, checkpoint_path(config)


@pytest.fixture
def env(trained, tmp_path):
    folder, ckpt = trained
    config = Config(catalog=str(folder), embedder="hashing", index_dir=str(tmp_path / "index"),
                    model_dir=str(tmp_path / "models"), profile_db=str(tmp_path / "p.sqlite3"))
    checkpoint_path(config).parent.mkdir(parents=True)
    shutil.copy(ckpt, checkpoint_path(config))
    catalog = load_catalog(folder)
    vectors, name = item_text_vectors(config, catalog)
    return SimpleNamespace(config=config, catalog=catalog, vectors=vectors, name=name,
                           store=open_store(config.profile_db), data=load_interactions(folder, catalog))


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _chat_feedback(store, catalog, users=("u_a", "u_b", "u_c"), n=8):
    """Chat users who like the Horror films of the synthetic catalog and dislike a Comedy."""
    horror = [it.item_id for it in catalog.items if "Horror" in it.genres][:n]
    comedy = [it.item_id for it in catalog.items if "Comedy" in it.genres]
    for u in users:
        for item in horror:
            store.record(u, "like", item)
        store.record(u, "dislike", comedy[0])


def _force_gate(monkeypatch, old: float, new: float):
    """The offline metric says `old` for the checkpoint and `new` for the fine-tuned model (first call = old)."""
    import chatrec.training.continual

    def make_validator(*args, **kwargs):
        calls = iter([old, new])
        return lambda model: next(calls)
    monkeypatch.setattr(chatrec.training.continual, "make_validator", make_validator)


# ---------------------------------------------------------------- events -> rows

def test_events_become_training_rows(tmp_path, trained):
    catalog = load_catalog(trained[0])
    ids = [it.item_id for it in catalog.items]
    store = open_store(str(tmp_path / "p.sqlite3"))
    store.record("u", "like", ids[0])
    store.record("u", "dislike", ids[1])
    store.record("u", "seen", ids[2])
    store.record("u", "rating", ids[3], 5.0)
    store.record("u", "rating", ids[4], 3.0)
    store.record("u", "rating", ids[5], 1.5)
    store.record("u", "like", ids[6])
    store.record("u", "clear", ids[6])  # removed from the profile: no row
    store.record("u", "critique", "darker")  # about the request, not an item
    store.record("u", "dislike", ids[7])
    store.record("u", "like", ids[7])  # the latest event about an item decides
    store.record("u", "like", "no-such-film")
    store.record("v", "like", ids[0])
    rows = events_to_rows(store.events_after(0), catalog)
    got = {(k, catalog.items[i].item_id): (lab, w) for k, i, lab, w in zip(rows.user_keys, rows.item, rows.label,
                                                                            rows.weight)}
    assert got == {("u", ids[0]): (1, 1), ("u", ids[1]): (-1, 1), ("u", ids[2]): (1, 0.5), ("u", ids[3]): (1, 1),
                   ("u", ids[4]): (1, 0.5), ("u", ids[5]): (-1, 1), ("u", ids[7]): (1, 1), ("v", ids[0]): (1, 1)}
    assert rows.unknown_items == 1
    deciding = {(k, catalog.items[i].item_id): int(e) for k, i, e in zip(rows.user_keys, rows.item, rows.event_id)}
    assert deciding[("u", ids[7])] == max(e["id"] for e in store.events("u") if e["item_id"] == ids[7])


def test_unknown_people_share_the_unknown_id_and_keep_their_history(env):
    _chat_feedback(env.store, env.catalog, users=("u_a",))
    env.store.record(env.data.user_keys[0], "like", env.catalog.items[5].item_id)
    rows = events_to_rows(env.store.events_after(0), env.catalog)
    n = env.data.n_users
    ft = feedback_table(env.data, env.data.user_keys, rows)
    assert ft.new_users == 1 and ft.row_of["u_a"] == n and ft.user_ids[n] == n  # the model's "unknown" id
    assert ft.row_of[env.data.user_keys[0]] == 0 and ft.user_ids[0] == 0  # a known person keeps their own row
    history = ft.merged.histories()
    assert sorted(history[n]) == sorted(rows.item[np.array(rows.user_keys) == "u_a"].tolist())
    assert 5 in history[0]


def test_row_losses_positive_rows_are_the_training_loss_and_negatives_push_down():
    torch.manual_seed(0)
    pos, neg = torch.randn(16), torch.randn(16, 4)
    for loss, fn in LOSSES.items():
        assert torch.allclose(row_losses(loss, pos, neg, torch.ones(16)).mean(), fn(pos, neg), atol=1e-6)
        x = pos.clone().requires_grad_(True)
        row_losses(loss, x, neg, -torch.ones(16)).sum().backward()
        assert (x.grad > 0).all()  # gradient descent lowers a rejected item's score


# ---------------------------------------------------------------- chatrec train --incremental

def test_incremental_fine_tunes_from_the_checkpoint(env):
    path = checkpoint_path(env.config)
    old, _ = load_checkpoint(path, catalog=env.catalog, embedder_name=env.name, vectors=env.vectors)
    _chat_feedback(env.store, env.catalog)
    last = env.store.last_event_id()
    res = train_incremental(env.config, store=env.store, progress=False, tolerance=1.0)
    assert res.status == "accepted" and res.new_rows == 27 and res.new_users == 3
    new, meta = load_checkpoint(path, catalog=env.catalog, embedder_name=env.name, vectors=env.vectors)
    assert meta["extra"]["events_until"] == last and meta["extra"]["events_trained"] == 27
    assert len(meta["extra"]["incremental_runs"]) == 1
    changed = [k for k, v in old.state_dict().items() if not torch.equal(v, new.state_dict()[k])]
    assert {"fusion.0.weight", "hist_text.0.weight", "item_emb.weight", "item_bias.weight"} <= set(changed)
    # continued from the checkpoint, not trained afresh: far closer to the old weights than a new start is
    from chatrec.ranking.fusion import FusionModel
    fresh = FusionModel(new.cfg).state_dict()
    w = "hist_text.0.weight"
    assert (new.state_dict()[w] - old.state_dict()[w]).norm() < 0.5 * (fresh[w] - old.state_dict()[w]).norm()
    # the feedback moved the model: for another chat-only person, the films the chat users liked gain on the rest
    chat_liked = [i for i, it in enumerate(env.catalog.items) if "Horror" in it.genres][:8]
    ctx = ScoreContext(history=chat_liked[:3])
    liked = np.array(chat_liked[3:])
    rest = np.array([i for i in range(len(env.catalog)) if i not in chat_liked])
    cand = np.concatenate([liked, rest])
    def horror_margin(model):
        s = FusionScorer(model, meta, query_weight=0.0).score(cand, np.zeros(len(cand), np.float32), ctx)
        return s[: len(liked)].mean() - s[len(liked):].mean()
    assert horror_margin(new) > horror_margin(old)
    # everything consumed: the next run has nothing to do and leaves the file alone
    digest = _digest(path)
    again = train_incremental(env.config, store=env.store, progress=False)
    assert again.status == "no_new_events" and "nothing to do" in again.reason
    assert _digest(path) == digest


def test_regression_guard_keeps_the_old_checkpoint(env, monkeypatch):
    path = checkpoint_path(env.config)
    digest = _digest(path)
    _chat_feedback(env.store, env.catalog)
    _force_gate(monkeypatch, old=0.50, new=0.40)
    res = train_incremental(env.config, store=env.store, progress=False, tolerance=0.001)
    assert res.status == "rejected" and "0.5000 -> 0.4000" in res.reason and "kept the old checkpoint" in res.reason
    assert _digest(path) == digest and res.events_until == 0
    log = [json.loads(x) for x in (path.parent / "retrain_log.jsonl").read_text().splitlines()]
    assert log[-1]["status"] == "rejected" and "beyond the tolerance" in log[-1]["reason"]
    # the events were not consumed: with a metric that does not regress, the next run learns from them
    _force_gate(monkeypatch, old=0.50, new=0.4995)
    res = train_incremental(env.config, store=env.store, progress=False, tolerance=0.001)
    assert res.status == "accepted" and res.new_rows == 27 and _digest(path) != digest


def test_incremental_errors(env, tmp_path):
    other_folder = synthetic_movielens(tmp_path / "other", n_users=10, n_items=30, per_user=5, seed=1)
    with pytest.raises(ChatrecError, match="chatrec train"):  # a checkpoint for another catalog
        train_incremental(Config(**{**env.config.__dict__, "catalog": str(other_folder)}), store=env.store,
                          progress=False)
    with pytest.raises(ChatrecError, match="run `chatrec train` first"):
        train_incremental(Config(**{**env.config.__dict__, "model_dir": str(tmp_path / "none")}), store=env.store)
    _chat_feedback(env.store, env.catalog, users=("u_a",))
    changed = env.data.subset(np.arange(len(env.data)) > 0)  # ratings.csv lost a row since training
    with pytest.raises(ChatrecError, match="ratings changed"):
        train_incremental(env.config, store=env.store, base=changed, progress=False)


def test_cli_incremental(env, tmp_path):
    from click.testing import CliRunner

    from chatrec.app.cli import main

    base_env = {"CHATREC_CATALOG": env.config.catalog, "CHATREC_EMBEDDER": "hashing",
                "CHATREC_MODEL_DIR": env.config.model_dir, "CHATREC_PROFILE_DB": env.config.profile_db,
                "CHATREC_INDEX_DIR": env.config.index_dir}
    runner = CliRunner()
    res = runner.invoke(main, ["train", "--incremental"], env={**base_env, "CHATREC_MODEL_DIR": str(tmp_path / "x")})
    assert res.exit_code == 2 and "run `chatrec train` first" in res.output
    res = runner.invoke(main, ["train", "--incremental"], env=base_env)
    assert res.exit_code == 0 and "no new feedback events" in res.output, res.output
    _chat_feedback(env.store, env.catalog)
    res = runner.invoke(main, ["train", "--incremental", "--epochs", "1", "--tolerance", "1"], env=base_env)
    assert res.exit_code == 0, res.output
    assert "fine-tuned on 27 new feedback rows" in res.output and "accepted" in res.output
    assert "checkpoint updated" in res.output


# ---------------------------------------------------------------- the background retrainer

def _rec(env, **config_overrides):
    config = Config(**{**env.config.__dict__, **config_overrides})
    sentinel = SimpleNamespace(name="before", query_weight=0.3)
    return SimpleNamespace(config=config, store=env.store, catalog=env.catalog, scorer=sentinel,
                           index=SimpleNamespace(vectors=env.vectors, embedder=SimpleNamespace(name=env.name)))


def _wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the background run")
        time.sleep(0.05)


def test_run_once_swaps_the_scorer_only_when_the_gate_passes(env, monkeypatch):
    rec = _rec(env, retrain_tolerance=0.001)
    before = rec.scorer
    retrainer = BackgroundRetrainer(rec)
    assert retrainer.run_once()["status"] == "no_new_events" and rec.scorer is before

    _chat_feedback(env.store, env.catalog, users=("u_a",))
    _force_gate(monkeypatch, old=0.5, new=0.3)
    result = retrainer.run_once()
    assert result["status"] == "rejected" and not result["swapped"] and rec.scorer is before
    assert retrainer.last_result is result

    _force_gate(monkeypatch, old=0.5, new=0.6)
    result = retrainer.run_once()
    assert result["status"] == "accepted" and result["swapped"]
    assert isinstance(rec.scorer, FusionScorer) and rec.scorer is not before
    s = rec.scorer.score(np.arange(10), np.linspace(1, 0, 10).astype(np.float32), ScoreContext(history=[1, 2]))
    assert s.shape == (10,) and np.isfinite(s).all()


def test_run_once_reports_errors_instead_of_raising(env, tmp_path):
    rec = _rec(env, model_dir=str(tmp_path / "empty"))
    result = BackgroundRetrainer(rec).run_once()
    assert result["status"] == "error" and "chatrec train" in result["reason"] and not result["swapped"]


def test_notify_after_n_events_triggers_a_background_run(env):
    rec = _rec(env, retrain_tolerance=1.0)
    retrainer = BackgroundRetrainer(rec, after_events=3).start()
    try:
        _chat_feedback(env.store, env.catalog, users=("u_a",), n=2)
        retrainer.notify()
        retrainer.notify()
        assert retrainer.pending == 2 and retrainer.runs == 0  # below the threshold: nothing was woken
        retrainer.notify()
        _wait_for(lambda: retrainer.runs >= 1)
        assert retrainer.last_result["status"] == "accepted" and isinstance(rec.scorer, FusionScorer)
        assert retrainer.pending == 0
    finally:
        retrainer.stop()
    assert not retrainer._thread.is_alive()


def test_backlog_and_timer_trigger_runs(env):
    _chat_feedback(env.store, env.catalog, users=("u_a", "u_b"))  # recorded while "the app was down"
    rec = _rec(env, retrain_tolerance=1.0)
    retrainer = BackgroundRetrainer(rec, after_events=5).start()  # 18 waiting events > 5: runs without notify
    try:
        _wait_for(lambda: retrainer.runs >= 1)
        assert retrainer.last_result["new_rows"] == 18
    finally:
        retrainer.stop()
    timer = BackgroundRetrainer(rec, after_events=0, every_s=0.2).start()
    try:
        _wait_for(lambda: timer.runs >= 1)
        assert timer.last_result["status"] == "no_new_events"  # nothing new since the first retrainer's run
    finally:
        timer.stop()


def test_only_one_run_at_a_time(env, monkeypatch):
    import chatrec.training.continual

    rec = _rec(env)
    retrainer = BackgroundRetrainer(rec)
    entered, release = threading.Event(), threading.Event()

    def slow(*args, **kwargs):
        entered.set()
        release.wait(30)
        return chatrec.training.continual.IncrementalResult("no_new_events", "nothing")
    monkeypatch.setattr(chatrec.training.continual, "train_incremental", slow)
    worker = threading.Thread(target=retrainer.run_once)
    worker.start()
    assert entered.wait(30)
    assert retrainer.run_once()["status"] == "busy"
    release.set()
    worker.join(30)
    assert retrainer.last_result["status"] == "no_new_events"


def test_off_by_default(env):
    retrainer = BackgroundRetrainer(_rec(env)).start()
    assert not retrainer.enabled and retrainer._thread is None


def test_with_a_real_recommender(env):
    """The attributes BackgroundRetrainer relies on exist on the real Recommender, and a swap serves."""
    from chatrec.chat.recommender import Recommender
    from chatrec.retrieval.retrieve import Request

    rec = Recommender.from_config(Config(**{**env.config.__dict__, "retrain_tolerance": 1.0}), progress=False)
    assert isinstance(rec.scorer, FusionScorer)
    before = rec.scorer
    _chat_feedback(rec.store, rec.catalog, users=("u_a",))
    result = BackgroundRetrainer(rec).run_once()
    assert result["status"] == "accepted" and rec.scorer is not before
    session = rec.session("u_a")
    recs, _ = rec.recommend(Request(wish_text="horror story"), session.profile)
    assert len(recs) > 0 and all(np.isfinite(r.score) for r in recs)


def test_a_bundled_checkpoint_is_found_and_never_written(tmp_path):
    from chatrec.ranking.checkpoint import bundled_checkpoint_path, checkpoint_path, find_checkpoint
    from conftest import make_config

    catalog_dir = tmp_path / "catalog"
    catalog_dir.mkdir()
    config = make_config(tmp_path, catalog=str(catalog_dir), model_dir=str(tmp_path / "models"))
    assert find_checkpoint(config) is None
    bundled_checkpoint_path(config).write_bytes(b"shipped")
    assert find_checkpoint(config) == catalog_dir / "fusion.pt"
    checkpoint_path(config).parent.mkdir()
    checkpoint_path(config).write_bytes(b"trained here")
    assert find_checkpoint(config) == tmp_path / "models" / "fusion.pt"  # a local training wins
