"""The study: are deep models harder to explain than GLMs, Naive Bayes, trees and kernel machines?

One protocol for every family: each model is refitted with several seeds (on a
seeded 90% subsample), explained on the same held-out rows with the same
background, in the probability of the explained class, with "removed" features
set to the background mean (a category's mode). Tabular families get exact
interventional SHAP (TreeSHAP for trees, enumeration otherwise, 10 columns or
fewer), LIME and occlusion; image families KernelSHAP, occlusion and LIME on the
same 2x2 pixel patches. Every measure is reported per data set and family with a
95% interval over seeds. The verdict tests hypotheses stated in advance
(``_hypotheses.py``): paired by seed, an exact sign-flip test, Holm within each
hypothesis, effects with 95% intervals, equivalence by TOST inside stated margins.

    from explain.study import run_study, QUICK
    study = run_study(QUICK)
    study.summary          # dataset x family x measure: mean, interval, n
    study.verdict          # per hypothesis: answer and generated paragraph
    study.comparisons      # every paired comparison: effect, interval, p, Holm p, decision
    study.report().save("study.html")
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from .._utils.progress import progress_bar
from ._families import IMAGE_FAMILIES, TABULAR_FAMILIES, fit_family, load_study_data
from ..errors import DataError
from ._verdict import MEASURES, study_verdict, summarise

__all__ = ["StudyConfig", "QUICK", "FULL", "Study", "run_study", "load_study", "MEASURES"]

_METRICS = ["deletion_normalised", "insertion_normalised", "deletion_vs_random", "insertion_vs_random",
            "faithfulness_correlation", "rank_correlation", "features_for_90", "sparseness", "interaction_strength",
            "model_randomisation", "seconds_per_row"]


@dataclass(frozen=True)
class StudyConfig:
    """What the study runs: data sets, seeds, and the sizes of every step."""

    datasets: tuple = ("breast_cancer", "wine", "fair", "digits")
    seeds: tuple = (0, 1, 2, 3, 4)
    rows: int = 30
    image_rows: int = 16
    background: int = 40
    lime_samples: int = 1000
    kernel_nsamples: int = 1000
    name: str = "full"


FULL = StudyConfig()
QUICK = StudyConfig(datasets=("breast_cancer", "fair", "digits"), seeds=(0, 1), rows=6, image_rows=3,
                    background=12, lime_samples=200, kernel_nsamples=200, name="quick")


@dataclass
class Study:
    """The study's records (one value per data set, family, seed and measure), summary and verdict."""

    config: StudyConfig
    records: pd.DataFrame
    seconds: float
    summary: pd.DataFrame = field(init=False)
    verdict: dict = field(init=False)
    comparisons: pd.DataFrame = field(init=False)
    source: str | None = None  # where the records came from, when loaded rather than run

    def __post_init__(self):
        self.summary = summarise(self.records)
        self.verdict, self.comparisons = study_verdict(self.records, self.summary)

    def report(self, *, timestamp: bool = True):
        from ._report import study_report

        return study_report(self, timestamp=timestamp)


def _accuracy(model, data) -> float:
    import torch

    X = data.X_test
    if isinstance(model, torch.nn.Module):
        with torch.no_grad():
            pred = model(torch.as_tensor(np.asarray(X, dtype=np.float32))).argmax(dim=1).numpy()
        return float(np.mean(pred == data.y_test))
    flat = X.reshape(len(X), -1) if data.images else X
    if hasattr(model, "fn"):  # the MLP behind a CallableAdapter: its predict_proba
        proba = np.asarray(model.fn(flat))
        return float(np.mean(np.asarray(model.classes)[np.argmax(proba, axis=1)] == data.y_test))
    return float(np.mean(model.predict(flat) == data.y_test))


def _one_run(family, data, seed, config):
    """Fit, explain, score one (data set, family, seed); returns (records, best flat values)."""
    from ..comparison import compare

    model = fit_family(family, data, seed)
    rows = data.rows(config.image_rows if data.images else config.rows)
    bg = data.background(config.background)
    if data.images:
        # 4 x 4 patches of the picture whatever its size: 2-pixel patches on 8x8, 8-pixel ones on 32x32
        methods, groups = ["shap.kernel", "occlusion", "lime"], f"patches:{data.X_train.shape[-1] // 4}"
        params = {"shap.kernel": {"nsamples": config.kernel_nsamples}, "lime": {"num_samples": config.lime_samples}}
    else:
        methods, groups = ["shap", "lime", "occlusion"], None
        params = {"lime": {"num_samples": config.lime_samples}}
    cmp = compare({family: model}, rows, background=bg, methods=methods, metrics=_METRICS, output="probability",
                  removal="sample", random_state=seed, method_params=params, feature_groups=groups)
    best = cmp.explanations[family][methods[0]]
    s = cmp.scores
    values = {m: s[(s.method.isin([methods[0], "(model)"])) & (s.metric == m)]["value"] for m in _METRICS}
    out = {m: float(v.iloc[0]) if len(v) else np.nan for m, v in values.items()}
    out.update(accuracy=_accuracy(model, data), exact=float(bool(best.params.get("exact"))),
               additivity_gap=float(best.params.get("additivity_gap", np.nan)))
    out["method_agreement"] = out.pop("rank_correlation")
    return [dict(dataset=data.name, family=family, seed=seed, measure=k, value=v) for k, v in out.items()], \
        best.flat_values


def _refit_stability(dataset, family, values_by_seed):
    """Rank correlation of |a| between the explanations of the same rows by models refitted with two seeds.

    Disjoint pairs of seeds (the 1st with the 2nd, the 3rd with the 4th, ...), so the
    values are independent; each is labelled with its pair's first seed, the same for
    every family, which pairs the families' values in the verdict's tests.
    """
    from ..metrics.agreement import rank_correlation

    seeds = sorted(values_by_seed)
    out = []
    for a, b in zip(seeds[0::2], seeds[1::2]):
        v = float(np.mean(rank_correlation(values_by_seed[a], values_by_seed[b])))
        out.append(dict(dataset=dataset, family=family, seed=a, measure="refit_stability", value=v))
    return out


def run_study(config: StudyConfig = FULL, *, progress="auto") -> Study:
    """Run every data set x family x seed of ``config``; returns the :class:`Study`."""
    start = time.perf_counter()
    plan = []
    loaded = {name: load_study_data(name) for name in config.datasets}
    for name, data in loaded.items():
        for family in (IMAGE_FAMILIES if data.images else TABULAR_FAMILIES):
            plan += [(name, family, seed) for seed in config.seeds]
    records, values = [], {}
    with progress_bar(progress, total=len(plan), desc="study", unit="fit") as bar:
        for name, family, seed in plan:
            if bar is not None:
                bar.set_postfix_str(f"{name} / {family} / seed {seed}")
            recs, flat = _one_run(family, loaded[name], seed, config)
            records += recs
            values.setdefault((name, family), {})[seed] = flat
            if bar is not None:
                bar.update(1)
    for (name, family), by_seed in values.items():
        records += _refit_stability(name, family, by_seed)
    return Study(config, pd.DataFrame(records), time.perf_counter() - start)


def _disjoint_refit_pairs(records: pd.DataFrame, seeds) -> pd.DataFrame:
    """Version 1 reports kept refit stability for every pair of seeds (overlapping, not independent): keep the
    disjoint pairs (1st, 2nd), (3rd, 4th), ... and label each with its first seed, as the runner now does."""
    seeds = sorted(seeds)
    pairs = [(a, b) for i, a in enumerate(seeds) for b in seeds[i + 1:]]  # the order version 1 numbered them in
    keep = {i: a for i, (a, b) in enumerate(pairs) if (a, b) in set(zip(seeds[0::2], seeds[1::2]))}
    refit = records.measure == "refit_stability"
    counts = records[refit].groupby(["dataset", "family"]).size()
    if not len(counts) or not (counts == len(pairs)).all() or len(pairs) == len(keep):
        return records
    old = records[refit]
    old = old[old.seed.isin(list(keep))].assign(seed=lambda r: r.seed.map(keep))
    return pd.concat([records[~refit], old], ignore_index=True)


def load_study(path) -> Study:
    """A Study from its JSON report: the same records, so the same summary and verdict.

    Reports of version 1 (no ``version`` key) load with their overlapping refit-stability
    pairs reduced to disjoint ones; a version newer than this code raises a DataError.
    """
    import json

    with open(path, encoding="utf-8") as fh:
        record = json.load(fh)
    version = record["study"].get("version", 1)
    if version not in (1, 2):
        raise DataError(f"{path} is a study report of version {version}; this explain reads versions 1 and 2: "
                        "upgrade explain or re-run `python -m explain study`.")
    cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in record["study"]["config"].items()}
    rows = pd.DataFrame(record["study"].get("records") or record["scores"])  # reports before 1.0: scores
    if version == 1:
        rows = _disjoint_refit_pairs(rows, cfg.get("seeds", ()))
    study = Study(StudyConfig(**cfg), rows, float(record["study"].get("seconds") or 0.0))
    study.source = f"{path} (a run of {study.seconds / 60:.1f} minutes)"
    return study


def config_dict(config: StudyConfig) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}

