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
- A LocalCluster starts its workers with ``spawn``: each worker imports the
  script that called explain() again. In a script, put the call under
  ``if __name__ == "__main__":`` (or connect a ``Client`` first); without the
  guard every worker would re-run the script and fail to start ("Nanny failed
  to start"), so explain() refuses before starting any worker.
"""

from __future__ import annotations

import ast
import contextlib
import os
import sys

from ..errors import ExplainError

__all__ = ["dask_client"]


def _is_main_test(test) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    return (any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))


def unguarded_main_call() -> str | None:
    """``"script.py, line N"`` when the running code was called from the top level of the main script outside
    ``if __name__ == "__main__":`` (which a spawned worker re-runs on import), else None.

    None too when there is no script (a notebook, ``python -c``, an interactive session) or it cannot be read.
    """
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    if not path or not os.path.isfile(path):
        return None
    path, line = os.path.abspath(path), None
    frame = sys._getframe(1)
    while frame is not None:  # the outermost frame running the script's own top-level code
        if frame.f_code.co_name == "<module>" and os.path.abspath(frame.f_code.co_filename) == path:
            line = frame.f_lineno
        frame = frame.f_back
    if line is None:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_main_test(node.test) and node.lineno <= line <= node.end_lineno:
            return None
    return f"{path}, line {line}"


def _check_main_guard() -> None:
    """Refuse to start a spawning LocalCluster from a script's unguarded top level (issue 26, item 13)."""
    import dask

    if dask.config.get("distributed.worker.multiprocessing-method", "spawn") == "fork":
        return  # forked workers do not import the script again
    where = unguarded_main_call()
    if where is not None:
        raise ExplainError(
            f"backend='dask' starts a local cluster whose worker processes import your script again, and "
            f"{where} calls explain at the script's top level, so every worker would run it again and fail "
            "to start (\"Nanny failed to start\"). Put the call under `if __name__ == \"__main__\":`, or "
            "connect a dask.distributed.Client first (explain uses the current client).")


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
    _check_main_guard()
    n_workers = max(1, int(n_workers))
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.run(mark_isolated)
        yield client, max(1, (os.cpu_count() or 1) // n_workers)
