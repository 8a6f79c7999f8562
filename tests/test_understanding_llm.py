"""The LLM's rewrite of a request (issue 17, item 8): an extra retrieval query, checked like every LLM output."""
import json

from chatrec.catalog import load_table
from chatrec.llm import FakeLLM
from chatrec.understand.llm_parser import LLMParser
from chatrec.understand.rules import RuleParser

from conftest import TINY

CAT = load_table(TINY)
RULES = RuleParser(CAT)


def proposal(description, **slots):
    return json.dumps({"kind": "recommend", "liked": [], "disliked": [], "genres_in": [], "genres_out": [],
                       "description": description, **slots})


def parse(message, description):
    return LLMParser(CAT, FakeLLM([proposal(description)]), "prompt", RULES).parse(message)


def test_the_rewrite_adds_the_catalogs_words_to_the_wish():
    intent = parse("something for a night in", "A tense story about a crew hunted in deep space")
    assert intent.source == "llm+rules"
    assert set(intent.wish_text.split()) >= {"crew", "space"}
    assert not {"a", "about", "in", "tense story"} & set(intent.wish_text.split())


def test_a_rewrite_that_names_another_film_is_dropped_whole():
    intent = parse("something for a night in", "space adventure just like Star Wars with rebels")
    assert intent.wish_text == RULES.parse("something for a night in").wish_text


def test_names_and_unknown_words_never_join_the_wish():
    intent = parse("a film for tonight", "Zorblax starring Meryl Streep about a crew")
    words = intent.wish_text.split()
    assert "crew" in words and not {"zorblax", "meryl", "streep", "starring"} & set(words)


def test_no_rewrite_for_small_talk_or_junk():
    assert parse("hello there", "a crew in space").wish_text == ""
    junk = LLMParser(CAT, FakeLLM([json.dumps({"kind": "recommend", "description": ["not", "a", "string"]})]),
                     "prompt", RULES).parse("something for a night in")
    assert junk.wish_text == RULES.parse("something for a night in").wish_text
