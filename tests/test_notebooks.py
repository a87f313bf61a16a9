"""The notebooks run top to bottom in a fresh kernel."""

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
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream" and o.name == "stdout")
    # version 2: the verdict answers each stated hypothesis and names its test and correction
    assert all(f"{h}: " in text for h in ("H1", "H2", "H3")) and "Holm correction over the" in text
    assert text.count("Answer: ") == 3 and "paired t-test" in text
    # nothing on stderr (no warning, no progress bar printed as text), and the forest plot drawn inline
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert any("<svg" in o.get("data", {}).get("image/svg+xml", "") for o in outputs)
    # the comparisons table shows the test, the effect with its interval and both p-values
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert all(f"<th>{c}</th>" in html for c in ("test", "effect", "ci_low", "ci_high", "p_value", "p_adjusted",
                                                 "decision"))
