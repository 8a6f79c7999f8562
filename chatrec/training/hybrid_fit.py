"""Training the learned source head (`chatrec.ranking.hybrid.SourceHead`), the last step of `chatrec train`.

The head ranks the union of every candidate source from their evidence (the fusion scorer's score, text and
collaborative similarity, quality, popularity, genre fit, which sources proposed it). It learns from requests
simulated on the ratings, answered by the chat's own path (`Recommender.evidence`), with nothing the answer
could leak from:

- a quarter of the users (with 10 likes or more) is held out, and a fusion model and collaborative vectors are
  trained on the others with the same code as the served ones: the held-out users' likes are films no model in
  the request has seen them with (the protocol of bench/like_x, on other users);
- "something like X" rows: a stranger (no profile) names X, one of the user's best-rated films; the answers are
  their other films rated >= 4;
- profile rows: a returning person whose stored likes are half of the user's likes asks for "anything"; the
  answers are the other half.

Loss: listwise softmax cross-entropy over each request's candidates (the answers share the target mass), the
usual choice for learning a list order from few positives. Requests are split by user: 15% of the users
validate, and the epoch with the best validation hit rate@5 is kept.
"""
from __future__ import annotations

import logging
import random
from dataclasses import asdict, dataclass

import numpy as np
import torch

from chatrec.catalog import Catalog
from chatrec.config import Config
from chatrec.profile.store import Profile
from chatrec.ranking.hybrid import FEATURES, SourceHead
from chatrec.retrieval.retrieve import Request
from chatrec.training.data import Interactions

log = logging.getLogger("chatrec")


@dataclass
class Lists:
    """One row per simulated request: its candidates' features and which of them were answers."""
    x: list[np.ndarray]
    y: list[np.ndarray]
    user: list[int]
    kind: list[str]
    positions: list[np.ndarray]  # the candidates' catalog positions


def simulate(rec, held: Interactions, *, seed: int = 0, like_x_per_user: int = 3, min_likes: int = 10,
             max_users: int = 1500, progress: bool = True) -> Lists:
    """Simulated requests answered by `rec`, whose scorer and collaborative vectors never saw the users of `held`;
    their own ratings give the answers (see the module docstring)."""
    from tqdm.auto import tqdm

    rng = random.Random(seed)
    items = rec.catalog.items
    likes: dict[int, list[tuple[int, float]]] = {}
    for u, i, r in zip(held.user.tolist(), held.item.tolist(), held.rating.tolist()):
        if r >= 4:
            likes.setdefault(u, []).append((i, r))
    users = sorted(u for u, rows in likes.items() if len(rows) >= min_likes)
    if len(users) > max_users:
        users = sorted(rng.sample(users, max_users))
    out = Lists([], [], [], [], [])

    def add(req: Request, profile: Profile, answers: set[int], u: int, kind: str) -> None:
        cands, base = rec.evidence(req, profile)
        if not len(cands) or not cands.collaborative:
            return
        y = np.fromiter((int(p) in answers for p in cands.positions), dtype=np.float32, count=len(cands))
        if y.sum() == 0:
            return  # nothing to learn the order from
        out.x.append(rec.features(cands, base, req))
        out.y.append(y)
        out.user.append(u)
        out.kind.append(kind)
        out.positions.append(np.asarray(cands.positions))

    for u in tqdm(users, desc="simulated requests", unit="user", disable=not progress):
        liked = sorted(i for i, _ in likes[u])
        best = max(r for _, r in likes[u])
        loved = sorted(i for i, r in likes[u] if r >= best)
        for x in rng.sample(loved, min(like_x_per_user, len(loved))):
            # a stranger names X: X is shown, the person's other likes are the answers
            add(Request(seeds=[items[x].item_id], exclude={items[x].item_id}), Profile(user_id=f"sim_{u}"),
                set(liked) - {x}, u, "like_x")
        # a returning person: half their likes are stored in the profile, the other half are the answers
        rng.shuffle(liked)
        stored, answers = liked[: len(liked) // 2][:50], set(liked[len(liked) // 2:])
        ids = [items[i].item_id for i in stored]
        vec = rec.index.vectors[stored].mean(axis=0)
        profile = Profile(user_id=f"sim_{u}", liked=ids, vector=(vec / max(float(np.linalg.norm(vec)), 1e-9)).astype(np.float32))
        add(Request(exclude=set(ids)), profile, answers, u, "profile")
    return out


def _hit_at(head_scores: list[np.ndarray], ys: list[np.ndarray], k: int = 5) -> float:
    hits = [float(y[np.argsort(-s, kind="stable")[:k]].sum()) / k for s, y in zip(head_scores, ys)]
    return float(np.mean(hits)) if hits else 0.0


@dataclass
class HeadParams:
    hidden: int = 16
    epochs: int = 60
    lr: float = 3e-3
    weight_decay: float = 1e-3
    # Answers weigh count^-debias (count: how many people rated the film). Without it (0) the head learns the
    # strongest single signal of hit rate, popularity, and answers "like X" with the same blockbusters for every
    # X; chosen on validation users of bench/like_x against the three targets (hit rate, debiased hit
    # rate, novelty), see docs/evaluation.md.
    debias: float = 2.0
    val_share: float = 0.15


def fit_head(lists: Lists, counts: np.ndarray, params: HeadParams | None = None, *, seed: int = 0,
             scorer: str = "fusion") -> tuple[SourceHead, dict]:
    """Train the head on `lists` (`counts`: ratings per catalog position, for the debiasing weights); returns it
    and a summary (validation hit rate@5 of the head and of the scorer's own order, per request kind)."""
    p = params or HeadParams()
    hidden, epochs, lr, weight_decay, val_share = p.hidden, p.epochs, p.lr, p.weight_decay, p.val_share
    if not lists.x:
        raise ValueError("no simulated requests to learn from (no ratings, or no collaborative vectors)")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    users = np.unique(lists.user)
    val_users = set(rng.choice(users, max(1, int(val_share * len(users))), replace=False).tolist())
    is_val = np.array([u in val_users for u in lists.user])
    train_idx, val_idx = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    if len(users) < 2:  # one person's requests only (a toy catalog): they train and pick the epoch both
        train_idx = val_idx = np.arange(len(lists.x))
    allx = np.concatenate([lists.x[i] for i in train_idx])
    mean, std = allx.mean(0), allx.std(0)
    std = np.where(std > 1e-6, std, 1.0).astype(np.float32)
    n = len(FEATURES)
    net = torch.nn.Sequential(torch.nn.Linear(n, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    # one padded batch of all training lists: a few hundred lists of a few hundred candidates
    def padded(idx):
        width = max(len(lists.y[i]) for i in idx)
        x = np.zeros((len(idx), width, n), dtype=np.float32)
        y = np.zeros((len(idx), width), dtype=np.float32)
        m = np.zeros((len(idx), width), dtype=bool)
        for r, i in enumerate(idx):
            k = len(lists.y[i])
            weight = (np.asarray(counts, dtype=np.float64)[lists.positions[i]] + 1.0) ** -p.debias
            x[r, :k], y[r, :k], m[r, :k] = (lists.x[i] - mean) / std, lists.y[i] * weight, True
        return torch.as_tensor(x), torch.as_tensor(y), torch.as_tensor(m)
    xt, yt, mt = padded(train_idx)
    target = yt / yt.sum(1, keepdim=True)

    def head_now() -> SourceHead:
        w1, b1 = net[0].weight.detach().numpy().copy(), net[0].bias.detach().numpy().copy()
        w2, b2 = net[2].weight.detach().numpy()[0].copy(), float(net[2].bias.detach()[0])
        return SourceHead(mean.astype(np.float32), std, w1, b1, w2, b2, {})

    def val_hit(head: SourceHead, kind: str | None = None) -> float:
        idx = [i for i in val_idx if kind is None or lists.kind[i] == kind]
        return _hit_at([head.score(lists.x[i]) for i in idx], [lists.y[i] for i in idx])

    best, best_epoch, best_head = -1.0, 0, head_now()
    for epoch in range(1, epochs + 1):
        net.train()
        for batch in torch.randperm(len(train_idx)).split(64):
            logits = net(xt[batch]).squeeze(-1).masked_fill(~mt[batch], -1e9)
            loss = -(target[batch] * torch.log_softmax(logits, dim=1)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        head = head_now()
        hit = val_hit(head)
        if hit > best:
            best, best_epoch, best_head = hit, epoch, head
    scorer_col = FEATURES.index("scorer")
    summary = {"requests": len(lists.x), "train_requests": int(len(train_idx)), "val_requests": int(len(val_idx)),
               "best_epoch": best_epoch, "val_hit@5": best,
               "val_hit@5_scorer_only": _hit_at([lists.x[i][:, scorer_col] for i in val_idx],
                                                [lists.y[i] for i in val_idx])}
    for kind in sorted(set(lists.kind)):
        summary[f"val_hit@5_{kind}"] = val_hit(best_head, kind)
    best_head.meta = {"scorer": scorer, "params": asdict(p), "seed": seed, **summary}
    return best_head, summary


def train_head(config: Config, catalog: Catalog, data: Interactions, text_vectors: np.ndarray, *, seed: int = 0,
               progress: bool = True, params: HeadParams | None = None, share: float = 0.25,
               model_params: dict | None = None) -> tuple[SourceHead, dict]:
    """The head for a catalog. A `share` of the users with at least 10 likes is held out; a fusion model and
    collaborative vectors are trained on the others (`train_model`, `fit_collab`: the same code as the served
    ones); the chat's ranking path over in-memory indexes answers simulated requests of the held-out users;
    `fit_head` learns from them. The held-out users are in the served models, only not in these."""
    from chatrec.chat.recommender import Recommender
    from chatrec.ranking.scorers import FusionScorer
    from chatrec.retrieval.index import VectorIndex
    from chatrec.training.collab import fit_collab
    from chatrec.training.fit import train_model

    rng = np.random.default_rng(seed)
    n_likes = np.bincount(data.user[data.rating >= 4], minlength=data.n_users)
    eligible = np.flatnonzero(n_likes >= 10)
    if len(eligible) < 10:
        raise ValueError(f"{len(eligible)} users with 10 likes or more: too few to simulate requests from")
    held_users = rng.choice(eligible, max(5, int(share * len(eligible))), replace=False)
    held_mask = np.isin(data.user, held_users)
    rest, held = data.subset(~held_mask), data.subset(held_mask)
    result, _ = train_model(catalog, text_vectors, rest, progress=progress, seed=seed, model_params=model_params,
                            device=config.device)
    collab, _ = fit_collab(rest, seed=seed)
    big = len(catalog) + 1  # in-memory exact search: these indexes are never written to the vector store
    index = VectorIndex(catalog, None, None, text_vectors, {}, exact_max_items=big)
    collab_index = VectorIndex(catalog, None, None, collab, {}, exact_max_items=big)
    rec = Recommender(config, catalog, index, store=None, scorer=FusionScorer(result.model, {}), collab=collab_index)
    lists = simulate(rec, held, seed=seed, progress=progress)
    counts = np.bincount(rest.item, minlength=len(catalog))
    return fit_head(lists, counts, params, seed=seed, scorer="fusion")
