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
from chatrec.understand.signals import mood_label

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
            # a person found only in the films' own texts (no cast list) is named as such, not as their "films by"
            kinds = {k: getattr(rules.collections.get(k), "kind", "") for k in within_names}
            by = [k for k in within_names if kinds[k] != "text"]
            if by:
                parts.append(t("lead_from", lang, names=join([rules.collection_name(k, lang) for k in by], lang)))
            for k in within_names:
                if kinds[k] == "text":
                    parts.append(f"简介或标签提到 {k}" if lang == "zh" else f"{k} named in the description or tags")
        if req.genres_in:
            genres = [genre_label(g, lang) if zh else g.lower() for g in req.genres_in]
            parts.append(("或" if req.genres_any else "、").join(genres) if zh else
                         (" or " if req.genres_any else " and ").join(genres))
        if req.genres_out:
            genres = [genre_label(g, lang) if zh else g.lower() for g in req.genres_out]
            parts.append(t("lead_no", lang, genres=("、" if zh else ", ").join(genres)))
        if req.year_min or req.year_max:
            parts.append(f"{req.year_min or '…'}–{req.year_max or '…'}")
        # moods and quality words as understood, then the person's own content words: "feel-good · sports"
        mood_words = {w for m in rules.vocab.moods for w in m.words.split()}
        mood_words |= {w for k in within_names if getattr(rules.collections.get(k), "kind", "") == "text"
                       for w in k.lower().split()}  # the person named in the films' texts is said above
        # the topic is the person's own words as said ("based on a true story": "true story based", though a
        # mood's words include "true story"); without one, the wish without the words moods put in it
        own = req.topic or " ".join(w for w in req.wish_text.split() if w not in mood_words)
        if req.moods:
            parts.append(" · ".join([mood_label(m, rules.vocab, lang) for m in req.moods] + ([own] if own else [])))
        elif own:
            parts.append(f"“{own}”")
        # the words a mood moves away from are said by the mood itself ("not gory", "feel-good")
        implied = {w for m in rules.vocab.moods for w in (m.words + " " + m.avoid + " " + m.label).split()} \
            if req.moods else set()
        avoid = " ".join(w for w in req.avoid_text.split() if w not in implied)
        if avoid:
            parts.append(t("lead_less", lang, words=avoid))
        if not parts:
            text = t("picks_for_you", lang)
        else:
            text = t("picks", lang) + ("（" + "；".join(parts) + "）" if zh else f" ({'; '.join(parts)})")
    if relaxed:
        what = [t(_RELAX_KEYS[r], lang) if r in _RELAX_KEYS else r for r in relaxed]
        text += t("relaxed", lang, what=join(what, lang))
    return text + ("：" if zh else ":")


# one short sentence per facet the catalog lacks (`Intent.unsupported`); the rest of the request is answered
_UNSUPPORTED = {
    ("origin", "en"): "I don't know which country or language a film is from, so I ignored “{phrase}”.",
    ("origin", "zh"): "我还不知道影片的国家和语言，所以忽略了“{phrase}”。",
    ("origin_searched", "en"): "I don't know which country or language a film is from; these are films whose "
                               "description or tags say “{name}”.",
    ("origin_searched", "zh"): "我还不知道影片的国家和语言；下面是简介或标签里提到“{name}”的电影。",
    ("title", "en"): "I couldn't find “{phrase}” in the catalog, so I left it out.",
    ("title", "zh"): "目录里没有找到“{phrase}”，所以没有按它推荐。",
    ("colour", "en"): "I don't know which films are in black and white or in colour, so I ignored “{phrase}”.",
    ("colour", "zh"): "我还不知道哪些电影是黑白片，所以忽略了“{phrase}”。",
    ("runtime", "en"): "I don't know running times yet, so I ignored “{phrase}”.",
    ("runtime", "zh"): "我还不知道影片的时长，所以忽略了“{phrase}”。",
    ("cast", "en"): "I don't have cast lists yet, so I ignored “{phrase}”.",
    ("cast", "zh"): "我还没有演员表，所以忽略了“{phrase}”。",
    ("cast_searched", "en"): "I don't have cast lists yet, so I can't check who is in a film; these are films whose "
                             "description or tags name {name}.",
    ("cast_searched", "zh"): "我还没有演员表，没法确认谁参演；下面是简介或标签里提到 {name} 的电影。",
}


def unsupported_note(unsupported: list[dict], lang: str) -> str:
    """What the request asked that the catalog cannot answer, said plainly ("" when nothing)."""
    lang = "zh" if lang == "zh" else "en"
    out = []
    for u in unsupported or []:
        facet = f"{u.get('facet')}_searched" if u.get("facet") in ("cast", "origin") and u.get("searched") \
            else u.get("facet")
        template = _UNSUPPORTED.get((facet, lang))
        if template:
            out.append(template.format(phrase=u.get("phrase", ""), name=u.get("name", "")))
    return " ".join(dict.fromkeys(out))


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
