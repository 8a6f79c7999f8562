"""What an LLM writes is checked before it is used (issue 17, item 8): an explanation must cite a fact of its own
item, and the rewrite of a request may not copy the prompt or pull back what the request ruled out."""
import json

import pytest

from chatrec.catalog import Item, load_catalog
from chatrec.chat.explain import LLMExplainer, cited_facts, template_reason
from chatrec.llm import FakeLLM
from chatrec.understand.llm_parser import LLMParser, _first_json_object
from chatrec.understand.rules import RuleParser

from conftest import TINY

CAT = load_catalog(TINY)
RULES = RuleParser(CAT)
ALIEN, GROUNDHOG = CAT["1"], CAT["12"]  # Horror/Sci-Fi 1979 "... crew is hunted ... in deep space"; 1993 comedy


@pytest.mark.parametrize("sentence, item, facts", [
    ("A scary film about a crew hunted in deep space.", ALIEN, ["Horror", "overview:crew", "overview:deep",
                                                                "overview:hunted", "overview:space"]),
    ("A science fiction film from 1979.", ALIEN, ["Sci-Fi", "1979"]),
    ("A late-70s classic.", ALIEN, ["1979"]),
    ("A weatherman relives one day again and again.", GROUNDHOG, ["overview:relives", "overview:weatherman"]),
    ("一部太空船员被外星生物追杀的科幻恐怖片。", ALIEN, ["Horror", "Sci-Fi"]),
    # nothing particular to the film: could be said of any
    ("A good fit for what you asked, from the description.", ALIEN, []),
    ("It is a great movie that you will love.", GROUNDHOG, []),
    ("A scary film.", GROUNDHOG, []),  # true of Alien, not of this comedy
    ("一部非常精彩的电影，值得一看。", ALIEN, []),
])
def test_cited_facts(sentence, item, facts):
    assert cited_facts(sentence, item) == facts


def test_the_titles_own_words_are_not_facts():
    notebook = Item("x", "The Notebook", 2004, ("Drama", "Romance"),
                    overview="A poor young man loves a rich girl; decades later a notebook tells their summer.")
    assert cited_facts("The Notebook is a film about a notebook.", notebook) == []
    assert cited_facts("The Notebook: a poor boy and a rich girl.", notebook) == ["overview:girl", "overview:poor",
                                                                                 "overview:rich"]


def explain(reply, item=ALIEN, wish="scary space film", lang="en"):
    explainer = LLMExplainer(FakeLLM([reply]), "You explain in one short sentence why a film fits.", CAT)
    fallback = template_reason(item, wish, ["Horror"], lang=lang)
    return explainer.explain(item, wish, fallback, lang=lang), fallback, explainer


def test_a_sentence_citing_the_items_facts_is_shown_with_them():
    e, _, explainer = explain("A tense Sci-Fi Horror film about a crew hunted by an alien.")
    assert (e.source, e.rejected) == ("llm", None)
    assert e.text == "A tense Sci-Fi Horror film about a crew hunted by an alien." and "Horror" in e.facts
    assert explainer.outcomes == {"llm": 1}


@pytest.mark.parametrize("reply, why", [
    ("A good fit for what you asked, from the description.", "no facts"),
    ("The user asked for: space.", "echo"),
    ("Title: Alien, a horror film.", "echo"),
    ("It won four Oscars and a Golden Globe.", "ungrounded"),
])
def test_a_sentence_that_cites_nothing_or_echoes_falls_back_to_the_template(reply, why):
    e, fallback, explainer = explain(reply)
    assert (e.text, e.source, e.rejected, e.said) == (fallback, "template", why, reply)
    assert explainer.outcomes == {why: 1}


def test_an_answer_that_never_comes_falls_back():
    class Dead(FakeLLM):
        def generate(self, *args, **kwargs):
            raise ConnectionError("refused")

    explainer = LLMExplainer(Dead(), "prompt", CAT)
    e = explainer.explain(ALIEN, "space", "the template")
    assert (e.text, e.source, e.rejected) == ("the template", "template", "no answer")


def test_the_fake_llm_cites_the_item_it_is_asked_about():
    explainer = LLMExplainer(FakeLLM(), "prompt", CAT)
    e = explainer.explain(GROUNDHOG, "comedy", "the template")
    assert (e.source, e.text) == ("llm", "It matches what you asked for: a comedy film from 1993.")


def rewrite(message, description, prompt="prompt"):
    proposal = json.dumps({"kind": "recommend", "liked": [], "disliked": [], "genres_in": [], "genres_out": [],
                           "description": description})
    return LLMParser(CAT, FakeLLM([proposal]), prompt, RULES).parse(message)


def test_a_rewrite_copying_the_prompts_example_is_dropped():
    prompt = ('Example: "something like Alien but no horror" -> {"kind": "recommend", "description": '
              '"tense science fiction in space without horror"}')
    copied = rewrite("a feel-good sports movie", "tense science fiction in space without horror", prompt)
    assert copied.wish_text == RULES.parse("a feel-good sports movie").wish_text
    own = rewrite("a feel-good sports movie", "uplifting drama about a crew of friends", prompt)
    assert "crew" in own.wish_text.split()


def test_words_only_the_prompts_examples_say_never_join_the_wish():
    prompt = ('description: the films wanted ("uplifting sports drama about an underdog team").\n\n'
              'Example: "x" -> {"kind": "recommend", "description": "tense science fiction in space without horror"}')
    words = rewrite("something like a crew story", "space horror about a crew", prompt).wish_text.split()
    assert "crew" in words and not {"space", "horror"} & set(words)
    said = rewrite("a space adventure", "space adventure about a crew", prompt).wish_text.split()
    assert {"space", "crew"} <= set(said)  # the message says space: the word is its own


def test_a_rewrite_cannot_bring_back_what_the_request_ruled_out():
    said = "a comedy but not a romantic one"
    words = rewrite(said, "a funny romantic comedy about a small town weatherman").wish_text.split()
    assert "weatherman" in words and not {"romantic", "romance"} & set(words)
    words = rewrite("nothing too scary, something cheerful", "a scary horror story about a crew in space").wish_text
    assert "crew" in words.split() and not {"scary", "horror"} & set(words.split())


def test_an_ellipsis_list_copied_from_the_prompt_still_parses():
    raw = '{"kind": "recommend", "liked": [...], "disliked": [ ... ], "genres_out": [], "description": "comedy"}'
    assert json.loads(_first_json_object(raw))["liked"] == []
    intent = LLMParser(CAT, FakeLLM([raw]), "prompt", RULES).parse("something for a night in")
    assert intent.source == "llm+rules" and "comedy" in intent.wish_text.split()
