"""Log an explain report to MLflow: the HTML, JSON and Markdown as artifacts, the scorecard as metrics.

Unlike ``mlflow.shap.log_explanation`` (two .npy files and a PNG), the bundle keeps
feature names, seeds, provenance and every score, and ``explain.load_report``
reads it back for a later diff. Needs ``mlflow-skinny`` (``pip install
explain[mlflow]``). Where to log without a server: a ``file:`` store, which
MLflow 3 opens only with ``MLFLOW_ALLOW_FILE_STORE=true`` in the environment
(mlflow-skinny alone has no SQLite store, which needs ``sqlalchemy`` and ``alembic``,
and no ``mlflow server``, which needs Flask too: the full ``mlflow`` package); any
``http(s)://`` tracking server works as well.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile

import numpy as np

from ..errors import ExplainError

__all__ = ["log_report"]

_BUNDLE_KEYS = {"title", "provenance", "explanations", "scores"}


def _metric_name(*parts) -> str:
    """MLflow metric names allow letters, digits, _ - . / and spaces; anything else becomes _."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", ".".join(str(p) for p in parts))


def _from_bundle(bundle: dict):
    """A Report rebuilt from a loaded bundle: its explanations, provenance, notes, and its scores as a table."""
    from ..report.build import _table, build_report
    from ..report.tables import Section

    report = build_report(bundle["explanations"], title=bundle["title"], provenance_fields=bundle["provenance"])
    sections = list(report.sections)
    if bundle["scores"] is not None and len(bundle["scores"]):
        sections.insert(1, Section("table", "Scores", {"table": _table(bundle["scores"]), "note": "the scores of the logged bundle"}))
    return dataclasses.replace(report, sections=sections, scores=bundle["scores"],
                               notes=dict(bundle.get("notes") or {}))


def _sources(report):
    """(Report, {suffix: ("file", path) or ("text", text) of the original}) for a Report, a loaded bundle or a saved report's path."""
    if isinstance(report, (str, os.PathLike)):
        from ..report.bundle import load_report

        path = os.fspath(report)
        if not os.path.isfile(path):
            raise ExplainError(f"log_report: no report file at {path!r}; pass a Report, a bundle from "
                               "explain.load_report(...) or the path of a saved .json/.html report.")
        bundle = load_report(path)  # validates it: a damaged file fails here with one line
        suffix = ".html" if os.path.splitext(path)[1].lower() in (".html", ".htm") else ".json"
        return _from_bundle(bundle), {suffix: ("file", path)}
    if isinstance(report, dict):
        missing = _BUNDLE_KEYS - set(report)
        if missing:
            raise ExplainError(f"log_report: the dict has no {sorted(missing)}: pass a bundle as "
                               "explain.load_report(path) returns it, a Report, or a report file's path.")
        originals = {}
        if report.get("record") is not None:  # load_report keeps the file's record: log it unchanged
            originals[".json"] = ("text", json.dumps(report["record"], indent=1, allow_nan=False) + "\n")
        return _from_bundle(report), originals
    if not all(hasattr(report, a) for a in ("scores", "save")):
        raise ExplainError(f"log_report takes a Report (explain.build_report), a bundle from explain.load_report "
                           f"or the path of a saved report; got {type(report).__name__}.")
    return report, {}


def log_report(report, run_id: str | None = None, *, artifact_path: str = "explain", stem: str = "report") -> dict:
    """Log a report to the active run (or ``run_id``); returns the logged metrics.

    Parameters
    ----------
    report : Report, dict or path
        A :class:`~explain.report.build.Report`, a bundle as :func:`explain.load_report` returns it, or the
        path of a report saved as .json or .html. A loaded bundle or a file is logged as it was (the JSON
        record, the HTML file) and the other formats are rendered from it.
    run_id : str, optional
        Default: the active run.

    Artifacts: ``<artifact_path>/<stem>.html``, ``.json`` and ``.md`` (with its figures). Metrics: every
    finite score as ``explain.<model>.<method>.<metric>``.
    """
    import mlflow

    report, originals = _sources(report)
    metrics = {}
    if report.scores is not None:
        for row in report.scores.itertuples(index=False):
            if np.isfinite(row.value):
                metrics[_metric_name("explain", row.model, row.method, row.metric)] = float(row.value)
    client = mlflow.MlflowClient()
    active = mlflow.active_run()
    if run_id is None:
        if active is None:
            raise RuntimeError("no active MLflow run: call inside `with mlflow.start_run():` or pass run_id")
        run_id = active.info.run_id
    with tempfile.TemporaryDirectory() as tmp:
        for ext in (".html", ".json", ".md"):
            target = os.path.join(tmp, stem + ext)
            kind, original = originals.get(ext, (None, None))
            if kind == "file":
                shutil.copyfile(original, target)
            elif kind == "text":
                with open(target, "w", encoding="utf-8") as fh:
                    fh.write(original)
            else:
                report.save(target)
        client.log_artifacts(run_id, tmp, artifact_path=artifact_path)
    for name, value in metrics.items():
        client.log_metric(run_id, name, value)
    return metrics
