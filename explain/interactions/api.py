"""``explain.interactions()``: exact pairwise Shapley interactions where the model allows, sampled elsewhere."""

from __future__ import annotations

import warnings

import numpy as np

from .._utils.rng import row_rng
from ..engine.config import ExplainConfig
from ..engine.plan import prepare
from .._utils.validation import Integer, Options, validate_params
from ..errors import ApproximationWarning, MethodNotApplicableError
from .games import enumerate_game, first_order, indices_from_table, sample_indices
from .result import Interactions

__all__ = ["interactions", "MAX_ENUMERATION_PLAYERS"]

MAX_ENUMERATION_PLAYERS = 12
INTERACTION_PARAMS = {
    "index": [Options("SII", "STII")],
    "algorithm": [Options("auto", "exact", "enumeration", "sampling")],
    "n_samples": [Integer(2)],  # a standard error needs two draws
}


def interactions(model, X, *, background=None, index="SII", output="auto", target=None, feature_names=None,
                 feature_groups=None, image_shape=None, random_state=0, algorithm="auto", n_samples=64,
                 name=None) -> Interactions:
    """Pairwise interaction indices of the interventional game ``v(S) = mean_b f(x_S, b_rest)``.

    The same game as explain's Shapley values: for an additive model every pair is exactly zero, and the
    diagonal of SII holds the Shapley values.

    Parameters
    ----------
    model : fitted model
        Anything :func:`explain.explain` accepts.
    X : array-like or DataFrame of shape (n_samples, n_features)
        Rows to explain.
    background : array-like, optional
        Rows that absent features are drawn from (default: a seeded sample of at most 100 rows of X).
    index : {"SII", "STII"}, default="SII"
        Shapley interaction index (Grabisch & Roubens) or Shapley-Taylor of order 2.
    output, target, feature_names, feature_groups, image_shape, random_state, name
        As for :func:`explain.explain`.
    algorithm : {"auto", "exact", "enumeration", "sampling"}, default="auto"
        "auto" uses a closed form where the family has one (a model additive in ``output``: zero pairs;
        tree ensembles in their natural space; RBF/Laplacian kernel models in their margin), else enumeration
        over all coalitions for at most 12 players, else sampling. "exact" refuses to sample.
    n_samples : int, default=64
        Coalitions drawn per pair (and per player for SII's diagonal) when sampling.

    Returns
    -------
    Interactions

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> from sklearn.datasets import make_friedman1
    >>> import explain
    >>> X, y = make_friedman1(n_samples=200, n_features=5, random_state=0)
    >>> forest = RandomForestRegressor(n_estimators=10, max_depth=4, random_state=0).fit(X, y)
    >>> inter = explain.interactions(forest, X[:3], background=X[:50])
    >>> inter.values.shape, bool(inter.exact.all())
    ((3, 5, 5), True)
    """
    validate_params("interactions", INTERACTION_PARAMS, {"index": index, "algorithm": algorithm,
                                                         "n_samples": n_samples})
    # the plan validates model, data and options exactly as explain() does; it runs no attribution method
    config = ExplainConfig.build("interactions", methods="random", target=target, output=output,
                                 feature_names=feature_names, random_state=random_state, name=name,
                                 image_shape=image_shape, feature_groups=feature_groups, progress=False)
    plan = prepare(model, X, config, background=background)
    a, Xa, B = plan.adapter, plan.X, plan.background
    if plan.groups is not None:
        col_player, p = np.asarray(plan.groups, dtype=np.int64), int(plan.groups.max()) + 1
        names = [f"group {g}" for g in range(p)]
    else:
        col_player, p, names = np.arange(Xa.shape[1]), Xa.shape[1], list(plan.names)
    targets, prediction = plan.targets_for(Xa)
    n = Xa.shape[0]
    values, stderr = np.zeros((n, p, p)), None
    first, base, exact = np.zeros((n, p)), np.zeros(n), np.zeros(n, dtype=bool)
    blocks = []
    for t in ([None] if targets is None else np.unique(targets)):
        rows = np.arange(n) if t is None else np.flatnonzero(targets == t)
        t = None if t is None else int(t)
        f = a.output_function(plan.output, t)
        base[rows] = float(np.mean(f(B)))
        kind = _choose(a, plan.output, t, p, algorithm, grouped=plan.groups is not None)
        if kind == "sampling":
            est, err = np.zeros((len(rows), p, p)), np.zeros((len(rows), p, p))
            for r, k in enumerate(rows):
                est[r], err[r] = sample_indices(f, Xa[k], B, col_player, p, index, int(n_samples),
                                                row_rng(plan.entropy, int(k)))
            values[rows] = est
            stderr = np.zeros((n, p, p)) if stderr is None else stderr
            stderr[rows] = err
            first[rows] = first_order(f, Xa[rows], B, col_player, p)
        elif kind == "enumeration":
            table = enumerate_game(f, Xa[rows], B, col_player, p)
            values[rows] = indices_from_table(table, p, index)
            first[rows] = table[:, 1 << np.arange(p)] - table[:, [0]]
        else:
            values[rows], first[rows] = _closed_form(kind, a, plan.output, t, Xa[rows], B, index)
        exact[rows] = kind != "sampling"
        label = "all" if t is None else _label(a, t)
        blocks.append({"class": str(label), "rows": int(len(rows)), "algorithm": _DESCRIPTIONS[kind]})
    params = {"algorithm": blocks[0]["algorithm"] if len(blocks) == 1 else "; ".join(
        f"class {b['class']}: {b['algorithm']}" for b in blocks), "blocks": blocks,
        "background_size": int(B.shape[0]), "random_state": plan.random_state, "family": a.family}
    if stderr is not None:
        params["n_samples"] = int(n_samples)
        warnings.warn(f"interactions of {a.name} are sampled, not exact ({p} players, {n_samples} coalitions per "
                      "entry): see .stderr for each entry's standard error.", ApproximationWarning, stacklevel=2)
    labels = None if targets is None else np.array([_label(a, int(t)) for t in targets], dtype=object)
    return Interactions(values, base_values=base, prediction=prediction, first_order=first, data=Xa,
                        feature_names=names, index=index, output=plan.output, target=labels,
                        target_index=targets, exact=exact, stderr=stderr, params=params, model_name=a.name)


_DESCRIPTIONS = {
    "additive": "closed form: the model is additive in this output, every pair is 0",
    "trees": "exact interventional tree interactions (leaf patterns)",
    "kernels": "exact product-kernel interactions (Gauss-Legendre)",
    "enumeration": "exact enumeration of every coalition",
    "sampling": "sampled coalitions (unbiased mean, standard errors in .stderr)",
}


def _label(adapter, t: int):
    label = adapter.classes[t] if adapter.classes is not None else t
    return label.item() if isinstance(label, np.generic) else label


def _choose(a, output, t, p, algorithm, *, grouped) -> str:
    """The algorithm for one class block, or MethodNotApplicableError for algorithm="exact" beyond reach."""
    if algorithm in ("enumeration", "sampling"):
        if algorithm == "enumeration" and p > 20:
            raise MethodNotApplicableError(f"enumeration over {p} players needs 2^{p} coalitions; use 'auto'.")
        return algorithm
    if not grouped:
        if a.is_additive(output):
            return "additive"
        if getattr(a, "provides_trees", False) and a.groupable and output == a.natural_output:
            return "trees"
        if getattr(a, "provides_kernel_expansion", False) and a.groupable and \
                a.kernel_expansion(output, t) is not None:
            return "kernels"
    if p <= MAX_ENUMERATION_PLAYERS:
        return "enumeration"
    if algorithm == "exact":
        raise MethodNotApplicableError(
            f"no exact interactions for {a.name} in {output!r} with {p} players: the closed forms cover additive "
            f"models, trees in their natural space and RBF/Laplacian kernels in their margin, and enumeration "
            f"stops at {MAX_ENUMERATION_PLAYERS} players. Use algorithm='auto' (sampling with standard errors), "
            "fewer features, or feature_groups.")
    return "sampling"


def _closed_form(kind, a, output, t, X, B, index) -> tuple[np.ndarray, np.ndarray]:
    """The (n, p, p) matrix and the first-order effects v({i}) - v({}) (n, p), without model calls."""
    if kind == "additive":  # every order-1 value is the feature's centred term; every pair is 0
        terms = a.additive_terms(X, output, t) - a.additive_terms(B, output, t).mean(axis=0)
        out = np.zeros((X.shape[0], terms.shape[1], terms.shape[1]))
        out[:, np.arange(terms.shape[1]), np.arange(terms.shape[1])] = terms
        return out, terms
    if kind == "trees":
        from ..methods.tree_shapley import tree_game, tree_shapley
        from .trees import tree_interactions

        ens, column, sign, players, n_players = tree_game(a, t)
        Xt, Bt = a.tree_input(X), a.tree_input(B)
        out, first = tree_interactions(ens, Xt, Bt, column, index, players=players, n_players=n_players,
                                       sign=sign)
        d = first.shape[1]
        out[:, np.arange(d), np.arange(d)] = first if index == "STII" else tree_shapley(
            ens, Xt, Bt, column, sign=sign, players=players, n_players=n_players)
        if players is not None:  # drop the dummy player of constant columns
            out, first = out[:, :a.n_inputs, :a.n_inputs], first[:, :a.n_inputs]
        return out, first
    from .kernels import product_kernel_interactions

    return product_kernel_interactions(a.transform(X), a.transform(B), a.kernel_expansion(output, t), index,
                                       groups=a.column_origin)
