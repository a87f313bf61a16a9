"""The quickstart notebook runs top to bottom in a fresh kernel."""

from __future__ import annotations

import pytest

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def _execute(name, tmp_path, timeout=600):
    """Run a notebook top to bottom in a fresh kernel; its outputs, none of them an error."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    return outputs


@pytest.mark.slow
def test_quickstart_notebook_executes(tmp_path):
    outputs = _execute("01_quickstart.ipynb", tmp_path)
    html = [o for o in outputs if "text/html" in o.get("data", {})]
    assert any("ExplanationSet" in o["data"]["text/html"] for o in html)
    assert any("Comparison" in o["data"]["text/html"] for o in html)


@pytest.mark.slow
def test_study_notebook_executes(tmp_path):
    outputs = _execute("02_are_deep_models_harder_to_explain.ipynb", tmp_path, timeout=900)
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    # the verdict answers each stated hypothesis and names its test and correction
    assert "H1:" in text and "Answer:" in text and "paired t-test" in text and "Holm" in text
