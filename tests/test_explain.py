"""Explanations say only what the item's own catalog fields (or the user's wish) support."""
import pytest

from chatrec.catalog import Item, load_catalog
from chatrec.chat.explain import LLMExplainer, grounded, template_reason, unsupported_facts
from chatrec.llm import FakeLLM

from conftest import TINY


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(TINY)


@pytest.mark.parametrize("sentence, invented", [
    ("A Disney classic about a crew.", ["Disney"]),
    ("It won three Oscars.", ["Oscars"]),
    ("Directed by Ridley Scott, it is a classic.", ["Directed", "Ridley", "Scott"]),
    ("From 1994, a great ride.", ["1994"]),
    ("Alien is a 1979 sci-fi horror film about a deadly creature.", []),
    ("A tense horror film in deep space, as you asked.", []),
])
def test_unsupported_facts_are_caught(catalog, sentence, invented):
    alien = catalog["1"]
    assert unsupported_facts(sentence, alien) == invented
    assert grounded(sentence, alien, catalog) == (not invented)


def test_the_wish_may_be_echoed(catalog):
    alien = catalog["1"]
    assert not grounded("Just the Ridley Scott mood you wanted.", alien, catalog)
    assert grounded("Just the Ridley Scott mood you wanted.", alien, catalog, wish_text="like Ridley Scott films")


def test_other_titles_are_rejected(catalog):
    assert not grounded("Much like Star Wars, it is set in space.", catalog["1"], catalog)


def test_explainer_falls_back_to_the_template_when_the_llm_invents(catalog):
    alien = catalog["1"]
    fallback = template_reason(alien, "scary space film", ["Horror"])
    invent = LLMExplainer(FakeLLM(["It won four Oscars and a Golden Globe."]), "prompt", catalog)
    assert invent.reason(alien, "scary space film", fallback) == fallback
    honest = LLMExplainer(FakeLLM(["A scary Sci-Fi Horror film about a deadly alien creature."]), "prompt", catalog)
    assert honest.reason(alien, "scary space film", fallback) == "A scary Sci-Fi Horror film about a deadly alien creature."


def test_reading_stops_after_the_first_sentence():
    from chatrec.chat.explain import _first_sentence

    closed = []

    def pieces():
        try:
            for p in ["Rated 3.", "5/5 by many", ". A second", " sentence.", " A third."]:
                yield p
        finally:
            closed.append(True)

    gen = pieces()
    assert _first_sentence(gen) == "Rated 3.5/5 by many. A second"
    assert closed  # the stream was closed, so a real model stops generating
    assert _first_sentence(iter(["只有", "一句。", "后面"])) == "只有一句。"


@pytest.mark.parametrize("sentence", ["A great choice!", "The film's title, title, title, title, title.",
                                      "Great film. Great film. Great film. Great film."])
def test_empty_praise_and_loops_are_rejected(catalog, sentence):
    assert not grounded(sentence, catalog["1"], catalog)


def test_a_wish_its_words_do_not_match_is_answered_with_the_opening_of_its_story():
    # "coming of age": The Breakfast Club was only "rated 3.8/5"; its own description lets the person judge the fit
    club = Item("1", "The Breakfast Club", 1985, ("Comedy", "Drama"), tags=("high school",), rating_mean=3.8,
                rating_count=113, overview="Five high school students, all different stereotypes, meet in detention, "
                                           "where they pour their hearts out to each other. They leave changed.")
    reason = template_reason(club, "coming of age")
    assert "Its story: “Five high school students, all different stereotypes, meet in detention, where they pour" \
           in reason and reason.count("…") == 1 and "They leave" not in reason
    assert "tag it" not in reason  # its tags say nothing of the wish
    assert "简介：“Five high school" in template_reason(club, "coming of age", lang="zh")
    # a word of the wish it does match is said as such, without the story; no wish, no story
    assert "story" not in template_reason(club, "detention") and "mentions detention" in template_reason(club, "detention")
    assert "story" not in template_reason(club, "")


def test_the_storys_opening_is_not_cut_at_an_abbreviation():
    general = Item("2", "Dr. Strangelove", 1964, ("Comedy",), overview="Insane General Jack D. Ripper orders a U.S. "
                                                                   "strike on Russia. The crew panics.")
    assert "“Insane General Jack D. Ripper orders a U.S. strike on Russia”" in template_reason(general, "nuclear war")


def test_a_mood_for_someone_reads_as_a_film_for_them():
    toy = Item("3", "Toy Story", 1995, ("Animation", "Children"), overview="Toys come to life.")
    reason = template_reason(toy, "", moods=["for kids"])
    assert "a film for kids" in reason and "a for kids mood" not in reason
