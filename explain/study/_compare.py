"""Every stated comparison from the study's records: paired by seed, tested, Holm-adjusted, decided.

One row per (hypothesis, data set, protocol, measure, family pair): the test's
name, the effect (mean over seeds of family_a - family_b) with its 95%
t-interval and standardised effect d_z, the p-value and its Holm adjustment
within the hypothesis, the two-one-sided-tests p-value of equivalence inside
the measure's margin (also Holm-adjusted within the hypothesis), and a decision:

- ``harder`` / ``easier``: adjusted p < alpha, by the measure's direction;
- ``equivalent``: adjusted TOST p < alpha (the effect lies inside +-margin);
- ``invalid``: a value lies outside the measure's stated range;
- ``inconclusive``: otherwise. ``can_reject`` says whether the test could have
  rejected at all with this many seeds after Holm (``note`` says why not).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError
from ._hypotheses import ALPHA, HYPOTHESES, MEASURE_SPECS, ROUND_OFF
from ._stats import effect, holm, paired_p, seeds_needed, smallest_p, tost_p

__all__ = ["compare_hypotheses", "excluded_measures", "additivity_check", "DEFAULT_PROTOCOL"]

DEFAULT_PROTOCOL = "default"  # records without a protocol column (version 1 reports) were made under one protocol
_TOL = 1e-9
_REQUIRED = ("dataset", "family", "measure", "seed", "value")


def _with_protocol(records: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in _REQUIRED if c not in records.columns]
    if missing:
        raise DataError(f"study records need the columns {list(_REQUIRED)}; missing {missing}.")
    if "protocol" not in records.columns:
        records = records.assign(protocol=DEFAULT_PROTOCOL)
    return records


def _pairs(group: tuple, a: str, b: str) -> tuple[np.ndarray, np.ndarray, list]:
    """Values of families a and b on the seeds both have (finite), aligned by seed."""
    seeds, columns = group
    if a not in columns or b not in columns:
        return np.array([]), np.array([]), []
    ok = np.isfinite(columns[a]) & np.isfinite(columns[b])
    return columns[a][ok], columns[b][ok], list(seeds[ok])


def _needed(m: int, alpha: float, test: str, n_resamples: int) -> str:
    n = seeds_needed(m, alpha=alpha, test=test, n_resamples=n_resamples)
    return f"at least {n} seeds" if n else f"more than {n_resamples} Monte Carlo sign patterns"


def _decide(row, direction: str, alpha: float) -> str:
    if row["invalid"]:
        return "invalid"
    if np.isfinite(row["p_adjusted"]) and row["p_adjusted"] < alpha:
        a_lower = row["effect"] < 0
        return "harder" if a_lower == (direction == "higher") else "easier"
    if np.isfinite(row["p_equivalence_adjusted"]) and row["p_equivalence_adjusted"] < alpha:
        return "equivalent"
    return "inconclusive"


def compare_hypotheses(records: pd.DataFrame, *, hypotheses=HYPOTHESES, measures=None, test: str = "sign_flip",
                       alpha: float = ALPHA, n_resamples: int = 20_000, random_state: int = 0) -> pd.DataFrame:
    """The comparisons of every hypothesis on every data set, protocol and explainability measure.

    Parameters
    ----------
    records : DataFrame
        One row per (dataset, family, [protocol,] measure, seed) with its ``value``.
    hypotheses : sequence of Hypothesis
        The claims, stated in advance (default: H1-H3).
    measures : dict of name -> MeasureSpec, optional
        Default ``MEASURE_SPECS``; only role "explainability" is compared.
    test : {"sign_flip", "paired_t", "wilcoxon"}
        The paired test; "sign_flip" is exact (all 2**n sign patterns) up to 16 seeds.
    alpha : float
        Family-wise error rate within each hypothesis (Holm).
    n_resamples, random_state : int
        Monte Carlo sign patterns beyond 16 seeds.

    Returns
    -------
    DataFrame
    """
    measures = MEASURE_SPECS if measures is None else measures
    records = _with_protocol(records)
    options = dict(n_resamples=n_resamples, random_state=random_state) if test == "sign_flip" else {}
    keep = [m for m, spec in measures.items() if spec.role == "explainability"]
    records = records[records.measure.isin(keep)]
    wide = records.groupby(["dataset", "protocol", "measure", "seed", "family"], sort=False)["value"].mean()
    groups = []
    for key, grp in (wide.unstack("family").groupby(level=[0, 1, 2], sort=False) if len(records) else ()):
        grp = grp.droplevel([0, 1, 2]).sort_index()  # seeds x families, one group's values
        groups.append((key, (grp.index.to_numpy(), {f: grp[f].to_numpy(float) for f in grp.columns})))
    rows = []
    for hyp in hypotheses:
        start = len(rows)
        for (dataset, protocol, measure), sub in groups:
            spec = measures[measure]
            for fa in hyp.family_a:
                for fb in hyp.family_b:
                    a, b, seeds = _pairs(sub, fa, fb)
                    if not len(seeds):
                        continue
                    d = a - b
                    both = np.concatenate([a, b])
                    invalid = bool(np.any((both < spec.low - _TOL) | (both > spec.high + _TOL)))  # round-off is no breach
                    eff = effect(d)
                    rows.append(dict(
                        hypothesis=hyp.id, dataset=dataset, protocol=protocol, measure=measure, family_a=fa,
                        family_b=fb, test=test, n=len(d), seeds=[int(s) if float(s).is_integer() else s
                                                                   for s in seeds],
                        effect=eff["effect"], ci_low=eff["ci_low"], ci_high=eff["ci_high"], d_z=eff["d_z"],
                        mean_a=float(a.mean()), mean_b=float(b.mean()),
                        p_value=paired_p(d, test=test, **options) if len(d) >= 2 else np.nan,
                        p_equivalence=tost_p(d, spec.margin, test=test, **options) if len(d) >= 2 else np.nan,
                        margin=spec.margin, direction=spec.direction, unit=spec.unit, invalid=invalid))
        block = rows[start:]
        m = sum(np.isfinite(r["p_value"]) for r in block)
        adjusted = holm([r["p_value"] for r in block])
        adjusted_eq = holm([r["p_equivalence"] for r in block])
        threshold = alpha / max(m, 1)
        for r, p_adj, p_eq in zip(block, adjusted, adjusted_eq):
            floor = smallest_p(r["n"], test, n_resamples=n_resamples)
            r.update(p_adjusted=float(p_adj), p_equivalence_adjusted=float(p_eq), m=m,
                     can_reject=bool(floor <= threshold))
            r["note"] = "" if r["can_reject"] else (
                f"too few seeds to reject: with {r['n']} pairs the {test} test's smallest two-sided p is "
                f"{floor:.3g}, and Holm over {m} comparisons of {r['hypothesis']} needs p <= {threshold:.3g} "
                f"({_needed(m, alpha, test, n_resamples)})")
            if r["invalid"]:
                r["note"] = (f"values outside the measure's stated range [{measures[r['measure']].low:g}, "
                             f"{measures[r['measure']].high:g}]: not compared. " + r["note"]).strip()
            r["decision"] = _decide(r, r["direction"], alpha)
    columns = ["hypothesis", "dataset", "protocol", "measure", "family_a", "family_b", "test", "n", "seeds", "effect",
               "ci_low", "ci_high", "d_z", "mean_a", "mean_b", "p_value", "p_adjusted", "p_equivalence",
               "p_equivalence_adjusted", "margin", "direction", "unit", "m", "can_reject", "invalid", "decision",
               "note"]
    return pd.DataFrame(rows, columns=columns)


def excluded_measures(records: pd.DataFrame, *, measures=None) -> list[dict]:
    """The measures present in ``records`` that no verdict uses, each with its role and the reason."""
    measures = MEASURE_SPECS if measures is None else measures
    out = []
    for name in dict.fromkeys(records["measure"]):
        spec = measures.get(name)
        if spec is None:
            out.append(dict(measure=name, role="unknown", reason="no role, direction or margin stated in advance"))
        elif spec.role != "explainability":
            out.append(dict(measure=name, role=spec.role, reason=spec.reason))
    return out


def additivity_check(records: pd.DataFrame, *, tolerance: float = ROUND_OFF) -> pd.DataFrame:
    """Per data set and family, the largest additivity gap and whether it is beyond round-off (a failed check)."""
    gaps = records[records.measure == "additivity_gap"]
    if gaps.empty:
        return pd.DataFrame(columns=["dataset", "family", "largest_gap", "failed"])
    out = gaps.assign(abs_value=gaps["value"].abs()).groupby(["dataset", "family"], sort=False)["abs_value"].max()
    out = out.rename("largest_gap").reset_index()
    return out.assign(failed=out["largest_gap"] > tolerance)
