"""The rule parser: a message (plus the last list) -> an `Intent`, by words, patterns and catalog titles.

Deterministic and always available. It links titles the person typed (English, Chinese, aliases) to catalog
items, reads genres, decades and years, references into the last list ("the second one", 第二部), critiques,
feedback and sentiment, and what is left over as a free-text wish. Its words (genre synonyms, stop-words,
sentiment words, critique words, number words, Chinese titles) come from the data files under `vocab/`
(`chatrec.understand.vocab`); the patterns that are grammar rather than word lists stay here.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from chatrec.catalog import Catalog, normalize_title
from chatrec.lang import to_simplified
from chatrec.understand.aliases import ALIASES_PATH, Collection, load_aliases
from chatrec.understand.intent import Intent, ParseContext
from chatrec.understand.signals import SignalFinder, Signals, ZeroShotMoods
from chatrec.understand.vocab import Vocab
from chatrec.understand.vocab import load as load_vocab

_ZH = re.compile(r"[\u3400-\u9fff]")
_ZH_LAST = re.compile(r"最后(?:一|那)?(?:部|个|项|条)")
_ZH_FIRST_N = re.compile(r"前\s*([两二三四五]|\d)\s*(?:部|个|项|条)")
_ZH_DECADE = re.compile(r"(?:(19|20)?(\d)0|([一二三四五六七八九零])([一二三四五六七八九])?十)\s*年代")
_DECADE = re.compile(r"\b(?:(early|mid|late)[\s-]*(?:the\s+)?)?(?:(19|20)?(\d)0'?s)\b", re.I)
# a film the person names that the catalog may not have: a capitalised name after a cue ("something like
# Blorfington Quux"), or a Chinese title in its brackets (《不存在的电影》)
_NAMED_AFTER_CUE = re.compile(
    r"(?i:\b(?:like|similar to|loved|liked|enjoyed|adored|as good as|such as)\s+)[\"“]?"
    r"([A-Z0-9][\w'’:&!?.-]*(?:\s+(?:[A-Z0-9][\w'’:&!?.-]*|of|the|a|an|and|in|on|to|for|at|with|from)){0,7})")
_ZH_BRACKETED = re.compile(r"《([^《》]{1,40})》")
_BETWEEN = re.compile(r"\b(?:between|from)\s+((?:19|20)\d\d)\s*(?:and|to|-|–|until|through)\s*((?:19|20)\d\d)\b", re.I)
_BEFORE_DECADE = re.compile(r"\b(?:before|pre|earlier than|older than|until)[\s-]+(?:the\s+)?(?:(?:19|20)?\d0'?s|\w+ties)\b|"
                            r"年代\s*(?:以前|之前|前)", re.I)
_AFTER_DECADE = re.compile(r"\b(after|since|post|later than|newer than)[\s-]+(?:the\s+)?(?:(?:19|20)?\d0'?s|\w+ties)\b|"
                           r"年代\s*(?:以后|之后|以来|后)", re.I)
_ZH_BETWEEN = re.compile(r"((?:19|20)\d\d)\s*年?\s*(?:到|至|-|–|~|～)\s*((?:19|20)\d\d)\s*年?")
_IN_YEAR = re.compile(r"\b(?:in|from|of)\s+((?:19|20)\d\d)\b", re.I)
# an attempt to re-program the bot: a pattern of phrases at a distance, kept in code with the other safety checks
_INJECTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|rules?|prompts?|directions)\b|\bsystem prompt\b|"
    r"\b(reveal|print|show|output|repeat|leak)\b.{0,30}\b(prompt|instructions?|rules|text above)\b|^\s*system\s*:|"
    r"\byou are now\b|\bdeveloper mode\b|\bjailbreak|\bpretend (you|to be)\b|\bno (rules|restrictions|filters)\b|"
    r"\bact as (a|an)\b|\bDAN\b|忽略.{0,8}(指令|规则|提示|设定)|系统提示|提示词|你现在是|扮演", re.I)


def _space_cjk(text: str) -> str:
    """Put spaces around CJK characters so that each is one token (Chinese has no spaces between words)."""
    return re.sub(r"([\u3400-\u9fff\uf900-\ufaff])", r" \1 ", text)


def _norm(text: str) -> str:
    """`normalize_title` with every CJK character a token of its own: the token space of the rule parser."""
    return normalize_title(_space_cjk(text))


def _token_at(text: str, char: int) -> int:
    """The index in `_norm(text)`'s tokens of the token that starts at character `char` of `text`."""
    return len(_norm(text[:char]).split())


def _cased_tokens(text: str) -> list[str]:
    """The tokens of `_norm(text)` with the case the person typed."""
    text = unicodedata.normalize("NFKD", _space_cjk(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).replace("&", " and ")
    return re.sub(r"[^\w\s]", " ", text).split()


# the end of a sentence: a dislike's reach stops there ("I didn't like Titanic. Alien was great"), but not after an
# abbreviation ("Dr. Strangelove", "Mr. Deeds") or an initial
_SENTENCE_END = re.compile(r"(?<![A-Z])(?<!\bMr)(?<!\bMrs)(?<!\bMs)(?<!\bDr)(?<!\bSt)(?<!\bJr)(?<!\bvs)"
                           r"[.!?;]+(?=\s)|[。！？；]+")


def _sentence_starts(text: str) -> frozenset[int]:
    """The token indices (of `_norm(text)`) that begin a new sentence."""
    return frozenset(_token_at(text, m.end()) for m in _SENTENCE_END.finditer(text))


def _is_cjk(token: str) -> bool:
    return bool(_ZH.match(token))


class RuleParser:
    name = "rules"
    ANY_GENRE_WEIGHT = 0.1  # the lift of each wanted genre a film has, when any of several will do

    def __init__(self, catalog: Catalog, aliases: Path | str | None = ALIASES_PATH, translate: bool = True,
                 vocab: Vocab | None = None, embedder=None):
        """`aliases`: the alias table (None: only the Chinese titles of vocab/zh_titles.csv); `translate`: put the
        Chinese words of a wish into English (query translation) for an English-only embedder; `vocab`: the word
        lists (default: the shipped vocab/ files); `embedder`: the sentence encoder for the zero-shot mood
        fallback (None: the mood lexicon only)."""
        self.catalog = catalog
        self.translate_wish = translate
        self.vocab = v = vocab or load_vocab()
        self._catalog_words: set[str] | None = None
        lower_vocab = {g.lower(): g for g in catalog.genres}
        self.genre_words = {w: g for w, g in v.genre_words.items() if g in catalog.genres}
        for low, g in lower_vocab.items():
            self.genre_words.setdefault(normalize_title(low), g)
        self.multi_genre_words = {w: gs for w, gs in v.multi_genre_words.items() if all(g in catalog.genres for g in gs)}
        self.zh_genre_words = dict(sorted(((w, g) for w, g in v.zh_genre_words.items() if g in catalog.genres),
                                          key=lambda kv: -len(kv[0])))
        self._fuzzy_genre_keys = [w for w in self.genre_words if len(w) >= 5 and " " not in w]
        alias_titles, self.collections = load_aliases(catalog, aliases)
        zh_titles = dict(alias_titles)
        self.zh_names: dict[str, str] = {}  # item id -> its usual Chinese title, for Chinese replies
        for name, item_id in alias_titles.items():
            if _ZH.search(name):
                self.zh_names.setdefault(item_id, name)
        for zh, title in v.zh_titles.items():  # names for catalogs the shipped table does not cover
            hits = catalog.titles.exact(title)
            if hits and zh not in zh_titles:
                zh_titles[zh] = catalog.items[hits[0]].item_id
        self.zh_titles = dict(sorted(zh_titles.items(), key=lambda kv: -len(kv[0])))
        # other names of films (Chinese release titles, short English names) as token runs of `_norm`
        self._alias_runs = sorted(((tuple(_norm(name).split()), i) for name, i in zh_titles.items() if _norm(name)),
                                  key=lambda ni: -len("".join(ni[0])))
        # collection names as token runs of `_norm`, longest first: ("宫","崎","骏") / ("hayao","miyazaki")
        self._collection_names = sorted(
            ((tuple(_norm(name).split()), key) for key, c in self.collections.items() for name in c.names if _norm(name)),
            key=lambda nk: -len("".join(nk[0])))
        self._names_by_first: dict[str, list] = {}
        for tokens, key in self._collection_names:
            self._names_by_first.setdefault(tokens[0], []).append((tokens, key))
        self._wish_words = sorted(v.zh_wish_words.items(), key=lambda kv: -len(kv[0]))
        # wish words the stop words would break apart (港片 holds 片, 太空 holds 太): translated before the stop words
        # go; a word that is a stop word as a whole (经典, a quality word) stays one
        self._fragile_wish_words = [(w, en) for w, en in self._wish_words
                                    if v.zh_stop.sub(" ", w) != w and v.zh_stop.sub(" ", w).strip()]
        # How ordinary is a word? Document frequency over the catalog's descriptions: "thing", "night" and
        # "perfect" are everyday words even though films carry them as titles; "matrix" and "fargo" are not.
        self._df: dict[str, int] = {}
        n_docs = 0
        for it in catalog.items:
            if it.overview:
                n_docs += 1
                for w in set(normalize_title(it.overview).split()):
                    self._df[w] = self._df.get(w, 0) + 1
        self._df_limit = max(2, int(0.005 * n_docs))
        counts = sorted(it.rating_count for it in catalog.items)
        self._popular = counts[int(0.9 * (len(counts) - 1))] if counts else 0  # top 10% by ratings
        # what a wish may hold: words the catalog uses to say what a film is (overviews, tags, genres)
        self._content_words = set(self._df)
        for it in catalog.items:
            for w in normalize_title(" ".join(it.tags) + " " + " ".join(it.genres)).split():
                self._content_words.add(w)
        years = [it.year for it in catalog.items if it.year]
        self.newest_year = max(years) if years else None
        self.signals = SignalFinder(v, catalog, self.known_name)
        self.zero_shot = ZeroShotMoods(embedder, catalog) if embedder is not None else None

    def known_name(self, name: str) -> bool:
        """Is `name` a catalog title, another name of a film, or a named collection (a director, a series)?"""
        norm = _norm(name)
        if not norm:
            return False
        if norm in self.catalog.titles.keys:
            return True
        tokens = tuple(norm.split())
        return any(tokens == t for t, _ in self._collection_names) or any(tokens == t for t, _ in self._alias_runs)

    # -- slots
    def find_collections(self, text: str) -> list[tuple[str, int, int]]:
        """Named sets of films in `text`: [(collection key, start, end)] with token spans of `_norm(text)`.

        A person or studio counts wherever named (宫崎骏, Miyazaki, 皮克斯). A series counts only when the
        message asks for the series (星球大战系列, 星球大战的电影, "the Star Wars films", "all the Bond films");
        otherwise its name is a title like any other (像星球大战那样的 = films like Star Wars)."""
        words = _norm(text).split()
        matches = []  # every name that occurs, then the longest ones win where names overlap
        for start, word in enumerate(words):
            for tokens, key in self._names_by_first.get(word, ()):
                n = len(tokens)
                if tuple(words[start:start + n]) != tokens:
                    continue
                if not _is_cjk(tokens[0]) and len("".join(tokens)) < 3:
                    continue
                if self.collections[key].kind == "series" and not self._asks_for_series(words, start, start + n):
                    continue
                matches.append((len("".join(tokens)), key, start, start + n))
        taken = [False] * len(words)
        found = []
        for _, key, start, end in sorted(matches, key=lambda m: (-m[0], m[2])):
            if not any(taken[start:end]):
                found.append((key, start, end))
                for j in range(start, end):
                    taken[j] = True
        found.sort(key=lambda f: f[1])
        return found

    @staticmethod
    def _asks_for_series(words: list[str], start: int, end: int) -> bool:
        after = "".join(words[end:end + 4])
        before = " ".join(words[max(0, start - 3):start])
        if re.search(r"系列|三部曲|全集", "".join(words[start:end])) or \
                re.search(r"\b(films|movies|series|saga|trilogy)\b", " ".join(words[start:end])):
            return True  # the name says it: 星球大战系列, "Matrix trilogy"
        if re.search(r"(像|类似|似|和|跟|同)\s*$|\b(like|than|similar to|as good as)$", before):
            return False  # 像侏罗纪公园的电影 / films like Jurassic Park: the title, as a model to follow
        if re.match(r"(?:的)?(?:系列|三部曲|全集|所有|全部|电影|影片|片子|几部|每一部)", after) or \
                re.search(r"(所 有|全 部|整 个)\s*(的\s*)?$", before):
            return True
        nxt = " ".join(words[end:end + 2])
        return bool(re.match(r"(films?|movies?|series|saga|trilogy|franchise)\b", nxt)) or \
            bool(re.search(r"\b(all|every|each)( of)?( the)?$", before))

    def collection_name(self, key: str, lang: str = "en") -> str:
        """宫崎骏 / Hayao Miyazaki: how a reply names a collection."""
        names = self.collections[key].names if key in self.collections else []
        if lang == "zh":
            return next((n for n in names if _ZH.search(n)), key)
        return key

    def collection_items(self, keys: list[str]) -> list[str]:
        """The catalog ids of the named collections, in the table's order, without repeats."""
        out: list[str] = []
        for key in keys:
            for item_id in self.collections[key].items if key in self.collections else []:
                if item_id not in out:
                    out.append(item_id)
        return out

    def find_titles(self, text: str) -> list[tuple[str, int, int, str]]:
        """Catalog titles mentioned in `text`: [(item_id, start, end, polarity)] with token spans of `_norm(text)`."""
        norm = _norm(text)
        words = norm.split()
        cased = _cased_tokens(text)
        if len(cased) != len(words):
            cased = words
        has_cjk = bool(_ZH.search(text))
        quoted = {normalize_title(q) for q in re.findall(r"[\"“”'‘’「」『』]([^\"“”'‘’「」『』]{2,80})[\"“”'‘’「」『』]", text)}
        found: list[tuple[str, int, int, str]] = []
        # every span that names a film: other names of known films (千与千寻 -> Spirited Away, "Star Wars") and
        # catalog titles; the longest wins, so "Star Wars: Episode V - The Empire Strikes Back" is that film, not
        # the alias "Star Wars" plus "Empire" (at equal length an alias goes first)
        spans: list[tuple[int, int, int, str]] = []  # (length, alias?, start, item id)
        for chars, item_id in self._alias_runs:
            chars = list(chars)
            for start in range(0, len(words) - len(chars) + 1):
                if words[start:start + len(chars)] == chars:
                    spans.append((len(chars), 1, start, item_id))
        max_n = min(self.catalog.titles.max_words, len(words))
        for n in range(max_n, 0, -1):
            for start in range(0, len(words) - n + 1):
                phrase = " ".join(words[start:start + n])
                positions = self.catalog.titles.keys.get(phrase)
                if not positions or _is_cjk(words[start]):
                    continue
                pos = self._pick_by_year(positions, words[start + n:start + n + 1])
                if self._plausible(phrase, words, start, n, cased, quoted, has_cjk, pos):
                    spans.append((n, 0, start, self.catalog.items[pos].item_id))
        taken = [False] * len(words)
        for n, _, start, item_id in sorted(spans, key=lambda s: (-s[0], -s[1], s[2])):
            if not any(taken[start:start + n]):
                found.append((item_id, start, start + n, ""))
                for j in range(start, start + n):
                    taken[j] = True
        # sentences, without the ends a title's own punctuation makes ("Who Framed Roger Rabbit?", "Airplane!")
        starts = _sentence_starts(text) - {end for item_id, _, end, _ in found
                                           if self.catalog[item_id].title.rstrip()[-1:] in ".!?"}
        found = [(item_id, start, end, self._polarity(words, start, starts)) for item_id, start, end, _ in found]
        if not found:
            found.extend(self._fuzzy_after_cues(norm))
        found.sort(key=lambda f: f[1])
        return self._listed_dislikes(found, words, starts)

    def _listed_dislikes(self, found: list[tuple[str, int, int, str]], words: list[str], starts: frozenset[int]):
        """A title listed right after a disliked one, in the same sentence, is disliked too (only "and", "和", a
        comma between them)."""
        v = self.vocab
        for k in range(1, len(found)):
            a, b = found[k - 1][2], found[k][1]
            between = words[a:b]
            if found[k - 1][3] == "dislike" and not any(a <= t <= b for t in starts) and \
                    (all(w in v.title_joiners for w in between) or "".join(between) in v.zh_title_joiners):
                found[k] = (*found[k][:3], "dislike")
        return found

    def _plausible(self, phrase, words, start, n, cased, quoted, has_cjk, pos) -> bool:
        """Is this word run a mention of the title, or ordinary words that happen to spell one?"""
        tokens = phrase.split()
        if phrase in self.genre_words and phrase not in quoted:
            return False  # "comedy" asks for a genre, not for the film called Comedy
        if phrase in quoted:
            return True
        prev = words[start - 1] if start > 0 else ""
        after = words[start + n] if start + n < len(words) else ""
        v = self.vocab
        cue = prev in v.title_cues
        capitalised = all(c[:1].isupper() or c[:1].isdigit() or c.lower() in v.title_small_words
                          for c in cased[start:start + n]) and cased[start][:1].isupper()
        whole = n == len(words)
        # a Latin-script run between Chinese words is a deliberate mention: "推荐一些像 The Matrix 的电影"
        switched = has_cjk and (not prev or _is_cjk(prev)) and (not after or _is_cjk(after)) and (capitalised or n > 1)
        if all(t in v.common or t.isdigit() for t in tokens):
            if n >= 3 and cue:
                return True
            # capitalised mid-sentence after a cue ("I loved Up"), or alone / between Chinese words; three or more
            # capitalised words mid-sentence are a deliberate mention ("I need to watch A Walk to Remember")
            return (capitalised and (cue or whole or switched or n >= 3)) and start > 0 or (whole and capitalised) or \
                (switched and capitalised)
        if len(phrase) < 3:
            return False
        if prev == "about" and not capitalised and any(w in v.topic_heads for w in words[max(0, start - 5):start - 1]):
            # "movies about robots", "something dark about revenge" is a topic; "movies about Robots" or "tell me about
            # robots" a title
            return False
        # capitalised: mid-sentence, or two words or more opening the message with a name among them ("Little
        # Nicky is my favorite"; the first word alone is capitalised in any sentence, "Good Morning!" is a greeting)
        named = n >= 2 and any(t not in v.function_words and t not in v.common for t in tokens)
        if cue or whole or switched or (capitalised and (start > 0 or named)):
            return True
        if prev in v.contents_cues:
            return False  # "nothing with aliens", "some heat": what a film contains, said in lower case
        if after in v.topic_heads and not capitalised and prev != "the":
            return False  # "a ghost story", "a ghost movie": a kind of film; "the ghost movie" is the film Ghost
        # no cue: only a popular film whose name has a word that is rare in ordinary descriptions
        rare = min(self._df.get(t, 0) for t in tokens if t not in v.common) <= self._df_limit
        return rare and self.catalog.items[pos].rating_count >= self._popular

    def _pick_by_year(self, positions: list[int], following: list[str]) -> int:
        if following and following[0].isdigit() and len(following[0]) == 4:
            year = int(following[0])
            for p in positions:
                if self.catalog.items[p].year == year:
                    return p
        return positions[0]  # most rated first

    def _polarity(self, words: list[str], start: int, starts: frozenset[int] = frozenset()) -> str:
        v = self.vocab
        first = max((t for t in starts if t <= start), default=0)  # the dislike must be in the title's sentence
        near = words[max(0, first, start - 6):start]
        cut = max((j + 1 for j, w in enumerate(near) if w in v.title_contrast), default=0)
        before = " ".join(near[cut:])
        if v.title_dislike.search(before):
            return "dislike"
        if v.zh_title_dislike.search(v.zh_title_contrast.split(before.replace(" ", ""))[-1]):
            return "dislike"
        return "like"

    def _fuzzy_after_cues(self, norm: str) -> list[tuple[str, int, int, str]]:
        out = []
        v = self.vocab
        for m in v.fuzzy_after_cue.finditer(norm):
            span = m.group(1).strip()
            words = span.split()
            cjk = next((i for i, w in enumerate(words) if _is_cjk(w)), len(words))
            words = words[:cjk]
            if not words or v.ref.match(" ".join(words)) or words[0] in ("the", "a", "an") and len(words) > 1 and \
                    (words[1] in v.ordinals or words[1] in ("last", "next", "other")) or words[0] in ("number", "it", "that", "this"):
                continue  # "more like the second one" points into the list, it names no title
            for cut in range(min(len(words), 8), 0, -1):
                cand = " ".join(words[:cut])
                if all(w in v.common for w in cand.split()):
                    continue
                positions = self.catalog.titles.fuzzy(cand)
                if positions:
                    start = len(norm[:m.start(1)].split())
                    out.append((self.catalog.items[positions[0]].item_id, start, start + cut,
                                self._polarity(norm.split(), start)))
                    break
        return out

    def find_genres(self, norm: str, text: str = "") -> tuple[list[str], list[str], list[str]]:
        """(genres wanted, genres excluded, soft-avoid words) from the normalised message (and the raw text,
        for Chinese genre words and misspelled English ones)."""
        wanted, excluded, soft = [], [], []
        hits: list[tuple[int, str, str, str]] = []  # (position in norm, word, genre, text before it)
        spans: list[tuple[int, int]] = []

        def free(a, b):
            return all(b <= s or a >= e for s, e in spans)

        for word, genres in sorted(self.multi_genre_words.items(), key=lambda kv: -len(kv[0])):
            for m in re.finditer(rf"\b{re.escape(word)}\b", norm):
                if free(m.start(), m.end()):
                    spans.append((m.start(), m.end()))
                    hits += [(m.start(), word, g, norm[max(0, m.start() - 24):m.start()]) for g in genres]
        for word, genre in sorted(self.genre_words.items(), key=lambda kv: -len(kv[0])):
            for m in re.finditer(rf"\b{re.escape(word)}\b", norm):
                if free(m.start(), m.end()):
                    spans.append((m.start(), m.end()))
                    hits.append((m.start(), word, genre, norm[max(0, m.start() - 24):m.start()]))
        compact = re.sub(r"\s+", "", norm)  # Chinese words are matched without the spaces between characters
        zh_spans: list[tuple[int, int]] = []
        for word, genre in self.zh_genre_words.items():
            for m in re.finditer(re.escape(word), compact):
                if all(m.end() <= s or m.start() >= e for s, e in zh_spans):
                    zh_spans.append((m.start(), m.end()))
                    hits.append((-1, word, genre, compact[max(0, m.start() - 8):m.start()]))
        if self._fuzzy_genre_keys:  # misspelled genre words: "horor", "comdies", "thriler"
            for m in re.finditer(r"\b[a-z]{5,}\b", norm):
                token = m.group(0)
                if token in self.genre_words or token in self.vocab.common or self._df.get(token, 0) > 0 or not free(m.start(), m.end()):
                    continue
                from rapidfuzz import fuzz, process
                best = process.extractOne(token, self._fuzzy_genre_keys, scorer=fuzz.ratio, score_cutoff=84)
                if best:
                    hits.append((m.start(), token, self.genre_words[best[0]], norm[max(0, m.start() - 24):m.start()]))
        v = self.vocab
        # a negation reaches along a list of genres: "except musicals or westerns", "no horror and no gore"
        listed: set[int] = set()
        ordered = sorted((h for h in hits if h[0] >= 0), key=lambda h: h[0])
        for prev, cur in zip(ordered, ordered[1:]):
            gap = norm[prev[0] + len(prev[1]):cur[0]]
            if re.fullmatch(r"\s*(?:or|and|nor)?\s*", gap) and (
                    v.negated_before.search(prev[3]) or id(prev) in listed) and not v.softened_before.search(prev[3]):
                listed.add(id(cur))
        for hit in hits:
            _, word, genre, before = hit
            if word in ("kid", "kids", "child", "children") and re.search(r"\b(as|was|were)\s+(a\s+)?$", before):
                continue  # "loved it as a kid" says when, not what
            if v.softened_before.search(before) or v.zh_soft_before.search(before):
                soft.append(word)
            elif v.negated_before.search(before) or v.zh_neg_before.search(before) or id(hit) in listed:
                if genre not in excluded:
                    excluded.append(genre)
            elif genre not in wanted:
                wanted.append(genre)
        wanted = [g for g in wanted if g not in excluded]
        return wanted, excluded, list(dict.fromkeys(soft))

    def find_periods(self, text: str, year_min: int | None, year_max: int | None) -> list[tuple[int, int]]:
        """The decades a message names when it names several and they are its whole year range ("the 40s and
        50s"): the list should draw from each. One decade, or a range said otherwise, gives []."""
        spans = sorted(set(self._decades(text.lower())))
        if len(spans) < 2 or (year_min, year_max) != (spans[0][0], spans[-1][1]):
            return []
        return spans

    def find_years(self, text: str) -> tuple[int | None, int | None]:
        v = self.vocab
        low = text.lower()
        m = _BETWEEN.search(low) or _ZH_BETWEEN.search(low)
        if m:
            a, b = sorted((int(m.group(1)), int(m.group(2))))
            return a, b
        lo = hi = None
        m = v.after.search(low)
        if m:
            lo = int(m.group(1) or m.group(2))
        m = v.before.search(low)
        if m:
            hi = int(m.group(1)) - 1
        if lo is None and hi is None:
            # decades, as many as are named: "the 40s and 50s", "80s or 90s", 八九十年代 -> from the first to the last
            spans = self._decades(low)
            if spans:
                a, b = min(a for a, _ in spans), max(b for _, b in spans)
                m = _BEFORE_DECADE.search(low)
                if m:  # "before the 80s", 八十年代以前
                    return None, a - 1
                m = _AFTER_DECADE.search(low)
                if m:  # "after the 80s" (from 1990), "since the 80s", 八十年代以后 (from 1980)
                    return (a if m.group(1) in ("since",) or not m.group(1) else b + 1), None
                return a, b
            for rx, a, b in v.eras:  # "pre-war", 老电影
                if rx.search(low):
                    return a, b
            if self.newest_year and v.recent.search(low):  # "recent", 最近几年: relative to the catalog's newest film
                return self.newest_year - v.recent_years, None
            m = v.zh_year.search(low)
            if m:
                year, rel = int(m.group(1)), m.group(2)
                if rel in v.zh_after:
                    return year, None
                if rel in v.zh_before:
                    return None, year - 1
                return year, year
            m = _IN_YEAR.search(low)
            if m:
                return int(m.group(1)), int(m.group(1))
        return lo, hi

    def _decades(self, low: str) -> list[tuple[int, int]]:
        """Every decade named in `low`, as (first year, last year), narrowed by early / mid / late."""
        v = self.vocab
        spans = []
        for word, start in v.decade_words.items():
            for m in re.finditer(rf"\b(?:(early|mid|late)[\s-]*)?{word}\b", low):
                spans.append(self._part(start, m.group(1)))
        for m in _DECADE.finditer(low):
            century = m.group(2) or ("20" if m.group(3) in "012" else "19")
            spans.append(self._part(int(century + m.group(3) + "0"), m.group(1)))
        for m in _ZH_DECADE.finditer(low):
            part = next((k for w, k in v.zh_decade_parts if low[m.end():m.end() + len(w)] == w), None)
            digits = [m.group(2)] if m.group(2) else [str(v.zh_numbers.get(d, 0) % 10) for d in (m.group(3), m.group(4)) if d]
            for digit in digits:  # 八九十年代: the eighties and the nineties
                century = m.group(1) or ("20" if digit in "012" else "19")
                spans.append(self._part(int(century + digit + "0"), part if len(digits) == 1 else None))
        return spans

    def _part(self, start: int, part: str | None) -> tuple[int, int]:
        a, b = self.vocab.decade_parts.get((part or "").lower(), (0, 9))
        return start + a, start + b

    def find_refs(self, text: str, n_last: int) -> list[int]:
        v = self.vocab
        refs = []
        for m in v.ref.finditer(text):
            num = m.group(1) or m.group(2)
            if num:
                refs.append(int(num) if num.isdigit() else v.word_numbers[num.lower()])
            elif m.group(3):
                refs.append(n_last if n_last else 1)
            elif m.group(4):
                refs.append(v.ordinals[m.group(4).lower()])
        for m in v.first_n.finditer(text):  # "the first two", "the last three"
            k = v.small_numbers[m.group(2).lower()]
            if m.group(1).lower() == "last" and n_last:
                refs += list(range(max(1, n_last - k + 1), n_last + 1))
            else:
                refs += list(range(1, k + 1))
        for m in v.zh_ordinal.finditer(text):  # 第二部
            value = m.group(1)
            refs.append(int(value) if value.isdigit() else v.zh_numbers[value])
        if _ZH_LAST.search(text):  # 最后一部
            refs.append(n_last if n_last else 1)
        for m in _ZH_FIRST_N.finditer(text):  # 前两部
            value = m.group(1)
            refs += list(range(1, (int(value) if value.isdigit() else v.zh_numbers[value]) + 1))
        return list(dict.fromkeys(r for r in refs if r > 0))

    # -- the whole message
    def parse(self, message: str, context: ParseContext | None = None) -> Intent:
        intent = self._parse(message, context or ParseContext())
        # sentiment and people, read from the text as typed (before Traditional characters are simplified), whatever
        # the kind: the dialogue keeps praised or panned titles in the profile and names people when asked
        v, text = self.vocab, message.strip()
        intent.praised = bool(v.praise.search(text))
        intent.panned = bool(v.pan.search(text))
        intent.asks_people = bool(v.people.search(text))
        return intent

    def _parse(self, message: str, context: ParseContext) -> Intent:
        v = self.vocab
        text = message.strip()
        if _ZH.search(text):
            text = to_simplified(text)  # 推薦幾部動畫 reads as 推荐几部动画
        norm = _norm(text)
        has_list = bool(context.last_items)
        request = bool(v.request.search(text) or v.zh_request.search(text))
        film_words = bool(v.film_words.search(text))

        if (v.goodbye.search(text) or v.goodbye_end.search(text)) and len(normalize_title(text).split()) <= 8 \
                and not (request and v.goodbye_end.search(text) and not v.goodbye.search(text)):
            return Intent("goodbye")
        if v.zh_goodbye.search(text) and len(norm.split()) <= 16 and not (request or film_words):
            return Intent("goodbye")

        collections = self.find_collections(text)
        titles = self.find_titles(text)
        if collections:  # "Hitchcock films" names the director, not the 2012 film called Hitchcock
            titles = [t for t in titles if not any(t[1] < e and s < t[2] for _, s, e in collections)]
        genre_text = text
        for rx, _, _ in v.eras:  # "pre-war comedy" is a period, not a war film
            genre_text = rx.sub(" ", genre_text)
        genre_norm = normalize_title(genre_text)
        words = norm.split()
        for _, start, end, _ in titles:  # a film's name is not a genre wish: "Avengers: Infinity War" is no war film
            genre_norm = f" {genre_norm} ".replace(f" {' '.join(words[start:end])} ", " title ").strip()
        genres_in, genres_out, soft = self.find_genres(genre_norm, genre_text)
        year_min, year_max = self.find_years(text)
        periods = self.find_periods(text, year_min, year_max)
        soft_genres = [g for g in dict.fromkeys(self.genre_words.get(w) or self.zh_genre_words.get(w) for w in soft) if g]
        sig = self.signals.find(text, soft_genres, genres_in)
        if titles and sig.spans:
            # a title spelled by a mood, quality or length phrase is that phrase ("something spooky for halloween",
            # "shorter than 2 hours" is not 127 Hours), unless a title cue comes right before it ("like Halloween")
            said = [f" {_norm(text[a:b])} " for a, b in sig.spans]
            titles = [t for t in titles if (t[1] > 0 and words[t[1] - 1] in v.title_cues and
                                            not any(f" {' '.join(words[t[1] - 1:t[2]])} " in p for p in said))
                      or not any(f" {' '.join(words[t[1]:t[2]])} " in p for p in said)]
            # and a mood word inside a title that stays linked is part of its name: "like The Dark Knight" is
            # no wish for dark films
            inside = [(a, b) for a, b in sig.spans if self._in_title(text, a, b, titles)]
            if inside:  # read again without them (the same length: the other spans keep their places)
                masked = text
                for a, b in inside:
                    masked = masked[:a] + " " * (b - a) + masked[b:]
                sig = self.signals.find(masked, soft_genres, genres_in)
        # a country word inside a linked title is part of its name: "like French Kiss" asks nothing about France
        sig.unsupported = [u for u in sig.unsupported if u["facet"] != "origin" or not all(
            self._in_title(text, m.start(), m.end(), titles) for m in re.finditer(re.escape(u["phrase"]), text))]
        if any(m.key == "all_ages" for m, neg in sig.moods if not neg) and "Children" in genres_in:
            # "a family movie adults will enjoy too": children's films are favoured, not the only ones allowed
            genres_in = [g for g in genres_in if g != "Children"]
            sig.genre_weights["Children"] = max(sig.genre_weights.get("Children", 0.0), 0.15)
        refs = self.find_refs(text, len(context.last_items)) if has_list else []
        named_refs = [context.last_items.index(t[0]) + 1 for t in titles if t[0] in context.last_items]
        refs = list(dict.fromkeys(refs + named_refs))  # a title from the last list points at its place in it

        # user text is data: an attempt to re-program the bot is small talk, unless it also asks for films
        if _INJECTION.search(text) and not (genres_in or genres_out or v.strict_request.search(text)):
            return Intent("chitchat")
        if v.off_topic.search(text) and not (genres_in or genres_out or refs or film_words or v.strict_request.search(text)
                                             or self._off_topic_in_title(text, titles)):
            return Intent("chitchat")  # "what's the weather like tomorrow?": not about films at all

        liked = list(dict.fromkeys(t[0] for t in titles if t[3] == "like"))
        disliked = list(dict.fromkeys(t[0] for t in titles if t[3] == "dislike"))
        critiques = []
        if has_list:
            critiques = [name for name, rx in v.critiques if rx.search(text)]
            critiques += [name for name, rx in v.zh_critiques if rx.search(text) and name not in critiques]
            if named_refs and re.search(r"\b(more|less) like\b|更像", text, re.I):
                critiques.append("less_like" if re.search(r"\bless like\b", text, re.I) else "more_like")
            critiques = list(dict.fromkeys(critiques))
        if "more_like" in critiques and "less_like" in critiques:
            critiques.remove("more_like")
        if not refs:  # "like the matrix" names a title; "more like #2" points into the list
            critiques = [c for c in critiques if c not in ("more_like", "less_like")]
        unknown = self.unknown_titles(text, titles, collections, sig)
        for name, _, _ in unknown:  # said once, in the reply's first sentence (`chat.render.unsupported_note`)
            sig.unsupported.append({"facet": "title", "phrase": name})
        wish, avoid, said = self._wish(text, titles + [(k, s, e, "") for k, s, e in collections + unknown], soft,
                                       sig)
        for u in sig.unsupported:  # the reply says a country was looked for in the texts only if the wish has it
            if u["facet"] == "origin" and u.get("searched"):
                words = v.zh_wish_words.get(u["name"], "") if _ZH.search(u["name"]) else u["name"].lower()
                u["searched"] = bool(set(words.split()) & set(wish.split()))
        labels = sig.labels()
        collection_keys = list(dict.fromkeys(k for k, _, _ in collections))
        for u in sig.unsupported:
            if u["facet"] == "cast" and u.get("searched"):
                # no cast list, but the catalog's own texts name the person: their films are those, and the reply
                # says how they were found (`chat.render.unsupported_note`)
                key = u["name"]
                self.collections.setdefault(key, Collection(key, "text", [key], list(self.signals.items_naming(key))))
                collection_keys.append(key)
        if self.zero_shot is not None and said and not sig.moods and not genres_in and not titles and not collections:
            # no mood the lexicon knows, and words it does not: the nearest genre labels, above a threshold
            for genre, w in self.zero_shot.weights(said).items():
                sig.genre_weights[genre] = sig.genre_weights.get(genre, 0.0) + w
                labels.append(f"≈{genre.lower()}")
        any_genre, lifted = self._any_genre(genres_in, norm, text)
        for g in lifted:  # any of them will do; films of more of them first
            sig.genre_weights[g] = max(sig.genre_weights.get(g, 0.0), self.ANY_GENRE_WEIGHT)
        topic = self._topic(said)
        intent = Intent("recommend", liked=liked, disliked=disliked, genres_in=genres_in, genres_out=genres_out,
                        collections=list(dict.fromkeys(collection_keys)),
                        genres_any=any_genre,
                        year_min=year_min, year_max=year_max, wish_text=wish, avoid_text=avoid, refs=refs,
                        critiques=critiques, moods=labels, genre_weights=dict(sig.genre_weights),
                        quality_bias=sig.quality_bias, popularity_bias=sig.popularity_bias, obscure=sig.obscure,
                        unsupported=list(sig.unsupported), periods=periods, topic=topic,
                        topic_kinds=self.vocab.topic_kinds(topic))
        constraints = bool(genres_in or genres_out or year_min or year_max or soft or collection_keys or sig.any)

        if self._asks_about(text, titles, refs):
            about = titles[0][0] if titles else self._ref_id(refs[0], context)
            return Intent("ask_about_item", about_item=about, refs=refs)
        if has_list and (v.seen.search(text) or (v.zh_seen.search(text) and not request)):
            intent.kind, intent.sentiment = "feedback", "seen"
            return intent
        positive = bool(v.positive.search(text) or v.zh_positive.search(text))
        negative = bool(v.negative.search(text) or v.zh_negative.search(text))
        asks_more = (bool(v.request.search(text)) and bool(v.more_words.search(text))) or bool(v.zh_more_words.search(text))
        only_listed = all(t[0] in context.last_items for t in titles)
        if has_list and (positive or negative) and only_listed and not constraints and not asks_more \
                and not (set(critiques) - {"other"}):
            intent.kind = "feedback"
            intent.sentiment = "dislike" if negative else "like"
            return intent
        refining = bool(v.refining.search(text) or v.zh_refining.search(text))
        # after a list, a critique or a bare constraint ("no horror", "only 90s") narrows it; a fresh genre
        # wish with no refining word ("comedies from the 90s", "something different: a western") starts anew
        # "for kids" after "movies about dinosaurs" says who will watch them: it narrows the list, it asks for no new
        # films (its one genre, Children, said by the audience phrase itself)
        audience = genres_in == ["Children"] and any(m.key == "kids" for m, neg in sig.moods if not neg)
        fresh = set(critiques) <= {"other"} and (genres_in or collections) and not refs and not refining and not audience
        # "I hate Se7en" after a list of thrillers: thrillers unlike it, not a new request for anything unlike it
        if has_list and not fresh and (critiques or ((avoid or disliked) and not liked) or v.more_of_the_same.search(text) or
                                       (constraints and not liked and (not (genres_in or collections) or refining))):
            intent.kind = "refine"
            return intent
        if titles or constraints or request:
            return intent
        if v.greeting.search(text) or v.zh_greeting.search(text):
            return Intent("chitchat")
        if not film_words and v.question.search(text):
            return Intent("chitchat")  # "what is the capital of France?"
        if wish and self.known_words(wish):
            return intent  # "stories about friendship": a wish without a request word
        intent.unclear, intent.wish_text = True, ""  # the traditional recommender answers from the profile
        return intent

    def _any_genre(self, genres_in: list[str], norm: str, text: str) -> tuple[bool, list[str]]:
        """Whether several wanted genres are alternatives: said so ("comedy or drama"), three or more of them, or the
        kinds a statement of taste names ("I like comedy and action movies"); and, for the last two, the genres whose
        small soft weight puts films of more of them first."""
        if len(genres_in) < 2:
            return False, []
        v = self.vocab
        if v.genres_any.search(norm):
            return True, []
        if len(genres_in) >= 3 or v.genres_taste.search(text):
            return True, list(genres_in)
        return False, []

    def _asks_about(self, text: str, titles, refs) -> bool:
        if not (titles or refs):
            return False
        if self.vocab.ask.search(text) or self.vocab.zh_ask.search(text):
            return True
        # "is Jaws scary?", "is #5 any good?": a yes/no question whose subject is the item
        return bool(re.match(r"\s*(is|was|does|did|has)\s+", text, re.I)) and text.rstrip().endswith("?") and (
            (titles and titles[0][1] == 1) or bool(re.match(r"\s*\w+\s+(#\s*\d|number \d|the \w+ one|that one|this one|it)\b",
                                                             text, re.I)))

    def known_words(self, text: str) -> bool:
        """Does `text` share a word of four or more letters with the catalog's own titles and texts?"""
        if self._catalog_words is None:
            self._catalog_words = {w for it in self.catalog.items
                                   for w in normalize_title(it.label + " " + it.text()).split() if len(w) >= 4}
        return any(w in self._catalog_words for w in text.split() if len(w) >= 4)

    @staticmethod
    def _ref_id(ref: int, context: ParseContext) -> str | None:
        return context.last_items[ref - 1] if 0 < ref <= len(context.last_items) else None

    def _off_topic_in_title(self, text: str, titles) -> bool:
        """Is every off-topic word inside a film title the message names ("Lock, Stock & Two Smoking Barrels" says
        "stock", and is still about a film)?"""
        if not titles:
            return False
        words = _norm(text).split()
        inside = {j for _, start, end, _ in titles for j in range(start, end)}
        outside = " ".join(w for j, w in enumerate(words) if j not in inside)
        return not self.vocab.off_topic.search(outside)

    def _wish(self, text: str, titles, soft: list[str], sig: Signals | None = None) -> tuple[str, str, str]:
        """(wish, avoid, said): the free-text wish left after titles, genres, years, references, filler, moods,
        quality words and unsupported facets are taken out, plus the words the moods stand for; the words to move
        away from; and the person's own content words alone (for the zero-shot mood step)."""
        v = self.vocab
        sig = sig or Signals()
        norm = _norm(text)
        words = norm.split()
        keep = [True] * len(words)
        for _, start, end, _ in titles:
            for j in range(start, min(end, len(words))):
                keep[j] = False
        rest = " ".join(w for w, k in zip(words, keep) if k)
        rest = re.sub(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])", "", rest)  # Chinese back to words
        for start, end in sig.spans:  # moods, quality words and unsupported facets are said; they are not a wish
            used = re.sub(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])", "", _norm(text[start:end]))
            if used:  # plain string work: a pattern per message would crowd the compiled patterns out of re's cache
                rest = f" {rest} ".replace(f" {used} ", " ") if not _ZH.search(used) else rest.replace(used, " ")
        avoid = []
        for m in v.avoid.finditer(rest):
            phrase = " ".join(w for w in m.group(1).split() if w not in self.genre_words and w not in v.common)
            if phrase:
                avoid.append(phrase)
        rest = v.avoid_drop.sub(" ", rest)
        phrases = []  # "time travel": a wish as a whole, though "time" alone is not one
        for phrase in v.content_phrases:
            if f" {phrase} " in f" {rest} ":
                phrases.append(phrase)
                rest = f" {rest} ".replace(f" {phrase} ", " ")
        for word, genre in self.genre_words.items():
            # "comedies" -> Comedy, and a phrase ("family movie", "film noir"), is fully said by the filter; a single
            # word that says more than its genre stays ("heist" is a kind of crime film)
            if normalize_title(genre).startswith(word[:4]) or " " in word or "-" in word or word in v.plain_genre_words:
                rest = re.sub(rf"\b{re.escape(word)}\b", " ", rest)
        rest = _BETWEEN.sub(" ", rest)
        for rx, _, _ in v.eras:
            rest = rx.sub(" ", rest)
        rest = v.recent.sub(" ", rest)
        rest = v.years_and_time.sub(" ", rest)
        rest = v.ref.sub(" ", rest)
        rest = v.filler.sub(" ", rest)
        rest = v.not_a_wish.sub(" ", rest)
        rest = v.leftover.sub(" ", rest)
        # what is left of the English is a known content word of the catalog (matched against what films are:
        # overviews, tags, genres), or it goes; Chinese words go through the query translation's curated table
        rest = " ".join(w for w in rest.split() if w not in soft and (_ZH.search(w) or (
            len(w) >= 3 and w not in v.function_words and not w.isdigit() and self._content_word(w))))
        if _ZH.search(rest):
            rest, zh_avoid = self._zh_wish(rest)
            avoid += zh_avoid
        said = re.sub(r"\s+", " ", " ".join(phrases + [rest])).strip()
        if len(said) < 3 and not (_ZH.search(said) and len(said) >= 2):
            said = ""
        wish = " ".join(dict.fromkeys(sig.wish_words + sig.people_words + said.split()))
        avoid = [a for a in avoid if a not in v.function_words] + sig.avoid_words
        return wish, " ".join(dict.fromkeys(avoid + soft)), said

    def unknown_titles(self, text: str, titles, collections, sig: Signals) -> list[tuple[str, int, int]]:
        """Films the message names that the catalog does not have: [(the name as typed, start, end)] with token
        spans of `_norm(text)`. A capitalised name after a cue ("like", "loved", "similar to") that no title,
        director, series or person of the message accounts for, and is not only genre or common words; a Chinese
        title in its brackets that links to nothing. The reply says it was not found instead of silently
        answering something else."""
        v = self.vocab
        taken = [(s, e) for _, s, e, _ in titles] + [(s, e) for _, s, e in collections]
        people = set(sig.people_words) | {normalize_title(u.get("name") or u.get("phrase") or "")
                                          for u in sig.unsupported}
        out = []
        for m in list(_NAMED_AFTER_CUE.finditer(text)) + list(_ZH_BRACKETED.finditer(text)):
            name = m.group(1).strip(" \"”.!?,")
            words = _norm(name).split()
            while words and words[-1] in v.title_small_words:  # "like Heat and" is "Heat"
                words.pop()
            if not words:
                continue
            start = _token_at(text, m.start(1))
            end = start + len(words)
            if any(s < end and start < e for s, e in taken):
                continue  # a film, director or series the parser found there
            bracketed = m.re is _ZH_BRACKETED
            if bracketed and self.find_titles(f"《{name}》"):
                continue
            plain = " ".join(words)
            if not bracketed and (plain in people or plain in self.genre_words or all(
                    w in self.genre_words or w in v.function_words or w in v.common or w in ("i", "movies", "films")
                    for w in words)):
                continue  # "like Sci-Fi movies", "like I said", an actor's name (said as a cast facet)
            name = name if bracketed else " ".join(name.split()[:len(words)])
            out.append((name, start, end))
        return out

    @staticmethod
    def _in_title(text: str, a: int, b: int, titles) -> bool:
        """Whether the characters a..b of `text` lie inside one of `titles` (word spans of `_norm(text)`)."""
        if _ZH.search(text[a:b]):
            return False  # Chinese titles are linked inside 《》 or whole; a mood there is said outside them
        start = _token_at(text, a)
        end = start + len(_norm(text[a:b]).split())
        return any(s <= start and end <= e for _, s, e, _ in titles)

    def _topic(self, said: str) -> str:
        """What the films must be about (`Intent.topic`): the person's own content words without the words of a genre
        ("scary", "kids", "funny"), which the genre filter already says; a request for scary films is a broad one,
        answered from the best-known of them, not from the films whose texts say "scary" most."""
        words = [w for w in said.split() if w not in self.genre_words and w not in self.zh_genre_words]
        return " ".join(words) if len(" ".join(words)) >= 3 else ""

    def _content_word(self, w: str) -> bool:
        return w in self._content_words or (w.endswith("s") and w[:-1] in self._content_words)

    def _zh_wish(self, rest: str) -> tuple[str, list[str]]:
        """The Chinese part of a wish without what the filters already say (genres, years, negations, requests)."""
        v = self.vocab
        avoid = [m.group(1) for m in v.zh_avoid.finditer(rest)]
        rest = v.zh_avoid_drop.sub(" ", rest)
        rest = v.zh_neg_film.sub(" ", rest)
        english: list[str] = []
        for word in self.zh_genre_words:
            if word in rest and word in v.zh_genre_sense and self.translate_wish:
                english.append(v.zh_genre_sense[word])
            rest = rest.replace(word, " ")
        rest = _ZH_DECADE.sub(" ", rest)
        rest = v.zh_year_or_ordinal.sub(" ", rest)
        if self.translate_wish:
            rest = self._take_wish_words(rest, self._fragile_wish_words, english)
        rest = v.zh_stop.sub(" ", rest)
        # query translation: the Chinese words a film wish is made of, in the English the catalog is written in
        if self.translate_wish:
            rest = self._take_wish_words(rest, self._wish_words, english)
        avoid = [self.translate(a) for a in avoid] if self.translate_wish else avoid
        if english:  # untranslated scraps next to translated words are noise to an English embedder
            rest = re.sub(r"[\u3400-\u9fff]", " ", rest)
        rest = " ".join(english + rest.split())
        return re.sub(r"\s+", " ", rest).strip(), avoid

    def translate(self, zh: str) -> str:
        """Chinese wish words in English where the table knows them (the rest is kept as it is)."""
        out: list[str] = []
        zh = self._take_wish_words(zh, self._wish_words, out)
        return " ".join(out + zh.split())

    @staticmethod
    def _take_wish_words(zh: str, table, english: list[str]) -> str:
        """`zh` without the words of `table` ((Chinese, English) pairs, longest first) it holds; their English is
        appended to `english`."""
        for word, en in table:
            if word in zh:
                english.append(en)
                zh = zh.replace(word, " ")
        return zh


