"""Whether ``n_jobs > 1`` should split the rows over worker processes at all: a cost estimate.

Worker processes pay to start (import numpy, explain and the model's library) and to move rows in
and values out; a method that explains a million rows of a GLM in a fraction of a second loses to
that. ``run._pilot_then_split`` first explains a few rows here and measures the time per row;
:func:`decide` compares the rest done here with the rest done on the workers and says which, at
debug level on the ``explain.engine.split`` logger.
"""

from __future__ import annotations

import logging

from . import _pool

__all__ = ["decide", "PILOT_SECONDS"]

PILOT_SECONDS = 0.1  # the pilot explains 1, 2, 4, ... rows here until it took this long (or one chunk is done)
COLD_START_SECONDS = 2.0  # starting worker processes that import numpy, explain and the model's library
WARM_START_SECONDS = 0.05  # handing a job to workers that are already running
TRANSFER_BYTES_PER_SECOND = 200e6  # pickling rows to the workers and values back
SPLIT_GAIN = 0.8  # split only when the estimate with workers is below this share of the time here

logger = logging.getLogger(__name__)


def decide(job, rest, steps: list, chunk_rows: int, workers: int) -> bool:
    """True to send the ``rest`` rows (an array) to ``workers`` processes, False to explain them here.

    ``steps`` are the pilot's (rows, seconds), rows doubling. From three steps on, the last two give a time
    per call and a time per row; with two, the second's time counts as per-row time (the first step also
    pays for warming up, so it is never used when there are more). Time
    here: calls of ``chunk_rows`` rows each. Time with workers: that / workers, plus the start (cold or
    warm), plus moving the rows, the values (and their stderr) and the background.
    """
    n, d = rest.shape
    per_call, per_row = call_and_row_seconds(steps)
    here = per_call * -(-n // max(1, chunk_rows)) + per_row * n
    warm = _pool.running(workers)
    moving = (rest.nbytes + 2 * n * d * 8 + workers * job.background.nbytes) / TRANSFER_BYTES_PER_SECOND
    there = here / workers + (WARM_START_SECONDS if warm else COLD_START_SECONDS) + moving
    split = there < SPLIT_GAIN * here
    logger.debug("%s: %d rows left after a pilot of %d (%.3g s per call, %.3g s per row); estimated %.3g s "
                 "here, %.3g s on %d %s workers: %s", job.method.name, n, sum(r for r, _ in steps), per_call,
                 per_row, here, there, workers, "running" if warm else "new",
                 "split" if split else "not split (too little work to pay for the workers)")
    return split


def call_and_row_seconds(steps: list) -> tuple[float, float]:
    """(seconds per call, seconds per row) from the pilot's last two (rows, seconds) steps.

    >>> call_and_row_seconds([(1, 0.5), (2, 0.012), (4, 0.014)])
    (0.01, 0.001)
    >>> call_and_row_seconds([(1, 0.5), (2, 0.6)])
    (0.0, 0.3)
    """
    if len(steps) < 3:
        rows, seconds = steps[-1]
        return 0.0, seconds / rows
    (r0, t0), (r1, t1) = steps[-2], steps[-1]
    per_row = max(0.0, (t1 - t0) / (r1 - r0)) if r1 > r0 else t1 / r1
    per_call = min(t1, max(0.0, t1 - per_row * r1))
    return round(per_call, 12), round(per_row, 12)
