"""Shared fixtures: small data, small test zoos (fitted once per session, per xdist worker)."""

from __future__ import annotations

import os

# One thread per BLAS / OpenMP pool (torch, LightGBM, numpy): the suite runs in up to two worker processes on
# two cores, and OpenMP pools that spin on busy cores made one CNN fit 30x slower. Set before anything imports them.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# The documented switch for explain's progress bar (README, "Many rows"): no bar in the suite's output.
os.environ["EXPLAIN_PROGRESS"] = "0"

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers import make_data  # noqa: E402


@pytest.fixture(scope="session")
def binary_data():
    return make_data(task="binary")


@pytest.fixture(scope="session")
def frame_data(binary_data):
    X, y = binary_data
    return pd.DataFrame(X, columns=[f"feat_{j}" for j in range(X.shape[1])]), y


@pytest.fixture(scope="session")
def tabular_zoo():
    """The tabular zoo's families on the same breast cancer split, with 20 trees (``size="small"``)."""
    from explain import datasets

    return datasets.model_zoo("tabular", size="small")


@pytest.fixture(scope="session")
def image_zoo():
    """The image zoo's families on the same digits test split, fitted on 600 rows (``size="small"``)."""
    from explain import datasets

    return datasets.model_zoo("images", size="small")


@pytest.fixture
def cli():
    """``python -m explain ARGS`` in this process (see ``helpers.run_cli``)."""
    from helpers import run_cli

    return run_cli
