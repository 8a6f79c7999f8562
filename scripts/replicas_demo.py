"""Two app replicas behind nginx, round-robin, no stickiness: a scripted conversation whose turns alternate between
the replicas, with one replica killed (kill -9) and restarted mid-conversation. Every turn must be answered in
context and nothing may be lost; the script prints a transcript and exits 1 if any check fails.

    .venv/bin/python scripts/replicas_demo.py [--workdir DIR] [--transcript FILE]

It uses the settings in the environment (CHATREC_*), so the tests run it on the tiny catalog:

    CHATREC_CATALOG=tests/data/tiny_catalog.jsonl CHATREC_EMBEDDER=hashing .venv/bin/python scripts/replicas_demo.py

Both replicas share the profile database (one SQLite file here; CHATREC_PROFILE_DB=postgresql://... across
machines) and so the dialogue state and the identity key beside it. nginx is Debian's (apt-get install nginx);
the turns go through the JSON API (chatrec.app.http_api), one request per turn. Exit 3: nginx is not installed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 180, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"{proc.args} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer in {seconds:.0f} s")


NGINX_CONF = """daemon off;
{user}worker_processes 1;
pid {w}/nginx.pid;
error_log {w}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
    log_format replicas '$request_uri -> $upstream_addr $upstream_status';
    access_log {w}/nginx-access.log replicas;
    client_body_temp_path {w}/nginx-tmp/body;
    proxy_temp_path {w}/nginx-tmp/proxy;
    fastcgi_temp_path {w}/nginx-tmp/fastcgi;
    uwsgi_temp_path {w}/nginx-tmp/uwsgi;
    scgi_temp_path {w}/nginx-tmp/scgi;
    upstream chatrec {{
        # round-robin (nginx's default), no ip_hash, no cookie: any replica may get any turn.
        # max_fails=0: never take a replica out of rotation, so a restarted one serves again at once
        server 127.0.0.1:{a} max_fails=0;
        server 127.0.0.1:{b} max_fails=0;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://chatrec;
            proxy_next_upstream error timeout;  # a replica that is down: the request goes to the other
            proxy_connect_timeout 2s;
            proxy_read_timeout 120s;
        }}
    }}
}}
"""


class Replica:
    def __init__(self, name: str, port: int, env: dict, workdir: Path):
        self.name, self.port, self.env, self.workdir = name, port, env, workdir
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = dict(self.env, GRADIO_SERVER_PORT=str(self.port))
        log = open(self.workdir / f"replica-{self.name}.log", "a")
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log,
                                     stderr=subprocess.STDOUT)
        wait_for(f"http://127.0.0.1:{self.port}/api/v1/health", proc=self.proc)

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Conversation:
    def __init__(self, base: str, names: dict[str, str]):
        self.base, self.names = base, names
        self.conversation: str | None = None
        self.turns: list[dict] = []

    def send(self, endpoint: str, **body) -> dict:
        data = json.dumps({"conversation": self.conversation, **body}).encode()
        req = urllib.request.Request(f"{self.base}/api/v1/{endpoint}", data=data,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            served = self.names.get(r.headers.get("X-Chatrec-Server", ""), r.headers.get("X-Chatrec-Server"))
            out = json.loads(r.read())
        self.conversation = out.pop("conversation")
        self.turns.append({"n": len(self.turns) + 1, "endpoint": endpoint, "body": body, "replica": served,
                           "out": out})
        return out


def run(workdir: Path, transcript: Path | None) -> int:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        print("nginx is not installed (apt-get install nginx)", file=sys.stderr)
        return 3
    env = dict(os.environ)
    env.setdefault("CHATREC_PROFILE_DB", str(workdir / "state" / "profiles.sqlite3"))
    env.setdefault("CHATREC_INDEX_DIR", str(workdir / "index"))
    env.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # build the index once, before the replicas start (two first starts would both build it)
    subprocess.run([sys.executable, "-m", "chatrec.app.cli", "build-index"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    a, b = (Replica(n, free_port(), env, workdir) for n in "AB")
    port = free_port()
    (workdir / "nginx-tmp").mkdir(exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(w=workdir, a=a.port, b=b.port, port=port,
                                      user="user root;\n" if os.geteuid() == 0 else ""))
    proxy = None
    checks: list[tuple[str, bool]] = []
    try:
        a.start()
        b.start()
        proxy = subprocess.Popen([nginx, "-p", str(workdir), "-c", str(conf)], stdout=subprocess.DEVNULL,
                                 stderr=open(workdir / "nginx-stderr.log", "w"))
        wait_for(f"http://127.0.0.1:{port}/api/v1/health", proc=proxy)
        talk = Conversation(f"http://127.0.0.1:{port}",
                            {f"127.0.0.1:{a.port}": "A", f"127.0.0.1:{b.port}": "B"})
        checks += conversation(talk, a)
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(timeout=30)
        a.stop()
        b.stop()
    text = render(talk, checks)
    log = workdir / "nginx-access.log"
    if log.exists():  # nginx's own record of which replica (upstream) took each request, failovers included
        text += "\nnginx access log (request -> upstream status):\n\n```\n" + log.read_text() + "```\n"
    print(text)
    if transcript:
        transcript.write_text(text)
    return 0 if all(ok for _, ok in checks) else 1


def conversation(talk: Conversation, a: Replica) -> list[tuple[str, bool]]:
    checks = []
    first = talk.send("chat", message="movies from the 80s and 90s")
    years = sorted(it["year"] for it in first["items"])
    older = talk.send("critique", name="older", position=None)
    checks.append(("turn 2 refines turn 1's list (older than its median year)",
                   older["intent"]["kind"] == "refine" and bool(older["items"])
                   and all(it["year"] < years[len(years) // 2] for it in older["items"])))
    liked = talk.send("feedback", position=2, kind="like")
    checks.append(("turn 3 likes item 2 of the list the other replica showed",
                   older["items"][1]["title"] in liked["reply"]))
    a.kill9()  # replica A dies mid-conversation
    during = talk.send("chat", message="comedies please")
    checks.append(("with A down, the next turn is answered (by B)", bool(during["items"]) and
                   talk.turns[-1]["replica"] == "B"))
    rated = talk.send("rate", position=1, stars=5)
    checks.append(("a rating on that list is saved", "5/5" in rated["reply"]))
    a.start()  # A is back, with nothing in memory
    more = talk.send("critique", name="more_like", position=1)
    more2 = talk.send("chat", message="animated films for kids")
    refined = talk.send("critique", name="newer", position=None)
    profile = talk.send("profile")
    shown = [it["item_id"] for t in talk.turns for it in t["out"].get("items", [])]
    checks.append(("no film shown twice in the whole conversation", len(shown) == len(set(shown))))
    checks.append(("the profile holds the like and the rating made on both replicas",
                   older["items"][1]["item_id"] in [x["item_id"] for x in profile["liked"]]
                   and during["items"][0]["item_id"] in [x["item_id"] for x in profile["ratings"]]))
    checks.append(("every turn after the restart was answered", all(
        bool(x["items"]) for x in (more, more2, refined))))
    served = [t["replica"] for t in talk.turns]
    checks.append(("both replicas served turns, A again after its restart",
                   "A" in served[:3] and "B" in served and "A" in served[5:]))
    checks.append(("turns alternated between replicas while both were up", all(
        x != y for x, y in zip(served[:3], served[1:3])) and all(x != y for x, y in zip(served[5:], served[6:]))))
    gone = talk.send("forget")
    after = [talk.send("profile"), talk.send("profile")]  # one from each replica
    checks.append(("forget: both replicas then show an empty profile",
                   "deleted" in gone["reply"] and all(not p["liked"] and not p["ratings"] for p in after)
                   and {t["replica"] for t in talk.turns[-2:]} == {"A", "B"}))
    return checks


def render(talk: Conversation, checks) -> str:
    lines = ["| turn | request | replica | answer |", "|---|---|---|---|"]
    for t in talk.turns:
        out = t["out"]
        answer = out.get("reply", "").split("\n")[0][:90] if "reply" in out else (
            f"profile: liked {[x['title'] for x in out['liked']]}, rated {[x['title'] for x in out['ratings']]}")
        titles = ", ".join(it["title"] for it in out.get("items", [])[:5])
        req = t["endpoint"] + " " + json.dumps(t["body"], ensure_ascii=False)
        lines.append(f"| {t['n']} | `{req}` | {t['replica']} | {answer}{' — ' + titles if titles else ''} |")
    lines += ["", "Checks:"] + [f"- [{'x' if ok else ' '}] {name}" for name, ok in checks]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", help="Where the database, logs and nginx.conf go (default: a new temp dir).")
    parser.add_argument("--transcript", help="Also write the transcript (markdown) here.")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="chatrec-replicas-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    return run(workdir, Path(args.transcript) if args.transcript else None)


if __name__ == "__main__":
    sys.exit(main())
