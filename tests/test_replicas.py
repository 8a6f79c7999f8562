"""Two app replicas behind nginx (round-robin, no stickiness), one killed and restarted mid-conversation:
`scripts/replicas_demo.py` on the tiny catalog. Every turn must be answered in context, nothing lost."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TINY

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
if NGINX is None:
    pytest.skip("nginx is not installed (apt-get install nginx; .ci/run installs it)", allow_module_level=True)


def test_two_replicas_round_robin_with_a_restart(tmp_path):
    env = dict(os.environ, CHATREC_CATALOG=str(TINY), CHATREC_EMBEDDER="hashing", CHATREC_LLM="none",
               CHATREC_PROFILE_DB=str(tmp_path / "state" / "profiles.sqlite3"),
               CHATREC_INDEX_DIR=str(tmp_path / "index"), CHATREC_MODEL_DIR=str(tmp_path / "models"))
    transcript = tmp_path / "transcript.md"
    proc = subprocess.run([sys.executable, "scripts/replicas_demo.py", "--workdir", str(tmp_path / "run"),
                           "--transcript", str(transcript)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = transcript.read_text()
    assert "- [ ]" not in text and text.count("- [x]") == 10
    served = [line.split(" | ")[2] for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert set(served) == {"A", "B"} and len(served) == 12
