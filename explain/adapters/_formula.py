"""statsmodels formula models: from the user's input columns to design columns.

A formula such as ``y ~ np.log(a) + C(r) + a:b`` turns input columns into
design terms. Attributions are given on the input columns; this module says
which input columns each term reads (by parsing the factor code) and builds
the design matrix for new rows with the formula engine that fitted the model
(patsy or formulaic).
"""

from __future__ import annotations

import ast

import numpy as np
import pandas as pd

__all__ = ["FormulaDesign"]


def _names_in(code: str) -> set[str]:
    """Column names a factor's code reads: bare names, and ``Q("name with spaces")`` strings."""
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError:
        return set()
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Q"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names.add(node.args[0].value)
    return names


class FormulaDesign:
    """Design-matrix builder and term-to-column map of a fitted formula model."""

    def __init__(self, model_spec, frame: pd.DataFrame, endog_names):
        self.spec = model_spec
        endog = {endog_names} if isinstance(endog_names, str) else set(endog_names or [])
        candidates = [c for c in frame.columns if str(c) not in endog]
        term_slices = dict(model_spec.term_slices)
        self.term_columns: list[tuple[str, slice, tuple[str, ...]]] = []
        used: set[str] = set()
        for term, sl in term_slices.items():
            codes = [getattr(f, "code", None) or getattr(f, "expr", None) or str(f)
                     for f in getattr(term, "factors", [])]
            names = set().union(*[_names_in(c) for c in codes]) if codes else set()
            cols = tuple(str(c) for c in candidates if str(c) in names)
            used.update(cols)
            label = getattr(term, "name", None)
            label = label() if callable(label) else (label or str(term))
            self.term_columns.append((label, sl, cols))
        self.inputs = [str(c) for c in candidates if str(c) in used]

    @property
    def additive(self) -> bool:
        """True when every term reads at most one input column."""
        return all(len(cols) <= 1 for _, _, cols in self.term_columns)

    def design(self, X: np.ndarray) -> np.ndarray:
        """Design matrix for rows of the input columns.

        Raises DataError when the formula cannot take the rows, e.g. a ``C(code)``
        term meeting a value that is not one of its levels (a perturbation set the
        column to a mean or added noise).
        """
        from ..errors import DataError

        df = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X, columns=self.inputs)
        with np.errstate(all="ignore"):  # out-of-domain values are reported below, not warned about
            try:
                if hasattr(self.spec, "get_model_matrix"):  # formulaic
                    matrix = np.asarray(self.spec.get_model_matrix(df), dtype=float)
                else:
                    import patsy

                    # NA_action="raise": patsy would otherwise drop rows a term turns into NaN (np.log of a
                    # negative value), and the model would return fewer predictions than it was given rows
                    matrix = np.asarray(patsy.build_design_matrices([self.spec], df, NA_action="raise",
                                                                    return_type="matrix")[0], dtype=float)
            except Exception as exc:
                raise DataError(
                    f"the model's formula could not be evaluated on these rows ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0]}). Its terms accept only values like those it was fitted on: a "
                    "categorical term such as C(column) only its levels, np.log(column) only positive values, a "
                    "spline such as bs(column, df=3) only its fitted range. Methods and metrics that set a column "
                    "to a mean or sample around it (lime, occlusion, feature_ablation, max-sensitivity, the deletion "
                    "metric) produce other values. Use 'shap' or 'coefficients' for this model.") from exc
        if matrix.shape[0] != len(df) or not np.all(np.isfinite(matrix)):
            bad = np.flatnonzero(~np.isfinite(matrix).all(axis=1))[:5] if matrix.shape[0] == len(df) else []
            raise DataError(
                f"the model's formula turns {'rows ' + str(list(bad)) if len(bad) else 'some rows'} into missing or "
                "infinite values (a term such as np.log(column) met a value outside its domain). Methods that "
                "sample around the data (lime, occlusion, feature_ablation) produce such values; use 'shap' or "
                "'coefficients' for this model.")
        return matrix

    def column_groups(self, n_design: int) -> list[tuple[int, ...]]:
        """For each design column, the input-column indices it reads."""
        groups: list[tuple[int, ...]] = [()] * n_design
        for _, sl, cols in self.term_columns:
            for j in range(*sl.indices(n_design)):
                groups[j] = tuple(self.inputs.index(c) for c in cols)
        return groups
