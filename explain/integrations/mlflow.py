"""Log an explain report to MLflow: the HTML, JSON and Markdown as artifacts, the scorecard as metrics.

Unlike ``mlflow.shap.log_explanation`` (two .npy files and a PNG), the bundle keeps
feature names, seeds, provenance and every score, and ``explain.load_report``
reads it back for a later diff. Needs ``mlflow-skinny`` (``pip install
explain[mlflow]``); works with any tracking URI, a ``file:`` store included.
"""

from __future__ import annotations

import os
import re
import tempfile

import numpy as np

__all__ = ["log_report"]


def _metric_name(*parts) -> str:
    """MLflow metric names allow letters, digits, _ - . / and spaces; anything else becomes _."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", ".".join(str(p) for p in parts))


def log_report(report, run_id: str | None = None, *, artifact_path: str = "explain", stem: str = "report") -> dict:
    """Log ``report`` to the active run (or ``run_id``); returns the logged metrics.

    Artifacts: ``<artifact_path>/<stem>.html``, ``.json`` and ``.md`` (with its figures). Metrics: every
    finite score as ``explain.<model>.<method>.<metric>``.
    """
    import mlflow

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
            report.save(os.path.join(tmp, stem + ext))
        client.log_artifacts(run_id, tmp, artifact_path=artifact_path)
    for name, value in metrics.items():
        client.log_metric(run_id, name, value)
    return metrics
