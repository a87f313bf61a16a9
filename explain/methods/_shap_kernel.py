"""``shap.kernel``: shap's own KernelExplainer, run several times per row for a standard error.

The engine runs it in an isolated worker process (it draws from numpy's global
generator, which each row seeds with its own seed).
"""

from __future__ import annotations

import numpy as np

from .._utils.progress import import_shap
from .._utils.rng import seed_isolated_global
from .._utils.validation import Integer, Options, validate_params
from .base import Attribution, Task

__all__ = ["kernel_shap", "KERNEL_RUNS"]

KERNEL_RUNS = 20  # independent shap.KernelExplainer runs per row, for the standard error (option "runs")
MIN_RUNS = 10  # fewer runs give no stderr by default: with 2-3, +-1.96 stderr covered 81-83% (t quantiles)


def _n_runs(nsamples: int, d: int, runs=None) -> int:
    """How many runs of nsamples/runs coalitions: ``runs`` (default KERNEL_RUNS) while each run keeps at least
    4d + 2 of them; one (shap's own single run, no stderr) when nsamples covers all 2^d - 2 coalitions (shap then
    enumerates them: exact) or when, by default, fewer than MIN_RUNS runs would fit.

    (Below about 3d coalitions shap's weighted regression is sometimes singular: measured for d = 8 and 14.)
    """
    validate_params("method_params['shap.kernel']", {"runs": [Options(None), Integer(1, None)]}, {"runs": runs})
    if d < 60 and nsamples >= 2 ** d - 2:
        return 1
    fit = nsamples // (4 * d + 2)
    if runs is not None:
        return max(1, min(int(runs), fit))
    return min(KERNEL_RUNS, fit) if fit >= MIN_RUNS else 1


def _runs_note(runs: int) -> str:
    return f" (values: the mean of {runs} independent runs of nsamples/{runs} coalitions each)" if runs > 1 else ""


def _runs_params(runs: int) -> dict:
    return {"runs": runs, "stderr_method": "standard error of the mean over the independent runs"} if runs > 1 \
        else {"runs": 1}


def _kernel_runs(explainer, x, nsamples: int, runs: int, seed: int):
    """``runs`` KernelExplainer runs of nsamples // runs coalitions on one row, after seeding with the row's seed.

    Returns the runs' mean and its standard error (NaN for a single run). The
    runs draw one after another from the seeded global generator, so they are
    independent and the row's result does not depend on the chunk it is in.
    """
    seed_isolated_global(seed)
    draws = np.array([np.asarray(explainer.shap_values(x, nsamples=nsamples // runs, l1_reg=False, silent=True),
                                 dtype=float).reshape(-1) for _ in range(runs)])
    se = draws.std(axis=0, ddof=1) / np.sqrt(runs) if runs > 1 else np.full(draws.shape[1], np.nan)
    return draws.mean(axis=0), se


def _grouped_kernel_shap(task: Task, nsamples) -> Attribution:
    """shap's KernelSHAP over feature groups: a group present takes x's values, absent the background's.

    Each group's value is spread evenly over its features, so rows still sum to
    f(x) - E f(background).
    """
    shap = import_shap()

    groups = task.groups
    n_groups = int(groups.max()) + 1
    sizes = np.bincount(groups, minlength=n_groups)
    if nsamples in (None, "auto"):
        nsamples = 2 * n_groups + 2048
    bg = task.background
    values, stderr = np.empty(task.X.shape), np.empty(task.X.shape)
    runs = _n_runs(int(nsamples), n_groups, task.options.get("runs"))
    base = float(np.mean(task.f(bg)))
    for i, x in enumerate(task.X):  # one KernelSHAP game per row; each evaluation is one batched call
        def game(masks, x=x):
            present = np.asarray(masks, dtype=bool)[:, groups]
            mixed = np.where(present[:, None, :], x[None, None, :], bg[None, :, :])
            return task.f(mixed.reshape(-1, x.shape[0])).reshape(len(masks), -1).mean(axis=1)

        explainer = shap.KernelExplainer(game, np.zeros((1, n_groups)), link="identity")
        phi, se = _kernel_runs(explainer, np.ones((1, n_groups)), int(nsamples), runs, task.seed(i))
        values[i], stderr[i] = (phi / sizes)[groups], (se / sizes)[groups]
    return Attribution(values, np.full(task.X.shape[0], base),
                       {"algorithm": "shap.KernelExplainer over feature groups (group value spread evenly over its "
                                     "features)" + _runs_note(runs), "nsamples": int(nsamples), "l1_reg": False,
                        **_runs_params(runs)},
                       exact=False, stochastic=True, stderr=stderr if runs > 1 else None)


def kernel_shap(task: Task, nsamples) -> Attribution:
    """shap's KernelExplainer, one row at a time with the row's seed (in an isolated worker process)."""
    shap = import_shap()

    if task.groups is not None:
        return _grouped_kernel_shap(task, nsamples)
    d = task.X.shape[1]
    if nsamples in (None, "auto"):
        nsamples = 2 * d + 2048
    explainer = shap.KernelExplainer(task.f, task.background, link="identity")
    values, stderr = np.empty(task.X.shape), np.empty(task.X.shape)
    runs = _n_runs(int(nsamples), d, task.options.get("runs"))
    for i in range(task.X.shape[0]):  # shap explains row by row anyway; each run is one batched model call
        values[i], stderr[i] = _kernel_runs(explainer, task.X[i:i + 1], int(nsamples), runs, task.seed(i))
    base = float(np.ravel(explainer.expected_value)[0])
    return Attribution(values, np.full(task.X.shape[0], base),
                       {"algorithm": "shap.KernelExplainer" + _runs_note(runs), "nsamples": int(nsamples),
                        "l1_reg": False, **_runs_params(runs)},
                       exact=False, stochastic=True, stderr=stderr if runs > 1 else None)
