"""ReDial evaluation and the user simulator on a hand-written ReDial file and the 42-film test catalog.

(The metric formulas themselves are tested in tests/test_metrics.py.)
"""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import DATA, TINY

from chatrec.evaluation import redial, simulator
from chatrec.catalog import load_catalog, load_table, normalize_title
from chatrec.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench" / "crs"))
import baselines  # noqa: E402  (bench/crs/baselines.py: the benchmark's same-run baselines)

DIALOGUES = DATA / "redial_tiny.jsonl"
# ReDial id -> (name, linked tiny-catalog id or "")
MOVIES = {
    "100": ("Alien (1979)", "1"), "101": ("Aliens (1986)", "2"), "102": ("The Matrix (1999)", "33"),
    "103": ("Matrix, The (1999)", "33"), "105": ("Toy Story (1995)", "10"), "106": ("Up (2009)", "11"),
    "107": ("Die Hard (1988)", "31"), "108": ("Heat (1995)", "23"), "109": ("Superbad  (2007)", "14"),
    "110": ("The Hangover (2009)", "15"), "111": ("Unknown Gem (2011)", ""), "112": ("Unknown Gem  (2011)", ""),
}


@pytest.fixture
def redial_dir(tmp_path):
    d = tmp_path / "redial"
    d.mkdir()
    with open(d / redial.MOVIES_FILE, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["movieId", "movieName", "nbMentions"])
        for rid, (name, _) in MOVIES.items():
            w.writerow([rid, name, 1])
    with open(d / redial.LINK_FILE, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["redialId", "redialName", "nbMentions", "mlMovieId", "mlTitle", "match"])
        for rid, (name, ml) in MOVIES.items():
            w.writerow([rid, name, 1, ml, "", "title+year" if ml else "none"])
    return d


@pytest.fixture
def rcat(redial_dir):
    return redial.build_redial_catalog(redial_dir, TINY)


@pytest.fixture
def rec(rcat, tmp_path):
    config = redial.redial_config(Config(catalog=str(TINY), embedder="hashing", llm="none"),
                               index_dir=tmp_path / "index", profile_db=str(tmp_path / "p.sqlite3"))
    return redial.open_redial_recommender(config, rcat, llm=None, movielens_dir=TINY)


# ------------------------------------------------------------------ format

def test_load_redial_roles_and_mentions():
    convs = redial.load_redial(DIALOGUES)
    assert [c.conv_id for c in convs] == ["1", "2", "3", "4"]
    c = convs[0]
    assert [m.role for m in c.messages] == ["seeker", "recommender", "seeker", "recommender", "seeker"]
    assert c.messages[1].mentions == ["101", "102"]
    assert c.movie_names["103"] == "Matrix, The (1999)"
    assert len(redial.load_redial(DIALOGUES, limit=2)) == 2


def test_load_redial_names_a_bad_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": []}\nnot json\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2"):
        redial.load_redial(bad)


def test_replace_mentions_types_titles_without_year():
    names = {"100": "Alien (1979)", "103": "Matrix, The (1999)", "109": "Superbad  (2007)"}
    assert redial.replace_mentions("I love sci-fi movies like @100", names) == "I love sci-fi movies like Alien"
    assert redial.replace_mentions("@103 and @109!", names) == "The Matrix and Superbad!"
    assert redial.replace_mentions("what about @999 then", names) == "what about then"
    assert redial.split_name("Police Academy  (1984)") == ("Police Academy", 1984)
    assert redial.split_name("American Pie ") == ("American Pie", None)


def test_eval_turns_targets_context_and_strict():
    c1, c2, c3, c4 = redial.load_redial(DIALOGUES)
    t = redial.eval_turns(c1)
    assert [x.index for x in t] == [1, 3]
    assert t[0].targets == ["101", "102"] and t[0].context == ["100"] and t[0].strict_targets == ["101", "102"]
    assert t[1].targets == ["103", "111"] and t[1].context == ["100", "101", "102"]
    assert t[1].strict_targets == ["103", "111"]
    # with the catalog's merge, @103 is the same film as @102: already mentioned, so not a strict target
    t = redial.eval_turns(c1, {"103": "102"})
    assert t[1].targets == ["102", "111"] and t[1].strict_targets == ["111"]
    t = redial.eval_turns(c2)  # consecutive recommender messages are separate turns (the standard protocol)
    assert [(x.targets, x.strict_targets) for x in t] == [(["110"], ["110"]), (["105"], ["105"]),
                                                          (["106", "110"], ["106"])]
    assert t[2].context_by_recommender == ["110", "105"]
    assert redial.eval_turns(c3) == []
    assert len(redial.eval_turns(c4)) == 1


# ------------------------------------------------------------------ catalog

def test_catalog_links_merges_and_keeps_movielens_text(rcat):
    ml = load_catalog(TINY)
    cat = rcat.catalog
    assert rcat.canonical["103"] == "102" and rcat.canonical["112"] == "111"  # same ML film; same title+year
    assert len(cat) == len(MOVIES) - 2 and len(rcat.canonical) == len(MOVIES)
    assert cat["102"].text() == ml["33"].text() and cat["102"].content_hash() == ml["33"].content_hash()
    assert rcat.ml_of["102"] == "33" and "111" not in rcat.ml_of
    gem = cat["111"]
    assert (gem.title, gem.year, gem.genres, gem.overview) == ("Unknown Gem", 2011, (), "")


def test_catalog_jsonl_round_trip(rcat, tmp_path):
    path = redial.write_catalog_jsonl(rcat.catalog, tmp_path / "catalog.jsonl")
    back = load_table(path)
    assert back.fingerprint() == rcat.catalog.fingerprint()
    assert [it.text() for it in back.items] == [it.text() for it in rcat.catalog.items]


# ------------------------------------------------------------------ metrics

def test_target_ranks_ties_and_strict_drop():
    index_of = {"a": 0, "b": 1, "c": 2, "d": 3}
    score = np.array([0.9, 0.5, 0.5, 0.1])
    assert redial.target_ranks(score, ["a", "b", "d", "zz"], index_of) == [1, 3, 4, None]  # ties count against
    assert redial.target_ranks(score, ["c"], index_of, drop=["a"]) == [2]


def test_redial_bootstrap_resamples_conversations():
    # the ReDial intervals are metrics.bootstrap_ci over the protocol's metric keys, one group per conversation
    groups = [[1, 20], [None], [2, 3, 100], [5], [None, 7]]
    ci = redial.bootstrap(groups, n_boot=200)
    assert list(ci) == list(redial.METRIC_KEYS)
    point = redial.metrics_from_ranks([r for g in groups for r in g], redial.KS)
    for k in redial.METRIC_KEYS:
        assert ci[k][0] <= point[k] + 1e-9 and point[k] <= ci[k][1] + 1e-9


def test_evaluate_records_strict_removes_mentioned(rcat):
    cat = rcat.catalog
    idx = cat.index_of
    turn = redial.EvalTurn("c", 3, targets=["101", "111"], context=["100", "101"], context_by_recommender=["101"])
    # pipeline ranking: 100 (mentioned), 101 (mentioned target), 111 (new target), then the rest
    order = ["100", "101", "111"] + [i.item_id for i in cat.items if i.item_id not in ("100", "101", "111")]
    record = redial.TurnRecord(turn, np.array([idx[i] for i in order]), np.zeros(len(order)), "", {})
    out = redial.evaluate_records([record], cat, n_boot=0)
    assert out["n_targets"] == 2 and out["recall@1"] == 0.0 and out["recall@10"] == 1.0
    assert out["mrr"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    # strict: 101 is dropped as a target, and the mentioned films leave the ranking, so 111 is first
    assert out["strict"]["n_targets"] == 1 and out["strict"]["recall@1"] == 1.0


# ------------------------------------------------------------------ through the pipeline

def test_run_conversation_feeds_seeker_turns_through_the_chat(rec, rcat):
    convs = redial.load_redial(DIALOGUES)
    records = redial.run_conversation(rec, convs[0], rcat.canonical)
    assert [r.turn.index for r in records] == [1, 3]
    first = records[0]
    assert first.seeker_text == "Hi! I love sci-fi movies like Alien"
    assert first.state["seeds"] == ["100"]  # the typed title was linked to the catalog by the intent parser
    assert len(first.positions) > 0
    records = redial.run_conversation(rec, convs[3], rcat.canonical)  # @107 via movieMentions, @108 via the catalog
    assert records[0].seeker_text == "Something like Die Hard from the 80s"
    assert records[0].state["years"] == [1980, 1989]


def test_the_chats_own_picks_are_not_what_the_redial_seeker_saw(rec, rcat):
    """The protocol replays a human dialogue: the seeker saw the ReDial recommender's films, never the chat's own
    list, so the chat's picks must not become "shown" films, list references or the dialogue's context."""
    conv = redial.load_redial(DIALOGUES)[0]
    states = []
    redial.run_conversation(rec, conv, rcat.canonical,
                            at_turn=lambda session, turn: states.append(
                                (list(session.state.shown), list(session.state.brought_up), turn)))
    assert states
    for shown, brought_up, turn in states:
        said = set(turn.context)  # every film the dialogue mentioned before this recommender turn
        assert set(shown) <= said and set(brought_up) <= said, (shown, brought_up, said)
    session = rec.session("u_check")
    session.turn("Hi! I love sci-fi movies like Alien")
    assert session.state.shown  # the live chat itself does remember what it showed


def test_gold_mentions_bring_up_the_films_the_dataset_links(rec, rcat, monkeypatch):
    """With `gold_mentions` the seeker's films count as the dataset links them, as published systems read them;
    without it the chat must find them in the typed titles. Typed as "that film", only the links can say which."""
    conv = redial.load_redial(DIALOGUES)[0]
    monkeypatch.setattr(redial, "replace_mentions", lambda text, names: re.sub(r"@\d+", "that film", text))

    def context_at_turns(gold):
        seen = []
        redial.run_conversation(rec, conv, rcat.canonical, gold_mentions=gold,
                                at_turn=lambda session, turn: seen.append(
                                    (set(session.state.brought_up),
                                     {c for c in turn.context if c in rec.catalog.index_of}
                                     - set(turn.context_by_recommender))))
        return seen

    gold = context_at_turns(True)
    assert gold and all(said <= brought for brought, said in gold)
    assert any(said - brought for brought, said in context_at_turns(False))  # the chat alone could not link them


def test_dialogue_model_comention_leaves_own_conversation_out(rcat):
    train = redial.load_redial(DIALOGUES)
    model = baselines.DialogueModel(rcat.catalog, train, rcat.canonical)
    idx = rcat.catalog.index_of
    with_self = model.signals(["109"])["comention"]
    assert with_self[idx["110"]] > 0  # Superbad and The Hangover share conversation 2
    without = model.signals(["109"], exclude_conv="2")["comention"]
    assert without[idx["110"]] == 0


def test_simulator_never_says_the_title(rec):
    cat = rec.catalog
    # Alien's overview says "alien": the simulator must still never say the title
    targets = [i.item_id for i in cat.items if i.overview][:6]
    assert "100" in targets
    out = simulator.simulate(rec, targets, max_turns=3, min_df=0)
    assert out["n"] == len(targets)
    for r in out["results"]:
        item = cat[r["target"]]
        for msg in r["said"]:
            norm = f" {normalize_title(msg)} "
            assert f" {normalize_title(item.title)} " not in norm, (item.title, msg)
        assert r["said"] and len(r["said"]) <= 3
    assert 0.0 <= out["success_rate"] <= 1.0


def test_evaluate_crs_command_json_shape(redial_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("CHATREC_EMBEDDER", "hashing")
    monkeypatch.setenv("CHATREC_LLM", "fake")
    args = ["--data", str(DIALOGUES), "--json", "--train", "", "--redial-dir", str(redial_dir),
            "--movielens", str(TINY), "--index-dir", str(tmp_path / "idx"), "--simulate", "2", "--max-turns", "2"]
    result = CliRunner().invoke(redial.evaluate_crs_cmd, args)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    data = json.loads(lines[0])
    for key in ("recall@1", "recall@10", "recall@50", "ndcg@10", "mrr", "n_targets"):
        assert key in data and key in data["strict"]
    # conversation 1: 2 + 2 targets, 2: 1 + 1 + 2, 4: 1; strict drops @103 (= @102, mentioned) and the repeated @110
    assert data["n_targets"] == 9 and data["strict"]["n_targets"] == 7
    assert data["simulator"]["n"] == 2


def test_evaluate_crs_refuses_training_on_the_evaluated_file(tmp_path):
    result = CliRunner().invoke(redial.evaluate_crs_cmd, ["--data", str(DIALOGUES), "--train", str(DIALOGUES)])
    assert result.exit_code != 0 and "must not be the evaluated" in result.output


def test_simulator_drops_names_and_title_words(rec):
    from chatrec.catalog import Item

    item = Item("900", "The Waterboy", 1998, ("Comedy",),
                overview="Bobby Boucher is a waterboy for a struggling college football team. Bobby has a talent "
                         "for tackling.")
    vec = np.ones(rec.index.vectors.shape[1], dtype=np.float32)
    user = simulator.SimulatedUser(item, vec, rec.index.vectors, rec.catalog, min_df=0)
    assert "bobby" not in user.plot_words and "boucher" not in user.plot_words
    assert "waterboy" not in user.plot_words and "struggling" in user.plot_words
    assert simulator.SimulatedUser(item, vec, rec.index.vectors, rec.catalog, min_df=3).plot_words == []  # vague
    first = user.opening()
    assert first.startswith("I'm looking for a comedy movie from the 1990s, about ")
    assert "waterboy" not in first.lower()


def test_tune_weights_on_training_records(rec, rcat, monkeypatch):
    convs = redial.load_redial(DIALOGUES)
    records = redial.collect(rec, convs, rcat.canonical)
    model = baselines.DialogueModel(rcat.catalog, convs, rcat.canonical)
    calls = []
    real = baselines.DialogueModel.signals

    def counting(self, context, recency=0.7, exclude_conv=None, memo=None):
        if memo is None:
            calls.append((tuple(context), recency, exclude_conv))
        return real(self, context, recency, exclude_conv, memo)
    monkeypatch.setattr(baselines.DialogueModel, "signals", counting)
    weights, value = baselines.tune_weights(records, model, rcat.catalog,
                                         grid={"comention": [0.0, 1.0], "pipeline": [0.0, 1.0]})
    assert isinstance(weights, baselines.Weights) and 0.0 <= value <= 1.5
    assert "signals" not in model.__dict__  # nothing is patched onto the model
    # 9 weight settings scored (the start, then 2 rounds x 2 weights x 2 values), every turn each time, but each
    # turn's signals are computed once
    turns_with_context = {(tuple(r.turn.context), 0.7, r.turn.conv_id) for r in records}
    assert sorted(calls) == sorted(turns_with_context)


def test_signals_memo_gives_the_same_numbers(rec, rcat):
    convs = redial.load_redial(DIALOGUES)
    records = redial.collect(rec, convs, rcat.canonical)
    model = baselines.DialogueModel(rcat.catalog, convs, rcat.canonical)
    memo: dict = {}
    n, w = len(rcat.catalog), baselines.Weights()
    plain = redial.evaluate_records(records, rcat.catalog, lambda r: baselines.blend_scores(r, model, w, n, True),
                                    n_boot=0)
    cached = redial.evaluate_records(records, rcat.catalog,
                                     lambda r: baselines.blend_scores(r, model, w, n, True, memo), n_boot=0)
    again = redial.evaluate_records(records, rcat.catalog,
                                    lambda r: baselines.blend_scores(r, model, w, n, True, memo), n_boot=0)
    assert plain == cached == again and memo
    key = next(iter(memo))
    assert model.signals(*key, memo=memo) is memo[key]  # a hit returns the remembered arrays


def test_simulated_users_of_one_catalog_share_one_word_count(rec, monkeypatch):
    counted = []
    real = simulator.word_df
    monkeypatch.setattr(simulator, "word_df", lambda catalog: counted.append(catalog) or real(catalog))
    targets = [i.item_id for i in rec.catalog.items if i.overview][:3]
    simulator.simulate(rec, targets, max_turns=1, min_df=0)
    assert counted == [rec.catalog]  # once per run, not once per user, and no module-level cache to go stale
    assert not [name for name, v in vars(simulator).items() if isinstance(v, dict) and not name.startswith("__")]
    users = simulator.UserSimulator(rec.catalog, rec.index.vectors, min_df=0)
    alone = simulator.SimulatedUser(rec.catalog[targets[0]], rec.index.vectors[0], rec.index.vectors, rec.catalog,
                                    min_df=0)
    assert users.user(targets[0]).plot_words == alone.plot_words


def test_simulation_targets_are_mentioned_films_with_a_plot(rcat):
    convs = redial.load_redial(DIALOGUES)
    mentioned = redial.mentioned_films(rcat, convs)
    assert "103" not in mentioned and "102" in mentioned  # ReDial ids become catalog ids (@103 is @102's film)
    targets = simulator.sample_targets(rcat.catalog, mentioned, 50, seed=1)
    assert targets and set(targets) <= mentioned
    assert all(rcat.catalog[t].overview and rcat.catalog[t].genres for t in targets)  # "Unknown Gem" has no plot
    assert "111" not in targets
    assert targets == simulator.sample_targets(rcat.catalog, mentioned, 50, seed=1)


def test_leave_out_drops_conversations_of_the_same_workers_and_their_counts(rcat):
    convs = redial.load_redial(DIALOGUES)
    twin = redial.parse_conversation(json.loads(DIALOGUES.read_text().splitlines()[1]))
    twin.conv_id, twin.recommender = "99", 42  # same seeker as conversation 2, another recommender
    model = baselines.DialogueModel(rcat.catalog, convs + [twin], rcat.canonical)
    idx = rcat.catalog.index_of
    assert sorted(model.leave_out["2"].tolist()) == [1, 4]
    sig = model.signals(["109"], exclude_conv="2")
    assert sig["comention"][idx["110"]] == 0  # the twin shares the seeker: left out as well
    assert sig["popularity"][idx["110"]] == 0 and model.popularity[idx["110"]] > 0
    assert sig["target_popularity"][idx["110"]] == 0 and model.target_popularity[idx["110"]] > 0
    assert model.signals(["109"])["comention"][idx["110"]] > 0


def test_the_evaluation_and_the_chat_rank_through_the_same_function(rec, monkeypatch):
    # one ranking path: the benchmark's long list is `Recommender.rank` on the request the dialogue state builds,
    # the very call the chat's picks come from ("only Miyazaki's films" and every other constraint included)
    from chatrec.chat.recommender import Recommender

    calls = []
    real = Recommender.rank

    def spy(self, req, profile, k=None, **kw):
        calls.append(req)
        return real(self, req, profile, k, **kw)
    monkeypatch.setattr(Recommender, "rank", spy)
    session = rec.session("one-path")
    session.turn("something like Toy Story, no horror")
    chat_req = calls[-1]
    positions, scores = redial.rank_pipeline(rec, session)
    eval_req = calls[-1]
    assert len(calls) == 2 and len(positions) and list(scores) == sorted(scores, reverse=True)
    assert eval_req.seeds == chat_req.seeds and eval_req.genres_out == chat_req.genres_out == ["Horror"]
    assert eval_req.exclude == set()  # the benchmark ranks the whole catalog; the chat leaves out what it showed
    session.state.within = ["10", "11"]
    assert session.state.request().within == ["10", "11"]


@pytest.mark.slow
def test_evaluate_crs_runs_on_the_bundled_data(tmp_path):
    # `chatrec evaluate-crs` with no data options reads data/redial/ and data/movielens/ inside the repository:
    # run from another folder, through the CLI's lazy command table, on the first two dev conversations
    root = Path(redial.__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    def run(*extra):
        out = subprocess.run([sys.executable, "-c", "from chatrec.app.cli import main; main()", "evaluate-crs",
                              "--json", "--limit", "2", "--embedder", "hashing", "--llm", "none",
                              "--index-dir", str(tmp_path / "idx"), *extra],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    data = run("--no-head")  # (learning the head from all 1,401 training dialogues takes minutes)
    assert Path(data["setup"]["data"]) == root / "data" / "redial" / "dev_data.jsonl"
    assert Path(data["setup"]["train"]) == root / "data" / "redial" / "train_subset_1401.jsonl"
    assert data["setup"]["conversations"] == 2 and data["n_targets"] > 0
    assert data["setup"]["redial_ids"] == 6924 and data["setup"]["linked_items"] == 3963
    assert data["setup"]["ranking"].startswith("Recommender.rank") and data["setup"]["head"] is None
    # the default: the chat's head, learned from the training dialogues given (here the first 60)
    small = tmp_path / "train60.jsonl"
    lines = (root / "data" / "redial" / "train_subset_1401.jsonl").read_text(encoding="utf-8").splitlines()[:60]
    small.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = run("--train", str(small))
    assert data["setup"]["head"]["requests"] > 0 and data["n_targets"] > 0
    out = subprocess.run([sys.executable, "-c", "from chatrec.app.cli import main; main()", "evaluate-crs",
                          "--weights", "w.json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "blend was removed" in out.stderr


def test_the_chat_collaborative_source_on_redial_learns_from_training_conversations_only(rcat, tmp_path):
    # co-mention as the chat's own collaborative source: vectors for exactly the films the training side knows
    train = redial.load_redial(DIALOGUES)[:2]
    vectors = redial.redial_collab(rcat, train)
    idx = rcat.catalog.index_of
    mentioned = {rcat.canonical.get(m, m) for c in train for msg in c.messages for m in msg.mentions}
    known = {rcat.catalog.items[p].item_id for p in np.flatnonzero(np.linalg.norm(vectors, axis=1) > 0)}
    assert known == {m for m in mentioned if m in idx}
    assert redial.redial_collab(rcat, []) is None
    config = redial.redial_config(Config(catalog=str(TINY), embedder="hashing", llm="none"),
                                  index_dir=tmp_path / "index", profile_db=str(tmp_path / "p.sqlite3"))
    rec = redial.open_redial_recommender(config, rcat, llm=None, movielens_dir=TINY, train=train)
    assert rec.collab is not None and rec.session("c").turn("something like Toy Story")["items"]


def test_the_redial_head_learns_from_training_turns_answered_by_the_chat(rcat, tmp_path):
    """Each training row is one recommender turn: the chat's candidates for the dialogue so far (its own evidence),
    labelled with exactly the films the recommender named next; the head learned from them ranks the chat's path."""
    from chatrec.profile.store import Profile
    from chatrec.ranking.hybrid import FEATURES
    from chatrec.retrieval.retrieve import Request
    from chatrec.training.hybrid_fit import HeadParams, fit_head

    train = redial.load_redial(DIALOGUES)
    config = redial.redial_config(Config(catalog=str(TINY), embedder="hashing", llm="none"),
                                  index_dir=tmp_path / "index", profile_db=str(tmp_path / "p.sqlite3"))
    rec = redial.open_redial_recommender(config, rcat, llm=None, movielens_dir=TINY, train=train)
    lists = redial.turn_lists(rec, train, rcat.canonical)
    assert lists.x, "the tiny dialogues name films, so some turns have a collaborative query and a target among the candidates"
    targets_of = {}
    for c in train:
        for t in redial.eval_turns(c, rcat.canonical):
            targets_of.setdefault(c.conv_id, set()).update(t.targets)
    for x, y, pos, conv in zip(lists.x, lists.y, lists.positions, lists.user):
        assert x.shape == (len(pos), len(FEATURES)) and y.sum() >= 1
        assert {rcat.catalog.items[int(p)].item_id for p in pos[y > 0]} <= targets_of[conv]
    with pytest.raises(ValueError, match="no simulated requests"):
        redial.train_redial_head(rec, rcat, [], None)  # nothing to learn from: a clear error, not an empty head
    head, summary = fit_head(lists, np.zeros(len(rcat.catalog)), HeadParams(debias=0.0, epochs=5))
    assert summary["requests"] == len(lists.x) and head.meta["scorer"] == "fusion"
    rec.head = head
    req, profile = Request(seeds=["105"], exclude={"105"}), Profile(user_id="u_x")
    cands, base = rec.evidence(req, profile)
    expected = cands.positions[np.argsort(-head.score(rec.features(cands, base, req)), kind="stable")]
    assert rec.rank(req, profile).positions.tolist() == expected.tolist()
