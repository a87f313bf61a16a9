"""``explain.partial_dependence()``: partial dependence and ICE curves, in closed form where the model allows.

Three paths, all exact (equal to scikit-learn's brute force on the same grid):

- **additive** (a GLM in its link space, binary Naive Bayes in log-odds): ``f = c + sum_k g_k(x_k)``, so the
  curve of row r is ``f(x_r) - g_J(x_rJ) + g_J(v)``: a line for a GLM, one call on the grid.
- **kernel** (RBF/Laplacian SVC/SVR, kernel ridge, GP regression in their margin/raw output): with
  ``f(x) = sum_s a_s prod_k k_k(x_k, s_k) + b``, the curve of row r at ``x_J = v`` is
  ``sum_s a_s k_J(v, s_J) exp(L_rs) + b`` with ``L_rs = sum_{k not in J} log k_k(x_rk, s_k)``, and the mean
  over rows is ``sum_s a_s k_J(v, s_J) C_s + b`` with ``log C_s = logsumexp_r L_rs - log n``: O(n_sv) per grid
  point once the constants are known, in the log domain.
- **trees** (every tree family, any output): two grid values that every split of the ensemble routes the same
  way (with the library's own comparison, float32 rounding, missing-value and category rules) give every row
  the same prediction, so the rows are evaluated once per distinct routing ("cell") and the curve is copied
  to the grid values of that cell; exact, and fewer model calls when the grid is finer than the splits.
- **brute**: every row at every grid point, in batched model calls.
"""

from __future__ import annotations

import numba
import numpy as np

from ..adapters._tree_kernels import go_left, split_arrays
from .._utils.validation import Integer, Options, validate_params
from ..errors import ParameterError
from ._common import PREDICT_ROWS, bind, feature_index, predict_batched
from .results import PartialDependence

__all__ = ["partial_dependence"]

PD_PARAMS = {
    "kind": [Options("average", "individual", "both")],
    "grid_resolution": [Integer(2)],
}
PERCENTILES = (0.05, 0.95)  # scikit-learn's default range of a numeric grid


def partial_dependence(model, X, features, *, grid=None, grid_resolution: int = 20, kind: str = "average",
                       output: str = "auto", target=None, background=None) -> PartialDependence:
    """Partial dependence (Friedman 2001) and ICE curves (Goldstein et al. 2015) of one feature or a pair.

    The curve at ``x_J = v`` is the mean over the rows of ``X`` of the model's output with the feature(s) set
    to ``v``, exactly as ``sklearn.inspection.partial_dependence(method="brute")`` on the same grid.

    Parameters
    ----------
    model : fitted model
        Anything :func:`explain.explain` accepts.
    X : array-like or DataFrame of shape (n_samples, n_features)
        The rows averaged over (one ICE curve each).
    features : int, str, or a pair of them
        The feature (name or index) or the two features varied.
    grid : array-like, or a pair of array-likes, optional
        The grid values (category values for a categorical column). Default: the feature's distinct values
        if fewer than ``grid_resolution``, else ``grid_resolution`` evenly spaced points between its 5th and
        95th percentiles (scikit-learn's rule); a categorical (string, category, boolean) column uses its
        categories.
    grid_resolution : int, default=20
    kind : {"average", "individual", "both"}, default="average"
    output : {"auto", "margin", "probability", "raw"}, default="auto"
        The response space (``"auto"``: the model's natural output, e.g. a GLM's link space).
    target : class label or index, optional
        The class of a classifier (default: the positive class of a binary one; needed for multiclass).
    background : array-like or DataFrame, optional
        Rows validated with ``X`` whose categories count as known (the averages run over ``X``).

    Returns
    -------
    PartialDependence

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> import explain
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> model = LinearRegression().fit(X, X @ [1.0, 2.0, -1.0])
    >>> pd_ = explain.partial_dependence(model, X, 1, grid=[0.0, 1.0])
    >>> round(float(pd_.average[1] - pd_.average[0]), 6), pd_.method
    (2.0, 'additive')
    """
    validate_params("partial_dependence", PD_PARAMS, {"kind": kind, "grid_resolution": grid_resolution})
    b = bind("partial_dependence", model, X, output=output, target=target, background=background)
    cols = _features(features, b.names)
    user = _split_grid(grid, len(cols))
    axes = [_feature_grid(b, j, g, grid_resolution) for j, g in zip(cols, user)]
    codes = [a[0] for a in axes]
    points = np.stack([m.ravel() for m in np.meshgrid(*codes, indexing="ij")], axis=1)
    method, average, ice, evaluated = _curves(b, cols, points, individual=kind != "average")
    shape = tuple(len(c) for c in codes)
    return PartialDependence(
        features=[b.names[j] for j in cols], grid=codes, grid_labels=[a[1] for a in axes],
        average=None if kind == "individual" else average.reshape(shape),
        individual=None if kind == "average" else ice.reshape((b.X.shape[0],) + shape),
        exact=True, method=method, output=b.output, target=b.label, model_name=b.adapter.name,
        params={"n_rows": int(b.X.shape[0]), "family": b.adapter.family,
                "evaluated_grid_points": int(evaluated)})


def _curves(b, cols, points, *, individual: bool):
    """(method, average (G,), ICE (n, G) or None, grid points the model was called on)."""
    method, expansion = _choose(b)
    if method == "kernel":
        curves = _kernel(b, cols, points, expansion, individual=individual)
        if curves is not None:
            return method, curves[0], curves[1], 0
        method = "brute"
    if method == "additive":
        ice, evaluated = _additive(b, cols, points), 0
    else:
        cells = _tree_cells(b, cols, points) if method == "trees" else None
        if cells is None:
            method, ice, evaluated = "brute", _brute(b, cols, points), points.shape[0]
        else:
            first, inverse = cells
            ice, evaluated = _brute(b, cols, points[first])[:, inverse], len(first)
    return method, ice.mean(axis=0), ice, evaluated


def _features(features, names) -> list[int]:
    pair = not isinstance(features, (str, int, np.integer, np.str_)) and np.ndim(features) == 1
    cols = [feature_index(f, names) for f in (features if pair else [features])]
    if not 1 <= len(cols) <= 2:
        raise ParameterError(f"partial_dependence(): features is one feature or a pair, got {len(cols)}.")
    if len(set(cols)) != len(cols):
        raise ParameterError(f"partial_dependence(): the pair names one feature twice ({features!r}).")
    return cols


def _split_grid(grid, k: int) -> list:
    if grid is None:
        return [None] * k
    if k == 1:
        return [grid]
    if isinstance(grid, np.ndarray) and grid.ndim == 1 or len(grid) != 2:
        raise ParameterError("partial_dependence(): for a pair of features, grid is a pair of 1-D arrays "
                             "(one per feature; None for the default).")
    return list(grid)


def _feature_grid(b, j: int, values=None, resolution: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """(grid in the model's data space, grid as the user sees it) for column ``j`` of the validated data."""
    codec = b.adapter.codec
    spec = codec.columns[j] if codec is not None else None
    if spec is not None and spec.kind == "categorical":
        cats = list(spec.categories)
        if values is None:
            return np.arange(len(cats), dtype=float), np.asarray(cats, dtype=object)
        wanted = list(np.ravel(np.asarray(values, dtype=object)))
        missing = [v for v in wanted if v not in cats]
        if missing or not wanted:
            raise ParameterError(f"partial_dependence(): grid values {missing[:5]} are not categories of "
                                 f"{b.names[j]!r} (categories: {cats[:20]}).")
        return np.array([cats.index(v) for v in wanted], dtype=float), np.asarray(wanted, dtype=object)
    if values is not None:
        try:
            g = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"partial_dependence(): the grid of {b.names[j]!r} must be numbers.") from exc
        if g.ndim != 1 or g.size == 0 or not np.all(np.isfinite(g)):
            raise ParameterError(f"partial_dependence(): the grid of {b.names[j]!r} must be a non-empty 1-D "
                                 f"array of finite numbers, got shape {g.shape}.")
        return g, g.copy()
    x = b.X[:, j]
    x = x[np.isfinite(x)]
    uniques = np.unique(x)
    if uniques.size < resolution:
        return uniques, uniques.copy()
    from scipy.stats.mstats import mquantiles

    low, high = np.asarray(mquantiles(x, prob=PERCENTILES), dtype=float)
    if np.isclose(low, high):
        return uniques, uniques.copy()
    g = np.linspace(low, high, num=resolution)
    return g, g.copy()


def _choose(b):
    a = b.adapter
    if a.is_additive(b.output):
        return "additive", None
    if getattr(a, "provides_kernel_expansion", False) and a.groupable:
        expansion = a.kernel_expansion(b.output, b.target)
        if expansion is not None:
            return "kernel", expansion
    if getattr(a, "provides_trees", False) and a.groupable:
        return "trees", None
    return "brute", None


def _grid_rows(X: np.ndarray, cols, points) -> np.ndarray:
    Z = np.repeat(X[:1], points.shape[0], axis=0)
    Z[:, cols] = points
    return Z


def _additive(b, cols, points) -> np.ndarray:
    a, t = b.adapter, b.target
    g_grid = a.additive_terms(_grid_rows(b.X, cols, points), b.output, t)[:, cols].sum(axis=1)
    g_rows = a.additive_terms(b.X, b.output, t)[:, cols].sum(axis=1)
    rest = predict_batched(b.f, b.X) - g_rows
    return rest[:, None] + g_grid[None, :]


def _brute(b, cols, points) -> np.ndarray:
    n, G = b.X.shape[0], points.shape[0]
    out = np.empty((n, G))
    step = max(1, PREDICT_ROWS // max(1, n))
    for g0 in range(0, G, step):
        block = points[g0:g0 + step]
        Z = np.repeat(b.X[None], block.shape[0], axis=0)
        Z[:, :, cols] = block[:, None, :]
        out[:, g0:g0 + block.shape[0]] = predict_batched(b.f, Z.reshape(-1, b.X.shape[1])).reshape(-1, n).T
    return out


@numba.njit(cache=True)  # serial: threads lose more than they gain at these sizes on a shared machine
def _log_kernel_loop(P, S, w, cols, power):  # pragma: no cover - compiled
    n, m = P.shape[0], S.shape[0]
    out = np.zeros((n, m))
    for r in range(n):
        for s in range(m):
            acc = 0.0
            for c in cols:
                diff = abs(P[r, c] - S[s, c])
                acc -= w[c] * (diff * diff if power == 2 else diff)
            out[r, s] = acc
    return out


def _log_kernel(P, S, w, mask, power) -> np.ndarray:
    """sum over the columns in ``mask`` of log k_c(p_c, s_c) = -w_c |p_c - s_c|^power: shape (len(P), len(S))."""
    return _log_kernel_loop(np.ascontiguousarray(P), np.ascontiguousarray(S), w, np.flatnonzero(mask), int(power))


def _kernel(b, cols, points, expansion, *, individual: bool):
    """Closed-form curves of a product-kernel expansion (None if the columns of J cannot be isolated)."""
    a = b.adapter
    T = np.asarray(a.transform(b.X), dtype=float)
    TZ = np.asarray(a.transform(_grid_rows(b.X, cols, points)), dtype=float)
    origin = np.arange(T.shape[1]) if a.column_origin is None else np.asarray(a.column_origin)
    if origin.shape[0] != T.shape[1] or expansion.support.shape[1] != T.shape[1]:
        return None
    moved = ~np.all(TZ == TZ[:1], axis=0) | ~np.all(TZ[:1] == T[:1], axis=0)
    J = np.isin(origin, cols) | moved
    if np.any(moved & ~np.isin(origin, cols) & (origin >= 0)):
        return None  # a column read by another feature moved: not a product split we can trust
    S = np.asarray(expansion.support, dtype=float)
    coef = np.asarray(expansion.coef, dtype=float) * expansion.scale
    w, power = np.asarray(expansion.weights, dtype=float), expansion.power

    n = T.shape[0]
    L_rest = _log_kernel(T, S, w, ~J, power)                 # (n, m): the columns outside J
    L_grid = _log_kernel(TZ, S, w, J, power)                 # (G, m): the grid's columns
    top = L_rest.max(axis=0)
    log_c = top + np.log(np.exp(L_rest - top).sum(axis=0)) - np.log(n)  # log mean_r exp(L_rs)
    average = np.exp(L_grid + log_c[None, :]) @ coef + expansion.intercept
    if not individual:
        return average, None
    shift = L_rest.max(axis=1, keepdims=True)
    ice = np.exp(shift) * (np.exp(L_rest - shift) @ (coef[:, None] * np.exp(L_grid).T)) + expansion.intercept
    return average, ice


@numba.njit(cache=True)
def _routes(P, internal, feature, thr, kind, missing_left, zero_missing, nan_as_zero, cat_start, cat_len,
            cat_unknown, cat_dir, thr_le, simple):  # pragma: no cover - compiled
    out = np.zeros((P.shape[0], internal.shape[0]), dtype=np.bool_)
    for g in range(P.shape[0]):
        for q in range(internal.shape[0]):
            nd = internal[q]
            out[g, q] = go_left(P[g, feature[nd]], nd, thr, kind, missing_left, zero_missing, nan_as_zero,
                                cat_start, cat_len, cat_unknown, cat_dir, thr_le, simple)
    return out


def _tree_cells(b, cols, points):
    """(index of one grid point per distinct routing, cell of each grid point), or None if not readable.

    The grid rows share every column but J's, so the nodes on other columns decide alike for all of them;
    since each tree column reads one input column (``groupable``), equal decisions on every node for the
    grid rows mean equal routes, hence equal predictions, for every row of X.
    """
    a = b.adapter
    try:
        ens = a.tree_ensemble()
        P = ens.prepare(a.tree_input(_grid_rows(b.X, cols, points)))
    except (ValueError, NotImplementedError, TypeError):
        return None
    internal = np.flatnonzero(ens.left >= 0).astype(np.int64)
    routes = _routes(np.ascontiguousarray(P, dtype=float), internal, ens.feature, *split_arrays(ens))
    _, first, inverse = np.unique(routes, axis=0, return_index=True, return_inverse=True)
    return first, np.ravel(inverse)
