"""chatrec reads nothing outside its repository at run time: no module names a place beside or above the
repository (`ROOT.parent`, `../`, a `shared/` folder, a machine's absolute path), every default path is inside it,
and the data the benchmarks read is bundled with its provenance (data/redial/SOURCE.md)."""
from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "chatrec"

ABSOLUTE = re.compile(r"^(/(work|home|mnt|srv|data|opt|root|Users|var)/|[A-Za-z]:\\)")  # a machine's own folders
SHARED = re.compile(r"(^|[/\\])shared[/\\]|[/\\]shared$")  # "shared/data", "../shared"
UP = re.compile(r"(^|[/\\])\.\.([/\\]|$)")  # "..", "../x", "a/../b"
MARKDOWN_LINK = re.compile(r"\]\(\.\./[^)]*\)")  # report text: "[docs](../docs/x.md)" links, read by people


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _climb(node: ast.AST) -> tuple[str | None, int]:
    """For a chain `X.parent.parent` or `X.parents[k]`: (what X is -- "ROOT", "__file__" or None, levels up)."""
    steps = 0
    while True:
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            steps, node = steps + 1, node.value
        elif (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "parents"
              and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int)):
            steps, node = steps + node.slice.value + 1, node.value.value
        else:
            break
    if steps and isinstance(node, ast.Name) and node.id == "ROOT":
        return "ROOT", steps
    if steps and any(isinstance(n, ast.Name) and n.id == "__file__" for n in ast.walk(node)):
        return "__file__", steps
    return None, steps


def offences(source: str, relpath: str) -> list[str]:
    """What in one module's source points outside the repository. `relpath` (e.g. "chatrec/evaluation/redial.py")
    says how deep the module sits: `Path(__file__).parents[k]` may climb to the repository root, not above it."""
    tree = ast.parse(source)
    depth = len(Path(relpath).parts)  # from a file n parts deep, n `.parent` steps reach the repository root
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        where = f"{relpath}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text = MARKDOWN_LINK.sub("", node.value)
            if UP.search(text):
                found.append(f"{where}: '..' in {node.value[:60]!r}")
            if SHARED.search(text):
                found.append(f"{where}: a 'shared' folder in {node.value[:60]!r}")
            if ABSOLUTE.search(text):
                found.append(f"{where}: an absolute path {node.value[:60]!r}")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and any(
                isinstance(side, ast.Constant) and side.value == "shared" for side in (node.left, node.right)):
            found.append(f"{where}: a path through a 'shared' folder")
        elif isinstance(node, ast.Attribute) and node.attr == "pardir":
            found.append(f"{where}: os.pardir")
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            anchor, steps = _climb(node)
            if anchor == "ROOT":
                found.append(f"{where}: {steps} level(s) above ROOT")
            elif anchor == "__file__" and steps > depth:
                found.append(f"{where}: {steps} levels up from __file__ (the repository root is {depth} up)")
    return found


@pytest.mark.parametrize("snippet", [
    'REDIAL_DIR = ROOT.parent / "shared" / "data" / "redial"',
    'X = ROOT.parent / "data"',
    'X = ROOT / ".." / "data"',
    'X = Path("../shared/data/redial")',
    'X = Path(__file__).resolve().parents[2] / "data"',
    'X = Path(__file__).resolve().parent.parent.parent / "data"',
    'X = "/work/shared/data/redial/dev_data.jsonl"',
    'X = os.path.join(HERE, os.pardir, "data")',
])
def test_the_scan_catches_paths_outside_the_repository(snippet):
    # the check below is only worth something if it can fail: each of these leaves the repository
    assert offences(snippet, "chatrec/config.py"), snippet


@pytest.mark.parametrize("snippet", [
    'ROOT = Path(__file__).resolve().parents[1]',  # chatrec/config.py -> the repository root
    'X = ROOT / "data" / "redial"',
    'lines = ["see [docs/evaluation.md](../docs/evaluation.md)"]',  # a link in report text
    'reply = "/like 2"',
])
def test_the_scan_lets_paths_inside_the_repository_pass(snippet):
    assert offences(snippet, "chatrec/config.py") == []


def test_no_module_refers_to_paths_outside_the_repository():
    # the package, and the scripts that run it (benchmarks, data builders, the Space entry point)
    files = [*PKG.rglob("*.py"), *(ROOT / "bench").rglob("*.py"), *(ROOT / "scripts").rglob("*.py"), ROOT / "app.py"]
    assert len(files) > 40 and any(p.name == "redial.py" for p in files)  # the scan sees the code
    found = []
    for path in sorted(files):
        found += offences(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())
    assert not found, "paths outside the repository:\n" + "\n".join(found)


def _inside(path) -> bool:
    return Path(path).resolve().is_relative_to(ROOT)


def test_default_paths_are_inside_the_repository_and_exist():
    from chatrec.config import Config
    from chatrec.evaluation import redial

    for name in ("catalog", "index_dir", "profile_db", "prompts_dir", "model_dir"):
        assert _inside(getattr(Config(), name)), name
    assert redial.REDIAL_DIR == ROOT / "data" / "redial"
    for path in (redial.REDIAL_DIR, redial.MOVIELENS_DIR, redial.DEV_FILE, redial.TRAIN_FILE,
                 redial.REDIAL_DIR / redial.MOVIES_FILE, redial.REDIAL_DIR / redial.LINK_FILE,
                 ROOT / "bench" / "crs" / "weights.json"):
        assert _inside(path) and Path(path).exists(), path
    for param in redial.evaluate_crs_cmd.params:  # what `chatrec evaluate-crs` reads when given no options
        if isinstance(param.default, str) and param.default and ("/" in param.default or "\\" in param.default):
            assert _inside(param.default), (param.name, param.default)


def test_the_bundled_redial_files_are_the_ones_source_md_describes():
    folder = ROOT / "data" / "redial"
    source = (folder / "SOURCE.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in source and "Towards Deep Conversational Recommendations" in source
    assert "81.8%" in source  # the link map's coverage caveat
    rows = dict(re.findall(r"^\| `([^`]+)` \| [^|]+ \| ([0-9a-f]{32}) \|", source, flags=re.M))
    data = {p.name for p in folder.iterdir() if p.name != "SOURCE.md"}
    assert set(rows) == data == {"dev_data.jsonl", "train_subset_1401.jsonl", "movies_with_mentions.csv",
                                 "redial_to_ml_latest_small_heuristic.csv"}
    for name, md5 in rows.items():
        assert hashlib.md5((folder / name).read_bytes()).hexdigest() == md5, name
