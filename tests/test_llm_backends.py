"""The OpenAI-compatible backend against a local stand-in server, and the faults it must survive."""
import re

import pytest

from chatrec.chat.recommender import Recommender
from chatrec.errors import LLMError
from chatrec.llm import get_llm
from conftest import free_port, make_config
import fake_openai_server


def _citing_answer(original):
    """The stand-in server with one more model, "cites": its explanations state the item's genre and year, read
    from the explainer's prompt (the "good" model's sentence is the same for every film)."""
    def answer(model, messages):
        prompt = messages[-1]["content"] if messages else ""
        genres, year = re.search(r"^Genres: ([^,\n]+)", prompt, re.M), re.search(r"^Year: (\d{4})", prompt, re.M)
        if model == "cites" and genres and year:
            return f"A {genres.group(1).lower()} film from {year.group(1)}, close to what you asked for."
        return original("good" if model == "cites" else model, messages)
    return answer


@pytest.fixture(scope="module")
def server_url():
    port = free_port()
    original = fake_openai_server._answer
    fake_openai_server._answer = _citing_answer(original)  # looked up per request, so the server uses it
    server = fake_openai_server.serve(port)
    yield f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    fake_openai_server._answer = original


def rec_with(tmp_path, url, model, timeout=1.0, consult="always"):
    return Recommender.from_config(make_config(tmp_path, llm="openai", llm_base_url=url, llm_model=model,
                                               llm_timeout=timeout, llm_consult=consult), progress=False)


def test_generate_and_stream(tmp_path, server_url):
    llm = get_llm(make_config(tmp_path, llm="openai", llm_base_url=server_url, llm_model="good"))
    assert llm.generate([{"role": "user", "content": "hi"}]).startswith("A good fit")
    pieces = list(llm.generate([{"role": "user", "content": "hi"}], stream=True))
    assert len(pieces) > 3 and "".join(pieces).strip().startswith("A good fit")


def test_chat_through_the_server(tmp_path, server_url):
    rec = rec_with(tmp_path, server_url, "cites")
    r = rec.session().turn("comedies from the 90s")
    assert r["intent"]["source"] == "llm+rules"
    assert r["items"] and all("Comedy" in it["genres"] for it in r["items"])
    # server-written, grounded, and citing the item's own genre and year
    for it in r["items"]:
        assert it["explanation"] == f"A {it['genres'][0].lower()} film from {it['year']}, close to what you asked for."
    assert rec.explainer.outcomes == {"llm": len(r["items"])}
    assert any("JSON" in c["messages"][0]["content"] for c in fake_openai_server.calls)


def test_a_reason_that_cites_no_fact_of_the_item_is_not_shown(tmp_path, server_url):
    rec = rec_with(tmp_path, server_url, "good")  # "A good fit for what you asked, from the description."
    r = rec.session().turn("comedies from the 90s")
    assert r["items"] and not any(it["explanation"].startswith("A good fit") for it in r["items"])
    assert rec.explainer.outcomes == {"no facts": len(r["items"])}  # the template reason stood, each time


def test_default_asks_the_llm_only_when_the_rules_are_unsure(tmp_path, server_url):
    rec = Recommender.from_config(make_config(tmp_path, llm="openai", llm_base_url=server_url, llm_model="good"),
                                  progress=False)
    assert rec.config.llm_consult == "unclear"
    s = rec.session()
    clear = s.turn("comedies from the 90s")
    assert clear["intent"]["source"] == "rules"
    unclear = s.turn("whatever you think")
    assert unclear["intent"]["source"] != "rules"
    assert unclear["items"]  # an unclear message still gets recommendations (the traditional path)


@pytest.mark.parametrize("model", ["slow", "junk"])
def test_slow_or_junk_server_degrades_to_rules(tmp_path, server_url, model):
    rec = rec_with(tmp_path, server_url, model, timeout=0.5)
    s = rec.session()
    r = s.turn("comedies from the 90s")
    assert r["items"] and all("Comedy" in it["genres"] and 1990 <= it["year"] <= 1999 for it in r["items"])
    assert not any(it["explanation"].startswith("<<<") for it in r["items"])  # junk never shown
    if model == "slow":
        assert "isn't answering" in r["reply"]
        again = s.turn("westerns")
        assert "isn't answering" not in again["reply"]  # said once


def test_dead_server_degrades_to_rules(tmp_path):
    rec = rec_with(tmp_path, f"http://127.0.0.1:{free_port()}/v1", "good", timeout=0.5)
    r = rec.session().turn("bye")
    assert r["intent"]["kind"] == "goodbye" and "isn't answering" in r["reply"]


def test_missing_base_url_is_a_clear_error(tmp_path):
    with pytest.raises(LLMError, match="CHATREC_LLM_BASE_URL"):
        get_llm(make_config(tmp_path, llm="openai"))
