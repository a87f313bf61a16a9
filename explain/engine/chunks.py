"""One chunk of rows, explained the same way wherever it runs, and the merge of chunks in row order.

Every method works on a block of rows and needs nothing from the other blocks but the background, so
``explain()`` cuts the rows into chunks and runs each chunk the same way wherever it runs (:func:`run_chunk`;
where that is, is ``engine.run``). Randomness is keyed by the row's index in the user's ``X``
(``methods._rng``), never by the chunk, so results are bit-identical for any ``batch_size`` and ``n_jobs``.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field

import numpy as np

from ..adapters.base import Adapter, CountingFunction
from ..errors import DataError
from ..methods.base import Method, Task

__all__ = ["Job", "Parallelism", "ChunkResult", "ThreadLimits", "run_chunk", "merge_chunk_blocks", "slices", "payload",
           "stderr_of", "MAX_CHUNK_ROWS"]

MAX_CHUNK_ROWS = 65_536  # rows per chunk under batch_size="auto": bounds the memory of one chunk


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


def stderr_of(shape, blocks: list):
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
    out.stderr = stderr_of((n, d), stderrs)
    return out


class ThreadLimits:
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


def slices(n: int, rows: int, start: int = 0):
    return [np.arange(s, min(n, s + rows)) for s in range(start, n, rows)]


def payload(idx, X, targets, prediction, row_offset):
    return X[idx], (None if targets is None else targets[idx]), prediction[idx], idx + row_offset


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
