"""chatrec: an offline conversational recommender.

The packages follow one turn: `understand` -> `retrieval` -> `ranking` -> `chat` (dialogue, explanations),
with `profile` remembering each person; `app` is the command line and the web app over them. `training`
and `evaluation` are offline work that the serving path never imports. `config`, `errors`, `lang`, `llm`
and `catalog` are shared by all. See docs/architecture.md.
"""
from __future__ import annotations

__all__ = ["Config", "Recommender", "ChatSession"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # lazy, so `import chatrec.evaluation.metrics` does not load the chat runtime (and torch) with it
    if name == "Config":
        from chatrec.config import Config
        return Config
    if name == "Recommender":
        from chatrec.chat.recommender import Recommender
        return Recommender
    if name == "ChatSession":
        from chatrec.chat.session import ChatSession
        return ChatSession
    raise AttributeError(f"module 'chatrec' has no attribute {name!r}")
