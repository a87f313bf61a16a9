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
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


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
        """Design matrix for rows of the input columns."""
        df = pd.DataFrame(X, columns=self.inputs)
        if hasattr(self.spec, "get_model_matrix"):  # formulaic
            return np.asarray(self.spec.get_model_matrix(df), dtype=float)
        import patsy

        return np.asarray(patsy.build_design_matrices([self.spec], df, return_type="matrix")[0], dtype=float)

    def column_groups(self, n_design: int) -> list[tuple[int, ...]]:
        """For each design column, the input-column indices it reads."""
        groups: list[tuple[int, ...]] = [()] * n_design
        for _, sl, cols in self.term_columns:
            for j in range(*sl.indices(n_design)):
                groups[j] = tuple(self.inputs.index(c) for c in cols)
        return groups
