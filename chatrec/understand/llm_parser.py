"""The LLM parser: the LLM proposes an `Intent` as JSON; the catalog and the rule parser check it.

The rule result is the base: the LLM decides the kind only where the rules found the message unclear, and adds
only titles the message really mentions and that link to the catalog, genres of the catalog that the message
says, and the content words of its rewrite of the request (`description`: an extra retrieval query, kept only in
words the catalog's texts use and the request did not rule out, and dropped whole if it names another film or
copies the prompt's example). A dead backend, a timeout or junk leaves the rule result as it is (and counts a
failure). What the message
says about sentiment and people (`praised`, `panned`, `asks_people`) comes from the rules.
"""
from __future__ import annotations

import json
import re

from chatrec.catalog import Catalog, normalize_title
from chatrec.understand.intent import KINDS, Intent, ParseContext
from chatrec.understand.rules import RuleParser


class LLMParser:
    """The LLM proposes; the catalog and the rule parser check. Nothing unverified gets through."""

    name = "llm"

    def __init__(self, catalog: Catalog, llm, prompt: str, rules: RuleParser | None = None, consult: str = "always"):
        """`consult="unclear"` asks the LLM only when the rules found the message unclear: the only case in which
        its kind is used at all, so the turn pays seconds of generation only where the LLM can change the answer."""
        if consult not in ("always", "unclear"):
            raise ValueError(f"consult must be 'always' or 'unclear', not {consult!r}")
        self.catalog = catalog
        self.llm = llm
        self.prompt = prompt
        self.rules = rules or RuleParser(catalog)
        self.consult = consult
        self.failures = 0

    max_tokens = 96  # the JSON answer is ~40 tokens; a bound keeps a rambling model from costing seconds

    def parse(self, message: str, context: ParseContext | None = None) -> Intent:
        base = self.rules.parse(message, context)
        if self.consult == "unclear" and not base.unclear:
            return base
        try:
            raw = self.llm.generate(
                [{"role": "system", "content": self.prompt}, {"role": "user", "content": message}],
                schema=INTENT_SCHEMA, max_tokens=self.max_tokens,
            )
            proposal = json.loads(_first_json_object(raw))
        except Exception:  # dead backend, timeout, junk: the rule result stands
            self.failures += 1
            return base
        return self.merge(base, proposal, message, context)

    def merge(self, base: Intent, proposal: dict, message: str, context: ParseContext | None = None) -> Intent:
        if not isinstance(proposal, dict):
            return base
        base.source = "llm+rules"
        kind = proposal.get("kind") or proposal.get("intent")
        has_list = bool(context and context.last_items)
        # The rules are precise when they fire on clear cues; the LLM decides only what they left unclear, and
        # only with a kind the dialogue can act on: no feedback or refinement without a list to point at.
        if base.unclear and isinstance(kind, str) and kind in KINDS and (has_list or kind not in ("refine", "feedback")) \
                and kind != "ask_about_item":
            base.kind, base.unclear = kind, False
            if kind in ("chitchat", "goodbye"):
                return Intent(kind, source="llm+rules")
        if base.kind not in ("recommend", "refine", "feedback"):
            return base  # small talk, goodbyes and questions carry no wishes for the LLM to add
        norm_msg = normalize_title(message)
        for slot in ("liked", "disliked"):
            for title in _as_list(proposal.get(slot)):
                item_id = self._grounded_title(str(title), norm_msg)
                if item_id and item_id not in base.liked and item_id not in base.disliked:
                    getattr(base, slot).append(item_id)
        extra = self.description_words(proposal.get("description"), base, self.prompt, message)
        if extra and base.kind in ("recommend", "refine"):
            # the LLM's rewrite of the request: an extra retrieval query, in words the catalog uses
            base.wish_text = " ".join(dict.fromkeys(base.wish_text.split() + extra))
        vocab = {g.lower(): g for g in self.catalog.genres}
        for slot in ("genres_in", "genres_out"):
            for g in _as_list(proposal.get(slot)):
                genre = vocab.get(str(g).lower())
                said = genre and re.search(rf"\b{re.escape(normalize_title(genre))}\b", norm_msg)
                if said and genre not in base.genres_in + base.genres_out:
                    getattr(base, slot).append(genre)
        return base

    MAX_DESCRIPTION_WORDS = 15

    def description_words(self, description, base: Intent, prompt: str = "", message: str = "") -> list[str]:
        """The words of the LLM's rewrite that may join the wish: only content words the catalog's own texts use
        (overviews, tags, genres), never a film title (a catalog title of two or more words, or any capitalised word
        after the first: names are how invented titles and people look), never function words, never a word the
        request ruled out (a genre it excludes or lowers, its avoid words), never a word only the prompt's quoted
        examples say (SmolLM2 added "space horror" from them to "something like Heat")."""
        if not isinstance(description, str) or not description.strip():
            return []
        from chatrec.chat.explain import leaks, titles_in_text  # the one title finder for generated text

        text = description[:300]
        if prompt and leaks(text, prompt, span=4):
            return []  # the prompt's own example copied (a small model's habit), not this request rewritten
        named = set(base.liked) | set(base.disliked)
        for item_id in titles_in_text(text, self.catalog, min_words=2):
            if item_id not in named:
                return []  # it names another film: the whole rewrite is distrusted
        ruled_out = self._ruled_out_words(base) | self._example_words(prompt, message)
        words = re.findall(r"[A-Za-z][\w'-]*", text)
        keep = [w for i, w in enumerate(words) if i == 0 or not w[0].isupper() or w in self.catalog.genres]
        out = []
        for w in keep:
            norm = normalize_title(w)
            for part in norm.split():
                if len(part) >= 3 and part not in self.rules.vocab.function_words and part not in ruled_out \
                        and self.rules._content_word(part):
                    out.append(part)
        return list(dict.fromkeys(out))[:self.MAX_DESCRIPTION_WORDS]

    @staticmethod
    def _example_words(prompt: str, message: str) -> set[str]:
        """Words of the prompt's example descriptions (a `"description": "..."` value, or a quote in the paragraph
        that defines description) that the message does not say."""
        examples = re.findall(r'"description":\s*"([^"]+)"', prompt)
        for paragraph in re.findall(r"^description:.*?(?:\n\s*\n|\Z)", prompt, re.M | re.S):
            examples += re.findall(r'"([^"]+)"', paragraph)
        return set(normalize_title(" ".join(examples)).split()) - set(normalize_title(message).split())

    @staticmethod
    def _ruled_out_words(base: Intent) -> set[str]:
        """Words that would pull back what the request pushed away: the names (and usual words, "scary" for
        Horror) of the genres it excludes or lowers, and its avoid words."""
        from chatrec.chat.explain import _GENRE_WORDS

        lowered = set(base.genres_out) | {g for g, w in base.genre_weights.items() if w < 0 and g not in base.genres_in}
        words = set(normalize_title(base.avoid_text).split())
        for genre in lowered:
            for form in [genre, *_GENRE_WORDS.get(genre, [])]:
                words |= set(normalize_title(form).split())
        return words

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
        "description": {"type": "string"},
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
    # a small model copies the prompt's shape, `"liked": [...]`: an ellipsis list says nothing, so it is empty
    return re.sub(r"\[\s*(\.\.\.|…)\s*\]", "[]", text[start:end + 1])
