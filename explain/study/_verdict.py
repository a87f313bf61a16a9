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
    "method_agreement": _metric("rank_correlation", "rank correlation of the best method with LIME and occlusion"),
    "refit_stability": ("higher", "correlation", "rank correlation of explanations across seeds' refits"),
    "interaction_strength": _metric("interaction_strength", "output variance outside first-order effects"),
    "features_for_90": _metric("features_for_90", "features carrying 90% of |attribution|"),
    "sparseness": _metric("sparseness", "Gini sparseness of |attribution|"),
    "model_randomisation": _metric("model_randomisation", "similarity to the explanation of a randomised model"),
}
HEADLINE = ("deletion_vs_random", "faithfulness_correlation", "method_agreement", "refit_stability",
            "interaction_strength", "features_for_90")
DEEP = {"mlp", "cnn"}


def _interval(values: np.ndarray):
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return np.nan, np.nan, np.nan, 0
    mean = float(values.mean())
    if n == 1:
        return mean, np.nan, np.nan, 1
    half = float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half, n


def summarise(records: pd.DataFrame) -> pd.DataFrame:
    """dataset, family, measure, mean, lo, hi, n, unit, direction: one row per group (95% t-interval)."""
    rows = []
    for (dataset, family, measure), grp in records.groupby(["dataset", "family", "measure"], sort=False):
        mean, lo, hi, n = _interval(grp["value"].to_numpy(float))
        direction, unit, _ = MEASURES.get(measure, ("-", "-", measure))
        rows.append(dict(dataset=dataset, family=family, measure=measure, mean=mean, lo=lo, hi=hi, n=n,
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


def threats(config, study_seconds: float) -> list[str]:
    """Threats to validity, with this run's own settings filled in."""
    return [
        f"Baseline: a 'removed' feature takes background rows' values, averaged over 20 of {config.background} "
        "training rows (removal='sample'); deletion areas move with this choice (removal='mean' | 'zero').",
        "Output space: every model is explained in the probability of the explained class; in each family's own "
        "margin (log-odds, decision function) additive models look simpler than they do here.",
        f"Data size: {config.rows} explained rows per tabular data set and {config.image_rows} images; "
        f"{len(config.seeds)} seeds per family ({len(config.seeds) // 2} disjoint seed pairs for refit "
        "stability); the verdict says per comparison whether that many seeds can reject at all after Holm.",
        "Method choice: exact SHAP for tabular families (enumeration over at most 10 columns, TreeSHAP for "
        "forests and trees), KernelSHAP over 2x2 patches for images (approximate for every family alike).",
        "The SVM is calibrated (CalibratedClassifierCV, Platt scaling) to give probabilities; the MLP and CNN are "
        "small networks trained briefly; results are about these models, not all deep models.",
        "Interaction strength is measured on the explained rows with partial dependence over the background, "
        "which assumes features can be varied independently; it exceeds 1 when the sum of partial dependences "
        "is a worse fit than the mean (strong interactions or correlated features), as for Naive Bayes here.",
        f"The full run took {study_seconds / 60:.1f} minutes on this machine.",
    ]
