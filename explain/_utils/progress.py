"""One progress bar for explain() and compare(), ours instead of the libraries' own.

``progress="auto"`` shows a tqdm bar in an interactive terminal, or a widget in
Jupyter (``tqdm.auto``) when ipywidgets is installed (without it a notebook gets
no bar: tqdm's text fallback would print red stderr lines), only once the work has run for two
seconds, and never when stderr is not a terminal (a log file, a captured stream)
or with ``EXPLAIN_PROGRESS=0``. True forces it, False silences it. shap, LIME
and captum are called with their own bars off.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys

__all__ = ["progress_bar", "show_progress", "import_shap", "quiet_tqdm"]

DELAY_SECONDS = 2.0


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = shell.get_ipython() if hasattr(shell, "get_ipython") else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def show_progress(progress) -> bool:
    """Whether to draw a bar for ``progress`` ("auto", True or False)."""
    if progress not in ("auto", True, False):
        raise ValueError(f"progress must be 'auto', True or False, got {progress!r}.")
    if progress != "auto":
        return bool(progress)
    if os.environ.get("EXPLAIN_PROGRESS", "").strip() in ("0", "false", "no"):
        return False
    if _in_notebook():
        return _has_widgets()
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def _has_widgets() -> bool:
    import importlib.util

    return importlib.util.find_spec("ipywidgets") is not None


@contextlib.contextmanager
def progress_bar(progress, *, total: int, desc: str, unit: str = "row"):
    """A tqdm bar (or None when silent) that is closed however the block ends."""
    if not show_progress(progress):
        yield None
        return
    from tqdm.auto import tqdm

    # a pseudo-terminal without a size (script -c, CI runners, some IDEs) reports 0 x 0, and tqdm then hides
    # every bar (its row is past the last of 0 rows): give it 80 x 24 there
    sized = _in_notebook() or shutil.get_terminal_size((0, 0)).lines > 0
    bar = tqdm(total=total, desc=desc, unit=unit, delay=0.0 if progress is True else DELAY_SECONDS, leave=False,
               **({} if sized else {"ncols": 80, "nrows": 24}))
    try:
        yield bar
    finally:
        bar.close()


def quiet_tqdm() -> None:
    """Import ``tqdm.auto`` once without its notebook warning. shap and captum import it at module level, and in
    a Jupyter kernel without ipywidgets it warns "IProgress not found" on stderr, although explain always calls
    them with their own bars off (our bar is :func:`progress_bar`). Only that warning of that import is ignored;
    the module then stays imported, so later imports of shap or captum do not warn."""
    import importlib
    import warnings

    from tqdm import TqdmWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found", category=TqdmWarning)
        importlib.import_module("tqdm.auto")


def import_shap():
    """shap, imported after :func:`quiet_tqdm`."""
    quiet_tqdm()
    import shap

    return shap
