"""Resident memory of this process: one sampler for the package and the benchmark scripts."""

from __future__ import annotations

import contextlib
import threading
import time

__all__ = ["PeakRSS", "anon_bytes", "release_freed_memory", "rss_bytes"]


def rss_bytes() -> int | None:
    """Resident memory of this process in bytes (``None`` when it cannot be read)."""
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:  # pragma: no cover - psutil is almost always present
        try:
            import os

            with open("/proc/self/statm") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            return None


def anon_bytes() -> int | None:
    """Anonymous resident memory of this process in bytes (``RssAnon``; ``None`` off Linux).

    Unlike RSS it leaves out file-backed pages, such as those of a memory-mapped output file that
    the kernel can write back and drop at will: it is the memory the process itself holds.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def release_freed_memory() -> None:
    """Return freed heap memory to the OS (glibc's ``malloc_trim``), so that the next pass's allocations show in RSS."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class PeakRSS:
    """Context manager sampling this process's resident memory in a thread.

    ``base`` is the resident memory on entry and ``peak`` the highest value seen, in bytes
    (``base_mb`` and ``peak_mb`` in MiB); ``anon_base``/``anon_peak`` (``anon_base_mb``,
    ``anon_peak_mb``) the same for anonymous memory (:func:`anon_bytes`, 0 where unavailable). ``ru_maxrss`` cannot separate a pass from the model load
    that came before it; sampling can, approximately (a spike shorter than ``interval`` may be missed).

    Example:
        >>> with PeakRSS() as rss:
        ...     block = bytearray(50 * 2**20)
        >>> rss.peak_mb - rss.base_mb > 40  # doctest: +SKIP
        True
    """

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.base = self.peak = self.anon_base = self.anon_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    read = staticmethod(rss_bytes)

    @property
    def base_mb(self) -> float:
        """Resident memory on entry, MiB."""
        return self.base / 2**20

    @property
    def peak_mb(self) -> float:
        """Highest resident memory seen, MiB."""
        return self.peak / 2**20

    @property
    def anon_base_mb(self) -> float:
        """Anonymous resident memory on entry, MiB."""
        return self.anon_base / 2**20

    @property
    def anon_peak_mb(self) -> float:
        """Highest anonymous resident memory seen, MiB."""
        return self.anon_peak / 2**20

    def _sample(self) -> None:
        self.peak = max(self.peak, rss_bytes() or 0)
        self.anon_peak = max(self.anon_peak, anon_bytes() or 0)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self.base = self.peak = rss_bytes() or 0
        self.anon_base = self.anon_peak = anon_bytes() or 0
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
