"""Benchmarks: the card's tables as reported data, mteb runs that reproduce them, a live leaderboard.

One module per concern:

* :mod:`.card` — the model card's tables, labelled *reported*, and tools to read any score table
  critically (averages, ranks, pair differences, task correlation, leave-one-task-out, long
  against short documents, reproduced against reported);
* :mod:`.tasks` — mteb task objects for the card's tasks, their sizes, KoProbe as an mteb task;
* :mod:`.encoder` — any model of the package seen by mteb;
* :mod:`.runner` — :func:`run_mteb`, the results cache, :func:`read_results`, :func:`reproduce_card`;
* :mod:`.leaderboard` — :func:`probe_leaderboard` on KoProbe, and the systems of the chapter's live
  leaderboard (:func:`live_systems`, :func:`live_encoders`) for :func:`ko_embed_lab.compare`;
* :mod:`.speed` — :func:`encoding_speed` of several encoders on the same texts;
* :mod:`.diagnose` — :func:`static_diagnosis`, why a static model scores what it scores.

Figures of these tables are built in :mod:`ko_embed_lab.plots.benchmark`; the chapter's
conclusions are chosen in :mod:`ko_embed_lab.report.benchmark`. ``mteb`` is an optional
dependency, imported only when a function needs it.
"""

from __future__ import annotations

from . import card, diagnose, encoder, leaderboard, runner, speed, tasks
from .card import (
    CARD_MODEL,
    CARD_TASKS,
    CARD_URL,
    LONG_TASK,
    SHORT_TASKS,
    SOURCE_LABEL,
    CardTask,
    Reported,
    average,
    card_evaluation_note,
    card_task,
    card_text_path,
    check_card_average,
    compare,
    difference_noise,
    leave_one_task_out,
    leave_one_task_out_summary,
    load_reported,
    long_vs_short,
    model_sizes,
    pair_difference,
    per_query_sd,
    ranking_agreement,
    ranks,
    reported_dir,
    task_correlation,
)
from .diagnose import static_diagnosis, toy_check
from .encoder import Backend, mteb_encoder
from .leaderboard import (
    BM25_SYSTEM,
    FusionStudy,
    Leaderboard,
    dense_system,
    fusion_study,
    fusion_system,
    live_encoders,
    live_systems,
    probe_leaderboard,
    system_name,
)
from .runner import (
    PROVENANCE_FILE,
    BenchmarkRun,
    CardReproduction,
    DatasetUnavailableError,
    benchmark_scores,
    benchmark_tasks,
    default_results_folder,
    read_results,
    reproduce_card,
    run_benchmark,
    run_mteb,
)
from .speed import encoding_speed
from .tasks import FULL_PRECISION_KEY, card_tasks, probe_task, task_facts

__all__ = [
    "BM25_SYSTEM",
    "CARD_MODEL",
    "CARD_TASKS",
    "CARD_URL",
    "FULL_PRECISION_KEY",
    "LONG_TASK",
    "PROVENANCE_FILE",
    "SHORT_TASKS",
    "SOURCE_LABEL",
    "Backend",
    "BenchmarkRun",
    "CardReproduction",
    "CardTask",
    "DatasetUnavailableError",
    "FusionStudy",
    "Leaderboard",
    "Reported",
    "average",
    "benchmark_scores",
    "benchmark_tasks",
    "card",
    "card_evaluation_note",
    "card_task",
    "card_tasks",
    "card_text_path",
    "check_card_average",
    "compare",
    "default_results_folder",
    "dense_system",
    "diagnose",
    "difference_noise",
    "encoder",
    "encoding_speed",
    "fusion_study",
    "fusion_system",
    "leaderboard",
    "leave_one_task_out",
    "leave_one_task_out_summary",
    "live_encoders",
    "live_systems",
    "load_reported",
    "long_vs_short",
    "model_sizes",
    "mteb_encoder",
    "pair_difference",
    "per_query_sd",
    "probe_leaderboard",
    "probe_task",
    "ranking_agreement",
    "ranks",
    "read_results",
    "reported_dir",
    "reproduce_card",
    "run_benchmark",
    "run_mteb",
    "runner",
    "speed",
    "static_diagnosis",
    "system_name",
    "task_correlation",
    "task_facts",
    "tasks",
    "toy_check",
]
