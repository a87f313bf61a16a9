"""Running one method over all rows: in this process, on threads, in worker processes (loky), or on Dask.

Each chunk is explained by ``chunks.run_chunk`` wherever it runs, and the parts come back in row order.

- ``n_jobs=None`` (the default): in this process, one chunk after the other,
  with the libraries' own threading (numba, BLAS and torch use every core).
- ``n_jobs=1``: the same, on one core (scikit-learn's convention): BLAS, OpenMP, torch and numba threads
  are limited to one for the call.
- ``n_jobs>1``: a few rows here first; the rest in joblib's loky processes when
  that pays (``engine.split``), the job written once to a file each worker loads
  once, BLAS/OpenMP, torch and numba threads ``cpu_count // n_jobs`` per worker.
  A method whose work runs in compiled kernels that release the GIL
  (``Method.threaded``: exact TreeSHAP, exact kernel Shapley) runs here on
  ``n_jobs`` threads instead: no start-up, no copies, the same values.
- ``backend="dask"``: tasks on a ``distributed`` cluster (the current Client, or a LocalCluster started
  for the call); the job is scattered to every worker once (``broadcast=True``).
- Methods whose library draws only from numpy's global generator (``Method.global_rng``) always run in
  a worker process, even for ``n_jobs`` None or 1: the caller's global generator is never touched.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time

import numpy as np

from ..errors import UnsupportedModelError
from .._utils.rng import is_isolated, mark_isolated
from .chunks import (ChunkResult, Job, Parallelism, ThreadLimits, merge_chunk_blocks, payload, run_chunk, slices,
                     stderr_of)

__all__ = ["run_method"]

logger = logging.getLogger(__name__)


# -- where chunks run ------------------------------------------------------------------------------

def _local(job, X, targets, prediction, chunks, row_offset, threads):
    with ThreadLimits(threads):  # once for all chunks: finding the libraries costs milliseconds each time
        for idx in chunks:
            yield idx, run_chunk(job, *payload(idx, X, targets, prediction, row_offset))


_JOBS: dict = {}  # in a worker: job file -> Job, loaded once


def _load(job_ref):
    if not isinstance(job_ref, str):
        return job_ref
    if job_ref not in _JOBS:  # (a forked worker finds "inherited" already here)
        import cloudpickle

        _JOBS.clear()  # one job at a time per worker
        with open(job_ref, "rb") as fh:
            _JOBS[job_ref] = cloudpickle.load(fh)
    return _JOBS[job_ref]


def _remote(job_ref, X, targets, prediction, row_ids, threads) -> ChunkResult:  # noqa: D103
    """A chunk in a worker process: loky's (started with ``mark_isolated``) or a Dask worker's."""
    with ThreadLimits(threads):
        return run_chunk(_load(job_ref), X, targets, prediction, row_ids)


def _in_order(submit, chunks, n_workers):
    """Submit chunks with at most two per worker in flight (bounded memory); yield results in row order."""
    pending, todo = [], iter(chunks)
    for idx in todo:
        pending.append((idx, submit(idx)))
        if len(pending) >= 2 * n_workers:
            break
    while pending:
        idx, future = pending.pop(0)
        result = future.result()
        nxt = next(todo, None)
        if nxt is not None:
            pending.append((nxt, submit(nxt)))
        yield idx, result


def _loky(job, X, targets, prediction, chunks, row_offset, n_jobs, threads):
    """Chunks on loky worker processes; the job goes to each worker once, through a temporary file."""
    import cloudpickle

    from . import _pool
    try:
        blob = cloudpickle.dumps(job)
    except Exception as exc:  # e.g. a statsmodels formula (patsy cannot be pickled)
        yield from _forked(job, X, targets, prediction, chunks, row_offset, threads, exc)
        return
    with tempfile.TemporaryDirectory(prefix="explain-job-") as tmp:
        path = os.path.join(tmp, "job.pkl")
        with open(path, "wb") as fh:
            fh.write(blob)
        try:  # no local reference to the executor: a traceback kept after Ctrl-C must not keep its locks alive
            yield from _in_order(lambda idx: _pool.executor(n_jobs).submit(
                _remote, path, *payload(idx, X, targets, prediction, row_offset), threads), chunks, n_jobs)
        except KeyboardInterrupt:  # Ctrl-C: stop the workers now (not after their chunks) and free their locks
            _pool.discard()
            raise


def _forked(job, X, targets, prediction, chunks, row_offset, threads, reason):
    """A model that cannot be pickled: one forked worker process inherits the job instead (POSIX only)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if "fork" not in multiprocessing.get_all_start_methods():
        raise UnsupportedModelError(
            f"{job.method.name!r} runs in a worker process, and {job.adapter.name} cannot be pickled "
                        f"({type(reason).__name__}: {reason}); use another method or a picklable model") from reason
    _JOBS.clear()
    _JOBS["inherited"] = job
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"),
                                 initializer=mark_isolated) as pool:
            yield from _in_order(lambda idx: pool.submit(
                _remote, "inherited", *payload(idx, X, targets, prediction, row_offset), threads), chunks, 1)
    finally:
        _JOBS.clear()


def _dask(job, X, targets, prediction, chunks, row_offset, n_jobs):
    from .dask import dask_client

    with dask_client(n_jobs) as (client, threads):
        job_future = client.scatter(job, broadcast=True, hash=False)
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        yield from _in_order(lambda idx: client.submit(
            _remote, job_future, *payload(idx, X, targets, prediction, row_offset), threads, pure=False),
            chunks, workers)


# -- one method over all rows ----------------------------------------------------------------------------

def run_method(job: Job, X: np.ndarray, targets, prediction: np.ndarray, parallel: Parallelism, *,
               row_offset: int = 0, bar=None) -> tuple[ChunkResult, float]:
    """All chunks of one method, merged in row order; returns the merged result and the wall seconds."""
    n, d = X.shape
    isolated = job.method.global_rng and not is_isolated()  # in a worker already: run here
    workers = parallel.workers
    chunks = slices(n, parallel.chunk_rows(job.method, n, workers))
    start = time.perf_counter()
    if parallel.backend == "dask":
        stream = _dask(job, X, targets, prediction, chunks, row_offset, workers)
    elif isolated:
        threads = parallel.inner_threads or (os.cpu_count() or 1)
        stream = _loky(job, X, targets, prediction, chunks, row_offset, max(1, min(workers, len(chunks))), threads)
    elif workers > 1 and job.groups is None and job.method.threaded(job.adapter, job.output):
        threads = min(workers, os.cpu_count() or 1)
        logger.debug("%s: %d rows here on %d threads (compiled kernels that release the GIL), no worker processes",
                     job.method.name, n, threads)
        stream = _local(job, X, targets, prediction, slices(n, parallel.chunk_rows(job.method, n, 1)), row_offset,
                        threads)
    elif workers > 1:
        stream = _pilot_then_split(job, X, targets, prediction, parallel, workers, row_offset, len(chunks[0]))
    else:
        stream = _local(job, X, targets, prediction, chunks, row_offset, parallel.inner_threads)
    merged = ChunkResult(np.empty((n, d)), np.empty(n), [])
    per_chunk_blocks, stderrs = [], []
    for idx, part in stream:
        merged.values[idx] = part.values
        merged.base[idx] = part.base
        merged.n_evals += part.n_evals
        per_chunk_blocks.append(part.blocks)
        stderrs.append((idx, part.stderr, all(b["exact"] for b in part.blocks)))
        for key, value in part.row_params.items():
            full = merged.row_params.setdefault(key, np.full((n,) + value.shape[1:], np.nan))
            full[idx] = value
        if bar is not None:
            bar.update(len(idx))
    merged.blocks = merge_chunk_blocks(per_chunk_blocks)
    merged.stderr = stderr_of((n, d), stderrs)
    return merged, time.perf_counter() - start


def _pilot_then_split(job, X, targets, prediction, parallel: Parallelism, workers: int, row_offset: int,
                      pilot_cap: int):
    """n_jobs > 1: 1, 2, 4, ... rows here (one worker's threads) until the steps after the first (which warms
    up) took ``split.PILOT_SECONDS`` or one chunk is done; the rest on workers if ``split.decide`` says it
    pays, else here on one worker's threads (as n_jobs=1 on them)."""
    from . import split as sp

    n = X.shape[0]
    threads = parallel.inner_threads or (os.cpu_count() or 1)
    done, steps = 0, []
    with ThreadLimits(threads):
        while done < n and (len(steps) < 2 or sum(t for _, t in steps[1:]) < sp.PILOT_SECONDS) and \
                (done == 0 or done < pilot_cap):
            idx = np.arange(done, min(n, 2 * done + 1))
            start = time.perf_counter()
            result = run_chunk(job, *payload(idx, X, targets, prediction, row_offset))
            steps.append((len(idx), time.perf_counter() - start))
            done += len(idx)
            yield idx, result
    local_rows = parallel.chunk_rows(job.method, n - done, 1)
    if done < n and sp.decide(job, X[done:], steps, local_rows, workers):
        chunks = slices(n, parallel.chunk_rows(job.method, n - done, workers), done)
        yield from _loky(job, X, targets, prediction, chunks, row_offset, max(1, min(workers, len(chunks))), threads)
    elif done < n:
        chunks = slices(n, local_rows, done)
        yield from _local(job, X, targets, prediction, chunks, row_offset, threads)  # as n_jobs=1 would on them
