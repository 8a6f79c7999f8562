"""The fusion reranker: shapes, a training loop that learns, checkpoints, and the live scorer."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from chatrec.catalog import load_catalog
from chatrec.config import Config
from chatrec.errors import ChatrecError
from chatrec.evaluation.offline import make_split, synthetic_movielens
from chatrec.training.fit import make_validator
from chatrec.ranking.fusion import FusionConfig, UserBatch
from chatrec.ranking.scorers import FusionScorer, ScoreContext, load_scorer
from chatrec.training.fit import build_model, fit, score_all, train_catalog, user_table
from chatrec.ranking.checkpoint import checkpoint_path, item_text_vectors, load_checkpoint, save_checkpoint
from chatrec.training.data import load_interactions


@pytest.fixture
def tiny(tmp_path):
    folder = synthetic_movielens(tmp_path / "ml", n_users=40, n_items=60, per_user=20)
    config = Config(catalog=str(folder), embedder="hashing", index_dir=str(tmp_path / "index"),
                    model_dir=str(tmp_path / "models"), profile_db=str(tmp_path / "p.sqlite3"))
    catalog = load_catalog(folder)
    vectors, name = item_text_vectors(config, catalog)
    data = load_interactions(folder, catalog)
    return config, catalog, vectors, name, data


def _cfg(data, vectors, catalog, **kw):
    return FusionConfig(n_users=data.n_users, n_items=data.n_items, n_genres=len(catalog.genres),
                        text_dim=vectors.shape[1], history_len=16, **kw)


@pytest.mark.parametrize("variant", ["fusion", "mf"])
def test_model_shapes(tiny, variant):
    _, catalog, vectors, _, data = tiny
    extra = {} if variant == "fusion" else dict(use_text=False, use_history=False, use_context=False)
    model = build_model(_cfg(data, vectors, catalog, **extra), catalog, vectors, data)
    table = user_table(model, data)
    ub = table.batch(torch.arange(4))
    items = torch.randint(0, data.n_items, (4, 7))
    assert model(ub, items).shape == (4, 7)
    assert model(ub, None).shape == (4, data.n_items)
    assert score_all(model, table, np.arange(5)).shape == (5, data.n_items)
    # chat-only user: unknown id, empty history
    empty = UserBatch(users=torch.tensor([data.n_users]), history=torch.full((1, 16), data.n_items),
                      profile=torch.zeros(1, vectors.shape[1]), recent=torch.zeros(1, vectors.shape[1]),
                      genres=torch.zeros(1, len(catalog.genres)), ref_year=torch.tensor([2000.0]))
    assert torch.isfinite(model(empty, None)).all()


def test_leave_one_out_hides_the_target_from_its_own_features(tiny):
    _, catalog, vectors, _, data = tiny
    model = build_model(_cfg(data, vectors, catalog), catalog, vectors, data).eval()
    table = user_table(model, data)
    ub = table.batch(torch.tensor([0]))
    target = ub.history[0, -1:].clone()
    p_in, _, _ = model.summaries(ub)
    p_out, _, _ = model.summaries(ub, exclude=target)
    t = model.text[target[0]]
    assert float(p_out[0] @ t) < float(p_in[0] @ t)


@pytest.mark.parametrize("loss", ["bpr", "bce"])
def test_training_loop_learns_on_a_tiny_data_set(tiny, loss):
    _, catalog, vectors, _, data = tiny
    split = make_split(data, "temporal", seed=0, cold_frac=0.0)
    model = build_model(_cfg(data, vectors, catalog), catalog, vectors, split.fit)
    table = user_table(model, split.fit)
    validate = make_validator(table, split.fit, split.val)
    before = validate(model.eval())
    result = fit(model, table, split.fit, loss=loss, epochs=6, batch_size=128, lr=1e-2, patience=6,
                 validate=validate, progress=False)
    assert result.curve[-1]["loss"] < result.curve[0]["loss"]
    assert result.best_val > before  # learned something the untrained model did not know
    assert len(result.curve) <= 6 and 1 <= result.best_epoch <= 6


def test_checkpoint_round_trip_and_mismatch_errors(tiny, tmp_path):
    config, catalog, vectors, name, data = tiny
    model = build_model(_cfg(data, vectors, catalog), catalog, vectors, data).eval()
    path = save_checkpoint(model, tmp_path / "m" / "fusion.pt", catalog=catalog, embedder_name=name,
                           user_keys=data.user_keys)
    assert not path.with_name("fusion.pt.tmp").exists()
    loaded, meta = load_checkpoint(path, catalog=catalog, embedder_name=name, vectors=vectors)
    table = user_table(model, data)
    np.testing.assert_allclose(score_all(loaded, table, np.arange(3)), score_all(model, table, np.arange(3)),
                               rtol=1e-5, atol=1e-5)
    assert meta["user_keys"] == data.user_keys
    with pytest.raises(ChatrecError, match="chatrec train"):
        load_checkpoint(path, catalog=catalog, embedder_name="other-embedder", vectors=vectors)
    other = load_catalog(synthetic_movielens(tmp_path / "other", n_users=5, n_items=60, per_user=5, seed=3))
    other.items[0] = other.items[0].__class__(item_id=other.items[0].item_id, title="Changed")
    with pytest.raises(ChatrecError, match="chatrec train"):
        load_checkpoint(path, catalog=other, embedder_name=name, vectors=vectors)
    with pytest.raises(ChatrecError, match="chatrec train"):
        load_checkpoint(tmp_path / "missing.pt", catalog=catalog, embedder_name=name, vectors=vectors)
    # a checkpoint from another version of the model (here: a wider fusion MLP input) is refused, not half-loaded
    wider = build_model(_cfg(data, vectors, catalog, history_length_feature=True), catalog, vectors, data)
    payload = torch.load(save_checkpoint(wider, tmp_path / "w" / "fusion.pt", catalog=catalog, embedder_name=name,
                                         user_keys=data.user_keys), weights_only=True)
    payload["config"].pop("history_length_feature")
    torch.save(payload, tmp_path / "w" / "fusion.pt")
    with pytest.raises(ChatrecError, match="does not fit this version"):
        load_checkpoint(tmp_path / "w" / "fusion.pt", catalog=catalog, embedder_name=name, vectors=vectors)


def test_train_then_serve_through_load_scorer(tiny):
    config, catalog, vectors, _, data = tiny
    assert load_scorer(config, catalog, vectors) is None  # no checkpoint yet: the caller keeps the baseline
    summary = train_catalog(config, epochs=2, progress=False)
    assert checkpoint_path(config).exists() and summary["best_epoch"] >= 1
    scorer = load_scorer(config, catalog, vectors)
    assert isinstance(scorer, FusionScorer)
    positions = np.arange(50)
    sims = np.linspace(1, 0, 50).astype(np.float32)
    for ctx in (ScoreContext(),  # a stranger
                ScoreContext(query_vector=vectors[3], history=[1, 5, 9], user_key=None),  # chat-only
                ScoreContext(history=[1, 5], user_key=data.user_keys[0])):  # a known user
        s = scorer.score(positions, sims, ctx)
        assert s.shape == (50,) and np.isfinite(s).all() and s.min() >= 0 and s.max() <= 1
    assert scorer.score(np.array([], dtype=np.int64), np.array([], dtype=np.float32), ScoreContext()).shape == (0,)


def test_train_cli(tiny):
    from click.testing import CliRunner

    from chatrec.app.cli import main

    config, *_ = tiny
    res = CliRunner().invoke(main, ["train", "--epochs", "1", "--loss", "bce"],
                             env={"CHATREC_CATALOG": config.catalog, "CHATREC_EMBEDDER": "hashing",
                                  "CHATREC_MODEL_DIR": config.model_dir})
    assert res.exit_code == 0, res.output
    assert "checkpoint" in res.output and checkpoint_path(config).exists()


def test_one_seed_augmentation_keeps_one_film_of_the_history_and_forgets_the_id(tiny):
    # "something like X" from a stranger: the row's history is one film it really had, and no user id
    _, catalog, vectors, _, data = tiny
    cfg = _cfg(data, vectors, catalog, seed_history_p=1.0)
    model = build_model(cfg, catalog, vectors, data)
    ub = user_table(model, data).batch(torch.arange(4))
    one = model.one_seed(ub)
    assert ((one.history != cfg.n_items).sum(1) == 1).all() and (one.users == cfg.n_users).all()
    for row in range(4):
        seed = int(one.history[row, -1])
        assert seed in ub.history[row].tolist()
        assert torch.allclose(one.profile[row], model.text[seed], atol=1e-5)
    model.train()
    assert torch.isfinite(model(ub, torch.randint(0, cfg.n_items, (4, 5)))).all()


def test_short_history_augmentation_keeps_only_the_last_items_and_forgets_the_id(tiny):
    _, catalog, vectors, _, data = tiny
    cfg = _cfg(data, vectors, catalog, short_history_p=1.0, short_history_max=3, history_length_feature=True)
    model = build_model(cfg, catalog, vectors, data)
    table = user_table(model, data)
    ub = table.batch(torch.arange(4))
    short = model.shorten(ub)
    kept = (short.history != cfg.n_items).sum(1)
    assert ((kept >= 2) & (kept <= 3)).all()
    assert (short.users == cfg.n_users).all()  # the id would tell the model who this is
    for row in range(4):  # the kept items are the most recent ones, and the text sums cover exactly them
        k = int(kept[row])
        assert torch.equal(short.history[row, -k:], ub.history[row, -k:])
        assert torch.allclose(short.profile[row], model.text[ub.history[row, -k:]].sum(0), atol=1e-5)
    model.train()
    logits = model(ub, torch.randint(0, cfg.n_items, (4, 5)), exclude=ub.history[:, -1])
    assert logits.shape == (4, 5) and torch.isfinite(logits).all()
    model.eval()  # no augmentation at inference: the same input scores the same
    assert torch.equal(model(ub), model(ub))


def test_familiarity_counts_more_for_short_histories(tiny):
    # the cold prior adds cold_prior * min(1, n0 / n) * popularity at inference only: all of it for someone with
    # five films or fewer, less for a longer history, nothing while training or with the prior at 0
    _, catalog, vectors, _, data = tiny
    model = build_model(_cfg(data, vectors, catalog), catalog, vectors, data).eval()
    table = user_table(model, data)
    ub = table.batch(torch.arange(3))
    n = (ub.history != data.n_items).sum(1).float()
    assert (n > 5).all()
    short = UserBatch(**{**ub.__dict__, "history": torch.where(
        torch.arange(16) >= 11, ub.history, torch.full_like(ub.history, data.n_items))})  # the last five films
    plain_long, plain_short = model(ub, None), model(short, None)
    model.cfg.cold_prior = 2.0
    pop = model.popularity[: data.n_items]
    assert torch.allclose(model(short, None) - plain_short, 2.0 * pop.expand(3, -1), atol=1e-5)
    assert torch.allclose(model(ub, None) - plain_long, (2.0 * 5 / n).unsqueeze(1) * pop, atol=1e-5)
    model.cfg.cold_prior_power = 2.0  # fades faster with the history's length; all of it still for five films
    assert torch.allclose(model(short, None) - plain_short, 2.0 * pop.expand(3, -1), atol=1e-5)
    assert torch.allclose(model(ub, None) - plain_long, (2.0 * (5 / n) ** 2).unsqueeze(1) * pop, atol=1e-5)
    model.cfg.cold_prior_power = 1.0
    model.train()
    torch.manual_seed(0)
    a = model(ub, None)
    model.cfg.cold_prior = 0.0
    torch.manual_seed(0)
    assert torch.allclose(a, model(ub, None))  # training never sees it


def test_the_cold_prior_is_chosen_on_validation(tiny):
    from chatrec.training.data import holdout_last
    from chatrec.training.fit import COLD_PRIOR_GRID, COLD_PRIOR_POWERS, fit_cold_prior

    _, catalog, vectors, _, data = tiny
    fit_rows, val_rows = holdout_last(data)
    model = build_model(_cfg(data, vectors, catalog), catalog, vectors, fit_rows)
    out = fit_cold_prior(model, fit_rows, val_rows, cold_share=0.3)
    assert out["cold_prior"] in COLD_PRIOR_GRID and model.cfg.cold_prior == out["cold_prior"]
    assert out["cold_prior_power"] in COLD_PRIOR_POWERS and model.cfg.cold_prior_power == out["cold_prior_power"]
    values = out["val_ndcg@10_by_prior"]
    # every prior with every power, except no prior, which is one model whatever the power
    assert set(values) == {"0.0^1.0"} | {f"{float(g)}^{float(p)}" for g in COLD_PRIOR_GRID if g
                                         for p in COLD_PRIOR_POWERS}
    assert values[f"{out['cold_prior']}^{out['cold_prior_power']}"] == max(values.values())
