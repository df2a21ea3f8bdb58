"""The Ray engine: Ray Data batch inference over the shards, one model per actor.

The pending shards become a Ray Dataset of shard descriptors (one row each); ``map_batches``
sends them to an actor pool (``ActorPoolStrategy(size=num_workers)``, ``num_gpus`` per actor), in
which every actor loads its own copy of the model once, in ``__init__``, and then, per shard,
reads its rows from the Parquet source, encodes them and writes the shard and its done marker
atomically (:func:`~ko_embed_lab.scale.engine.encode_shard`, the local engine's step). The driver
only plans, streams the actors' status rows back and writes the manifest. On a cluster of several
machines the source and the output folder must be on storage every node sees (NFS, a shared
volume), and ko-embed-lab must be installed on every node.

Ray is imported lazily: without the ``scale`` extra the error says how to install it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .plan import Shard, ShardPlan
    from .worker import ModelRequest

__all__ = ["import_ray", "probe_identity", "run_ray", "start_ray", "stop_ray"]

logger = logging.getLogger(__name__)

INSTALL_HINT = 'engine="ray" needs Ray Data: pip install "ko-embed-lab[scale]" (or pip install "ray[data]>=2.40")'


def import_ray() -> Any:
    """``import ray`` and ``ray.data``, or an ``ImportError`` that says how to install them."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from None
    return ray


def start_ray(*, address: str | None = None, num_cpus: int | None = None) -> bool:
    """Connect to ``address``, reuse a running Ray, or start a local cluster; True when this call started it."""
    ray = import_ray()
    if ray.is_initialized():
        if address is not None:
            logger.warning("Ray is already initialised; address=%r ignored", address)
        return False
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address is not None:
        ray.init(address=address, **kwargs)
    else:
        ray.init(num_cpus=num_cpus, **kwargs)
    # Ray Data prints its progress bars and a dataset plan to stderr; ours is the driver's bar.
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    return True


def stop_ray() -> None:
    """Shut down the Ray that :func:`start_ray` started."""
    import ray

    ray.shutdown()


def _identity(request: ModelRequest) -> dict[str, Any]:
    from ..types import encoder_identity

    return encoder_identity(request.load())


def probe_identity(request: ModelRequest, *, num_gpus: float, num_cpus: float) -> dict[str, Any]:
    """Load the model once on a worker with the actors' resources and return its identity.

    The manifest must name the model before any shard is written, and only a worker on the
    actors' hardware knows what it loads (on a GPU: bf16 by default).
    """
    ray = import_ray()
    task = ray.remote(num_gpus=num_gpus, num_cpus=num_cpus)(_identity)
    return dict(ray.get(task.remote(request)))


class ShardEncoder:
    """A Ray Data actor: one model, loaded once, encoding one shard per call."""

    def __init__(
        self, plan: ShardPlan, request: ModelRequest, folder: str, common: dict[str, Any], batching: dict[str, Any]
    ) -> None:
        self.plan = plan
        self.model = request.load()
        self.folder = Path(folder)
        self.common = common
        self.batching = batching

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        from .plan import Shard
        from .worker import encode_shard

        out: dict[str, list[Any]] = {"index": [], "rows": [], "seconds": [], "host": [], "pid": []}
        for index, start, stop in zip(batch["index"], batch["start"], batch["stop"], strict=True):
            marker = encode_shard(
                self.plan,
                Shard(int(index), int(start), int(stop)),
                self.model,
                self.folder,
                engine="ray",
                **self.common,
                **self.batching,
            )
            for key in out:
                out[key].append(marker[key if key != "index" else "shard"])
        return {k: np.asarray(v) for k, v in out.items()}


def run_ray(
    plan: ShardPlan,
    pending: list[Shard],
    request: ModelRequest,
    folder: Path,
    *,
    common: dict[str, Any],
    batching: dict[str, Any],
    num_workers: int,
    num_gpus: float,
    num_cpus: float,
    show_progress: bool | None = None,
) -> list[dict[str, Any]]:
    """Encode ``pending`` shards on the running Ray cluster; returns one status row per shard."""
    if not pending:
        return []
    ray = import_ray()
    from ..progress import progress

    items = [{"index": s.index, "start": s.start, "stop": s.stop} for s in pending]
    ds = ray.data.from_items(items, override_num_blocks=len(items))
    ds = ds.map_batches(
        ShardEncoder,
        fn_constructor_kwargs={
            "plan": plan,
            "request": request,
            "folder": str(folder.resolve()),
            "common": common,
            "batching": batching,
        },
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=min(num_workers, len(pending))),
        num_gpus=num_gpus,
        num_cpus=num_cpus,
        batch_format="numpy",
    )
    rows = {s.index: s.rows for s in pending}
    status: list[dict[str, Any]] = []
    with progress(total=sum(rows.values()), unit="row", show=show_progress, desc="encode corpus (ray)") as bar:
        for row in ds.iter_rows():
            rec = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            status.append(rec)
            bar.update(rows.get(int(rec["index"]), 0))
    return status
