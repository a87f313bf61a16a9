"""Explanations of more rows than fit in memory: stream them to Parquet, read them back lazily.

``to_parquet`` validates the model, the methods and the background once, on the
first batch, then explains one batch of rows after another and appends each to
the file, so memory is bounded by the batch, not by the number of rows. Rows
keep their index in the whole input (``row_id``), and every row draws its
randomness from the stream keyed by that index, so the file holds the same
numbers as ``explain()`` on all rows at once, whatever the batch size.

Layout: one Parquet row per (explained row, method) with columns ``row_id``
(int64), ``method`` (string), ``target`` (the explained class label in its own
type: int64, float64, bool or string; null for regression), ``target_index``
(int64, the class's position in the model's classes), ``base_value`` and
``prediction`` (float64), ``exact`` (bool, per row: never a flag taken from one
batch for all) and ``values`` and ``data`` (fixed-size lists of float64, one
entry per feature; ``data`` holds category codes for string and category
columns), and ``stderr`` (a list of float64 per row, null on rows of exact results: the
standard errors of sampled values; optional, so files written before it are
read with ``stderr`` None, and readers that predate it ignore it). The schema
metadata key ``explain`` holds JSON with the format version, feature names, output, model name, image shape, each method's
parameters from the first batch, the model's classes and the codec (each
column's categories and dtype), so the reader gives back labels and original
values, not codes. Files of format 1 (``target`` = class index) are still read. A Dask DataFrame is explained partition by
partition on the cluster and written as a directory of parts.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..engine.config import ExplainConfig
from ..engine.plan import prepare
from .._utils.progress import progress_bar
from .._utils.validation import Integer, validate_params
from ..errors import DataError
from .._utils.portable import codec_from_json, label_array
from ..explanation import Explanation
from ._arrow import FORMAT, FORMATS, OPTIONAL_COLUMNS, _schema, explain_batch

__all__ = ["to_parquet", "read_explanations", "ExplanationReader", "FORMAT"]

DEFAULT_BATCH_ROWS = 65_536


def _batches(X, batch_rows: int):
    """(rows, number of rows in all) from an array, a DataFrame, or a Parquet file or directory."""
    import pandas as pd

    if isinstance(X, (str, os.PathLike)):
        import pyarrow.dataset as ds

        dataset = ds.dataset(os.fspath(X), format="parquet")
        total = dataset.count_rows()

        def gen():
            for batch in dataset.to_batches(batch_size=batch_rows):
                if batch.num_rows:
                    yield batch.to_pandas()
        return gen(), total
    if isinstance(X, pd.Series):
        raise DataError("X must be 2-D rows (array, DataFrame or Parquet path), not a Series")
    if hasattr(X, "iloc"):
        return (X.iloc[s:s + batch_rows] for s in range(0, len(X), batch_rows)), len(X)
    arr = X if hasattr(X, "shape") else np.asarray(X)
    return (arr[s:s + batch_rows] for s in range(0, arr.shape[0], batch_rows)), int(arr.shape[0])


def to_parquet(model, X, path, *, background=None, batch_size=DEFAULT_BATCH_ROWS, **options) -> str:
    """Explain ``X`` batch by batch and write the explanations to Parquet.

    Parameters
    ----------
    model : fitted model
        As for :func:`explain`.
    X : array-like, DataFrame, path to a Parquet file or directory, or dask.dataframe.DataFrame
        Rows to explain. A path is read ``batch_size`` rows at a time; a Dask
        DataFrame is explained on the cluster, one part written per partition.
    path : str or path-like
        The Parquet file to write (a directory of parts for a Dask DataFrame).
        Written to a temporary name and renamed when complete: a failed run
        leaves no half-written file behind.
    background : array-like, optional
        As for :func:`explain`. Without a background, at most 100 rows of the
        first batch serve as one.
    batch_size : int, default=65536
        Rows read and explained at a time; memory is bounded by it.
    **options
        Any :func:`explain` option (methods, target, output, random_state,
        method_params, n_jobs, progress, backend, ...), validated into one
        :class:`~explain.engine.config.ExplainConfig` (n_jobs applies within
        each batch; ``target`` must be one class for all rows).

    Returns
    -------
    str
        The path written.
    """
    import pyarrow.parquet as pq

    validate_params("to_parquet", {"batch_size": [Integer(1)]}, {"batch_size": batch_size})
    config = ExplainConfig.build("to_parquet", **options)
    if config.target is not None and np.ndim(config.target) > 0:
        raise DataError("to_parquet takes one target for all rows (a class label or index), not one per row")
    if type(X).__module__.startswith("dask."):
        from .dask_parquet import dask_to_parquet

        return dask_to_parquet(model, X, path, config, background=background)
    path = os.fspath(path)
    batches, total = _batches(X, int(batch_size))
    first = next(batches, None)
    if first is None:
        raise DataError("X has no rows to explain")
    plan = prepare(model, first, config, background=background)
    tmp = path + ".partial"
    writer = None
    offset = 0
    try:
        with progress_bar(config.progress, total=total * len(plan.methods), desc=plan.adapter.name) as bar:
            for k, rows in enumerate(_chain(first, batches)):
                Xa = plan.X if k == 0 else plan.check_rows(rows)
                explanations, table = explain_batch(plan, Xa, offset, bar=bar)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
                offset += len(Xa)
        writer.close()
        writer = None
        os.replace(tmp, path)
    finally:
        if writer is not None:
            writer.close()
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _chain(first, rest):
    yield first
    yield from rest


class ExplanationReader:
    """Explanations in a Parquet file or directory, read lazily (nothing is loaded until asked).

    Attributes
    ----------
    path : str
    methods : list of str
    feature_names : list of str
    output, model_name : str
    n_rows : int
        Explained rows (per method).
    """

    def __init__(self, path):
        import pyarrow.dataset as ds

        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"no explanations at {self.path!r}")
        self._dataset = ds.dataset(self.path, format="parquet")
        meta = _checked_metadata(self.path, self._dataset.schema)
        self.meta = meta
        self.methods = list(meta["methods"])
        self.feature_names = list(meta["feature_names"])
        self.output = meta["output"]
        self.model_name = meta["model_name"]
        self.image_shape = None if meta.get("image_shape") is None else tuple(meta["image_shape"])
        self.classes = None if meta.get("classes") is None else label_array(meta["classes"])
        self.codec = codec_from_json(meta.get("codec"), where=self.path)
        if self.codec is not None and self.codec.names != self.feature_names:
            raise DataError(f"{self.path!r}: the column description does not match the feature names")
        self.n_rows = self._dataset.count_rows() // max(1, len(self.methods))

    def __repr__(self) -> str:
        return (f"ExplanationReader({self.path!r}: {self.n_rows} rows x {len(self.feature_names)} features, "
                f"methods {self.methods})")

    def _check_method(self, method):
        if method not in self.methods:
            raise KeyError(f"no method {method!r} in {self.path!r}; it holds {self.methods}")

    def iter_batches(self, method: str, *, batch_size: int = DEFAULT_BATCH_ROWS):
        """Yield :class:`Explanation` objects of at most ``batch_size`` rows each, in row_id order per part."""
        import pyarrow.compute as pc

        self._check_method(method)
        for batch in self._dataset.to_batches(filter=pc.field("method") == method, batch_size=batch_size):
            if batch.num_rows:
                yield self._explanation(method, batch)

    def to_explanation(self, method: str) -> Explanation:
        """All rows of one method as one Explanation, sorted by row_id."""
        import pyarrow.compute as pc

        self._check_method(method)
        table = self._dataset.to_table(filter=pc.field("method") == method)
        table = table.sort_by("row_id")
        return self._explanation(method, table)

    def to_pandas(self, columns=None):
        """The long table (row_id, method, target, base_value, prediction, exact, values, data) as pandas."""
        return self._dataset.to_table(columns=columns).to_pandas()

    def row_ids(self, method: str) -> np.ndarray:
        import pyarrow.compute as pc

        self._check_method(method)
        return np.sort(self._dataset.to_table(columns=["row_id"], filter=pc.field("method") == method)
                       .column("row_id").to_numpy())

    def _explanation(self, method, table) -> Explanation:
        d = len(self.feature_names)
        n = table.num_rows
        values = _matrix(table.column("values"), n, d)
        data = _matrix(table.column("data"), n, d)
        target, index = self._targets(table)
        params = dict(self.meta["methods"][method])
        params["exact"] = bool(np.all(table.column("exact").to_numpy(zero_copy_only=False)))
        params["row_ids"] = table.column("row_id").to_numpy()
        return Explanation(values, table.column("base_value").to_numpy(), data, self.feature_names,
                           output=self.output, method=method, model_name=self.model_name, target=target,
                           target_index=index, params=params, image_shape=self.image_shape, codec=self.codec,
                           stderr=self._stderr(table, n, d))

    def _stderr(self, table, n: int, d: int):
        """The stderr matrix (NaN on rows stored without one), or None if no row has one or the file predates it."""
        if "stderr" not in table.column_names or table.column("stderr").null_count == n:
            return None
        column = table.column("stderr")
        out = np.full((n, d), np.nan)
        present = ~np.asarray(column.is_null(), dtype=bool)
        out[present] = _matrix(column.drop_null(), int(present.sum()), d)
        return out

    def _targets(self, table):
        """(labels, indices) of the explained classes; a format-1 file stored only the indices."""
        n = table.num_rows
        new = "target_index" in table.column_names
        column = table.column("target_index" if new else "target")
        if column.null_count == n:
            return None, None
        if column.null_count:
            raise DataError(f"{self.path!r}: some rows have a target and some none")
        index = column.to_numpy(zero_copy_only=False).astype(int)
        if not new:
            return index, index
        k = 0 if self.classes is None else len(self.classes)
        if index.min() < 0 or index.max() >= k:
            raise DataError(f"{self.path!r}: a target_index is not a position in the {k} stored classes")
        return self.classes[index], index


def _checked_metadata(path: str, schema) -> dict:
    """The ``explain`` metadata of a file, refused unless it and the columns have exactly the written form.

    A file handed to us is hostile until proven otherwise: the JSON is parsed as data only, each field's type
    is checked, and the value columns must hold one float per named feature.
    """
    raw = (schema.metadata or {}).get(b"explain")
    try:
        meta = json.loads(raw) if raw else {}
    except ValueError:
        meta = {}
    if not isinstance(meta, dict) or meta.get("format") not in FORMATS:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise DataError(f"{path!r} is not an explanations file written by explain.to_parquet "
                        f"(format {found!r}, expected one of {list(FORMATS)})")
    names, methods = meta.get("feature_names"), meta.get("methods")
    shape = meta.get("image_shape")
    ok = (isinstance(names, list) and all(isinstance(x, str) for x in names) and isinstance(methods, dict)
          and all(isinstance(k, str) and isinstance(v, dict) for k, v in methods.items())
          and isinstance(meta.get("output"), str) and isinstance(meta.get("model_name"), str)
          and (shape is None or (isinstance(shape, list) and all(isinstance(x, int) for x in shape)))
          and _labels_ok(meta.get("classes")))
    expected = [f for f in _schema(len(names) if isinstance(names, list) else 0, {})
                if f.name not in OPTIONAL_COLUMNS or schema.get_field_index(f.name) >= 0]
    if meta["format"] != FORMAT:  # format 1: no target_index column; target held the index
        expected = [f for f in expected if f.name != "target_index"]
    columns_ok = ok and all(schema.get_field_index(f.name) >= 0 and (
        schema.field(f.name).type == f.type or (f.name == "target" and meta["format"] == FORMAT
                                                and str(schema.field(f.name).type) in _LABEL_TYPES))
        for f in expected)
    if not columns_ok:
        raise DataError(f"{path!r} claims to be explanations ({FORMAT}) but its metadata or columns do not have "
                        "the written form (feature names, methods, one float per feature in 'values' and 'data')")
    return meta


_LABEL_TYPES = ("int64", "double", "bool", "string")


def _labels_ok(classes) -> bool:
    return classes is None or (isinstance(classes, list) and all(isinstance(c, (str, bool, int, float))
                                                                 for c in classes))


def _matrix(column, n: int, d: int) -> np.ndarray:
    import pyarrow as pa

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    flat = [c.flatten().to_numpy(zero_copy_only=False) for c in chunks if len(c)]
    return (np.concatenate(flat) if flat else np.empty(0)).reshape(n, d)


def read_explanations(path) -> ExplanationReader:
    """Open explanations written by :func:`to_parquet` (a file or a directory of parts), lazily.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from explain import read_explanations, to_parquet
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> model = LinearRegression().fit(X, X @ [1.0, 2.0, 0.0])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = to_parquet(model, X, f"{folder}/explanations.parquet", methods="coefficients", background=X)
    ...     reader = read_explanations(path)
    ...     sizes = [len(chunk.values) for chunk in reader.iter_batches("coefficients", batch_size=20)]
    ...     importance = reader.to_explanation("coefficients").global_importance()
    >>> sizes
    [20, 20, 10]
    >>> list(importance.index)
    ['x1', 'x0', 'x2']
    """
    return ExplanationReader(path)
