"""The fusion reranker's collaborative input: implicit-ALS scores, out of fold in training, folded in for chat users."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from chatrec.catalog import load_catalog
from chatrec.config import Config
from chatrec.errors import ChatrecError
from chatrec.evaluation.offline import synthetic_movielens
from chatrec.ranking.checkpoint import item_text_vectors, load_checkpoint, save_checkpoint
from chatrec.ranking.fusion import N_FEATURES, FusionConfig, UserBatch, pair_fold
from chatrec.ranking.scorers import FusionScorer, ScoreContext
from chatrec.training.collab import fit_als, fit_als_folds
from chatrec.training.data import Interactions, load_interactions, user_item_matrix
from chatrec.training.fit import build_model, fit, score_all, user_table


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
    kw = {"collab_factors": 8, **kw}
    return FusionConfig(n_users=data.n_users, n_items=data.n_items, n_genres=len(catalog.genres),
                        text_dim=vectors.shape[1], history_len=32, **kw)


def _anonymous(model, history: list[int]) -> UserBatch:
    cfg = model.cfg
    h = torch.full((1, cfg.history_len), cfg.n_items, dtype=torch.long)
    h[0, cfg.history_len - len(history):] = torch.as_tensor(history)
    return UserBatch(users=torch.tensor([cfg.n_users]), history=h, profile=model.text[h[0]].sum(0, keepdim=True),
                     recent=model.text[h[0, -5:]].sum(0, keepdim=True), genres=model.item_genres[h[0]].sum(0, keepdim=True),
                     ref_year=torch.tensor([2000.0]))


def test_fold_in_of_a_history_is_the_als_solution_the_implicit_package_computes(tiny):
    # a chat user has no stored ALS factor: the model solves ALS's least squares for the history, as implicit does
    from implicit.cpu.als import AlternatingLeastSquares
    from scipy.sparse import csr_matrix

    _, catalog, vectors, _, data = tiny
    for alpha in (1.0, 5.0):
        cfg = _cfg(data, vectors, catalog, collab_alpha=alpha, collab_reg=0.05)
        als = AlternatingLeastSquares(factors=8, regularization=0.05, alpha=alpha, iterations=5, random_state=0,
                                      num_threads=1)
        als.fit(user_item_matrix(data), show_progress=False)
        model = build_model(cfg, catalog, vectors, data, collab_folds=0)
        model.set_collab(np.asarray(als.user_factors), np.asarray(als.item_factors))
        history = [3, 7, 11, 20]
        row = csr_matrix((np.ones(len(history), np.float32), ([0] * len(history), history)), shape=(1, data.n_items))
        expected = als.recalculate_user(0, row)
        got = model.collab_user_vectors(_anonymous(model, history))[0].numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)


def test_known_users_use_their_stored_factor_and_the_score_reaches_the_logit(tiny):
    _, catalog, vectors, _, data = tiny
    model = build_model(_cfg(data, vectors, catalog), catalog, vectors, data, collab_folds=0).eval()
    ub = user_table(model, data).batch(torch.arange(3))
    x = model.collab_user_vectors(ub)
    torch.testing.assert_close(x, model.collab_user[:3])
    items = torch.randint(0, data.n_items, (3, 6))
    p, r, g = model.summaries(ub)
    feats = model._features(ub, items, p, r, g)
    assert feats.shape[-1] == model.n_features == N_FEATURES + 1
    torch.testing.assert_close(feats[..., N_FEATURES], torch.einsum("bf,bkf->bk", x, model.collab_item[items]))
    # the ALS score is an input of the logit: with another item factor table the logits move, and the direct
    # term's weight turns the logit's order into ALS's order when it dominates
    before = model(ub, items)
    with torch.no_grad():
        model.collab_w.fill_(1e4)
    order = model(ub, None).argsort(1, descending=True)[:, :5]
    als = model.collab_scores(ub, None).argsort(1, descending=True)[:, :5]
    assert torch.equal(order, als)
    with torch.no_grad():
        model.collab_item.mul_(-1.0)
        model.collab_w.fill_(4.0)
    assert not torch.allclose(model(ub, items), before)


def test_out_of_fold_scores_do_not_see_their_own_pair():
    # every item is rated by exactly one user: the ALS model fitted on everything scores each of a user's items
    # high (in sample); the model of the pair's own fold has never seen the item, so its score is exactly zero
    n_users, per_user = 12, 6
    users = np.repeat(np.arange(n_users), per_user)
    items = np.arange(n_users * per_user)
    data = Interactions(users, items, np.full(len(users), 5.0, np.float32), np.arange(len(users)),
                        n_users, n_users * per_user)
    u_all, v_all = fit_als(data, factors=4, regularization=0.01)
    in_sample = np.einsum("nf,nf->n", u_all[users], v_all[items])
    assert in_sample.mean() > 0.3
    k = 3
    fu, fv = fit_als_folds(data, k, factors=4, regularization=0.01)
    fold = pair_fold(users, items, k)
    assert set(fold.tolist()) == set(range(k))  # every fold holds pairs
    oof = np.einsum("nf,nf->n", fu[fold, users], fv[fold, items])
    np.testing.assert_allclose(oof, 0.0, atol=1e-6)
    # ... and a model of another fold did see the pair
    other = (fold + 1) % k
    assert np.abs(np.einsum("nf,nf->n", fu[other, users], fv[other, items])).mean() > 0.1


def test_training_scores_rows_out_of_fold_and_serving_uses_the_full_model(tiny):
    _, catalog, vectors, _, data = tiny
    model = build_model(_cfg(data, vectors, catalog), catalog, vectors, data, collab_folds=3)
    assert model.n_folds == 3
    table = user_table(model, data)
    ub = table.batch(torch.arange(4))
    items = ub.history[:, -1:]
    ub.fold = pair_fold(ub.users, items[:, 0], 3)
    oof = model.collab_scores(ub, items)
    expected = torch.einsum("bf,bf->b", model.fold_user[ub.fold, ub.users], model.fold_item[ub.fold, items[:, 0]])
    torch.testing.assert_close(oof[:, 0], expected)
    result = fit(model, table, data, epochs=1, batch_size=64, progress=False)
    assert result.model.n_folds == 0  # dropped after training: never saved, never used for scoring
    assert "fold_item" not in result.model.state_dict()
    assert np.isfinite(score_all(result.model, table, np.arange(5))).all()


def test_collab_checkpoint_round_trip_and_chat_users(tiny, tmp_path):
    _, catalog, vectors, name, data = tiny
    model = build_model(_cfg(data, vectors, catalog), catalog, vectors, data, collab_folds=0).eval()
    path = save_checkpoint(model, tmp_path / "fusion.pt", catalog=catalog, embedder_name=name, user_keys=data.user_keys)
    loaded, meta = load_checkpoint(path, catalog=catalog, embedder_name=name, vectors=vectors)
    torch.testing.assert_close(loaded.collab_item, model.collab_item)
    table = user_table(model, data)
    np.testing.assert_allclose(score_all(loaded, table, np.arange(3)), score_all(model, table, np.arange(3)),
                               rtol=1e-5, atol=1e-5)
    scorer = FusionScorer(loaded, meta)
    positions = np.arange(40)
    sims = np.linspace(1, 0, 40).astype(np.float32)
    for ctx in (ScoreContext(), ScoreContext(history=[1, 5, 9]), ScoreContext(user_key=data.user_keys[0])):
        s = scorer.score(positions, sims, ctx)
        assert s.shape == (40,) and np.isfinite(s).all()
    # a chat user's ALS input is the fold-in of what they liked: liking other films changes it
    a = loaded.collab_user_vectors(scorer.user_batch(ScoreContext(history=[1, 5, 9])))
    b = loaded.collab_user_vectors(scorer.user_batch(ScoreContext(history=[2, 6, 10])))
    assert not torch.allclose(a, b)


def test_checkpoints_from_before_the_collab_input_still_load(tiny, tmp_path):
    # a checkpoint written before `collab_factors` existed has no such field: it loads as the model it was
    _, catalog, vectors, name, data = tiny
    old = build_model(_cfg(data, vectors, catalog, collab_factors=0), catalog, vectors, data).eval()
    path = save_checkpoint(old, tmp_path / "old" / "fusion.pt", catalog=catalog, embedder_name=name,
                           user_keys=data.user_keys)
    payload = torch.load(path, weights_only=True)
    for key in ("collab_factors", "collab_reg", "collab_alpha"):
        payload["config"].pop(key)
    torch.save(payload, path)
    loaded, _ = load_checkpoint(path, catalog=catalog, embedder_name=name, vectors=vectors)
    assert loaded.cfg.collab_factors == 0
    table = user_table(old, data)
    np.testing.assert_allclose(score_all(loaded, table, np.arange(3)), score_all(old, table, np.arange(3)),
                               rtol=1e-5, atol=1e-5)
    # one whose collaborative weights went missing is refused with the command that fixes it
    new = build_model(_cfg(data, vectors, catalog), catalog, vectors, data, collab_folds=0).eval()
    path = save_checkpoint(new, tmp_path / "new" / "fusion.pt", catalog=catalog, embedder_name=name,
                           user_keys=data.user_keys)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"].pop("collab_item")
    torch.save(payload, path)
    with pytest.raises(ChatrecError, match="chatrec train"):
        load_checkpoint(path, catalog=catalog, embedder_name=name, vectors=vectors)


def test_ease_out_of_fold_and_its_two_scoring_paths_agree(tiny):
    from chatrec.training.collab import ease_block, fit_ease, fit_ease_folds

    # EASE out of fold: an item co-occurs with others only through one user's pair; without that pair (its fold's
    # matrix) its column is zero, so the pair's training score is exactly zero, while the full matrix has it
    n_users, per_user = 10, 5
    users = np.repeat(np.arange(n_users), per_user)
    items = np.arange(n_users * per_user)
    tiny_data = Interactions(users, items, np.full(len(users), 5.0, np.float32), np.arange(len(users)),
                             n_users, n_users * per_user)
    block = np.arange(n_users * per_user)
    full = fit_ease(tiny_data, block, reg=1.0)
    folds = fit_ease_folds(tiny_data, block, 3, reg=1.0)
    fold = pair_fold(users, items, 3)
    x = user_item_matrix(tiny_data).toarray()
    in_sample = np.einsum("ui,ui->u", x[users] @ full, np.eye(len(items))[items])
    oof = np.array([(x[u] @ folds[f])[i] for u, i, f in zip(users, items, fold)])
    assert in_sample.mean() > 0.05
    np.testing.assert_allclose(oof, 0.0, atol=1e-6)

    # in the model: the precomputed per-row scores training uses == summing the fold's matrix over the history,
    # and serving (no fold) reads the full matrix; the EASE score reaches the logit through its own weight
    _, catalog, vectors, _, data = tiny
    cfg = _cfg(data, vectors, catalog, ease_items=40, collab_history_len=64)
    model = build_model(cfg, catalog, vectors, data, collab_folds=3)
    assert len(ease_block(data, 40)) <= 40 and model.n_folds == 3
    table = user_table(model, data)
    ub = table.batch(torch.arange(6))
    assert ub.long_history.shape == (6, 64)
    sampled = torch.randint(0, data.n_items, (6, 7))
    ub.fold = pair_fold(ub.users, sampled[:, 0], 3)
    direct = model.ease_scores(ub, sampled)
    ub.ease_user = model.ease_user_table(table)[ub.fold, ub.users]
    torch.testing.assert_close(model.ease_scores(ub, sampled), direct)
    ub.fold, ub.ease_user = None, None
    catalog_wide = model.ease_scores(ub, None)
    torch.testing.assert_close(catalog_wide.gather(1, sampled), model.ease_scores(ub, sampled))
    assert model.n_features == N_FEATURES + 2
    before = model(ub, sampled)
    with torch.no_grad():
        model.ease_b.mul_(2.0)
    assert not torch.allclose(model(ub, sampled), before)


def test_the_ease_block_is_stored_in_half_precision_and_scores_the_same(tiny, tmp_path):
    """The EASE block is most of a checkpoint: it is written in 16 bits (the bundled checkpoint stays under the
    10 MB a Space allows without Git LFS) and loaded back into 32-bit buffers, scoring as before to 3 digits."""
    _, catalog, vectors, name, data = tiny
    model = build_model(_cfg(data, vectors, catalog, collab_factors=0, ease_items=40), catalog, vectors, data,
                        collab_folds=0).eval()
    path = save_checkpoint(model, tmp_path / "fusion.pt", catalog=catalog, embedder_name=name, user_keys=data.user_keys)
    stored = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    assert stored["ease_b"].dtype == torch.float16 and stored["ease_b"].abs().sum() > 0
    loaded, _ = load_checkpoint(path, catalog=catalog, embedder_name=name, vectors=vectors)
    assert loaded.ease_b.dtype == torch.float32
    torch.testing.assert_close(loaded.ease_b, model.ease_b, rtol=1e-3, atol=1e-4)
    table = user_table(model, data)
    np.testing.assert_allclose(score_all(loaded, table, np.arange(3)), score_all(model, table, np.arange(3)),
                               rtol=1e-2, atol=1e-3)
