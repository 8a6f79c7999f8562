"""The fusion reranker: a small two-tower model with a fusion MLP on top (one file, read top to bottom).

    user tower   u = user_id_emb[user] (known users only)  +  W_h · attention_pool(item tower over history)
    item tower   v = item_id_emb[item] (warm items only)   +  MLP(frozen sentence embedding of the item text)
    fusion       logit = u·v + bias[item] + w·ials(user, item) + w'·ease(user, item)
                         + MLP([u ⊙ v, context features, ials, ease])

    ials(user, item) = x_user · y_item, the implicit-ALS score (`collab_factors` > 0): collaborative evidence fed in
    as an input (stacking). x_user is the user's ALS factor for a known user and the closed-form ALS fold-in of
    the history for anyone else (a chat user), so the same score exists at serving time. In training the scores
    come out of fold: a (user, item) pair in fold k is scored by an ALS model fitted without fold k, else every
    training positive would carry an in-sample (too high) score and the model would learn to trust it blindly.
    ease(user, item) = sum over the history h of B[h, item], the closed-form item-item model EASE (Steck 2019,
    `ease_items` > 0) over the most-interacted items, also out of fold in training. Both start with a large direct
    weight, so the model starts as the collaborative model and learns a residual on top.

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

N_FEATURES = 9  # see `_features`; one more with `collab_factors`, one more with `history_length_feature`


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
    # A person with a short history is scored partly by familiarity: at inference the logits gain
    # cold_prior * min(1, cold_prior_n / history length) ** cold_prior_power * popularity. Fitted after training on
    # validation users cut to five items (`training.fit.fit_cold_prior`); 0 (older checkpoints) leaves the scores as
    # the model made them. A higher power keeps the prior for the people it is for and off long histories.
    cold_prior: float = 0.0
    cold_prior_n: int = 5
    cold_prior_power: float = 1.0
    dropout: float = 0.1
    use_text: bool = True
    use_history: bool = True
    use_context: bool = True
    ref_year: float = 2018.0  # "now" for the age feature at serving time: the year of the newest training event
    # implicit-ALS scores as an input (stacking): 0 = off, the model before it (checkpoints without these fields)
    collab_factors: int = 0
    collab_reg: float = 0.01  # the ALS settings: the fold-in at serving time solves the same least squares
    collab_alpha: float = 1.0
    # EASE item-item scores as an input: 0 = off; else the number of most-interacted items (>= 3 interactions) in
    # its item-item matrix (stored dense in the checkpoint: 4,000 items = 64 MB)
    ease_items: int = 0
    ease_reg: float = 200.0
    # initial weight of the collaborative scores' direct terms. They are ~0..1 and the other terms start near 0, so
    # at 20 the model starts as the collaborative model and learns a residual on top; at 4 the learned part takes
    # over within an epoch (docs/evaluation.md: which one wins depends on the protocol; chosen on validation)
    collab_w0: float = 20.0
    collab_history_len: int = 1000  # most recent items the EASE score reads (known users' long histories)


@dataclass
class UserBatch:
    """What the model knows about a batch of users at the moment of a request."""
    users: torch.Tensor  # (B,) user index, n_users = unknown (chat-only)
    history: torch.Tensor  # (B, L) item positions, oldest first, left-padded with n_items
    profile: torch.Tensor  # (B, text_dim) sum of history text vectors (or a profile vector)
    recent: torch.Tensor  # (B, text_dim) sum of the last few history text vectors (or the query vector)
    genres: torch.Tensor  # (B, n_genres) genre counts over the history
    ref_year: torch.Tensor  # (B,) the year of the request
    fold: torch.Tensor | None = None  # (B,) training only: the out-of-fold ALS model that scores each row
    long_history: torch.Tensor | None = None  # (B, collab_history_len) for EASE; None: `history` is used
    ease_user: torch.Tensor | None = None  # (B, ease_items + 1) training only: the rows' EASE scores, precomputed


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
        if cfg.collab_factors > 0:
            f = cfg.collab_factors
            # ALS factors fitted on the training rows (zero rows: items / users without interactions, padding)
            self.register_buffer("collab_item", torch.zeros(n, f))
            self.register_buffer("collab_user", torch.zeros(cfg.n_users + 1, f))
            self.register_buffer("collab_gram", torch.zeros(f, f))  # Y^T Y, for the fold-in
            # training only, never saved: K out-of-fold ALS models (K, n + 1, f), (K, n_users + 1, f), (K, f, f)
            self.register_buffer("fold_item", torch.zeros(0, n, f), persistent=False)
            self.register_buffer("fold_user", torch.zeros(0, cfg.n_users + 1, f), persistent=False)
            self.register_buffer("fold_gram", torch.zeros(0, f, f), persistent=False)
            self.collab_w = nn.Parameter(torch.tensor(float(cfg.collab_w0)))
        if cfg.ease_items > 0:
            m = cfg.ease_items + 1  # last row / column: items outside the EASE block and padding
            self.register_buffer("ease_index", torch.full((n,), cfg.ease_items, dtype=torch.long))
            self.register_buffer("ease_b", torch.zeros(m, m))
            self.register_buffer("ease_fold", torch.zeros(0, m, m), persistent=False)
            self.ease_w = nn.Parameter(torch.tensor(float(cfg.collab_w0)))

    @property
    def n_features(self) -> int:
        return N_FEATURES + int(self.cfg.collab_factors > 0) + int(self.cfg.ease_items > 0) + \
            int(self.cfg.history_length_feature)

    # ---------------------------------------------------------------- data attached to the model

    def set_item_stats(self, warm, popularity, quality, year, genres) -> None:
        for name, value in (("warm", warm), ("popularity", popularity), ("quality", quality), ("year", year),
                            ("item_genres", genres)):
            buf = getattr(self, name)
            buf.zero_()
            buf[: self.cfg.n_items] = torch.as_tensor(np.asarray(value), dtype=buf.dtype)

    def set_collab(self, user_factors: np.ndarray, item_factors: np.ndarray,
                   folds: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """ALS factors fitted on the training rows, (n_users, f) and (n_items, f); `folds` = ((K, n_users, f),
        (K, n_items, f)), the out-of-fold models that score the training rows (`pair_fold` assigns the pairs)."""
        cfg = self.cfg
        if cfg.collab_factors <= 0:
            raise ValueError("this model has no collaborative input (collab_factors = 0)")
        u = torch.as_tensor(np.asarray(user_factors), dtype=torch.float32)
        v = torch.as_tensor(np.asarray(item_factors), dtype=torch.float32)
        if u.shape != (cfg.n_users, cfg.collab_factors) or v.shape != (cfg.n_items, cfg.collab_factors):
            raise ValueError(f"ALS factors of shapes {tuple(u.shape)}, {tuple(v.shape)} do not fit the model "
                             f"({cfg.n_users}, {cfg.n_items} x {cfg.collab_factors})")
        self.collab_user.zero_(), self.collab_item.zero_()
        self.collab_user[:-1], self.collab_item[:-1] = u, v
        self.collab_gram.copy_(v.T @ v)
        if folds is None:
            k = 0
            fu = torch.zeros(0, cfg.n_users + 1, cfg.collab_factors)
            fi = torch.zeros(0, cfg.n_items + 1, cfg.collab_factors)
        else:
            fu_np, fi_np = (torch.as_tensor(np.asarray(x), dtype=torch.float32) for x in folds)
            k = len(fi_np)
            fu = torch.zeros(k, cfg.n_users + 1, cfg.collab_factors)
            fi = torch.zeros(k, cfg.n_items + 1, cfg.collab_factors)
            fu[:, :-1], fi[:, :-1] = fu_np, fi_np
        dev = self.collab_item.device
        self.fold_user, self.fold_item = fu.to(dev), fi.to(dev)
        self.fold_gram = (fi.transpose(1, 2) @ fi).to(dev)

    def set_ease(self, items: np.ndarray, b: np.ndarray, folds: np.ndarray | None = None) -> None:
        """The EASE block: `items` (m,) catalog positions, `b` (m, m) item-item weights (zero diagonal), `folds`
        (K, m, m) the out-of-fold matrices that score the training rows."""
        cfg = self.cfg
        if cfg.ease_items <= 0:
            raise ValueError("this model has no EASE input (ease_items = 0)")
        m = len(items)
        if m > cfg.ease_items or np.asarray(b).shape != (m, m):
            raise ValueError(f"an EASE block of {m} items, {np.asarray(b).shape} does not fit ease_items={cfg.ease_items}")
        pad = cfg.ease_items
        self.ease_index.fill_(pad)
        self.ease_index[torch.as_tensor(np.asarray(items), dtype=torch.long)] = torch.arange(m)
        self.ease_b.zero_()
        self.ease_b[:m, :m] = torch.as_tensor(np.asarray(b), dtype=torch.float32)
        fold = torch.zeros(0 if folds is None else len(folds), pad + 1, pad + 1)
        if folds is not None:
            fold[:, :m, :m] = torch.as_tensor(np.asarray(folds), dtype=torch.float32)
        self.ease_fold = fold.to(self.ease_b.device)

    def drop_folds(self) -> None:
        """Forget the out-of-fold models (training is over; they are never saved)."""
        if self.cfg.collab_factors > 0:
            self.fold_user, self.fold_item, self.fold_gram = (x[:0] for x in (self.fold_user, self.fold_item,
                                                                               self.fold_gram))
        if self.cfg.ease_items > 0:
            self.ease_fold = self.ease_fold[:0]

    @property
    def n_folds(self) -> int:
        if self.cfg.collab_factors > 0:
            return len(self.fold_item)
        return len(self.ease_fold) if self.cfg.ease_items > 0 else 0

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

    # ---------------------------------------------------------------- collaborative (ALS) scores

    def collab_user_vectors(self, ub: UserBatch, exclude: torch.Tensor | None = None) -> torch.Tensor:
        """(B, f) ALS user factors: the stored factor of a known user (in training with `ub.fold`: the factor of
        the out-of-fold model, fitted without the row's own pair), the fold-in of the history for anyone else."""
        cfg = self.cfg
        folded = ub.fold is not None and self.n_folds > 0
        if folded:
            known = self.fold_user[ub.fold, ub.users]
            items = self.fold_item[ub.fold.unsqueeze(1), ub.history]  # (B, L, f)
            gram = self.fold_gram[ub.fold]
        else:
            known = self.collab_user[ub.users]
            items = self.collab_item[ub.history]
            gram = self.collab_gram.expand(len(ub.users), -1, -1)
        unknown = ub.users == cfg.n_users
        if not bool(unknown.any()):
            return known
        # implicit ALS for one user with confidence alpha on the history and 1 elsewhere (as the `implicit`
        # package solves it): (Y^T Y + reg I + (alpha - 1) Y_h^T Y_h) x = alpha Y_h^T 1
        mask = ub.history != cfg.n_items
        if exclude is not None:
            mask = mask & (ub.history != exclude.unsqueeze(1))
        yh = items * mask.unsqueeze(-1).float()
        eye = torch.eye(cfg.collab_factors, device=yh.device)
        a = gram + cfg.collab_reg * eye + (cfg.collab_alpha - 1.0) * yh.transpose(1, 2) @ yh
        x = torch.linalg.solve(a, cfg.collab_alpha * yh.sum(1))
        return torch.where(unknown.unsqueeze(1), x, known)

    def collab_scores(self, ub: UserBatch, items: torch.Tensor | None,
                      exclude: torch.Tensor | None = None) -> torch.Tensor:
        """(B, K) ALS scores for items (B, K), or (B, n_items) for the whole catalog."""
        x = self.collab_user_vectors(ub, exclude)
        if items is None:
            return x @ self.collab_item[:-1].T
        y = self.fold_item[ub.fold.unsqueeze(1), items] if ub.fold is not None and self.n_folds > 0 \
            else self.collab_item[items]
        return torch.einsum("bf,bkf->bk", x, y)

    @torch.no_grad()
    def ease_user_table(self, table: "UserTable", chunk: int = 256) -> torch.Tensor:
        """(K, rows, ease_items + 1): every table row's EASE scores over the block under each out-of-fold matrix
        (training looks them up instead of summing over a long history for every sampled item)."""
        pad = self.cfg.ease_items
        hist = table.long_history if table.long_history is not None else table.history
        out = torch.zeros(len(self.ease_fold), len(hist), pad + 1, device=self.ease_b.device)
        for lo in range(0, len(hist), chunk):
            rows = self.ease_index[hist[lo: lo + chunk]]
            ind = torch.zeros(len(rows), pad + 1, device=rows.device).scatter_(1, rows, 1.0)
            ind[:, pad] = 0.0
            for f in range(len(self.ease_fold)):
                out[f, lo: lo + chunk] = ind @ self.ease_fold[f]
        return out

    def ease_scores(self, ub: UserBatch, items: torch.Tensor | None) -> torch.Tensor:
        """(B, K) EASE scores sum_h B[h, item] over the (long) history, or (B, n_items) for the whole catalog. The
        diagonal of B is zero, so a training target in the history adds nothing to its own score."""
        if ub.ease_user is not None and items is not None:
            return ub.ease_user.gather(1, self.ease_index[items])
        hist = ub.long_history if ub.long_history is not None else ub.history
        rows = self.ease_index[hist]  # (B, L); padding and items outside the block -> the zero row
        folded = ub.fold is not None and len(self.ease_fold) > 0
        if items is None:
            pad = self.cfg.ease_items
            ind = torch.zeros(len(rows), pad + 1, device=rows.device).scatter_(1, rows, 1.0)
            ind[:, pad] = 0.0
            if folded:  # one matrix product per fold, never a (B, m, m) gather
                s = torch.zeros_like(ind)
                for f in ub.fold.unique().tolist():
                    sel = ub.fold == f
                    s[sel] = ind[sel] @ self.ease_fold[f]
            else:
                s = ind @ self.ease_b
            return s[:, self.ease_index[:-1]]
        cols = self.ease_index[items]  # (B, K)
        if folded:
            return self.ease_fold[ub.fold.view(-1, 1, 1), rows.unsqueeze(2), cols.unsqueeze(1)].sum(1)
        return self.ease_b[rows.unsqueeze(2), cols.unsqueeze(1)].sum(1)

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
        if self.cfg.collab_factors > 0:  # stays at index N_FEATURES: `forward` adds it to the logit directly too
            feats.append(self.collab_scores(ub, items, exclude))
        if self.cfg.ease_items > 0:  # right after it (`forward` adds it directly too)
            feats.append(self.ease_scores(ub, items))
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
        long_history = ub.long_history
        if long_history is not None:
            long_history = long_history.clone()
            long_history[rows] = cfg.n_items
            long_history[rows, -h.shape[1]:] = h
        profile[rows] = self.text[h].sum(1)
        recent[rows] = self.text[h[:, -cfg.recent_len:]].sum(1)
        genres[rows] = self.item_genres[h].sum(1)
        users[rows] = cfg.n_users
        return UserBatch(users=users, history=history, profile=profile, recent=recent, genres=genres,
                         ref_year=ub.ref_year, fold=ub.fold, long_history=long_history, ease_user=None)

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
        out = dot + self.fusion(x).squeeze(-1)
        j = N_FEATURES
        if self.cfg.collab_factors > 0:
            out = out + self.collab_w * feats[..., j]
            j += 1
        if self.cfg.ease_items > 0:
            out = out + self.ease_w * feats[..., j]
        if self.cfg.cold_prior and not self.training:
            out = out + self.short_history_prior(ub, items)
        return out

    def short_history_prior(self, ub: UserBatch, items: torch.Tensor | None) -> torch.Tensor:
        """What familiarity adds for people the model knows little about: cold_prior * min(1, n0 / n) ** power *
        popularity (n their history's length). Five films say little about a person; the films most people know are
        then the better guess (on the random protocol's cold users popularity beat every personalised model)."""
        n = (ub.history != self.cfg.n_items).sum(1).clamp_min(1).float()
        w = (self.cfg.cold_prior_n / n).clamp(max=1.0) ** self.cfg.cold_prior_power * self.cfg.cold_prior
        pop = self.popularity[: self.cfg.n_items] if items is None else self.popularity[items]
        return w.unsqueeze(-1) * pop


def pair_fold(users, items, k: int):
    """The out-of-fold ALS model (0..k-1) that scores the training pair (user, item): a fixed hash of the pair,
    so a pair rated twice falls in one fold, and fitting (`training.collab.fit_als_folds`) and training agree.
    Works on NumPy arrays and torch tensors alike."""
    return (users * 1_000_003 + items * 7_919 + (users * items) % 9_973) % k


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
        # the EASE input reads a longer window (a known user's whole history, up to collab_history_len)
        self.long_history = None
        if cfg.ease_items > 0 and cfg.collab_history_len > L:
            lh = np.full((n, cfg.collab_history_len), pad, dtype=np.int64)
            for u, h in enumerate(histories):
                h = h[-cfg.collab_history_len:]
                if h:
                    lh[u, cfg.collab_history_len - len(h):] = h
            self.long_history = torch.as_tensor(lh)
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
        for name in ("user_ids", "long_history"):
            if getattr(self, name) is not None:
                setattr(self, name, getattr(self, name).to(device))
        return self

    def batch(self, rows: torch.Tensor, user_ids: torch.Tensor | None = None) -> UserBatch:
        """Rows of this table; `user_ids` are the model's user indices (default: the table's own mapping, else
        the rows themselves)."""
        if user_ids is None:
            user_ids = rows if self.user_ids is None else self.user_ids[rows]
        return UserBatch(users=user_ids, history=self.history[rows],
                         long_history=None if self.long_history is None else self.long_history[rows],
                         profile=self.profile[rows], recent=self.recent[rows], genres=self.genres[rows],
                         ref_year=self.ref_year[rows])
