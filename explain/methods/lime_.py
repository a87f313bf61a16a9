"""LIME tabular, converted to contributions in the same units as SHAP.

LIME fits a weighted linear model around each row and returns its slopes. We
run it on continuous features (``discretize_continuous=False``) so the slopes
are per standardised unit of each feature, in the explained output space
(LIME's regression mode on our scalar ``f``), and convert them to
contributions: slope_j * (x_j - mean_bg x_j) / std_bg x_j. The raw slopes,
LIME's intercept and its local R^2 stay in ``params``.

The lime library's ``LimeTabularExplainer`` holds the background statistics
and the kernel; its ``explain_instance`` is followed step by step here
(:func:`_neighbourhood`, :func:`_kernel_weights`, :func:`_ridge_fit`), with the
same draws from the same per-row seed, so that the perturbations of a block of
rows go to the model in one call and LIME's per-call overhead (sklearn
validation, its feature selection, which with every feature kept only orders
the columns) is not paid per row. tests/methods/test_lime.py checks the result
against ``explain_instance`` itself.

Standard errors: LIME's weighted ridge fit is refitted on ``BOOTSTRAP``
bootstrap resamples of its perturbations (multinomial counts times the kernel
weights, drawn from the row's own generator), all at once; the spread of each
slope, times the same conversion factor, is the standard error of the
contribution.
"""

from __future__ import annotations

import numpy as np

from ..errors import BackgroundError, DataError, MethodNotApplicableError, ParameterError
from .base import Attribution, Method, Task

__all__ = ["Lime"]

IMAGE_BLOCK = 1 << 24  # pixel values of perturbed images built at once (128 MB)
ROW_BLOCK = 1 << 22  # values of a block of rows' perturbations sent to the model at once (32 MB per copy)
#: Largest squared standardised distance of a row from the background mean LIME can take: its kernel distances
#: square and sum standardised differences, which overflow float64 beyond about 1e308.
MAX_SQUARED_DISTANCE = 1e300
BOOTSTRAP = 100  # resamples of LIME's perturbations per row for the standard errors
OUTER_BLOCK = 1 << 22  # per-perturbation outer products (samples x features^2) the bootstrap builds at once
RIDGE_ALPHA = 1.0  # LIME's default surrogate: Ridge(alpha=1, fit_intercept=True)
#: The fits (a bootstrap's products are ~100 x 1,000 x 100) run with one BLAS thread: a second thread gains
#: little on an idle machine (0.46 vs 0.59 ms) and costs much when another process holds a core (BLAS threads
#: wait for each other: 0.95-3.3 ms with one busy core, ~30 ms with both). The model calls keep their threads.
BLAS_THREADS = 1


def _ridge_fit(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(slopes, intercept, weighted R^2) of LIME's surrogate, ``Ridge(alpha=1).fit(X, y, sample_weight=w)``
    and its ``score``, solved as sklearn does (weighted centring, then the normal equations)."""
    x_mean, y_mean = np.average(X, axis=0, weights=w), np.average(y, weights=w)
    Xc, yc = X - x_mean, y - y_mean
    Xw = Xc * w[:, None]
    slopes = np.linalg.solve(Xw.T @ Xc + RIDGE_ALPHA * np.eye(X.shape[1]), Xw.T @ yc)
    intercept = y_mean - x_mean @ slopes
    residual, total = w @ (y - (X @ slopes + intercept)) ** 2, w @ yc ** 2
    # sklearn's r2_score: 1 for a perfect fit of a constant, 0 for an imperfect one
    r2 = 1.0 - residual / total if total != 0 else (1.0 if residual == 0 else 0.0)
    return slopes, float(intercept), float(r2)


def _weighted_grams(X: np.ndarray, V: np.ndarray) -> np.ndarray:
    """``X.T @ diag(v) @ X`` for every row v of V, shape (B, d, d): one product with the per-sample outer
    products while they fit in OUTER_BLOCK values, else one product per v."""
    n, d = X.shape
    if n * d * d <= OUTER_BLOCK:
        return (V @ (X[:, :, None] * X[:, None, :]).reshape(n, d * d)).reshape(len(V), d, d)
    return np.stack([(X.T * v) @ X for v in V])


def bootstrap_slope_stderr(X: np.ndarray, y: np.ndarray, w: np.ndarray, rng: np.random.Generator,
                           n_boot: int = BOOTSTRAP) -> np.ndarray:
    """Bootstrap standard error of each slope of LIME's weighted ridge fit over its perturbations.

    Resample b weights the perturbations by ``w`` times its multinomial counts; all ``n_boot`` fits come
    from their weighted moments at once (the data first centred on the full fit's weighted mean, which
    leaves the slopes unchanged and keeps the moments well conditioned) and one batched solve. The counts
    are the same draws, in the same order, as ``n_boot`` successive ``rng.multinomial(n, 1/n)`` calls;
    they are most of the time (``n_boot`` x n binomial draws: about 4 ms of a row's ~5 ms at 1,000 samples).
    Resamples whose kernel weights sum to 0 define no fit and are left out.
    """
    n, d = X.shape
    sw = w.sum()
    X, y = X - (w @ X) / sw, y - (w @ y) / sw
    V = w * rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)  # (B, n) weights of each resample
    s0 = V.sum(axis=1)
    # a resample that drew only perturbations of kernel weight 0 (a row far outside the background, where the
    # row itself carries all the weight) defines no fit: it is left out, and with fewer than two left the
    # spread is unknown (NaN, as the engine reads it)
    V, s0 = V[s0 > 0], s0[s0 > 0]
    if len(V) < 2:
        return np.full(d, np.nan)
    sx, sy = V @ X, V @ y  # weighted sums: (B, d), (B,)
    gram = _weighted_grams(X, V) - sx[:, :, None] * sx[:, None, :] / s0[:, None, None]
    gram += RIDGE_ALPHA * np.eye(d)
    rhs = V @ (X * y[:, None]) - sx * (sy / s0)[:, None]
    draws = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]
    return draws.std(axis=0, ddof=1)


def _neighbourhood(explainer, x: np.ndarray, num_samples: int, state: np.random.RandomState):
    """(scaled, inverse): LIME's perturbations of row x, as ``explain_instance`` draws them from ``state``.

    This is lime_tabular's ``__data_inverse`` without a discretizer and its scaling, on the explainer's own
    statistics: standard normals times the background scale plus its mean (or the row), the row itself
    first; each categorical column drawn from its background frequencies, 1 where it equals the row's.
    ``inverse`` goes to the model, ``scaled`` is what LIME's surrogate is fitted on.
    """
    mean, scale = explainer.scaler.mean_, explainer.scaler.scale_
    data = state.normal(0, 1, num_samples * len(x)).reshape(num_samples, len(x))
    data = data * scale + (x if explainer.sample_around_instance else mean)
    data[0] = x
    inverse = data.copy()
    for j in explainer.categorical_features:
        column = state.choice(explainer.feature_values[j], size=num_samples, replace=True,
                              p=explainer.feature_frequencies[j])
        same = (column == x[j]).astype(int)
        same[0] = 1
        column[0] = data[0, j]
        data[:, j], inverse[:, j] = same, column
    inverse[0] = x
    return (data - mean) / scale, inverse


def _kernel_weights(explainer, scaled: np.ndarray) -> np.ndarray:
    """LIME's sample weights: its kernel of each perturbation's euclidean distance to the row (scaled)."""
    return explainer.base.kernel_fn(np.sqrt(((scaled - scaled[0]) ** 2).sum(axis=1)))


class Lime(Method):
    """LIME tabular with a fixed seed; values are slope x (x - mean_background) contributions."""

    name = "lime"
    stochastic = True
    game = "a local linear surrogate around the row (observational sampling from the background)"
    assumptions = "the model is locally linear at LIME's kernel width; seed-dependent"
    chunk_rows = 32
    options = ("num_samples", "sample_around_instance", "kernel_width", "stderr")
    supports_groups = True
    stderr_option = "stderr"  # False skips the bootstrap (values unchanged); compare()'s value-only re-runs

    def attribute(self, task: Task) -> Attribution:
        if task.groups is not None:
            return _lime_image(task)
        from lime.lime_tabular import LimeTabularExplainer
        from threadpoolctl import threadpool_limits

        from .._utils.codec import categorical_mask, reference_row

        opts = dict(task.options)
        num_samples = int(opts.pop("num_samples", 5000))
        want_stderr = _flag(opts.pop("stderr", True), "stderr")
        n, d = task.X.shape
        categorical = np.flatnonzero(categorical_mask(task.adapter.codec, d))
        # LIME cannot take missing values: they are filled with the column's mean (or mode) for LIME only
        fill = reference_row(task.background, task.adapter.codec)
        background = np.where(np.isnan(task.background), fill, task.background)
        X = np.where(np.isnan(task.X), fill, task.X)
        with np.errstate(over="ignore", invalid="ignore"):  # a huge value overflows its scaler: refused just below
            explainer = LimeTabularExplainer(
                background, mode="regression", feature_names=list(task.feature_names),
                categorical_features=list(categorical), discretize_continuous=False, random_state=0,
                sample_around_instance=bool(opts.pop("sample_around_instance", False)),
                kernel_width=opts.pop("kernel_width", None))
        mean, scale = explainer.scaler.mean_, explainer.scaler.scale_
        _check_scale(task, X, background, mean, scale)
        slopes = np.zeros((n, d))
        slope_se = np.zeros((n, d))
        intercept = np.empty(n)
        score = np.empty(n)
        step = max(1, ROW_BLOCK // (num_samples * d))  # rows whose perturbations go to the model at once
        for start in range(0, n, step):
            rows = range(start, min(n, start + step))
            drawn = [_neighbourhood(explainer, X[i], num_samples, np.random.RandomState(task.seed(i))) for i in rows]
            outputs = np.asarray(task.f(np.concatenate([inverse for _, inverse in drawn])), dtype=float)
            with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
                for k, (i, (scaled, _)) in enumerate(zip(rows, drawn)):
                    y = outputs[k * num_samples:(k + 1) * num_samples]
                    if not np.all(np.isfinite(y)):
                        raise DataError(
                            f"X row {task.row_id(i)}: the model returned {np.sum(~np.isfinite(y))} non-finite values "
                            f"on LIME's {num_samples} perturbations of the row; LIME needs finite outputs everywhere "
                            "it samples (use methods that stay on the data, e.g. 'shap').")
                    w = _kernel_weights(explainer, scaled)
                    slopes[i], intercept[i], score[i] = _ridge_fit(scaled, y, w)
                    if want_stderr:
                        slope_se[i] = bootstrap_slope_stderr(scaled, y, w, task.rng(i))
        factor = (X - mean) / scale
        for j in categorical:  # LIME's feature is 1[x_j = this row's category]: centre it on the background
            factor[:, j] = 1.0 - (background[:, j][None, :] == X[:, j][:, None]).mean(axis=1)
        values = slopes * factor
        base = float(np.mean(task.f(task.background)))
        params = {
            "algorithm": "LIME tabular (continuous), slope x standardised (x - mean_background)"
                         + ("; categorical columns: slope x (1 - background share of the row's category)"
                            if len(categorical) else ""),
            "num_samples": num_samples, "feature_mean": mean, "feature_scale": scale,
            "sample_around_instance": explainer.sample_around_instance,
        }
        if np.isnan(task.X).any() or np.isnan(task.background).any():
            params["filled_missing"] = "missing values were filled with the column mean (mode) for LIME's sampling"
        if not want_stderr:
            params["stderr_method"] = "not computed (stderr=False)"
            return Attribution(values, np.full(n, base), params,
                               row_params={"slopes": slopes, "intercept": intercept, "local_r2": score})
        params["stderr_method"] = f"bootstrap over LIME's perturbations ({BOOTSTRAP} resamples of its ridge fit)"
        return Attribution(values, np.full(n, base), params, stderr=slope_se * np.abs(factor),
                           row_params={"slopes": slopes, "intercept": intercept, "local_r2": score})


def _flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"method_params={{'lime': {{'{name}': ...}}}} must be True or False, got {value!r}")
    return bool(value)


def _check_scale(task: Task, X: np.ndarray, background: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> None:
    """Refuse values so large that LIME's standardised distances overflow (its sample weights become NaN)."""
    names = list(task.feature_names)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        z_bg, z = (background - mean) / scale, (X - mean) / scale
        far_bg = np.flatnonzero(~((z_bg * z_bg).sum(axis=1) <= MAX_SQUARED_DISTANCE))
        far = np.flatnonzero(~((z * z).sum(axis=1) <= MAX_SQUARED_DISTANCE))
    fix = ("Check the value (a data-entry error?), clip or rescale the column, or use methods that do not sample "
           "around the background (e.g. 'shap', or the model's own method).")
    if far_bg.size or not np.all(np.isfinite(scale)):
        bad = np.flatnonzero(~np.isfinite(scale))
        j = int(bad[0]) if bad.size else int(np.nanargmax(np.abs(np.nan_to_num(z_bg[far_bg[0]], nan=np.inf))))
        row = int(np.nanargmax(np.abs(background[:, j])))
        raise BackgroundError(
            f"background column {names[j]!r} has a value too large for LIME ({background[row, j]:.3g} at background "
            f"row {row}): the column's mean and spread, and LIME's kernel distances, overflow float64. {fix}")
    if far.size:
        i = int(far[0])
        j = int(np.nanargmax(np.abs(np.nan_to_num(z[i], nan=np.inf))))
        raise DataError(
            f"X row {task.row_id(i)}, column {names[j]!r}: value {X[i, j]:.3g} lies {abs(z[i, j]):.3g} background "
            f"standard deviations from the background mean ({mean[j]:.3g}), too far for LIME (its kernel distances "
            f"overflow float64). {fix}")


def _lime_image(task: Task) -> Attribution:
    """LIME for images on the given segmentation, fitted by LIME's own ``LimeBase``.

    It follows ``lime_image.LimeImageExplainer.explain_instance``: segments are
    switched on or off at random (the first sample keeps all), an absent segment
    takes its own mean per channel, samples are weighted by LIME's kernel of the
    cosine distance to the full image (width 0.25) and LIME's ``LimeBase`` fits
    the weighted ridge. The perturbed images go to the model in one batch, the
    draws come from the row's own seed, and no progress bar is drawn.
    """
    from lime.lime_base import LimeBase
    from sklearn.metrics import pairwise_distances

    if task.image_shape is None:
        raise MethodNotApplicableError("'lime' with feature_groups explains images (LIME's image explainer); "
                                       "pass X as (N, C, H, W) or give image_shape")
    shape = tuple(task.image_shape)
    chw = len(shape) == 3
    if chw and not np.all(task.groups.reshape(shape) == task.groups.reshape(shape)[:1]):
        raise MethodNotApplicableError("LIME's image explainer needs one segmentation shared by all channels")
    groups = task.groups
    n_groups = int(groups.max()) + 1
    sizes = np.bincount(groups, minlength=n_groups)
    channel = (np.arange(groups.size) // int(np.prod(shape[1:]))) if chw else np.zeros(groups.size, int)
    cell = channel * n_groups + groups  # a segment within one channel
    num_samples = int(task.options.get("num_samples", 1000))
    kernel = lambda d: np.sqrt(np.exp(-(d ** 2) / 0.25 ** 2))
    values = np.zeros(task.X.shape)
    score = np.empty(task.X.shape[0])
    for i, x in enumerate(task.X):  # one LIME fit per row; its num_samples images in as few model calls as fit
        state = np.random.RandomState(task.seed(i))
        fudged = (np.bincount(cell, weights=x) / np.bincount(cell))[cell]
        data = state.randint(0, 2, (num_samples, n_groups))
        data[0, :] = 1
        step = max(1, IMAGE_BLOCK // x.size)  # perturbed images per model call: bounded memory for large images
        labels = np.concatenate([np.asarray(task.f(np.where(data[s0:s0 + step, groups].astype(bool), x[None, :],
                                                            fudged[None, :])), dtype=float)
                                 for s0 in range(0, num_samples, step)]).reshape(num_samples, 1)
        distances = pairwise_distances(data, data[:1], metric="cosine").ravel()
        _, local_exp, score[i], _ = LimeBase(kernel, random_state=state).explain_instance_with_data(
            data, labels, distances, 0, n_groups, feature_selection="auto")
        weights = np.zeros(n_groups)
        for g, w in local_exp:
            weights[g] = w
        values[i] = (weights / sizes)[groups]
    base = float(np.mean(task.f(task.background)))
    return Attribution(values, np.full(task.X.shape[0], base), {
        "algorithm": "LIME image explainer on feature_groups (lime.lime_base fit; segment weight spread over "
                     "its pixels)", "num_samples": num_samples, "hide_color": "segment mean (LIME default)"},
        row_params={"local_r2": score})
