"""Re-execute the notebooks in a fresh kernel and write their outputs back into them.

    python notebooks/build.py                 # both notebooks
    python notebooks/build.py 01_quickstart   # one (a name or a file)
    python notebooks/build.py --check         # execute, write nothing, exit 1 on an error or a stderr line

Each notebook runs top to bottom in a new ``python3`` kernel (nbclient), with this folder as the working
directory; figures come from the inline backend. A cell that raises stops the build and leaves the file as it
was. After execution the outputs are checked: no errors and no stderr lines (a warning or a progress bar
printed as text means a cause to fix, not something to commit). Execution counts and timestamps in the
metadata are removed, so a rebuild on the same machine changes only what really changed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOKS = ("01_quickstart.ipynb", "02_are_deep_models_harder_to_explain.ipynb")


def execute(path: Path, *, timeout: int = 1200):
    """Execute ``path`` in a fresh kernel; the executed notebook (nbformat node) and the seconds it took."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb, time.perf_counter() - start


def problems(nb) -> list[str]:
    """Errors and stderr output of an executed notebook, one line each (cell number and the first line)."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.output_type == "error":
                found.append(f"cell {i}: {out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr":
                found.append(f"cell {i}: stderr: {out.text.strip().splitlines()[0] if out.text.strip() else ''}")
    return found


def clean(nb) -> None:
    """Drop what changes on every run and says nothing: execution timing metadata."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebooks to build (default: both)")
    parser.add_argument("--check", action="store_true", help="execute and check only; write nothing")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    args = parser.parse_args(argv)
    import nbformat

    paths = []
    for name in args.names or NOTEBOOKS:
        match = [n for n in NOTEBOOKS if n == name or n.startswith(Path(name).stem)]
        if not match:
            parser.error(f"unknown notebook {name!r}; choose from {', '.join(NOTEBOOKS)}")
        paths.append(HERE / match[0])
    status = 0
    for path in paths:
        nb, seconds = execute(path, timeout=args.timeout)
        found = problems(nb)
        print(f"{path.name}: executed in {seconds:.0f} s" + (f"; {len(found)} problem(s)" if found else ""))
        for line in found:
            print("  " + line)
        if found:
            status = 1
            continue
        if not args.check:
            clean(nb)
            nbformat.write(nb, path)
            print(f"wrote {path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
