"""Fusion-model checkpoints: where they live, writing them atomically, and loading one for serving.

A checkpoint holds weights + config + the catalog fingerprint + the embedder name. One made for another
catalog, embedder or model version is refused with a message naming `chatrec train`. Serving loads here;
training (chatrec.training) saves here. `item_text_vectors` gives the frozen sentence vectors of the catalog
the model reads: from the bundled embedding cache or the built index; items are embedded only when neither
has them.
"""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from chatrec.catalog import Catalog
from chatrec.config import Config
from chatrec.devices import resolve_device
from chatrec.errors import ChatrecError
from chatrec.ranking.fusion import FusionConfig, FusionModel


CHECKPOINT = "fusion.pt"


TRAIN_HINT = "run `chatrec train` to train the reranker for this catalog and embedder"


def checkpoint_path(config: Config) -> Path:
    """Where `chatrec train` (and --incremental) write the reranker."""
    return Path(config.model_dir) / CHECKPOINT


def bundled_checkpoint_path(config: Config) -> Path:
    """A checkpoint shipped beside the catalog (data/movielens/fusion.pt): a fresh clone or a Space serves the
    trained reranker at once, without a training run. It is read, never written."""
    return config.catalog_dir / CHECKPOINT


def find_checkpoint(config: Config) -> Path | None:
    """The checkpoint to load: the one trained here, else the bundled one, else None."""
    for path in (checkpoint_path(config), bundled_checkpoint_path(config)):
        if path.exists():
            return path
    return None


# ---------------------------------------------------------------- collaborative item vectors

COLLAB = "collab.npz"


def collab_path(config: Config) -> Path:
    """Where `chatrec train` writes the collaborative item vectors (chatrec.training.collab)."""
    return Path(config.model_dir) / COLLAB


def find_collab(config: Config) -> Path | None:
    """The collaborative vectors to serve: the ones trained here, else the ones bundled with the catalog."""
    for path in (collab_path(config), config.catalog_dir / COLLAB):
        if path.exists():
            return path
    return None


def save_collab(path: Path, vectors: np.ndarray, *, catalog: Catalog, params: dict) -> Path:
    """Item ids + vectors + how they were made, written atomically (a temp file in the same folder, renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp.npz", dir=path.parent)
    os.close(fd)
    try:
        np.savez_compressed(tmp, item_ids=np.array([it.item_id for it in catalog.items]),
                            vectors=np.asarray(vectors, dtype=np.float32),
                            meta=np.array(json.dumps({"catalog": catalog.name, "params": params,
                                                      "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})))
        os.chmod(tmp, 0o644)  # mkstemp makes it private; it is a model file like any other
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_collab(path: Path, catalog: Catalog) -> tuple[np.ndarray, dict]:
    """(vectors aligned with catalog.items, metadata). Items the vectors do not know (added to the catalog since
    `chatrec train`) get a zero vector: no collaborative neighbours until the next training, nothing else lost."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            ids, vectors, meta = [str(i) for i in f["item_ids"]], f["vectors"].astype(np.float32), json.loads(str(f["meta"]))
    except Exception as exc:
        raise ChatrecError(f"the collaborative vectors {path} are unreadable ({exc}); {TRAIN_HINT}") from exc
    if vectors.ndim != 2 or len(ids) != len(vectors):
        raise ChatrecError(f"the collaborative vectors {path} are malformed; {TRAIN_HINT}")
    out = np.zeros((len(catalog), vectors.shape[1]), dtype=np.float32)
    rows = [(catalog.index_of[i], n) for n, i in enumerate(ids) if i in catalog.index_of]
    if not rows:
        raise ChatrecError(f"the collaborative vectors {path} were made for another catalog; {TRAIN_HINT}")
    pos, src = zip(*rows)
    out[list(pos)] = vectors[list(src)]
    meta["known_items"] = len(rows)
    return out, meta


# Stored in 16 bits, loaded back into the model's 32-bit buffers: the EASE item-item block is most of a checkpoint
# (1,500² weights: 9 MB in 32 bits) and its weights need no more than fp16's three significant digits. The bundled
# checkpoint then stays under the 10 MB a file may have in a Hugging Face Space without Git LFS.
HALF_PRECISION = ("ease_b",)


def save_checkpoint(model: FusionModel, path: Path, *, catalog: Catalog, embedder_name: str,
                    user_keys: list[str], extra: dict | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": 1,
        "config": dataclasses.asdict(model.cfg),
        "state_dict": {k: (v.half() if k in HALF_PRECISION else v).detach().cpu()
                       for k, v in model.state_dict().items()},
        "catalog_fingerprint": catalog.fingerprint(),
        "catalog": catalog.name,
        "embedder": embedder_name,
        "user_keys": list(user_keys),
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "extra": extra or {},
    }
    # a temp name of its own per writer (a background fine-tune and a CLI run must not share one), in the same
    # folder so os.replace stays a rename on one file system
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic: a crash mid-save leaves the previous checkpoint intact
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: Path, *, catalog: Catalog, embedder_name: str, vectors: np.ndarray,
                    device: str = "cpu") -> tuple[FusionModel, dict]:
    """The model ready for inference, and the checkpoint's metadata. Refuses a checkpoint for other data.

    `device`: a `Config.device` value. On an accelerator the model is wrapped (`OnDevice`) so that its callers keep
    passing and getting CPU tensors. Scoring one person's ~150 candidates is a few small tensor operations, so
    the CPU is usually as fast for serving; an accelerator pays for batch scoring (`score_all`) and training."""
    path = Path(path)
    if not path.exists():
        raise ChatrecError(f"no reranker checkpoint at {path}; {TRAIN_HINT}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ChatrecError(f"the reranker checkpoint {path} is unreadable ({exc}); {TRAIN_HINT}") from exc
    if payload.get("catalog_fingerprint") != catalog.fingerprint():
        raise ChatrecError(f"the reranker checkpoint {path} was trained on another catalog "
                           f"({payload.get('catalog')}, fingerprint {payload.get('catalog_fingerprint')}) than "
                           f"{catalog.name} ({catalog.fingerprint()}); {TRAIN_HINT}")
    if payload.get("embedder") != embedder_name:
        raise ChatrecError(f"the reranker checkpoint {path} was trained with embedder {payload.get('embedder')}, "
                           f"not {embedder_name}; {TRAIN_HINT}")
    try:  # a checkpoint from another version of the model: other fields or other shapes
        model = FusionModel(FusionConfig(**payload["config"]))
        model.load_state_dict(payload["state_dict"])
    except (TypeError, RuntimeError, KeyError) as exc:
        raise ChatrecError(f"the reranker checkpoint {path} does not fit this version of the model "
                           f"({str(exc).splitlines()[0][:200]}); {TRAIN_HINT}") from exc
    model.set_item_text(vectors)
    model.eval()
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    resolved = resolve_device(device)
    if resolved == "cpu":
        return model, meta
    return OnDevice(model.to(resolved), resolved), meta


class OnDevice(torch.nn.Module):
    """A fusion model on an accelerator behind the CPU-tensor interface its callers use: a `UserBatch` and item
    positions on the CPU go in, CPU float32 logits come out; every other attribute is the model's own."""

    def __init__(self, model: FusionModel, device: str):
        super().__init__()
        self.inner = model
        self.device = torch.device(device)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.inner, name)

    def forward(self, ub, items=None, exclude=None, item_v=None):
        moved = type(ub)(**{f.name: None if getattr(ub, f.name) is None else getattr(ub, f.name).to(self.device)
                            for f in dataclasses.fields(ub)})
        move = lambda t: None if t is None else t.to(self.device)  # noqa: E731
        out = self.inner(moved, move(items), exclude=move(exclude), item_v=move(item_v))
        return out.float().cpu()


def item_text_vectors(config: Config, catalog: Catalog) -> tuple[np.ndarray, str]:
    """(vectors aligned with catalog.items, embedder name): embedding cache first, then the index, then encode."""
    from chatrec.errors import IndexNotReady
    from chatrec.retrieval.index import VectorIndex, cache_path, load_embedding_cache

    name = embedder_name(config.embedder)
    cached = load_embedding_cache(cache_path(config, _Named(name)))
    hashes = [it.content_hash() for it in catalog.items]
    if cached and all(h in cached for h in hashes):
        v = np.stack([cached[h] for h in hashes]).astype(np.float32)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12), name
    from chatrec.retrieval.embed import embedder_for

    embedder = embedder_for(config)  # on config.device
    try:
        return VectorIndex.open(catalog, embedder, config).vectors, embedder.name
    except IndexNotReady:
        pass
    if len(catalog) > 2000 and not embedder.name.startswith("hashing"):
        raise ChatrecError("no embedding cache or built index holds this catalog's vectors; "
                           "run `chatrec build-index` first")
    return embedder.encode([it.text() for it in catalog.items]), embedder.name


@dataclass
class _Named:
    name: str


def embedder_name(spec: str) -> str:
    """The name an embedder spec resolves to, without loading a model where the name is known."""
    if spec == "minilm":
        return "all-MiniLM-L6-v2@128"  # what SentenceTransformerEmbedder reports (max_seq_length 128)
    from chatrec.retrieval.embed import get_embedder

    return get_embedder(spec).name
