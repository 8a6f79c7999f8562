"""Shared fixtures: a 42-film catalog, the hashing embedder and no LLM, so the suite runs offline in seconds."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from chatrec.config import Config

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny_catalog.jsonl"


def make_config(tmp: Path, **overrides) -> Config:
    values = dict(catalog=str(TINY), index_dir=str(tmp / "index"), profile_db=str(tmp / "profiles.sqlite3"),
                  embedder="hashing", llm="none", model_dir=str(tmp / "models"))
    values.update(overrides)
    return Config(**values)


@pytest.fixture
def config(tmp_path) -> Config:
    return make_config(tmp_path)


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("shared")


@pytest.fixture(scope="session")
def recommender(shared_dir):
    """One built index for the read-only tests (sessions use fresh random user ids)."""
    from chatrec.chat.recommender import Recommender

    return Recommender.from_config(make_config(shared_dir), progress=False)


@pytest.fixture
def fresh_recommender(tmp_path):
    from chatrec.chat.recommender import Recommender

    return Recommender.from_config(make_config(tmp_path), progress=False)


def cli_env(tmp: Path) -> dict:
    env = dict(os.environ)
    env.update(CHATREC_CATALOG=str(TINY), CHATREC_INDEX_DIR=str(tmp / "index"),
               CHATREC_PROFILE_DB=str(tmp / "profiles.sqlite3"), CHATREC_EMBEDDER="hashing", CHATREC_LLM="none")
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def launched_app(tmp: Path, **env_overrides):
    """`python app.py` on a free port with the tiny catalog; yields (url, process)."""
    port = free_port()
    env = cli_env(tmp)
    env.update(GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False", **env_overrides)
    log_path = tmp / "app.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=Path(__file__).resolve().parents[1], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError("app exited:\n" + log_path.read_text())
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("app did not start:\n" + log_path.read_text())
                time.sleep(0.5)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
