"""The rule parser's vocabulary: word lists and tables kept as data under `vocab/`, read once, and the regular
expressions built from them.

The files (each says in its header what it holds):
- genres.toml: genre words in English and Chinese -> catalog genre; Chinese genre words that say more; English
  genre words that say nothing more (no text wish)
- critiques.toml: older / newer / lighter / darker / more like / less like / other, in English and Chinese
- sentiment.toml: liked, disliked, seen; praise and pans of named films; words that make a named title disliked
- dialogue.toml: greetings, goodbyes, requests, questions, asking about a film or its people, off-topic words
- negation.toml: negators and softeners ("no horror", "less gory", 不要, 别太)
- wish.toml: wish stop-words (what is not part of the free-text wish), English and Chinese
- titles.toml: title-linking words (cues, everyday words, topic heads)
- numbers.toml: number and ordinal words, Chinese numerals, decades, year words
- zh_wish_words.toml: Chinese wish words -> English (query translation)
- zh_titles.csv: Chinese titles of well-known films (also read by scripts/build_aliases_zh.py)
- moods.toml: moods, feelings and occasions -> soft genre weights, wish words and avoid words (English, Chinese)
- quality.toml: quality and popularity words -> ranking priors (never matched as text)
- unsupported.toml: facets the catalog lacks (running time, cast) and how a request names them
- topics.toml: broad topics ("sports", "music") -> the kinds of film they cover, each searched on its own

How a list entry is matched (the patterns themselves are code, below):
- English: a word or phrase matched whole (word boundaries at both ends), written in lower case; a trailing `*`
  stands for any word ending ("recommend*": recommends, recommended). Spaces are single spaces; list both
  spellings where people type two ("didn't like", "didnt like").
- Chinese: a substring (Chinese has no spaces). `zh_not_after` / `zh_not_before` (or `not_after` / `not_before`)
  tables cancel a word right after / before the strings they list (不 before 喜欢).
- Order is kept: where a pattern replaces text, the earlier of two entries that match at one place wins, so a
  longer phrase goes before a shorter one it starts with.

`load()` reads the shipped files once (cached); `load(folder)` reads another folder with the same files, e.g. a
test's modified copy, and `RuleParser(catalog, vocab=load(folder))` uses it. A new synonym, stop-word or
sentiment word is an edit of a data file; a new language is a new set of entries (and a code change only
where its grammar needs a new pattern).
"""
from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

VOCAB_DIR = Path(__file__).with_name("vocab")
NEVER = re.compile(r"(?!)")  # what an empty word list matches


@dataclass(frozen=True)
class Mood:
    """One table of moods.toml: how a request names a mood, and what it means for ranking and the wish."""
    key: str
    label: str
    label_zh: str
    en: re.Pattern  # English words and phrases, matched on the lower-cased message (any punctuation between words)
    zh: re.Pattern  # Chinese substrings
    genres: dict  # genre -> soft weight
    words: str  # English content words for the wish
    avoid: str  # English words to move away from


@dataclass(frozen=True)
class QualityWord:
    """One table of quality.toml: ranking priors a word sets."""
    key: str
    label: str
    label_zh: str
    en: re.Pattern
    zh: re.Pattern
    quality: float
    popularity: float
    obscure: bool


@dataclass(frozen=True)
class ZhTitle:
    """One row of zh_titles.csv."""
    title: str
    year: int | None
    zh_fallback: list[str]  # linked by the title alone where the alias table does not cover the film
    zh_more: list[str]  # linked only through the alias table
    en: list[str]


def read_toml(folder: Path, name: str) -> dict:
    with open(Path(folder) / name, "rb") as f:
        return tomllib.load(f)


def read_zh_titles(folder: Path | str = VOCAB_DIR) -> list[ZhTitle]:
    """The rows of zh_titles.csv (lines starting with '#' are comments)."""
    with open(Path(folder) / "zh_titles.csv", newline="", encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))

        def names(value):
            return [n for n in (value or "").split("|") if n]

        return [ZhTitle(r["title"], int(r["year"]) if (r["year"] or "").strip() else None, names(r["zh_fallback"]),
                        names(r["zh_more"]), names(r["en"])) for r in rows]


# ------------------------------------------------------------------ building patterns from word lists

def alt(words) -> str:
    """'a|b|c' for English words: each escaped; a trailing '*' becomes any word ending."""
    return "|".join(re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w) for w in words)


def zh_alt(words, not_after: dict | None = None, not_before: dict | None = None) -> str:
    """'a|b|c' for Chinese substrings, with the lookarounds that cancel a word next to the strings listed."""
    parts = []
    for w in words:
        part = "".join(f"(?<!{re.escape(a)})" for a in (not_after or {}).get(w, ())) + re.escape(w)
        after = (not_before or {}).get(w)
        if after:
            part += "(?!" + "|".join(re.escape(a) for a in after) + ")"
        parts.append(part)
    return "|".join(parts)


def whole(words) -> str:
    """English words matched whole: '\\b(?:a|b)\\b', or '' for no words."""
    return rf"\b(?:{alt(words)})\b" if words else ""


def section_zh(section: dict, key: str = "zh") -> str:
    """The Chinese substrings of a table: `zh` with `zh_not_after` / `zh_not_before`, or another list (`key`) of a
    Chinese-only table with `not_after` / `not_before`."""
    prefix = "zh_" if key == "zh" else ""
    return zh_alt(section.get(key, ()), section.get(prefix + "not_after"), section.get(prefix + "not_before"))


def phrase_alt(words) -> str:
    """'a|b' for English phrases matched on raw lower-cased text: the words of each phrase (as `normalize` splits
    them) with any run of spaces or punctuation between them ("feel-good" also matches "feel good"), longest
    first; a trailing '*' is any word ending."""
    out = []
    for w in sorted(words, key=len, reverse=True):
        star = w.endswith("*")
        parts = re.sub(r"[^\w]+", " ", w.rstrip("*").lower()).split()
        if parts:
            out.append(r"[\W_]+".join(re.escape(p) for p in parts) + (r"\w*" if star else ""))
    return "|".join(out)


def phrases_rx(words) -> re.Pattern:
    """English phrases matched whole on raw text (see `phrase_alt`), or a pattern that never matches."""
    body = phrase_alt(words)
    return re.compile(rf"(?<![\w])(?:{body})(?![\w])", re.I) if body else NEVER


def compile_any(*parts: str, flags: int = 0) -> re.Pattern:
    """One pattern matching any of the non-empty parts (never matching when all are empty)."""
    parts = [p for p in parts if p]
    return re.compile("|".join(parts), flags) if parts else NEVER


def words_rx(section: dict, flags: int = re.I) -> re.Pattern:
    """A table's English words (whole) or Chinese substrings: the common shape of a word list."""
    return compile_any(whole(section.get("en", ())), section_zh(section), flags=flags)


# ------------------------------------------------------------------ the vocabulary

class Vocab:
    """Every table and pattern the rule parser reads, built from the data files of one folder."""

    def __init__(self, folder: Path | str = VOCAB_DIR):
        self.folder = Path(folder)
        genres = read_toml(self.folder, "genres.toml")
        critiques = read_toml(self.folder, "critiques.toml")
        sentiment = read_toml(self.folder, "sentiment.toml")
        dialogue = read_toml(self.folder, "dialogue.toml")
        negation = read_toml(self.folder, "negation.toml")
        wish = read_toml(self.folder, "wish.toml")
        titles = read_toml(self.folder, "titles.toml")
        numbers = read_toml(self.folder, "numbers.toml")
        wish_words = read_toml(self.folder, "zh_wish_words.toml")

        # genres
        self.genre_words: dict[str, str] = dict(genres.get("en", {}))
        self.multi_genre_words: dict[str, tuple[str, ...]] = {w: tuple(g) for w, g in genres.get("en_two", {}).items()}
        self.zh_genre_words: dict[str, str] = dict(genres.get("zh", {}))
        self.zh_genre_sense: dict[str, str] = dict(genres.get("zh_sense", {}))
        self.plain_genre_words: frozenset[str] = frozenset(genres.get("plain", {}).get("en", []))
        self.genres_any = words_rx(genres.get("any", {}), flags=0)
        self.genres_taste = words_rx(genres.get("taste", {}))

        # Chinese titles (the fallback names) and query translation
        self.zh_titles: dict[str, str] = {}
        for row in read_zh_titles(self.folder):
            for name in row.zh_fallback:
                self.zh_titles.setdefault(name, row.title)
        self.zh_wish_words: dict[str, str] = {w: en for table in wish_words.values() for w, en in table.items()}

        # kinds of message
        greeting, goodbye = dialogue.get("greeting", {}), dialogue.get("goodbye", {})
        self.greeting = compile_any(rf"^\s*(?:{alt(greeting['en_start'])})\b" if greeting.get("en_start") else "",
                                    flags=re.I)
        self.zh_greeting = compile_any(rf"^\s*(?:{zh_alt(greeting['zh_start'])})" if greeting.get("zh_start") else "",
                                       section_zh(greeting))
        lead = rf"(?:(?:{alt(goodbye['en_lead'])})[,.! ]+)?" if goodbye.get("en_lead") else ""
        self.goodbye = compile_any(rf"^\s*{lead}(?:{alt(goodbye['en_start'])})\b" if goodbye.get("en_start") else "",
                                   flags=re.I)
        self.goodbye_end = compile_any(rf"\b(?:{alt(goodbye['en_end'])})\W*$" if goodbye.get("en_end") else "",
                                       flags=re.I)
        self.zh_goodbye = compile_any(section_zh(goodbye))
        request = dialogue.get("request", {})
        self.request = compile_any(whole(request.get("en", ())), flags=re.I)
        self.zh_request = compile_any(section_zh(request))
        self.strict_request = words_rx(dialogue.get("strict_request", {}))
        self.film_words = words_rx(dialogue.get("film", {}))
        more = dialogue.get("more", {})
        self.more_words = compile_any(whole(more.get("en", ())), flags=re.I)
        self.zh_more_words = compile_any(section_zh(more))
        self.more_of_the_same = words_rx(dialogue.get("more_of_the_same", {}))
        refining = dialogue.get("refining", {})
        self.refining = compile_any(whole(refining.get("en", ())), flags=re.I)
        self.zh_refining = compile_any(section_zh(refining))
        question = dialogue.get("question", {})
        self.question = compile_any(
            rf"^\s*(?:{alt(question['en_start'])})\b" if question.get("en_start") else "", r"\?\s*$",
            rf"(?:{zh_alt(question['zh_end'])})\s*[？?]?\s*$" if question.get("zh_end") else "", section_zh(question),
            flags=re.I)
        ask = dialogue.get("ask", {})
        is_it = rf"is (?:{alt(ask['is_subjects'])}) (?:any )?(?:{alt(ask['is_words'])})" \
            if ask.get("is_subjects") and ask.get("is_words") else ""
        self.ask = re.compile(r"\b(?:" + "|".join(p for p in (alt(ask.get("en", ())), r"what(?:'s| is) .+ about", is_it) if p)
                              + r")\b", re.I)
        self.zh_ask = compile_any(section_zh(ask))
        self.people = words_rx(dialogue.get("people", {}))
        off = dialogue.get("off_topic", {})
        polite = rf"(?:(?:{alt(off['en_polite'])})\s+)?" if off.get("en_polite") else ""
        self.off_topic = compile_any(
            rf"^\s*{polite}(?:{alt(off['en_start'])})\b" if off.get("en_start") else "", whole(off.get("en", ())),
            r"<\s*/?\s*\w+[^>]*>|\bdrop table\b|\bselect\b.+\bfrom\b|[{};=]\s*$|^\W+$", section_zh(off), flags=re.I)

        # sentiment
        positive, negative, seen = sentiment.get("positive", {}), sentiment.get("negative", {}), sentiment.get("seen", {})
        self.positive = compile_any(whole(positive.get("en", ())), flags=re.I)
        self.zh_positive = compile_any(section_zh(positive))
        self.negative = compile_any(whole(negative.get("en", ())), flags=re.I)
        self.zh_negative = compile_any(section_zh(negative))
        already = rf"\b(?:{alt(seen['en_before_already'])})\b.*\balready\b" if seen.get("en_before_already") else ""
        self.seen = compile_any(whole(seen.get("en", ())), already, flags=re.I)
        self.zh_seen = compile_any(section_zh(seen))
        self.praise = words_rx(sentiment.get("praise", {}))
        self.pan = words_rx(sentiment.get("pan", {}))
        title_dislike = sentiment.get("title_dislike", {})
        self.title_dislike = compile_any(whole(title_dislike.get("en", ())))
        self.zh_title_dislike = compile_any(section_zh(title_dislike))
        self.title_contrast = frozenset(title_dislike.get("en_contrast", ()))
        self.zh_title_contrast = compile_any(alt(title_dislike.get("zh_contrast", ())))
        self.title_joiners = frozenset(title_dislike.get("en_joiners", ()))
        self.zh_title_joiners = frozenset(title_dislike.get("zh_joiners", ()))

        # critiques: [(name, pattern)] in the file's order
        self.critiques: list[tuple[str, re.Pattern]] = []
        self.zh_critiques: list[tuple[str, re.Pattern]] = []
        for name, c in critiques.items():
            if c.get("en"):
                then = rf" (?:{alt(c['en_then'])})" if c.get("en_then") else r"\b"
                self.critiques.append((name, re.compile(rf"\b(?:{alt(c['en'])}){then}", re.I)))
            if c.get("zh"):
                self.zh_critiques.append((name, re.compile(section_zh(c))))

        # negation
        en_neg, zh_neg = negation.get("en", {}), negation.get("zh", {})
        self.negated_before = compile_any(rf"\b(?:{alt(en_neg['words'])})\b(\s+\w+)?\s+$" if en_neg.get("words") else "")
        self.softened_before = compile_any(rf"\b(?:{alt(en_neg['soft'])})\s+$" if en_neg.get("soft") else "")
        avoid = alt(en_neg.get("avoid", ())) or "(?!)"
        tail = rf"(?:\s+(?:{alt(en_neg['avoid_tail'])}))?" if en_neg.get("avoid_tail") else ""
        self.avoid = re.compile(rf"\b(?:{avoid})\s+(\w+(?:\s+\w+)?)")
        self.avoid_drop = re.compile(rf"\b(?:{avoid})\s+\w+{tail}")
        zh_neg_alt = section_zh(zh_neg, "words") or "(?!)"
        self.zh_neg_before = re.compile(rf"(?:{zh_neg_alt})[^，。,.!！?？;；、\s的]{{0,4}}\s*$")  # 的 ends the scope: 不要太血腥的动作片 wants action
        self.zh_neg_film = re.compile(rf"(?:{zh_neg_alt})[\u3400-\u9fff]{{0,3}}?(?:片|电影|的)")
        zh_soft = zh_alt(zh_neg.get("soft", ())) or "(?!)"
        self.zh_soft_before = re.compile(rf"(?:{zh_soft})\s*$")
        self.zh_avoid = re.compile(rf"(?:{zh_soft})([\u3400-\u9fff]{{2,4}}?)(?=[的了吧呢啊]|$|\s|[^\u3400-\u9fff])")
        self.zh_avoid_drop = re.compile(rf"(?:{zh_soft})[\u3400-\u9fff]{{2,4}}?(?=[的了吧呢啊]|$|\s|[^\u3400-\u9fff])")

        # the free-text wish
        self.filler = compile_any(whole(wish.get("filler", ())), flags=re.I)
        self.not_a_wish = re.compile(r"\b(?:" + "|".join(p for p in (alt(wish.get("not_a_wish", ())), r"\d+") if p)
                                     + r")\b", re.I)
        self.leftover = compile_any(whole(wish.get("leftover", ())))
        time_words = whole(wish.get("time_words", ()))
        self.years_and_time = compile_any(r"\b(19|20)?\d0 ?s\b|\b(19|20)\d\d\b", time_words)
        self.zh_stop = compile_any(section_zh(wish.get("zh", {}), "stop"))

        # titles
        self.title_cues = frozenset(titles.get("cues", ()))
        self.common = frozenset(titles.get("common", ()))
        self.topic_heads = frozenset(titles.get("topic_heads", ()))
        self.title_small_words = frozenset(titles.get("title_small_words", ()))
        self.contents_cues = frozenset(titles.get("contents_cues", ()))
        fuzzy = titles.get("fuzzy", {})
        stops = alt(fuzzy.get("stops", ())) or "(?!)"
        self.fuzzy_after_cue = compile_any(
            rf"\b(?:{alt(fuzzy['cues'])})\s+(.+?)(?=\s+(?:{stops})\b|$)" if fuzzy.get("cues") else "")

        # numbers, references into the list, years
        self.word_numbers: dict[str, int] = dict(numbers.get("en", {}))
        self.small_numbers: dict[str, int] = dict(numbers.get("en_small", {}))
        self.ordinals: dict[str, int] = dict(numbers.get("ordinals", {}))
        self.zh_numbers: dict[str, int] = dict(numbers.get("zh", {}))
        self.decade_words: dict[str, int] = dict(numbers.get("decades", {}))
        refs = numbers.get("refs", {})
        never = "(?!)"
        self.ref = re.compile(
            rf"(?:#\s*(\d{{1,2}})\b|\b(?:{alt(refs.get('pointers', ())) or never})\s*(\d{{1,2}}|"
            rf"{alt(self.word_numbers) or never})\b|\bthe (last) one\b|\b({alt(self.ordinals) or never})\b"
            rf"(?:\s+(?:{alt(refs.get('nouns', ())) or never}))?)", re.I)
        self.first_n = re.compile(rf"\b(?:the\s+)?(first|last|top)\s+({alt(self.small_numbers) or never})\b", re.I)
        zh_digits = "".join(re.escape(c) for c in self.zh_numbers)
        self.zh_ordinal = re.compile(rf"第\s*([{zh_digits}]|\d{{1,2}})\s*(?:部|个|项|条|名|本|号)?" if zh_digits else
                                     r"第\s*(\d{1,2})\s*(?:部|个|项|条|名|本|号)?")
        years = numbers.get("years", {})
        self.after = re.compile(rf"\b(?:{alt(years.get('after', ())) or never})\s+((?:19|20)\d\d)\b|"
                                r"\bfrom\s+((?:19|20)\d\d)\s+(?:on|onwards?|and later)\b", re.I)
        self.before = re.compile(rf"\b(?:{alt(years.get('before', ())) or never})(?:\s+|-)((?:19|20)\d\d)\b", re.I)
        self.zh_after = tuple(years.get("zh_after", ()))
        self.zh_before = tuple(years.get("zh_before", ()))
        relations = zh_alt(self.zh_after + self.zh_before) or never
        self.zh_year = re.compile(rf"((?:19|20)\d\d)\s*年\s*({relations})?")
        # a year or an ordinal in a Chinese wish, taken out in one pass: 2000年以后, 第二部
        self.zh_year_or_ordinal = re.compile(rf"(?:19|20)?\d*\s*年\s*({relations})?|第\s*[{zh_digits}\d]+\s*[部个]?")
        self._load_understanding(numbers, wish)

    def topic_kinds(self, topic: str) -> list[str]:
        """The kinds of film a broad topic covers (topics.toml), each once, when `topic` is made of broad topic words
        only: "sports" is searched as boxing, baseball, ...; "a chef's food truck" is a precise wish, which its own
        words describe better than the kinds of food film would."""
        if not topic.strip() or self._topic_word.sub(" ", topic).strip():
            return []
        kinds = [k for m in self._topic_word.finditer(topic) for k in self._topic_kinds[m.group(0).lower()]]
        return list(dict.fromkeys(kinds))

    def _load_understanding(self, numbers: dict, wish: dict) -> None:
        """Broad topics, moods, quality words, unsupported facets, named periods and the wish's function words (each
        file is optional, so a folder made for an older version still loads)."""
        def optional(name):
            return read_toml(self.folder, name) if (self.folder / name).exists() else {}

        # broad topics: a topic word -> the kinds of film it covers (`topic_kinds`)
        self._topic_kinds: dict[str, tuple[str, ...]] = {
            w.lower(): tuple(t.get("kinds", ())) for t in optional("topics.toml").values() for w in t.get("en", ())}
        self._topic_word = compile_any(whole(sorted(self._topic_kinds, key=len, reverse=True)), flags=re.I)

        self.moods: list[Mood] = []
        for key, m in optional("moods.toml").items():
            self.moods.append(Mood(key, m.get("label", key), m.get("label_zh", m.get("label", key)),
                                   phrases_rx(m.get("en", ())), compile_any(section_zh(m)),
                                   {g: float(w) for g, w in m.get("genres", {}).items()}, m.get("words", ""),
                                   m.get("avoid", "")))
        self.quality_words: list[QualityWord] = []
        for key, q in optional("quality.toml").items():
            self.quality_words.append(QualityWord(key, q.get("label", ""), q.get("label_zh", ""),
                                                  phrases_rx(q.get("en", ())), compile_any(section_zh(q)),
                                                  float(q.get("quality", 0.0)), float(q.get("popularity", 0.0)),
                                                  bool(q.get("obscure", False))))
        unsupported = optional("unsupported.toml")
        run = unsupported.get("runtime", {})
        number = r"(?:\d{1,3}(?:[.,]\d)?|" + (phrase_alt(run.get("numbers", ())) or "(?!)") + r")"
        unit = phrase_alt(run.get("units", ())) or "(?!)"
        comparison = phrase_alt(run.get("comparisons", ())) or "(?!)"
        length = rf"(?:(?:{comparison})[\W_]+)?{number}[\W_]*(?:{unit})(?:[\W_]+(?:and[\W_]+a[\W_]+half|long))?"
        self.runtime = compile_any(rf"(?<![\w])(?:{length}|{phrase_alt(run.get('phrases', ())) or '(?!)'})(?![\w])",
                                   flags=re.I)
        zh_digits = "".join(re.escape(c) for c in self.zh_numbers) or "一"
        zh_unit = zh_alt(run.get("zh_units", ())) or "(?!)"
        self.zh_runtime = compile_any(
            rf"(?:\d{{1,3}}|[{zh_digits}]+)\s*(?:个)?\s*半?\s*(?:{zh_unit})\s*半?(?:以内|之内|以下|以上|左右|内)?",
            zh_alt(run.get("zh_phrases", ())))
        cast = unsupported.get("cast", {})
        self.cast_before = phrase_alt(cast.get("cues_before", ())) or "(?!)"
        self.cast_after = phrase_alt(cast.get("cues_after", ())) or "(?!)"
        self.cast_words = phrases_rx(cast.get("words", ()))
        self.zh_cast_after = zh_alt(cast.get("zh_after_name", ())) or "(?!)"
        self.zh_cast_words = compile_any(zh_alt(cast.get("zh_words", ())))
        origin = unsupported.get("origin", {})
        self.origin = phrases_rx(origin.get("en", ()))
        self.zh_origin = compile_any(zh_alt(origin.get("zh", ())))
        colour = unsupported.get("colour", {})
        self.colour = phrases_rx(colour.get("en", ()))
        self.zh_colour = compile_any(zh_alt(colour.get("zh", ())))
        # named periods and "recent"
        self.eras: list[tuple[re.Pattern, int | None, int | None]] = []
        for word, span in numbers.get("eras", {}).items():
            rx = compile_any(zh_alt([word])) if re.search(r"[\u3400-\u9fff]", word) else phrases_rx([word])
            self.eras.append((rx, span.get("min"), span.get("max")))
        recent = numbers.get("recent", {})
        self.recent_years = int(recent.get("years", 8))
        self.recent = compile_any(phrase_alt(recent.get("en", ())) and
                                  rf"(?<![\w])(?:{phrase_alt(recent.get('en', ()))})(?![\w])",
                                  zh_alt(recent.get("zh", ())), flags=re.I)
        parts = numbers.get("decade_parts", {})
        self.decade_parts = {k: tuple(parts[k]) for k in ("early", "mid", "late") if k in parts}
        self.zh_decade_parts = [(w, k) for k in ("early", "mid", "late") for w in parts.get(f"zh_{k}", ())]
        # words that are never part of a wish: function words, verbs of asking and watching, units, times of day
        self.function_words = frozenset(w.lower() for w in (*wish.get("function_words", ()),
                                                            *wish.get("conversation_words", ())))
        # phrases that are a wish as a whole ("time travel"), longest first
        self.content_phrases = tuple(sorted({p.lower() for p in wish.get("content_phrases", ())}, key=len, reverse=True))


def load(folder: Path | str | None = None) -> Vocab:
    """The vocabulary in `folder` (default: the shipped files), read and compiled once per folder."""
    return _load(Path(folder or VOCAB_DIR).resolve())


@functools.cache
def _load(folder: Path) -> Vocab:
    return Vocab(folder)
