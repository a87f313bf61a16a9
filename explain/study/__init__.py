"""The study: are deep models harder to explain than GLMs, Naive Bayes, trees and kernel machines?

Version 2 (issue 24). Hypotheses are stated before any run (``_hypotheses.py``):
H1 deep models (MLP, CNN) are harder to explain than GLMs and Naive Bayes; H2 tree
ensembles and kernel machines are no easier than deep models; H3 (control) a neural
additive model is as easy to explain as a GLM. Nine families (``_families.py``)
are refitted per seed on the same split of ten real tables and two real image
sets (``explain.datasets._study_sets``), explained on the same held-out rows
with the same background, and scored under three protocols (``_run.PROTOCOLS``:
what removal means, which attribution is scored, how pixels are grouped). The
verdict pairs families by seed, names its test, corrects by Holm within each
hypothesis, decides harder / easier / equivalent (TOST inside margins stated in
advance) / inconclusive, and reports per hypothesis, data set and measure whether
the decision is the same under every protocol.

    from explain.study import run_study, QUICK
    study = run_study(QUICK)
    study.verdict["hypotheses"]   # per hypothesis: answer and generated paragraph
    study.comparisons             # every paired comparison: effect, interval, p, Holm p, decision
    study.report().save("study.html")

A run is resumable per data set: ``run_study(config, checkpoint="dir")`` writes
each finished data set to ``dir/<name>.json`` and skips it on the next run.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from .._utils.progress import progress_bar
from ..errors import DataError
from ._families import families_for, load_study_data
from ._run import PROTOCOLS, refit_stability, run_unit
from ._verdict import MEASURES, study_verdict, summarise

__all__ = ["StudyConfig", "QUICK", "FULL", "Study", "run_study", "load_study", "MEASURES", "PROTOCOLS", "VERSION"]

VERSION = 2
TABLES = ("breast_cancer", "wine", "diabetes", "fair", "randhie", "anes96", "modechoice", "star98", "penguins",
          "autompg")


@dataclass(frozen=True)
class StudyConfig:
    """What the study runs: data sets, seeds, the sizes of every step, and the paired test."""

    datasets: tuple = TABLES + ("mnist", "lfw")
    seeds: tuple = tuple(range(16))
    rows: int = 24
    image_rows: int = 8
    background: int = 40
    image_background: int = 16  # KernelSHAP's cost grows with it: 8 images x nsamples x 16 rows per model
    kernel_nsamples: int = 256
    max_rows: int = 2000
    test: str = "paired_t"
    metric_options: tuple = ()  # compare()'s metric options as (key, value) pairs, e.g. (("n_steps", 20),)
    name: str = "full"


FULL = StudyConfig()
QUICK = StudyConfig(datasets=("wine", "diabetes", "lfw"), seeds=(0, 1, 2, 3), rows=6, image_rows=3,
                    background=12, image_background=6, kernel_nsamples=100, max_rows=600,
                    metric_options=(("n_steps", 20), ("n_subsets", 30), ("removal_samples", 8)), name="quick")


@dataclass
class Study:
    """The study's records (one value per data set, family, protocol, measure and seed), summary and verdict."""

    config: StudyConfig
    records: pd.DataFrame
    seconds: float
    datasets: list = field(default_factory=list)  # {name, kind, n_features, image_shape, n_rows, source}
    summary: pd.DataFrame = field(init=False)
    verdict: dict = field(init=False)
    comparisons: pd.DataFrame = field(init=False)
    source: str | None = None  # where the records came from, when loaded rather than run
    records_version: int = VERSION  # the version of the study that produced the records (1: an old file re-read)

    def __post_init__(self):
        # values at the 6 significant digits the JSON file keeps: every statistic recomputes from the file
        values = self.records["value"].astype(float).to_numpy()
        self.records = self.records.assign(value=[float(f"{v:.6g}") if np.isfinite(v) else v for v in values])
        self.summary = summarise(self.records)
        self.verdict, self.comparisons = study_verdict(self.records, self.summary, test=self.config.test)

    def forest(self, protocol: str | None = None) -> str:
        """The forest plot of every comparison's effect with its interval (SVG), one panel per hypothesis;
        ``protocol``: which protocol's comparisons (default the first)."""
        from ._forest import forest_figure
        from ._hypotheses import HYPOTHESES

        comps = self.comparisons
        if not len(comps):
            return ""
        return forest_figure(comps, HYPOTHESES, protocol=protocol or comps["protocol"].iloc[0])

    def report(self, *, timestamp: bool = True):
        from ._report import study_report

        return study_report(self, timestamp=timestamp)


def _describe(data) -> dict:
    return dict(name=data.name, kind="image" if data.images else "tabular", task=data.task,
                n_features=int(len(data.feature_names)),
                image_shape=list(data.image_shape) if data.images else None, n_rows=int(data.n_rows),
                source=data.source, families=list(families_for(data)))


def _run_dataset(data, config, bar) -> list:
    records, values = [], {}
    for family in families_for(data):
        for seed in config.seeds:
            if bar is not None:
                bar.set_postfix_str(f"{data.name} / {family} / seed {seed}")
            recs, flat = run_unit(family, data, seed, config)
            records += recs
            for protocol, v in flat.items():
                values.setdefault((family, protocol), {})[seed] = v
            if bar is not None:
                bar.update(1)
    for (family, protocol), by_seed in values.items():
        records += refit_stability(data.name, family, protocol, by_seed)
    return records


def _checkpoint_path(checkpoint, name):
    return None if checkpoint is None else os.path.join(checkpoint, f"{name}.json")


def _load_partial(path, config):
    """A finished data set's records from an earlier run of the same configuration (None otherwise)."""
    if path is None or not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as fh:
        part = json.load(fh)
    return part if part.get("config") == json.loads(json.dumps(config_dict(config))) else None


def run_study(config: StudyConfig = FULL, *, progress="auto", checkpoint=None, n_jobs: int = 1) -> Study:
    """Run every data set x family x seed of ``config``; returns the :class:`Study`.

    ``checkpoint``: a folder; each finished data set is written there and skipped when the same
    configuration runs again (a crash loses at most the data sets in progress). ``n_jobs`` > 1 runs
    that many data sets at once in worker processes (one thread each; the progress bar then moves
    when a data set finishes). Results do not depend on ``n_jobs``: every unit is seeded.
    """
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one unit at a time on one thread: no oversubscription on shared cores
    try:
        with threadpool_limits(1):
            return _run_study(config, progress, checkpoint, n_jobs)
    finally:
        torch.set_num_threads(threads)


def _write_partial(checkpoint, name, config, seconds, records) -> None:
    path = _checkpoint_path(checkpoint, name)
    if path is None:
        return
    os.makedirs(checkpoint, exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump({"config": config_dict(config), "seconds": seconds, "records": records}, fh)
    os.replace(path + ".tmp", path)


def _dataset_job(name, config, checkpoint, bar=None, data=None):
    """One data set from start to checkpoint: (records, seconds). Also the body of a worker process."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    with threadpool_limits(1):
        data = data if data is not None else load_study_data(name, max_rows=config.max_rows)
        t0 = time.perf_counter()
        records = _run_dataset(data, config, bar)
        spent = time.perf_counter() - t0
    _write_partial(checkpoint, name, config, spent, records)
    return records, spent


def _run_study(config, progress, checkpoint, n_jobs) -> Study:
    start = time.perf_counter()
    loaded = {name: load_study_data(name, max_rows=config.max_rows) for name in config.datasets}
    done = {name: _load_partial(_checkpoint_path(checkpoint, name), config) for name in loaded}
    units = {name: len(families_for(d)) * len(config.seeds) for name, d in loaded.items()}
    pending = [n for n in loaded if done[n] is None]
    results = {n: (done[n]["records"], done[n]["seconds"]) for n in loaded if done[n] is not None}
    with progress_bar(progress, total=sum(units[n] for n in pending), desc="study", unit="fit") as bar:
        if n_jobs > 1 and len(pending) > 1:
            from joblib import Parallel, delayed

            order = sorted(pending, key=lambda n: not loaded[n].images)  # images (the slowest) first
            jobs = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")(
                delayed(_dataset_job)(n, config, checkpoint) for n in order)
            for name, result in zip(order, jobs):
                results[name] = result
                if bar is not None:
                    bar.set_postfix_str(f"{name} done")
                    bar.update(units[name])
        else:
            for name in pending:
                results[name] = _dataset_job(name, config, checkpoint, bar, loaded[name])
    records = [r for n in loaded for r in results[n][0]]
    before = sum(done[n]["seconds"] for n in loaded if done[n] is not None)
    elapsed = before + (time.perf_counter() - start if pending else 0.0)
    return Study(config, pd.DataFrame(records), elapsed, [_describe(d) for d in loaded.values()])


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
    pairs reduced to disjoint ones and the sign-flip test they were read with; a version
    newer than this code raises a DataError.
    """
    with open(path, encoding="utf-8") as fh:
        record = json.load(fh)
    version = record["study"].get("version", 1)
    if version not in (1, 2):
        raise DataError(f"{path} is a study report of version {version}; this explain reads versions 1 and 2: "
                        "upgrade explain or re-run `python -m explain study`.")
    raw = dict(record["study"]["config"])
    datasets = raw.get("datasets", [])
    info = [d for d in datasets if isinstance(d, dict)]
    raw["datasets"] = [d["name"] if isinstance(d, dict) else d for d in datasets]
    raw.pop("families", None)
    known = set(StudyConfig.__dataclass_fields__)
    cfg = {k: _tuples(v) for k, v in raw.items() if k in known}
    if version == 1:
        cfg["test"] = "sign_flip"
    rows = pd.DataFrame(record["study"].get("records") or record["scores"])  # reports before 1.0: scores
    if version == 1:
        rows = _disjoint_refit_pairs(rows, cfg.get("seeds", ()))
    study = Study(StudyConfig(**cfg), rows, float(record["study"].get("seconds") or 0.0), info)
    study.source = f"{path} (a run of {study.seconds / 60:.1f} minutes)"
    study.records_version = version
    return study


def _tuples(v):
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def config_dict(config: StudyConfig) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}
