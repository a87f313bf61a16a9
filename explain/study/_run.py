"""One (data set, family, seed) of the study: fit, explain once, score under every protocol.

A protocol is a named combination of what a "removed" feature becomes (removal),
which attribution is scored (the exact or best Shapley values, or occlusion) and,
for images, how pixels are grouped. The explanations are computed once per
grouping and scored under each protocol's removal with compare()'s own scoring
loop (the same metrics, the same code), so protocols differ only where they say.

Measures per protocol: deletion and insertion as ratios to the random control,
faithfulness correlation, method agreement (rank correlation of the scored
attribution with the other method; not measured when only one method runs),
features for 90% of |attribution|, seconds per row, and the exact interaction
strength of the model in the protocol's game (background rows, the background
mean, or zeros): ``interaction_strength`` in the explained output (the
probability of the explained class; a regressor's prediction) and, for
classifiers whose own output is a margin, ``interaction_strength_natural`` in that
margin (log-odds or logits: GLMs, Naive Bayes, boosting, the MLP, the NAM, the
CNN), the space where an additive model is exactly additive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..metrics.agreement import flat_stderr, rank_correlation
from ._families import accuracy, fit_family
from ._noise import disattenuate, noise_share, reliability

__all__ = ["Protocol", "PROTOCOLS", "run_unit", "interaction_strength", "refit_stability", "METRICS", "ANY"]


@dataclass(frozen=True)
class Protocol:
    """What "removed" means, which attribution is scored, and how image pixels are grouped."""

    name: str
    removal: str  # "sample" | "mean" | "zero"
    attribution: str  # "shapley" | "occlusion"
    grouping: str  # "patches" | "pixels" (images only)
    description: str


PROTOCOLS = (
    Protocol("shapley_sample", "sample", "shapley", "patches",
             "the exact or best Shapley values (tables: closed forms, TreeSHAP or enumeration up to 12 columns, "
             "explain's KernelSHAP with standard errors beyond; images: the patches' game, enumerated up to 12 "
             "patches, else the same KernelSHAP); removed features take background rows' values"),
    Protocol("occlusion_mean", "mean", "occlusion", "patches",
             "occlusion to the background mean, one feature or patch at a time; removed features take the "
             "background mean"),
    Protocol("occlusion_zero", "zero", "occlusion", "pixels",
             "occlusion to zero, one feature or pixel at a time (no grouping); removed features become 0"),
)
METRICS = ["deletion_vs_random", "insertion_vs_random", "faithfulness_correlation", "rank_correlation",
           "features_for_90", "seconds_per_row"]
ANY = "any"


def _groups(data, grouping):
    if not data.images or grouping == "pixels":
        return None
    return f"patches:{max(1, data.image_shape[0] // 4)}"  # a 4x4 grid (5x5 on 25 px) of square patches


def _players(data, grouping):
    """Column -> player index for the interaction game, and the number of players."""
    d = int(np.prod(data.X_train.shape[1:]))
    if not data.images or grouping == "pixels":
        return np.arange(d), d
    h, w = data.image_shape
    s = max(1, h // 4)
    rows, cols = np.divmod(np.arange(d), w)
    per_row = -(-w // s)
    player = (rows // s) * per_row + cols // s
    return player, int(player.max()) + 1


def interaction_strength(adapter, X, background, output, targets, col_player, p) -> float:
    """Exact interaction strength of the game v(S) = mean_b f(x_S, b_rest) in ``output``, in [0, 1].

    ``sum r^2 / (sum a^2 + sum r^2)`` with ``a`` the first-order part ``sum_i v({i}) - v({})`` and
    ``r = f(x) - v({}) - a``: what ``explain.interactions(...).strength()`` reports for the same game,
    from the first-order game values alone (p + 1 coalitions per row, no pair sampled).
    """
    from ..interactions.games import first_order
    from ..metrics.interaction import interaction_share

    X, background = np.asarray(X, float), np.asarray(background, float)
    a, r = np.empty(len(X)), np.empty(len(X))
    for k, x in enumerate(X):
        t = 0 if targets is None else int(targets[k])

        def f(Z, t=t):
            return np.asarray(adapter.predict(Z, output), dtype=float).reshape(len(Z), -1)[:, t]

        first = first_order(f, x[None, :], background, col_player, p)[0]
        empty = float(f(background).mean())
        a[k] = first.sum()
        r[k] = float(f(x[None, :])[0]) - empty - a[k]
    return interaction_share(a, r)


def _score(result, model, name, removal, seed, options) -> pd.DataFrame:
    """compare()'s scoring of one model's explanations under ``removal`` (no re-explanation of the rows)."""
    from ..comparison import _Clock, _rerun, _resolve_metrics, _score_model
    from ..metrics import agreement as agr
    from ..metrics.base import MetricContext
    from ..metrics.registry import metric_entries
    from ..metrics.scoring import ScoringContext

    v = result.validated
    ctx = MetricContext(v.adapter, v.output, np.asarray(v.background), seed, dict(options), removal=removal)
    k = min(5, v.X.shape[1])
    sc = ScoringContext(model_name=name, model=model, result=result, ctx=ctx, k=k, X=v.X, y=None,
                        random_state=seed, n_seeds=1, robustness_rows=0, clock=_Clock(ctx),
                        agreements=agr.agreement_matrices(result, k),
                        rerun_factory=lambda e: _rerun(model, e, v))
    rows = _score_model(sc, metric_entries(_resolve_metrics(METRICS)))
    return pd.DataFrame(rows, columns=["model", "method", "metric", "value", "spread"])


def _explain(model, data, rows, bg, methods, grouping, seed, config, output):
    from ..engine.api import explain

    params = {"shap.kernel": {"nsamples": config.kernel_nsamples}, "shap": {"nsamples": config.kernel_nsamples}}
    shape = (1,) + tuple(data.image_shape) if data.images else None
    return explain(model, rows, background=bg, methods=methods, output=output, random_state=seed,
                   method_params={m: params[m] for m in methods if m in params}, name="model",
                   image_shape=shape, feature_groups=_groups(data, grouping), progress=False, n_jobs=1)


BEST = "shap"  # the exact or best Shapley values explain has for the model (see _best_shapley)


def _best_shapley(data) -> str:
    """explain's "shap" picks the exact or best Shapley values: tables, closed forms, TreeSHAP, the kernel
    expansion, enumeration up to 12 columns, else its KernelSHAP with standard errors; images (patches), the
    patches' game for every family: enumerated up to 12 patches, else the same KernelSHAP with standard errors."""
    return BEST


def _as_function(model, data):
    """A torch network is explained as the function it computes (probabilities or prediction), as every other
    non-tree family is: "shap" on a torch module would take DeepLiftSHAP, not the same game."""
    import torch

    if not isinstance(model, torch.nn.Module):
        return model
    from ..adapters.callable import CallableAdapter

    shape = (-1, 1) + tuple(data.image_shape) if data.images else None

    def fn(X):
        X = np.asarray(X, dtype=np.float32)
        with torch.no_grad():
            out = model(torch.as_tensor(X if shape is None else X.reshape(shape)))
            out = torch.softmax(out, dim=1) if data.task == "classification" else out[:, 0]
        return out.double().numpy()

    classes = np.arange(int(np.max(data.y_train)) + 1) if data.task == "classification" else None
    return CallableAdapter(fn, task=data.task, classes=classes, name="net",
                           feature_names=None if data.images else data.feature_names)


def run_unit(family, data, seed, config, protocols=PROTOCOLS):
    """Records of one (data set, family, seed) and the scored attribution per protocol (for refit stability)."""
    model = fit_family(family, data, seed)
    rows = data.rows(config.image_rows if data.images else config.rows)
    bg = data.background(config.image_background if data.images else config.background)
    output = "probability" if data.task == "classification" else "raw"
    best = _best_shapley(data)
    explained = _as_function(model, data)
    base = dict(dataset=data.name, family=family, seed=seed)
    # accuracy does not depend on the protocol: one record, protocol "any" (context, never compared)
    records = [dict(base, protocol=ANY, measure="accuracy", value=accuracy(model, data))]
    flat, results = {}, {}
    for p in protocols:
        zero = p.removal == "zero"
        key = (p.grouping if data.images else "features", zero)
        if key not in results:  # one explanation per grouping (and the zero baseline for occlusion)
            methods = ["occlusion", "random"] if zero else [best, "occlusion", "random"]
            background = np.zeros_like(np.asarray(bg, dtype=float)[:1]) if zero else bg
            if zero and not data.images:
                background = pd.DataFrame(background, columns=data.feature_names)
            results[key] = _explain(explained, data, rows, background, methods, p.grouping, seed, config, output)
        result = results[key]
        method = best if p.attribution == "shapley" else "occlusion"
        scores = _score(result, explained, family, p.removal, seed, config.metric_options)
        scores = scores[scores.method.isin([method, "(model)"])]
        e = result[method]
        for metric, value in zip(scores.metric, scores.value):
            if metric in METRICS and metric != "rank_correlation":
                records.append(dict(base, protocol=p.name, measure=metric, value=float(value)))
        records += _agreement(result, method, base, p.name)
        flat[p.name] = (e.flat_values, flat_stderr(e))
        if p.attribution == "shapley":
            records.append(dict(base, protocol=p.name, measure="additivity_gap",
                                value=float(e.params.get("additivity_gap", np.nan))))
            records.append(dict(base, protocol=p.name, measure="exact", value=float(bool(e.params.get("exact")))))
        records += _strengths(result, e, data, p, bg, base, None if explained is model else model)
    return records, flat


def _agreement(result, method, base, protocol) -> list:
    """Method agreement of the scored attribution with the other (non-control) method, discounted for sampling
    noise (``_noise``), its raw value, and the scored attribution's noise share. Not measured with one method."""
    e = result[method]
    others = [name for name in result.methods if name not in (method, "random")]
    values, se = e.flat_values, flat_stderr(e)
    out = [dict(base, protocol=protocol, measure="sampling_noise", value=noise_share(values, se))]
    if not others:
        return out
    raw, fixed = [], []
    for name in others:
        o = result[name]
        r = rank_correlation(values, o.flat_values)
        raw.append(r)
        fixed.append(disattenuate(r, reliability(values, se), reliability(o.flat_values, flat_stderr(o))))
    return out + [dict(base, protocol=protocol, measure="method_agreement", value=float(np.mean(fixed))),
                  dict(base, protocol=protocol, measure="method_agreement_raw", value=float(np.mean(raw)))]


def _strengths(result, e, data, protocol, bg, base, network=None) -> list:
    """The interaction strengths of the protocol's game; ``network``: the torch module explained as a function
    (its own adapter gives its margin, the logits)."""
    v = result.validated
    adapter, X = v.adapter, np.asarray(v.X, dtype=float)
    if network is not None:
        from ..adapters import get_adapter

        adapter = get_adapter(network, X=X, image_shape=(1,) + tuple(data.image_shape) if data.images else None)
    B = np.asarray(data.flat(np.asarray(bg, dtype=float)), dtype=float)
    if protocol.removal == "mean":
        B = B.mean(axis=0, keepdims=True)
    elif protocol.removal == "zero":
        B = np.zeros_like(B[:1])
    player, p = _players(data, protocol.grouping)
    targets = None if e.target_index is None else np.asarray(e.target_index)
    spaces = {"interaction_strength": "probability" if data.task == "classification" else "raw"}
    if data.task == "classification" and adapter.natural_output != "probability":
        spaces["interaction_strength_natural"] = adapter.natural_output
    return [dict(base, protocol=protocol.name, measure=name,
                 value=interaction_strength(adapter, X, B, out, targets, player, p)) for name, out in spaces.items()]


def refit_stability(dataset, family, protocol, values_by_seed) -> list:
    """Rank correlation of |attribution| on the same rows between models refitted with two seeds, discounted
    for sampling noise (``_noise``; ``refit_stability_raw``: without the discount). ``values_by_seed``:
    seed -> (values, stderr or None).

    Disjoint pairs of seeds (1st with 2nd, 3rd with 4th, ...): independent values,
    each labelled with its pair's first seed, the same for every family, which pairs
    the families' values in the paired tests.
    """
    seeds, out = sorted(values_by_seed), []
    for a, b in zip(seeds[0::2], seeds[1::2]):
        (va, sa), (vb, sb) = values_by_seed[a], values_by_seed[b]
        r = rank_correlation(va, vb)
        fixed = disattenuate(r, reliability(va, sa), reliability(vb, sb))
        for measure, value in (("refit_stability", fixed), ("refit_stability_raw", r)):
            out.append(dict(dataset=dataset, family=family, seed=a, protocol=protocol, measure=measure,
                            value=float(np.mean(value))))
    return out
