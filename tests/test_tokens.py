import itertools

import pytest

from ko_embed_lab import count_tokens, split_windows, truncate_text
from ko_embed_lab.data.korean_long import load_long_korean
from ko_embed_lab.tokens import special_token_count

TEXT = load_long_korean("constitution")[0].text[:4000]


def test_count_tokens_matches_tokenizer(model) -> None:
    n = len(model.tokenizer(TEXT, truncation=False)["input_ids"])
    assert count_tokens(model, TEXT) == n
    assert count_tokens(model, [TEXT, "가"]) == [n, count_tokens(model, "가")]
    assert count_tokens(model, TEXT, special_tokens=False) == n - special_token_count(model) == n - 2
    assert count_tokens(model, "서울", prompt="query: ") > count_tokens(model, "서울")
    with pytest.raises(TypeError):
        count_tokens(model, [1, 2])


@pytest.mark.parametrize("limit", [2, 3, 10, 512])
def test_truncate_text_fits_and_is_a_prefix(model, limit) -> None:
    cut = truncate_text(model, TEXT, limit)
    assert TEXT.startswith(cut)
    assert count_tokens(model, cut) <= limit
    # One more token of the original would not have fitted (the cut is tight).
    assert count_tokens(model, TEXT[: len(cut) + 2]) > limit - 1
    assert truncate_text(model, "짧다", 100) == "짧다"
    with pytest.raises(ValueError, match="no room"):
        truncate_text(model, TEXT, 1)


@pytest.mark.parametrize(("window", "overlap"), [(510, 0), (128, 32), (50, 49)])
def test_windows_cover_every_token(model, window, overlap) -> None:
    wins = split_windows(model, TEXT, window, overlap)
    total = count_tokens(model, TEXT, special_tokens=False)
    covered = set()
    for w in wins:
        assert w.token_end - w.token_start <= window
        assert TEXT[w.start : w.end] == w.text
        covered |= set(range(w.token_start, w.token_end))
    assert covered == set(range(total))
    for a, b in itertools.pairwise(wins):
        assert a.token_end - b.token_start == overlap
    assert wins[0].start == 0 and wins[-1].end == len(TEXT)
    with pytest.raises(ValueError, match="overlap"):
        split_windows(model, TEXT, 10, 10)
