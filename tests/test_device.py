"""One device setting (Config.device) for the encoder, serving and training; device-independent index vectors."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from chatrec import devices
from chatrec.catalog import load_table
from chatrec.config import Config
from chatrec.errors import ChatrecError
from chatrec.retrieval.embed import HashingEmbedder, get_embedder
from chatrec.retrieval.index import VectorIndex, build_index
from conftest import TINY, make_config

NO_CUDA = "needs a CUDA device, and torch sees none here (CPU-only machine or CPU build of torch)"
cuda_only = pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)


def test_the_setting_is_a_config_field_read_from_the_environment(monkeypatch):
    assert Config().device == "auto"
    monkeypatch.setenv("CHATREC_DEVICE", "cpu")
    monkeypatch.setenv("CHATREC_EMBED_BATCH_SIZE", "256")
    monkeypatch.setenv("CHATREC_EMBED_PROCESSES", "4")
    config = Config.from_env()
    assert (config.device, config.embed_batch_size, config.embed_processes) == ("cpu", 256, 4)


def test_auto_picks_an_accelerator_when_there_is_one_else_the_cpu(monkeypatch):
    monkeypatch.setattr(devices, "cuda_count", lambda: 0)
    monkeypatch.setattr(devices, "mps_available", lambda: False)
    assert devices.resolve_device("auto") == devices.resolve_device("") == devices.resolve_device("CPU") == "cpu"
    monkeypatch.setattr(devices, "mps_available", lambda: True)
    assert devices.resolve_device("auto") == devices.resolve_device("mps") == "mps"
    monkeypatch.setattr(devices, "cuda_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert devices.resolve_device("auto") == devices.resolve_device("cuda") == "cuda:0"  # CUDA before MPS
    assert devices.resolve_device("cuda:1") == "cuda:1"
    with pytest.raises(ChatrecError, match=r"sees 2 CUDA device\(s\) \(cuda:0..cuda:1\)"):
        devices.resolve_device("cuda:2")


def test_a_device_that_is_not_there_is_an_error_not_a_silent_cpu(monkeypatch):
    monkeypatch.setattr(devices, "cuda_count", lambda: 0)
    monkeypatch.setattr(devices, "mps_available", lambda: False)
    for setting in ("cuda", "cuda:0"):
        with pytest.raises(ChatrecError, match="use 'auto' or 'cpu'"):
            devices.resolve_device(setting)
    with pytest.raises(ChatrecError, match="Apple Metal"):
        devices.resolve_device("mps")
    with pytest.raises(ChatrecError, match=r"unknown device 'gpu'.*auto, cpu, cuda, cuda:N, mps"):
        devices.resolve_device("gpu")
    assert devices.encoder_dtype("cuda:0") == "float16" and devices.encoder_dtype("cpu") == "float32"
    # embedders that do not run on torch ignore the setting
    assert get_embedder("hashing", "cuda:7") is get_embedder("hashing")


def test_the_manifest_records_the_device_and_a_new_device_does_not_rebuild(tmp_path):
    """Vectors made in fp16 on a GPU and in fp32 on a CPU are interchangeable: the manifest says what made them,
    opening or updating the index on another device neither refuses it nor embeds anything again."""
    config = make_config(tmp_path)
    cat, emb = load_table(TINY), HashingEmbedder()
    build_index(cat, emb, config, progress=False)
    path = tmp_path / "index" / "manifest.json"
    manifest = json.loads(path.read_text())
    assert (manifest["device"], manifest["dtype"]) == ("cpu", "float32")
    manifest.update(device="cuda:0", dtype="float16")  # as a GPU build writes it
    path.write_text(json.dumps(manifest))
    VectorIndex.open(cat, emb, config)  # a CPU process serves GPU-made vectors
    again = build_index(cat, emb, config, progress=False)
    assert again.embedded == 0 and again.unchanged == len(cat)
    assert json.loads(path.read_text())["device"] == "cuda:0"  # nothing re-embedded: still what made them
    lines = TINY.read_text().splitlines()
    row = json.loads(lines[0])
    row["description"] = "A new overview, embedded on this machine's CPU."
    changed = tmp_path / "changed.jsonl"
    changed.write_text("\n".join([json.dumps(row)] + lines[1:]) + "\n")
    assert build_index(load_table(changed), emb, config, progress=False).embedded == 1
    manifest = json.loads(path.read_text())
    assert (manifest["device"], manifest["dtype"]) == ("cpu,cuda:0", "float16,float32")  # a mixed index
    build_index(load_table(changed), emb, config, rebuild=True, progress=False)
    assert json.loads(path.read_text())["device"] == "cpu"


class PoolSpy(HashingEmbedder):
    """A hashing embedder that records how build_index uses the worker pool and the batch size."""

    def __init__(self):
        super().__init__()
        self.pools, self.calls, self.in_pool = [], [], False

    def worker_pool(self, processes):
        from contextlib import contextmanager

        @contextmanager
        def pool():
            self.pools.append(processes)
            self.in_pool = True
            yield self
            self.in_pool = False

        return pool()

    def encode(self, texts, batch_size=64, progress=False):
        self.calls.append((len(texts), batch_size, self.in_pool))
        return super().encode(texts, batch_size, progress)


def test_a_large_cpu_build_encodes_in_a_worker_pool_with_one_progress_bar(tmp_path):
    cat = load_table(TINY)
    spy = PoolSpy()
    config = make_config(tmp_path, embed_processes=2, embed_pool_min_items=10, embed_batch_size=4)
    stats = build_index(cat, spy, config, progress=False, batch_size=8)
    assert stats.embedded == len(cat) == 42 and spy.pools == [2]
    # rounds of processes x 8 x batch size = 64 texts (all 42 at once here), written to Chroma 8 at a time
    assert spy.calls == [(42, 4, True)]
    index = VectorIndex.open(cat, HashingEmbedder(), config)
    np.testing.assert_allclose(index.vectors, HashingEmbedder().encode([it.text() for it in cat.items]), atol=1e-6)
    # below embed_pool_min_items (or with embed_processes <= 1) no pool is started
    spy2 = PoolSpy()
    build_index(cat, spy2, make_config(tmp_path / "b", embed_processes=2, embed_pool_min_items=100), progress=False)
    assert spy2.pools == [] and {inside for *_, inside in spy2.calls} == {False}


def test_serving_loads_the_fusion_model_on_the_configured_device(tmp_path):
    from chatrec.evaluation.offline import synthetic_movielens
    from chatrec.ranking.checkpoint import item_text_vectors, load_checkpoint, save_checkpoint
    from chatrec.ranking.fusion import FusionConfig
    from chatrec.training.data import load_interactions
    from chatrec.training.fit import build_model

    from chatrec.catalog import load_catalog

    folder = synthetic_movielens(tmp_path / "ml", n_users=10, n_items=30, per_user=8)
    config = Config(catalog=str(folder), embedder="hashing", index_dir=str(tmp_path / "index"),
                    model_dir=str(tmp_path / "models"))
    catalog = load_catalog(folder)
    vectors, name = item_text_vectors(config, catalog)
    data = load_interactions(folder, catalog)
    cfg = FusionConfig(n_users=data.n_users, n_items=data.n_items, n_genres=len(catalog.genres),
                       text_dim=vectors.shape[1], history_len=8)
    path = save_checkpoint(build_model(cfg, catalog, vectors, data).eval(), tmp_path / "fusion.pt", catalog=catalog,
                           embedder_name=name, user_keys=data.user_keys)
    model, _ = load_checkpoint(path, catalog=catalog, embedder_name=name, vectors=vectors, device="auto")
    if not torch.cuda.is_available():
        assert next(model.parameters()).device.type == "cpu"
    with pytest.raises(ChatrecError, match="unknown device"):
        load_checkpoint(path, catalog=catalog, embedder_name=name, vectors=vectors, device="tpu")


def test_training_takes_the_same_setting(tmp_path):
    from chatrec.evaluation.offline import synthetic_movielens
    from chatrec.ranking.checkpoint import item_text_vectors
    from chatrec.ranking.fusion import FusionConfig
    from chatrec.training.data import load_interactions
    from chatrec.training.fit import build_model, fit, user_table

    from chatrec.catalog import load_catalog

    folder = synthetic_movielens(tmp_path / "ml", n_users=10, n_items=30, per_user=8)
    catalog = load_catalog(folder)
    vectors, _ = item_text_vectors(Config(catalog=str(folder), embedder="hashing",
                                          index_dir=str(tmp_path / "index")), catalog)
    data = load_interactions(folder, catalog)
    cfg = FusionConfig(n_users=data.n_users, n_items=data.n_items, n_genres=len(catalog.genres),
                       text_dim=vectors.shape[1], history_len=8)
    model = build_model(cfg, catalog, vectors, data)
    result = fit(model, user_table(model, data), data, epochs=1, batch_size=64, progress=False, device="cpu")
    assert next(result.model.parameters()).device.type == "cpu"
    with pytest.raises(ChatrecError, match="use 'auto' or 'cpu'|unknown device"):
        fit(model, user_table(model, data), data, epochs=1, progress=False,
            device="cuda:99" if not torch.cuda.is_available() else "gpu")


# ---------------------------------------------------------------- needs the real encoder / a GPU

@pytest.mark.slow
def test_the_multi_process_pool_gives_the_same_vectors(monkeypatch):
    """sentence-transformers' pool (two CPU workers) returns what one process returns."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the workers' threads; restored after the test
    emb = get_embedder("minilm", "cpu")
    texts = [it.text() for it in load_table(TINY).items[:24]]
    one = emb.encode(texts, batch_size=8)
    with emb.worker_pool(2):
        pooled = emb.encode(texts, batch_size=8)
    np.testing.assert_allclose(pooled, one, atol=1e-5)
    assert emb._pool is None  # stopped after the block


@pytest.mark.slow
@cuda_only
def test_gpu_fp16_vectors_match_cpu_fp32_ones():
    """The interchangeability the index relies on: fp16 CUDA vectors of a few texts vs fp32 CPU ones."""
    texts = [it.text() for it in load_table(TINY).items[:16]]
    cpu = get_embedder("minilm", "cpu")
    gpu = get_embedder("minilm", "cuda")
    assert (cpu.dtype, gpu.dtype, cpu.name) == ("float32", "float16", gpu.name)
    a, b = cpu.encode(texts), gpu.encode(texts)
    assert b.dtype == np.float32
    cos = np.sum(a * b, axis=1)
    assert cos.min() > 0.999, cos.min()
    # and the same neighbours: the top 5 of every text among the others agree
    assert (np.argsort(-(a @ a.T), axis=1)[:, :5] == np.argsort(-(b @ a.T), axis=1)[:, :5]).mean() > 0.95


@pytest.mark.slow
@cuda_only
def test_the_fusion_model_serves_from_a_gpu_behind_cpu_tensors(tmp_path):
    from chatrec.evaluation.offline import synthetic_movielens
    from chatrec.ranking.checkpoint import item_text_vectors, load_checkpoint, save_checkpoint
    from chatrec.ranking.fusion import FusionConfig
    from chatrec.ranking.scorers import FusionScorer, ScoreContext
    from chatrec.training.data import load_interactions
    from chatrec.training.fit import build_model

    from chatrec.catalog import load_catalog

    folder = synthetic_movielens(tmp_path / "ml", n_users=10, n_items=30, per_user=8)
    catalog = load_catalog(folder)
    vectors, name = item_text_vectors(Config(catalog=str(folder), embedder="hashing",
                                             index_dir=str(tmp_path / "index")), catalog)
    data = load_interactions(folder, catalog)
    cfg = FusionConfig(n_users=data.n_users, n_items=data.n_items, n_genres=len(catalog.genres),
                       text_dim=vectors.shape[1], history_len=8)
    path = save_checkpoint(build_model(cfg, catalog, vectors, data).eval(), tmp_path / "fusion.pt", catalog=catalog,
                           embedder_name=name, user_keys=data.user_keys)
    scores = []
    for device in ("cpu", "cuda"):
        model, meta = load_checkpoint(path, catalog=catalog, embedder_name=name, vectors=vectors, device=device)
        ctx = ScoreContext(query_vector=vectors[0], history=[1, 2, 3])
        scores.append(FusionScorer(model, meta).score(np.arange(10), np.linspace(0, 1, 10), ctx))
    np.testing.assert_allclose(scores[0], scores[1], atol=1e-4)
