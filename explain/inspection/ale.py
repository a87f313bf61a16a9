"""``explain.accumulated_local_effects()``: first-order ALE (Apley & Zhu 2020) of one feature.

Numeric features: quantile bins (below). Categorical features: categories ordered by the similarity of the
other features' distributions, then accumulated over adjacent categories (see ``_ale_categorical``).
"""

from __future__ import annotations

import numpy as np

from .._utils.validation import Integer, validate_params
from ..errors import DataError
from ._ale_categorical import categorical_effects, category_distances, category_order
from ._common import bind, feature_index, predict_batched
from .results import AccumulatedLocalEffects

__all__ = ["accumulated_local_effects"]

ALE_PARAMS = {"bins": [Integer(1)]}


def accumulated_local_effects(model, X, feature, *, bins: int = 20, output: str = "auto", target=None,
                              background=None) -> AccumulatedLocalEffects:
    """First-order accumulated local effects of one feature (Apley & Zhu 2020).

    The edges are the feature's quantiles at ``0, 1/bins, ..., 1`` (repeated quantiles merged, so a
    discrete feature may get fewer bins). A row lies in bin k when ``z_{k-1} < x <= z_k`` (the first bin also
    holds the minimum); its local effect is ``f(x with x_j = z_k) - f(x with x_j = z_{k-1})``. The
    uncentred curve at ``z_k`` is the sum of the bins' mean effects up to k; it is then centred as in
    Apley & Zhu's estimator and the ALEPlot/alibi implementations: minus the count-weighted mean of the
    curve's midpoint in each bin (linear interpolation between edges), so the curve averages 0 over the data.
    An empty bin (possible only with ties) contributes no step.

    A categorical (string, category, boolean) column is handled as Apley & Zhu (2020, section 5.2) and their
    ALEPlot package suggest: its categories present in ``X`` are ordered by how alike the other features'
    distributions are in their rows (sum over the other features of the Kolmogorov-Smirnov statistic, or the
    total-variation distance for a categorical one; then the one-dimensional classical MDS coordinate), and the
    effect between adjacent categories is the mean difference when the rows of each are moved to the other.
    The result then holds one value per category: ``labels`` are the category values in that order (never
    codes), ``edges`` their positions 0..K-1, ``counts`` the rows per category and ``effects`` the K-1 steps.
    The order is a choice the curve depends on; ``params["order"]`` names it.

    Parameters
    ----------
    model : fitted model
    X : array-like or DataFrame of shape (n_samples, n_features)
        The rows whose local effects are accumulated.
    feature : int or str
    bins : int, default=20
        Number of quantile bins (at most).
    output, target, background
        As for :func:`explain.partial_dependence`.

    Returns
    -------
    AccumulatedLocalEffects

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> import explain
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> ale = explain.accumulated_local_effects(LinearRegression().fit(X, 3 * X[:, 0]), X, 0, bins=4)
    >>> bool(np.allclose(np.diff(ale.values), 3 * np.diff(ale.edges)))
    True
    """
    validate_params("accumulated_local_effects", ALE_PARAMS, {"bins": bins})
    b = bind("accumulated_local_effects", model, X, output=output, target=target, background=background)
    j = feature_index(feature, b.names, "accumulated_local_effects")
    codec = b.adapter.codec
    x = b.X[:, j]
    if np.isnan(x).any():
        raise DataError(f"accumulated_local_effects(): {b.names[j]!r} has missing values; ALE bins need "
                        "observed values. Drop or impute those rows.")
    if codec is not None and codec.columns[j].kind == "categorical":
        return _categorical(b, j, codec)
    edges = np.unique(np.quantile(x, np.linspace(0.0, 1.0, bins + 1)))
    if edges.size < 2:
        raise DataError(f"accumulated_local_effects(): {b.names[j]!r} is constant on X; there is nothing to "
                        "accumulate.")
    k = np.clip(np.searchsorted(edges, x, side="left") - 1, 0, edges.size - 2)
    low, high = b.X.copy(), b.X.copy()
    low[:, j], high[:, j] = edges[k], edges[k + 1]
    out = predict_batched(b.f, np.vstack([high, low]))
    diff = out[:len(x)] - out[len(x):]
    n_bins = edges.size - 1
    counts = np.bincount(k, minlength=n_bins)
    sums = np.bincount(k, weights=diff, minlength=n_bins)
    effects = np.divide(sums, counts, out=np.zeros(n_bins), where=counts > 0)
    curve = np.concatenate([[0.0], np.cumsum(effects)])
    mids = 0.5 * (curve[:-1] + curve[1:])
    values = curve - float(np.sum(mids * counts) / counts.sum())
    return AccumulatedLocalEffects(feature=b.names[j], edges=edges, values=values, counts=counts, effects=effects,
                                   output=b.output, target=b.label, model_name=b.adapter.name,
                                   params={"n_rows": int(len(x)), "requested_bins": int(bins),
                                           "centring": "count-weighted bin midpoints"})


def _categorical(b, j: int, codec) -> AccumulatedLocalEffects:
    present = np.unique(b.X[:, j])
    if present.size < 2:
        raise DataError(f"accumulated_local_effects(): {b.names[j]!r} takes one category on X; there is "
                        "nothing to accumulate.")
    mask = codec.categorical
    levels = np.array([len(c.categories) for c in codec.columns])
    codes = present[category_order(category_distances(b.X, j, present, mask, levels))]
    effects, values, counts = categorical_effects(b.f, b.X, j, codes, b.names[j])
    cats = codec.columns[j].categories
    labels = tuple(v.item() if isinstance(v, np.generic) else v for v in (cats[int(c)] for c in codes))
    return AccumulatedLocalEffects(
        feature=b.names[j], edges=np.arange(len(codes), dtype=float), values=values, counts=counts,
        effects=effects, labels=labels, output=b.output, target=b.label, model_name=b.adapter.name,
        params={"n_rows": int(b.X.shape[0]), "centring": "count-weighted over the categories",
                "order": "1-D classical MDS of the summed Kolmogorov-Smirnov / total-variation distances of "
                         "the other features (ALEPlot)"})
