"""Running one method over chunks of rows: in this process, in worker processes (joblib/loky), or on Dask.

Every method works on a block of rows and needs nothing from the other blocks but the background, so
``explain()`` cuts the rows into chunks and runs each chunk the same way wherever it runs (:func:`run_chunk`).
Randomness is keyed by the row's index in the user's ``X`` (``methods._rng``), never by the chunk, so
results are bit-identical for any ``batch_size`` and ``n_jobs``.

Where chunks run:

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
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from ..adapters.base import Adapter, CountingFunction
from ..errors import DataError, UnsupportedModelError
from .._utils.rng import is_isolated, mark_isolated
from ..methods.base import Method, Task

__all__ = ["Job", "Parallelism", "run_method", "run_chunk", "MAX_CHUNK_ROWS"]

MAX_CHUNK_ROWS = 65_536  # rows per chunk under batch_size="auto": bounds the memory of one chunk

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """Everything a chunk needs besides its rows; sent to each worker once."""

    method: Method
    adapter: Adapter
    background: np.ndarray
    output: str
    names: tuple
    entropy: int
    options: dict
    image_shape: tuple | None = None
    groups: np.ndarray | None = None


@dataclass
class ChunkResult:
    """One chunk's values, base values, per-class blocks, per-row diagnostics and model rows evaluated."""

    values: np.ndarray
    base: np.ndarray
    blocks: list
    row_params: dict = field(default_factory=dict)
    n_evals: int = 0
    stderr: np.ndarray | None = None  # (n, d) when any block sampled: 0 on exact rows, NaN where unknown


def _stderr_of(shape, blocks: list):
    """One (n, d) stderr matrix from ``(rows, stderr or None, exact)`` per block, or None if none sampled.

    Rows of an exact block get 0 (no sampling error); rows of a block that gave no estimate NaN.
    """
    if all(se is None for _, se, _ in blocks):
        return None
    out = np.full(shape, np.nan)
    for rows, se, exact in blocks:
        if se is not None:
            out[rows] = np.asarray(se, dtype=float).reshape(len(rows), -1)
        elif exact:
            out[rows] = 0.0
    return out


@dataclass(frozen=True)
class Parallelism:
    """How chunks run (from the validated ``ExplainConfig``; ``n_jobs=-1`` already resolved to the cores)."""

    n_jobs: int | None = None
    batch_size: int | str = "auto"
    backend: str = "loky"

    @property
    def workers(self) -> int:
        """Processes (or Dask workers) that run chunks; 1 means this process."""
        if self.backend == "dask":
            return self.n_jobs or 2
        return self.n_jobs if self.n_jobs and self.n_jobs > 1 else 1

    @property
    def inner_threads(self) -> int | None:
        """Threads per chunk: None leaves the libraries' own defaults."""
        if self.n_jobs is None:
            return None
        if self.n_jobs == 1 and self.backend != "dask":
            return 1
        return max(1, (os.cpu_count() or 1) // self.workers)

    def chunk_rows(self, method: Method, n: int, workers: int) -> int:
        if self.batch_size != "auto":
            return int(self.batch_size)
        rows = min(method.chunk_rows, MAX_CHUNK_ROWS)
        if workers > 1:  # at least two chunks per worker, and a multiple of the workers: no one idles at the end
            chunks = max(2 * workers, math.ceil(n / max(1, rows)))
            chunks = math.ceil(chunks / workers) * workers
            rows = math.ceil(n / chunks)
        return max(1, rows)


# -- one chunk, anywhere ----------------------------------------------------------------------------

def _classes(targets, n):
    if targets is None:
        yield None, np.arange(n)
        return
    for t in np.unique(targets):
        yield int(t), np.flatnonzero(targets == t)


def run_chunk(job: Job, X: np.ndarray, targets, prediction: np.ndarray, row_ids: np.ndarray) -> ChunkResult:
    """Explain one chunk of rows: one method call per explained class (or one for per-row targets)."""
    method, adapter = job.method, job.adapter
    n, d = X.shape
    out = ChunkResult(np.empty((n, d)), np.empty(n), [])
    if method.per_row_targets:
        calls = [(None, np.arange(n), CountingFunction(lambda Z: adapter.predict(Z, job.output)), targets)]
    else:
        calls = [(t, rows, CountingFunction(adapter.output_function(job.output, t)), None)
                 for t, rows in _classes(targets, n)]
    stderrs = []
    for t, rows, f, row_targets in calls:
        task = Task(adapter=adapter, X=X[rows], background=job.background, output=job.output, target=t, f=f,
                    feature_names=list(job.names), random_state=job.entropy, options=dict(job.options),
                    prediction=prediction[rows], targets=row_targets, image_shape=job.image_shape,
                    groups=job.groups, row_ids=row_ids[rows])
        try:
            result = method.attribute(task)
        except DataError as exc:  # e.g. a formula that cannot take a perturbed value: say which method
            raise type(exc)(f"method {method.name!r}: {exc}") from exc
        out.values[rows] = result.values
        out.base[rows] = result.base_values
        out.n_evals += f.n_evals
        exact = bool(method.exact if result.exact is None else result.exact)
        stderrs.append((rows, result.stderr, exact))
        label = "all" if t is None else (adapter.classes[t] if adapter.classes is not None else t)
        out.blocks.append({"label": label.item() if isinstance(label, np.generic) else label, "rows": int(len(rows)),
                           "exact": exact,
                           "stochastic": bool(method.stochastic if result.stochastic is None else result.stochastic),
                           "params": dict(result.params)})
        for key, value in result.row_params.items():  # per-row arrays go back to their rows
            value = np.asarray(value)
            full = out.row_params.setdefault(key, np.full((n,) + value.shape[1:], np.nan))
            full[rows] = value
    out.stderr = _stderr_of((n, d), stderrs)
    return out


# -- workers ------------------------------------------------------------------------------------------

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


class _ThreadLimits:
    """Limit BLAS/OpenMP, torch and numba threads for one chunk, then restore them (None: leave them)."""

    def __init__(self, threads: int | None):
        self.threads = None if threads is None else max(1, int(threads))

    def __enter__(self):
        if self.threads is None:
            self._blas = None
            return self
        from threadpoolctl import threadpool_limits

        self._blas = threadpool_limits(limits=self.threads)
        self._torch = self._numba = None
        if "torch" in sys.modules:
            torch = sys.modules["torch"]
            self._torch = torch.get_num_threads()
            torch.set_num_threads(self.threads)
        if "numba" in sys.modules:
            numba = sys.modules["numba"]
            self._numba = numba.get_num_threads()
            numba.set_num_threads(min(self.threads, numba.config.NUMBA_NUM_THREADS))
        return self

    def __exit__(self, *exc):
        if self._blas is None:
            return
        self._blas.restore_original_limits()
        if self._torch is not None:
            sys.modules["torch"].set_num_threads(self._torch)
        if self._numba is not None:
            sys.modules["numba"].set_num_threads(self._numba)


def _remote(job_ref, X, targets, prediction, row_ids, threads) -> ChunkResult:  # noqa: D103
    """A chunk in a worker process: loky's (started with ``mark_isolated``) or a Dask worker's."""
    with _ThreadLimits(threads):
        return run_chunk(_load(job_ref), X, targets, prediction, row_ids)


def _slices(n: int, rows: int, start: int = 0):
    return [np.arange(s, min(n, s + rows)) for s in range(start, n, rows)]


def _payload(idx, X, targets, prediction, row_offset):
    return X[idx], (None if targets is None else targets[idx]), prediction[idx], idx + row_offset


def _local(job, X, targets, prediction, chunks, row_offset, threads):
    with _ThreadLimits(threads):  # once for all chunks: finding the libraries costs milliseconds each time
        for idx in chunks:
            yield idx, run_chunk(job, *_payload(idx, X, targets, prediction, row_offset))


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
                _remote, path, *_payload(idx, X, targets, prediction, row_offset), threads), chunks, n_jobs)
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
                _remote, "inherited", *_payload(idx, X, targets, prediction, row_offset), threads), chunks, 1)
    finally:
        _JOBS.clear()


def _dask(job, X, targets, prediction, chunks, row_offset, n_jobs):
    from .dask import dask_client

    with dask_client(n_jobs) as (client, threads):
        job_future = client.scatter(job, broadcast=True, hash=False)
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        yield from _in_order(lambda idx: client.submit(
            _remote, job_future, *_payload(idx, X, targets, prediction, row_offset), threads, pure=False),
            chunks, workers)


# -- one method over all rows ----------------------------------------------------------------------------

def run_method(job: Job, X: np.ndarray, targets, prediction: np.ndarray, parallel: Parallelism, *,
               row_offset: int = 0, bar=None) -> tuple[ChunkResult, float]:
    """All chunks of one method, merged in row order; returns the merged result and the wall seconds."""
    n, d = X.shape
    isolated = job.method.global_rng and not is_isolated()  # in a worker already: run here
    workers = parallel.workers
    chunks = _slices(n, parallel.chunk_rows(job.method, n, workers))
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
        stream = _local(job, X, targets, prediction, _slices(n, parallel.chunk_rows(job.method, n, 1)), row_offset,
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
    merged.stderr = _stderr_of((n, d), stderrs)
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
    with _ThreadLimits(threads):
        while done < n and (len(steps) < 2 or sum(t for _, t in steps[1:]) < sp.PILOT_SECONDS) and \
                (done == 0 or done < pilot_cap):
            idx = np.arange(done, min(n, 2 * done + 1))
            start = time.perf_counter()
            result = run_chunk(job, *_payload(idx, X, targets, prediction, row_offset))
            steps.append((len(idx), time.perf_counter() - start))
            done += len(idx)
            yield idx, result
    local_rows = parallel.chunk_rows(job.method, n - done, 1)
    if done < n and sp.decide(job, X[done:], steps, local_rows, workers):
        chunks = _slices(n, parallel.chunk_rows(job.method, n - done, workers), done)
        yield from _loky(job, X, targets, prediction, chunks, row_offset, max(1, min(workers, len(chunks))), threads)
    elif done < n:
        chunks = _slices(n, local_rows, done)
        yield from _local(job, X, targets, prediction, chunks, row_offset, threads)  # as n_jobs=1 would on them


def merge_chunk_blocks(per_chunk: list[list[dict]]) -> list[dict]:
    """One block per explained class over all chunks: rows add up, exact only if every chunk was.

    A parameter that differs between chunks of one class is kept from every
    chunk if it is text (e.g. why a chunk was approximate), else the first
    chunk's value stands (such values describe the background, shared by all).
    """
    by_label: dict = {}
    for blocks in per_chunk:
        for b in blocks:
            key = repr(b["label"])
            if key not in by_label:
                by_label[key] = {**b, "params": dict(b["params"])}
                continue
            m = by_label[key]
            m["rows"] += b["rows"]
            m["exact"] = m["exact"] and b["exact"]
            m["stochastic"] = m["stochastic"] or b["stochastic"]
            for k, v in b["params"].items():
                if k not in m["params"]:
                    m["params"][k] = v
                elif isinstance(v, str) and isinstance(m["params"][k], str) and v not in m["params"][k]:
                    m["params"][k] = m["params"][k] + "; " + v if m["params"][k].count("; ") < 2 else \
                        m["params"][k].removesuffix(" (and other chunks)") + " (and other chunks)"
    return list(by_label.values())
