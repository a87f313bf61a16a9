"""shap's own explainers as methods, the common yardstick: TreeExplainer, KernelExplainer, PermutationExplainer,
ExactExplainer and PartitionExplainer.

``"shap.kernel"`` and ``"shap.permutation"`` draw from numpy's global generator, so the engine runs them in a
worker process (``Method.global_rng``).
"""

from __future__ import annotations

import numpy as np

from ..errors import MethodNotApplicableError
from ._shap_kernel import kernel_shap
from .._utils.progress import import_shap
from .._utils.rng import seed_isolated_global
from .base import Attribution, Method, Task
from .shap_ import ShapTree

__all__ = ["ShapTreeLib", "ShapKernel", "ShapPermutation", "ShapExact", "ShapPartition"]


def _tree_shap(task: Task) -> Attribution:
    """shap's interventional TreeExplainer over the whole background set (for comparison).

    Raises MethodNotApplicableError if shap cannot read the model. The result
    is marked exact only when it passes local accuracy: shap 0.51's
    interventional TreeSHAP mis-attributes rows whose values tie with a split
    threshold of a deep scikit-learn tree (gaps of 1/(n_trees x n_background)
    per tie; see shap issue #3267), and the caller then falls back.
    """
    shap = import_shap()

    a = task.adapter
    if task.output != a.natural_output:
        # shap's model_output="probability" for boosted trees does not give the interventional
        # Shapley values of the probability (measured against enumeration: off by up to 0.009).
        raise MethodNotApplicableError(
            f"TreeSHAP explains {a.name} in its raw {a.natural_output!r} space only, not {task.output!r}")
    model_output = "raw"
    Z = a.transform(task.X)
    Zb = a.transform(task.background)
    # shap.TreeExplainer silently keeps 100 background rows of an array; a masker keeps them all.
    masker = shap.maskers.Independent(Zb, max_samples=Zb.shape[0])
    try:
        explainer = shap.TreeExplainer(a.estimator, data=masker, feature_perturbation="interventional",
                                       model_output=model_output)
        raw = explainer.shap_values(Z, check_additivity=False)
    except Exception as exc:  # shap's own message for unsupported models/outputs
        raise MethodNotApplicableError(f"shap.TreeExplainer cannot explain {a.name}: {exc}") from None
    raw = np.asarray(raw, dtype=float)
    if raw.ndim == 3:
        values = raw[:, :, task.target]
    elif task.target == 0:  # binary model explained by shap for the positive class only
        values = -raw
    else:
        values = raw
    out_bg = task.f(task.background)
    base = float(np.mean(out_bg))
    prediction = task.prediction if task.prediction is not None else \
        a.output_function(task.output, task.target)(task.X)
    gap = float(np.max(np.abs(base + values.sum(axis=1) - prediction)))
    scale = max(1.0, float(np.max(np.abs(prediction))))
    exact = gap <= 1e-6 * scale
    params = {"algorithm": "shap.TreeExplainer (interventional)", "model_output": model_output}
    if not exact:
        params["approximate"] = (f"shap's interventional TreeSHAP broke local accuracy on this model by {gap:.3g} "
                                 "(values tied with split thresholds or compared in another precision, shap "
                                 "issue #3267)")
    return Attribution(values, np.full(Z.shape[0], base), params, exact=exact)


class ShapTreeLib(ShapTree):
    """``shap.TreeExplainer`` (interventional, whole background), kept for comparison with shap itself.

    It is sold as exact but is not always right (ties with thresholds, float32
    vs float64, LightGBM thresholds): a result that breaks local accuracy is
    marked approximate and warns.
    """

    name = "shap.tree_shap_lib"
    game = "interventional Shapley values (shap's TreeExplainer)"
    assumptions = "as 'shap'; checked by sum only"

    def attribute(self, task):
        return _tree_shap(task)


class ShapKernel(Method):
    """``shap.KernelExplainer`` with ``l1_reg=False`` (no silent truncation to 10 features).

    Values are the mean of up to 20 (option ``runs``) independent runs of nsamples/20 coalitions each (fewer
    runs when a run would get fewer than 4d + 2), and ``stderr`` the standard error of that mean over the runs.
    By default a budget too small for 10 runs, or covering all 2^d - 2 coalitions (shap then enumerates them),
    is one run without stderr. Splitting the budget costs accuracy (shap
    enumerates fewer coalition sizes per run): ``{"runs": 1}`` is shap's own single run, without stderr.
    """

    name = "shap.kernel"
    additive = True
    game = "interventional Shapley values, estimated by weighted regression (KernelSHAP)"
    assumptions = "sampling: approximate, seed-dependent; values the mean of up to 20 independent KernelSHAP runs"
    options = ("nsamples", "runs")
    stochastic = True
    chunk_rows = 32
    global_rng = True
    supports_groups = True

    def attribute(self, task):
        return kernel_shap(task, task.options.get("nsamples", "auto"))


class ShapPermutation(Method):
    """``shap.PermutationExplainer`` over the whole background set."""

    name = "shap.permutation"
    additive = True
    game = "interventional Shapley values, estimated by permutations"
    assumptions = "sampling: approximate"
    options = ("max_evals",)
    stochastic = True
    chunk_rows = 32
    global_rng = True

    def attribute(self, task):
        shap = import_shap()

        d = task.X.shape[1]
        max_evals = int(task.options.get("max_evals", 10 * (2 * d + 1)))
        n_perm = max_evals // (2 * d + 1)  # antithetic permutation pairs: shap's own count
        masker = shap.maskers.Independent(task.background, max_samples=task.background.shape[0])
        seed_isolated_global(task.seed(0))  # shap's constructor reseeds the global generator itself
        explainer = shap.PermutationExplainer(task.f, masker, seed=task.seed(0))
        values, base = np.empty(task.X.shape), np.empty(task.X.shape[0])
        stderr = np.full(task.X.shape, np.nan)
        for i in range(task.X.shape[0]):  # each row with its own seed (shap shuffles with the global generator)
            seed_isolated_global(task.seed(i))
            if n_perm < 2:  # one pair (or too few evaluations: shap's own error): no spread to measure
                out = explainer(task.X[i:i + 1], max_evals=max_evals, silent=True)
                values[i], base[i] = np.asarray(out.values, dtype=float)[0], np.ravel(out.base_values)[0]
                continue
            # one call per antithetic pair (as one call with all, in distribution): mean and its standard error
            outs = [explainer(task.X[i:i + 1], max_evals=2 * d + 1, silent=True) for _ in range(n_perm)]
            draws = np.array([np.asarray(o.values, dtype=float)[0] for o in outs])
            values[i], base[i] = draws.mean(axis=0), np.ravel(outs[0].base_values)[0]
            stderr[i] = draws.std(axis=0, ddof=1) / np.sqrt(n_perm)
        return Attribution(values, base, {"algorithm": "PermutationSHAP", "max_evals": max_evals,
                                          "stderr_method": "standard error of the mean over shap's antithetic "
                                                           "permutation pairs"},
                           stderr=None if n_perm < 2 else stderr)


class ShapExact(Method):
    """``shap.ExactExplainer`` over the whole background set (at most 16 features)."""

    name = "shap.exact"
    additive = True
    exact = True
    game = "interventional Shapley values by shap's exact explainer"
    assumptions = "cost 2^d"

    def applies(self, adapter, output, n_features):
        if n_features > 16:
            return f"exact SHAP needs 2^d model evaluations per background row; d={n_features} is above 16"
        return None

    def attribute(self, task):
        shap = import_shap()

        masker = shap.maskers.Independent(task.background, max_samples=task.background.shape[0])
        explainer = shap.ExactExplainer(task.f, masker)
        out = explainer(task.X, silent=True)
        return Attribution(np.asarray(out.values, dtype=float), np.asarray(out.base_values, dtype=float),
                           {"algorithm": "shap.ExactExplainer"})


class ShapPartition(Method):
    """``shap.PartitionExplainer`` with shap's image masker (blurred pixels stand in for absent ones)."""

    name = "shap.partition"
    additive = True
    game = "Owens values over a pixel hierarchy, blurred pixels as absent"
    assumptions = "image structure"
    options = ("masker", "max_evals", "batch_size")
    images_only = True

    def attribute(self, task):
        shap = import_shap()

        shape = tuple(task.image_shape)
        chw = len(shape) == 3
        hwc = (shape[1], shape[2], shape[0]) if chw else shape + (1,)
        to_flat = (lambda imgs: np.moveaxis(imgs, -1, 1).reshape(len(imgs), -1)) if chw else \
            (lambda imgs: imgs.reshape(len(imgs), -1))
        images = task.X.reshape((-1,) + shape)
        images = np.moveaxis(images, 1, -1) if chw else images[..., None]
        blur = task.options.get("masker", "blur(3,3)")
        masker = shap.maskers.Image(blur, hwc)
        max_evals = int(task.options.get("max_evals", 500))
        explainer = shap.PartitionExplainer(lambda imgs: task.f(to_flat(np.asarray(imgs, dtype=float))), masker)
        out = explainer(images, max_evals=max_evals, batch_size=int(task.options.get("batch_size", 100)),
                        silent=True)
        values = to_flat(np.asarray(out.values, dtype=float).reshape((-1,) + hwc))
        return Attribution(values, np.asarray(out.base_values, dtype=float).reshape(-1),
                           {"algorithm": "shap.PartitionExplainer, image masker", "masker": blur,
                            "max_evals": max_evals})
