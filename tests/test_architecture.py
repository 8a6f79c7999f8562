"""The layout's rules, checked: the serving path never imports training or evaluation, and no module imports
itself back through others (docs/architecture.md)."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "chatrec"
SERVING = ("chat", "understand", "retrieval", "ranking", "profile", "app")
OFFLINE = ("chatrec.training", "chatrec.evaluation")
# the one sanctioned exception: the web app starts the background retrainer when retraining is configured
ALLOWED = {("chatrec.app.web", "chatrec.training.retrainer")}
# the command line is also the door to the offline commands (`chatrec train`, `chatrec evaluate`): it may import
# them inside those commands, never at module level (so `chatrec chat` and `chatrec serve` load none of it)
TOP_LEVEL_ONLY = {"chatrec.app.cli"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PKG.rglob("*.py")}


def imports(path: Path, top_level_only: bool) -> set[str]:
    """The chatrec modules a file imports (a `from chatrec.x import y` of a submodule y counts as chatrec.x.y)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    if top_level_only:  # module-level `try:` / `if:` blocks run at import time too
        nodes = [n for top in tree.body for n in ast.walk(top) if not isinstance(top, (ast.FunctionDef, ast.ClassDef))]
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("chatrec")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("chatrec") and not node.level:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.add(sub if sub in MODULES else node.module)
    return found


def test_the_layout_is_what_the_docs_describe():
    for pkg in SERVING + ("training", "evaluation"):
        init = PKG / pkg / "__init__.py"
        assert init.exists(), f"chatrec/{pkg}/ is not a package"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc.split()) >= 20, f"chatrec/{pkg}/__init__.py needs a paragraph saying what it owns"


def test_serving_code_never_imports_training_or_evaluation():
    bad = []
    for name, path in MODULES.items():
        if name.split(".")[1:2] and name.split(".")[1] in SERVING:
            for target in imports(path, top_level_only=name in TOP_LEVEL_ONLY):
                if target.startswith(OFFLINE) and (name, target) not in ALLOWED:
                    bad.append(f"{name} -> {target}")
    assert not bad, "the serving path imports offline code: " + ", ".join(bad)


def test_metrics_stand_alone():
    # training's early stopping reads the metrics module: it must not pull evaluation's protocols in with it
    assert imports(MODULES["chatrec.evaluation.metrics"], top_level_only=False) == set()


def test_no_import_cycles():
    graph = {name: {t for t in imports(path, top_level_only=True) if t in MODULES and t != name}
             for name, path in MODULES.items()}
    # importing a module imports its packages' __init__ too
    for name in list(graph):
        parts = name.split(".")
        graph[name] |= {".".join(parts[:k]) for k in range(1, len(parts))} - {name}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            assert cycle is None, "import cycle: " + " -> ".join(cycle)


BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.startswith(("chatrec.training", "chatrec.evaluation")):
            raise ImportError(f"the serving path imported {name}")
        return None
sys.meta_path.insert(0, Block())
"""


def test_the_runtime_runs_with_training_and_evaluation_unimportable(tmp_path):
    # a whole conversation, the web app's module and the CLI's chat command, with the offline packages gone
    script = BLOCKER + f"""
import json
from chatrec.config import Config
from chatrec.chat.recommender import Recommender
import chatrec.app.web, chatrec.app.cli
config = Config(catalog={str(ROOT / 'tests' / 'data' / 'tiny_catalog.jsonl')!r}, embedder="hashing", llm="fake",
                index_dir={str(tmp_path / 'index')!r}, profile_db={str(tmp_path / 'p.sqlite3')!r},
                model_dir={str(tmp_path / 'models')!r})
session = Recommender.from_config(config, progress=False).session("arch")
first = session.turn("something like Alien but funnier")
done = session.feedback(1, "like")
print(json.dumps({{"items": len(first["items"]), "ok": done.ok,
                  "offline": sorted(m for m in sys.modules if m.startswith(("chatrec.training", "chatrec.evaluation")))}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                         env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"items": 5, "ok": True, "offline": []}


def test_the_chat_command_runs_with_training_and_evaluation_unimportable(tmp_path):
    script = BLOCKER + "from chatrec.app.cli import main; main()"
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin",
           "CHATREC_INDEX_DIR": str(tmp_path / "index"), "CHATREC_MODEL_DIR": str(tmp_path / "models")}
    out = subprocess.run([sys.executable, "-c", script, "chat", "--json", "--user", "arch", "--embedder", "hashing",
                          "--catalog", str(ROOT / "tests" / "data" / "tiny_catalog.jsonl"),
                          "--profile-db", str(tmp_path / "p.sqlite3")],
                         input="comedies from the 90s\n/like 1\n", capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 2 and lines[0]["items"] and lines[1]["intent"]["kind"] == "feedback"


def test_importing_the_web_app_loads_no_offline_module():
    out = subprocess.run([sys.executable, "-c", "import sys, chatrec.app.web; "
                          "print([m for m in sys.modules if m.startswith(('chatrec.training', 'chatrec.evaluation'))])"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
