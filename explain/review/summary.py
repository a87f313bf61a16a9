"""The plain-language summary of a diff, generated from its numbers, in the order a reviewer reads it."""

from __future__ import annotations

__all__ = ["summary", "band_sentence"]


def band_sentence(meta) -> str:
    """What the band is, in one sentence (the summary and the report state it)."""
    rule = (f"flagged when the 95% interval of the change (bootstrap over {meta['rows_old']} rows) lies outside "
            f"the band and |change| >= {meta['min_effect']:g} x the largest old importance "
            f"({meta['min_change']:.3g})")
    if meta["band"] == "retrain":
        how = {"seed": "refitted with other random seeds on the same training rows",
               "bootstrap": "refitted on bootstrap resamples of the training rows (the estimator is deterministic)",
               "given": "refits supplied by the caller"}.get(meta["refit_how"], meta["refit_how"])
        return (f"Noise band: the 95% retrain band, t(1 - 0.05/(2 x {meta['n_features']}), {meta['refits'] - 1})"
                f" x sqrt(2) x the standard deviation of each feature's importance over {meta['refits']} retrains "
                f"of the old model ({how}), Bonferroni over the {meta['n_features']} features; {rule}.")
    if meta["band"] == "method seeds":
        return (f"Noise band: 2 standard deviations of the method's own seed-to-seed spread; it covers row "
                f"sampling and the method's randomness only, not retraining; {rule}.")
    return (f"Noise band: row sampling only (no training data, so retraining noise is not covered; pass "
            f"--train / refits= for a retrain band); {rule}.")


def summary(features, metrics, added, removed, meta) -> list[str]:
    """Sentences: the output, schema changes, the band, flagged changes by effect size, rankings, flips."""
    out = list(meta.get("notes") or [])
    if meta["output_old"] == meta["output_new"]:
        if not out:
            out.append(f"Both versions are explained in {meta['output_old']}.")
    else:
        out.append(f"Warning: the versions are explained in different outputs ({meta['output_old']} vs "
                   f"{meta['output_new']}); importances are not on one scale.")
    if removed:
        out.append(f"Removed in the new model: {', '.join(removed)} (a change whatever the band).")
    if added:
        out.append(f"Added in the new model: {', '.join(added)}.")
    out.append(band_sentence(meta))
    flagged = features[features["flagged"]]
    if flagged.empty:
        out.append("No feature's importance changed beyond the noise band and the minimum effect.")
    for name, r in flagged.iterrows():  # already ranked by effect size
        direction = "rose" if r["change"] > 0 else "fell"
        out.append(f"{name}: importance {direction} from {r['importance_old']:.3g} to {r['importance_new']:.3g} "
                   f"(change {r['change']:+.3g}, 95% interval of the change [{r['change_low']:.3g}, "
                   f"{r['change_high']:.3g}], noise band ±{r['band']:.3g}); rank {r['rank_old']} -> "
                   f"{r['rank_new']}.")
    ranking = (f"Top-{meta['k']} overlap {metrics['top_k_overlap']:.2f}, nDCG@{meta['k']} "
               f"{metrics['ndcg_at_k']:.3f}, rank correlation {metrics['rank_correlation']:.3f}")
    if "refit_ndcg_at_k" in metrics:
        ranking += (f" (retrains of the old model: overlap >= {min(metrics['refit_top_k_overlap']):.2f}, "
                    f"nDCG >= {min(metrics['refit_ndcg_at_k']):.3f}, rank correlation >= "
                    f"{min(metrics['refit_rank_correlation']):.3f})")
    out.append(ranking + ".")
    if metrics.get("sign_flip_features"):
        out.append(f"{metrics['n_sign_flips']} sign flips on the same rows, in: "
                   f"{', '.join(metrics['sign_flip_features'])}.")
    if not meta["same_rows"]:
        out.append("The versions explain different rows: no per-row comparison (explain both on the same rows).")
    return out
