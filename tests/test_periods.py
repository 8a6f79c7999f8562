"""Several periods in one request ("the 70s and 90s", 八九十年代): the range spans them, and the list draws from each."""
from __future__ import annotations

import numpy as np

from chatrec.chat.state import DialogueState, state_from_dict, state_to_dict
from chatrec.ranking.diversity import select


def test_select_draws_from_every_group_in_turn():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.1, 0.05])
    vectors = np.eye(6, dtype=np.float32)
    groups = np.array([0, 0, 0, 0, 1, 1])  # the four best are all from the first period
    assert select(np.arange(6), scores, vectors, 4, 1.0) == [0, 1, 2, 3]
    picked = select(np.arange(6), scores, vectors, 4, 1.0, groups=groups)
    assert picked == [0, 4, 1, 5]  # alternating, best first within each period
    assert select(np.arange(6), scores, vectors, 6, 1.0, groups=groups)[-2:] == [2, 3]  # a period runs out: the rest


def test_several_decades_are_parsed_as_periods(recommender):
    parse = recommender.rules.parse
    for text, periods in (("comedies from the 70s or 90s", [(1970, 1979), (1990, 1999)]),
                          ("movies from the 80s and 90s", [(1980, 1989), (1990, 1999)]),
                          ("八九十年代的喜剧", [(1980, 1989), (1990, 1999)])):
        intent = parse(text)
        assert intent.periods == periods, text
        assert (intent.year_min, intent.year_max) == (periods[0][0], periods[-1][1])
    for text in ("comedies from the 90s", "films between 1985 and 1995", "after the 80s"):
        assert parse(text).periods == [], text


def test_a_list_for_two_decades_has_films_from_both(recommender):
    reply = recommender.session().turn("movies from the 70s or 90s")
    years = [it["year"] for it in reply["items"]]
    assert all(1970 <= y <= 1999 for y in years), years
    assert any(y <= 1979 for y in years) and any(y >= 1990 for y in years), years


def test_periods_survive_the_dialogue_store():
    state = DialogueState(periods=[(1980, 1989), (1990, 1999)])
    assert state_from_dict(state_to_dict(state)).periods == [(1980, 1989), (1990, 1999)]
    assert state_from_dict({"periods": [["x", 1], [1, True], 5]}).periods == []  # junk is dropped, not trusted
