"""The fusion reranker: a small two-tower model with a fusion MLP on top (one file, read top to bottom).

    user tower   u = user_id_emb[user] (known users only)  +  W_h · attention_pool(item tower over history)
    item tower   v = item_id_emb[item] (warm items only)   +  MLP(frozen sentence embedding of the item text)
    fusion       logit = u·v + bias[item] + MLP([u ⊙ v, context features])

Why this shape:
- the history path makes a chat-only person (no user id, just a few liked films) a first-class user: the
  same tower that pools a MovieLens user's history pools the films liked in the chat;
- the text path gives every item, including one nobody has rated yet, a vector in the same space;
- id embeddings are randomly dropped during training (`id_dropout`), so the history and text paths are
  trained to stand on their own, which is exactly the situation of cold users and cold items;
- the context features carry what a dot product cannot: how close the item is to what was just asked for
  (query), to the person's taste as text (profile), genre match, popularity, quality and how old the
  film is relative to the moment of the request.

With `use_text = use_history = use_context = False` the model is plain matrix factorisation (u·v + b),
the "pure MF" baseline of the evaluation, trained by the same loop.

Item-side statistics (popularity, mean rating, year, genres) are computed from the training data and
saved with the weights; the frozen text vectors are not (they come from the index or the embedding cache)
and are attached with `set_item_text`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

N_FEATURES = 9  # see `_features`; one more with `history_length_feature`


@dataclass
class FusionConfig:
    n_users: int
    n_items: int
    n_genres: int
    text_dim: int = 384
    dim: int = 32  # width of both towers (64 overfitted sooner on latest-small)
    fusion_dim: int = 8  # the towers enter the fusion MLP through this many interaction terms (cheap full ranking)
    hidden: int = 32  # width of the fusion MLP
    history_len: int = 100  # most recent items the history encoder sees
    recent_len: int = 5  # the "query" proxy in training: the last few items of the history
    id_dropout: float = 0.25  # P(drop an id embedding) in training: teaches the cold-start paths
    short_history_p: float = 0.0  # P(a training row sees only the last 2..short_history_max items of its history)
    short_history_max: int = 10  # ... so the model learns to rank for people it knows little about (cold users)
    seed_history_p: float = 0.0  # P(a training row sees one random film of its history and no id): "something like X"
    history_length_feature: bool = False  # tell the fusion MLP how many items the history holds (how much to trust it)
    dropout: float = 0.1
    use_text: bool = True
    use_history: bool = True
    use_context: bool = True
    ref_year: float = 2018.0  # "now" for the age feature at serving time: the year of the newest training event


@dataclass
class UserBatch:
    """What the model knows about a batch of users at the moment of a request."""
    users: torch.Tensor  # (B,) user index, n_users = unknown (chat-only)
    history: torch.Tensor  # (B, L) item positions, oldest first, left-padded with n_items
    profile: torch.Tensor  # (B, text_dim) sum of history text vectors (or a profile vector)
    recent: torch.Tensor  # (B, text_dim) sum of the last few history text vectors (or the query vector)
    genres: torch.Tensor  # (B, n_genres) genre counts over the history
    ref_year: torch.Tensor  # (B,) the year of the request


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-6)


class FusionModel(nn.Module):
    def __init__(self, cfg: FusionConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.dim
        # one extra row each: index n_users / n_items means "unknown" / "padding" and stays zero
        self.user_emb = nn.Embedding(cfg.n_users + 1, d, padding_idx=cfg.n_users)
        self.item_emb = nn.Embedding(cfg.n_items + 1, d, padding_idx=cfg.n_items)
        self.item_bias = nn.Embedding(cfg.n_items + 1, 1, padding_idx=cfg.n_items)
        nn.init.normal_(self.user_emb.weight, std=0.05)
        nn.init.normal_(self.item_emb.weight, std=0.05)
        nn.init.zeros_(self.item_bias.weight)
        with torch.no_grad():
            self.user_emb.weight[cfg.n_users].zero_()
            self.item_emb.weight[cfg.n_items].zero_()
        if cfg.use_text:  # frozen sentence embedding -> the item space
            self.text_proj = nn.Sequential(nn.Linear(cfg.text_dim, d), nn.GELU(), nn.Linear(d, d))
        if cfg.use_history:
            # FISM-style pooling of the history's item embeddings with learned recency weights (an
            # EmbeddingBag: cheap enough to train on 2 cores), plus the mean sentence embeddings of the whole
            # history and of its last few items. The text half alone carries a chat-only user.
            self.pos_logit = nn.Parameter(torch.zeros(cfg.history_len))
            self.hist_ids = nn.Linear(d, d, bias=False)
            self.hist_text = nn.Sequential(nn.Linear(2 * cfg.text_dim, d), nn.GELU(), nn.Linear(d, d))
        if cfg.use_context:
            # The fusion MLP sees a low-rank view of both towers (fusion_dim products), their dot product and
            # the context features; keeping its input small keeps full-catalog ranking cheap.
            self.fuse_u = nn.Linear(d, cfg.fusion_dim, bias=False)
            self.fuse_v = nn.Linear(d, cfg.fusion_dim, bias=False)
            self.fusion = nn.Sequential(
                nn.Linear(cfg.fusion_dim + 1 + self.n_features, cfg.hidden), nn.GELU(), nn.Dropout(cfg.dropout),
                nn.Linear(cfg.hidden, 1),
            )
        # item-side data: training statistics are saved with the weights, text vectors are attached later
        n = cfg.n_items + 1
        self.register_buffer("warm", torch.zeros(n))  # 1 = the item had training interactions
        self.register_buffer("popularity", torch.zeros(n))  # log1p(count) / log1p(max count)
        self.register_buffer("quality", torch.zeros(n))  # shrunk mean rating, (r - 3) / 2
        self.register_buffer("year", torch.zeros(n))  # 0 = unknown
        self.register_buffer("item_genres", torch.zeros(n, cfg.n_genres))
        self.register_buffer("text", torch.zeros(n, cfg.text_dim), persistent=False)

    @property
    def n_features(self) -> int:
        return N_FEATURES + int(self.cfg.history_length_feature)

    # ---------------------------------------------------------------- data attached to the model

    def set_item_stats(self, warm, popularity, quality, year, genres) -> None:
        for name, value in (("warm", warm), ("popularity", popularity), ("quality", quality), ("year", year),
                            ("item_genres", genres)):
            buf = getattr(self, name)
            buf.zero_()
            buf[: self.cfg.n_items] = torch.as_tensor(np.asarray(value), dtype=buf.dtype)

    def set_item_text(self, vectors: np.ndarray) -> None:
        if vectors.shape != (self.cfg.n_items, self.cfg.text_dim):
            raise ValueError(f"text vectors have shape {vectors.shape}, the model expects "
                             f"({self.cfg.n_items}, {self.cfg.text_dim})")
        self.text.zero_()
        self.text[: self.cfg.n_items] = torch.as_tensor(vectors, dtype=torch.float32)

    # ---------------------------------------------------------------- towers

    def item_vectors(self, items: torch.Tensor | None = None, drop_ids: bool = False) -> torch.Tensor:
        """(..., dim) item tower for `items`, or (n_items, dim) for the whole catalog."""
        if items is None:
            items = torch.arange(self.cfg.n_items, device=self.warm.device)
        keep = self.warm[items].unsqueeze(-1)  # an item nobody interacted with has an untrained id embedding
        if drop_ids:
            keep = keep * (torch.rand_like(keep) >= self.cfg.id_dropout).float()
        v = self.item_emb(items) * keep
        if self.cfg.use_text:
            v = v + self.text_proj(self.text[items])
        return v

    def summaries(self, ub: UserBatch, exclude: torch.Tensor | None = None):
        """Unit profile and recent text vectors and the genre distribution, leaving `exclude` out (leave-one-out:
        a training target must not be its own evidence)."""
        profile, recent, genres = ub.profile, ub.recent, ub.genres
        if exclude is not None:
            in_hist = (ub.history == exclude.unsqueeze(1)).any(1, keepdim=True).float()
            in_recent = (ub.history[:, -self.cfg.recent_len:] == exclude.unsqueeze(1)).any(1, keepdim=True).float()
            profile = profile - in_hist * self.text[exclude]
            recent = recent - in_recent * self.text[exclude]
            genres = genres - in_hist * self.item_genres[exclude]
        return _unit(profile), _unit(recent), genres / genres.sum(1, keepdim=True).clamp_min(1.0)

    def user_vectors(self, ub: UserBatch, profile: torch.Tensor, recent: torch.Tensor,
                     exclude: torch.Tensor | None = None, drop_ids: bool = False) -> torch.Tensor:
        u = self.user_emb(ub.users)
        if drop_ids:
            u = u * (torch.rand(u.shape[0], 1, device=u.device) >= self.cfg.id_dropout).float()
        if self.cfg.use_history:
            hist = ub.history
            mask = hist != self.cfg.n_items
            if exclude is not None:
                mask = mask & (hist != exclude.unsqueeze(1))
            w = torch.exp(self.pos_logit[-hist.shape[1]:]).expand_as(hist) * mask.float()
            w = w / w.sum(1, keepdim=True).clamp_min(1e-9)
            pooled = F.embedding_bag(hist, self.item_emb.weight, per_sample_weights=w, mode="sum")
            u = u + self.hist_ids(pooled) + self.hist_text(torch.cat([profile, recent], dim=-1))
        return u

    # ---------------------------------------------------------------- context features

    def _features(self, ub: UserBatch, items: torch.Tensor | None, profile, recent, genre_dist,
                  exclude: torch.Tensor | None = None) -> torch.Tensor:
        """(B, K, n_features) for items (B, K), or (B, n_items, n_features) for every item when items is None."""
        if items is None:
            text, ig = self.text[:-1], self.item_genres[:-1]
            f_profile, f_recent = profile @ text.T, recent @ text.T
            f_genre = genre_dist @ ig.T / ig.sum(1).clamp_min(1.0)
            sel = slice(0, self.cfg.n_items)
            pop, qual, year, warm = (b[sel].expand(len(profile), -1) for b in
                                     (self.popularity, self.quality, self.year, self.warm))
        else:
            text, ig = self.text[items], self.item_genres[items]
            f_profile = torch.einsum("bd,bkd->bk", profile, text)
            f_recent = torch.einsum("bd,bkd->bk", recent, text)
            f_genre = torch.einsum("bg,bkg->bk", genre_dist, ig) / ig.sum(-1).clamp_min(1.0)
            pop, qual, year, warm = self.popularity[items], self.quality[items], self.year[items], self.warm[items]
        has_year = (year > 0).float()
        age = ((year - ub.ref_year.unsqueeze(1)) / 10.0).clamp(-5.0, 1.0) * has_year
        future = (year > ub.ref_year.unsqueeze(1)).float() * has_year  # a film released after the request
        feats = [f_recent, f_profile, f_genre, pop, qual, age, future, has_year, 1.0 - warm]
        if self.cfg.history_length_feature:
            known = ub.history != self.cfg.n_items
            if exclude is not None:
                known = known & (ub.history != exclude.unsqueeze(1))
            n = torch.log1p(known.sum(1).float()) / math.log1p(self.cfg.history_len)
            feats.append(n.unsqueeze(1).expand_as(f_recent))
        return torch.stack(feats, dim=-1)

    # ---------------------------------------------------------------- scoring

    def shorten(self, ub: UserBatch) -> UserBatch:
        """Training augmentation: some rows keep only the last few items of their history and lose their user
        id, so they look like the people the model meets least prepared -- a MovieLens user with five ratings,
        a chat user with three likes. Without it every training row had the full history behind it."""
        cfg = self.cfg
        B, L = ub.history.shape
        rows = torch.nonzero(torch.rand(B, device=ub.history.device) < cfg.short_history_p).squeeze(1)
        if len(rows) == 0:
            return ub
        keep = torch.randint(2, cfg.short_history_max + 1, (len(rows), 1), device=rows.device)
        h = ub.history[rows].clone()
        h[torch.arange(L, device=h.device).unsqueeze(0) < L - keep] = cfg.n_items
        return self._anonymous(ub, rows, h)

    def _anonymous(self, ub: UserBatch, rows: torch.Tensor, h: torch.Tensor) -> UserBatch:
        """`ub` with `rows` given the histories `h` (their summaries recomputed) and no user id."""
        cfg = self.cfg
        history, profile, recent, genres, users = (x.clone() for x in
                                                  (ub.history, ub.profile, ub.recent, ub.genres, ub.users))
        history[rows] = h
        profile[rows] = self.text[h].sum(1)
        recent[rows] = self.text[h[:, -cfg.recent_len:]].sum(1)
        genres[rows] = self.item_genres[h].sum(1)
        users[rows] = cfg.n_users
        return UserBatch(users=users, history=history, profile=profile, recent=recent, genres=genres,
                         ref_year=ub.ref_year)

    def one_seed(self, ub: UserBatch) -> UserBatch:
        """Training augmentation for "something like X" from a stranger: some rows keep one random film of their
        history and lose their user id, so the model learns what the people who liked that one film also liked
        (at serving time such a person's history is just the film they named)."""
        cfg = self.cfg
        B, L = ub.history.shape
        rows = torch.nonzero(torch.rand(B, device=ub.history.device) < cfg.seed_history_p).squeeze(1)
        if len(rows) == 0:
            return ub
        h = ub.history[rows]
        known = h != cfg.n_items
        pick = torch.multinomial(known.float() + 1e-9, 1)  # a random known film (an empty row keeps padding)
        seed = h.gather(1, pick)
        one = torch.full_like(h, cfg.n_items)
        one[:, -1:] = seed
        return self._anonymous(ub, rows, one)

    def forward(self, ub: UserBatch, items: torch.Tensor | None = None, exclude: torch.Tensor | None = None,
                item_v: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, K) for items (B, K), or (B, n_items) for the whole catalog when items is None.

        `item_v` (n_items, dim) lets a caller reuse the catalog's item tower across calls (inference).
        """
        drop = self.training
        if drop and self.cfg.short_history_p > 0:
            ub = self.shorten(ub)
        if drop and self.cfg.seed_history_p > 0:
            ub = self.one_seed(ub)
        profile, recent, genre_dist = self.summaries(ub, exclude)
        u = self.user_vectors(ub, profile, recent, exclude=exclude, drop_ids=drop)
        if items is None:
            v = item_v if item_v is not None else self.item_vectors()
            dot = u @ v.T + self.item_bias.weight[:-1, 0]
            v = v.unsqueeze(0)
        else:
            v = item_v[items] if item_v is not None else self.item_vectors(items, drop_ids=drop)
            dot = torch.einsum("bd,bkd->bk", u, v) + self.item_bias(items).squeeze(-1)
        if not self.cfg.use_context:
            return dot
        feats = self._features(ub, items, profile, recent, genre_dist, exclude)
        cross = self.fuse_u(u).unsqueeze(1) * self.fuse_v(v)
        x = torch.cat([cross.expand(*feats.shape[:2], -1), dot.unsqueeze(-1), feats], dim=-1)
        return dot + self.fusion(x).squeeze(-1)


def bce_loss(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """pos (B,), neg (B, n): positives are 1, sampled negatives 0."""
    return F.binary_cross_entropy_with_logits(pos, torch.ones_like(pos)) + \
        F.binary_cross_entropy_with_logits(neg, torch.zeros_like(neg))


def bpr_loss(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """Bayesian personalised ranking: a positive should outscore each sampled negative."""
    return -F.logsigmoid(pos.unsqueeze(1) - neg).mean()


LOSSES = {"bce": bce_loss, "bpr": bpr_loss}


def row_losses(loss: str, pos: torch.Tensor, neg: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Per-row losses (B,) for rows that may be explicit negatives (label -1: a dislike or a low rating).

    A positive row is exactly what `LOSSES[loss]` averages. A negative row turns the item the person rejected
    into the negative: for BCE its target is 0, for BPR it should rank below the sampled items (which are
    merely unobserved, so they count as better than a known miss)."""
    if loss == "bce":
        pos_rows = F.softplus(-pos) + F.softplus(neg).mean(1)
        neg_rows = F.softplus(pos)
    elif loss == "bpr":
        pos_rows = F.softplus(neg - pos.unsqueeze(1)).mean(1)
        neg_rows = F.softplus(pos.unsqueeze(1) - neg).mean(1)
    else:
        raise ValueError(f"unknown loss {loss!r}")
    return torch.where(label > 0, pos_rows, neg_rows)


# ---------------------------------------------------------------- user summaries

class UserTable:
    """Per-user tensors the model reads (history window, text and genre sums), built once from histories.

    `histories[u]` lists item positions oldest first. The text and genre sums cover the same window as the
    history tensor, so leaving the training target out of them (see `FusionModel._features`) is exact.
    """

    def __init__(self, histories: list[list[int]], ref_years: np.ndarray, text: torch.Tensor,
                 item_genres: torch.Tensor, cfg: FusionConfig, user_ids: np.ndarray | None = None):
        n, L, pad = len(histories), cfg.history_len, cfg.n_items
        hist = np.full((n, L), pad, dtype=np.int64)
        for u, h in enumerate(histories):
            h = h[-L:]
            if h:
                hist[u, L - len(h):] = h
        self.history = torch.as_tensor(hist)
        self.profile = torch.zeros(n, cfg.text_dim)
        self.recent = torch.zeros(n, cfg.text_dim)
        self.genres = torch.zeros(n, cfg.n_genres)
        for lo in range(0, n, 256):  # chunks keep the gathered (chunk, L, text_dim) block small
            h = self.history[lo: lo + 256]
            self.profile[lo: lo + 256] = text[h].sum(1)
            self.recent[lo: lo + 256] = text[h[:, -cfg.recent_len:]].sum(1)
            self.genres[lo: lo + 256] = item_genres[h].sum(1)
        self.ref_year = torch.as_tensor(np.asarray(ref_years, dtype=np.float32))
        # row -> the model's user index. Default: the row itself. Continual training adds rows for people the
        # checkpoint does not know (chat users), all mapped to n_users, the "unknown" id: like at serving time,
        # only their history speaks for them.
        self.user_ids = None if user_ids is None else torch.as_tensor(np.asarray(user_ids, dtype=np.int64))
        self.cfg = cfg

    def __len__(self) -> int:
        return len(self.history)

    def to(self, device) -> "UserTable":
        for name in ("history", "profile", "recent", "genres", "ref_year"):
            setattr(self, name, getattr(self, name).to(device))
        if self.user_ids is not None:
            self.user_ids = self.user_ids.to(device)
        return self

    def batch(self, rows: torch.Tensor, user_ids: torch.Tensor | None = None) -> UserBatch:
        """Rows of this table; `user_ids` are the model's user indices (default: the table's own mapping, else
        the rows themselves)."""
        if user_ids is None:
            user_ids = rows if self.user_ids is None else self.user_ids[rows]
        return UserBatch(users=user_ids, history=self.history[rows],
                         profile=self.profile[rows], recent=self.recent[rows], genres=self.genres[rows],
                         ref_year=self.ref_year[rows])
