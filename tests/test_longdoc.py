"""Long documents: haystacks, chunking, strategies, token statistics, KoLongQ integrity."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ko_embed_lab import longdoc
from ko_embed_lab.data.beir import RetrievalSet, doc_text
from ko_embed_lab.data.longqueries import LONG_QUERY_FORMS, document_text, load_long_queries

# ------------------------------------------------------------------------------------------------
# Fixtures and fakes
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def probe():
    from ko_embed_lab.data import load_probe

    return load_probe()


@pytest.fixture(scope="module")
def fillers(probe) -> dict[str, str]:
    """KoProbe passages of the finance domain (filler for a needle from another domain)."""
    return {p: doc_text(d) for p, d in probe.data.corpus.items() if probe.passages.loc[p, "domain"] == "finance"}


NEEDLE = "바늘 이야기: 서울 한복판에서 잃어버린 은빛 바늘을 찾는 방법을 설명한다."


class NeedleModel:
    """A fake model with the real tokenizer and a 64-token window.

    A text embeds to ``[1, 1]`` (normalised) when it contains "바늘", else ``[0, 1]``; the
    query embeds to ``[1, 0]``. A document's score is therefore 0.707 when the embedded text holds
    the needle and 0 when it does not — worked out by hand.
    """

    def __init__(self, tokenizer: Any, max_seq_length: int = 64) -> None:
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self.document_prompt = ""
        self.query_prompt = ""
        self.spec = None
        self.label = "needle-fake"
        self.encoded: list[str] = []

    def encode(self, texts: Sequence[str], *, kind: str = "document", **kwargs: Any) -> np.ndarray:
        if kind == "query":
            return np.tile(np.array([1.0, 0.0], dtype=np.float32), (len(texts), 1))
        self.encoded.extend(texts)
        rows = [[1.0, 1.0] if "바늘" in t else [0.0, 1.0] for t in texts]
        arr = np.asarray(rows, dtype=np.float32)
        return arr / np.linalg.norm(arr, axis=1, keepdims=True)

    def identity(self) -> dict[str, Any]:
        return {"model": self.label}


# ------------------------------------------------------------------------------------------------
# Haystacks
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [512, 1024, 2048])
@pytest.mark.parametrize("position", [0.0, 0.25, 0.5, 1.0])
def test_haystack_puts_the_needle_where_asked_and_reaches_the_length(model, fillers, length, position) -> None:
    h = longdoc.build_haystack(model, NEEDLE, fillers, length, position, seed=3, doc_id="h", needle_id="n")
    unit_tokens = longdoc.length_stats(model, fillers)["tokens"]
    # Length: never above the target, and within one filler unit of it (in practice within 2 tokens).
    assert h.n_tokens <= length
    assert length - h.n_tokens <= unit_tokens.max()
    assert h.n_tokens == len(model.tokenizer(h.text)["input_ids"])
    # The needle is in the text, whole, at the recorded span.
    start, end = h.needle_chars
    assert h.text[start:end] == NEEDLE
    # Position: within one filler unit of the asked fraction of the filler.
    filler_tokens = h.n_tokens - 2 - (h.needle_tokens[1] - h.needle_tokens[0])
    assert abs(h.needle_tokens[0] - position * filler_tokens) <= unit_tokens.max()
    if position == 0.0:
        assert h.needle_tokens[0] == 0 and h.text.startswith(NEEDLE)
    if position == 1.0:
        assert h.text.endswith(NEEDLE)
        assert h.needle_tokens[1] == h.n_tokens - 2


def test_haystack_is_seeded_and_deterministic(model, fillers) -> None:
    a = longdoc.build_haystack(model, NEEDLE, fillers, 1024, 0.5, seed=1)
    b = longdoc.build_haystack(model, NEEDLE, fillers, 1024, 0.5, seed=1)
    c = longdoc.build_haystack(model, NEEDLE, fillers, 1024, 0.5, seed=2)
    assert a == b
    assert a.filler_ids != c.filler_ids
    # Without a seed the fillers keep their order.
    d = longdoc.build_haystack(model, NEEDLE, fillers, 1024, 0.0)
    assert d.filler_ids[0] == next(iter(fillers))


def test_distractor_has_the_length_and_no_needle(model, fillers) -> None:
    h = longdoc.build_haystack(model, None, fillers, 700, seed=0, doc_id="d")
    assert 698 <= h.n_tokens <= 700
    assert h.needle_tokens is None and h.needle_position is None and h.position is None
    assert not h.needle_visible(10_000)


def test_haystack_rejects_bad_input(model, fillers) -> None:
    with pytest.raises(ValueError, match="position"):
        longdoc.build_haystack(model, NEEDLE, fillers, 512, 1.5)
    with pytest.raises(ValueError, match="cannot hold the needle"):
        longdoc.build_haystack(model, NEEDLE, fillers, 10, 0.5)
    with pytest.raises(ValueError, match="filler holds only"):
        longdoc.build_haystack(model, NEEDLE, ["짧은 글."], 512, 0.5)
    with pytest.raises(ValueError, match="empty"):
        longdoc.build_haystack(model, "  ", fillers, 512, 0.5)


def test_truncation_drops_a_needle_placed_past_the_window(model, fillers) -> None:
    window = longdoc.content_window(model)
    late = longdoc.build_haystack(model, NEEDLE, fillers, 1024, 1.0, seed=0)
    early = longdoc.build_haystack(model, NEEDLE, fillers, 1024, 0.0, seed=0)
    scorer = longdoc.LongDocScorer(model, cache=False)
    cut_late, chunks_late = scorer.views(late.text)
    cut_early, _ = scorer.views(early.text)
    assert NEEDLE not in cut_late and not late.needle_visible(window)
    assert NEEDLE in cut_early and early.needle_visible(window)
    # Chunks see the whole document; with an overlap longer than the needle one chunk holds it whole.
    assert "".join(chunks_late) == late.text.replace("\n\n", "") or any("바늘" in c for c in chunks_late)
    _, overlapping = longdoc.LongDocScorer(model, overlap=64, cache=False).views(late.text)
    assert any(NEEDLE in c for c in overlapping)
    # Our truncation is the model's own: embedding the whole text or its cut gives the same vector.
    full, cut = model.encode_documents([late.text, cut_late])
    assert float(full @ cut) > 0.999


def test_needle_sets_structure(model, probe) -> None:
    sets = longdoc.needle_sets(model, probe, lengths=[600], positions=[0.0, 1.0], n_needles=3, n_distractors=2, seed=0)
    assert [(s.length, s.position) for s in sets] == [(600, 0.0), (600, 1.0)]
    assert sets[0].excluded == longdoc.filler_exclusions(probe, list(sets[0].needles))
    for s in sets:
        assert len(s.data.queries) == 3 and len(s.data.corpus) == 5 and s.seed == 0
        for qid, nd in s.needles.items():
            assert s.data.qrels[qid] == {f"haystack-{nd.need_id}": 1}
            assert nd.passage in s.haystacks[f"haystack-{nd.need_id}"].text
        for h in s.haystacks.values():
            assert not set(h.filler_ids) & s.excluded
    # The same filler order at every position: distractors are identical across positions.
    assert sets[0].haystacks["distractor-00"] == sets[1].haystacks["distractor-00"]


def _head(text: str, n: int = 40) -> str:
    from ko_embed_lab.text import clean_text

    return clean_text(text).strip()[:n]


def test_filler_exclusions_are_per_query(probe) -> None:
    qid = next(q for q in probe.queries.index if probe.queries.loc[q, "form"] == "question")
    excl = longdoc.filler_exclusions(probe, [qid])
    assert {p for p, g in probe.data.qrels[qid].items() if g > 0} <= excl
    assert set(probe.hard_negatives(qid)) <= excl
    assert set(probe.needs.loc[probe.queries.loc[qid, "need_id"], "relevant"]) <= excl


@pytest.mark.parametrize("seed", [0, 1])
def test_no_filler_holds_any_querys_relevant_passage_or_hard_negative(model, probe, seed) -> None:
    sets = longdoc.needle_sets(model, probe, lengths=[900], positions=[0.5], n_needles=8, n_distractors=4, seed=seed)
    cell = sets[0]
    forbidden = set()
    for qid in cell.data.queries:
        forbidden |= {p for p, g in probe.data.qrels[qid].items() if g > 0} | set(probe.hard_negatives(qid))
    assert forbidden <= cell.excluded
    heads = {p: _head(doc_text(probe.data.corpus[p])) for p in forbidden}
    for h in cell.haystacks.values():
        filler = h.text if h.needle_chars is None else h.text[: h.needle_chars[0]] + h.text[h.needle_chars[1] :]
        assert not set(h.filler_ids) & forbidden
        assert not [p for p, head in heads.items() if head and head in filler], h.id


def test_needles_and_distractors_are_built_by_one_rule(model, probe) -> None:
    sets = longdoc.needle_sets(model, probe, lengths=[1500], positions=[0.0], n_needles=8, n_distractors=8, seed=0)
    cell = sets[0]
    domain = probe.passages["domain"]

    def shares(hays: list) -> pd.Series:
        ids = [f for h in hays for f in h.filler_ids]
        return domain.loc[ids].value_counts(normalize=True)

    needles = [h for h in cell.haystacks.values() if h.needle_id is not None]
    distractors = [h for h in cell.haystacks.values() if h.needle_id is None]
    a, b = shares(needles).align(shares(distractors), fill_value=0.0)
    assert 0.5 * (a - b).abs().sum() < 0.2  # total variation distance between the two domain mixes
    # The old rule kept a needle's own domain out of its filler; the one rule does not.
    own = [
        domain.loc[list(h.filler_ids)].eq(cell.needles[q].domain).any()
        for q, h in ((q, cell.haystacks[f"haystack-{nd.need_id}"]) for q, nd in cell.needles.items())
    ]
    assert any(own)
    # Every haystack draws from the same pool: the corpus less the exclusions.
    pool = set(probe.data.corpus) - cell.excluded
    assert all(set(h.filler_ids) <= pool for h in cell.haystacks.values())


class RelatedModel(NeedleModel):
    """A fake whose document vector leans towards the query when the text holds a passage related
    to a query of the set (a relevant passage or a hard negative), and is otherwise random."""

    def __init__(self, tokenizer: Any, heads: list[str]) -> None:
        super().__init__(tokenizer, max_seq_length=64)
        self.heads = heads

    def encode(self, texts: Sequence[str], *, kind: str = "document", **kwargs: Any) -> np.ndarray:
        import hashlib

        if kind == "query":
            return np.tile(np.full(9, 1 / 3, dtype=np.float32), (len(texts), 1))
        rows = []
        for t in texts:
            rng = np.random.default_rng(int(hashlib.md5(t.encode()).hexdigest()[:8], 16))
            v = np.concatenate([[3.0 if any(h in t for h in self.heads) else 0.0], rng.normal(size=8)])
            rows.append(v / np.linalg.norm(v))
        return np.asarray(rows, dtype=np.float32)


def test_a_truncated_needle_past_the_window_ranks_near_chance(model, probe) -> None:
    grids = []
    for seed in range(6):
        sets = longdoc.needle_sets(
            model, probe, lengths=[400], positions=[1.0], n_needles=8, n_distractors=8, seed=seed
        )
        # Related to a query of the set: its relevant passages and hard negatives, less the needles themselves.
        needle_passages = {nd.passage_id for nd in sets[0].needles.values()}
        heads = [_head(doc_text(probe.data.corpus[p])) for p in sets[0].excluded - needle_passages]
        fake = RelatedModel(model.tokenizer, [h for h in heads if h])
        grids.append(longdoc.needle_grid(fake, sets, strategies=("truncate",), cache=False))
        # Under the one rule no haystack holds a related passage, so none gets the boost.
        assert not any(any(h in t for h in fake.heads) for t in sets[0].data.doc_texts() if t)
    grid = pd.concat(grids)
    assert not grid["visible"].any() and set(grid["seed"]) == set(range(6))
    n_docs = int(grid["n_docs"].iloc[0])
    assert abs(grid["rank"].mean() - (n_docs + 1) / 2) < 1.5  # 48 needles: the standard error is about 0.7


def test_grid_intervals_and_compare_strategies_by_hand() -> None:
    rows = []
    for seed, q, p, a, b in [
        (0, "q1", 0.0, 1.0, 0.0),
        (0, "q2", 0.0, 1.0, 0.0),
        (1, "q1", 0.0, 1.0, 0.0),
        (0, "q1", 1.0, 0.0, 1.0),
        (0, "q2", 1.0, 1.0, 1.0),
        (1, "q1", 1.0, 0.0, 0.0),
    ]:
        rows += [
            {"seed": seed, "query_id": q, "position": p, "length": 1024, "strategy": "x", "ndcg@10": a},
            {"seed": seed, "query_id": q, "position": p, "length": 1024, "strategy": "y", "ndcg@10": b},
        ]
    grid = pd.DataFrame(rows)
    iv = longdoc.grid_intervals(grid).set_index(["strategy", "position"])
    assert iv.loc[("x", 0.0), ["mean", "low", "high", "n"]].tolist() == [1.0, 1.0, 1.0, 3]
    row = iv.loc[("x", 1.0)]
    assert row["mean"] == pytest.approx(1 / 3) and row["low"] == 0.0 and row["high"] == 1.0
    assert (row["seed_min"], row["seed_max"]) == (0.0, 0.5)
    cmp = longdoc.compare_strategies(grid, "x", "y")
    assert cmp.loc[0.0, "mean_diff"] == -1.0 and cmp.loc[0.0, "high"] == -1.0  # y loses on every needle
    assert cmp.loc[1.0, "mean_diff"] == pytest.approx(1 / 3) and cmp.loc[1.0, "low"] <= 0 <= cmp.loc[1.0, "high"]
    assert cmp.loc[1.0, "n"] == 3  # seed 1's q1 is a needle of its own


def test_time_orderings_by_hand() -> None:
    cost = pd.DataFrame({"length": [512, 128, 2048], "seconds": [0.05, 0.04, 0.3], "seconds_max": [0.09, 0.06, 0.4]})
    assert longdoc.time_orderings(cost) == [(128, 512, "overlap"), (512, 2048, "slower")]
    reversed_ = cost.assign(seconds=[0.01, 0.04, 0.3], seconds_max=[0.02, 0.06, 0.4])
    assert longdoc.time_orderings(reversed_)[0] == (128, 512, "faster")


# ------------------------------------------------------------------------------------------------
# Chunking and strategies
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("window", "overlap"), [(50, 0), (64, 16), (127, 100)])
def test_chunking_covers_every_token(model, fillers, window, overlap) -> None:
    from ko_embed_lab.tokens import split_windows

    text = "\n\n".join(list(fillers.values())[:4])
    n = longdoc.length_stats(model, [text])["tokens"].iloc[0]
    chunks = longdoc.chunk_texts(model, [text], window=window, overlap=overlap)[0]
    covered = np.zeros(n, dtype=bool)
    for c in chunks:
        assert c.token_end - c.token_start <= window
        assert text[c.start : c.end] == c.text
        covered[c.token_start : c.token_end] = True
    assert covered.all()
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    assert all(b.token_start - a.token_start == window - overlap for a, b in itertools.pairwise(chunks))
    # Same windows as the single-text helper of ko_embed_lab.tokens.
    assert chunks == split_windows(model, text, window, overlap)
    assert longdoc.chunk_texts(model, [""], window=8) == [[longdoc.Window("", 0, 0, 0, 0)]]


def test_chunk_scores_by_hand() -> None:
    q = np.array([[1.0, 0.0]], dtype=np.float32)
    c = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)
    np.testing.assert_allclose(longdoc.chunk_scores(q, c, [0, 0, 1], 2, "max"), [[1.0, 0.6]], atol=1e-6)
    # Mean of [1, 0] and [0, 1] is [0.5, 0.5] → normalised [0.7071, 0.7071]: cosine 0.7071.
    np.testing.assert_allclose(longdoc.chunk_scores(q, c, [0, 0, 1], 2, "mean"), [[0.5**0.5, 0.6]], atol=1e-6)
    with pytest.raises(ValueError, match="no chunk"):
        longdoc.chunk_scores(q, c, [0, 0, 0], 2, "max")
    with pytest.raises(ValueError, match="how"):
        longdoc.chunk_scores(q, c, [0, 0, 1], 2, "median")


def test_strategies_with_a_hand_computable_fake(model, fillers) -> None:
    fake = NeedleModel(model.tokenizer, max_seq_length=64)
    late = longdoc.build_haystack(model, NEEDLE, fillers, 300, 1.0, seed=0, doc_id="late")
    plain = longdoc.build_haystack(model, None, fillers, 300, seed=5, doc_id="plain")
    data = RetrievalSet(
        name="toy",
        corpus={"late": {"title": "", "text": late.text}, "plain": {"title": "", "text": plain.text}},
        queries={"q": "바늘"},
        qrels={"q": {"late": 1}},
    )
    scorer = longdoc.LongDocScorer(fake, strategies=("truncate", "max-chunk", "mean-chunk"), chunk_tokens=40)
    assert scorer.window == 62  # 64 − <s> − </s>, no prompt
    runs = scorer.runs(data)
    # Truncated at 62 tokens, neither document shows the needle: both score 0.
    assert runs["truncate"]["q"] == pytest.approx({"late": 0.0, "plain": 0.0})
    # The best chunk of "late" holds the needle: cos([1,0], [1,1]/√2) = 0.7071.
    assert runs["max-chunk"]["q"]["late"] == pytest.approx(0.70710677, abs=1e-6)
    assert runs["max-chunk"]["q"]["plain"] == pytest.approx(0.0, abs=1e-6)
    assert runs["mean-chunk"]["q"]["late"] > runs["mean-chunk"]["q"]["plain"]
    # No text the fake was asked to embed exceeds the chunk or truncation budget.
    assert max(longdoc.length_stats(model, fake.encoded)["tokens"]) <= 62
    results = scorer.evaluate(data)
    assert results["max-chunk"].metrics["recall@1"] == 1.0
    assert results["max-chunk"].provenance["settings"]["chunk_tokens"] == 40


def test_bm25_ranks_the_obvious_document_first(model) -> None:
    docs = load_long_queries().data
    data = RetrievalSet(
        name="toy",
        corpus=docs.corpus,
        queries={"q1": "소말리아 아덴만 해역 청해부대 파견 연장", "q2": "간호과 수업연한 학사학위"},
        qrels={"q1": {"kobill-1809898": 1}, "q2": {"kobill-1809894": 1}},
    )
    results = longdoc.score_strategies(model, data, strategies=("bm25",), cache=False)
    assert list(results) == ["bm25"]
    for q, doc in (("q1", "kobill-1809898"), ("q2", "kobill-1809894")):
        assert max(results["bm25"].run[q], key=results["bm25"].run[q].get) == doc
    assert results["bm25"].metrics["recall@1"] == 1.0


@pytest.mark.slow  # ranx compiles its kernels (numba) on first use
def test_fusion_is_reciprocal_rank_fusion_of_best_chunk_and_bm25(model, fillers) -> None:
    fake = NeedleModel(model.tokenizer, max_seq_length=64)
    late = longdoc.build_haystack(model, NEEDLE, fillers, 300, 1.0, seed=0, doc_id="late")
    plain = longdoc.build_haystack(model, None, fillers, 300, seed=5, doc_id="plain")
    data = RetrievalSet(
        name="toy",
        corpus={"late": {"title": "", "text": late.text}, "plain": {"title": "", "text": plain.text}},
        queries={"q": "바늘"},
        qrels={"q": {"late": 1}},
    )
    runs = longdoc.LongDocScorer(fake, strategies=("max-chunk", "bm25", "fusion"), chunk_tokens=40).runs(data)
    # BM25: only "late" holds the morpheme 바늘 ("plain" scores 0 and is left out of the run).
    assert list(runs["bm25"]["q"]) == ["late"]
    # RRF with k=60: late is first in both runs, plain second in one → 2/61 and 1/62.
    assert runs["fusion"]["q"] == pytest.approx({"late": 2 / 61, "plain": 1 / 62})


def test_scorer_rejects_bad_settings(model) -> None:
    with pytest.raises(ValueError, match="unknown strategies"):
        longdoc.LongDocScorer(model, strategies=("nope",))
    with pytest.raises(ValueError, match="chunk_tokens"):
        longdoc.LongDocScorer(model, chunk_tokens=10_000)
    with pytest.raises(ValueError, match="overlap"):
        longdoc.LongDocScorer(model, chunk_tokens=100, overlap=100)
    with pytest.raises(ValueError, match="fusion"):
        longdoc.LongDocScorer(model, fusion=("bm25", "fusion"))


def test_windows_and_lengths_of_the_bundled_model(model) -> None:
    assert longdoc.prompt_token_count(model, "") == 0
    p = longdoc.prompt_token_count(model, model.document_prompt)
    assert p >= 1
    assert longdoc.content_window(model) == model.max_seq_length - 2 - p
    assert longdoc.reliable_length(model) == model.max_seq_length
    assert longdoc.grid_lengths(model, up_to=4096) == [256, 512, 1024, 2048, 4096]
    assert longdoc.grid_lengths(model, up_to=700) == [256, 512]


def test_locate(model) -> None:
    assert longdoc.locate(model, "가 나 다 라", "다") == (2, 4)
    assert longdoc.locate(model, "가 나 다 라", "마") is None


# ------------------------------------------------------------------------------------------------
# Token statistics and Hangul coverage
# ------------------------------------------------------------------------------------------------


def test_chars_for_tokens_is_a_ratio_of_totals() -> None:
    stats = pd.DataFrame({"chars": [200, 400], "tokens": [100, 300]})
    # 600 characters over 400 tokens: 1.5 characters per token.
    assert longdoc.chars_for_tokens(stats, 1300) == pytest.approx(1950.0)
    with pytest.raises(ValueError):
        longdoc.chars_for_tokens(stats, 0)


def test_length_stats(model) -> None:
    stats = longdoc.length_stats(model, {"a": "대한민국 서울", "b": "갂"})
    assert list(stats.index) == ["a", "b"]
    assert stats.loc["a", "chars"] == 7 and stats.loc["a", "chars_no_space"] == 6
    assert stats.loc["a", "hangul_share"] == 1.0
    assert stats.loc["a", "unk_tokens"] == 0 and stats.loc["b", "unk_tokens"] == 1
    assert stats.loc["a", "tokens"] == len(model.tokenizer("대한민국 서울", add_special_tokens=False)["input_ids"])
    with pytest.raises(TypeError):
        longdoc.length_stats(model, "a single string")


def test_hangul_coverage_of_the_xlmr_vocabulary(model) -> None:
    cov = longdoc.hangul_coverage(model)
    assert cov.n_unknown + cov.n_known == longdoc.HANGUL_SYLLABLES == 11172
    # A large share of the syllables, but none of the everyday ones.
    assert cov.share_unknown > 0.5
    for s in "가나다한국어서울대학교":
        assert cov.is_known(s)
    assert not cov.is_known("갂")
    with pytest.raises(ValueError):
        cov.is_known("a")
    usage = longdoc.syllable_usage(longdoc.HangulCoverage(unknown=("갂",)), ["갂갂 가", "abc"])
    assert (usage["hangul"], usage["unknown"], usage["distinct"], usage["distinct_unknown"]) == (3, 2, 2, 1)
    assert usage["share_unknown"] == pytest.approx(2 / 3)
    assert usage["top_unknown"] == [("갂", 2)]


# ------------------------------------------------------------------------------------------------
# Cost per length
# ------------------------------------------------------------------------------------------------


def test_measure_cost_within_and_beyond_the_window(model) -> None:
    df = longdoc.measure_cost(model, [64, 600, 32], repeats=2)
    assert df["length"].tolist() == [32, 64, 600]
    assert df["weights"].tolist() == ["model", "model", "random, same architecture"]
    assert (df["seconds"] > 0).all() and (df["peak_mb"] >= 0).all()
    assert (df["seconds"] <= df["seconds_median"]).all() and (df["seconds_median"] <= df["seconds_max"]).all()
    assert (df["repeats"] == 2).all()
    assert df.attrs["window"] == model.max_seq_length
    skipped = longdoc.measure_cost(model, [64, 600], repeats=1, beyond_window=False)
    assert skipped["length"].tolist() == [64]
    with pytest.raises(ValueError):
        longdoc.measure_cost(model, [4], repeats=1)


# ------------------------------------------------------------------------------------------------
# KoLongQ
# ------------------------------------------------------------------------------------------------


def test_long_queries_integrity() -> None:
    qs = load_long_queries()
    q = qs.queries
    assert 30 <= len(q) <= 40
    assert q.index.is_unique
    assert set(q["form"]) == set(LONG_QUERY_FORMS)
    assert set(q["doc_id"]) == set(qs.documents), "every long document has at least one query"
    texts = {k: document_text(d) for k, d in qs.documents.items()}
    assert all("\x0c" not in t for t in qs.data.doc_texts())
    for qid, row in q.iterrows():
        assert row["evidence"] in texts[row["doc_id"]], qid
        assert row["evidence"] not in row["text"], f"{qid}: the query copies its evidence"
        # The evidence occurs in no other document, except the near-copies listed in `also`.
        others = {k for k, t in texts.items() if k != row["doc_id"] and row["evidence"] in t}
        assert others <= set(row["also"]), qid
        assert row["doc_id"] not in row["also"]
        assert qs.data.qrels[qid] == {row["doc_id"]: 2, **{a: 1 for a in row["also"]}}
    assert len(set(q["text"])) == len(q), "duplicate query texts"


def test_load_long_queries_rejects_bad_rows(tmp_path: Path) -> None:
    good = {
        "_id": "x1",
        "text": "대통령 임기",
        "doc_id": "kolaw-constitution",
        "provision": "제70조",
        "form": "keywords",
        "evidence": "대통령의 임기는 5년으로 하며",
        "also": [],
    }
    cases = [
        ({"evidence": "대통령의 임기는 7년"}, "does not occur"),
        ({"doc_id": "kobill-0"}, "unknown document"),
        ({"form": "poem"}, "form"),
    ]
    for change, message in cases:
        path = tmp_path / "q.jsonl"
        path.write_text(json.dumps({**good, **change}, ensure_ascii=False) + "\n", encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            load_long_queries(path)
    path.write_text((json.dumps(good, ensure_ascii=False) + "\n") * 2, encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate"):
        load_long_queries(path)
    with pytest.raises(FileNotFoundError):
        load_long_queries(tmp_path / "missing.jsonl")


# ------------------------------------------------------------------------------------------------
# Regimes and per-query evidence
# ------------------------------------------------------------------------------------------------


def _fake_target() -> Any:
    from types import SimpleNamespace

    # The target model's limits: an 8,192-token window, fine-tuned on 1,300 tokens.
    return SimpleNamespace(max_seq_length=8192, spec=SimpleNamespace(train_max_length=1300))


def test_length_regimes_and_grid_for_the_target_limits() -> None:
    target = _fake_target()
    assert longdoc.reliable_length(target) == 1300
    assert [longdoc.length_regime(n, target) for n in (1024, 1300, 2048, 8192, 9000)] == [
        "within the trained length",
        "within the trained length",
        "past the trained length",
        "past the trained length",
        "past the window",
    ]
    assert longdoc.grid_lengths(target, up_to=8192) == [256, 512, 1024, 1300, 2048, 4096, 8192]
    assert longdoc.grid_lengths(target, up_to=100_000)[-1] == 8192


def test_regime_summary_by_hand() -> None:
    target = _fake_target()
    grid = pd.DataFrame(
        {
            "strategy": ["truncate"] * 4 + ["max-chunk"] * 4,
            "position": [1.0] * 8,
            "length": [512, 1024, 2048, 4096] * 2,
            "ndcg@10": [1.0, 0.8, 0.4, 0.2, 1.0, 1.0, 0.9, 0.7],
        }
    )
    table = longdoc.regime_summary(grid, target)
    assert list(table.index.get_level_values(0)) == ["truncate", "max-chunk"]
    assert table.loc[("truncate", 1.0), "ndcg@10, within the trained length"] == pytest.approx(0.9)
    assert table.loc[("truncate", 1.0), "ndcg@10, past the trained length"] == pytest.approx(0.3)
    assert table.loc[("max-chunk", 1.0), "ndcg@10, past the trained length"] == pytest.approx(0.8)
    assert "ndcg@10, past the window" not in table.columns


def test_evidence_ranks(model) -> None:
    from ko_embed_lab.retrieval import RetrievalResult

    qs = load_long_queries().subset(["kobill-1809894", "kobill-1809899"])
    run = {q: {"kobill-1809894": 0.9, "kobill-1809899": 0.5} for q in qs.data.queries}
    table = longdoc.evidence_ranks(model, qs, {"fixed": RetrievalResult(metrics={}, per_query={}, run=run)})
    assert set(table.index) == set(qs.data.queries)
    for qid, row in table.iterrows():
        assert row["rank: fixed"] == (1.0 if row["doc_id"] == "kobill-1809894" else 2.0)
        text = qs.data.corpus[row["doc_id"]]["text"]
        start, n = longdoc.locate(model, text, qs.queries.loc[qid, "evidence"])
        assert (row["evidence_token"], row["doc_tokens"]) == (start, n)
        assert row["inside_window"] == (start < longdoc.content_window(model))
    # The capital requirement of the marriage-brokerage bill sits thousands of tokens in.
    assert table.loc["lq37", "evidence_token"] > 1300 and not table.loc["lq37", "inside_window"]
