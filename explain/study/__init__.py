"""The study: are deep models harder to explain than GLMs, Naive Bayes, trees and kernel machines?

One protocol for every family: each model is refitted with several seeds (on a
seeded 90% subsample), explained on the same held-out rows with the same
background, in the probability of the explained class, with "removed" features
set to the background mean (a category's mode). Tabular families get exact
interventional SHAP (TreeSHAP for trees, enumeration otherwise, 10 columns or
fewer), LIME and occlusion; image families KernelSHAP, occlusion and LIME on the
same 2x2 pixel patches. Every measure is reported per data set and family with a
95% interval over seeds; the verdict is generated from those numbers.

    from explain.study import run_study, QUICK
    study = run_study(QUICK)
    study.summary          # dataset x family x measure: mean, interval, n
    study.verdict          # generated sentences
    study.report().save("study.html")
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from .._utils.progress import progress_bar
from ._families import IMAGE_FAMILIES, TABULAR_FAMILIES, fit_family, load_study_data
from ._verdict import MEASURES, summarise, verdict

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
    source: str | None = None  # where the records came from, when loaded rather than run

    def __post_init__(self):
        self.summary = summarise(self.records)
        self.verdict = verdict(self.summary)

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
    """Rank correlation of |a| between the explanations of the same rows by models refitted with other seeds."""
    from ..metrics.agreement import rank_correlation

    out = []
    seeds = sorted(values_by_seed)
    pair = 0
    for i, a in enumerate(seeds):
        for b in seeds[i + 1:]:
            v = float(np.mean(rank_correlation(values_by_seed[a], values_by_seed[b])))
            out.append(dict(dataset=dataset, family=family, seed=pair, measure="refit_stability", value=v))
            pair += 1
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


def load_study(path) -> Study:
    """A Study from its JSON report: the same records, so the same summary and verdict."""
    import json

    with open(path, encoding="utf-8") as fh:
        record = json.load(fh)
    cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in record["study"]["config"].items()}
    rows = record["study"].get("records") or record["scores"]  # reports before 1.0 kept them as scores
    study = Study(StudyConfig(**cfg), pd.DataFrame(rows), float(record["study"].get("seconds") or 0.0))
    study.source = f"{path} (a run of {study.seconds / 60:.1f} minutes)"
    return study


def config_dict(config: StudyConfig) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}

