"""LIME tabular, converted to contributions in the same units as SHAP.

LIME fits a weighted linear model around each row and returns its slopes. We
run it on continuous features (``discretize_continuous=False``) so the slopes
are per standardised unit of each feature, in the explained output space
(LIME's regression mode on our scalar ``f``), and convert them to
contributions: slope_j * (x_j - mean_bg x_j) / std_bg x_j. The raw slopes,
LIME's intercept and its local R^2 stay in ``params``.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from ..errors import MethodNotApplicableError
from .base import Attribution, Method, Task

__all__ = ["Lime"]


class Lime(Method):
    """LIME tabular with a fixed seed; values are slope x (x - mean_background) contributions."""

    name = "lime"
    stochastic = True
    options = ("num_samples", "sample_around_instance", "kernel_width")
    supports_groups = True

    def attribute(self, task: Task) -> Attribution:
        if task.groups is not None:
            return _lime_image(task)
        from lime.lime_tabular import LimeTabularExplainer

        from ..adapters._codec import categorical_mask, reference_row

        opts = dict(task.options)
        num_samples = int(opts.pop("num_samples", 5000))
        n, d = task.X.shape
        categorical = np.flatnonzero(categorical_mask(task.adapter.codec, d))
        # LIME cannot take missing values: they are filled with the column's mean (or mode) for LIME only
        fill = reference_row(task.background, task.adapter.codec)
        background = np.where(np.isnan(task.background), fill, task.background)
        X = np.where(np.isnan(task.X), fill, task.X)
        explainer = LimeTabularExplainer(
            background, mode="regression", feature_names=list(task.feature_names),
            categorical_features=list(categorical), discretize_continuous=False, random_state=task.random_state,
            sample_around_instance=bool(opts.pop("sample_around_instance", False)),
            kernel_width=opts.pop("kernel_width", None))
        mean, scale = explainer.scaler.mean_, explainer.scaler.scale_
        slopes = np.zeros((n, d))
        intercept = np.empty(n)
        score = np.empty(n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in range(n):  # LIME explains one row per call; each call is one batched model call
                exp = explainer.explain_instance(X[i], task.f, num_features=d, num_samples=num_samples)
                for j, w in exp.local_exp[1]:
                    slopes[i, j] = w
                intercept[i] = exp.intercept[1]
                score[i] = exp.score
        values = slopes * (X - mean) / scale
        for j in categorical:  # LIME's feature is 1[x_j = this row's category]: centre it on the background
            share = (background[:, j][None, :] == X[:, j][:, None]).mean(axis=1)
            values[:, j] = slopes[:, j] * (1.0 - share)
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
        return Attribution(values, np.full(n, base), params,
                           row_params={"slopes": slopes, "intercept": intercept, "local_r2": score})


def _lime_image(task: Task) -> Attribution:
    """LIME's image explainer with the given segmentation; each segment's weight spread over its pixels."""
    from lime.lime_image import LimeImageExplainer

    if task.image_shape is None:
        raise MethodNotApplicableError("'lime' with feature_groups explains images (LIME's image explainer); "
                                       "pass X as (N, C, H, W) or give image_shape")
    shape = tuple(task.image_shape)
    chw = len(shape) == 3
    if chw and shape[0] not in (1, 3):
        raise MethodNotApplicableError(f"LIME's image explainer takes 1 or 3 channels, not {shape[0]}")
    segments = task.groups.reshape(shape)[0] if chw else task.groups.reshape(shape)
    if chw and not np.all(task.groups.reshape(shape) == segments[None]):
        raise MethodNotApplicableError("LIME's image explainer needs one segmentation shared by all channels")
    gray = not chw or shape[0] == 1
    n_groups = int(task.groups.max()) + 1
    sizes = np.bincount(task.groups, minlength=n_groups)
    num_samples = int(task.options.get("num_samples", 1000))
    a = task.adapter
    label = 0 if task.target is None else int(task.target)

    def classifier_fn(images):  # (n, H, W, 3) from LIME -> every output column of the model
        images = np.asarray(images, dtype=float)
        flat = images[..., 0].reshape(len(images), -1) if gray else \
            np.moveaxis(images, -1, 1).reshape(len(images), -1)
        task.f.n_evals += len(images)
        out = a.predict(flat, task.output)
        return out.reshape(len(images), -1)

    explainer = LimeImageExplainer(random_state=task.random_state)
    values = np.zeros(task.X.shape)
    score = np.empty(task.X.shape[0])
    with _quiet_lime(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, x in enumerate(task.X):  # one LIME run per row, each one batched call of num_samples images
            image = x.reshape(shape)
            image = image[0] if (chw and gray) else (np.moveaxis(image, 0, -1) if chw else image)
            exp = explainer.explain_instance(image, classifier_fn, labels=(label,), top_labels=None,
                                             num_features=n_groups, num_samples=num_samples,
                                             segmentation_fn=lambda img: segments, hide_color=None,
                                             batch_size=num_samples, random_seed=task.random_state)
            weights = np.zeros(n_groups)
            for g, w in exp.local_exp[label]:
                weights[g] = w
            values[i] = (weights / sizes)[task.groups]
            score[i] = exp.score
    base = float(np.mean(task.f(task.background)))
    return Attribution(values, np.full(task.X.shape[0], base), {
        "algorithm": "LIME image explainer on feature_groups (segment weight spread over its pixels)",
        "num_samples": num_samples, "hide_color": "segment mean (LIME default)"},
        row_params={"local_r2": score})


@contextlib.contextmanager
def _quiet_lime():
    """lime 0.2.0.1's image explainer always draws a tqdm bar; silence it for one call, then restore."""
    import lime.lime_image as lime_image

    progress = lime_image.tqdm
    lime_image.tqdm = lambda iterable, *args, **kwargs: iterable
    try:
        yield
    finally:
        lime_image.tqdm = progress
