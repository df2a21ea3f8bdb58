"""Chapter 1's conclusions are chosen by the numbers: every branch, with hand-made numbers."""

from __future__ import annotations

import pandas as pd

from ko_embed_lab.report import prompt


def _summary(shift: float, gap: float) -> pd.DataFrame:
    rows = {
        ("no prompt", "relevant"): 0.80,
        ("no prompt", "hard negative"): 0.80 - gap,
        ("no prompt", "random"): 0.70,
        ("with prompt", "relevant"): 0.80 + shift,
        ("with prompt", "hard negative"): 0.80 - gap + shift,
        ("with prompt", "random"): 0.70 + shift,
    }
    return pd.DataFrame({"mean": rows}).rename_axis(["setting", "kind"])


def test_scale_moves_only_when_the_shift_is_large_next_to_the_gap() -> None:
    small = prompt.scale_finding(_summary(shift=-0.001, gap=0.024))
    assert not small["moves_scale"] and "barely moves" in small["sentence"] and "−0.001" in small["sentence"]
    large = prompt.scale_finding(_summary(shift=0.05, gap=0.024))
    assert large["moves_scale"] and "moves the whole scale" in large["sentence"]
    assert "never reuse" in large["takeaway"] and "barely" in small["takeaway"]


def test_prompt_effect_sentence_both_branches() -> None:
    base = {"mean_diff": 0.01, "wins": 5, "losses": 2, "ties": 1, "sign_test_p": 0.4, "unit": "cluster"}
    assert "excludes zero" in prompt.prompt_effect_sentence({**base, "low": 0.002, "high": 0.02})
    assert "excludes zero" in prompt.prompt_effect_sentence({**base, "mean_diff": -0.01, "low": -0.02, "high": -0.001})
    text = prompt.prompt_effect_sentence({**base, "low": -0.003, "high": 0.02})
    assert "includes zero" in text and "information needs" in text and "needs better" in text


def test_group_tests_sentence_names_survivors_and_casualties() -> None:
    table = pd.DataFrame(
        {
            "mean_diff": [0.05, 0.02, 0.0],
            "sign_test_p": [0.001, 0.0225, 0.8],
            "p_holm": [0.003, 0.045 * 2, 0.8],
            "significant": [True, False, False],
        },
        index=["question", "phrase", "english"],
    )
    text = prompt.group_tests_sentence(table, "query form")
    assert "holds for: question (+0.050)" in text and "not after the adjustment: phrase" in text
    none = prompt.group_tests_sentence(table.assign(significant=False), "query form")
    assert "no query form shows a difference" in none
    assert "enough queries" in prompt.group_tests_sentence(table.iloc[:0], "domain")


def test_card_example_sentence_branches() -> None:
    good = pd.DataFrame([[0.9, 0.5], [0.4, 0.8]])
    bad = pd.DataFrame([[0.5, 0.9], [0.4, 0.8]])
    assert prompt.card_example_sentence(good, good).startswith("Both settings")
    assert prompt.card_example_sentence(good, bad).startswith("Only the setting with the prompt")
    assert prompt.card_example_sentence(bad, bad).startswith("Neither")


def test_precision_paths_and_takeaways_follow_the_numbers() -> None:
    cmp = {"median_cosine": 0.9999, "min_cosine": 0.999}
    null = {"mean_diff": 0.0004, "low": -0.002, "high": 0.003}
    real = {"mean_diff": -0.02, "low": -0.03, "high": -0.01}
    assert "no change in retrieval can be measured" in prompt.precision_sentence(cmp, null)
    assert "changes retrieval measurably" in prompt.precision_sentence(cmp, real)
    same = {"max_abs_diff": 7e-8, "min_cosine": 1.0}
    diff = {"max_abs_diff": 0.3, "min_cosine": 0.8}
    assert "agree to float precision" in prompt.paths_sentence(same)
    assert "disagree" in prompt.paths_sentence(diff)
    scale = prompt.scale_finding(_summary(shift=-0.001, gap=0.024))
    text = prompt.takeaways({**null}, scale, same, null)
    assert "cannot be told apart" in text and "changed no measurable" in text and "agreed" in text
    text = prompt.takeaways({**real}, scale, diff, real)
    assert "measurable difference" in text and "changed retrieval measurably" in text and "disagreed" in text
