"""Intent recognition: a message (plus what was last shown) -> a typed, catalog-grounded `Intent`.

Two parsers share one interface, `parse(message, context) -> Intent`:
- `rules.RuleParser`: deterministic keyword, pattern and title matching against the catalog; always available.
- `llm_parser.LLMParser`: asks the LLM for JSON, then trusts nothing it says: the kind must be a known label, a
  title counts only if it links to a catalog item *and* the message really mentions it, genres must be in the
  catalog's vocabulary, years must parse. Junk, errors and timeouts fall back to the rule result.
An unclear message becomes `recommend` with `unclear=True`: the plain recommender answers, never a dead end.
This module holds what the other packages import: `Intent`, `ParseContext` and `clean_message`.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields

from chatrec.catalog import Catalog

KINDS = ("recommend", "refine", "feedback", "ask_about_item", "chitchat", "goodbye")

_NOT_IN_JSON = {"json": False}  # field metadata: read by the dialogue, not part of the `to_json` contract


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
    collections: list[str] = field(default_factory=list)  # named sets of items: a director's films, a series
    unclear: bool = False
    source: str = "rules"
    # Soft signals (moods, quality words) and honesty about what the catalog cannot answer. Added to the JSON
    # contract (new keys only): `moods` as understood ("feel-good", "not gory"), soft genre weights for the
    # ranking (never filters), the quality / popularity priors of quality words, whether the person asked for
    # little-known films, and each facet the catalog lacks that the message depended on
    # ({"facet": "runtime" | "cast", "phrase": "under 90 minutes", ...}): the reply says so in one sentence.
    moods: list[str] = field(default_factory=list)
    genre_weights: dict[str, float] = field(default_factory=dict)
    quality_bias: float = 0.0
    popularity_bias: float = 0.0
    obscure: bool = False
    unsupported: list[dict] = field(default_factory=list)
    # several periods named at once ("the 80s and 90s", 八九十年代): [(first year, last year)], so the list can
    # draw from each of them; year_min / year_max span them all
    periods: list[tuple[int, int]] = field(default_factory=list, metadata=_NOT_IN_JSON)
    # What the message says, whatever its kind (sentiment.toml, dialogue.toml): the person praises the films it
    # names ("I loved Up": keep them as likes), pans them ("I hated Titanic": keep them as dislikes), or asks who
    # made or plays in a film ("who directed it?"). Left out of `to_json`, whose keys are the CLI and API contract.
    # the person's own words about what the films are ("dinosaurs", "time travel"), without the words a mood stands
    # for: a topic the ranking must fit before it prefers the well-known (`Request.topic`)
    topic: str = field(default="", metadata=_NOT_IN_JSON)
    # the kinds of film a broad topic covers ("sports": boxing, baseball, ...; vocab/topics.toml), searched each
    topic_kinds: list[str] = field(default_factory=list, metadata=_NOT_IN_JSON)
    praised: bool = field(default=False, metadata=_NOT_IN_JSON)
    panned: bool = field(default=False, metadata=_NOT_IN_JSON)
    asks_people: bool = field(default=False, metadata=_NOT_IN_JSON)

    def to_json(self, catalog: Catalog) -> dict:
        data = asdict(self)
        for f in fields(self):
            if f.metadata.get("json") is False:
                del data[f.name]
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


def clean_message(text: str, limit: int) -> str:
    """Printable text only, whitespace collapsed, cut to `limit` characters."""
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()[:limit]
