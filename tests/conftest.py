"""Shared fixtures: small data, the embedded zoos (fitted once per session)."""

from __future__ import annotations

import os

import pandas as pd
import pytest

# every report the suite writes (in this process and in CLI subprocesses) is validated against the schema
os.environ.setdefault("EXPLAIN_VALIDATE_REPORTS", "1")

from helpers import make_data

@pytest.fixture(scope="session")
def binary_data():
    return make_data(task="binary")


@pytest.fixture(scope="session")
def frame_data(binary_data):
    X, y = binary_data
    return pd.DataFrame(X, columns=[f"feat_{j}" for j in range(X.shape[1])]), y


@pytest.fixture(scope="session")
def tabular_zoo():
    from explain import datasets

    return datasets.model_zoo("tabular")


@pytest.fixture(scope="session")
def image_zoo():
    from explain import datasets

    return datasets.model_zoo("images")
