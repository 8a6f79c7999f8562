"""The environment has one reader: `Config.from_env()`. The web app's settings are typed config fields."""
from __future__ import annotations

import ast
from pathlib import Path

from chatrec.app.sessions import browser_secret
from chatrec.config import Config

PKG = Path(__file__).resolve().parents[1] / "chatrec"


def test_web_app_settings_come_from_config(monkeypatch):
    assert (Config().concurrency, Config().browser_secret) == (4, "")
    monkeypatch.setenv("CHATREC_CONCURRENCY", "2")
    monkeypatch.setenv("CHATREC_BROWSER_SECRET", "s3cret-value")
    config = Config.from_env()
    assert config.concurrency == 2 and config.browser_secret == "s3cret-value"
    assert "s3cret-value" not in repr(config)  # a config printed to a log does not leak it
    assert Config.from_env(concurrency=8).concurrency == 8


def test_browser_secret_from_config_or_a_stable_file(tmp_path):
    assert browser_secret(Config(profile_db=str(tmp_path / "p.sqlite3"), browser_secret="given")) == "given"
    assert not (tmp_path / "browser_secret").exists()
    config = Config(profile_db=str(tmp_path / "state" / "p.sqlite3"))
    first = browser_secret(config)
    assert len(first) >= 32 and browser_secret(config) == first  # survives a restart
    assert (tmp_path / "state" / "browser_secret").stat().st_mode & 0o777 == 0o600


# ---------------------------------------------------------------- nothing else reads the environment
def environment_reads(source: str, path: str = "") -> list[int]:
    """Lines that read the process environment: `os.getenv`, `os.environ` used as a value (`.get`, `[...]`,
    `in`, `dict(...)`), `from os import environ/getenv`. Not reads: assigning `os.environ[K] = v`, and a bare
    `os.environ.setdefault(K, v)` statement (both tell a library something). Allowed: config.py only (the LLM's
    API key too is read there, by `Config.llm_api_key()`, when it is needed)."""
    if path.endswith("chatrec/config.py"):
        return []
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os" and {a.name for a in node.names} & {"environ",
                                                                                                  "getenv"}:
            found.append(node.lineno)
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
                and node.attr in ("environ", "getenv")):
            continue
        p = parents.get(node)
        if isinstance(p, ast.Subscript) and isinstance(p.ctx, ast.Store):
            continue  # os.environ[K] = v
        if isinstance(p, ast.Attribute) and p.attr == "setdefault" and isinstance(parents.get(parents.get(p)), ast.Expr):
            continue  # os.environ.setdefault(K, v) as a statement
        found.append(node.lineno)
    return found


def test_the_scanner_finds_reads():
    assert environment_reads("import os\nx = os.environ.get('CHATREC_X', '4')") == [2]
    assert environment_reads("import os\nx = os.environ['CHATREC_X']") == [2]
    assert environment_reads("import os\nx = os.getenv('HOME')") == [2]
    assert environment_reads("import os\nif 'A' in os.environ: pass") == [2]
    assert environment_reads("from os import environ") == [1]
    assert environment_reads("import os\nv = os.environ.setdefault('A', '1')") == [2]  # its value is read
    assert environment_reads("import os\nkey = os.environ.get(config.llm_api_key_env)", "chatrec/llm.py") == [2]
    assert environment_reads("import os\nos.environ['A'] = '1'\nos.environ.setdefault('B', '1')") == []


def test_only_config_reads_the_environment():
    reads = {str(p.relative_to(PKG.parent)): lines for p in sorted(PKG.rglob("*.py"))
             if (lines := environment_reads(p.read_text(encoding="utf-8"), p.as_posix()))}
    assert not reads, f"read the environment through Config.from_env() instead: {reads}"
