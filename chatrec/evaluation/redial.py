"""The ReDial benchmark: real recommendation dialogues run through the chat pipeline (`chatrec evaluate-crs`).

ReDial (Li et al., NeurIPS 2018; CC BY 4.0; bundled in data/redial/, provenance in its SOURCE.md) holds
crowd-sourced dialogues in which a seeker asks a recommender for films; films appear in the text as `@<id>`.
This module has

- a loader for the ReDial JSONL format (`load_redial`) and the replacement of `@id` by the film's title,
  as a person would type it (`replace_mentions`);
- a catalog of the 6,924 ReDial films joined to MovieLens by the title+year map shipped beside the data
  (`build_redial_catalog`): a linked film *is* the MovieLens item (same text, so its vector comes from the
  bundled embedding cache), an unlinked one has its title and year only. ReDial ids that link to the same
  MovieLens film, or spell the same title and year, are one catalog item (`RedialCatalog.canonical`);
- the standard protocol (KBRD, KGSF, UniCRS): at every recommender message that mentions films, the
  dialogue so far goes through the chat pipeline (each seeker message through `ChatSession.turn`:
  intent, dialogue state, retrieval, reranking) and the catalog is ranked; the films that message
  mentions are the targets. `rank_pipeline` asks `Recommender.rank`, the chat's own ranking, for a long
  list on the request the dialogue state builds (`DialogueState.request`);
- the chat's own evidence on this catalog: its collaborative vectors (`redial_collab`: co-mention in the
  *training* conversations beside MovieLens raters' likes), its popularity prior (`mention_popularity`) and its
  learned source head (`train_redial_head`), all from training conversations (`train_subset_1401.jsonl`);
  `dev_data.jsonl` is only ever used for reporting. There is one ranking path: `Recommender.rank`;
- `DialogueModel`: co-mention, directed co-mention, MovieLens item-item similarity and mention popularity over the
  whole catalog, blended by `Weights`: the same-run *baselines* of `bench/crs/run.py` (the live chat cannot
  reproduce them, so they are never chatrec's number);
- `evaluate_records`: Recall@1/10/50, NDCG@10 and MRR micro-averaged over targets, with conversation-level
  bootstrap intervals (the formulas are `chatrec.evaluation.metrics`'), and the strict variant that drops
  targets already mentioned earlier in the dialogue;
- `evaluate_crs_cmd`, the `chatrec evaluate-crs` command, which can also run the user simulator
  (`chatrec.evaluation.simulator`) on films the dialogues mention.
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import random
import re
import shutil
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from chatrec.catalog import Catalog, Item, clean_movielens_title, load_catalog, log_scaled, normalize_title
from chatrec.config import ROOT, Config
from chatrec.evaluation import simulator
from chatrec.evaluation.metrics import bootstrap_ci, metrics_from_ranks, rank_of

REDIAL_DIR = ROOT / "data" / "redial"  # bundled: data/redial/SOURCE.md
MOVIELENS_DIR = ROOT / "data" / "movielens"
DEV_FILE = REDIAL_DIR / "dev_data.jsonl"
TRAIN_FILE = REDIAL_DIR / "train_subset_1401.jsonl"
MOVIES_FILE = "movies_with_mentions.csv"
LINK_FILE = "redial_to_ml_latest_small_heuristic.csv"
KS = (1, 10, 50)
METRIC_KEYS = tuple(f"recall@{k}" for k in KS) + ("ndcg@10", "mrr")

_MENTION = re.compile(r"@(\d+)")


# ================================================================ the ReDial format

@dataclass
class Message:
    sender: int
    text: str
    role: str  # "seeker" (the initiator) or "recommender" (the respondent)
    mentions: list[str]  # ReDial ids in order of first appearance


@dataclass
class Conversation:
    conv_id: str
    messages: list[Message]
    movie_names: dict[str, str]  # ReDial id -> "Title (Year)" as the conversation lists it
    seeker: int
    recommender: int


def parse_conversation(row: dict) -> Conversation:
    seeker, recommender = row.get("initiatorWorkerId"), row.get("respondentWorkerId")
    messages = []
    for m in row.get("messages") or []:
        text = str(m.get("text") or "")
        sender = m.get("senderWorkerId")
        role = "recommender" if sender == recommender else "seeker"
        messages.append(Message(sender, text, role, list(dict.fromkeys(_MENTION.findall(text)))))
    names = {str(k): str(v) for k, v in (row.get("movieMentions") or {}).items() if v}
    return Conversation(str(row.get("conversationId", "")), messages, names, seeker, recommender)


def load_redial(path: str | Path, limit: int | None = None) -> list[Conversation]:
    """One conversation per JSONL line; a malformed line is an error naming the file and line."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: invalid JSON ({exc.msg})") from None
            if not isinstance(row, dict) or "messages" not in row:
                raise ValueError(f"{path}:{n}: not a ReDial conversation (no 'messages')")
            out.append(parse_conversation(row))
            if limit and len(out) >= limit:
                break
    return out


def split_name(name: str) -> tuple[str, int | None]:
    """'Police Academy  (1984)' -> ('Police Academy', 1984); 'Matrix, The (1999)' -> ('The Matrix', 1999)."""
    title, year, _ = clean_movielens_title(re.sub(r"\s+", " ", name or "").strip())
    return title or (name or "").strip(), year


def replace_mentions(text: str, names: dict[str, str]) -> str:
    """'a movie like @111776' -> 'a movie like Super Troopers': the title a person would type, no year.
    An id with no known name is dropped (the person could not have typed it)."""
    def sub(m):
        name = names.get(m.group(1))
        return split_name(name)[0] if name else ""
    return re.sub(r"\s+", " ", _MENTION.sub(sub, text)).strip()


@dataclass
class EvalTurn:
    conv_id: str
    index: int  # position of the recommender message in the conversation
    targets: list[str]  # catalog ids the message mentions
    context: list[str]  # catalog ids mentioned earlier in the dialogue, in order of first mention
    context_by_recommender: list[str]  # those the recommender itself mentioned

    @property
    def strict_targets(self) -> list[str]:
        return [t for t in self.targets if t not in self.context]


def eval_turns(conv: Conversation, canonical: dict[str, str] | None = None) -> list[EvalTurn]:
    """Every recommender message that mentions films is one turn (ReDial ids mapped to catalog ids)."""
    canon = (lambda i: canonical.get(i, i)) if canonical is not None else (lambda i: i)
    turns, context, by_rec = [], [], []
    for i, msg in enumerate(conv.messages):
        ids = list(dict.fromkeys(canon(x) for x in msg.mentions))
        if msg.role == "recommender" and ids:
            turns.append(EvalTurn(conv.conv_id, i, ids, list(context), list(by_rec)))
        for x in ids:
            if x not in context:
                context.append(x)
            if msg.role == "recommender" and x not in by_rec:
                by_rec.append(x)
    return turns


# ================================================================ the catalog

@dataclass
class RedialCatalog:
    catalog: Catalog
    canonical: dict[str, str]  # every ReDial id -> its catalog item id
    ml_of: dict[str, str]  # catalog item id -> MovieLens movieId (linked items only)

    @property
    def linked(self) -> set[str]:
        return set(self.ml_of)


def build_redial_catalog(redial_dir: str | Path = REDIAL_DIR, movielens: str | Path | Catalog = MOVIELENS_DIR,
                         ) -> RedialCatalog:
    """The ReDial film list joined to MovieLens. Mention counts in movies_with_mentions.csv are NOT used:
    they count the test conversations too."""
    redial_dir = Path(redial_dir)
    ml = movielens if isinstance(movielens, Catalog) else load_catalog(movielens)
    names: dict[str, str] = {}
    with open(redial_dir / MOVIES_FILE, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            names[str(row["movieId"]).strip()] = row["movieName"]
    link: dict[str, str] = {}
    link_path = redial_dir / LINK_FILE
    if link_path.exists():
        with open(link_path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                mid = (row.get("mlMovieId") or "").strip()
                if mid and mid in ml.index_of:
                    link[str(row["redialId"]).strip()] = mid
    canonical: dict[str, str] = {}
    first_of_key: dict[tuple, str] = {}
    for rid in sorted(names, key=int):  # the smallest id of a group is its catalog id: deterministic
        title, year = split_name(names[rid])
        key = ("ml", link[rid]) if rid in link else ("t", normalize_title(title), year)
        canonical[rid] = first_of_key.setdefault(key, rid)
    items, ml_of = [], {}
    for rid in sorted(names, key=int):
        if canonical[rid] != rid:
            continue
        title, year = split_name(names[rid])
        if rid in link:
            base = ml[link[rid]]
            alias_titles = {normalize_title(a) for a in (base.title, *base.aliases)}
            extra = tuple(dict.fromkeys(
                t for t in (split_name(names[o])[0] for o in names if canonical[o] == rid)
                if normalize_title(t) not in alias_titles))
            # same title, year, genres, tags, overview and counts as the MovieLens item: the same text
            items.append(dataclasses.replace(base, item_id=rid, aliases=base.aliases + extra,
                                             metadata=(("ml_id", base.item_id),)))
            ml_of[rid] = base.item_id
        else:
            items.append(Item(item_id=rid, title=title, year=year))
    return RedialCatalog(Catalog(items, name="redial"), canonical, ml_of)


def mentioned_films(rcat: RedialCatalog, conversations: list[Conversation]) -> set[str]:
    """The catalog ids of every film the conversations mention (the simulator's targets are drawn from these)."""
    return {rcat.canonical.get(x, x) for c in conversations for m in c.messages for x in m.mentions}


def write_catalog_jsonl(catalog: Catalog, path: str | Path) -> Path:
    """The generic catalog schema (docs/catalog.md); `load_table` reads back items with the same text."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for it in catalog.items:
            row = {"id": it.item_id, "title": it.title, "year": it.year, "genres": list(it.genres),
                   "tags": list(it.tags), "description": it.overview, "rating_count": it.rating_count,
                   "rating_mean": it.rating_mean, "aliases": list(it.aliases), **dict(it.metadata)}
            f.write(json.dumps({k: v for k, v in row.items() if v not in (None, "", [])}, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def redial_config(base: Config | None = None, index_dir: str | Path | None = None, **overrides) -> Config:
    """Settings for the ReDial catalog: its own index folder, a throwaway profile store, no rate limit, and no
    rating-count floor (its films' rating counts are MovieLens latest-small's, another population: the floor hid
    the films the simulated users described, 94% success within 5 turns fell to 80%)."""
    base = base or Config.from_env()
    index_dir = Path(index_dir or Path(base.index_dir) / "redial")
    values = dataclasses.asdict(base)
    values.update(index_dir=str(index_dir), catalog=str(index_dir / "catalog.jsonl"), rate_limit_per_minute=0,
                  min_ratings=0)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Config(**values)


class MemoEmbedder:
    """Remembers query vectors: the evaluation asks for the same wish text at a seeker turn and again when it
    ranks before the next recommender message. Same vectors, half the encoder calls."""

    def __init__(self, inner, size: int = 4096):
        self.inner, self.name, self.dim, self.size = inner, inner.name, inner.dim, size
        self.memo: dict[str, np.ndarray] = {}

    def encode(self, texts, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        texts = list(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            if len(self.memo) + len(missing) > self.size:
                self.memo.clear()
            for t, v in zip(missing, self.inner.encode(missing, batch_size=batch_size, progress=progress)):
                self.memo[t] = v
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.memo[t] for t in texts])


def linked_ratings(ratings_path: str | Path, ml_of: dict[str, str], index_of: dict[str, int]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """MovieLens ratings of the films linked to this catalog: (rater row, catalog position, stars) per rating, in
    file order, raters numbered by first appearance; and the number of raters."""
    pos_of_ml = {mid: index_of[i] for i, mid in ml_of.items() if i in index_of}
    raters: dict[str, int] = {}
    rr, cc, stars = [], [], []
    with open(ratings_path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            p = pos_of_ml.get(row["movieId"])
            if p is not None:
                rr.append(raters.setdefault(row["userId"], len(raters)))
                cc.append(p)
                stars.append(float(row["rating"]))
    return (np.array(rr, dtype=np.int64), np.array(cc, dtype=np.int64), np.array(stars, dtype=np.float32),
            len(raters))


def redial_collab(rcat: RedialCatalog, train: list[Conversation], ratings_path: str | Path | None = None,
                  liked_weight: float = 0.5) -> np.ndarray | None:
    """Collaborative item vectors for the ReDial catalog, from the *training* conversations (the dev ones never
    enter): a film's vector is its unit column of "which training conversations mention it", beside
    `liked_weight` x its unit column of "which MovieLens raters gave it 4 stars or more" (linked films), the whole
    scaled to unit length. The dot product of two films is then their co-mention cosine plus a quarter of their
    liked-together cosine, over their norms: the dialogue-level co-mention that is this catalog's strongest signal
    ("alone" 0.18 Recall@10 on dev), served by the same vector store as MovieLens's ALS vectors. Measured against
    implicit ALS over the same rows on 250 dev dialogues through the chat's path and learned head: Recall@10 / 50
    0.154 / 0.289 against 0.147 / 0.286. None without any mention or rating."""
    idx = rcat.catalog.index_of
    n = len(rcat.catalog)
    m = np.zeros((n, len(train)), dtype=np.float32)
    for r, conv in enumerate(train):
        for f in {rcat.canonical.get(x, x) for msg in conv.messages for x in msg.mentions}:
            if f in idx:
                m[idx[f], r] = 1.0
    parts = [_unit_rows(m)]
    if ratings_path and Path(ratings_path).exists():
        rr, cc, stars, n_raters = linked_ratings(ratings_path, rcat.ml_of, idx)
        liked = stars >= 4.0
        c = np.zeros((n, n_raters), dtype=np.float32)
        c[cc[liked], rr[liked]] = 1.0
        parts.append(liked_weight * _unit_rows(c))
    out = _unit_rows(np.hstack(parts))
    return out if np.any(out) else None


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def mention_counts(rcat: RedialCatalog, conversations: list[Conversation]) -> np.ndarray:
    """Per catalog position: how many of `conversations` mention the film."""
    counts = np.zeros(len(rcat.catalog), dtype=np.float64)
    idx = rcat.catalog.index_of
    for conv in conversations:
        for f in {rcat.canonical.get(m, m) for msg in conv.messages for m in msg.mentions}:
            if f in idx:
                counts[idx[f]] += 1
    return counts


def open_redial_recommender(config: Config, rcat: RedialCatalog, llm="config", progress: bool = False,
                            movielens_dir: str | Path = MOVIELENS_DIR, train: list[Conversation] | None = None):
    """A `Recommender` over the ReDial catalog, its index built (or opened) in `config.index_dir`.

    The MovieLens embedding cache is copied beside the catalog first, so linked films (whose text is that
    of their MovieLens item) are not embedded again; only unlinked titles are. The full set of vectors is
    then written back as that folder's cache, so later builds embed nothing."""
    from chatrec.chat.recommender import Recommender
    from chatrec.retrieval.embed import embedder_for
    from chatrec.retrieval.index import cache_path, load_embedding_cache, open_or_build, open_vectors, save_embedding_cache
    from chatrec.llm import get_llm
    from chatrec.profile.store import open_store

    write_catalog_jsonl(rcat.catalog, config.catalog)
    embedder = embedder_for(config)
    target = cache_path(config, embedder)
    source = cache_path(dataclasses.replace(config, catalog=str(movielens_dir)), embedder)
    if target is not None and not target.exists() and source is not None and source.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    index = open_or_build(rcat.catalog, embedder, config, progress=progress)
    if target is not None:
        cached = load_embedding_cache(target)
        if any(it.content_hash() not in cached for it in rcat.catalog.items):
            save_embedding_cache(index, target)
    index.embedder = MemoEmbedder(index.embedder)
    store = open_store(config.profile_db)
    # the chat's collaborative source on this catalog: co-mention in the training conversations + MovieLens ratings
    vectors = redial_collab(rcat, train or [], Path(movielens_dir) / "ratings.csv") if train is not None else None
    collab = open_vectors(rcat.catalog, vectors, config, "collab") if vectors is not None else None
    rec = Recommender(config, rcat.catalog, index, store, llm=get_llm(config) if llm == "config" else llm,
                      collab=collab)
    if train is not None:
        # the popularity prior of this domain: how many training dialogues mention each film (MovieLens rating
        # counts measure another population, and leave the unlinked films at zero); dev never enters
        rec.set_popularity(mention_popularity(rcat, train))
    return rec


def mention_popularity(rcat: RedialCatalog, conversations: list[Conversation]) -> np.ndarray:
    """The popularity prior from `conversations`: log-scaled mention counts in (0, 1]."""
    return log_scaled(mention_counts(rcat, conversations))


# ================================================================ the source head, learned from training dialogues

def turn_lists(rec, conversations: list[Conversation], canonical: dict[str, str], progress: bool = False,
               gold_mentions: bool = False):
    """The chat's evidence at every recommender turn of `conversations` (`Recommender.evidence` on the request the
    dialogue state makes, without exclusions, as `rank_pipeline` ranks), labelled with the films the recommender
    then named: the rows `training.hybrid_fit.fit_head` learns from."""
    from tqdm.auto import tqdm

    from chatrec.training.hybrid_fit import Lists

    out = Lists([], [], [], [], [])
    idx = rec.catalog.index_of

    def at_turn(session, turn: EvalTurn):
        req = protocol_request(session)
        cands, base = rec.evidence(req, session.profile, max(rec.config.n_candidates, 50))
        targets = {idx[t] for t in turn.targets if t in idx}
        if len(cands) and cands.collaborative and targets:
            y = np.fromiter((int(p) in targets for p in cands.positions), dtype=np.float32, count=len(cands))
            if y.sum():
                out.x.append(rec.features(cands, base, req))
                out.y.append(y)
                out.user.append(turn.conv_id)
                out.kind.append("redial")
                out.positions.append(np.asarray(cands.positions))
        return None

    for conv in tqdm(conversations, desc="training dialogues", unit="conv", disable=not progress):
        run_conversation(rec, conv, canonical, user_prefix="redial_train", at_turn=at_turn,
                         gold_mentions=gold_mentions)
    return out


def train_redial_head(rec, rcat: RedialCatalog, train: list[Conversation], ratings_path: str | Path | None,
                      seed: int = 0, progress: bool = False, gold_mentions: bool = False):
    """The source head for the ReDial catalog, from the training dialogues only: two folds split by seeker worker
    (ReDial workers did many dialogues); each fold's turns are answered by the chat with collaborative vectors
    learned from the other fold (`redial_collab`), so no dialogue is its own evidence."""
    from chatrec.retrieval.index import VectorIndex
    from chatrec.training.hybrid_fit import HeadParams, Lists, fit_head

    folds = [[c for c in train if hash_worker(c.seeker) % 2 == f] for f in (0, 1)]
    lists = Lists([], [], [], [], [])
    collab0, head0, popularity0 = rec.collab, rec.head, np.array(rec.catalog.popularity, dtype=np.float32)
    try:
        rec.head = None
        for f in (0, 1):
            vectors = redial_collab(rcat, folds[1 - f], ratings_path)
            if vectors is None:
                continue
            rec.collab = VectorIndex(rcat.catalog, None, None, vectors, {}, exact_max_items=len(rcat.catalog) + 1)
            rec.retriever.collab = rec.collab
            # the popularity prior from the other fold too: counted over every training dialogue, a film named
            # once would look familiar only because the dialogue being answered names it
            rec.set_popularity(mention_popularity(rcat, folds[1 - f]))
            part = turn_lists(rec, folds[f], rcat.canonical, progress=progress, gold_mentions=gold_mentions)
            for name in ("x", "y", "user", "kind", "positions"):
                getattr(lists, name).extend(getattr(part, name))
    finally:
        rec.collab, rec.head = collab0, head0
        rec.retriever.collab = collab0
        rec.set_popularity(popularity0)
    # ReDial's targets are what recommenders named, popular or not: no popularity debiasing (debias 0)
    return fit_head(lists, np.zeros(len(rcat.catalog)), HeadParams(debias=0.0), seed=seed, scorer=rec.scorer.name)


def hash_worker(worker) -> int:
    """A stable fold for a worker id (Python's `hash` of a str changes per process)."""
    return int(hashlib.sha1(str(worker).encode()).hexdigest(), 16)


# ================================================================ running a dialogue through the pipeline

def rank_pipeline(rec, session, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The chat's long list for this dialogue state: (catalog positions, scores), best first, from
    `Recommender.rank` (the function the chat's picks come from) on the request `DialogueState.request` builds,
    without the session's exclusions (the evaluation ranks the whole catalog; the strict variant removes
    mentioned films itself) and without the diversity step (a ranking, not a list of five)."""
    ranked = rec.rank(protocol_request(session), session.profile, k or max(rec.config.n_candidates, 50))
    return ranked.positions, ranked.scores


def protocol_request(session):
    """The request the dialogue state makes, as this protocol ranks it: nothing excluded, and the conversation's
    own films kept (a recommender may name a film again), so their collaborative neighbourhood is a source too."""
    req = session.state.request()
    req.keep_mentioned = True
    return req


@dataclass
class TurnRecord:
    """What the pipeline produced at one evaluated turn: enough to re-rank with other blend weights."""
    turn: EvalTurn
    positions: np.ndarray  # pipeline candidates, best first
    scores: np.ndarray
    seeker_text: str  # the seeker's last message as fed to the pipeline
    state: dict


def run_conversation(rec, conv: Conversation, canonical: dict[str, str], user_prefix: str = "redial",
                     at_turn=None, gold_mentions: bool = False) -> list:
    """Feed the seeker's messages (with titles for @ids) through one `ChatSession`; at each recommender
    message that mentions films, record the pipeline's ranking before it (or what `at_turn(session, turn)` returns). The recommender's own messages are
    what the system "showed": their films become the session's last list, so "the second one" or "I've
    seen it" refer to them as they would in the chat. `gold_mentions`: the films the seeker's message mentions are
    also brought up as the dataset links them (the published ReDial systems read these links; by default the chat
    has to find them in the typed titles itself)."""
    safe_id = re.sub(r"[^\w.-]", "_", conv.conv_id)[:60]
    session = rec.session(f"{user_prefix}_{safe_id}_{random.getrandbits(32):x}")
    turns = {t.index: t for t in eval_turns(conv, canonical)}
    names = dict(conv.movie_names)
    for rid in (x for m in conv.messages for x in m.mentions):
        if rid not in names and rid in canonical and canonical[rid] in rec.catalog.index_of:
            names[rid] = rec.catalog[canonical[rid]].title
    out, last_text, genres_said = [], "", []
    for i, msg in enumerate(conv.messages):
        if msg.role == "seeker":
            text = replace_mentions(msg.text, names)
            if text:
                shown, last_items = list(session.state.shown), list(session.state.last_items)
                reply = session.turn(text)
                st = session.state
                # the seeker never saw the chat's own list, only the ReDial recommender's: what the chat picked is
                # neither "shown" nor a film the dialogue brought up (the chat never picks a film the seeker named)
                picked = set(st.shown) - set(shown)
                st.shown, st.last_items = shown, last_items
                st.brought_up = [i for i in st.brought_up if i not in picked]
                if gold_mentions:  # the films ReDial's annotators linked in the message, as published systems get them
                    st.bring_up(x for x in dict.fromkeys(canonical.get(m, m) for m in msg.mentions)
                                if x in rec.catalog.index_of)
                last_text = text
                for g in reply["intent"].get("genres_in") or []:
                    if g not in genres_said:
                        genres_said.append(g)
            continue
        if i in turns and at_turn is not None:
            out.append(at_turn(session, turns[i]))
        elif i in turns:
            positions, scores = rank_pipeline(rec, session)
            st = session.state
            out.append(TurnRecord(turns[i], positions, scores, last_text, {
                "seeds": list(st.seeds), "genres_in": list(st.genres_in), "genres_out": list(st.genres_out),
                "years": [st.year_min, st.year_max], "wish_text": st.wish_text,
                "genres_said": list(genres_said)}))
        ids = [canonical.get(x, x) for x in msg.mentions]
        ids = [x for x in dict.fromkeys(ids) if x in rec.catalog.index_of]
        if ids:
            session.state.last_items = ids
            session.state.shown.extend(x for x in ids if x not in session.state.shown)
            session.state.bring_up(ids)
    return out


def collect(rec, conversations: list[Conversation], canonical: dict[str, str], progress: bool = False,
            gold_mentions: bool = False) -> list[TurnRecord]:
    from tqdm.auto import tqdm

    records = []
    for conv in tqdm(conversations, desc="Conversations", unit="conv", disable=not progress):
        records.extend(run_conversation(rec, conv, canonical, gold_mentions=gold_mentions))
    return records


def pipeline_scores(record: TurnRecord, n: int) -> np.ndarray:
    """A score for every catalog position from the chat's ranking of one turn: its reciprocal rank (best first,
    robust to the scorer's scale); films the chat did not rank get 0."""
    score = np.zeros(n, dtype=np.float32)
    if len(record.positions):
        score[record.positions] = 10.0 / (10.0 + np.arange(len(record.positions), dtype=np.float32))
    return score


def target_ranks(score: np.ndarray, targets: list[str], index_of: dict[str, int],
                 drop: list[str] = ()) -> list[int | None]:
    """1-based rank of each target in the full ranking (ties broken against the target: `rank_of`'s
    "pessimistic"); `drop`: ids taken out of the ranking first (the strict variant). None: the target is not
    in the catalog."""
    score = score.astype(np.float64).copy()
    for d in drop:
        if d in index_of:
            score[index_of[d]] = -np.inf
    found = [index_of[t] for t in targets if t in index_of]
    ranks = iter(rank_of(score, score[found], ties="pessimistic").tolist())
    return [next(ranks) if t in index_of else None for t in targets]


def bootstrap(groups: list[list[int | None]], n_boot: int = 1000, seed: int = 0) -> dict:
    """95% intervals of the ReDial metrics by resampling conversations (targets in one dialogue are not
    independent): `metrics.bootstrap_ci` over `metrics_from_ranks`."""
    return bootstrap_ci(groups, METRIC_KEYS, lambda g: metrics_from_ranks(g, KS), n_boot, seed)


def evaluate_records(records: list[TurnRecord], catalog: Catalog, score=None, n_boot: int = 1000,
                     with_ranks: bool = False) -> dict:
    """The metrics of `records`. `score(record)` scores every catalog position for one turn; by default the chat's
    own ranking (`pipeline_scores`): bench/crs passes its baselines' scores through the same code."""
    score = score or (lambda record: pipeline_scores(record, len(catalog)))
    idx = catalog.index_of
    by_conv: dict[str, list] = defaultdict(list)
    by_conv_strict: dict[str, list] = defaultdict(list)
    detail = []
    for rec in records:
        scored = score(rec)
        ranks = target_ranks(scored, rec.turn.targets, idx)
        strict = target_ranks(scored, rec.turn.strict_targets, idx, drop=rec.turn.context)
        by_conv[rec.turn.conv_id].extend(ranks)
        by_conv_strict[rec.turn.conv_id].extend(strict)
        if with_ranks:
            top = np.argsort(-scored, kind="stable")[:10]
            detail.append({"conv_id": rec.turn.conv_id, "index": rec.turn.index, "targets": rec.turn.targets,
                           "ranks": ranks, "strict_targets": rec.turn.strict_targets, "strict_ranks": strict,
                           "n_context": len(rec.turn.context), "top10": [catalog.items[p].item_id for p in top],
                           "pipeline_top5": [catalog.items[p].item_id for p in rec.positions[:5]],
                           "seeker_text": rec.seeker_text, "state": rec.state})
    all_ranks = [r for g in by_conv.values() for r in g]
    strict_ranks = [r for g in by_conv_strict.values() for r in g]
    out = metrics_from_ranks(all_ranks, KS)
    out["ci95"] = bootstrap(list(by_conv.values()), n_boot)
    out["strict"] = metrics_from_ranks(strict_ranks, KS)
    out["strict"]["ci95"] = bootstrap(list(by_conv_strict.values()), n_boot)
    if with_ranks:
        out["turns"] = detail
    return out


def rounded(d: dict) -> dict:
    """Every float in a (nested) result rounded to 4 decimals, as the reports print them."""
    return {k: (round(v, 4) if isinstance(v, float) else rounded(v) if isinstance(v, dict) else v) for k, v in d.items()}


@click.command("evaluate-crs")
@click.option("--data", "data_path", type=click.Path(exists=True, dir_okay=False), default=str(DEV_FILE),
              show_default=True, help="Conversations in the ReDial JSONL format.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (metrics, strict variant, intervals).")
@click.option("--limit", type=int, default=None, help="Only the first N conversations.")
@click.option("--simulate", type=int, default=0, help="Also run N simulated users (hidden targets from the data).")
@click.option("--max-turns", type=int, default=5, show_default=True, help="Simulated users give up after this.")
@click.option("--sim-min-df", type=int, default=20, show_default=True,
              help="Simulated users describe the plot only with words at least this many overviews use (2: keywords).")
@click.option("--train", "train_path", default=str(TRAIN_FILE), show_default=True,
              help="Training conversations for co-mention statistics ('' for none). Never the evaluation file.")
@click.option("--redial-dir", default=str(REDIAL_DIR), show_default=True, help="movies_with_mentions.csv and the link map.")
@click.option("--movielens", "movielens_path", default=str(MOVIELENS_DIR), show_default=True,
              help="The catalog ReDial films are linked to (a MovieLens folder; its ratings.csv feeds item similarity).")
@click.option("--weights", "weights_path", default=None, hidden=True,
              help="Removed: the benchmark-side blend is not chatrec's ranking (bench/crs reports it as a baseline).")
@click.option("--pipeline-only", is_flag=True, hidden=True, help="The default now: there is one path.")
@click.option("--head/--no-head", "learn_head", default=True, show_default=True,
              help="Learn the chat's source head from the training dialogues (--no-head: its set weights).")
@click.option("--index-dir", default=None, help="Index folder for the ReDial catalog (default index/redial).")
@click.option("--embedder", default=None, help="minilm (default) or hashing.")
@click.option("--llm", type=click.Choice(["none", "embedded", "fake"]), default=None, help="LLM backend.")
@click.option("--details", type=click.Path(dir_okay=False), default=None, help="Write per-turn ranks and simulator transcripts here.")
@click.option("--seed", type=int, default=0, show_default=True)
def evaluate_crs_cmd(data_path, as_json, limit, simulate, max_turns, sim_min_df, train_path, redial_dir, movielens_path, weights_path,
                     pipeline_only, learn_head, index_dir, embedder, llm, details, seed):
    """ReDial benchmark through the chat's own ranking path (Recall@1/10/50, NDCG@10, MRR, strict) and a user
    simulator: `Recommender.rank`, its collaborative source and source head learned from the training dialogues."""
    import sys

    if train_path and Path(train_path).resolve() == Path(data_path).resolve():
        raise click.BadParameter("the training conversations must not be the evaluated ones", param_hint="--train")
    if weights_path:
        raise click.BadParameter("the dialogue-model blend was removed from evaluate-crs: it ranks with the chat's "
                                 "path alone (bench/crs/run.py reports the blend as a baseline)", param_hint="--weights")
    random.seed(seed)
    try:  # on a shared 2-core machine one torch thread per process is faster than two spinning ones
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="chatrec-crs-")
    try:
        config = redial_config(index_dir=index_dir, embedder=embedder, llm=llm,
                               profile_db=str(Path(tmp) / "profiles.sqlite3"))
        rcat = build_redial_catalog(redial_dir, movielens_path)
        train = load_redial(train_path) if train_path and Path(train_path).exists() else []
        rec = open_redial_recommender(config, rcat, progress=not as_json, movielens_dir=movielens_path, train=train)
        conversations = load_redial(data_path, limit)
        head_summary = None
        if learn_head and train:
            try:
                rec.head, head_summary = train_redial_head(rec, rcat, train, Path(movielens_path) / "ratings.csv",
                                                           seed=seed, progress=not as_json)
            except ValueError as exc:  # too few training turns with a collaborative query: the set weights rank
                head_summary = {"skipped": str(exc)}
        records = collect(rec, conversations, rcat.canonical, progress=not as_json)
        result = evaluate_records(records, rcat.catalog, with_ranks=bool(details))
        turns = result.pop("turns", None)
        idx = rcat.catalog.index_of
        linked_targets = sum(1 for r in records for t in r.turn.targets if t in rcat.ml_of)
        result["setup"] = {
            "data": str(data_path), "conversations": len(conversations), "turns": len(records),
            "catalog_items": len(rcat.catalog), "redial_ids": len(rcat.canonical),
            "linked_items": len(rcat.ml_of), "targets_linked": linked_targets,
            "targets_in_catalog": sum(1 for r in records for t in r.turn.targets if t in idx),
            "train": str(train_path) if train else None, "ranking": "Recommender.rank (the chat's path)",
            "embedder": rec.index.embedder.name, "llm": config.llm, "seconds": round(time.time() - t0, 1),
            "head": head_summary,
        }
        sim = None
        if simulate:
            targets = simulator.sample_targets(rcat.catalog, mentioned_films(rcat, conversations), simulate, seed)
            sim = simulator.simulate(rec, targets, max_turns, seed, progress=not as_json, min_df=sim_min_df)
            result["simulator"] = {k: v for k, v in sim.items() if k != "results"}
        if details:
            Path(details).parent.mkdir(parents=True, exist_ok=True)
            Path(details).write_text(json.dumps({"summary": result, "turns": turns,
                                                 "simulator": sim["results"] if sim else None}, ensure_ascii=False))
        result = rounded(result)
        if as_json:
            sys.stdout.write(json.dumps(result) + "\n")
            return
        click.echo(format_table(result))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def format_table(result: dict) -> str:
    lines = [(f"ReDial {result['setup']['data']}: {result['setup']['conversations']} conversations, "
              f"{result['n_targets']} targets ({result['strict']['n_targets']} strict)"),
             "variant   " + "  ".join(f"{k:>10}" for k in METRIC_KEYS)]
    for name, block in (("all", result), ("strict", result["strict"])):
        lines.append(f"{name:<9} " + "  ".join(f"{block[k]:>10.4f}" for k in METRIC_KEYS))
        ci = block.get("ci95") or {}
        if ci:
            lines.append(" 95% CI   " + "  ".join(f"{ci[k][0]:.3f}-{ci[k][1]:.3f}".rjust(10) for k in METRIC_KEYS))
    if "simulator" in result:
        s = result["simulator"]
        lines.append(f"simulator: {s['n']} targets, success within {s['max_turns']} turns {s['success_rate']:.3f}, "
                     f"avg turns to success {s['avg_turns_to_success']}, shown per success {s['shown_per_success']}")
    return "\n".join(lines)
