"""The scale-out paths, on this machine: a Chroma server instead of the embedded store, and the chat
mounted inside a FastAPI service."""
import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from chatrec.chat.recommender import Recommender
from conftest import cli_env, free_port, make_config

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def wait_for(url: str, proc, seconds: float = 120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            return urllib.request.urlopen(url, timeout=2)
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer in {seconds} s")


def test_chroma_server_mode(tmp_path):
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    server = subprocess.Popen([chroma, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v2/heartbeat", server)
        config = make_config(tmp_path, chroma_host="127.0.0.1", chroma_port=port,
                             exact_search_max_items=0)  # queries go to the server too
        rec = Recommender.from_config(config, progress=False)
        import chromadb
        assert chromadb.HttpClient(host="127.0.0.1", port=port).get_collection("items").count() == 42
        assert not (tmp_path / "index" / "chroma").exists()  # nothing embedded locally: the server holds it
        r = rec.session().turn("comedies from the 90s")
        assert r["items"] and all("Comedy" in it["genres"] for it in r["items"])
        assert json.loads((tmp_path / "index" / "manifest.json").read_text())["count"] == 42
    finally:
        server.terminate()
        server.wait(timeout=30)
    # the server gone: a clear error naming the fix, not a hang or a traceback
    from chatrec.errors import ChatrecError

    with pytest.raises(ChatrecError, match="Chroma server"):
        Recommender.from_config(make_config(tmp_path, chroma_host="127.0.0.1", chroma_port=port), progress=False)


def test_fastapi_mount(tmp_path):
    from gradio_client import Client

    port = free_port()
    env = cli_env(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "examples.fastapi_mount:app", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        health = wait_for(f"http://127.0.0.1:{port}/health", proc)
        assert json.loads(health.read()) == {"ok": True}
        wait_for(f"http://127.0.0.1:{port}/chatrec/", proc)
        r = Client(f"http://127.0.0.1:{port}/chatrec/", verbose=False).predict("westerns", api_name="/chat")
        assert r["items"] and all("Western" in it["genres"] for it in r["items"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
