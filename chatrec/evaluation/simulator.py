"""The user simulator: a scripted person looking for one hidden film, talking to a `ChatSession`.

`SimulatedUser` holds a hidden target film and describes it by its genres, era and plot words (never its title);
after a list that misses, it likes the shown film closest to the target by embedding similarity, dislikes the
farthest one and says a little more. `UserSimulator` makes such users for one catalog (sharing the catalog's word
counts); `simulate` runs each target in a fresh session and counts how often the target is shown within N turns;
`sample_targets` draws the targets. It knows nothing of ReDial: `chatrec evaluate-crs --simulate N` draws its
targets from the films the ReDial dialogues mention (`redial.mentioned_films`).
"""
from __future__ import annotations

import random
import re
from collections import Counter
from typing import Iterable

import numpy as np

from chatrec.catalog import Catalog, Item, normalize_title

_STOP = frozenset("""
a an the and or but of to in on at by for with from as is are was were be been being it its this that these
those he she his her him they them their who whom which what when where while after before into onto over
under about than then so such not no nor only own same too very can will just should now one two three hers
himself herself itself themselves must has have had having do does did also up out off again further once here
there all any both each few more most other some new find finds found take takes get gets become becomes life
world story film movie years year time way lives live man woman young old
""".split())  # noqa: SIM905


def _decade(year: int | None) -> str:
    if not year:
        return ""
    return f"{year // 10 * 10}s"


def word_df(catalog: Catalog) -> Counter:
    """In how many overviews of the catalog each word appears in lower case (names never do)."""
    return Counter(w for it in catalog.items for w in set(re.findall(r"\b[a-z][a-z'-]+\b", it.overview)))


class SimulatedUser:
    """A person looking for one hidden film. Speaks of its genres, era and plot (never its title) and reacts to
    what is shown by embedding similarity to the target. `said` keeps every message, so tests can check it.

    The plot is told in words of its overview that are *ordinary* (used in lower case by at least `min_df`
    overviews of the catalog): a vague retelling, not the overview's distinctive terms, since the overview is
    what the index embeds. `min_df=2` gives the easy, keyword-style user. `df`: the catalog's `word_df`, counted
    here when not given (`UserSimulator` counts it once for all its users)."""

    def __init__(self, target: Item, target_vector: np.ndarray, vectors: np.ndarray, catalog: Catalog,
                 seed: int = 0, plot_words_per_turn: int = 3, min_df: int = 20, df: Counter | None = None):
        self.target = target
        self.vec = target_vector
        self.vectors = vectors
        self.catalog = catalog
        self.rng = random.Random(seed)
        self.said: list[str] = []
        banned = {w for name in (target.title, *target.aliases) for w in normalize_title(name).split()}
        self.banned_title = [normalize_title(name) for name in (target.title, *target.aliases) if normalize_title(name)]
        df = word_df(catalog) if df is None else df
        words = []
        for w in re.findall(r"[A-Za-z][A-Za-z'-]+", target.overview):
            low = w.lower().strip("'-")
            if len(low) < 4 or low in _STOP or low in banned:
                continue  # no title words, no filler
            if w[0].isupper() and not df.get(low):
                continue  # a name ("Bobby"): the catalog never writes it in lower case
            if df.get(low, 0) < min_df:
                continue  # a distinctive term the index would match verbatim
            if low not in words:
                words.append(low)
        self.plot_words = words
        self.k = plot_words_per_turn
        self.revealed: list[str] = []
        self.revealed_n = 0

    def _clean(self, text: str) -> str:
        """Never the title: a message that would contain it (as a whole phrase) loses the offending words."""
        norm = f" {normalize_title(text)} "
        for t in self.banned_title:
            if f" {t} " in norm:
                for w in t.split():
                    text = re.sub(rf"\b{re.escape(w)}\b", "", text, flags=re.IGNORECASE)
                norm = f" {normalize_title(text)} "
        return re.sub(r"\s+", " ", text).strip()

    def _plot(self) -> str:
        """Plot words said so far plus `k` new ones: a person restates what they said and adds a little."""
        self.revealed += self.plot_words[self.revealed_n: self.revealed_n + self.k]
        self.revealed_n += self.k
        return ", ".join(self.revealed)

    def _wish(self) -> str:
        genres = " ".join(g.lower() for g in self.target.genres[:2]) or "good"
        era = _decade(self.target.year)
        msg = f"a {genres} movie" + (f" from the {era}" if era else "")
        plot = self._plot()
        return msg + (f", about {plot}" if plot else "")

    def opening(self) -> str:
        return self._say(f"I'm looking for {self._wish()}")

    def react(self, shown_ids: list[str]) -> tuple[list[tuple[int, str]], str]:
        """(feedback [(1-based position, like|dislike)], next message) for a list that missed the target."""
        idx = self.catalog.index_of
        sims = [float(self.vectors[idx[i]] @ self.vec) for i in shown_ids]
        feedback = []
        if sims:
            best = int(np.argmax(sims))
            worst = int(np.argmin(sims))
            feedback.append((best + 1, "like"))
            if worst != best:
                feedback.append((worst + 1, "dislike"))
        return feedback, self._say(f"Not quite. I want {self._wish()}")

    def _say(self, msg: str) -> str:
        msg = self._clean(msg)
        self.said.append(msg)
        return msg


class UserSimulator:
    """Simulated users for one catalog: what all of them share (the item vectors, the catalog's word counts,
    counted once here) and the settings; `user(item_id, seed)` makes the person looking for that film."""

    def __init__(self, catalog: Catalog, vectors: np.ndarray, min_df: int = 20, plot_words_per_turn: int = 3):
        self.catalog, self.vectors = catalog, vectors
        self.min_df, self.plot_words_per_turn = min_df, plot_words_per_turn
        self.word_df = word_df(catalog)

    def user(self, target_id: str, seed: int = 0) -> SimulatedUser:
        return SimulatedUser(self.catalog[target_id], self.vectors[self.catalog.index_of[target_id]], self.vectors,
                             self.catalog, seed=seed, plot_words_per_turn=self.plot_words_per_turn,
                             min_df=self.min_df, df=self.word_df)


def simulate(rec, targets: list[str], max_turns: int = 5, seed: int = 0, progress: bool = False,
             min_df: int = 20) -> dict:
    """Each target: a fresh session; success when the target is among the items shown within `max_turns`."""
    from tqdm.auto import tqdm

    users = UserSimulator(rec.catalog, rec.index.vectors, min_df=min_df)
    results = []
    for n, tid in enumerate(tqdm(targets, desc="Simulated users", disable=not progress)):
        item = rec.catalog[tid]
        user = users.user(tid, seed=seed + n)
        session = rec.session(f"sim_{seed}_{n}_{random.getrandbits(32):x}")
        message, shown, success_at = user.opening(), 0, None
        transcript = []
        for turn in range(1, max_turns + 1):
            out = session.turn(message)
            ids = [it["item_id"] for it in out["items"]]
            shown += len(ids)
            transcript.append({"user": message, "shown": [rec.catalog[i].label for i in ids]})
            if tid in ids:
                success_at = turn
                break
            feedback, message = user.react(ids)
            for pos, kind in feedback:
                session.feedback(pos, kind)
            transcript[-1]["feedback"] = feedback
        results.append({"target": tid, "title": item.label, "success_turn": success_at, "shown": shown,
                        "said": list(user.said), "transcript": transcript})
    wins = [r for r in results if r["success_turn"]]
    return {
        "n": len(results), "max_turns": max_turns,
        "success_rate": len(wins) / len(results) if results else 0.0,
        "avg_turns_to_success": float(np.mean([r["success_turn"] for r in wins])) if wins else None,
        "shown_per_success": (sum(r["shown"] for r in results) / len(wins)) if wins else None,
        "results": results,
    }


def sample_targets(catalog: Catalog, candidates: Iterable[str], n: int, seed: int = 0) -> list[str]:
    """`n` of the candidate films (e.g. those the dialogues mention) that have a plot to talk about: in the
    catalog, with an overview and genres. The same seed draws the same films."""
    pool = sorted(set(candidates))
    pool = [i for i in pool if i in catalog.index_of and catalog[i].overview and catalog[i].genres]
    rng = random.Random(seed)
    return rng.sample(pool, min(n, len(pool)))
