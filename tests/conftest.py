"""Shared fixtures: an isolated cache home for the whole session and the bundled model, loaded once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point KO_EMBED_LAB_HOME at a fresh folder so tests never read or write the user's cache.

    Set ``KO_EMBED_LAB_TEST_HOME`` to reuse a folder across runs (saves the ~6 s conversion).
    """
    keep = os.environ.get("KO_EMBED_LAB_TEST_HOME")
    home = Path(keep) if keep else tmp_path_factory.mktemp("kel-home")
    old = {k: os.environ.get(k) for k in ("KO_EMBED_LAB_HOME", "KO_EMBED_LAB_MODEL", "HF_HUB_OFFLINE")}
    os.environ["KO_EMBED_LAB_HOME"] = str(home)
    os.environ.pop("KO_EMBED_LAB_MODEL", None)
    yield home
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def model():
    """The bundled default model on CPU (converted on first use into the isolated home)."""
    import ko_embed_lab as kel

    return kel.load_model(device="cpu")
