"""Soft signals of a request: moods, quality words and facets the catalog cannot answer.

- Moods, feelings and occasions (vocab/moods.toml: "feel-good", "make me sob", 治愈, 烧脑, "for a date") become soft
  genre weights for the ranking, English content words for the wish and words to avoid. A negated or softened mood
  ("nothing too scary", 不要太血腥) is turned around. When the lexicon knows no mood in a wish, an optional zero-shot
  step embeds the wish and takes the nearest genre labels above a similarity threshold (`ZeroShotMoods`).
- Quality and popularity words (vocab/quality.toml: "best", "hidden gem", 经典, 冷门) set ranking priors and are
  never matched as text.
- Unsupported facets (vocab/unsupported.toml): a running time ("under 90 minutes", 90分钟以内) or a cast member
  ("starring Meryl Streep", 金凯瑞演的) is recorded with the words that asked for it, so the reply can say in one
  sentence what it ignored; a person the catalog's tags or overviews name is still looked for there.
Every span found is reported, so the wish never sees these words again.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import numpy as np

from chatrec.catalog import Catalog, normalize_title
from chatrec.understand.vocab import Mood, Vocab

_ZH = re.compile(r"[\u3400-\u9fff]")
_CLAUSE = re.compile(r"[,.;!?，。；！？、]")
_NAME = r"[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|de|van|von|da|del|la|le|di|du)){0,3}"
WEIGHT_RANGE = (-0.6, 0.4)  # a sum of several moods' weights stays a preference, never a filter
SOFT_GENRE_PENALTY = -0.25  # "nothing too scary", 别太恐怖: the genre moves down, it is not excluded
# "less gory", 不要太血腥: the mood's favoured genres move down by half their bonus. "Less" asks for less of it, not
# for none: "like Alien but less gory" is still a film like Alien
TURNED_AROUND = 0.5


@dataclass
class Signals:
    moods: list[tuple[Mood, bool]] = field(default_factory=list)  # (mood, turned around)
    genre_weights: dict[str, float] = field(default_factory=dict)
    wish_words: list[str] = field(default_factory=list)  # English words the moods add to the wish
    avoid_words: list[str] = field(default_factory=list)
    quality_bias: float = 0.0
    popularity_bias: float = 0.0
    obscure: bool = False
    quality_labels: list[str] = field(default_factory=list)
    unsupported: list[dict] = field(default_factory=list)
    people_words: list[str] = field(default_factory=list)  # names of people the catalog's texts contain
    spans: list[tuple[int, int]] = field(default_factory=list)  # character spans of the text that were used

    def labels(self) -> list[str]:
        """What was understood, in the words of the understanding line: moods ("feel-good", "not gory") and quality
        words ("acclaimed", "hidden gems"); `mood_label` gives the Chinese."""
        out = [f"not {mood.label}" if negated else mood.label for mood, negated in self.moods]
        return list(dict.fromkeys(out + self.quality_labels))

    @property
    def any(self) -> bool:
        return bool(self.moods or self.quality_bias or self.popularity_bias or self.unsupported)


def mood_label(label: str, vocab: Vocab, lang: str) -> str:
    """An understood label ("feel-good", "not gory", "hidden gems") in the reply's language."""
    if lang != "zh":
        return label
    negated = label.startswith("not ")
    name = label.removeprefix("not ")
    for entry in list(vocab.moods) + list(vocab.quality_words):
        if entry.label == name and entry.label_zh:
            return f"不要太{entry.label_zh}" if negated else entry.label_zh
    return label


class SignalFinder:
    def __init__(self, vocab: Vocab, catalog: Catalog, known_name=None):
        """`known_name(text) -> bool`: is this name a catalog title or a named collection (then it is not a
        cast facet: the title linker or the alias table answers it)."""
        self.vocab = v = vocab
        self.catalog = catalog
        self.known_name = known_name or (lambda name: False)
        # "World War II movies", "Western movies": a name with a genre's word in it is a topic, not a person
        self._genre_words = {w for g in catalog.genres for w in re.findall(r"[a-z]+", g.lower()) if len(w) > 2}
        self._cast_before = re.compile(rf"(?i:(?<![\w])(?:{v.cast_before}))[\W_]+({_NAME})")
        self._cast_after = re.compile(rf"({_NAME})[\W_]+(?i:(?:{v.cast_after}))(?![\w])")
        self._zh_cast = re.compile(rf"([\u3400-\u9fff·・•．.A-Za-z ]{{2,14}}?)(?:{v.zh_cast_after})")
        # the films' own texts, for people named in them (built here, so no request pays for it)
        self._texts = [f" {normalize_title(it.overview + ' ' + ' '.join(it.tags))} " for it in catalog.items]

    # ------------------------------------------------------------------ the whole message
    def find(self, text: str, soft_genres: list[str] = (), genres_in: list[str] = ()) -> Signals:
        """Every signal in `text` (simplified Chinese, original case). `soft_genres`: genres the genre reader found
        softened ("nothing too scary"), which become penalties here."""
        out = Signals()
        taken: list[tuple[int, int]] = []

        def free(a, b):
            return all(b <= s or a >= e for s, e in taken)

        self._unsupported(text, out, taken, free)
        # moods and quality words compete for the same words: the longest match wins ("feel good" over "good")
        v = self.vocab
        matches = []
        for mood in v.moods:
            for rx in (mood.en, mood.zh):
                for m in rx.finditer(text):
                    matches.append((m.end() - m.start(), m.start(), m.end(), "mood", mood))
        for q in v.quality_words:
            for rx in (q.en, q.zh):
                for m in rx.finditer(text):
                    matches.append((m.end() - m.start(), m.start(), m.end(), "quality", q))
        for _, start, end, kind, obj in sorted(matches, key=lambda m: (-m[0], m[1])):
            if not free(start, end):
                continue
            taken.append((start, end))
            if kind == "mood":
                turned = self._turned(text, start)
                out.moods.append((obj, turned))
                if turned and not _ZH.search(text[start:end]):
                    out.avoid_words.append(normalize_title(text[start:end]))  # "less gory": the word as said first
            else:
                self._quality(obj, out)
        moods = [(m, neg) for m, neg in out.moods]
        out.moods = list({(m.key, neg): (m, neg) for m, neg in moods}.values())
        for mood, negated in out.moods:
            for genre, w in mood.genres.items():
                if negated and w <= 0:
                    continue  # "nothing too dark" does not ask for children's films
                add = -TURNED_AROUND * w if negated else w
                out.genre_weights[genre] = out.genre_weights.get(genre, 0.0) + add
            (out.avoid_words if negated else out.wish_words).extend(mood.words.split())
            if not negated and mood.avoid:
                out.avoid_words.extend(mood.avoid.split())
        for genre in soft_genres:
            out.genre_weights[genre] = out.genre_weights.get(genre, 0.0) + SOFT_GENRE_PENALTY
        lo, hi = WEIGHT_RANGE
        out.genre_weights = {g: round(min(hi, max(lo, w)), 3) for g, w in out.genre_weights.items() if abs(w) > 1e-6}
        out.wish_words = list(dict.fromkeys(out.wish_words))
        out.avoid_words = [w for w in dict.fromkeys(out.avoid_words) if w not in out.wish_words]
        out.spans = sorted(taken)
        return out

    def _turned(self, text: str, start: int) -> bool:
        """Is the mood at `start` negated or softened ("nothing too scary", "not depressing", 不要太血腥)? Only
        within its own clause: "no horror, something cheerful" keeps cheerful."""
        v = self.vocab
        before = text[max(0, start - 40):start]
        before = _CLAUSE.split(before)[-1]
        if _ZH.search(before[-6:] or ""):
            compact = re.sub(r"\s+", "", before)
            return bool(v.zh_soft_before.search(compact) or v.zh_neg_before.search(compact))
        norm = normalize_title(before) + " "
        return bool(v.softened_before.search(norm) or v.negated_before.search(norm))

    @staticmethod
    def _quality(q, out: Signals) -> None:
        out.quality_bias = max(out.quality_bias, q.quality)
        if q.popularity < 0 or out.obscure:
            out.popularity_bias = min(out.popularity_bias, q.popularity)
        else:
            out.popularity_bias = max(out.popularity_bias, q.popularity)
        out.obscure = out.obscure or q.obscure
        if q.label:
            out.quality_labels.append(q.label)

    # ------------------------------------------------------------------ facets the catalog lacks
    def _unsupported(self, text: str, out: Signals, taken: list, free) -> None:
        v = self.vocab
        # facets said by their words alone: a length ("under 90 minutes"), black and white or colour
        for facet, patterns in (("runtime", (v.runtime, v.zh_runtime)), ("colour", (v.colour, v.zh_colour))):
            for rx in patterns:
                for m in rx.finditer(text):
                    if free(m.start(), m.end()):
                        taken.append((m.start(), m.end()))
                        self._add(out, facet, m.group(0).strip(" ,.;"))
        people, known = [], False
        for rx in (self._cast_before, self._cast_after):
            for m in rx.finditer(text):
                name = m.group(1).strip(" .'’")
                name = re.sub(r"\s+(?:In|On|At|For|And)$", "", name)
                if self.known_name(name):
                    known = True  # a director, studio or actor the alias table has: answered as a collection
                    continue
                if len(name.split()) < (1 if re.match(r"(?i)\s*(starring|featuring|stars|feat)\b", m.group(0))
                                        else 2) or not free(m.start(), m.end()):
                    continue
                if name.split()[0].lower() in v.function_words:
                    continue  # "The Matrix" is a title the linker missed, not a person
                if any(w.lower() in self._genre_words for w in name.split()):
                    continue  # "World War II movies": a topic
                taken.append((m.start(), m.end()))
                people.append((m.group(0).strip(" ,.;"), name))
        for m in self._zh_cast.finditer(text):
            name = v.zh_stop.sub("", m.group(1)).strip(" ·・•．.")
            name = re.sub(r"^(?:有没有|有|找|看|想看|要|我|和|跟)+", "", name)
            if len(name) >= 2 and self.known_name(name):
                known = True
                continue
            if len(name) < 2 or not free(m.start(), m.end()):
                continue
            taken.append((m.start(), m.end()))
            phrase = m.group(0)
            people.append((phrase[phrase.find(name):] if name in phrase else phrase, name))
        for phrase, name in people:
            in_text = bool(not _ZH.search(name) and self.named_in_catalog(name))
            self._add(out, "cast", phrase, name=name, searched=in_text)
            if in_text:
                out.people_words.append(normalize_title(name))
        for rx in (v.origin, v.zh_origin):  # a country or language: said, and still looked for in the texts
            for m in rx.finditer(text):
                phrase = m.group(0).strip()
                name = phrase if _ZH.search(phrase) else phrase.split()[-1]  # "in Spanish": Spanish
                words = v.zh_wish_words.get(phrase, "").split() if _ZH.search(phrase) else [name]
                self._add(out, "origin", phrase, name=name, searched=any(self.named_in_catalog(w) for w in words))
        if not people and not known:  # "with great actors": about cast, with no name to look for
            for rx in (v.cast_words, v.zh_cast_words):
                m = rx.search(text)
                if m and free(m.start(), m.end()):
                    taken.append((m.start(), m.end()))
                    self._add(out, "cast", m.group(0))
                    break

    @staticmethod
    def _add(out: Signals, facet: str, phrase: str, **extra) -> None:
        if not any(u["facet"] == facet and u["phrase"] == phrase for u in out.unsupported):
            out.unsupported.append({"facet": facet, "phrase": phrase, **extra})

    def named_in_catalog(self, name: str) -> bool:
        """Does any film's overview or tags name this person ("meryl streep" in Sophie's Choice's tags)?"""
        return bool(self.items_naming(name))

    @functools.lru_cache(maxsize=1024)  # noqa: B019  (one finder per parser; bounded)
    def items_naming(self, name: str) -> tuple[str, ...]:
        """The ids of the films whose overview or tags name this person, in catalog order."""
        key = f" {normalize_title(name)} "
        if len(key) <= 4:
            return ()
        return tuple(it.item_id for it, t in zip(self.catalog.items, self._texts) if key in t)


class ZeroShotMoods:
    """The zero-shot fallback for moods the lexicon does not know ("something spooky and atmospheric" where
    "spooky" is missing): the wish is embedded with the project's sentence encoder and compared with the
    catalog's genre names and most used tags; the genre whose label (or a tag mostly found on that genre's films)
    is closest gets a small bonus, if it is closer than `threshold` and ahead of the next genre by `margin`. The
    labels are embedded once, on first use."""

    def __init__(self, embedder, catalog: Catalog, threshold: float = 0.45, weight: float = 0.06, n_tags: int = 200,
                 margin: float = 0.05):
        self.embedder, self.catalog = embedder, catalog
        self.threshold, self.weight, self.n_tags, self.margin = threshold, weight, n_tags, margin
        self._labels: list[tuple[str, str]] | None = None  # (label text, genre it stands for)
        self._vectors: np.ndarray | None = None

    def _build(self) -> None:
        counts: dict[str, dict[str, int]] = {}
        for it in self.catalog.items:
            for tag in it.tags:
                per = counts.setdefault(tag.lower(), {})
                for g in it.genres:
                    per[g] = per.get(g, 0) + 1
        top = sorted(counts.items(), key=lambda kv: -sum(kv[1].values()))[:self.n_tags]
        labels = [(g.lower().replace("-", " "), g) for g in self.catalog.genres if g != "IMAX"]
        for tag, per in top:
            genre, n = max(per.items(), key=lambda kv: kv[1])
            if n >= 0.5 * sum(per.values()) and sum(per.values()) >= 3:  # a tag that mostly marks one genre
                labels.append((tag, genre))
        self._labels = labels
        self._vectors = np.asarray(self.embedder.encode([t for t, _ in labels]), dtype=np.float32)

    def weights(self, wish: str) -> dict[str, float]:
        if not wish.strip():
            return {}
        if self._labels is None:
            self._build()
        q = np.asarray(self.embedder.encode([wish])[0], dtype=np.float32)
        sims = self._vectors @ q
        best: dict[str, float] = {}  # genre -> its closest label
        for j in np.argsort(-sims):
            best.setdefault(self._labels[j][1], float(sims[j]))
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        if not ranked or ranked[0][1] < self.threshold:
            return {}
        if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < self.margin:
            return {}  # close to several genres at once: no clear mood
        return {ranked[0][0]: self.weight}
