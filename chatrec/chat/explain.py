"""Explanations: why each recommended item fits, built only from that item's own catalog fields and the
user's stated wishes, so nothing is invented.

`template_reason` is the deterministic explainer. `LLMExplainer` asks the LLM for one sentence given only
those fields and keeps it only if `grounded` accepts it (no title other than the item's own, no quotes of
unknown names) and it cites at least one fact of the item (`cited_facts`: a genre, a tag, its year, a word of its
overview); otherwise the template stands. `LLMExplainer.explain` says which, and why, as fields of an
`Explanation`. `titles_in_text` is the post-check for whole replies.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from chatrec.catalog import Catalog, Item, normalize_title


def _reason_facts(item: Item, wish_text: str, genres_wanted: list[str] | None, seeds: list[Item] | None,
                  fans_of: Item | None = None, moods: list[str] | None = None) -> dict:
    """What a reason may say, all from the item's own fields and the request: that people who loved the film the
    person named loved it too (`fans_of`: it came from that film's collaborative neighbourhood in the ratings), the
    genres asked for that it has, the genres it shares with a film the person named, wish words its overview/tags/
    genres contain, its tags, its rating."""
    facts: dict = {"wanted": [g for g in item.genres if g in (genres_wanted or [])], "seed": None, "shared": [],
                   "fans": fans_of}
    for seed in seeds or []:
        shared = [g for g in item.genres if g in seed.genres]
        if shared:
            facts["seed"], facts["shared"] = seed, shared[:3]
            break
    # wish words the item's own texts contain, said as what they are: a tag viewers gave it, or a word of its
    # description (genres are said by "wanted" and the mood fit)
    tags = normalize_title(" ".join(item.tags))
    overview = normalize_title(item.overview)
    words = _wish_words(wish_text)
    tagged = [w for w in words if re.search(rf"\b{re.escape(w)}\b", tags)]
    facts["tag_hits"] = [tag for tag in item.tags if set(normalize_title(tag).split()) & set(tagged)][:3]
    facts["hits"] = [w for w in words if w not in tagged and re.search(rf"\b{re.escape(w)}", overview)][:3]
    facts["moods"] = _mood_fit(item, moods or [])
    # a wish none of its own words match ("coming of age": The Breakfast Club was only "rated 3.8/5"): the opening
    # of its own description, for the person to judge the fit, instead of tags that say nothing of the wish
    facts["story"] = _opening(item.overview) if wish_text and not (facts["hits"] or facts["tag_hits"]) else ""
    facts["tags"] = list(item.tags[:3]) if item.tags and not (facts["hits"] or facts["tag_hits"] or facts["story"]) \
        else []
    facts["rated"] = bool(item.rating_mean and item.rating_count >= 5)
    return facts


# a full stop after these is no sentence's end ("Insane General Jack D. Ripper", "Mr. Smith", "the U.S. Army")
_ABBREVIATION = re.compile(r"(?:\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Lt|Col|Gen|Capt|Sgt|Prof|Rev|vs|No))\.$")


def _opening(overview: str, limit: int = 110) -> str:
    """The first sentence of an overview, cut at a word before `limit` characters (with "…")."""
    text = (overview or "").strip()
    for m in re.finditer(r"[.!?](?=\s)", text):
        if not _ABBREVIATION.search(text[:m.end()]):
            text = text[:m.start()]
            break
    text = text.rstrip(".!? ")
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0].rstrip(",;:-") + "…"
    return text


def _mood_fit(item: Item, moods: list[str]) -> list[tuple[str, str, list[str]]]:
    """The request's moods (`Request.moods`, their labels) that the item's genres suit: [(label, Chinese label, the
    item's genres that the mood favours)], the first only."""
    from chatrec.understand.vocab import load

    out = []
    for mood in load().moods:
        genres = [g for g in item.genres if mood.genres.get(g, 0.0) > 0]
        if mood.label in moods and genres:
            out.append((mood.label, mood.label_zh, genres[:2]))
    return out[:1]


def template_reason(item: Item, wish_text: str = "", genres_wanted: list[str] | None = None,
                    seeds: list[Item] | None = None, lang: str = "en", fans_of: Item | None = None,
                    moods: list[str] | None = None) -> str:
    facts = _reason_facts(item, wish_text, genres_wanted, seeds, fans_of, moods)
    if lang == "zh":
        return _render_zh(item, facts)
    bits: list[str] = []
    if facts["wanted"]:
        bits.append(f"it is {_join(facts['wanted'])} as you asked")
    if facts["fans"] is not None:
        bits.append(f"people who loved {facts['fans'].title} loved it too")
    if facts["seed"] is not None:
        bits.append(f"it shares {_join(facts['shared'])} with {facts['seed'].title}")
    for label, _, genres in facts["moods"]:
        # "a feel-good mood", but "a film for kids" (not "a for kids mood")
        what = f"a film {label}" if label.startswith("for ") else f"{_article(label)} {label} mood"
        bits.append(f"its {_join([g.lower() for g in genres])} side{'s' if len(genres) > 1 else ''} "
                    f"suit{'' if len(genres) > 1 else 's'} {what}")
    if facts["tag_hits"]:
        bits.append(f"viewers tag it {_join(facts['tag_hits'])}")
    if facts["hits"]:
        bits.append(f"its description mentions {_join(facts['hits'])}")
    if facts["story"]:
        bits.append(f"its story: “{facts['story']}”")
    if facts["tags"]:
        bits.append(f"viewers tag it {_join(facts['tags'])}")
    if facts["rated"]:
        bits.append(f"rated {item.rating_mean:.1f}/5 by {item.rating_count} people")
    if not bits:
        when = f" from {item.year}" if item.year else ""
        if item.genres:
            bits.append(f"{_article(item.genres[0])} {_join(list(item.genres[:3]))} film{when} close to what you described")
        else:
            bits.append(f"a film{when} close to what you described")
    reason = "; ".join(bits)
    return reason[0].upper() + reason[1:] + "."


def _render_zh(item: Item, facts: dict) -> str:
    """The same facts in Simplified Chinese (genres named in Chinese; tags and the words found in the English
    overview stay as the catalog writes them)."""
    from chatrec.lang import genre_label

    def genres(gs):
        return "、".join(genre_label(g, "zh") for g in gs)

    bits: list[str] = []
    if facts["wanted"]:
        bits.append(f"是你想要的{genres(facts['wanted'])}片")
    if facts["fans"] is not None:
        bits.append(f"喜欢《{facts['fans'].title}》的人也喜欢它")
    if facts["seed"] is not None:
        bits.append(f"和《{facts['seed'].title}》一样是{genres(facts['shared'])}片")
    for _, label_zh, gs in facts["moods"]:
        bits.append(f"{genres(gs)}片，适合“{label_zh}”的心情")
    if facts["tag_hits"]:
        bits.append("观众给它的标签有" + "、".join(f"“{w}”" for w in facts["tag_hits"]))
    if facts["hits"]:
        bits.append("简介里提到" + "、".join(f"“{w}”" for w in facts["hits"]))
    if facts["story"]:
        bits.append(f"简介：“{facts['story']}”")
    if facts["tags"]:
        bits.append("观众给它的标签有" + "、".join(f"“{tag}”" for tag in facts["tags"]))
    if facts["rated"]:
        bits.append(f"{item.rating_count} 人评分，平均 {item.rating_mean:.1f}/5")
    if not bits:
        kind = genres(item.genres[:3]) if item.genres else ""
        bits.append(f"{f'{item.year} 年的' if item.year else ''}{kind}{'片' if kind else '电影'}，和你描述的接近")
    return "；".join(bits) + "。"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeio" else "a"


def _join(words: list[str]) -> str:
    words = [w for w in words if w]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


_STOP = set("the a an and or but with without less more some any like movie movies film films about that this "
            "from for of in on to me my want something".split())


def _wish_words(wish: str) -> list[str]:
    from chatrec.understand.vocab import load

    function_words = load().function_words
    return list(dict.fromkeys(w for w in normalize_title(wish).split()
                              if len(w) > 3 and w not in _STOP and w not in function_words))


def titles_in_text(text: str, catalog: Catalog, min_words: int = 2) -> set[str]:
    """Catalog items whose title (of at least `min_words` words) appears in `text`."""
    # every word n-gram of the text looked up in the title table: O(words × longest title), not O(catalog)
    words = normalize_title(text).split()
    keys, longest = catalog.titles.keys, catalog.titles.max_words
    found = set()
    for start in range(len(words)):
        for n in range(min_words, min(longest, len(words) - start) + 1):
            positions = keys.get(" ".join(words[start:start + n]))
            if positions:
                found.add(catalog.items[positions[0]].item_id)
    return found


# Words that state facts a model tends to invent ("won three Oscars", "directed by ..."): a sentence may use
# them only when the item's own fields do.
_FACT_WORDS = {"oscar", "oscars", "award", "awards", "directed", "director", "starring", "stars", "actor", "actress",
               "disney", "pixar", "marvel", "sequel", "prequel", "remake", "franchise", "budget", "box"}
# the same in Chinese: a Chinese explanation that says any of these is not shown (the item's fields are English,
# so they can never support one)
_ZH_FACT_WORDS = re.compile(r"奥斯卡|金球|获奖|得奖|大奖|提名|导演|执导|主演|演员|饰演|出演|迪士尼|皮克斯|漫威|续集|前传|翻拍|"
                            r"票房|预算|改编自|原著|根据.{0,6}改编|真实事件|真人真事")


def unsupported_facts(sentence: str, item: Item, wish_text: str = "") -> list[str]:
    """Names, numbers and fact words in `sentence` that neither the item's fields nor the wish contain.

    A proper noun is a capitalised word that does not start the sentence; a small model that writes "a Disney
    classic" for Totoro or "from 1994" for a 1988 film fails here, and the template reason is shown instead."""
    source = normalize_title(" ".join([item.title, str(item.year or ""), item.overview, " ".join(item.tags),
                                       " ".join(item.genres), " ".join(item.aliases), wish_text]))
    known = set(source.split())
    bad = []
    words = re.findall(r"[A-Za-z][\w'-]*|\d{2,4}s?", sentence)
    starts = {m.end() for m in re.finditer(r"(^|[.!?:;]\s+|[\"(]\s*)", sentence)}
    pos = 0
    for w in words:
        at = sentence.index(w, pos)
        pos = at + len(w)
        norm = normalize_title(w)
        if not norm:
            continue
        if w[0].isdigit():
            if norm.rstrip("s") not in known and norm not in known:
                bad.append(w)
        elif w[0].isupper() and at not in starts and w not in ("I",):
            if not all(part in known for part in norm.split()):
                bad.append(w)
        elif norm in _FACT_WORDS and norm not in known:
            bad.append(w)
    return bad


def _empty_praise(sentence: str) -> bool:
    """Too short to say why ("A great choice!"), or a small model looping ("title, title, title, ...")."""
    if re.search(r"[\u4e00-\u9fff]", sentence):
        return len(re.findall(r"[\u4e00-\u9fff]", sentence)) < 6
    words = re.findall(r"[a-z']+", sentence.lower())
    if len(words) < 5:
        return True
    counts: dict[str, int] = {}
    for w in words:
        if len(w) > 3:
            counts[w] = counts.get(w, 0) + 1
    return any(c >= 3 for c in counts.values())


def grounded(sentence: str, item: Item, catalog: Catalog, wish_text: str = "") -> bool:
    """Accept an LLM sentence only if it names no catalog title other than the item's own and states no name,
    number or award-like fact that the item's fields (or the wish) don't contain."""
    if not sentence or len(sentence) > 400 or _empty_praise(sentence):
        return False
    if unsupported_facts(sentence, item, wish_text) or _ZH_FACT_WORDS.search(sentence):
        return False
    letters = sum(ch.isalpha() or ch.isspace() for ch in sentence)
    if letters < 0.8 * len(sentence):  # markup, code or noise, not a sentence
        return False
    own = {normalize_title(item.title), *(normalize_title(a) for a in item.aliases)}
    for item_id in titles_in_text(sentence, catalog, min_words=2):
        other = catalog.get(item_id)
        if other and normalize_title(other.title) not in own and not any(normalize_title(other.title) in o for o in own):
            return False
    return True


def leaks(text: str, secret: str, span: int = 6) -> bool:
    """Does `text` repeat `span` consecutive words of `secret` (a system prompt)?"""
    words = normalize_title(secret).split()
    grams = {" ".join(words[i:i + span]) for i in range(len(words) - span + 1)}
    said = normalize_title(text).split()
    return any(" ".join(said[i:i + span]) in grams for i in range(len(said) - span + 1))


def _first_sentence(pieces) -> str:
    """Read a streamed answer only until its first sentence ends: the rest is never shown, so closing the stream
    there stops the model early (most of an explanation's cost is the tokens after the first sentence)."""
    if isinstance(pieces, str):
        pieces = [pieces]
    text = ""
    try:
        for piece in pieces:
            text += piece
            if re.search(r"[.!?]\s|[。！？]", text):  # "rated 3." + "5/5" must not end the sentence early
                break
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()
    return re.sub(r"\s+", " ", text).strip()


# Other ways of saying a genre: "a funny film" cites Comedy as much as "a comedy" does.
_GENRE_WORDS = {"Sci-Fi": ["science fiction", "scifi", "sci fi"], "Children": ["kids", "children", "family"],
                "Animation": ["animated", "cartoon", "animation"], "Film-Noir": ["noir"],
                "Romance": ["romantic", "romance", "love story"], "Comedy": ["comedy", "comedic", "comedies", "funny"],
                "Horror": ["horror", "scary", "frightening"], "Thriller": ["thriller", "thrilling", "suspense"],
                "Drama": ["drama", "dramatic"], "Adventure": ["adventure", "adventurous"],
                "Mystery": ["mystery", "mysterious"], "Musical": ["musical", "songs"], "War": ["war", "wartime"],
                "Documentary": ["documentary"], "Western": ["western", "cowboy", "cowboys"], "Crime": ["crime", "criminal"],
                "Fantasy": ["fantasy", "magical"], "Action": ["action"]}
# Words of an overview that say nothing about this film in particular: a sentence citing only these is generic.
_GENERIC = set("""film films movie movies story stories life world people great good best classic perfect choice
watch user asked fits fit time year years make makes made find finds must will young new first last
way day days thing things man men woman women help helps lives live become becomes gets take takes""".split())
# A sentence that repeats the prompt's field labels is the model echoing its input, not an explanation.
_ECHO = re.compile(r"\b(title|year|genres|tags|overview|the user asked for)\s*:", re.I)


def _fact_words(text: str) -> set[str]:
    from chatrec.understand.vocab import load

    function_words = load().function_words
    return {w for w in normalize_title(text).split()
            if len(w) >= 4 and not w.isdigit() and w not in _STOP and w not in function_words and w not in _GENERIC}


def _same_word(a: str, b: str) -> bool:
    """One word, or one an inflected form of the other ("murder" / "murders", "fiction" / "fictional"; not "space" /
    "spaceship")."""
    short, long_ = sorted((a, b), key=len)
    return a == b or (len(short) >= 5 and long_.startswith(short) and len(long_) - len(short) <= 3)


def cited_facts(sentence: str, item: Item) -> list[str]:
    """The facts of the item that `sentence` states: its genres (or a usual word for one), its year or decade, a
    tag viewers gave it, a content word of its overview or metadata (a director, where the catalog has one) that is
    not a word of its title.
    Empty: the sentence could be said of any film ("A good fit for what you asked"), and is not shown."""
    found: list[str] = []
    text = normalize_title(sentence)
    padded = f" {text} "
    if re.search(r"[\u4e00-\u9fff]", sentence):
        from chatrec.lang import genre_label

        found += [g for g in item.genres if genre_label(g, "zh") in sentence]
        found += [tag for tag in item.tags if len(tag) >= 3 and tag.lower() in sentence.lower()]
    else:
        for g in item.genres:
            forms = [normalize_title(g)] + _GENRE_WORDS.get(g, [])
            if any(f" {form} " in padded for form in forms if form):
                found.append(g)
    if item.year:
        decade = item.year // 10 * 10
        if re.search(rf"\b({item.year}|{decade}s|'?{decade % 100:02d}s)\b", sentence):
            found.append(str(item.year))
    said = set(text.split())
    # the title's own words say nothing about the film ("The Notebook is a film ..." is not about a notebook)
    title_words = set(normalize_title(" ".join([item.title, *item.aliases])).split())
    for name, source in (("tag", " ".join(item.tags)), ("overview", item.overview),
                         ("metadata", " ".join(str(v) for _, v in item.metadata if isinstance(v, str)))):
        words = _fact_words(source) - title_words
        hits = sorted(w for w in words if any(_same_word(w, s) for s in said if len(s) >= 4))
        found += [f"{name}:{w}" for w in hits]
    return list(dict.fromkeys(found))


@dataclass
class Explanation:
    """What the explainer showed and why: `source` "llm" (the model's sentence, checked) or "template" (the
    catalog-built reason); `facts` the item's facts the model's sentence cites; `rejected` why a model sentence
    was not shown ("no answer", "echo", "ungrounded", "no facts", "wrong language")."""
    text: str
    source: str
    facts: list[str] = field(default_factory=list)
    rejected: str | None = None
    said: str = ""  # the model's sentence, shown or not (for reports)


class LLMExplainer:
    def __init__(self, llm, prompt: str, catalog: Catalog, max_tokens: int = 60):
        self.llm, self.prompt, self.catalog, self.max_tokens = llm, prompt, catalog, max_tokens
        self.outcomes: Counter = Counter()  # "llm" or the rejection reason, per explanation asked for

    def reason(self, item: Item, wish_text: str, fallback: str, lang: str = "en") -> str:
        """One sentence from the LLM (in Simplified Chinese when `lang` is "zh"), or `fallback`."""
        return self.explain(item, wish_text, fallback, lang).text

    def explain(self, item: Item, wish_text: str, fallback: str, lang: str = "en") -> Explanation:
        fields = (f"Title: {item.title}\nYear: {item.year or 'unknown'}\nGenres: {', '.join(item.genres) or 'unknown'}\n"
                  f"Tags: {', '.join(item.tags) or 'none'}\nOverview: {item.overview or 'none'}")
        messages = [{"role": "system", "content": self.prompt},
                    {"role": "user", "content": f"{fields}\n\nThe user asked for: {wish_text or 'a good pick'}"
                     + ("\n\nAnswer in Simplified Chinese (简体中文)." if lang == "zh" else "")}]
        try:
            text = _first_sentence(self.llm.generate(messages, max_tokens=self.max_tokens, stream=True))
        except Exception:
            return self._fallback(fallback, "no answer")
        first = re.split(r"(?<=[.!?])\s|(?<=[。！？])", text)[0] if text else ""
        if leaks(first, self.prompt) or _ECHO.search(first):
            return self._fallback(fallback, "echo", first)
        if not grounded(first, item, self.catalog, wish_text):
            return self._fallback(fallback, "ungrounded", first)
        if lang == "zh" and len(re.findall(r"[\u4e00-\u9fff]", first)) < 4:
            # asked for Chinese, answered in English: the Chinese template reads better
            return self._fallback(fallback, "wrong language", first)
        facts = cited_facts(first, item)
        if not facts:
            return self._fallback(fallback, "no facts", first)
        self.outcomes["llm"] += 1
        return Explanation(first, "llm", facts, said=first)

    def _fallback(self, fallback: str, why: str, said: str = "") -> Explanation:
        self.outcomes[why] += 1
        return Explanation(fallback, "template", rejected=why, said=said)
