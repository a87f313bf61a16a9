"""From the comparisons to an answer per hypothesis, a generated paragraph, and the protocol sensitivity.

The answer rule is stated in advance (``CLAIMS``): per measure, a hypothesis is
``supported`` when some comparison decides for its claim and none against it,
``contradicted`` when some decide against and none for, ``mixed`` when both,
``inconclusive`` when none decides. Across measures the same rule applies to
the measures' answers, so no vote is counted over heterogeneous measures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._hypotheses import ALPHA, CLAIMS, HYPOTHESES

__all__ = ["answer", "hypothesis_verdicts", "protocol_sensitivity", "answers_by_protocol"]

_TEST_NAMES = {
    "sign_flip": "an exact sign-flip permutation test of the mean paired difference over seeds (all 2^n sign "
                 "patterns up to 16 seeds, Monte Carlo beyond), two-sided",
    "paired_t": "a paired t-test of the mean difference over seeds, two-sided",
    "wilcoxon": "a Wilcoxon signed-rank test of the paired differences over seeds, two-sided",
}


def _combine(labels, supports, against) -> str:
    labels = set(labels)
    pro, con = bool(labels & supports), bool(labels & against)
    return "mixed" if pro and con else "supported" if pro else "contradicted" if con else "inconclusive"


def answer(decisions, claim: str) -> str:
    """The answer to a claim ("harder", "not_easier", "equivalent") from a set of comparison decisions."""
    supports, against = CLAIMS[claim]
    return _combine(decisions, supports, against)


def _by_measure(comps: pd.DataFrame, claim: str) -> dict:
    return {m: answer(g["decision"], claim) for m, g in comps.groupby("measure", sort=False)}


def _overall(measure_answers: dict) -> str:
    """The rule over the measures' answers: a ``mixed`` measure holds decisions both ways, so it counts for and
    against (the answer over all decisions, whichever measure they come from)."""
    return _combine(measure_answers.values(), {"supported", "mixed"}, {"contradicted", "mixed"})


def _fmt(x) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.3g}"


def _line(r) -> str:
    return (f"{r['family_a']} - {r['family_b']} on {r['dataset']}" + (f" ({r['protocol']})" if r.get("protocol")
                                                                      else "")
            + f": {_fmt(r['effect'])} [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}] {r['unit']}, d_z {_fmt(r['d_z'])}, "
            f"p {_fmt(r['p_value'])}, Holm {_fmt(r['p_adjusted'])}")


def _what_would_change(comps: pd.DataFrame, alpha: float) -> list[str]:
    out = []
    blocked = comps[~comps["can_reject"]]
    if len(blocked):
        r = blocked.iloc[0]
        out.append(f"{len(blocked)} of {len(comps)} comparisons cannot reject whatever the data: "
                   + r["note"].split("too few seeds to reject: ")[-1] + ".")
    decided = comps[comps.decision.isin(["harder", "easier"])]
    if len(decided):
        r = decided.sort_values("p_adjusted").iloc[-1]
        out.append(f"The weakest decision is {r['measure']}, {_line(r)}: it is {r['decision']} at Holm p "
                   f"{_fmt(r['p_adjusted'])} against {alpha}.")
    open_ = comps[(comps.decision == "inconclusive") & comps["can_reject"]]
    if len(open_):
        r = open_.sort_values("p_adjusted").iloc[0]
        out.append(f"The nearest undecided comparison is {r['measure']}, {_line(r)}.")
    invalid = comps[comps.decision == "invalid"]
    if len(invalid):
        out.append(f"{len(invalid)} comparisons are invalid (values outside the measure's stated range: "
                   f"{', '.join(sorted(set(invalid.measure)))}); a corrected measure could decide them.")
    return out


def hypothesis_verdicts(comparisons: pd.DataFrame, *, hypotheses=HYPOTHESES, alpha: float = ALPHA,
                        sensitivity: list | None = None) -> list[dict]:
    """Per hypothesis: id, statement, answer, the answer per measure, counts, and a generated paragraph.

    The paragraph names the test, the correction, the strongest effects with their
    95% intervals, and what would change the answer (too few seeds, the weakest
    decision, the nearest undecided comparison, protocols under which it flips).
    """
    out = []
    for hyp in hypotheses:
        comps = comparisons[comparisons.hypothesis == hyp.id]
        if comps.empty:
            out.append(dict(id=hyp.id, statement=hyp.statement, answer="not tested", by_measure={}, counts={},
                            text=f"{hyp.id}: {hyp.statement} Not tested: no records of "
                                 f"{', '.join(hyp.family_a)} beside {', '.join(hyp.family_b)}."))
            continue
        by_measure = _by_measure(comps, hyp.claim)
        result = _overall(by_measure)
        counts = {k: int(v) for k, v in comps["decision"].value_counts().items()}
        test = comps["test"].iloc[0]
        m = int(comps["m"].iloc[0])  # the comparisons with a p-value (Holm's family)
        left_out = f" ({len(comps) - m} without one left out)" if len(comps) > m else ""
        parts = [f"{hyp.id}: {hyp.statement} Answer: {result}.",
                 f"Test: {_TEST_NAMES.get(test, test)}, paired by seed (same split, same rows); Holm correction "
                 f"over the {m} comparisons of {hyp.id} with a p-value{left_out} at alpha {alpha}; equivalence by "
                 "two one-sided tests inside each measure's margin stated in advance, Holm-adjusted the same way.",
                 "Decisions: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + f" of {len(comps)}."]
        for measure, ans in by_measure.items():
            sub = comps[(comps.measure == measure) & comps.decision.isin(["harder", "easier", "equivalent"])]
            strongest = sub.reindex(sub["d_z"].abs().sort_values(ascending=False).index).head(3)
            effects = "; ".join(f"{r['decision']}: {_line(r)}" for _, r in strongest.iterrows())
            parts.append(f"{measure}: {ans}" + (f" ({effects})" if effects else "") + ".")
        changes = _what_would_change(comps, alpha)
        flips = [a for a in (answers_by_protocol(comparisons, hypotheses=(hyp,)) or []) if not a["robust"]]
        for a in flips:
            changes.append("The answer depends on the protocol: " + ", ".join(
                f"{p}: {v}" for p, v in a["answers"].items()) + ".")
        if sensitivity:
            n_flip = sum(1 for s in sensitivity if s["hypothesis"] == hyp.id and not s["robust"])
            if n_flip:
                changes.append(f"{n_flip} comparisons change their decision with the protocol (sensitivity table).")
        parts.append("What would change it: " + (" ".join(changes) if changes else "nothing found by these checks."))
        out.append(dict(id=hyp.id, statement=hyp.statement, claim=hyp.claim, answer=result, by_measure=by_measure,
                        counts=counts, m=m, test=test, text=" ".join(parts)))
    return out


def protocol_sensitivity(comparisons: pd.DataFrame) -> list[dict]:
    """Per (hypothesis, data set, measure, family pair): the decision under each protocol and whether it is robust.

    ``robust`` is True when every protocol gives the same decision; ``flip`` then is
    empty, otherwise it says which protocols disagree (e.g. "harder under
    occlusion_zero, inconclusive under kernel_sample").
    """
    out = []
    keys = ["hypothesis", "dataset", "measure", "family_a", "family_b"]
    for key, grp in comparisons.groupby(keys, sort=False):
        decisions = dict(zip(grp["protocol"], grp["decision"]))
        robust = len(set(decisions.values())) == 1
        flip = "" if robust else ", ".join(f"{d} under {p}" for p, d in decisions.items())
        out.append(dict(zip(keys, key), decisions=decisions, robust=robust, flip=flip,
                        effects={p: float(e) for p, e in zip(grp["protocol"], grp["effect"])}))
    return out


def answers_by_protocol(comparisons: pd.DataFrame, *, hypotheses=HYPOTHESES) -> list[dict]:
    """Per hypothesis: its answer under each protocol alone, and whether the answer is the same under all."""
    out = []
    for hyp in hypotheses:
        comps = comparisons[comparisons.hypothesis == hyp.id]
        if comps.empty:
            continue
        answers = {p: _overall(_by_measure(g, hyp.claim)) for p, g in comps.groupby("protocol", sort=False)}
        out.append(dict(hypothesis=hyp.id, answers=answers, robust=len(set(answers.values())) == 1))
    return out
