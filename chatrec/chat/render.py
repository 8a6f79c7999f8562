"""Replies: the `Reply` every session verb returns, and its text in English or Chinese.

A `Reply` keeps its parts (the lead line, the picks, the closing hint) rather than one finished string, so
when an LLM reason arrives after the list was shown, the text is rendered again from the parts, never
patched. `to_json()` is the CLI / API contract:

    {"reply": str, "intent": {"kind": str, ...}, "items": [{"item_id", "title", "year", "genres", "score",
                                                           "explanation"}]}

What happened is a field (`ok`), never something to read from the words.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from chatrec.catalog import Catalog, Item
from chatrec.chat.recommender import Recommendation
from chatrec.lang import genre_label, join, t
from chatrec.retrieval.retrieve import Request

# the notes `Retriever.candidates` returns when it loosens a constraint -> their message keys
_RELAX_KEYS = {"“all of those genres” to “any of them”": "relax_genres_any", "the year range": "relax_years",
               "the genre filter": "relax_genres", "“only their films”": "relax_within"}


@dataclass(eq=False)
class Reply(Mapping):
    """One answer, readable as the JSON object it prints (`reply["items"]`, `dict(reply)`: a read-only
    mapping of the three contract keys, a fresh copy on each read). `ok` is False when the action asked for did not happen (nothing saved, nothing shown
    because the request was refused, bad input); a reply with picks, or a note that feedback was saved, is ok."""
    head: str  # everything before the numbered list (a notice, the lead line), or the whole text
    intent: dict
    recs: list[Recommendation] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # how each pick is named in the list (《中文名》Title (1999))
    tail: str = ""  # the hint after the list
    ok: bool = True

    @property
    def text(self) -> str:
        lines = [self.head] if self.head else []
        lines += [f"{n}. {label} — {r.explanation}" for n, (label, r) in enumerate(zip(self.labels, self.recs), 1)]
        if self.tail:
            lines.append(self.tail)
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"reply": self.text, "intent": self.intent, "items": [r.to_json() for r in self.recs]}

    def __getitem__(self, key: str):
        return self.to_json()[key]

    def __iter__(self):
        return iter(("reply", "intent", "items"))

    def __len__(self) -> int:
        return 3


def item_label(item: Item, lang: str, zh_names: dict[str, str]) -> str:
    """A pick as the list names it: the Chinese release title first for a Chinese reader, when known."""
    zh = f"《{zh_names[item.item_id]}》" if lang == "zh" and item.item_id in zh_names else ""
    return f"{zh}{item.label}"


def lead(req: Request | None, relaxed: list[str], lang: str, *, catalog: Catalog, rules, within_names: list[str],
         has_profile: bool) -> str:
    """The line above a list: what was understood ("Picks (like Heat; thriller; 1990–1999):"). `req` None is
    the plain recommender (nothing in particular was asked)."""
    zh = lang == "zh"
    if req is None:
        text = t("unclear_profile" if has_profile else "unclear_popular", lang)
    else:
        parts = []
        if req.seeds:
            names = rules.zh_names
            titles = [f"《{names.get(i, catalog[i].title)}》" if zh else catalog[i].title for i in req.seeds[:3]]
            parts.append(t("lead_like", lang, titles=("、" if zh else ", ").join(titles)))
        if within_names and req.within:
            parts.append(t("lead_from", lang, names=join([rules.collection_name(k, lang) for k in within_names], lang)))
        if req.genres_in:
            genres = [genre_label(g, lang) if zh else g.lower() for g in req.genres_in]
            parts.append(("或" if req.genres_any else "、").join(genres) if zh else
                         (" or " if req.genres_any else " and ").join(genres))
        if req.genres_out:
            genres = [genre_label(g, lang) if zh else g.lower() for g in req.genres_out]
            parts.append(t("lead_no", lang, genres=("、" if zh else ", ").join(genres)))
        if req.year_min or req.year_max:
            parts.append(f"{req.year_min or '…'}–{req.year_max or '…'}")
        if req.wish_text:
            parts.append(f"“{req.wish_text}”")
        if req.avoid_text:
            parts.append(t("lead_less", lang, words=req.avoid_text))
        if not parts:
            text = t("picks_for_you", lang)
        else:
            text = t("picks", lang) + ("（" + "；".join(parts) + "）" if zh else f" ({'; '.join(parts)})")
    if relaxed:
        what = [t(_RELAX_KEYS[r], lang) if r in _RELAX_KEYS else r for r in relaxed]
        text += t("relaxed", lang, what=join(what, lang))
    return text + ("：" if zh else ":")


def about(item: Item, lang: str, zh_names: dict[str, str], asks_people: bool) -> str:
    """What the catalog knows about one film, and a plain note when the question was about people it lacks."""
    zh_name = zh_names.get(item.item_id) if lang == "zh" else None
    facts = [f"《{zh_name}》{item.label}" if zh_name else f"{item.label}"]
    if item.genres:
        sep = "、" if lang == "zh" else ", "
        facts.append(t("about_genres", lang, genres=sep.join(genre_label(g, lang) for g in item.genres)))
    if item.overview:
        facts.append(t("about_overview_en", lang) + item.overview)
    if item.tags:
        facts.append(t("about_tags", lang, tags=", ".join(item.tags)))
    if item.rating_mean:
        facts.append(t("about_rating", lang, mean=item.rating_mean, count=item.rating_count))
    if asks_people:
        facts.append(t("about_no_people", lang))
    return "\n".join(facts)
