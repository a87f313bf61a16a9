"""``to_parquet`` for a Dask DataFrame: each partition explained on a worker, written as one Parquet part.

The plan (model, background, methods) is validated on the first partition and
scattered to every worker once; partition ``k`` starts at the row index that
the lengths of partitions 0..k-1 add up to, so its rows draw from the same
random streams as in ``explain()`` on the whole frame. Workers write their own
parts, so ``path`` must be on a file system every worker sees (always true for
a LocalCluster). Parts are written into ``path + ".partial"`` and the directory
is renamed when every part is complete.
"""

from __future__ import annotations

import dataclasses
import os
import shutil

import numpy as np

from ..engine.chunks import Parallelism
from ..engine.config import ExplainConfig
from ..engine.plan import prepare
from ..errors import DataError, ExplainError, OutputPathError

__all__ = ["dask_to_parquet"]


def _explain_part(plan, part, offset: int, out_file: str) -> int:
    """On a worker: validate one partition, explain it, write it (to a temporary name, then renamed)."""
    import pyarrow.parquet as pq

    from ._arrow import explain_batch

    if len(part) == 0:
        return 0
    Xa = plan.check_rows(part)
    _, table = explain_batch(plan, Xa, int(offset))
    pq.write_table(table, out_file + ".tmp")
    os.replace(out_file + ".tmp", out_file)
    return len(Xa)


def dask_to_parquet(model, ddf, path, config: ExplainConfig, *, background=None) -> str:
    """Explain every partition of ``ddf`` on the cluster; one part file per partition under ``path``.

    ``config`` (validated by ``to_parquet``) travels inside the plan to every worker; ``config.n_jobs`` is the
    number of workers of a LocalCluster started for the call (2 when None).
    """
    from ..engine.dask import dask_client

    path = os.fspath(path)
    lengths = np.asarray(ddf.map_partitions(len).compute(), dtype=np.int64)
    if lengths.sum() == 0:
        raise DataError("the Dask DataFrame has no rows to explain")
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    first = ddf.get_partition(int(np.flatnonzero(lengths)[0])).compute()
    plan = prepare(model, first, config, background=background)
    plan = dataclasses.replace(plan, X=plan.X[:0], parallel=Parallelism())  # workers explain their own rows
    tmp = path + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        with dask_client(config.workers_n_jobs or 2) as (client, _):
            plan_future = client.scatter(plan, broadcast=True, hash=False)
            parts = client.compute(ddf.to_delayed())
            futures = [client.submit(_explain_part, plan_future, part, int(offsets[k]),
                                     os.path.join(tmp, f"part-{k:05d}.parquet"), pure=False)
                       for k, part in enumerate(parts)]
            written = sum(f.result() for f in futures)
        if written != int(lengths.sum()):
            raise ExplainError(f"{written} rows written but the frame has {int(lengths.sum())}; the partitions "
                               "changed while they were explained (recompute the frame and try again)")
        if os.path.isdir(path):  # replace an earlier run's parts, never someone else's directory
            foreign = [f for f in os.listdir(path) if not (f.startswith("part-") and f.endswith(".parquet"))]
            if foreign:
                raise OutputPathError(f"{path!r} exists and holds files that are not explanation parts "
                                      f"({foreign[:3]}); choose another path")
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path
