"""The parser's vocabulary is data: a new word in a vocab/ file changes what the parser understands, no code."""
import csv
import importlib.util
import re
import shutil
from dataclasses import fields

import pytest

from chatrec.catalog import load_table
from chatrec.config import ROOT
from chatrec.understand import vocab
from chatrec.understand.intent import Intent, ParseContext
from chatrec.understand.rules import RuleParser
from conftest import TINY

CAT = load_table(TINY)
RULES = RuleParser(CAT)


def add_words(path, table: str, key: str, words: list[str]) -> None:
    """Append words to the list `key` of `[table]` in a copied TOML file (a person's edit, done as text)."""
    text = path.read_text(encoding="utf-8")
    start = text.index(f"[{table}]\n")
    m = re.compile(rf"^{key} = \[", re.M).search(text, start)
    insert = m.end()
    text = text[:insert] + "".join(f'"{w}", ' for w in words) + text[insert:]
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def edited(tmp_path):
    """A copy of the shipped vocabulary with a few new words, as a person would add them."""
    folder = tmp_path / "vocab"
    shutil.copytree(vocab.VOCAB_DIR, folder)
    text = (folder / "genres.toml").read_text(encoding="utf-8")  # new synonyms: new keys of a table
    text = text.replace('[en]\n', '[en]\n"sitcomish" = "Comedy"\n', 1).replace('[zh]\n', '[zh]\n"笑片" = "Comedy"\n', 1)
    (folder / "genres.toml").write_text(text, encoding="utf-8")
    text = (folder / "wish.toml").read_text(encoding="utf-8")
    (folder / "wish.toml").write_text(text.replace('filler = [\n', 'filler = [\n    "crew",\n', 1), encoding="utf-8")
    add_words(folder / "sentiment.toml", "praise", "en", ["dug"])
    add_words(folder / "dialogue.toml", "people", "en", ["screenwriter"])
    with open(folder / "zh_titles.csv", "a", encoding="utf-8") as f:
        f.write("Paddington,2014,帕丁顿熊,,\n")
    return vocab.load(folder)


def test_a_new_word_is_a_data_change(edited):
    rules = RuleParser(CAT, aliases=None, vocab=edited)
    shipped = RuleParser(CAT, aliases=None)
    assert shipped.parse("some sitcomish films").genres_in == []
    assert rules.parse("some sitcomish films").genres_in == ["Comedy"]  # an English genre synonym
    assert rules.parse("推荐几部笑片").genres_in == ["Comedy"]  # a Chinese one
    assert shipped.parse("films about robots and a crew").wish_text == "robots crew"
    assert rules.parse("films about robots and a crew").wish_text == "robots"  # a wish stop-word
    assert not shipped.parse("I dug Alien").praised
    assert rules.parse("I dug Alien").praised  # a sentiment word
    assert not shipped.parse("tell me about the screenwriter of Alien").asks_people
    assert rules.parse("tell me about the screenwriter of Alien").asks_people  # a people word
    assert shipped.parse("我喜欢帕丁顿熊").liked == []
    assert [CAT[i].title for i in rules.parse("我喜欢帕丁顿熊").liked] == ["Paddington"]  # a Chinese film title


def test_the_new_word_reaches_the_dialogue(fresh_recommender, edited):
    """A praise word added to sentiment.toml makes the session keep the named film as a like."""
    rec = fresh_recommender
    s = rec.session()
    s.turn("I dug Alien, something like it")
    assert s.profile.liked == []
    rec.rules = rec.parser = RuleParser(rec.catalog, vocab=edited)
    s = rec.session()
    s.turn("I dug Alien, something like it")
    assert [rec.catalog[i].title for i in s.profile.liked] == ["Alien"]


def test_the_vocabulary_is_read_once():
    assert vocab.load() is vocab.load() is vocab.load(vocab.VOCAB_DIR) is RULES.vocab
    assert RuleParser(CAT).vocab is RULES.vocab


def test_every_data_file_says_what_it_holds():
    files = sorted(p for p in vocab.VOCAB_DIR.iterdir() if p.suffix in (".toml", ".csv", ".json"))
    assert {p.name for p in files} >= {"genres.toml", "critiques.toml", "sentiment.toml", "dialogue.toml", "negation.toml",
                                       "wish.toml", "titles.toml", "numbers.toml", "zh_wish_words.toml", "zh_titles.csv"}
    for p in files:
        assert p.read_text(encoding="utf-8").startswith("# "), p.name


def test_an_emptied_list_matches_nothing(tmp_path):
    folder = tmp_path / "vocab"
    shutil.copytree(vocab.VOCAB_DIR, folder)
    text = (folder / "sentiment.toml").read_text(encoding="utf-8")
    start = text.index("[pan]\n")
    end = text.index("\n[", start + 1)
    (folder / "sentiment.toml").write_text(text[:start] + "[pan]\n" + text[end:], encoding="utf-8")
    rules = RuleParser(CAT, vocab=vocab.load(folder))
    intent = rules.parse("I hated Titanic")
    assert not intent.panned and [CAT[i].title for i in intent.disliked] == ["Titanic"]


# ------------------------------------------------------------------ sentiment and people in the Intent

@pytest.mark.parametrize("message,praised,panned", [
    ("I loved Alien but hated Titanic", True, True),
    ("my favourite is Up, something like it", True, False),
    ("I didn't like The Matrix", False, True),
    ("can't stand Titanic", False, True),
    ("我最爱千与千寻", True, False),
    ("不喜欢泰坦尼克号", False, True),
    ("不太喜欢泰坦尼克号", False, False),
    ("something like Alien", False, False),
])
def test_praise_and_pans(message, praised, panned):
    intent = RULES.parse(message)
    assert (intent.praised, intent.panned) == (praised, panned)


@pytest.mark.parametrize("message,people", [
    ("who directed Alien?", True), ("who stars in the second one?", True), ("Alien的导演是谁", True),
    ("tell me about Alien", False), ("千与千寻讲的是什么", False),
])
def test_asks_about_people(message, people):
    intent = RULES.parse(message, ParseContext(["1", "2", "3"]))
    assert intent.kind == "ask_about_item" and intent.asks_people == people


def test_the_json_contract_keeps_its_keys():
    data = RULES.parse("I loved Alien, who directed it?").to_json(CAT)
    # the keys the CLI and API have always had, in their order; new keys only ever come after them
    assert list(data)[:17] == ["kind", "liked", "disliked", "genres_in", "genres_any", "genres_out", "year_min",
                               "year_max", "wish_text", "avoid_text", "about_item", "refs", "sentiment", "critiques",
                               "collections", "unclear", "source"]
    assert list(data)[17:] == ["moods", "genre_weights", "quality_bias", "popularity_bias", "obscure", "unsupported"]
    assert {f.name for f in fields(Intent)} - set(data) == {"praised", "panned", "asks_people", "periods", "topic",
                                                            "topic_kinds"}


# ------------------------------------------------------------------ Chinese titles: one table for the parser and the script

def test_the_alias_script_and_the_parser_read_one_title_table():
    spec = importlib.util.spec_from_file_location("build_aliases_zh", ROOT / "scripts" / "build_aliases_zh.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    rows = vocab.read_zh_titles()
    assert [t[0] for t in script.TITLES] == [r.title for r in rows]
    for (title, year, zh, en), row in zip(script.TITLES, rows):
        assert zh.split("|")[:len(row.zh_fallback)] == row.zh_fallback  # the fallback names lead
    fallback = vocab.load().zh_titles
    assert fallback["千与千寻"] == "Spirited Away" and "神隐少女" not in fallback  # zh_more: only through the alias table
    assert [CAT[i].title for i in RuleParser(CAT, aliases=None).parse("像千与千寻的动画").liked] == ["Spirited Away"]
    with open(ROOT / "data" / "movielens" / "aliases_zh.csv", encoding="utf-8") as f:
        shipped = {r["movie_id"]: r["zh"] for r in csv.DictReader(f) if r["kind"] == "title"}
    assert "千与千寻|千與千尋|神隐少女" in shipped.values()  # the shipped table was built from the same rows
