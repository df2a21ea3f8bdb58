"""Tested summaries of the "Scaling out" chapter: each sentence is chosen from the run's numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "SAME_COST",
    "cpu_time_sentence",
    "duration",
    "estimate_sentence",
    "ray_sentence",
    "throughput_sentence",
    "tokenizer_sentence",
]

#: Costs within this relative spread across GPU counts count as "the same".
SAME_COST = 0.05
#: Pieces in XLM-R's SentencePiece vocabulary, the target model's (and the bundled model's) tokenizer.
XLMR_VOCAB = 250_002


def duration(hours: float) -> str:
    """A duration in the unit a reader thinks in.

    Example:
        >>> duration(0.25), duration(5.5), duration(80.0)
        ('15 min', '5.5 h', '3.3 days')
    """
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def throughput_sentence(rows: int, tokens: float, seconds: float, label: str, threads: int) -> str:
    """What the local engine did on this machine, in passages and tokens per second.

    Example:
        >>> throughput_sentence(100, 5000, 2.0, "m", 2)
        'The local engine embedded 100 passages (5,000 tokens) with m on 2 CPU threads in 2.0 s: 50.0 passages/s, 2,500 tokens/s.'
    """
    if seconds <= 0 or rows <= 0:
        return f"The local engine embedded nothing with {label} in this run (every shard was already done)."
    return (
        f"The local engine embedded {rows:,} passages ({tokens:,.0f} tokens) with {label} on {threads} CPU "
        f"thread{'s' * (threads != 1)} in {seconds:.1f} s: {rows / seconds:.1f} passages/s, "
        f"{tokens / seconds:,.0f} tokens/s."
    )


def tokenizer_sentence(vocab_size: int, label: str) -> str:
    """Whose token counts these are: the target's when the tokenizer has XLM-R's vocabulary.

    Example:
        >>> tokenizer_sentence(250_002, "m")[:60]
        'Passage lengths are counted with the tokenizer of m, which h'
    """
    if vocab_size == XLMR_VOCAB:
        return (
            f"Passage lengths are counted with the tokenizer of {label}, which has XLM-R's SentencePiece vocabulary "
            f"({vocab_size:,} pieces), the vocabulary of the target model's base XLM-RoBERTa-large; the target adds "
            "no prompt to documents, so these are the target's counts too."
        )
    return (
        f"Passage lengths are counted with the tokenizer of {label} ({vocab_size:,} pieces), not the target's XLM-R "
        "vocabulary: the target's counts may differ."
    )


def cpu_time_sentence(
    tokens_per_s: float, passages: int, tokens_per_passage: float, label: str, flops_ratio: float | None = None
) -> str:
    """How long this machine would take for the whole corpus at the measured rate, and how much more the target costs.

    Example:
        >>> cpu_time_sentence(2000.0, 10_000_000, 200.0, "m", 14.2)
        'At that rate this machine would need 11.6 days to embed 10,000,000 passages with m; the target model needs about 14 times as many FLOPs per token.'
    """
    if tokens_per_s <= 0:
        return ""
    hours = passages * tokens_per_passage / tokens_per_s / 3600
    head = f"At that rate this machine would need {duration(hours)} to embed {passages:,} passages with {label}"
    if flops_ratio is None:
        return head + "."
    return head + f"; the target model needs about {flops_ratio:.0f} times as many FLOPs per token."


def estimate_sentence(table: pd.DataFrame) -> str:
    """The estimate's conclusion: time per GPU count, whether the cost depends on the count, and its source.

    ``table`` is :func:`ko_embed_lab.scale.estimate_table`'s output.
    """
    rows = table.sort_values("gpus")
    times = ", ".join(f"{duration(r.hours)} on {r.gpus} GPU{'s' * (r.gpus != 1)}" for r in rows.itertuples())
    costs = rows["cost"].to_numpy(dtype=float)
    passages = int(rows["passages"].iloc[0])
    head = f"{passages:,} passages take {times}."
    if costs.min() > 0 and costs.max() / costs.min() - 1 <= SAME_COST:
        cost = (
            f" The bill is about the same for every count ({_money(costs.min())}–{_money(costs.max())}): shards are "
            "independent, so more GPUs buy time, not savings."
        )
    else:
        cheapest = int(rows["gpus"].iloc[int(costs.argmin())])
        dearest = int(rows["gpus"].iloc[int(costs.argmax())])
        cost = f" The bill is {_money(costs.min())} on {_gpus(cheapest)} and {_money(costs.max())} on {_gpus(dearest)}"
        startup = rows["startup_s"].to_numpy(dtype=float)
        encoding = rows["hours"].to_numpy(dtype=float) * 3600 - startup
        dominated = [int(g) for g, s, e in zip(rows["gpus"], startup, encoding, strict=True) if s >= e]
        if dominated:
            cost += (
                f": on {_gpus(dominated[0])} the start-up ({startup[0]:.0f} s per GPU) takes longer than the "
                "encoding itself, so more GPUs than that buy little time at a growing price."
            )
        elif float(rows["scaling_efficiency"].min()) < 1:
            cost += ": the speed-up falls short of linear, so each added GPU does less work for the same price."
        else:
            cost += ": every GPU pays the start-up (loading the model), a larger share of a shorter run."
    source = str(rows["throughput_source"].iloc[0])
    if source == "measured":
        tail = " The per-GPU throughput is measured."
    else:
        tail = (
            " The per-GPU throughput is an estimate from the architecture's FLOPs and an assumed utilisation, "
            "not a measurement: a GPU run of benchmarks/gpu_check.py replaces it."
        )
    return head + cost + tail


def _gpus(n: int) -> str:
    return f"{n} GPU{'s' * (n != 1)}"


def _money(x: float) -> str:
    return f"${x:,.0f}" if x >= 10 else f"${x:,.2f}"


def ray_sentence(max_abs_diff: float | None, ray_run: Any = None, local_run: Any = None) -> str:
    """Whether the Ray engine's shards equal the local engine's, or that it was not run here.

    Example:
        >>> ray_sentence(None)[:39]
        'The Ray engine is not run in this build'
        >>> ray_sentence(0.0)
        "The Ray engine's shards equal the local engine's bit for bit."
    """
    if max_abs_diff is None:
        return (
            "The Ray engine is not run in this build (set RUN_RAY = True, with the scale extra installed, to run it "
            "here); tests/test_scale.py runs it on a local cluster of 2 CPU workers and checks it shard for shard."
        )
    speed = ""
    if ray_run is not None and local_run is not None and ray_run.rows_per_s and local_run.rows_per_s:
        speed = (
            f" On this machine it ran at {ray_run.rows_per_s:.1f} passages/s with {ray_run.workers} workers "
            f"against {local_run.rows_per_s:.1f} for the local engine, start-up of the cluster and actors included."
        )
    if max_abs_diff == 0.0:
        return "The Ray engine's shards equal the local engine's bit for bit." + speed
    if max_abs_diff <= 1e-6:
        return f"The Ray engine's shards equal the local engine's within {max_abs_diff:.1e} (max abs diff)." + speed
    return f"The Ray engine's shards differ from the local engine's by up to {max_abs_diff:.1e}: investigate." + speed
