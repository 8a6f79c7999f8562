"""The dialogue state: what this conversation has established so far, and the request it makes.

A new request replaces the constraints (`start_request`); a critique narrows or shifts them (`refine`);
`request` turns the state into the `Request` that retrieval and ranking read. The chat and the ReDial
benchmark both build their requests here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from chatrec.catalog import Catalog
from chatrec.retrieval.retrieve import Request
from chatrec.understand.intent import Intent


@dataclass
class DialogueState:
    """What this conversation has established so far."""
    seeds: list[str] = field(default_factory=list)  # items to recommend near (titles the user named, "more like #2")
    negatives: list[str] = field(default_factory=list)  # items to move away from ("less like #1")
    genres_in: list[str] = field(default_factory=list)
    genres_any: bool = False
    genres_out: list[str] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    wish_text: str = ""
    avoid_text: str = ""
    topic: str = ""  # the person's own words about what the films are (`Intent.topic`), part of wish_text
    topic_kinds: list[str] = field(default_factory=list)  # what a broad topic covers (`Intent.topic_kinds`)
    shown: list[str] = field(default_factory=list)
    last_items: list[str] = field(default_factory=list)
    turns: int = 0
    within: list[str] = field(default_factory=list)  # only these items: a director's films, a series
    within_names: list[str] = field(default_factory=list)
    # every film mentioned with a sentiment in this conversation: (item id, +1 liked / -1 disliked, turn)
    memory: list[tuple[str, int, int]] = field(default_factory=list)
    # soft preferences of the request (moods, quality words): see `chatrec.understand.signals`
    moods: list[str] = field(default_factory=list)
    genre_weights: dict = field(default_factory=dict)
    quality_bias: float = 0.0
    popularity_bias: float = 0.0
    obscure: bool = False
    periods: list[tuple[int, int]] = field(default_factory=list)  # "the 80s and 90s": draw from each
    # every film the conversation has brought up -- named by the person with any sentiment (or none: "is Click
    # good?", "I've seen Deadpool") or shown to them -- oldest first, a film moved to the end when it comes up again
    brought_up: list[str] = field(default_factory=list)

    MEMORY_HALF_LIFE = 1.0  # turns: what was said one request ago counts half, two requests ago a quarter
    MEMORY_SIZE = 100  # mentions kept; older ones weigh less than 2^-20 by then anyway in any real conversation
    # A request that names no quality word still prefers well-rated, well-known films (the catalog's long tail is
    # mostly films rated by a handful of people, and a genre has its panned films too: "romantic comedies" gave
    # Osmosis Jones): the priors of a plain request; "hidden gem" turns popularity around. A named film or a
    # person's films ("only their films") narrow the candidates to what the person asked for: no priors there.
    DEFAULT_QUALITY_BIAS = 0.3
    DEFAULT_POPULARITY_BIAS = 0.15
    # Most of a ratings catalog's long tail is films a handful of people rated (in MovieLens latest-small, 62% have
    # fewer than 5 ratings): nobody can say whether they are any good, so every request, hidden gems included (a gem
    # is a film its few viewers rated well), is answered from better-known ones whenever enough of them fit
    # (`Request.min_ratings`)
    DEFAULT_MIN_RATINGS = 5
    WEIGHT_RANGE = (-0.6, 0.4)

    def bring_up(self, item_ids) -> None:
        """`item_ids` came up in the conversation just now (see `brought_up`)."""
        for i in item_ids:
            if i in self.brought_up:
                self.brought_up.remove(i)
            self.brought_up.append(i)
        del self.brought_up[:-self.MEMORY_SIZE]

    def remember(self, item_ids, sign: int) -> None:
        self.memory.extend((i, sign, self.turns) for i in item_ids)
        del self.memory[:-self.MEMORY_SIZE]

    def taste(self) -> list[tuple[str, float]]:
        """What the person has revealed of their taste in this conversation, beyond the current request's own
        films: every film they named or liked (+) or disliked (-), weighted down by how many turns ago."""
        weights: dict[str, float] = {}
        for item_id, sign, turn in self.memory:
            if item_id in self.seeds or item_id in self.negatives:
                continue  # the current request's own films count at full strength already
            weights[item_id] = weights.get(item_id, 0.0) + sign * 0.5 ** ((self.turns - turn) / self.MEMORY_HALF_LIFE)
        return [(i, w) for i, w in weights.items() if abs(w) > 1e-3]

    def start_request(self, intent: Intent) -> None:
        """A new request replaces the session's constraints; the taste it revealed is remembered (`taste`), and
        the stored profile stays."""
        self.remember(intent.liked, +1)
        self.remember(intent.disliked, -1)
        self.seeds = list(intent.liked)
        self.negatives = list(intent.disliked)
        self.genres_in, self.genres_out = list(intent.genres_in), list(intent.genres_out)
        self.genres_any = intent.genres_any
        self.year_min, self.year_max = intent.year_min, intent.year_max
        self.periods = list(intent.periods)
        self.wish_text, self.avoid_text, self.topic = intent.wish_text, intent.avoid_text, intent.topic
        self.topic_kinds = list(intent.topic_kinds)
        self.within, self.within_names = [], []
        self.moods, self.genre_weights = list(intent.moods), dict(intent.genre_weights)
        self.quality_bias, self.popularity_bias, self.obscure = intent.quality_bias, intent.popularity_bias, intent.obscure

    @property
    def constrained(self) -> bool:
        """Whether the conversation has said anything a request can use."""
        return bool(self.seeds or self.negatives or self.genres_in or self.genres_out or self.year_min
                    or self.year_max or self.wish_text or self.avoid_text or self.within or self.genre_weights
                    or self.quality_bias or self.popularity_bias)

    @property
    def descriptive(self) -> bool:
        """Whether the request describes the films it wants (words, genres, moods, years, quality words): then only
        films whose genres or overview can show they fit are answers. "Something like X" alone is answered by what
        people liked together, which needs no description (a ReDial film known by its title and year only is such a
        neighbour)."""
        return bool(self.wish_text or self.avoid_text or self.genres_in or self.genres_out or self.genre_weights
                    or self.moods or self.year_min or self.year_max or self.quality_bias or self.popularity_bias)

    def request(self, exclude=(), unclear: bool = False, stranger: bool = False) -> Request:
        """The request this state makes. `unclear`: the plain recommender (the profile, or popularity, and
        nothing else) for a message that asked for nothing in particular; for a `stranger` (no stored likes, nothing
        liked in this conversation) with the plain request's priors, so "recommend me something" gets well-rated,
        well-known films rather than whatever the scorer makes of an empty history."""
        taste = self.taste()
        if unclear or not self.constrained:
            plain = stranger and not any(w > 0 for _, w in taste)
            return Request(exclude=set(exclude), taste=taste, shown=list(self.shown),
                           context=list(self.brought_up), quality_bias=self.DEFAULT_QUALITY_BIAS if plain else 0.0,
                           popularity_bias=self.DEFAULT_POPULARITY_BIAS if plain else 0.0)
        quality, popularity = self.quality_bias, self.popularity_bias
        if not (quality or popularity or self.obscure or self.seeds or self.within):
            # a request that no filter or named film narrows (a mood, a few words, a decade) would otherwise be
            # answered from the whole long tail: it gets the plain request's priors
            quality, popularity = self.DEFAULT_QUALITY_BIAS, self.DEFAULT_POPULARITY_BIAS
        return Request(wish_text=self.wish_text, avoid_text=self.avoid_text, seeds=list(self.seeds),
                       negatives=list(self.negatives), genres_in=list(self.genres_in), genres_any=self.genres_any,
                       genres_out=list(self.genres_out), year_min=self.year_min, year_max=self.year_max,
                       exclude=set(exclude), within=list(self.within), taste=taste,
                       genre_weights=dict(self.genre_weights), quality_bias=quality, popularity_bias=popularity,
                       moods=list(self.moods), require_content=self.descriptive,
                       min_ratings=self.DEFAULT_MIN_RATINGS, shown=list(self.shown),
                       periods=list(self.periods), context=list(self.brought_up), topic=self.topic,
                       topic_kinds=list(self.topic_kinds))

    def refine(self, intent: Intent, catalog: Catalog) -> None:
        """A critique narrows or shifts the current request."""
        self.remember(intent.liked, +1)
        self.remember(intent.disliked, -1)
        self.seeds = list(dict.fromkeys(self.seeds + intent.liked))
        self.negatives = list(dict.fromkeys(self.negatives + intent.disliked))
        self.genres_out = list(dict.fromkeys(self.genres_out + intent.genres_out))
        self.genres_in = [g for g in dict.fromkeys(self.genres_in + intent.genres_in) if g not in self.genres_out]
        if intent.year_min is not None or intent.year_max is not None:
            self.year_min, self.year_max = intent.year_min, intent.year_max
            self.periods = list(intent.periods)
        # a mood's words alone ("something funnier" after "a sports movie", after "a movie about space") change how
        # the films feel, not what they are about: the person's own words stay, with the topic and its kinds (the
        # sports films were lost for stand-up specials). After another mood, the new one's words replace its words.
        kept = "" if intent.topic else (self.topic or ("" if self.moods else self.wish_text))
        if intent.wish_text and kept:
            self.wish_text = _add_words(kept, intent.wish_text)
        elif intent.wish_text:
            self.wish_text, self.topic, self.topic_kinds = intent.wish_text, intent.topic, list(intent.topic_kinds)
        if intent.avoid_text:
            self.avoid_text = " ".join(dict.fromkeys((self.avoid_text + " " + intent.avoid_text).split()))
        if intent.moods:  # "not too gory" after "a scary movie": both hold; the later word about a mood wins
            said = {m.removeprefix("not ") for m in intent.moods}
            self.moods = [m for m in self.moods if m.removeprefix("not ") not in said] + list(intent.moods)
        lo, hi = self.WEIGHT_RANGE
        for genre, w in intent.genre_weights.items():
            self.genre_weights[genre] = round(min(hi, max(lo, self.genre_weights.get(genre, 0.0) + w)), 3)
        if intent.quality_bias or intent.popularity_bias or intent.obscure:  # "hidden gems instead"
            self.quality_bias, self.popularity_bias = intent.quality_bias, intent.popularity_bias
            self.obscure = intent.obscure
        last = [catalog[i] for i in self.last_items if i in catalog.index_of]
        years = sorted(it.year for it in last if it.year)
        referenced = [self.last_items[r - 1] for r in intent.refs if 0 < r <= len(self.last_items)]
        stated_years = intent.year_min is not None or intent.year_max is not None
        for critique in intent.critiques:
            if critique in ("older", "newer") and stated_years:
                continue  # "from before 1990" says the years itself; "before" is not also "older than the list"
            if critique == "older" and years:
                self.year_max, self.year_min = years[len(years) // 2] - 1, None
            elif critique == "newer" and years:
                self.year_min, self.year_max = years[len(years) // 2] + 1, None
            elif critique == "lighter":
                self.wish_text = _add_words(self.wish_text, "light-hearted funny feel-good")
                self.avoid_text = _add_words(self.avoid_text, "dark violent grim")
            elif critique == "darker":
                self.wish_text = _add_words(self.wish_text, "dark intense gritty")
                self.avoid_text = _add_words(self.avoid_text, "light-hearted family comedy")
            elif critique == "more_like" and referenced:
                self.seeds = list(dict.fromkeys(referenced + self.seeds))[:3]
                self.remember(referenced, +1)
            elif critique == "less_like" and referenced:
                self.negatives = list(dict.fromkeys(self.negatives + referenced))
                self.remember(referenced, -1)


def _add_words(text: str, words: str) -> str:
    return " ".join(dict.fromkeys((text + " " + words).split()))


# ---------------------------------------------------------------- serialisation (the dialogue store, chatrec.app)
def state_to_dict(state: DialogueState) -> dict:
    """The state as plain JSON values, for the dialogue store that lets any app replica serve the next turn."""
    data = {f: getattr(state, f) for f in DialogueState.__dataclass_fields__}
    data["memory"] = [list(m) for m in state.memory]
    data["periods"] = [list(p) for p in state.periods]
    return data


def state_from_dict(data: dict) -> DialogueState:
    """A state back from `state_to_dict`; unknown keys are ignored and wrongly typed values dropped (a stored state
    is not trusted to be well formed), so an old or damaged record starts afresh rather than failing a turn."""
    state = DialogueState()
    if not isinstance(data, dict):
        return state
    for name, f in DialogueState.__dataclass_fields__.items():
        value = data.get(name)
        default = getattr(state, name)
        if value is None:
            continue
        if name == "periods":
            value = [(int(p[0]), int(p[1])) for p in value if isinstance(p, (list, tuple)) and len(p) == 2
                     and all(isinstance(x, int) and not isinstance(x, bool) for x in p)][:10]
        elif name == "memory":
            value = [(str(m[0]), int(m[1]), int(m[2])) for m in value
                     if isinstance(m, (list, tuple)) and len(m) == 3][-DialogueState.MEMORY_SIZE:]
        elif isinstance(default, list):
            value = [str(v) for v in value] if isinstance(value, list) else default
        elif isinstance(default, bool):
            value = bool(value)
        elif isinstance(default, dict):  # genre -> weight
            value = {str(k): float(w) for k, w in value.items() if isinstance(w, (int, float)) and not isinstance(w, bool)} \
                if isinstance(value, dict) else default
        elif isinstance(default, float):
            value = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default
        elif isinstance(default, int) or name in ("year_min", "year_max"):
            value = int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default
        elif isinstance(default, str):
            value = str(value)
        setattr(state, name, value)
    return state
