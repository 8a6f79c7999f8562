import json

import pytest

from chatrec.catalog import load_table
from chatrec.intent import Intent, LLMParser, ParseContext, RuleParser, clean_message
from chatrec.llm import FakeLLM
from conftest import TINY

CAT = load_table(TINY)
RULES = RuleParser(CAT)
LAST = ParseContext(["2", "4", "5", "6", "9"])


def titles(ids):
    return [CAT[i].title for i in ids]


@pytest.mark.parametrize("message,kind", [
    ("something like Alien but less gory", "recommend"),
    ("recommend me a comedy", "recommend"),
    ("hello", "chitchat"),
    ("thanks!", "chitchat"),
    ("bye", "goodbye"),
    ("tell me about Alien", "ask_about_item"),
])
def test_kinds_without_a_list(message, kind):
    assert RULES.parse(message).kind == kind


@pytest.mark.parametrize("message,kind", [
    ("loved it!", "feedback"),
    ("I liked the second one", "feedback"),
    ("no horror", "refine"),
    ("older", "refine"),
    ("more like #2", "refine"),
    ("what is the third one about?", "ask_about_item"),
    ("seen it already", "feedback"),
])
def test_kinds_after_a_list(message, kind):
    assert RULES.parse(message, LAST).kind == kind


def test_titles_link_to_catalog_ids_with_polarity():
    intent = RULES.parse("something like Alien but less gory")
    assert titles(intent.liked) == ["Alien"] and intent.avoid_text == "gory"
    intent = RULES.parse("I loved The Matrix but hated Titanic")
    assert titles(intent.liked) == ["The Matrix"] and titles(intent.disliked) == ["Titanic"]
    assert titles(RULES.parse("something like alein").liked) == ["Alien"]  # typo, after a cue word


def test_common_words_are_not_titles():
    # "Up" is a title, but "show me something up to date" does not mention it
    assert RULES.parse("pick me up something fun").liked == []
    assert titles(RULES.parse("I loved Up").liked) == ["Up"]
    assert RULES.parse("a comedy please").liked == []


def test_genres_years_and_negation():
    intent = RULES.parse("funny movies from the 90s but no horror")
    assert intent.genres_in == ["Comedy"] and intent.genres_out == ["Horror"]
    assert (intent.year_min, intent.year_max) == (1990, 1999)
    assert (RULES.parse("sci-fi after 2005").year_min, RULES.parse("westerns before 1970").year_max) == (2005, 1969)
    i = RULES.parse("a thriller between 1980 and 1995")
    assert (i.genres_in, i.year_min, i.year_max) == (["Thriller"], 1980, 1995)


def test_references_to_the_last_list():
    intent = RULES.parse("more like the second one", LAST)
    assert intent.refs == [2] and "more_like" in intent.critiques
    assert RULES.parse("not #3", LAST).refs == [3]
    assert RULES.parse("tell me about the last one", LAST).about_item == "9"


def test_unclear_message_falls_back_to_recommend():
    intent = RULES.parse("qwzx vbnm")
    assert intent.kind == "recommend" and intent.unclear and intent.wish_text == ""


def test_clean_message_strips_control_characters():
    assert clean_message("hi\x00\x07 there", 100) == "hi there"
    assert clean_message("a\ud800b", 10) == "a?b"  # a lone surrogate cannot be encoded: replaced
    assert len(clean_message("x" * 50, 10)) == 10


def test_llm_parser_trusts_nothing_unchecked():
    # The model invents a title the message never says and a genre outside the vocabulary
    fake = FakeLLM([json.dumps({"kind": "recommend", "liked": ["Gone Girl", "Titanic"], "genres_in": ["Space Opera"],
                                "genres_out": []})])
    parser = LLMParser(CAT, fake, "prompt", RULES)
    intent = parser.parse("something scary")
    assert intent.liked == [] and intent.genres_in == ["Horror"]  # only the rule parser's grounded genre
    assert intent.source == "llm+rules"


def test_llm_parser_accepts_grounded_slots_and_resolves_unclear_kind():
    # the rules skip a lower-case common-word title; the LLM names it and the message really says it
    message = "my kid watched up yesterday and wants more"
    assert RULES.parse(message).liked == []
    fake = FakeLLM([json.dumps({"kind": "chitchat", "liked": ["up"], "genres_in": []})])
    intent = LLMParser(CAT, fake, "prompt", RULES).parse(message)
    assert intent.kind == "recommend" and titles(intent.liked) == ["Up"]  # the clear rule kind stands
    fake = FakeLLM([json.dumps({"kind": "recommend", "liked": ["pick"]})])  # a word inside "pickup", not a title
    assert LLMParser(CAT, fake, "prompt", RULES).parse("a pickup truck film").liked == []
    fake = FakeLLM([json.dumps({"kind": "goodbye"})])
    intent = LLMParser(CAT, fake, "prompt", RULES).parse("qwzx vbnm")
    assert intent.kind == "goodbye" and not intent.unclear


@pytest.mark.parametrize("reply", ["not json at all", "{\"kind\": 42}", "[1, 2]", "{\"kind\": \"dance\"}"])
def test_llm_junk_falls_back_to_rules(reply):
    intent = LLMParser(CAT, FakeLLM([reply]), "prompt", RULES).parse("comedies from the 90s")
    assert intent.kind == "recommend" and intent.genres_in == ["Comedy"] and intent.year_min == 1990


def test_dead_llm_backend_falls_back_to_rules():
    class Dead:
        name = "dead"
        def generate(self, *a, **k):
            raise ConnectionError("backend down")
    parser = LLMParser(CAT, Dead(), "prompt", RULES)
    assert parser.parse("bye").kind == "goodbye"
    assert parser.failures == 1


def test_intent_json_names_linked_titles():
    data = RULES.parse("like Alien").to_json(CAT)
    assert data["kind"] == "recommend" and data["liked"] == [{"item_id": "1", "title": "Alien"}]
    json.dumps(data)
