"""What changed between two versions of a model's explanations, beyond noise.

``diff(old, new)`` compares one method's explanations of two model versions
(bundles, reports, ExplanationSets or Explanations). Per feature: global
importance (mean |a|) old and new, the change, and

- the **interval of the change**: a 95% percentile bootstrap over the explained
  rows (the same resampled rows for both when they explain the same rows);
- the **retrain band**: with K refits of the old model (``refits=``), what
  retraining alone moves each importance by. If old and new are two more
  retrains, ``new - old`` has variance ``2 s^2`` where ``s`` is the standard
  deviation of a feature's importance across retrains, estimated from the K
  refits alone; the band is the 95% prediction bound
  ``t(1 - 0.05/(2p), K - 1) x sqrt(2) x s``, Bonferroni over the p features:
  a plain retrain flags no feature about 95% of the time when retrain noise is
  roughly normal. A deterministic estimator is refitted on bootstrap
  resamples, which gives a wider (conservative) band. Without refits the band is
  zero and only row sampling is covered, which the summary says.

A feature is flagged when its interval of the change lies entirely outside
the band **and** ``|change| >= min_effect x`` the largest old importance
(default 10%): a 2% move is never a finding. Rankings: top-k overlap (over all
features, so a dropped top feature counts), nDCG@k of the new ranking with the
old importances as relevance, Spearman correlation; with refits, each is also
computed for every refit against the old model (their retrain distribution).
Per explained row, when both explain the same rows: predictions old and new,
sign flips, the largest changes. Features that appear or disappear lead the
summary, which is generated from these numbers.
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
        """Features whose change is outside the noise band and above the minimum effect, largest first."""
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


def _importance(e) -> pd.Series:
    """Global importance (mean |a|) of every feature of one explanation."""
    return pd.Series(np.abs(e.flat_values).mean(axis=0), index=list(e.feature_names))


def _rank_metrics(imp_a: pd.Series, imp_b: pd.Series, k: int) -> dict:
    """Top-k overlap and nDCG@k over all features of each version (a dropped top feature counts), Spearman
    over the features both have."""
    top_a = imp_a.sort_values(ascending=False, kind="stable").index[:k]
    order_b = imp_b.sort_values(ascending=False, kind="stable").index.tolist()
    common = [f for f in imp_a.index if f in imp_b.index]
    rho = spearmanr(imp_a[common], imp_b[common]).statistic if len(common) > 1 else float("nan")
    return {"top_k_overlap": len(set(top_a) & set(order_b[:k])) / k if k else float("nan"),
            "ndcg_at_k": _ndcg(imp_a, order_b, k), "rank_correlation": float(rho)}


def _retrain_band(refit_imps: np.ndarray) -> np.ndarray:
    """Half-width of the 95% retrain band per feature: t(1 - 0.05/(2p), K - 1) x sqrt(2) x the refits' standard
    deviation. If new and old are two more retrains, (new - old) / (sqrt(2) s) is t with K - 1 degrees of
    freedom (s from the K refits alone, independent of both); Bonferroni over the p features."""
    from scipy.stats import t

    k, p = refit_imps.shape
    spread = np.std(refit_imps, axis=0, ddof=1)
    return float(t.ppf(1.0 - 0.05 / (2 * max(p, 1)), k - 1)) * np.sqrt(2.0) * spread


def _as_refits(refits, old, method, old_model, train, random_state):
    """(list of Explanation, how) from ``refits`` = None, an int K (refit here) or explanations given."""
    from ..errors import DataError
    from ..explanation import Explanation, ExplanationSet

    if refits is None:
        if old_model is not None or train is not None:
            raise DataError("old_model= and train= are only used with refits=K; pass refits=5 for a retrain band.")
        return [], None
    if isinstance(refits, (int, np.integer)) and not isinstance(refits, bool):
        if old_model is None or train is None:
            raise DataError("refits=K needs the old estimator and its training data: "
                            "diff(old_set, new_set, refits=5, old_model=model, train=(X_train, y_train)).")
        from .refit import refit_explanations

        return refit_explanations(old_model, old, train=train, refits=int(refits), method=method,
                                  random_state=random_state)
    runs = [r[method] if isinstance(r, ExplanationSet) else r for r in refits]
    if len(runs) < 2 or not all(isinstance(r, Explanation) for r in runs):
        raise DataError("refits must be an integer K >= 2 or a sequence of at least 2 Explanations of refits.")
    return runs, "given"


def diff(old, new, *, method: str = "shap", k: int = 10, model: str | None = None, new_model: str | None = None,
         n_boot: int = 200, random_state: int = 0, seed_runs: tuple = (), refits=None, old_model=None,
         train=None, min_effect: float = 0.1, allow_different_outputs: bool = False, notes=(),
         refit_how: str | None = None) -> ReportDiff:
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
        Bootstrap resamples of the rows for the interval of the change.
    random_state : int, default=0
    seed_runs : sequence of Explanation, optional
        For a stochastic method: the same rows explained again with other seeds; 2 standard deviations of
        each feature's importance across them join the band.
    refits : int or sequence of Explanation, optional
        The retrain band. An int K refits ``old_model`` K times on ``train`` (another seed, or bootstrap
        resamples for a deterministic estimator) and explains each like ``old`` (then ``old`` must be the
        ExplanationSet :func:`explain.explain` returned); or explanations of refits you made yourself, on
        the same rows as ``old``.
    old_model : fitted estimator, optional
        The old model, for ``refits=K``.
    train : tuple (X_train, y_train), optional
        Its training rows and labels, for ``refits=K``.
    min_effect : float, default=0.1
        Smallest change flagged, as a fraction of the largest old importance.
    allow_different_outputs : bool, default=False
        Diff explanations in different outputs (log-odds against probability) anyway; refused otherwise.
    notes : sequence of str
        Sentences that open the summary (the CLI says which output it chose).
    refit_how : str, optional
        How given refits were made ("seed" or "bootstrap"), for the report.

    Returns
    -------
    ReportDiff
    """
    from ..errors import DataError

    if not (isinstance(min_effect, (int, float)) and 0 <= min_effect <= 1) or isinstance(min_effect, bool):
        raise DataError(f"min_effect must be a number in [0, 1] (a fraction of the largest old importance), "
                        f"got {min_effect!r}.")
    a = _explanation(old, method, model)
    b = _explanation(new, method, new_model or model)
    if a.output != b.output and not allow_different_outputs:
        raise DataError(f"the versions are explained in different outputs ({a.output} vs {b.output}): their "
                        f"importances are not on one scale. Explain both with the same output (CLI: --output "
                        f"probability) or pass allow_different_outputs=True (--allow-different-outputs).")
    runs, how = _as_refits(refits, old, method, old_model, train, random_state)
    names_a, names_b = a.feature_names, b.feature_names
    common = [f for f in names_a if f in names_b]
    added = [f for f in names_b if f not in names_a]
    removed = [f for f in names_a if f not in names_b]
    ia, ib = [names_a.index(f) for f in common], [names_b.index(f) for f in common]
    A, B = np.abs(a.flat_values[:, ia]), np.abs(b.flat_values[:, ib])
    same_rows = a.shape[0] == b.shape[0] and np.allclose(a.codes[:, ia], b.codes[:, ib], equal_nan=True)
    rng = np.random.default_rng(random_state)
    boots = np.empty((n_boot, len(common)))
    for i in range(n_boot):
        ra = rng.integers(0, len(A), len(A))
        rb = ra if same_rows else rng.integers(0, len(B), len(B))
        boots[i] = B[rb].mean(axis=0) - A[ra].mean(axis=0)
    lo, hi = np.percentile(boots, [2.5, 97.5], axis=0)
    imp_a, imp_b = _importance(a), _importance(b)
    band = np.zeros(len(common))
    for r in runs:
        if r.output != a.output or r.shape[0] != a.shape[0]:
            raise DataError("every refit must be explained in the old explanation's output, on its rows.")
    refit_imps = [_importance(r) for r in runs]
    if refit_imps:
        band = _retrain_band(np.array([ri.reindex(common).fillna(0.0).to_numpy() for ri in refit_imps]))
    seed_spread = np.zeros(len(common))
    if seed_runs:  # a stochastic method: its own seed-to-seed wobble is noise too
        imps = [_importance(r).reindex(common).to_numpy() for r in seed_runs] + [imp_a[common].to_numpy()]
        seed_spread = 2.0 * np.std(imps, axis=0, ddof=1)
        band = band + seed_spread
    threshold = float(min_effect) * float(imp_a.max()) if len(imp_a) else 0.0
    ca, cb = imp_a[common], imp_b[common]
    rank_a = imp_a.rank(ascending=False, method="first").astype(int)[common]
    rank_b = imp_b.rank(ascending=False, method="first").astype(int)[common]
    features = pd.DataFrame({"importance_old": ca, "importance_new": cb, "change": cb - ca,
                             "change_low": lo, "change_high": hi, "band": band, "seed_spread": seed_spread,
                             "rank_old": rank_a, "rank_new": rank_b, "rank_change": rank_a - rank_b})
    features["flagged"] = (((features["change_low"] > features["band"]) |
                            (features["change_high"] < -features["band"])) &
                           (features["change"].abs() >= threshold))
    features = features.sort_values("change", key=np.abs, ascending=False, kind="stable")  # by effect size
    k = min(k, len(names_a))
    metrics = {**_rank_metrics(imp_a, imp_b, k), "n_flagged": int(features["flagged"].sum()), "n_sign_flips": 0}
    if refit_imps:
        per_refit = [_rank_metrics(imp_a, ri, k) for ri in refit_imps]
        for key in ("top_k_overlap", "ndcg_at_k", "rank_correlation"):
            metrics[f"refit_{key}"] = [m[key] for m in per_refit]
    rows = _rows(a, b, ia, ib, common, metrics) if same_rows else None
    meta = {"method": method, "k": k, "output_old": a.output, "output_new": b.output, "same_rows": bool(same_rows),
            "rows_old": int(a.shape[0]), "rows_new": int(b.shape[0]), "n_boot": n_boot, "refits": len(runs),
            "refit_how": refit_how or how, "n_features": len(common), "min_effect": float(min_effect),
            "min_change": threshold,
            "band": "retrain" if runs else ("method seeds" if len(seed_runs) else "rows only"),
            "notes": list(notes)}
    from .summary import summary

    return ReportDiff(features, metrics, rows, added, removed, summary(features, metrics, added, removed, meta),
                      meta)


def _rows(a, b, ia, ib, common, metrics) -> pd.DataFrame:
    """Per explained row: predictions old and new, sign flips, the largest changes (fills metrics' flip counts)."""
    va, vb = a.flat_values[:, ia], b.flat_values[:, ib]
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
    return rows
