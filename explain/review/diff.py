"""What changed between two versions of a model's explanations, beyond noise.

``diff(old, new)`` compares one method's explanations of two model versions
(bundles, reports, ExplanationSets or Explanations). Per feature: global
importance (mean |a|) old and new, the change, and a 95% noise band for the
change from a bootstrap over rows (the same resampled rows for both when they
explain the same rows); a change is flagged only when the band excludes zero.
Rankings: top-k overlap, nDCG@k of the new ranking with the old importances as
relevance, Spearman correlation. Per explained row, when both explain the same
rows: predictions old and new, sign flips, the largest changes. Features that
appear or disappear are listed. The summary sentences are generated from these
numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

__all__ = ["diff", "ReportDiff"]


def _explanation(source, method: str, model: str | None):
    """An Explanation from a path (.json/.html bundle), a loaded report dict, an ExplanationSet or itself."""
    from ..errors import DataError
    from ..explanation import Explanation, ExplanationSet
    from ..report.bundle import load_report

    if isinstance(source, Explanation):
        return source
    if isinstance(source, ExplanationSet):
        return source[method]
    report = source if isinstance(source, dict) else load_report(source)
    sets = report["explanations"]
    if model is None:
        if len(sets) != 1:
            raise DataError(f"the report explains {len(sets)} models {list(sets)}; pick one with model=...")
        model = next(iter(sets))
    if model not in sets:
        raise DataError(f"no model {model!r} in the report; models are {list(sets)}")
    if method not in sets[model]:
        raise DataError(f"model {model!r} has no {method!r} explanation; methods are {sets[model].methods}")
    return sets[model][method]


def _ndcg(old_imp: pd.Series, new_order: list, k: int) -> float:
    """nDCG@k of the new top-k with the old importances as relevance (1 = the same top-k in the same order)."""
    rel = old_imp.to_dict()
    gains = [rel.get(f, 0.0) for f in new_order[:k]]
    ideal = sorted(rel.values(), reverse=True)[:k]
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    idcg = float(np.dot(ideal, disc[:len(ideal)]))
    return float(np.dot(gains, disc[:len(gains)]) / idcg) if idcg > 0 else float("nan")


class ReportDiff:
    """The result of :func:`diff`: tables, headline numbers, generated summary, and a report."""

    def __init__(self, features, metrics, rows, added, removed, summary, meta):
        self.features, self.metrics, self.rows = features, metrics, rows
        self.added, self.removed, self.summary, self.meta = added, removed, summary, meta

    @property
    def flagged(self) -> list[str]:
        """Features whose importance changed beyond the noise band."""
        return self.features.index[self.features["flagged"]].tolist()

    def to_dict(self) -> dict:
        return {"metrics": self.metrics, "flagged": self.flagged, "added": self.added, "removed": self.removed,
                "summary": self.summary, "meta": self.meta,
                "features": self.features.reset_index().replace({np.nan: None}).to_dict(orient="records"),
                "rows": None if self.rows is None else self.rows.replace({np.nan: None}).to_dict(orient="records")}

    def report(self, *, title: str = "What changed: explanation diff"):
        from .report import diff_report

        return diff_report(self, title=title)

    def __repr__(self) -> str:
        return (f"ReportDiff(method={self.meta['method']!r}, flagged={self.flagged}, "
                f"ndcg@{self.meta['k']}={self.metrics['ndcg_at_k']:.3f})")


def diff(old, new, *, method: str = "shap", k: int = 10, model: str | None = None, new_model: str | None = None,
         n_boot: int = 200, random_state: int = 0, seed_runs: tuple = ()) -> ReportDiff:
    """Compare the explanations of two model versions, feature by feature, beyond noise.

    Parameters
    ----------
    old, new : path to a .json/.html report, a loaded report, ExplanationSet or Explanation
    method : str, default="shap"
        The method compared.
    k : int, default=10
        Size of the top-k sets for overlap and nDCG.
    model, new_model : str, optional
        The model in a report with several (``new_model`` defaults to ``model``).
    n_boot : int, default=200
        Bootstrap resamples of the rows for the noise band.
    random_state : int, default=0
    seed_runs : sequence of Explanation, optional
        For a stochastic method: the same rows explained again with other seeds (either version); the
        spread of each feature's importance across them (2 standard deviations) widens the noise band.

    Returns
    -------
    ReportDiff
    """
    a = _explanation(old, method, model)
    b = _explanation(new, method, new_model or model)
    names_a, names_b = a.feature_names, b.feature_names
    common = [f for f in names_a if f in names_b]
    added = [f for f in names_b if f not in names_a]
    removed = [f for f in names_a if f not in names_b]
    A = np.abs(a.flat_values[:, [names_a.index(f) for f in common]])
    B = np.abs(b.flat_values[:, [names_b.index(f) for f in common]])
    same_rows = a.shape[0] == b.shape[0] and a.codes[:, [names_a.index(f) for f in common]].shape == \
        b.codes[:, [names_b.index(f) for f in common]].shape and np.allclose(
            a.codes[:, [names_a.index(f) for f in common]], b.codes[:, [names_b.index(f) for f in common]],
            equal_nan=True)
    rng = np.random.default_rng(random_state)
    boots = np.empty((n_boot, len(common)))
    for i in range(n_boot):
        ia = rng.integers(0, len(A), len(A))
        ib = ia if same_rows else rng.integers(0, len(B), len(B))
        boots[i] = B[ib].mean(axis=0) - A[ia].mean(axis=0)
    lo, hi = np.percentile(boots, [2.5, 97.5], axis=0)
    seed_spread = np.zeros(len(common))
    if seed_runs:  # a stochastic method: its own seed-to-seed wobble is noise too
        imps = [np.abs(r.flat_values[:, [r.feature_names.index(f) for f in common]]).mean(axis=0)
                for r in seed_runs] + [A.mean(axis=0)]
        seed_spread = 2.0 * np.std(imps, axis=0, ddof=1)
        lo, hi = lo - seed_spread, hi + seed_spread
    imp_a, imp_b = pd.Series(A.mean(axis=0), index=common), pd.Series(B.mean(axis=0), index=common)
    rank_a = imp_a.rank(ascending=False, method="first").astype(int)
    rank_b = imp_b.rank(ascending=False, method="first").astype(int)
    features = pd.DataFrame({"importance_old": imp_a, "importance_new": imp_b, "change": imp_b - imp_a,
                             "band_low": lo, "band_high": hi, "seed_spread": seed_spread,
                             "rank_old": rank_a, "rank_new": rank_b,
                             "rank_change": rank_a - rank_b})
    features["flagged"] = (features["band_low"] > 0) | (features["band_high"] < 0)
    features = features.sort_values("importance_old", ascending=False, kind="stable")
    k = min(k, len(common))
    top_a, top_b = imp_a.sort_values(ascending=False).index[:k], imp_b.sort_values(ascending=False).index.tolist()
    rho = spearmanr(imp_a, imp_b).statistic if len(common) > 1 else float("nan")
    metrics = {"top_k_overlap": len(set(top_a) & set(top_b[:k])) / k if k else float("nan"),
               "ndcg_at_k": _ndcg(imp_a, top_b, k), "rank_correlation": float(rho),
               "n_flagged": int(features["flagged"].sum()), "n_sign_flips": 0}
    rows = None
    if same_rows:
        va = a.flat_values[:, [names_a.index(f) for f in common]]
        vb = b.flat_values[:, [names_b.index(f) for f in common]]
        scale = np.maximum(np.abs(va).max(axis=1, keepdims=True), np.abs(vb).max(axis=1, keepdims=True))
        flips = (np.sign(va) != np.sign(vb)) & (np.abs(va) > 0.05 * scale) & (np.abs(vb) > 0.05 * scale)
        change = vb - va
        records = []
        for i in range(len(va)):
            top = np.argsort(-np.abs(change[i]), kind="stable")[:3]
            records.append({"row": i, "prediction_old": float(a.base_values[i] + a.flat_values[i].sum()),
                            "prediction_new": float(b.base_values[i] + b.flat_values[i].sum()),
                            "sign_flips": ", ".join(common[j] for j in np.flatnonzero(flips[i])),
                            "largest_changes": ", ".join(f"{common[j]} {change[i, j]:+.3g}" for j in top)})
        rows = pd.DataFrame(records)
        rows.attrs["changes"] = change.ravel()
        metrics["n_sign_flips"] = int(flips.sum())
        metrics["sign_flip_features"] = sorted({common[j] for j in np.flatnonzero(flips.any(axis=0))})
    meta = {"method": method, "k": k, "output_old": a.output, "output_new": b.output, "same_rows": bool(same_rows),
            "rows_old": int(a.shape[0]), "rows_new": int(b.shape[0]), "n_boot": n_boot}
    return ReportDiff(features, metrics, rows, added, removed, _summary(features, metrics, added, removed, meta),
                      meta)


def _summary(features, metrics, added, removed, meta) -> list[str]:
    """Plain-language sentences generated from the numbers."""
    out = []
    flagged = features[features["flagged"]]
    if flagged.empty:
        out.append(f"No feature's importance changed beyond the noise band (95%, bootstrap over "
                   f"{meta['rows_old']} rows).")
    for name, r in flagged.sort_values("change", key=np.abs, ascending=False).iterrows():
        direction = "rose" if r["change"] > 0 else "fell"
        out.append(f"{name}: importance {direction} from {r['importance_old']:.3g} to {r['importance_new']:.3g} "
                   f"(noise band of the change [{r['band_low']:.3g}, {r['band_high']:.3g}]); rank "
                   f"{r['rank_old']} -> {r['rank_new']}.")
    out.append(f"Top-{meta['k']} overlap {metrics['top_k_overlap']:.2f}, nDCG@{meta['k']} "
               f"{metrics['ndcg_at_k']:.3f}, rank correlation {metrics['rank_correlation']:.3f}.")
    if metrics.get("sign_flip_features"):
        out.append(f"{metrics['n_sign_flips']} sign flips on the same rows, in: "
                   f"{', '.join(metrics['sign_flip_features'])}.")
    if added or removed:
        out.append(f"Schema change: added {added or 'none'}, removed {removed or 'none'}.")
    if meta["output_old"] != meta["output_new"]:
        out.append(f"Warning: the versions are explained in different outputs ({meta['output_old']} vs "
                   f"{meta['output_new']}); importances are not on one scale.")
    if not meta["same_rows"]:
        out.append("The versions explain different rows: no per-row comparison (explain both on the same rows).")
    return out
