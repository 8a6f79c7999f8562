"""Scripted conversations through `chatrec chat --json`, one JSON object per input line."""
import json
import subprocess
import sys

from conftest import cli_env

CHATREC = [sys.executable, "-m", "chatrec.app.cli"]


def run_chat(tmp_path, lines, *args):
    proc = subprocess.run(CHATREC + ["chat", "--json", *args], input="\n".join(lines) + "\n", text=True,
                          capture_output=True, env=cli_env(tmp_path), timeout=240)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(out) == len(lines)
    return out


def test_scripted_conversation_and_persistence(tmp_path):
    script = ["hello", "something like Alien but no horror", "/dislike 1", "/like 2", "/like 9",
              "more like the second one", "older", "", "bye"]
    out = run_chat(tmp_path, script, "--user", "cli-user")
    kinds = [o["intent"]["kind"] for o in out]
    assert kinds[0] == "chitchat" and kinds[-1] == "goodbye"
    first = out[1]["items"]
    assert len(first) == 5 and all("Horror" not in it["genres"] for it in first)
    assert all(set(it) == {"item_id", "title", "year", "genres", "score", "explanation"} for it in first)
    disliked, liked = first[0]["item_id"], first[1]["item_id"]
    assert out[2]["intent"]["kind"] == "feedback" and out[2]["items"] == []
    assert "no item 9" in out[4]["reply"]
    assert out[5]["intent"]["kind"] == "refine" and out[5]["items"]
    shown = {it["item_id"] for o in out for it in o["items"]}
    assert len(shown) == sum(len(o["items"]) for o in out)  # nothing repeated
    years_before = sorted(it["year"] for it in out[5]["items"])
    assert all(it["year"] < years_before[len(years_before) // 2] for it in out[6]["items"])
    assert out[7]["items"] == [] and out[7]["reply"]
    # a later process, same user: the stored profile is back
    later = run_chat(tmp_path, ["sci-fi", "space adventure"], "--user", "cli-user")
    for o in later:
        assert disliked not in [it["item_id"] for it in o["items"]]
        assert liked not in [it["item_id"] for it in o["items"]]  # already liked: seen
    shown_profile = subprocess.run(CHATREC + ["profile", "show", "--user", "cli-user"], capture_output=True,
                                   text=True, env=cli_env(tmp_path), timeout=60)
    data = json.loads(shown_profile.stdout)
    assert data["disliked"] == [disliked] and data["liked"] == [liked]
    forgot = subprocess.run(CHATREC + ["profile", "forget", "--user", "cli-user"], capture_output=True, text=True,
                            env=cli_env(tmp_path), timeout=60)
    assert "deleted 4 events" in forgot.stdout  # a like, a dislike and two critiques ("more like", "older")


def test_build_index_command_is_incremental(tmp_path):
    env = cli_env(tmp_path)
    first = subprocess.run(CHATREC + ["build-index"], capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0 and "embedded 42" in first.stdout
    second = subprocess.run(CHATREC + ["build-index"], capture_output=True, text=True, env=env, timeout=120)
    assert "embedded 0" in second.stdout and "unchanged 42" in second.stdout


def test_bad_catalog_is_a_clear_error(tmp_path):
    env = cli_env(tmp_path)
    env["CHATREC_CATALOG"] = str(tmp_path / "missing.csv")
    proc = subprocess.run(CHATREC + ["chat", "--json"], input="hi\n", capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 2 and "catalog not found" in proc.stderr and "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["error"].startswith("catalog not found")
