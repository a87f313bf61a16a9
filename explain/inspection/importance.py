"""``explain.importance()``: permutation importance and SAGE, with intervals that cover the sampling of rows.

Both measure how much a feature matters for the model's *loss* on labelled rows (cross-entropy of the class
probabilities for classifiers, squared error of the prediction for regressors).

- **permutation** (Breiman 2001; Fisher et al. 2019): the loss increase when a feature's column is shuffled.
  Each repeat draws a bootstrap sample of the rows and shuffles the column within it, so the spread of the
  repeats covers both the rows and the permutations; the interval is the percentile interval of the repeats.
  A feature the model ignores has importance exactly 0 in every repeat.
- **sage** (Covert, Lundberg & Lee 2020), the marginal version: Shapley values of
  ``v(S) = mean_r [l(y_r, g_empty) - l(y_r, g_S(x_r))]`` with ``g_S(x) = mean_b f(x_S, b_rest)`` over the
  background rows b. ``v`` is a mean over rows of per-row games, and Shapley values are linear, so the SAGE
  value is the mean of per-row Shapley values: by enumeration of all coalitions (up to
  ``MAX_ENUMERATION_PLAYERS``) exactly, with a standard error over rows; beyond, SAGE's permutation estimator
  (one row and one ordering per draw) with its standard error and convergence stop.
"""

from __future__ import annotations

from math import factorial

import numpy as np
from scipy.stats import norm

from .._utils.validation import Integer, Options, Satisfies, validate_params
from .._utils.warn import warn
from ..errors import ApproximationWarning, DataError, OutputError
from ._common import PREDICT_ROWS, bind

__all__ = ["importance", "MAX_ENUMERATION_PLAYERS"]

MAX_ENUMERATION_PLAYERS = 10
DEFAULT_REPEATS = {"permutation": 50, "sage": 2048}
CONVERGENCE = 0.025  # SAGE's stop: largest standard error below this share of the range of the values
MIN_DRAWS = 64
_EPS = np.finfo(float).eps

IMPORTANCE_PARAMS = {
    "method": [Options("permutation", "sage")],
    "n_repeats": [None, Integer(2)],
    "loss": [Options("auto", "cross_entropy", "squared_error")],
    "random_state": [None, Integer(0)],
    "ci": [Satisfies(lambda v: isinstance(v, (float, int)) and not isinstance(v, bool) and 0 < v < 1,
                     "a number strictly between 0 and 1")],
}


def importance(model, X, y, *, method: str = "permutation", n_repeats: int | None = None, background=None,
               loss: str = "auto", random_state: int | None = 0, ci: float = 0.95):
    """Global feature importance for the model's loss on labelled rows, with intervals.

    Parameters
    ----------
    model : fitted model
        Anything :func:`explain.explain` accepts; a classifier needs class probabilities.
    X : array-like or DataFrame of shape (n_samples, n_features)
        Labelled rows (held-out data measures what the model learned that generalises).
    y : array-like of shape (n_samples,)
        Class labels (classifiers) or targets (regressors).
    method : {"permutation", "sage"}, default="permutation"
    n_repeats : int, optional
        Permutation: bootstrap repeats (default 50). SAGE beyond ``MAX_ENUMERATION_PLAYERS`` features: the
        largest number of (row, ordering) draws (default 2048; it stops earlier once converged). Unused by
        exact SAGE.
    background : array-like or DataFrame, optional
        SAGE: rows that absent features are drawn from (default: a seeded sample of at most 100 rows of X).
        Unused by permutation importance.
    loss : {"auto", "cross_entropy", "squared_error"}, default="auto"
        "auto": cross-entropy of the class probabilities for classifiers, squared error for regressors.
    random_state : int or None, default=0
    ci : float, default=0.95
        Coverage of the interval ``[ci_low, ci_high]``.

    Returns
    -------
    Importance

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> import explain
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3))
    >>> y = 2 * X[:, 0] + rng.normal(0, 0.1, 60)
    >>> res = explain.importance(LinearRegression().fit(X, y), X, y, method="sage", background=X[:20])
    >>> res.exact, int(np.argmax(res.mean))
    (True, 0)
    """
    validate_params("importance", IMPORTANCE_PARAMS, {"method": method, "n_repeats": n_repeats, "loss": loss,
                                                      "random_state": random_state, "ci": ci})
    b = bind("importance", model, X, background=background, random_state=random_state, one_target=False)
    a = b.adapter
    classifier = a.task == "classification"
    loss = ("cross_entropy" if classifier else "squared_error") if loss == "auto" else loss
    if loss == "cross_entropy" and not classifier:
        raise OutputError(f"loss='cross_entropy' needs a classifier; {a.name} is a regressor. Use "
                          "loss='squared_error' (or 'auto').")
    if classifier and "probability" not in a.outputs:
        raise OutputError(f"importance() of a classifier scores its class probabilities, and {a.name} has none "
                          "(offers " + str(list(a.outputs)) + "). Fit it with probabilities, e.g. "
                          "SVC(probability=True).")
    output = "probability" if classifier else ("raw" if "raw" in a.outputs else a.natural_output)
    labels = _labels(a, y, b.X.shape[0], classifier)
    predict = lambda Z: a.predict(Z, output)
    score = _loss(loss, classifier and loss == "squared_error")
    repeats = DEFAULT_REPEATS[method] if n_repeats is None else int(n_repeats)
    rng = np.random.default_rng(random_state)
    z = float(norm.ppf(0.5 + ci / 2.0))
    d = b.X.shape[1]
    params = {"n_rows": int(b.X.shape[0]), "family": a.family, "random_state": random_state}
    if method == "permutation":
        reps = _permutation(predict, score, b.X, labels, repeats, rng)
        mean, stderr = reps.mean(axis=0), reps.std(axis=0, ddof=1)
        low, high = np.quantile(reps, [(1 - ci) / 2, (1 + ci) / 2], axis=0)
        exact, params["n_repeats"] = False, repeats
        params["interval"] = "percentile interval of row-bootstrap repeats, one permutation inside each"
    else:
        B = b.background
        params["background_size"] = int(B.shape[0])
        if d <= MAX_ENUMERATION_PLAYERS:
            per_row = _sage_enumeration(predict, score, b.X, labels, B)
            mean = per_row.mean(axis=0)
            stderr = per_row.std(axis=0, ddof=1) / np.sqrt(per_row.shape[0]) if per_row.shape[0] > 1 \
                else np.zeros(d)
            exact, params["algorithm"] = True, "enumeration of every coalition"
        else:
            mean, stderr, draws = _sage_sampling(predict, score, b.X, labels, B, repeats, rng)
            exact, params["algorithm"], params["n_draws"] = False, "permutation sampling (SAGE)", draws
            warn(f"SAGE values of {a.name} are sampled ({d} features > {MAX_ENUMERATION_PLAYERS}): {draws} "
                 "(row, ordering) draws; see .stderr and the interval.", ApproximationWarning)
        low, high = mean - z * stderr, mean + z * stderr
        params["interval"] = "normal interval from the standard error over rows (and orderings when sampled)"
    from .results import Importance

    return Importance(feature_names=b.names, mean=mean, ci_low=low, ci_high=high, stderr=stderr, exact=exact,
                      method=method, loss=loss, ci=ci, output=output, target=None, model_name=a.name,
                      params=params)


def _labels(a, y, n: int, classifier: bool) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise DataError(f"importance(): y must have shape ({n},) like the rows of X, got {y.shape}.")
    if not classifier:
        try:
            out = y.astype(float)
        except (TypeError, ValueError) as exc:
            raise DataError("importance(): y of a regressor must be numbers.") from exc
        if not np.all(np.isfinite(out)):
            raise DataError("importance(): y has missing or infinite values; drop those rows.")
        return out
    classes = list(np.asarray(a.classes).tolist())
    values = y.tolist()
    unknown = sorted({v for v in values if v not in classes}, key=str)
    if unknown:
        raise DataError(f"importance(): labels {unknown[:5]} are not classes of {a.name} ({classes}).")
    return np.array([classes.index(v) for v in values], dtype=np.int64)


def _loss(kind: str, onehot: bool):
    """``score(labels, P) -> (m,)`` per-row loss of predictions ``P`` (m, k)."""
    if kind == "cross_entropy":
        return lambda t, P: -np.log(np.clip(P[np.arange(P.shape[0]), t], _EPS, 1.0))
    if onehot:  # Brier-type squared error of the probability vector
        return lambda t, P: ((P - np.eye(P.shape[1])[t]) ** 2).sum(axis=1)
    return lambda t, P: (t - P[:, 0]) ** 2


def _predict_rows(predict, Z: np.ndarray) -> np.ndarray:
    return np.concatenate([predict(Z[s:s + PREDICT_ROWS]) for s in range(0, Z.shape[0], PREDICT_ROWS)])


def _permutation(predict, score, X, labels, repeats, rng) -> np.ndarray:
    n, d = X.shape
    base_loss = score(labels, _predict_rows(predict, X))
    out = np.empty((repeats, d))
    per_call = max(1, PREDICT_ROWS // max(1, n))  # features shuffled per model call (bounded memory)
    for r in range(repeats):
        idx = rng.integers(0, n, n)
        Xb = X[idx]
        for j0 in range(0, d, per_call):
            cols = range(j0, min(d, j0 + per_call))
            Z = np.repeat(Xb[None], len(cols), axis=0)
            for i, j in enumerate(cols):
                Z[i, :, j] = Xb[rng.permutation(n), j]
            losses = score(np.tile(labels[idx], len(cols)), _predict_rows(predict, Z.reshape(-1, d)))
            out[r, j0:j0 + len(cols)] = losses.reshape(len(cols), n).mean(axis=1) - base_loss[idx].mean()
    return out


def _imputed(predict, X, B, mask_rows: np.ndarray) -> np.ndarray:
    """``g_S(x_r) = mean_b f(x_S, b_rest)`` for each (row, coalition) pair: X (m, d), masks (m, d) bool."""
    m, d = X.shape
    nb = B.shape[0]
    Z = np.where(mask_rows[:, None, :], X[:, None, :], B[None, :, :]).reshape(-1, d)
    P = _predict_rows(predict, Z)
    return P.reshape(m, nb, -1).mean(axis=1)


def _sage_enumeration(predict, score, X, labels, B) -> np.ndarray:
    """Per-row Shapley values (n, d) of the per-row games ``v_r(S) = l(y_r, g_empty) - l(y_r, g_S(x_r))``."""
    n, d = X.shape
    masks = ((np.arange(1 << d)[:, None] >> np.arange(d)) & 1).astype(bool)      # (2^d, d)
    per_call = max(1, PREDICT_ROWS // max(1, n * B.shape[0]))
    L = np.empty((1 << d, n))
    for s0 in range(0, 1 << d, per_call):
        block = masks[s0:s0 + per_call]
        G = _imputed(predict, np.tile(X, (len(block), 1)), B, np.repeat(block, n, axis=0))
        L[s0:s0 + len(block)] = score(np.tile(labels, len(block)), G).reshape(len(block), n)
    V = L[0][None, :] - L                                                          # (2^d, n)
    sizes = masks.sum(axis=1)
    weights = np.array([factorial(s) * factorial(d - s - 1) / factorial(d) for s in range(d)])
    phi = np.zeros((n, d))
    for j in range(d):
        without = np.flatnonzero(~masks[:, j])
        phi[:, j] = weights[sizes[without]] @ (V[without | (1 << j)] - V[without])
    return phi


def _sage_sampling(predict, score, X, labels, B, max_draws, rng):
    """SAGE's permutation estimator: one row and one ordering per draw, stopped once converged."""
    n, d = X.shape
    per_batch = max(1, min(max_draws, PREDICT_ROWS // max(1, (d + 1) * B.shape[0])))
    draws = []
    while sum(len(x) for x in draws) < max_draws:
        k = min(per_batch, max_draws - sum(len(x) for x in draws))
        rows = rng.integers(0, n, k)
        order = np.argsort(rng.random((k, d)), axis=1)
        masks = np.zeros((k, d + 1, d), dtype=bool)
        for step in range(1, d + 1):
            masks[:, step] = masks[:, step - 1]
            masks[np.arange(k), step, order[:, step - 1]] = True
        G = _imputed(predict, np.repeat(X[rows], d + 1, axis=0), B, masks.reshape(-1, d))
        L = score(np.repeat(labels[rows], d + 1), G).reshape(k, d + 1)
        gains = np.zeros((k, d))
        gains[np.arange(k)[:, None], order] = L[:, :-1] - L[:, 1:]
        draws.append(gains)
        allg = np.concatenate(draws)
        if len(allg) >= MIN_DRAWS:
            mean, err = allg.mean(axis=0), allg.std(axis=0, ddof=1) / np.sqrt(len(allg))
            spread = float(mean.max() - mean.min())
            if spread > 0 and float(err.max()) < CONVERGENCE * spread:
                break
    allg = np.concatenate(draws)
    return allg.mean(axis=0), allg.std(axis=0, ddof=1) / np.sqrt(len(allg)), int(len(allg))
