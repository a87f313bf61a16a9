"""SHAP: the best algorithm for each family (``"shap"``) and our exact TreeSHAP (``"shap.tree"``).

``"shap"`` picks, in order: the closed form for models additive in the
explained output (GLMs on the link scale, Naive Bayes in log-odds), our own
exact interventional TreeSHAP with the background data for tree ensembles, exact
enumeration when there are at most 12 features, our KernelSHAP (seeded per row) otherwise.
shap's own explainers, as the common yardstick, are ``explain.methods.shap_lib``.
"""

from __future__ import annotations

import numpy as np

from ..errors import MethodNotApplicableError
from ._enumeration import enumerate_shapley
from ._kernel_sampling import kernel_shap_estimate
from .._utils.validation import Integer, Options, Satisfies, validate_params
from .base import Attribution, Method, Task, closed_form, capability_reason

__all__ = ["Shap", "ShapTree", "MAX_EXACT_FEATURES", "exact_path"]

MAX_EXACT_FEATURES = 12


def _own_tree_shap(task: Task) -> Attribution:
    """Our exact interventional TreeSHAP (``explain.methods.tree_shapley``) in the model's own split rules."""
    from .tree_shapley import tree_game, tree_shapley

    a = task.adapter
    if task.output != a.natural_output:
        raise MethodNotApplicableError(
            f"TreeSHAP explains {a.name} in its additive {a.natural_output!r} space only, not {task.output!r}")
    try:
        ens = a.tree_ensemble()
    except (ValueError, NotImplementedError) as exc:
        raise MethodNotApplicableError(f"cannot read the trees of {a.name}: {exc}") from exc
    ens, column, sign, players, n_players = tree_game(a, task.target, ens)
    values = tree_shapley(ens, a.tree_input(task.X), a.tree_input(task.background), column, sign=sign,
                          players=players, n_players=n_players)
    if players is not None:
        values = values[:, :a.n_inputs]
    base = float(np.mean(task.f(task.background)))
    return Attribution(values, np.full(task.X.shape[0], base),
                       {"algorithm": "exact interventional TreeSHAP (explain's own, leaf patterns)",
                        "split_rules": ens.library}, exact=True)


_SAMPLING_OPTIONS = {
    "nsamples": [Options(None, "auto"), Integer(2, None)],
    "target_stderr": [Options(None), Satisfies(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
                                               and 0 < v < float("inf"), "a positive number")],
    "max_nsamples": [Options(None), Integer(2, None)]}


def _group_games(task: Task):
    """Per row, the game of the feature groups: a player vector of ones (present) against zeros (absent); a
    group present takes the row's values, absent the background rows' (the mean over them)."""
    groups, bg = task.groups, task.background

    def game(x):
        def f(P):
            present = np.asarray(P, dtype=bool)[:, groups]
            mixed = np.where(present[:, None, :], x[None, None, :], bg[None, :, :])
            return task.f(mixed.reshape(-1, x.shape[0])).reshape(len(P), -1).mean(axis=1)
        return f
    return [game(x) for x in task.X]


def _grouped_shap(task: Task) -> Attribution:
    """"shap" over feature groups (``feature_groups``): exact enumeration of the groups' game up to 12 groups,
    our KernelSHAP with standard errors beyond; each group's value is spread evenly over its features."""
    groups = task.groups
    G = int(groups.max()) + 1
    sizes = np.bincount(groups, minlength=G)
    games = _group_games(task)
    if G <= MAX_EXACT_FEATURES:
        values = np.vstack([enumerate_shapley(f, np.ones((1, G)), np.zeros((1, G)))[0] for f in games])
        out = Attribution(values, np.full(len(values), float(np.mean(task.f(task.background)))),
                          {"algorithm": "exact enumeration of the feature groups' game (2^groups coalitions x "
                                        "background)"}, exact=True)
    else:
        out = _sampled_kernel_shap(task, task.options.get("nsamples", "auto"), games=games, players=G)
    out.params["feature_groups"] = f"{G} groups; a group's value spread evenly over its features"
    stderr = None if out.stderr is None else (out.stderr / sizes)[:, groups]
    return Attribution((out.values / sizes)[:, groups], out.base_values, out.params, exact=out.exact,
                       stochastic=out.stochastic, row_params=out.row_params, stderr=stderr)


def _sampled_kernel_shap(task: Task, nsamples, games=None, players=None) -> Attribution:
    """Our KernelSHAP (``_kernel_sampling``), each row drawing from its own generator, with standard errors.

    With ``target_stderr`` each row samples further paired rounds until its largest standard error is
    at most the target or ``max_nsamples`` (default 32 x the first round) coalitions were evaluated.
    ``games``: per row, the game of ``players`` players (see ``_group_games``) instead of the model's features.
    """
    opts = task.options
    target, cap = opts.get("target_stderr"), opts.get("max_nsamples")
    validate_params("method_params['shap']", _SAMPLING_OPTIONS,
                    {"nsamples": nsamples, "target_stderr": target, "max_nsamples": cap})
    d = task.X.shape[1] if players is None else players
    if nsamples in (None, "auto"):
        nsamples = 2 * d + 2048
    cap = 32 * int(nsamples) if cap is None else int(cap)
    v_empty = float(np.mean(task.f(task.background)))
    v_full = task.prediction if task.prediction is not None else task.f(task.X)
    if games is None:
        rows = [kernel_shap_estimate(task.f, x, task.background, v_empty=v_empty, v_full=float(v_full[i]),
                                     nsamples=int(nsamples), rng=task.rng(i), target_stderr=target,
                                     max_nsamples=cap) for i, x in enumerate(task.X)]
    else:
        rows = [kernel_shap_estimate(f, np.ones(d), np.zeros((1, d)), v_empty=v_empty, v_full=float(v_full[i]),
                                     nsamples=int(nsamples), rng=task.rng(i), target_stderr=target,
                                     max_nsamples=cap) for i, f in enumerate(games)]
    shape = (len(rows), d)
    values = np.array([r.values for r in rows]).reshape(shape)
    params = {"algorithm": "KernelSHAP (paired coalitions stratified by size and drawn without replacement, "
                           "strata the budget covers enumerated; constrained Shapley-kernel least squares on the "
                           "odd Fourier terms, cubic ones when the budget allows; explain's own)",
              "nsamples": int(nsamples),
              "stderr_method": "sandwich (delta-method) variance over the stratified pairs with the finite-population "
                               "correction, leverage-adjusted residuals"}
    row_params = {}
    if target is not None:
        reached = np.array([r.reached for r in rows], dtype=bool)
        params.update(target_stderr=float(target), max_nsamples=cap,
                      stopping=("target_stderr reached on every row" if reached.all() else
                                f"max_nsamples reached before target_stderr on {int((~reached).sum())} of "
                                f"{len(rows)} rows"))
        row_params = {"nsamples_used": np.array([r.nsamples for r in rows], dtype=float),
                      "target_reached": reached.astype(float)}
    return Attribution(values, np.full(task.X.shape[0], v_empty), params, exact=False, stochastic=True,
                       row_params=row_params, stderr=np.array([r.stderr for r in rows]).reshape(shape))


def _enumerated(task: Task) -> Attribution:
    values, base = enumerate_shapley(task.f, task.X, task.background)
    return Attribution(values, base, {"algorithm": "exact enumeration (2^d coalitions x background)"},
                       exact=True)


def expands_kernel(adapter, output: str) -> bool:
    """Whether ``shap`` takes the kernel-expansion path (a product kernel in this output)."""
    if not adapter.provides_kernel_expansion:
        return False
    try:
        return adapter.kernel_expansion(output, 0 if adapter.task == "classification" else None) is not None
    except Exception:  # noqa: BLE001 - the method will say why when it runs
        return False


def exact_path(adapter, output: str) -> str | None:
    """The exact algorithm ``"shap"`` takes for this model and output, as ``Shap.attribute`` picks it:
    "closed_form", "deeplift_shap", "kernel_expansion" or "tree_shap"; None for enumeration or KernelSHAP
    (by the number of features). Read by the cost model and by ``Shap.threaded``."""
    if adapter.is_additive(output):
        return "closed_form"
    if adapter.supports_gradients:
        return "deeplift_shap"
    if not adapter.groupable:
        return None
    if expands_kernel(adapter, output):
        return "kernel_expansion"
    return "tree_shap" if adapter.provides_trees else None


class Shap(Method):
    """SHAP values by the best exact algorithm the model allows, KernelSHAP otherwise."""

    name = "shap"
    additive = True
    # TreeSHAP pays a per-call cost for the background's leaf patterns (about a second for 200 deep trees),
    # so chunks stay large; enumeration and KernelSHAP then report progress less often
    chunk_rows = 4096
    options = ("nsamples", "target_stderr", "max_nsamples")
    exact = False  # set per result: closed form, TreeSHAP and enumeration are exact
    reads_internals = True  # closed form, trees, kernel expansion or gradients where the model allows
    supports_groups = True  # feature_groups: enumeration of the groups' game up to 12, our KernelSHAP beyond
    game = "interventional Shapley values over the background"
    assumptions = ("absent features take background rows' values independently of the present ones "
                   "(correlations ignored)")

    def threaded(self, adapter, output: str) -> bool:
        """Exact TreeSHAP and exact kernel Shapley run on numba's threads (see ``Method.threaded``)."""
        return exact_path(adapter, output) in ("tree_shap", "kernel_expansion")

    def attribute(self, task: Task) -> Attribution:
        if task.groups is not None:
            return _grouped_shap(task)
        a = task.adapter
        d = task.X.shape[1]
        note = None
        if a.is_additive(task.output):
            return closed_form(task)
        if a.supports_gradients:
            from .captum_ import deeplift_shap

            return deeplift_shap(task)
        if a.provides_kernel_expansion and a.groupable:
            expansion = a.kernel_expansion(task.output, task.target)
            if expansion is not None:
                from .kernel_shapley import attribute_expansion

                return attribute_expansion(task, expansion)
            note = (f"kernel {a.kernel!r} is not a product kernel in output {task.output!r}: "
                    + ("exact enumeration" if d <= MAX_EXACT_FEATURES else "KernelSHAP"))
        if a.provides_trees and a.groupable:
            try:
                return _own_tree_shap(task)
            except MethodNotApplicableError as exc:
                note = str(exc)
        result = _enumerated(task) if d <= MAX_EXACT_FEATURES else \
            _sampled_kernel_shap(task, task.options.get("nsamples", "auto"))
        if note:
            result.params["fallback_reason"] = note
        return result


class ShapTree(Method):
    """Exact interventional TreeSHAP over the whole background (explain's own algorithm)."""

    name = "shap.tree"
    additive = True
    exact = True
    reads_internals = True
    game = "interventional Shapley values over the background"
    assumptions = "as 'shap'; exact by construction"

    def applies(self, adapter, output, n_features):
        reason = capability_reason(adapter, "provides_trees", "TreeSHAP", "tree ensembles")
        if reason is None and output != adapter.natural_output:
            return f"TreeSHAP is exact in the model's additive {adapter.natural_output!r} space only"
        return reason

    def attribute(self, task):
        return _own_tree_shap(task)
