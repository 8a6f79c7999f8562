"""Shared fixtures: a 42-film catalog, the hashing embedder and no LLM, so the suite runs offline in seconds."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from chatrec.config import Config

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny_catalog.jsonl"


def make_config(tmp: Path, **overrides) -> Config:
    values = dict(catalog=str(TINY), index_dir=str(tmp / "index"), profile_db=str(tmp / "profiles.sqlite3"),
                  embedder="hashing", llm="none")
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
    from chatrec.dialogue import Recommender

    return Recommender.from_config(make_config(shared_dir), progress=False)


@pytest.fixture
def fresh_recommender(tmp_path):
    from chatrec.dialogue import Recommender

    return Recommender.from_config(make_config(tmp_path), progress=False)


def cli_env(tmp: Path) -> dict:
    env = dict(os.environ)
    env.update(CHATREC_CATALOG=str(TINY), CHATREC_INDEX_DIR=str(tmp / "index"),
               CHATREC_PROFILE_DB=str(tmp / "profiles.sqlite3"), CHATREC_EMBEDDER="hashing", CHATREC_LLM="none")
    return env
