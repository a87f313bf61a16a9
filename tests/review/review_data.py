"""Review tests' data, built from scratch (a known linear signal), and model files on disk."""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURES = list("abcde")
WEIGHTS = np.array([1.5, 0.7, 0.5, -0.3, 0.0])  # e carries no signal


def make_rows(seed: int, n: int, *, factor: float = 1.0, classify: bool = True):
    """X with five standard-normal features and y from WEIGHTS, feature b's weight times ``factor``."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, len(FEATURES))), columns=FEATURES)
    w = WEIGHTS.copy()
    w[1] *= factor
    score = X.to_numpy() @ w
    if classify:
        return X, (score + rng.normal(scale=0.5, size=n) > 0).astype(int)
    return X, score + rng.normal(scale=0.3, size=n)


def save_model(model, path):
    import skops.io as sio

    sio.dump(model, path)
    return path


def write_rows(X, y, path, target="y"):
    frame = X.copy()
    frame[target] = y
    frame.to_csv(path, index=False)
    return path
