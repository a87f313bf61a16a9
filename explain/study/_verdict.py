"""From the study's records to intervals, family rankings and a verdict written from the numbers.

Each measure has a direction ("lower" or "higher" is easier to explain) and a
unit. Per data set and family the value is the mean over seeds with a 95%
t-interval. The deep family (the MLP on tables, the CNN on images) is compared
with every other family by the difference of means and its Welch interval:
"indistinguishable" when the interval holds 0, otherwise "harder" or "easier"
by the difference, with its half-width. No sentence is written by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..metrics.base import METRICS

__all__ = ["MEASURES", "summarise", "verdict", "study_verdict", "threats", "HEADLINE"]


def _metric(name: str, label: str) -> tuple[str, str, str]:
    """A measure that is a compare() metric: its direction and unit are the MetricSpec's, never repeated here."""
    spec = METRICS[name]
    return spec.direction, spec.unit, label


# name: (direction in which a model is EASIER to explain, unit, label)
MEASURES = {
    "accuracy": ("higher", "share correct", "held-out accuracy (context, not explainability)"),
    "deletion_vs_random": _metric("deletion_vs_random", "normalised deletion area / random control's"),
    "insertion_vs_random": _metric("insertion_vs_random", "normalised insertion area / random control's"),
    "deletion_normalised": _metric("deletion_normalised", "normalised deletion area"),
    "insertion_normalised": _metric("insertion_normalised", "normalised insertion area"),
    "faithfulness_correlation": _metric("faithfulness_correlation", "faithfulness correlation"),
    "exact": ("higher", "share of runs", "the best method's values are exact Shapley values"),
    "additivity_gap": ("lower", "probability", "largest local-accuracy gap of the best method"),
    "seconds_per_row": _metric("seconds_per_row", "time of the best method per row"),
    # the study's name for the best method's rank_correlation with the other methods
    "method_agreement": _metric("rank_correlation", "rank correlation of the scored method with the other one, "
                                                    "discounted for sampling noise"),
    "refit_stability": ("higher", "correlation", "rank correlation of explanations across seeds' refits"),
    "method_agreement_raw": ("higher", "correlation", "method agreement before the discount for sampling noise"),
    "refit_stability_raw": ("higher", "correlation", "refit stability before the discount for sampling noise"),
    "sampling_noise": ("lower", "share of variance", "share of |attribution| variance that is sampling noise"),
    "interaction_strength": _metric("interaction_strength", "output variance outside first-order effects"),
    "interaction_strength_natural": ("lower", "share of squared deviation",
                                     "the same in the model's own margin (log-odds, logits)"),
    "features_for_90": _metric("features_for_90", "features carrying 90% of |attribution|"),
    "sparseness": _metric("sparseness", "Gini sparseness of |attribution|"),
    "model_randomisation": _metric("model_randomisation", "similarity to the explanation of a randomised model"),
}
HEADLINE = ("deletion_vs_random", "faithfulness_correlation", "method_agreement", "refit_stability",
            "interaction_strength", "features_for_90")
DEEP = {"mlp", "cnn"}


def _interval(values: np.ndarray, bounded: bool = False):
    """Mean, interval, n: a 95% t-interval, or for a bounded measure the range of the values (inside the bound)."""
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return np.nan, np.nan, np.nan, 0
    mean = float(values.mean())
    if n == 1:
        return mean, np.nan, np.nan, 1
    if bounded:
        return mean, float(values.min()), float(values.max()), n
    half = float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half, n


def _bounded(measure: str) -> bool:
    from ._hypotheses import MEASURE_SPECS

    spec = MEASURE_SPECS.get(measure)
    return spec is not None and (np.isfinite(spec.low) or np.isfinite(spec.high))


def summarise(records: pd.DataFrame) -> pd.DataFrame:
    """dataset, [protocol,] family, measure, mean, lo, hi, interval, n, unit, direction: one row per group.

    ``interval`` says what lo-hi is: "t95" (95% t-interval over seeds) or, for a measure with a bound
    (a share, a correlation, a ratio that cannot be negative), "range" (smallest and largest seed value),
    which never crosses the bound.
    """
    keys = ["dataset", "protocol", "family", "measure"] if "protocol" in records.columns else \
        ["dataset", "family", "measure"]
    rows = []
    for key, grp in records.groupby(keys, sort=False):
        measure = key[-1]
        bounded = _bounded(measure)
        mean, lo, hi, n = _interval(grp["value"].to_numpy(float), bounded)
        direction, unit, _ = MEASURES.get(measure, ("-", "-", measure))
        rows.append(dict(zip(keys, key), mean=mean, lo=lo, hi=hi, interval="range" if bounded else "t95", n=n,
                         unit=unit, direction=direction, sd=float(np.nanstd(grp["value"], ddof=1)) if n > 1 else
                         np.nan))
    return pd.DataFrame(rows)


def _difference(a: pd.Series, b: pd.Series):
    """Mean difference a - b with a 95% Welch interval half-width (NaN when either has one value)."""
    diff = a["mean"] - b["mean"]
    if a["n"] < 2 or b["n"] < 2 or not np.isfinite(a["sd"]) or not np.isfinite(b["sd"]):
        return diff, np.nan
    va, vb = a["sd"] ** 2 / a["n"], b["sd"] ** 2 / b["n"]
    se = np.sqrt(va + vb)
    if se == 0:
        return diff, 0.0
    dof = (va + vb) ** 2 / (va ** 2 / (a["n"] - 1) + vb ** 2 / (b["n"] - 1))
    return diff, float(stats.t.ppf(0.975, dof) * se)


def _fmt(x, unit=""):
    if not np.isfinite(x):
        return "n/a"
    return f"{x:.3g}" + (f" {unit}" if unit else "")


def verdict(summary: pd.DataFrame) -> dict:
    """Rankings and comparisons per data set and measure, and the overall count, as generated text."""
    out = {"rankings": [], "comparisons": [], "tally": {}, "sentences": [], "disagreements": []}
    tally = {}
    if "protocol" in summary.columns:  # rankings per protocol; accuracy (protocol "any") with every protocol
        summary = summary.assign(dataset=[d if p == "any" else f"{d} · {p}" for d, p in
                                          zip(summary.dataset, summary.protocol)])
    for dataset, ds in summary.groupby("dataset", sort=False):
        deep = [f for f in ds.family.unique() if f in DEEP]
        for measure in [m for m in MEASURES if m in set(ds.measure)]:
            direction, unit, label = MEASURES[measure]
            rows = ds[ds.measure == measure].set_index("family")
            finite = rows[np.isfinite(rows["mean"])]
            if finite.empty:
                continue
            order = finite.sort_values("mean", ascending=direction == "lower").index.tolist()
            out["rankings"].append(dict(dataset=dataset, measure=measure, unit=unit, direction=direction,
                                        order=order, text=", ".join(
                                            f"{f} {_fmt(finite.loc[f, 'mean'])} [{_fmt(finite.loc[f, 'lo'])}, "
                                            f"{_fmt(finite.loc[f, 'hi'])}]" for f in order)))
            if measure == "accuracy":
                continue
            for d in deep:
                if d not in finite.index:
                    continue
                for other in finite.index:
                    if other in DEEP:
                        continue
                    diff, half = _difference(finite.loc[d], finite.loc[other])
                    if not np.isfinite(half) or abs(diff) <= half:
                        kind = "indistinguishable"
                        text = f"{d} vs {other}: indistinguishable (difference {_fmt(diff)} ± {_fmt(half)} {unit})"
                    else:
                        worse = diff > 0 if direction == "lower" else diff < 0
                        kind = "harder" if worse else "easier"
                        text = (f"{d} is {kind} to explain than {other}: {label} "
                                f"{'higher' if diff > 0 else 'lower'} by {_fmt(abs(diff))} ± {_fmt(half)} {unit}")
                    out["comparisons"].append(dict(dataset=dataset, measure=measure, deep=d, other=other,
                                                   difference=diff, half_width=half, kind=kind, text=text))
                    tally.setdefault(dataset, {"harder": 0, "easier": 0, "indistinguishable": 0})[kind] += 1
    out["tally"] = tally
    for dataset, t in tally.items():
        total = sum(t.values())
        out["sentences"].append(
            f"{dataset}: of {total} comparisons of the deep model with another family (measures x families), "
            f"it is harder to explain in {t['harder']}, easier in {t['easier']}, and indistinguishable in "
            f"{t['indistinguishable']}.")
    comps = pd.DataFrame(out["comparisons"])
    if len(comps):
        for measure, grp in comps.groupby("measure", sort=False):
            kinds = grp.groupby("dataset")["kind"].agg(lambda k: k.value_counts().idxmax())
            if kinds.nunique() > 1:
                out["disagreements"].append(
                    f"{measure}: the data sets disagree (" + "; ".join(f"{ds}: mostly {k}" for ds, k in
                                                                      kinds.items()) + ").")
        overall = comps["kind"].value_counts()
        out["sentences"].append(
            "Overall: harder in {h}, easier in {e}, indistinguishable in {i} of {n} comparisons.".format(
                h=int(overall.get("harder", 0)), e=int(overall.get("easier", 0)),
                i=int(overall.get("indistinguishable", 0)), n=int(overall.sum())))
    return out


def study_verdict(records: pd.DataFrame, summary: pd.DataFrame, *, test: str = "sign_flip") -> tuple[dict, pd.DataFrame]:
    """The verdict of issue 24 and its comparisons: stated hypotheses, paired tests, Holm, TOST, sensitivity.

    Returns ``(verdict, comparisons)``; ``verdict`` holds ``hypotheses`` (id, statement,
    answer, generated text), ``sentences`` (those texts), ``sensitivity`` (decision per
    protocol), ``by_protocol`` (each hypothesis's answer per protocol), ``excluded``
    (measures no verdict uses, and why), ``additivity`` (gaps beyond round-off) and the
    descriptive ``rankings`` (means with t-intervals, no test).
    """
    from ._answer import answers_by_protocol, hypothesis_verdicts, protocol_sensitivity
    from ._compare import additivity_check, compare_hypotheses, excluded_measures

    comparisons = compare_hypotheses(records, test=test)
    sensitivity = protocol_sensitivity(comparisons)
    hypotheses = hypothesis_verdicts(comparisons, sensitivity=sensitivity)
    gaps = additivity_check(records)
    out = {"hypotheses": hypotheses, "sentences": [h["text"] for h in hypotheses], "sensitivity": sensitivity,
           "by_protocol": answers_by_protocol(comparisons), "excluded": excluded_measures(records),
           "additivity": gaps.to_dict(orient="records"), "rankings": verdict(summary)["rankings"]}
    return out, comparisons


def noise_threat(records) -> list[str]:
    """A threat naming the (data set, family) whose best Shapley values are mostly sampling noise."""
    from ._run import PROTOCOLS

    if "protocol" not in records or "sampling_noise" not in set(records.measure):  # version 1 records
        return []
    shapley = [p.name for p in PROTOCOLS if p.attribution == "shapley"]  # occlusion is never sampled
    noise = records[(records.measure == "sampling_noise") & records.protocol.isin(shapley)]
    noise = noise.groupby(["dataset", "family"]).value.median()
    noisy = noise[noise > 0.5]
    if not len(noisy):
        return []
    return [f"Sampling noise: in {len(noisy)} of {len(noise)} (data set, family) pairs more than half of the "
            "variance of the sampled attributions is sampling noise (median share over seeds: "
            + ", ".join(f"{d} / {f} {v:.2f}" for (d, f), v in noisy.sort_values(ascending=False).items())
            + "); their method agreement and refit stability rest on the bounded discount."]


def threats(config, study_seconds: float) -> list[str]:
    """Threats to validity, with this run's own settings filled in."""
    return [
        "Protocols: deletion, insertion and faithfulness move with what a removed feature becomes (background "
        "rows, their mean, or zero) and with the attribution scored; the sensitivity table says which decisions "
        "survive every protocol. Zero is far outside the data for unscaled tables (on purpose: it is the "
        "protocol an image study often uses).",
        "Output space: classifiers are explained in the probability of the explained class; the interaction "
        "strength is also given in each family's own margin, where additive models are exactly additive.",
        f"Data size: {config.rows} explained rows per table and {config.image_rows} images, {config.background} "
        f"background rows ({getattr(config, 'image_background', config.background)} for images), at most {config.max_rows} rows per data set; {len(config.seeds)} seeds per family "
        f"({len(config.seeds) // 2} disjoint seed pairs for refit stability).",
        "Method choice: exact Shapley values where explain has them (closed forms, TreeSHAP, enumeration up to 12 "
        "columns; torch networks are explained as the functions they compute, like every other non-tree "
        "family), explain's KernelSHAP beyond 12 columns and over image patches for every family alike "
        "(sampled: a standard error per value; method agreement and refit stability are discounted for that "
        "noise with Spearman's correction for attenuation, the reliability floored at 0.25 so noise cannot "
        "inflate them more than twofold; the raw values are in study.json as *_raw).",
        f"Test: {config.test} per comparison, Holm within each hypothesis over thousands of comparisons; an exact "
        "sign-flip test could not reject at all with this many seeds after Holm (its smallest p is 2 / 2^n).",
        "The SVM is calibrated (Platt scaling) to give probabilities; the MLP, NAM and CNN are small networks "
        "trained briefly; results are about these models, not all deep models.",
        f"The run took {study_seconds / 60:.1f} minutes on this machine.",
    ]
