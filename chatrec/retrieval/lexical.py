"""Which films viewers tagged with a topic: a word index over each film's tags.

A sentence encoder reads a whole text at once, and one word among many moves its vector little: the films nearest to
"revenge" were those whose short texts say little else (*Mean Creek*, 2 ratings; *Fury*, 1936), while *Gladiator*
and *Braveheart*, both tagged "revenge", were 2,031st and 5,532nd; *The Sixth Sense*, tagged "twist ending", was
7,742nd nearest to "twist". A tag is a viewer's deliberate word for what a film is, so a film tagged with the topic
is about it; the encoder still finds the films that say it otherwise. Titles are not read: a wish never matches a
title's words.

Only tags, not overviews: an overview uses a word in any sense ("movies about sharks" matched *Rocky*'s loan shark,
*West Side Story*'s Sharks, *Rounders*' card sharks). A word is matched in its plain inflections ("dinosaurs" finds
"dinosaur"); a phrase needs all its words among one film's tags. A phrase more than `MAX_SHARE` of the catalog's
films are tagged with is too common to say what a film is about and matches nothing.
"""
from __future__ import annotations

import threading

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

from chatrec.catalog import Catalog

MAX_SHARE = 0.05  # a phrase that more of the catalog's films are tagged with says nothing about any one of them


def _forms(word: str) -> list[str]:
    """The word and its plain English inflections: singular and plural."""
    forms = {word, word + "s", word + "es"}
    if word.endswith("ies"):
        forms.add(word[:-3] + "y")
    if word.endswith("y"):
        forms.add(word[:-1] + "ies")
    if word.endswith("es"):
        forms.add(word[:-2])
    if word.endswith("s"):
        forms.add(word[:-1])
    return sorted(forms)


class Lexicon:
    """The films whose tags contain a phrase's words (`matches`). Built on first use (well under a second for 10k
    films; a chat that never names a topic never pays for it), then read-only and thread-safe."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._index: tuple[dict[str, int], object] | None = None
        self._lock = threading.Lock()

    def _build(self) -> tuple[dict[str, int], object] | None:
        with self._lock:
            if self._index is None:
                vec = CountVectorizer(binary=True, dtype=np.int8, lowercase=True)
                try:  # a column per word (CSC): the films tagged with it, at once
                    self._index = (vec.fit_transform([" ".join(it.tags) for it in self.catalog.items]).tocsc(),
                                   vec.vocabulary_)
                except ValueError:  # no tags at all
                    self._index = (None, {})
        return self._index

    def _word(self, word: str) -> np.ndarray:
        matrix, vocab = self._build()
        out = np.zeros(len(self.catalog), dtype=bool)
        for form in _forms(word):
            j = vocab.get(form)
            if j is not None:
                out[matrix.indices[matrix.indptr[j]:matrix.indptr[j + 1]]] = True
        return out

    def matches(self, phrase: str) -> np.ndarray | None:
        """Per catalog item, whether its tags contain every word of `phrase` (None: none does, or too many do)."""
        words = [w for w in phrase.lower().split() if len(w) >= 3]
        if not words or not len(self.catalog):
            return None
        found = np.ones(len(self.catalog), dtype=bool)
        for w in words:
            found &= self._word(w)
        if not found.any() or found.mean() > MAX_SHARE:
            return None
        return found
