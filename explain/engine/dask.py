"""Dask clusters for ``explain(..., backend="dask")`` and ``to_parquet`` on Dask DataFrames.

To run on an existing cluster, connect a client first; explain() uses the
current one::

    from distributed import Client
    client = Client("tcp://scheduler-host:8786")
    result = explain(model, X, backend="dask")

Without a client, a LocalCluster of ``n_jobs`` worker processes (one thread
each) is started for the call and closed afterwards.

Pitfalls:

- The model, the background and the method are pickled (cloudpickle) and
  scattered to every worker once: the model must unpickle on the workers, with
  the same library versions (a model fitted with scikit-learn 1.x loads only
  under 1.x).
- Each chunk limits BLAS/torch/numba threads to the worker's share of the cores;
  on a cluster you did not start, one thread per task is used.
- Seeds travel with the rows: results equal ``n_jobs=1`` bit for bit. shap's
  Kernel and Permutation explainers seed the worker's global numpy generator
  per row: run them on workers with one thread each (``nthreads=1``), or two
  tasks in one worker can interleave their draws.
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["dask_client"]


@contextlib.contextmanager
def dask_client(n_workers: int = 2):
    """Yield ``(client, threads_per_task)``: the current Client, or a LocalCluster started for the block.

    Every worker is marked as one of the engine's isolated processes (``methods._rng.mark_isolated``), where
    the methods whose library only reads numpy's global generator may seed it per row.
    """
    from .._utils.rng import mark_isolated

    try:
        from distributed import Client, LocalCluster, get_client
    except ImportError as exc:
        raise ImportError("backend='dask' needs dask's distributed scheduler: pip install 'explain[dask]'") \
            from exc
    try:
        current = get_client()
    except ValueError:  # no client: start one for this call
        current = None
    if current is not None:
        current.run(mark_isolated)
        yield current, 1
        return
    n_workers = max(1, int(n_workers))
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.run(mark_isolated)
        yield client, max(1, (os.cpu_count() or 1) // n_workers)
