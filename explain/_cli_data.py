"""What the command line reads: the data file, which of its rows to explain, and the background.

Rows are chosen by position (``--rows``: a count, a slice or a list) or by the values of an id column
(``--id-column`` with ``--ids``); the background is a seeded sample of ``--background`` (default: the data
file). Every choice comes back with a sentence for the report, so nothing is chosen silently. A mistake
is a ``CLIError``: one line on stderr, exit status 2.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

__all__ = ["CLIError", "RowSpec", "Selection", "parse_rows", "read_data", "select_rows", "choose_background", "file_sha256",
           "check_features", "split_values"]


class CLIError(Exception):
    """A user mistake on the command line: printed as one line, exit status 2."""


def split_values(values):
    """``--opt a,b --opt c`` as ``["a", "b", "c"]`` (``None`` when the option was not given)."""
    if values is None:
        return None
    return [v for item in values for v in item.split(",") if v]


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes: the same hex digest as ``sha256sum path``."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_data(path, target, categorical=None, *, what="data", target_required=True):
    """CSV (string columns as text; ``categorical`` columns as category dtype) or Parquet (dtypes kept).

    Returns the frame without ``target`` and the target's values (``None`` without one, or when
    ``target_required`` is false and the file has no such column).
    """
    import pandas as pd

    if not os.path.exists(path):
        raise CLIError(f"{what} file not found: {path}")
    suffix = os.path.splitext(path)[1].lower()
    try:
        df = pd.read_parquet(path) if suffix in (".parquet", ".pq") else pd.read_csv(path)
    except Exception as exc:
        raise CLIError(f"could not read {path}: {type(exc).__name__}: {exc}") from exc
    for col in categorical or []:
        if col not in df.columns:
            raise CLIError(f"--categorical column {col!r} is not in {path}; columns are {list(df.columns)[:20]}")
        df[col] = df[col].astype("category")
    y = None
    if target is not None and (target_required or target in df.columns):
        if target not in df.columns:
            raise CLIError(f"--target column {target!r} is not in {path}; columns are {list(df.columns)[:20]}")
        y = df.pop(target).to_numpy()
    return df, y


def check_features(models: dict, X, path: str, target) -> None:
    """A column that no model takes, with no ``--target``: most likely the label, so say how to drop it."""
    if target is not None:
        return
    for name, model in models.items():
        names = getattr(model, "feature_names_in_", None)
        if names is None:
            continue
        extra = [c for c in X.columns if c not in set(map(str, names))]
        if extra:
            raise CLIError(f"column {extra[0]!r} of {path} is not a feature of model {name!r}"
                           + (f" (nor are {extra[1:6]})" if len(extra) > 1 else "")
                           + f": if it is the label, pass --target {extra[0]}")


# -- which rows -------------------------------------------------------------------------------------------------

class RowSpec:
    """A parsed ``--rows``: ``kind`` is "count" (the first N), "slice" (start:stop[:step]) or "list" (positions)."""

    def __init__(self, text: str, kind: str, value):
        self.text, self.kind, self.value = text, kind, value


_INT = r"-?\d+"


def parse_rows(text: str) -> RowSpec:
    """``--rows``: ``N`` (the first N rows), ``START:STOP[:STEP]`` (positions, as a Python slice; either end may
    be left out) or ``P1,P2,...`` (positions; one position is ``P,``). Checked before any work."""
    text = str(text).strip()
    if re.fullmatch(r"\d+", text):
        if int(text) == 0:
            raise CLIError("--rows 0 selects no rows: give a count above 0, a slice such as 0:50 or positions "
                           "such as 3,7,12")
        return RowSpec(text, "count", int(text))
    if re.fullmatch(rf"({_INT})?:({_INT})?(:({_INT})?)?", text):
        parts = [int(p) if p else None for p in text.split(":")]
        if len(parts) == 3 and parts[2] == 0:
            raise CLIError(f"--rows {text}: a slice's step cannot be 0")
        return RowSpec(text, "slice", slice(*parts))
    if "," in text and re.fullmatch(rf"({_INT})?(,({_INT})?)*", text):
        positions = [int(p) for p in text.split(",") if p]
        if positions:
            return RowSpec(text, "list", positions)
    raise CLIError(f"--rows {text}: give a count (50), a slice of positions (0:50, 100:, ::10) or a list of "
                   "positions (3,7,12); to choose rows by an id column use --id-column NAME --ids A,B")


def _describe(positions, limit: int = 12) -> str:
    shown = ", ".join(str(p) for p in positions[:limit])
    return shown + (f", ... ({len(positions)} in all)" if len(positions) > limit else "")


@dataclass(frozen=True)
class Selection:
    """The chosen rows: all the data's features (the id column dropped), the chosen rows' features, their
    positions in the file, one id per chosen row (the id column's values, or the data's index) and a
    sentence for the report saying which they are."""

    features: object
    rows: object
    positions: list
    row_ids: list
    sentence: str


def select_rows(X, *, rows: RowSpec | None, id_column: str | None, ids, path: str) -> Selection:
    """The rows to explain (``X`` still holds the id column, if any: it is dropped from the features here)."""
    n, name = len(X), os.path.basename(path)
    if ids is not None and id_column is None:
        raise CLIError("--ids needs --id-column: the column whose values name the rows")
    if ids is not None and rows is not None:
        raise CLIError("give either --rows (positions) or --ids (values of --id-column), not both")
    id_values = None
    if id_column is not None:
        if id_column not in X.columns:
            raise CLIError(f"--id-column {id_column!r} is not in {path}; columns are {list(X.columns)[:20]}")
        id_values = X[id_column].astype(str).to_numpy()
        X = X.drop(columns=[id_column])
    if ids is not None:
        positions = []
        for value in ids:
            hits = [int(i) for i in (id_values == value).nonzero()[0]]
            if not hits:
                raise CLIError(f"--ids: no row of {path} has {id_column} = {value!r} (first values: "
                               f"{list(id_values[:5])})")
            if len(hits) > 1:
                raise CLIError(f"--ids: {id_column} = {value!r} names {len(hits)} rows of {path} (positions "
                               f"{hits[:5]}): an id column must name one row each")
            positions.append(hits[0])
        sentence = (f"{len(positions)} of the {n} rows of {name}, chosen by {id_column}: {_describe(list(ids))} "
                    f"(positions {_describe(positions)})")
    else:
        rows = rows or parse_rows("50")
        if rows.kind == "count":
            positions = list(range(min(rows.value, n)))
            sentence = (f"the first {len(positions)} of {n} rows of {name} (--rows {rows.text})"
                        + (f"; the file has fewer than {rows.value}" if rows.value > n else ""))
        elif rows.kind == "slice":
            positions = list(range(n))[rows.value]
            sentence = (f"{len(positions)} of the {n} rows of {name} (--rows {rows.text}): positions "
                        f"{_describe(positions)}")
        else:
            bad = [p for p in rows.value if not 0 <= p < n]
            if bad:
                raise CLIError(f"--rows {rows.text}: position {bad[0]} is out of range; {path} has {n} rows "
                               f"(positions 0 to {n - 1})")
            positions = rows.value
            sentence = f"{len(positions)} of the {n} rows of {name}: positions {_describe(positions)}"
        if not positions:
            raise CLIError(f"--rows {rows.text} selects no rows of {path}, which has {n} rows")
    if len(set(positions)) != len(positions):
        twice = next(p for p in positions if positions.count(p) > 1)
        raise CLIError(f"row position {twice} is chosen twice: explain each row once")
    selected = X.iloc[positions]
    row_ids = list(selected.index) if id_values is None else list(id_values[positions])
    if id_values is not None and len(set(row_ids)) != len(row_ids):
        twice = next(v for v in row_ids if row_ids.count(v) > 1)
        raise CLIError(f"--id-column {id_column}: {twice!r} names more than one of the chosen rows; an id "
                       "column must name one row each")
    return Selection(X, selected, positions, row_ids, sentence)


# -- the background ---------------------------------------------------------------------------------------------

def choose_background(X, *, path: str | None, data_path: str, size: int, seed: int, target=None,
                      categorical=None, id_column=None):
    """The background rows and what they are: a sample of ``size`` rows (seeded by ``seed``) of the
    ``--background`` file, or of the data when no file is given; every row when there are no more.

    Returns ``(background, fields)``: the frame, with ``X``'s columns in ``X``'s order, and the provenance
    fields saying where it came from, how many rows and the seed.
    """
    if size < 1:
        raise CLIError(f"--background-size {size}: give at least 1 row")
    fields = {}
    source = X
    if path is not None:
        source, _ = read_data(path, target, categorical, what="background", target_required=False)
        if id_column is not None and id_column in source.columns:
            source = source.drop(columns=[id_column])
        missing = [c for c in X.columns if c not in source.columns]
        extra = [c for c in source.columns if c not in X.columns]
        if missing or extra:
            raise CLIError(f"--background {path} does not have the data's columns: "
                           + "; ".join(p for p in (f"missing {missing[:6]}" if missing else "",
                                                   f"extra {extra[:6]}" if extra else "") if p))
        if len(source) == 0:
            raise CLIError(f"--background {path} has no rows")
        source = source[list(X.columns)].copy()
        for col in X.columns:  # the same dtypes as the data (categories, integers read as floats)
            if source[col].dtype != X[col].dtype:
                try:
                    source[col] = source[col].astype(X[col].dtype)
                except (TypeError, ValueError) as exc:
                    raise CLIError(f"--background {path}: column {col!r} cannot be read as the data's "
                                   f"{X[col].dtype} ({exc})") from exc
        fields["background_sha256"] = file_sha256(path)
    name = os.path.basename(path if path is not None else data_path)
    origin = "the --background file" if path is not None else "the data file (no --background given)"
    if len(source) > size:
        background = source.sample(size, random_state=seed)
        fields["background"] = (f"{size} rows sampled without replacement from the {len(source)} rows of {name}, "
                                f"{origin}, with seed {seed} (--background-size {size})")
    else:
        background = source
        fields["background"] = f"all {len(source)} rows of {name}, {origin} (--background-size {size})"
    return background, fields
