#!/usr/bin/env bash
# Verify the Hugging Face Spaces path locally: a fresh virtual environment from requirements.txt alone,
# then `python app.py`, then a gradio_client conversation. Usage: bash scripts/check-spaces.sh [VENV_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-$(mktemp -d)/space}
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --retries 0 --timeout 5 -r requirements.txt 2>&1 | grep -v "is ignored" || true
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CHATREC_INDEX_DIR="$work/index" CHATREC_PROFILE_DB="$work/profiles.sqlite3" GRADIO_SERVER_PORT=$port \
  "$venv/bin/python" app.py > "$work/app.log" 2>&1 &
app=$!
trap 'kill $app 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$port/" >/dev/null && break
  kill -0 $app 2>/dev/null || { cat "$work/app.log"; exit 1; }
  sleep 1
done
"$venv/bin/python" - "$port" <<'PY'
import sys
from gradio_client import Client
c = Client(f"http://127.0.0.1:{sys.argv[1]}/", verbose=False)
r = c.predict("something like Alien but less gory", api_name="/chat")
assert len(r["items"]) == 5, r
print("spaces check ok:", [it["title"] for it in r["items"]])
print(c.predict(1, "like", api_name="/feedback")["reply"])
PY
