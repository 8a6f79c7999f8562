#!/usr/bin/env bash
# Set up (first time) and start the chat app on the bundled MovieLens catalog at http://127.0.0.1:7860
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/python app.py "$@"
