"""Per-row random streams: the same row gets the same draws whatever the chunking or the process.

Every stochastic method draws row ``i``'s randomness from
``SeedSequence(entropy, spawn_key=(i,))`` -- the ``i``-th child that
``SeedSequence(entropy).spawn(...)`` would hand out -- where ``i`` is the
row's index in the ``X`` the user passed. Results are therefore bit-identical
for any ``batch_size`` and ``n_jobs`` and on any Dask worker. Nothing here reads,
seeds or restores numpy's or torch's global generators.

Two libraries only draw from numpy's global generator: shap's KernelExplainer
and PermutationExplainer. The methods that run them declare
``global_rng = True`` and the engine runs them in a worker process of its own
(``explain.engine.run``), where seeding that process's global generator per row
leaves the caller's untouched.
"""

from __future__ import annotations

import numpy as np

__all__ = ["row_sequence", "row_rng", "row_seed", "fresh_entropy", "mark_isolated", "is_isolated",
           "seed_isolated_global"]


def fresh_entropy() -> int:
    """A new 128-bit entropy for ``random_state=None``, drawn once per call and shared by every chunk."""
    return int(np.random.SeedSequence().entropy)


def row_sequence(entropy: int, row: int) -> np.random.SeedSequence:
    """The seed sequence of one explained row."""
    return np.random.SeedSequence(int(entropy), spawn_key=(int(row),))


def row_rng(entropy: int, row: int) -> np.random.Generator:
    """A generator for one explained row."""
    return np.random.default_rng(row_sequence(entropy, row))


def row_seed(entropy: int, row: int) -> int:
    """A 32-bit integer seed for one row, for libraries that take an int or a RandomState (LIME, shap)."""
    return int(row_sequence(entropy, row).generate_state(1)[0])


_ISOLATED = False  # True only in a worker process the engine started for global-generator methods


def mark_isolated() -> None:
    """Called by the engine inside its own worker processes (``explain.engine.run``)."""
    global _ISOLATED
    _ISOLATED = True


def is_isolated() -> bool:
    """Whether this process is one of the engine's workers (its global generator is ours to seed)."""
    return _ISOLATED


def seed_isolated_global(seed: int) -> None:
    """Seed numpy's global generator for a library that reads nothing else -- in an isolated worker only.

    Raises RuntimeError in any other process, so a caller's global state can
    never be changed by accident.
    """
    if not _ISOLATED:
        raise RuntimeError("a method that seeds numpy's global generator ran outside the engine's isolated "
                           "worker; call it through explain(), which runs it in a worker process")
    np.random.seed(seed)
