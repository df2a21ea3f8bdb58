"""Tested summaries of the benchmark chapter: the sentences that draw its conclusions, chosen from the run's numbers.

Each function takes the tables the chapter computes (the card's tables, the live leaderboard,
mteb's figures, an mteb run) and returns Markdown; where the conclusion depends on the numbers the
function chooses the sentence. One module per part of the chapter: :mod:`.card` (the card's tables),
:mod:`.live` (the leaderboard on KoProbe, speed, the static model, fusion), :mod:`.mteb` (mteb runs,
the MTEB(kor, v2) board, the card against mteb).
"""

from __future__ import annotations

from .card import card_table, fine_tune, leave_one_out, long_vs_short, model_size, takeaways, task_agreement
from .live import fusion, fusion_verdict, leaderboard, skipped_models, speed, static_finding
from .mteb import card_vs_mteb, mteb_agreement, mteb_check_table, mteb_difference, mteb_kor_rank, reproduced

__all__ = [
    "card_table",
    "card_vs_mteb",
    "fine_tune",
    "fusion",
    "fusion_verdict",
    "leaderboard",
    "leave_one_out",
    "long_vs_short",
    "model_size",
    "mteb_agreement",
    "mteb_check_table",
    "mteb_difference",
    "mteb_kor_rank",
    "reproduced",
    "skipped_models",
    "speed",
    "static_finding",
    "takeaways",
    "task_agreement",
]
