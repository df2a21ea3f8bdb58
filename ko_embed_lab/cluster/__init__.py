"""Clustered training batches: why they give harder in-batch negatives, what they cost, where they break.

The target model card says the model was trained "without hard negatives": training pairs were
clustered (k-means on the base model's embeddings, truncated to 256 dimensions) so that each
batch holds similar items, and the loss (``CachedGISTEmbedLoss``) used the other items of the
batch as negatives. This package holds the pieces to study that on any (query, positive) pairs,
one module per concern:

* :mod:`.pairs` — :class:`Pairs`, training pairs with what is known about them (other relevant
  passages, hard negatives, a domain label); :func:`probe_pairs` builds them from KoProbe,
  :func:`embed_pairs` embeds them.
* :mod:`.kmeans` — :func:`kmeans`, seeded k-means (scikit-learn) on truncated, re-normalised
  embeddings; :func:`dimension_agreement`, :func:`seed_agreement`, :func:`cluster_quality` and
  :func:`k_sweep` compare clusterings with each other and with domain labels.
* :mod:`.batches` — :func:`form_batches`, random or cluster-by-cluster batches with
  sentence-transformers' no-duplicates rule; :func:`batch_table` shows one.
* :mod:`.measures` — :func:`batch_measures`, per query: the positive's and the in-batch
  negatives' similarity, the positive's rank in the batch, the InfoNCE loss (:func:`infonce_loss`)
  and the negatives that are really relevant (false negatives) or that a guide model would mask
  (GIST); :func:`batching_sweep` runs it over batch sizes, numbers of clusters and seeds.
* :mod:`.card` — :func:`card_setup`, what the model card states about loss, batch size and
  clustering, read from the shipped card text.
* :mod:`.seeds` — :func:`seed_reports` measures random and clustered batches under several
  seeds (the seed decides both k-means and batch formation); :func:`seed_table` and
  :func:`sweep_verdicts` say whether the two differ beyond the seed spread.
* :mod:`.projection` — :func:`umap_2d` and :func:`map_frame`, a seeded 2-D map with Korean hover
  text. Its figures are built in :mod:`ko_embed_lab.plots.cluster`.

References: L. Merrick, *Embedding And Clustering Your Data Can Improve Contrastive Pretraining*,
arXiv:2407.18887 (2024); J. X. Morris and A. M. Rush, *Contextual Document Embeddings*,
arXiv:2410.02525 (2024); A. V. Solatorio, *GISTEmbed: Guided In-sample Selection of Training
Negatives for Text Embedding Fine-tuning*, arXiv:2402.16829 (2024).
"""

from __future__ import annotations

from .batches import Remainder, batch_table, form_batches
from .card import CardSetup, card_setup
from .kmeans import (
    CARD_CLUSTER_DIM,
    Clustering,
    chance_nmi,
    cluster_quality,
    default_dims,
    dimension_agreement,
    k_sweep,
    kmeans,
    seed_agreement,
    truncate_normalize,
)
from .measures import GIST_TEMPERATURE, BatchReport, batch_measures, batching_sweep, infonce_loss
from .pairs import Pairs, embed_pairs, pairs_from_qrels, probe_pairs
from .projection import map_frame, umap_2d
from .seeds import (
    BATCH_MEASURES,
    false_negatives_by_need,
    seed_reports,
    seed_summaries,
    seed_table,
    seed_verdict,
    sweep_verdicts,
)

__all__ = [
    "BATCH_MEASURES",
    "CARD_CLUSTER_DIM",
    "GIST_TEMPERATURE",
    "BatchReport",
    "CardSetup",
    "Clustering",
    "Pairs",
    "Remainder",
    "batch_measures",
    "batch_table",
    "batching_sweep",
    "card_setup",
    "chance_nmi",
    "cluster_quality",
    "default_dims",
    "dimension_agreement",
    "embed_pairs",
    "false_negatives_by_need",
    "form_batches",
    "infonce_loss",
    "k_sweep",
    "kmeans",
    "map_frame",
    "pairs_from_qrels",
    "probe_pairs",
    "seed_agreement",
    "seed_reports",
    "seed_summaries",
    "seed_table",
    "seed_verdict",
    "sweep_verdicts",
    "truncate_normalize",
    "umap_2d",
]
