"""Load benchmark: N concurrent scripted conversations against a launched app, through gradio_client.

    .venv/bin/python bench/load/run.py [--users 20] [--turns 30] [--url URL] [--catalog ...] [--embedder ...]

Without --url it launches `app.py` itself on a free port (with a fresh profile database) and stops it at
the end. Reports per-turn latency p50/p95/p99, errors, and whether every acknowledged feedback event is in
the profile store afterwards. Writes reports/load.md and reports/load.json. Bounded: it stops by itself
after --max-seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
WISHES = ["something like Alien but less gory", "comedies from the 90s", "a heist film, no horror",
          "animated films for kids", "I loved Spirited Away", "westerns", "romantic comedies", "war films",
          "something like The Matrix", "documentaries about nature", "crime dramas from the 70s", "sci-fi"]
FOLLOW_UPS = ["older", "newer", "no horror", "more like the second one", "something else", "tell me about #1"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def conversation(url: str, user: int, turns: int, deadline: float, rng: random.Random):
    from gradio_client import Client

    client = Client(url, verbose=False)
    latencies, errors, acked = [], [], []
    user_id, last_items = None, []
    for t in range(turns):
        if time.time() > deadline:
            break
        started = time.perf_counter()
        try:
            if t % 5 == 2:
                kind = rng.choice(["like", "dislike", "seen"])
                pos = rng.randint(1, 5)
                r = client.predict(pos, kind, api_name="/feedback")
                if r["reply"].startswith(("Noted", "Got it")) and pos <= len(last_items):
                    acked.append((kind, last_items[pos - 1]))  # acknowledged: it must be in the store
            elif t % 5 == 0:
                r = client.predict(rng.choice(WISHES), api_name="/chat")
            else:
                r = client.predict(rng.choice(FOLLOW_UPS), api_name="/chat")
            if r.get("items"):
                last_items = [it["item_id"] for it in r["items"]]
            if r["reply"].startswith("Sorry, something went wrong"):
                errors.append(r["reply"])
        except Exception as exc:  # a failed request is an error of the run, not of the benchmark
            errors.append(f"{type(exc).__name__}: {exc}")
        latencies.append(time.perf_counter() - started)
    try:
        user_id = client.predict(api_name="/profile")["user_id"]
    except Exception as exc:
        errors.append(f"profile: {exc}")
    return latencies, errors, acked, user_id


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--turns", type=int, default=30)
    ap.add_argument("--url")
    ap.add_argument("--db", help="profile database of the app at --url (to check acknowledged events)")
    ap.add_argument("--catalog")
    ap.add_argument("--embedder")
    ap.add_argument("--llm", default="none")
    ap.add_argument("--max-seconds", type=float, default=600)
    ap.add_argument("--report", default=str(ROOT / "reports" / "load"))
    args = ap.parse_args()

    proc = None
    db = args.db
    if not args.url:
        tmp = Path(tempfile.mkdtemp(prefix="chatrec-load-"))
        db = str(tmp / "profiles.sqlite3")
        port = free_port()
        env = dict(os.environ, GRADIO_SERVER_PORT=str(port), CHATREC_PROFILE_DB=db, CHATREC_LLM=args.llm,
                   CHATREC_RATE_LIMIT_PER_MINUTE="0", GRADIO_ANALYTICS_ENABLED="False")
        if args.catalog:
            env["CHATREC_CATALOG"] = args.catalog
            env["CHATREC_INDEX_DIR"] = str(tmp / "index")
        if args.embedder:
            env["CHATREC_EMBEDDER"] = args.embedder
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=open(tmp / "app.log", "w"),
                                stderr=subprocess.STDOUT)
        args.url = f"http://127.0.0.1:{port}/"
        for _ in range(600):
            try:
                urllib.request.urlopen(args.url, timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    print((tmp / "app.log").read_text())
                    return 1
                time.sleep(0.5)
    deadline = time.time() + args.max_seconds
    started = time.time()
    try:
        with ThreadPoolExecutor(args.users) as pool:
            futures = [pool.submit(conversation, args.url, u, args.turns, deadline, random.Random(u))
                       for u in range(args.users)]
            results = [f.result() for f in futures]
    finally:
        wall = time.time() - started
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    latencies = np.array([x for r in results for x in r[0]])
    errors = [e for r in results for e in r[1]]
    acked = sum(len(r[2]) for r in results)
    stored = None
    if db and Path(db).exists():
        # every acknowledged (user, kind, item) must be in the store; other events (a like said in words,
        # critiques) may be there too and are not counted
        con = sqlite3.connect(db)
        stored = sum(con.execute("SELECT COUNT(*) FROM events WHERE user_id = ? AND kind = ? AND item_id = ?",
                                 (r[3], kind, item)).fetchone()[0] > 0
                     for r in results if r[3] for kind, item in r[2])
    summary = {
        "users": args.users, "turns_per_user": args.turns, "llm": args.llm, "turns": int(latencies.size),
        "wall_s": round(wall, 1), "throughput_turns_per_s": round(latencies.size / wall, 2),
        "p50_s": round(float(np.percentile(latencies, 50)), 3), "p95_s": round(float(np.percentile(latencies, 95)), 3),
        "p99_s": round(float(np.percentile(latencies, 99)), 3), "errors": len(errors),
        "acknowledged_events": acked, "stored_events": stored,  # acknowledged ones found in the store
        "lost_events": None if stored is None else acked - stored,
        "machine": f"{os.cpu_count()} cores",
    }
    print(json.dumps(summary, indent=2))
    if errors:
        print("first errors:", *errors[:5], sep="\n  ")
    report = Path(args.report)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.with_suffix(".json").write_text(json.dumps(summary, indent=2))
    rows = "\n".join(f"| {k} | {v} |" for k, v in summary.items())
    report.with_suffix(".md").write_text(
        f"# Load benchmark\n\n`python bench/load/run.py --users {args.users} --turns {args.turns} --llm {args.llm}`"
        f" — {args.users} concurrent gradio_client conversations against `app.py` on 127.0.0.1.\n\n"
        f"| measure | value |\n|---|---|\n{rows}\n\nTargets: 0 errors, 0 lost events, p95 ≤ 5 s with the default "
        "models (≤ 1 s with the fake LLM).\n")
    ok = not errors and (stored is None or stored == acked)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
