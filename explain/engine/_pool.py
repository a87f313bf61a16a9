"""explain's own pool of loky worker processes, kept warm between calls.

Not loky's process-wide reusable executor: joblib's ``Parallel`` (and scikit-learn's ``n_jobs``) take that one
over and expect it to be joblib's memmapping executor, so sharing it made the next ``Parallel(n_jobs=2)`` in the
user's process fail (``'_ReusablePoolExecutor' object has no attribute '_temp_folder_manager'``). Idle workers
exit after ``IDLE_SECONDS``; on Ctrl-C the workers are killed and the pool's locks released at once.
"""

from __future__ import annotations

import gc

from .._utils.rng import mark_isolated

IDLE_SECONDS = 300  # idle workers exit after this (loky's default for its reusable executor)

_pool = {"executor": None, "workers": 0}


def running(workers: int) -> bool:
    """Whether the pool is usable with ``workers`` processes (then a job needs no cold start)."""
    flags = getattr(_pool["executor"], "_flags", None)  # loky's: broken is None and shutdown False while usable
    return flags is not None and flags.broken is None and not flags.shutdown and _pool["workers"] == workers


def executor(workers: int):
    """A loky executor with ``workers`` processes (started with ``mark_isolated``), reused while it is healthy."""
    from joblib.externals.loky import ProcessPoolExecutor

    current = _pool["executor"]
    if not running(workers):
        if current is not None:
            current.shutdown(wait=True)
        _pool["executor"] = ProcessPoolExecutor(max_workers=workers, timeout=IDLE_SECONDS, initializer=mark_isolated)
        _pool["workers"] = workers
    return _pool["executor"]


def discard() -> None:
    """Kill the workers now (not after their chunks) and drop the pool, so its semaphores are released."""
    current, _pool["executor"], _pool["workers"] = _pool["executor"], None, 0
    if current is not None:
        current.shutdown(wait=True, kill_workers=True)
        del current
        gc.collect()
