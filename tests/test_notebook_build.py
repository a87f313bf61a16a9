"""The committed notebooks are executed (built by notebooks/build.py): outputs, an inline figure, no error,
no stderr line (warnings, red progress bars); in a notebook without ipywidgets our bar stays silent."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def _build_module():
    spec = importlib.util.spec_from_file_location("notebook_build", NOTEBOOKS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_quickstart_is_executed_with_an_inline_figure():
    nb = nbformat.read(NOTEBOOKS / "01_quickstart.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs for c in code), [c.source[:40] for c in code if not c.outputs]
    assert _build_module().problems(nb) == []  # no error, no stderr output
    outputs = [o for c in code for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the inline backend drew the figure
    assert not any("<Figure size" in o.get("data", {}).get("text/plain", "") and "image/png" not in o.get("data", {})
                   for o in outputs)
    assert "matplotlib.use" not in "".join(c.source for c in code)


def test_committed_study_notebook_is_version_2_executed_without_filters():
    nb = nbformat.read(NOTEBOOKS / "02_are_deep_models_harder_to_explain.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs for c in code), [c.source[:40] for c in code if not c.outputs]
    assert _build_module().problems(nb) == []  # no error, no stderr output
    assert "filterwarnings" not in "".join(c.source for c in code)  # warnings are fixed at their cause
    outputs = [o for c in code for o in c.outputs]
    assert any("<svg" in o.get("data", {}).get("image/svg+xml", "") for o in outputs)  # the forest plot
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert all(f"{h}: " in text for h in ("H1", "H2", "H3")) and "paired t-test" in text


def test_build_reports_errors_and_stderr_lines():
    build = _build_module()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stderr", text="UserWarning: X has feature names\n"),
                           nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=[])]
    assert build.problems(nb) == ["cell 0: stderr: UserWarning: X has feature names", "cell 0: ValueError: bad"]


def test_no_text_bar_in_a_notebook_without_widgets(monkeypatch):
    from explain._utils import progress

    monkeypatch.delenv("EXPLAIN_PROGRESS", raising=False)
    monkeypatch.setattr(progress, "_in_notebook", lambda: True)
    monkeypatch.setattr(progress, "_has_widgets", lambda: False)
    assert progress.show_progress("auto") is False and progress.show_progress(True) is True
    monkeypatch.setattr(progress, "_has_widgets", lambda: True)
    assert progress.show_progress("auto") is True


@pytest.mark.parametrize("name", ["01", "02_are"])
def test_build_finds_the_notebook_by_its_number(name, monkeypatch):
    build = _build_module()
    ran = []
    monkeypatch.setattr(build, "execute", lambda path, timeout: (ran.append(path.name), (_empty(), 0.0))[1])
    assert build.main([name, "--check"]) == 0
    assert len(ran) == 1 and ran[0].startswith(name)


def _empty():
    return nbformat.v4.new_notebook()
