"""A launched app, driven by gradio_client: two clients, each holding its own conversation."""

import pytest

from conftest import launched_app



@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with launched_app(tmp_path_factory.mktemp("app")) as (url, _):
        yield url


def test_gradio_client_conversation(app_url):
    from gradio_client import Client

    alice, bob = Client(app_url, verbose=False), Client(app_url, verbose=False)
    r = alice.predict("comedies from the 90s", api_name="/chat")
    assert set(r) == {"reply", "intent", "items"} and len(r["items"]) == 5
    assert all("Comedy" in it["genres"] and 1990 <= it["year"] <= 1999 for it in r["items"])
    first = r["items"][0]["item_id"]
    fb = alice.predict(1, "dislike", api_name="/feedback")
    assert fb["intent"]["kind"] == "feedback" and "won't come back" in fb["reply"]
    assert "no item 9" in alice.predict(9, "like", api_name="/feedback")["reply"]
    r2 = alice.predict("more comedies please", api_name="/chat")
    assert first not in [it["item_id"] for it in r2["items"]]
    # bob has his own session: no list yet, so feedback has nothing to act on
    assert "no list" in bob.predict(1, "like", api_name="/feedback")["reply"]
    assert bob.predict("", api_name="/chat")["items"] == []


def test_api_critique_rate_profile_forget(app_url):
    from gradio_client import Client

    c = Client(app_url, verbose=False)
    first = c.predict("movies from the 80s and 90s", api_name="/chat")
    years = sorted(it["year"] for it in first["items"])
    older = c.predict("older", None, api_name="/critique")
    assert older["intent"]["kind"] == "refine"
    assert all(it["year"] < years[len(years) // 2] for it in older["items"])
    rated = c.predict(2, 5, api_name="/rate")
    assert "5/5" in rated["reply"]
    profile = c.predict(api_name="/profile")
    assert [r["item_id"] for r in profile["ratings"]] == [older["items"][1]["item_id"]]
    assert profile["recent_critiques"] == ["older"]
    other = Client(app_url, verbose=False).predict(api_name="/profile")
    assert other["ratings"] == [] and other["user_id"] != profile["user_id"]
    assert "deleted your profile" in c.predict(api_name="/forget")["reply"]
    assert c.predict(api_name="/profile")["ratings"] == []
