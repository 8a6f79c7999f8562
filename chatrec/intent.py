"""Intent recognition: a message (plus what was last shown) -> a typed, catalog-grounded `Intent`.

Two parsers share one interface, `parse(message, context) -> Intent`:
- `RuleParser`: deterministic keyword, pattern and title matching against the catalog; always available.
- `LLMParser`: asks the LLM for JSON, then trusts nothing it says: the kind must be a known label, a title
  counts only if it links to a catalog item *and* the message really mentions it, genres must be in the
  catalog's vocabulary, years must parse. Junk, errors and timeouts fall back to the rule result.
An unclear message becomes `recommend` with `unclear=True`: the plain recommender answers, never a dead end.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field

from .catalog import Catalog, normalize_title

KINDS = ("recommend", "refine", "feedback", "ask_about_item", "chitchat", "goodbye")


@dataclass
class Intent:
    kind: str
    liked: list[str] = field(default_factory=list)  # catalog item ids
    disliked: list[str] = field(default_factory=list)
    genres_in: list[str] = field(default_factory=list)
    genres_any: bool = False  # "comedy or drama": any of genres_in will do
    genres_out: list[str] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    wish_text: str = ""
    avoid_text: str = ""  # "less gory": a direction to move away from, not a hard filter
    about_item: str | None = None
    refs: list[int] = field(default_factory=list)  # 1-based positions in the last list
    sentiment: str | None = None  # feedback: "like" | "dislike" | "seen"
    critiques: list[str] = field(default_factory=list)  # "older", "newer", "lighter", "darker", "more_like", "less_like", "other"
    unclear: bool = False
    source: str = "rules"

    def to_json(self, catalog: Catalog) -> dict:
        data = asdict(self)
        data["liked"] = [_ref(catalog, i) for i in self.liked]
        data["disliked"] = [_ref(catalog, i) for i in self.disliked]
        data["about_item"] = _ref(catalog, self.about_item) if self.about_item else None
        return data


def _ref(catalog: Catalog, item_id: str) -> dict:
    item = catalog.get(item_id)
    return {"item_id": item_id, "title": item.title if item else None}


@dataclass
class ParseContext:
    last_items: list[str] = field(default_factory=list)  # item ids of the last list shown, in order


# ------------------------------------------------------------------ vocabulary

# word or phrase -> catalog genre (MovieLens names); other catalogs match their own genre names directly
GENRE_WORDS = {
    "action": "Action", "adventure": "Adventure", "adventures": "Adventure",
    "animation": "Animation", "animated": "Animation", "anime": "Animation", "cartoon": "Animation", "cartoons": "Animation",
    "children": "Children", "kids": "Children", "kid": "Children", "family": "Children", "children's": "Children",
    "comedy": "Comedy", "comedies": "Comedy", "funny": "Comedy", "hilarious": "Comedy", "rom com": "Comedy",
    "crime": "Crime", "gangster": "Crime", "heist": "Crime", "mafia": "Crime",
    "documentary": "Documentary", "documentaries": "Documentary", "docs": "Documentary",
    "drama": "Drama", "dramas": "Drama",
    "fantasy": "Fantasy", "magic": "Fantasy",
    "film noir": "Film-Noir", "noir": "Film-Noir",
    "horror": "Horror", "scary": "Horror", "slasher": "Horror", "gore": "Horror",
    "musical": "Musical", "musicals": "Musical",
    "mystery": "Mystery", "mysteries": "Mystery", "whodunit": "Mystery",
    "romance": "Romance", "romantic": "Romance", "love story": "Romance", "love stories": "Romance",
    "sci fi": "Sci-Fi", "scifi": "Sci-Fi", "science fiction": "Sci-Fi", "space": "Sci-Fi",
    "thriller": "Thriller", "thrillers": "Thriller", "suspense": "Thriller",
    "war": "War", "western": "Western", "westerns": "Western", "cowboy": "Western", "imax": "IMAX",
}
_NEGATORS = ("no", "not", "without", "except", "nothing", "avoid", "skip", "hate", "hates", "dislike",
             "don't want", "dont want", "do not want", "no more", "none", "never", "anything but", "not into",
             "not a fan of", "less", "fewer", "too much")
_SOFT_NEGATORS = ("less", "fewer", "not too", "not so", "too much", "not as", "less of")

_GOODBYE = re.compile(r"^\s*(bye|goodbye|good bye|see (you|ya)|cya|quit|exit|ciao|good ?night|farewell|"
                      r"that'?s all|i'?m done|thanks,? bye|thank you,? bye)\b", re.I)
_GREETING = re.compile(r"^\s*(hi|hello|hey|hiya|howdy|yo|good (morning|afternoon|evening)|thanks|thank you|"
                       r"thx|cheers|how are you|what'?s up|who are you|what can you do|help)\b", re.I)
_REQUEST = re.compile(r"\b(recommend|suggest|suggestion|show me|give me|find me|find|looking for|look for|want|"
                      r"wanna|need|in the mood|something|anything|movie|movies|film|films|watch|any ideas|"
                      r"what should|options|picks?|more)\b", re.I)
_ASK = re.compile(r"\b(tell me (more )?about|what(?:'s| is) .+ about|what is it about|more info|details|"
                  r"who (directed|stars|is in|plays)|when was|what year|how long|is it (good|scary|funny)|"
                  r"info on|information (on|about)|describe)\b", re.I)
_POSITIVE = re.compile(r"\b(loved?|liked?|like (that|this|it)|enjoyed|great|awesome|amazing|perfect|good one|"
                       r"nice|fantastic|brilliant|favou?rite|yes|yeah|thumbs up)\b", re.I)
_NEGATIVE = re.compile(r"\b(hated?|dislike[sd]?|didn'?t like|don'?t like|do not like|not (for me|interested|that one)|"
                       r"boring|awful|terrible|bad|meh|nope|no thanks|thumbs down|not a fan)\b", re.I)
_SEEN = re.compile(r"\b(seen (it|that|this|them|those|already)|already (seen|watched)|watched (it|that|already))\b", re.I)
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
             "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7, "eighth": 8, "8th": 8,
             "ninth": 9, "9th": 9, "tenth": 10, "10th": 10}
_REF = re.compile(r"(?:#\s*(\d{1,2})\b|\b(?:number|no\.?|item|option|pick)\s*(\d{1,2})\b|\bthe (last) one\b|\b("
                  + "|".join(_ORDINALS) + r")\b(?:\s+(?:one|movie|film|item|pick|option))?)", re.I)
_CRITIQUES = [
    ("older", re.compile(r"\b(older|earlier|classic|less recent|from before)\b", re.I)),
    ("newer", re.compile(r"\b(newer|more recent|recent|latest|modern|new ones?)\b", re.I)),
    ("lighter", re.compile(r"\b(lighter|less dark|happier|more fun|feel[- ]good|less serious|funnier|upbeat)\b", re.I)),
    ("darker", re.compile(r"\b(darker|more serious|grittier|less light|more intense|bleaker)\b", re.I)),
    ("more_like", re.compile(r"\b(more like|similar to|something like|like) (that|this|it|the|#|number)", re.I)),
    ("less_like", re.compile(r"\b(less like|not like|unlike|different from) (that|this|it|the|#|number)", re.I)),
    ("other", re.compile(r"\b(something else|other (ones|options|suggestions)|different ones?|another|others|"
                         r"more options|show me more|more please|next)\b", re.I)),
]
_REFINING = re.compile(r"\b(only|just|make it|but|instead|also|rather|too|as well|now|same)\b", re.I)
_DECADE = re.compile(r"\b(?:(19|20)?(\d)0'?s)\b", re.I)
_DECADE_WORDS = {"twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950, "sixties": 1960,
                 "seventies": 1970, "eighties": 1980, "nineties": 1990}
_AFTER = re.compile(r"\b(?:after|since|from|newer than|post|later than)\s+((?:19|20)\d\d)\b", re.I)
_BEFORE = re.compile(r"\b(?:before|until|older than|pre|prior to|earlier than)\s+((?:19|20)\d\d)\b", re.I)
_BETWEEN = re.compile(r"\b(?:between|from)\s+((?:19|20)\d\d)\s*(?:and|to|-|–|until)\s*((?:19|20)\d\d)\b", re.I)
_IN_YEAR = re.compile(r"\b(?:in|from|of)\s+((?:19|20)\d\d)\b", re.I)
_TITLE_CUES = ("like", "liked", "love", "loved", "enjoyed", "as", "than", "to", "hated", "hate", "watched",
               "seen", "about", "disliked", "unlike", "adore", "adored")
_FILLER = re.compile(
    r"\b(please|can you|could you|would you|i'?d like|i would like|i want|i wanna|i need|i'm looking for|"
    r"im looking for|looking for|recommend( me)?|suggest( me)?|give me|show me|find me|some|a few|any|"
    r"something|anything|movies?|films?|to watch|for tonight|tonight|me|i|a|an|the|with|but|and|or|maybe|"
    r"really|just|also|similar to|like|kind of|sort of|stuff|ones?|good|great|nice|that|is|are|which|of)\b",
    re.I,
)
_NOT_A_WISH = re.compile(
    r"\b(loved?|liked?|enjoyed|hated?|disliked?|older|newer|earlier|recent|latest|lighter|darker|more|less|"
    r"tell|about|info|details|another|else|other|others|different|instead|hello|hi|hey|thanks|thank|you|"
    r"yes|no|not|ok|okay|what|should|we|my|it|this|those|these|one|\d+)\b", re.I)
# Words so common that a title made only of them ("Up", "It", "Her", "Love") needs a clear cue to count.
_COMMON = set("""a an the i me my you your it its he she her him his we us our they them their this that these those
is are was were be been being am do does did done have has had go goes went gone get got make made see saw seen
watch watched want like liked love loved good bad great best better nice new old big small little long short
one two three four five six seven eight nine ten first last next more most less some any all no not yes up down
out in on at to of for with from by about as than then so too very just also only really movie movies film films
something anything nothing everything show shows me please thanks hello hi hey night day time life world man
men woman women girl boy kids home house people love story funny scary dark light happy sad action drama comedy
horror crime war western fantasy mystery romance thriller family children animation musical documentary adventure
space magic noir recent classic classics older newer lighter darker again other another different same similar
tonight today year years ago evening weekend fun help need where what when who why how which while""".split())


# ------------------------------------------------------------------ the rule parser

def clean_message(text: str, limit: int) -> str:
    """Printable text only, whitespace collapsed, cut to `limit` characters."""
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()[:limit]


class RuleParser:
    name = "rules"

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._vocab: set[str] | None = None
        lower_vocab = {g.lower(): g for g in catalog.genres}
        self.genre_words = {w: g for w, g in GENRE_WORDS.items() if g in catalog.genres}
        for low, g in lower_vocab.items():
            self.genre_words.setdefault(normalize_title(low), g)

    # -- slots
    def find_titles(self, text: str) -> list[tuple[str, int, int, str]]:
        """Catalog titles mentioned in `text`: [(item_id, start, end, polarity)] with word spans of the normalised text."""
        norm = normalize_title(text)
        words = norm.split()
        original_words = re.sub(r"[^\w\s'\"]", " ", text).split()
        quoted = {normalize_title(q) for q in re.findall(r"[\"“”']([^\"“”']{2,80})[\"“”']", text)}
        found: list[tuple[str, int, int, str]] = []
        taken = [False] * len(words)
        max_n = min(self.catalog.titles.max_words, len(words))
        for n in range(max_n, 0, -1):
            for start in range(0, len(words) - n + 1):
                if any(taken[start:start + n]):
                    continue
                phrase = " ".join(words[start:start + n])
                positions = self.catalog.titles.keys.get(phrase)
                if not positions:
                    continue
                if not self._plausible(phrase, words, start, n, original_words, quoted):
                    continue
                pos = self._pick_by_year(positions, words[start + n:start + n + 1])
                item_id = self.catalog.items[pos].item_id
                found.append((item_id, start, start + n, self._polarity(words, start)))
                for j in range(start, start + n):
                    taken[j] = True
        if not found:
            found.extend(self._fuzzy_after_cues(norm))
        found.sort(key=lambda f: f[1])
        return found

    def _plausible(self, phrase, words, start, n, original_words, quoted) -> bool:
        tokens = phrase.split()
        if phrase in self.genre_words and phrase not in quoted:
            return False  # "comedy" asks for a genre, not for the film called Comedy
        if not all(t in _COMMON or t.isdigit() for t in tokens):
            return len(phrase) >= 3
        if phrase in quoted:
            return True
        prev = words[start - 1] if start > 0 else ""
        if n >= 3 and prev in _TITLE_CUES:
            return True
        # capitalised mid-sentence in what the person typed ("I loved Up")
        if start > 0 and start < len(original_words) and original_words[start][:1].isupper() and prev in _TITLE_CUES:
            return True
        return False

    def _pick_by_year(self, positions: list[int], following: list[str]) -> int:
        if following and following[0].isdigit() and len(following[0]) == 4:
            year = int(following[0])
            for p in positions:
                if self.catalog.items[p].year == year:
                    return p
        return positions[0]  # most rated first

    @staticmethod
    def _polarity(words: list[str], start: int) -> str:
        before = " ".join(words[max(0, start - 4):start])
        if re.search(r"\b(not|didn t|didnt|don t|dont|hate|hated|dislike|disliked|unlike|nothing like|except|"
                     r"no more|boring|awful|terrible|less like)\b", before):
            return "dislike"
        return "like"

    def _fuzzy_after_cues(self, norm: str) -> list[tuple[str, int, int, str]]:
        out = []
        for m in re.finditer(r"\b(?:like|loved|liked|enjoyed|similar to|than|hated|as good as)\s+(.+?)(?=\s+(?:but|and|or|with|"
                             r"without|except|though|only|please|that|which)\b|$)", norm):
            span = m.group(1).strip()
            words = span.split()
            for cut in range(min(len(words), 8), 0, -1):
                cand = " ".join(words[:cut])
                if all(w in _COMMON for w in cand.split()):
                    continue
                positions = self.catalog.titles.fuzzy(cand)
                if positions:
                    start = len(norm[:m.start(1)].split())
                    out.append((self.catalog.items[positions[0]].item_id, start, start + cut,
                                self._polarity(norm.split(), start)))
                    break
        return out

    def find_genres(self, norm: str) -> tuple[list[str], list[str], list[str]]:
        """(genres wanted, genres excluded, soft-avoid words) from the normalised message."""
        wanted, excluded, soft = [], [], []
        for word, genre in sorted(self.genre_words.items(), key=lambda kv: -len(kv[0])):
            for m in re.finditer(rf"\b{re.escape(word)}\b", norm):
                before = norm[max(0, m.start() - 24):m.start()]
                if any(re.search(rf"\b{re.escape(s)}\s+$", before) for s in _SOFT_NEGATORS):
                    soft.append(word)
                elif any(re.search(rf"\b{re.escape(n)}\b(\s+\w+)?\s+$", before) for n in _NEGATORS):
                    if genre not in excluded:
                        excluded.append(genre)
                elif genre not in wanted:
                    wanted.append(genre)
        wanted = [g for g in wanted if g not in excluded]
        return wanted, excluded, soft

    def find_years(self, text: str) -> tuple[int | None, int | None]:
        low = text.lower()
        m = _BETWEEN.search(low)
        if m:
            a, b = sorted((int(m.group(1)), int(m.group(2))))
            return a, b
        lo = hi = None
        m = _AFTER.search(low)
        if m:
            lo = int(m.group(1))
        m = _BEFORE.search(low)
        if m:
            hi = int(m.group(1)) - 1
        if lo is None and hi is None:
            for word, start in _DECADE_WORDS.items():
                if re.search(rf"\b{word}\b", low):
                    return start, start + 9
            m = _DECADE.search(low)
            if m:
                century = m.group(1) or ("20" if m.group(2) in "012" else "19")
                start = int(century + m.group(2) + "0")
                return start, start + 9
            m = _IN_YEAR.search(low)
            if m:
                return int(m.group(1)), int(m.group(1))
        return lo, hi

    @staticmethod
    def find_refs(text: str, n_last: int) -> list[int]:
        refs = []
        for m in _REF.finditer(text):
            num = m.group(1) or m.group(2)
            if num:
                refs.append(int(num))
            elif m.group(3):
                refs.append(n_last if n_last else 1)
            elif m.group(4):
                refs.append(_ORDINALS[m.group(4).lower()])
        return list(dict.fromkeys(refs))

    # -- the whole message
    def parse(self, message: str, context: ParseContext | None = None) -> Intent:
        context = context or ParseContext()
        text = message.strip()
        norm = normalize_title(text)
        has_list = bool(context.last_items)

        if _GOODBYE.search(text) and len(norm.split()) <= 6:
            return Intent("goodbye")

        titles = self.find_titles(text)
        liked = list(dict.fromkeys(t[0] for t in titles if t[3] == "like"))
        disliked = list(dict.fromkeys(t[0] for t in titles if t[3] == "dislike"))
        genres_in, genres_out, soft = self.find_genres(norm)
        year_min, year_max = self.find_years(text)
        refs = self.find_refs(text, len(context.last_items)) if has_list else []
        critiques = [name for name, rx in _CRITIQUES if rx.search(text)] if has_list else []
        if "more_like" in critiques and "less_like" in critiques:
            critiques.remove("more_like")
        if not refs:  # "like the matrix" names a title; "more like #2" points into the list
            critiques = [c for c in critiques if c not in ("more_like", "less_like")]
        wish, avoid = self._wish(text, titles, soft)
        intent = Intent("recommend", liked=liked, disliked=disliked, genres_in=genres_in, genres_out=genres_out,
                        genres_any=len(genres_in) > 1 and bool(re.search(r"\b(or|either)\b", norm)),
                        year_min=year_min, year_max=year_max, wish_text=wish, avoid_text=avoid, refs=refs,
                        critiques=critiques)
        constraints = bool(genres_in or genres_out or year_min or year_max or soft)

        if _ASK.search(text) and (titles or refs):
            intent.kind = "ask_about_item"
            intent.about_item = titles[0][0] if titles else self._ref_id(refs[0], context)
            return intent
        if has_list and _SEEN.search(text):
            intent.kind, intent.sentiment = "feedback", "seen"
            return intent
        positive, negative = bool(_POSITIVE.search(text)), bool(_NEGATIVE.search(text))
        asks_more = bool(_REQUEST.search(text)) and bool(re.search(r"\b(more|another|others|something|similar|else)\b", text, re.I))
        if has_list and (positive or negative) and not titles and not constraints and not asks_more \
                and not (set(critiques) - {"other"}):
            intent.kind = "feedback"
            intent.sentiment = "dislike" if negative else "like"
            return intent
        # after a list, a critique or a bare constraint ("no horror", "only 90s") narrows it; a fresh genre
        # wish with no refining word ("comedies from the 90s") starts a new request
        if has_list and (critiques or (constraints and not liked and (not genres_in or _REFINING.search(text)))):
            intent.kind = "refine"
            return intent
        if titles or constraints or _REQUEST.search(text):
            return intent
        if _GREETING.search(text):
            intent.kind, intent.wish_text = "chitchat", ""
            return intent
        if wish and self.known_words(wish):
            return intent  # "stories about friendship": a wish without a request word
        intent.unclear, intent.wish_text = True, ""  # the traditional recommender answers from the profile
        return intent

    def known_words(self, text: str) -> bool:
        """Does `text` share a word of four or more letters with the catalog's own texts?"""
        if self._vocab is None:
            self._vocab = {w for it in self.catalog.items for w in normalize_title(it.text()).split() if len(w) >= 4}
        return any(w in self._vocab for w in text.split() if len(w) >= 4)

    @staticmethod
    def _ref_id(ref: int, context: ParseContext) -> str | None:
        return context.last_items[ref - 1] if 0 < ref <= len(context.last_items) else None

    def _wish(self, text: str, titles, soft: list[str]) -> tuple[str, str]:
        """Free-text wish left after titles, genres, years, references and filler are taken out."""
        norm = normalize_title(text)
        words = norm.split()
        keep = [True] * len(words)
        for _, start, end, _ in titles:
            for j in range(start, min(end, len(words))):
                keep[j] = False
        rest = " ".join(w for w, k in zip(words, keep) if k)
        avoid = []
        for m in re.finditer(r"\b(?:less|fewer|not too|not so|without|no|too much)\s+(\w+(?:\s+\w+)?)", rest):
            phrase = " ".join(w for w in m.group(1).split() if w not in self.genre_words and w not in _COMMON)
            if phrase:
                avoid.append(phrase)
        rest = re.sub(r"\b(?:less|fewer|not too|not so|without|no|too much)\s+\w+(?:\s+(?:stuff|scenes|violence|gore))?", " ", rest)
        for word, genre in self.genre_words.items():
            if normalize_title(genre).startswith(word[:4]):  # "comedies" -> Comedy is fully said by the filter
                rest = re.sub(rf"\b{re.escape(word)}\b", " ", rest)
        rest = _BETWEEN.sub(" ", rest)
        rest = re.sub(r"\b(19|20)?\d0 ?s\b|\b(19|20)\d\d\b|\b(after|since|before|until|from|in)\b", " ", rest)
        rest = _REF.sub(" ", rest)
        rest = _FILLER.sub(" ", rest)
        rest = _NOT_A_WISH.sub(" ", rest)
        rest = re.sub(r"\b(recommendations?|suggestions?|watch|see|movie|film|show|genre|kind|type|please|thanks)\b", " ", rest)
        rest = re.sub(r"\s+", " ", rest).strip()
        if len(rest) < 3:
            rest = ""
        return rest, " ".join(dict.fromkeys(avoid + soft))


# ------------------------------------------------------------------ the LLM parser

class LLMParser:
    """The LLM proposes; the catalog and the rule parser check. Nothing unverified gets through."""

    name = "llm"

    def __init__(self, catalog: Catalog, llm, prompt: str, rules: RuleParser | None = None):
        self.catalog = catalog
        self.llm = llm
        self.prompt = prompt
        self.rules = rules or RuleParser(catalog)
        self.failures = 0

    def parse(self, message: str, context: ParseContext | None = None) -> Intent:
        base = self.rules.parse(message, context)
        try:
            raw = self.llm.generate(
                [{"role": "system", "content": self.prompt}, {"role": "user", "content": message}],
                schema=INTENT_SCHEMA,
            )
            proposal = json.loads(_first_json_object(raw))
        except Exception:  # dead backend, timeout, junk: the rule result stands
            self.failures += 1
            return base
        return self.merge(base, proposal, message)

    def merge(self, base: Intent, proposal: dict, message: str) -> Intent:
        if not isinstance(proposal, dict):
            return base
        kind = proposal.get("kind") or proposal.get("intent")
        # The rules are precise when they fire on clear cues; the LLM decides only what they left unclear.
        if base.unclear and kind in KINDS:
            base.kind, base.unclear = kind, False
        norm_msg = normalize_title(message)
        for slot in ("liked", "disliked"):
            for title in _as_list(proposal.get(slot)):
                item_id = self._grounded_title(str(title), norm_msg)
                if item_id and item_id not in base.liked and item_id not in base.disliked:
                    getattr(base, slot).append(item_id)
        vocab = {g.lower(): g for g in self.catalog.genres}
        for slot in ("genres_in", "genres_out"):
            for g in _as_list(proposal.get(slot)):
                genre = vocab.get(str(g).lower())
                if genre and genre.lower() in norm_msg and genre not in base.genres_in + base.genres_out:
                    getattr(base, slot).append(genre)
        base.source = "llm+rules"
        return base

    def _grounded_title(self, title: str, norm_msg: str) -> str | None:
        norm = normalize_title(title)
        if len(norm) < 2 or f" {norm} " not in f" {norm_msg} ":  # the message must really say it
            return None
        positions = self.catalog.titles.exact(title)
        return self.catalog.items[positions[0]].item_id if positions else None


INTENT_SCHEMA = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": list(KINDS)},
        "liked": {"type": "array", "items": {"type": "string"}},
        "disliked": {"type": "array", "items": {"type": "string"}},
        "genres_in": {"type": "array", "items": {"type": "string"}},
        "genres_out": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["kind"],
}


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _first_json_object(text: str) -> str:
    start = text.find("{")
    end = text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the model output")
    return text[start:end + 1]
