"""The Adapter contract: what every model family offers the methods.

An adapter gives every method the same view of a model: what task it solves,
which output spaces it offers (``"margin"``, ``"probability"``, ``"raw"``), a
batched ``predict(X, output) -> (n, k)`` in any of them, and, where the family
allows, its internals (additive per-feature terms, the raw tree model) in the
columns the user passed. Models are recognised by class path strings, so
optional libraries (xgboost, lightgbm, statsmodels, torch) are never imported
just to check a type.

A new family is one module with an Adapter subclass plus one registration in
:mod:`explain.adapters.registry`, which also holds ``get_adapter`` (the one entry point).
"""

from __future__ import annotations

import copy
from typing import Callable, ClassVar

import numpy as np

from ..errors import NotFittedError, OutputError, TargetError
from ._columns import CountingFunction, probe_column_origin, sum_by_origin

__all__ = ["Adapter", "class_paths", "CountingFunction"]

# Pipeline steps that map each input column to one output column, in order. In
# front of such steps a model that is additive (or a tree, or a product kernel)
# in its own inputs stays so in the user's columns.
COLUMNWISE_STEPS = frozenset({
    "sklearn.StandardScaler", "sklearn.MinMaxScaler", "sklearn.MaxAbsScaler",
    "sklearn.RobustScaler", "sklearn.QuantileTransformer", "sklearn.PowerTransformer",
    "sklearn.Binarizer",
})


def class_paths(obj) -> list[str]:
    """``"package.ClassName"`` for the object's class and its bases.

    Only the top-level package is kept (``sklearn.LogisticRegression``, not
    ``sklearn.linear_model._logistic.LogisticRegression``) so the names are
    stable across library versions.
    """
    return [f"{c.__module__.split('.')[0]}.{c.__name__}" for c in type(obj).__mro__]


class Adapter:
    """Uniform view of a fitted model.

    Subclasses set ``family`` and ``model_types`` and implement ``_predict``,
    and set ``task``, ``classes``, ``outputs`` and ``natural_output`` in
    ``__init__``. Families whose output is a sum of per-feature terms implement
    ``additive_terms``.

    Parameters
    ----------
    model : object
        What the user passed (for a pipeline, the whole pipeline).
    estimator : object, optional
        The final estimator (defaults to ``model``).
    preprocess : transformer, optional
        The pipeline steps before the estimator.
    name : str, optional
        Display name; defaults to the estimator's class name.
    """

    family: ClassVar[str] = ""
    model_types: ClassVar[tuple[str, ...]] = ()

    # -- capabilities: methods ask for these, never for a family name (captum-style) -------------
    #: ``output_module(output)`` is a differentiable torch module of the outputs, ``to_tensor(X)`` and
    #: ``evaluating()`` exist: gradient methods (integrated gradients, saliency, DeepLift) apply.
    supports_gradients: ClassVar[bool] = False
    #: ``tree_ensemble()`` returns the fitted trees (exact TreeSHAP applies).
    provides_trees: ClassVar[bool] = False
    #: ``kernel_expansion(output, target)`` may return a product-kernel expansion (exact kernel SHAP).
    provides_kernel_expansion: ClassVar[bool] = False
    #: The family's own exact attribution method, which ``methods="auto"`` runs first (or None).
    native_method: ClassVar[str | None] = None
    #: What ``methods="auto"`` runs after the native method.
    default_methods: ClassVar[tuple[str, ...]] = ("shap", "lime")

    task: str = "regression"
    classes: np.ndarray | None = None
    outputs: tuple[str, ...] = ("raw",)
    natural_output: str = "raw"

    def __init__(self, model, *, estimator=None, preprocess=None, name=None):
        self.model = model
        self.estimator = model if estimator is None else estimator
        self.preprocess = preprocess
        self.name = name or type(self.estimator).__name__
        self.columnwise = preprocess is None or all(
            step in ("passthrough", None) or bool(set(class_paths(step)) & COLUMNWISE_STEPS)
            for _, step in preprocess.steps)
        self.codec = None  # set by bind() for mixed-type tables: decodes float codes for the model
        if preprocess is not None:
            self.allows_missing = True
        # input column of each column the final estimator sees (-1: constant on the data); None: mixed
        self.column_origin = None

    @property
    def accepts_categories(self) -> bool:
        """Whether the model takes string/category columns itself (a pipeline with encoders does)."""
        return self.preprocess is not None

    #: Whether the model itself takes NaN (tree libraries do; a pipeline may impute); then explain() lets
    #: NaN through and the first prediction reports a model that cannot take it.
    allows_missing: bool = False

    #: True on an adapter returned by :meth:`bind` (owned by a plan); the caller's adapter stays unbound.
    bound: bool = False
    #: Column names a bound adapter matches DataFrames by, when they differ from the model's stored ones.
    _names_in: list | None = None

    def setup(self) -> None:
        """Read the fitted model's facts (task, classes, outputs); runs after check_fitted."""

    def bind(self, X: np.ndarray, *, image_shape=None, codec=None, names_in=None, probe=None) -> "Adapter":
        """A NEW adapter bound to the validated input form; this adapter (the caller's) is left as it was.

        What a plan learns about the model from the data lives on the copy: the
        mixed-type codec, the input column each transformed column reads, the
        column names to match, and the family's own facts (a torch model's input
        shape, task, classes and batch size from one forward pass). The model is
        shared, never written.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Validated rows in flat form (float; category codes under a codec).
        image_shape : tuple of int, optional
            Shape of one image when the columns of ``X`` are pixels.
        codec : Codec, optional
            Decodes the code columns of a mixed-type table for the model.
        names_in : list of str, optional
            Column names DataFrames are matched by (see :meth:`input_names`).
        probe : ndarray, optional
            Rows to learn column groups from (default ``X``).
        """
        bound = copy.copy(self)
        bound.codec = codec
        if names_in is not None and names_in != self.feature_names_in:
            bound._names_in = list(names_in)
        X = np.asarray(X, dtype=float).reshape(len(X), -1)
        bound.learn_column_groups(X if probe is None else np.asarray(probe, dtype=float))
        bound._bind(X, None if image_shape is None else tuple(image_shape))
        bound.bound = True
        return bound

    def _bind(self, X: np.ndarray, image_shape) -> None:
        """Hook: learn family facts from validated rows, on the copy :meth:`bind` made (never the caller's)."""

    def adapt_input(self, X):
        """Hook to accept a model-specific input form before validation (default: as is). Must not mutate."""
        return X

    def input_names(self, X) -> list[str] | None:
        """Column names to match the DataFrame ``X`` by (default: the model's); :meth:`bind` keeps them."""
        return self.feature_names_in

    # -- recognition ----------------------------------------------------------------
    @classmethod
    def matches(cls, model) -> bool:
        """Whether this adapter handles ``model`` (by class path, no imports)."""
        return bool(set(class_paths(model)) & set(cls.model_types))

    # -- what the model expects -------------------------------------------------------
    @property
    def n_features_in(self) -> int | None:
        n = getattr(self.model, "n_features_in_", None)
        return None if n is None else int(n)

    @property
    def feature_names_in(self) -> list[str] | None:
        """Column names the model was fitted with (DataFrames are matched by these)."""
        if self._names_in is not None:
            return list(self._names_in)
        names = getattr(self.model, "feature_names_in_", None)
        return None if names is None else [str(n) for n in names]

    @property
    def default_feature_names(self) -> list[str] | None:
        """Names used for an unnamed array; None means x0, x1, ..."""
        return self.feature_names_in

    def check_fitted(self) -> None:
        """Raise NotFittedError if the model (or any pipeline step) is not fitted."""
        from sklearn.exceptions import NotFittedError as SkNotFitted
        from sklearn.utils.validation import check_is_fitted

        for part in ([self.estimator] if self.preprocess is None
                     else [s for _, s in self.preprocess.steps if s not in ("passthrough", None)]
                     + [self.estimator]):
            try:
                check_is_fitted(part)
            except SkNotFitted as exc:
                raise NotFittedError(
                    f"This {type(part).__name__} is not fitted yet. Call .fit(X, y) on it "
                    "before explaining it.") from exc
            except TypeError:  # not a scikit-learn estimator: the subclass checks
                pass

    # -- players: the user's columns, even behind a ColumnTransformer ---------------------------
    @property
    def groupable(self) -> bool:
        """Whether every column the estimator sees comes from one input column (so exact methods apply)."""
        return self.columnwise or self.column_origin is not None

    def learn_column_groups(self, Z: np.ndarray) -> None:
        """Find which input column each transformed column reads (see ``_columns.probe_column_origin``)."""
        self.column_origin = None if self.columnwise else probe_column_origin(self.transform, Z)

    def group_terms(self, T: np.ndarray) -> np.ndarray:
        """Sum per-transformed-column terms (n, d_out) into per-input-column terms (n, d_in)."""
        return T if self.column_origin is None else sum_by_origin(T, self.column_origin, self.n_inputs)

    @property
    def n_inputs(self) -> int:
        """Number of the user's columns (players)."""
        if self.codec is not None:
            return len(self.codec.columns)
        n = self.n_features_in
        return int(n) if n is not None else int(self.column_origin.max()) + 1

    def as_model_input(self, X: np.ndarray):
        """Convert a float array to what the model's predict wants (DataFrame if fitted on one)."""
        if self.codec is not None:  # mixed-type table: the original columns and dtypes
            return self.codec.decode(X)
        names = self.feature_names_in
        if names is None:
            return X
        import pandas as pd

        return pd.DataFrame(X, columns=names)

    def estimator_input(self, X: np.ndarray):
        """What the final estimator takes: preprocessed X for a pipeline, else the model's input."""
        return self.transform(X) if self.preprocess is not None else self.as_model_input(X)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """The estimator's own inputs: the pipeline's preprocessing applied to X."""
        if self.preprocess is None:
            return X
        out = self.preprocess.transform(self.as_model_input(X))
        if hasattr(out, "toarray"):  # one-hot encoders give sparse matrices
            out = out.toarray()
        return np.asarray(out, dtype=float)

    # -- predictions --------------------------------------------------------------------
    def check_output(self, output: str) -> str:
        """Resolve ``"auto"`` and check that the model offers the output space."""
        if output == "auto":
            return self.natural_output
        if output not in self.outputs:
            extra = ""
            if output == "probability" and self.task == "classification":
                extra = " Fit the model so that it has predict_proba (e.g. SVC(probability=True))."
            raise OutputError(
                f"{self.name} offers output {list(self.outputs)}, not {output!r}.{extra} "
                f"Its natural output is {self.natural_output!r} (output='auto').")
        return output

    def predict(self, X: np.ndarray, output: str) -> np.ndarray:
        """Model output for every class: array of shape (n_samples, n_outputs).

        For regression ``n_outputs`` is 1. For classification it is the number of
        classes; in binary margin space the columns are ``(-m, m)`` with ``m`` the
        log-odds (or decision function) of the positive class.
        """
        output = self.check_output(output)
        out = np.asarray(self._predict(np.asarray(X, dtype=float), output), dtype=float)
        if out.ndim == 1:
            if self.task != "classification":
                return out.reshape(-1, 1)
            return np.column_stack([-out, out] if output == "margin" else [1.0 - out, out])
        return out

    def _predict(self, X: np.ndarray, output: str) -> np.ndarray:
        raise NotImplementedError

    def output_function(self, output: str, target: int | None) -> Callable[[np.ndarray], np.ndarray]:
        """``f(X) -> (n,)``: the explained scalar, the target column of ``predict``."""
        col = 0 if target is None else int(target)
        return lambda X: self.predict(X, output)[:, col]

    def resolve_target(self, target, X: np.ndarray, output: str, predicted: np.ndarray | None = None
                       ) -> np.ndarray | None:
        """Class index per row: ``None`` for regression, else from ``target``.

        ``target=None`` explains the positive class of a binary classifier and
        the predicted class of a multiclass one. ``target`` may be a class
        label, a class index, or one of those per row. ``predicted`` is
        ``predict(X, output)`` when the caller has it already.
        """
        if self.task != "classification":
            if target is not None:
                raise TargetError(f"{self.name} is a regression model; target must be None, got {target!r}.")
            return None
        classes = np.asarray(self.classes)
        k = len(classes)
        n = X.shape[0]
        if target is None:
            if k == 2:
                return np.ones(n, dtype=int)
            return np.argmax(self.predict(X, output) if predicted is None else predicted, axis=1).astype(int)
        values = np.atleast_1d(np.asarray(target, dtype=object))
        if values.shape[0] not in (1, n) or values.ndim != 1:
            raise TargetError(f"target must be one class or one per row ({n}), got shape {values.shape}.")
        idx = np.empty(values.shape[0], dtype=int)
        labels = list(classes.tolist())
        boolean_classes = classes.dtype == bool
        for i, t in enumerate(values):
            t = t.item() if isinstance(t, np.generic) else t
            if isinstance(t, bool) and not boolean_classes:  # True == 1 in Python: never a silent class 1
                raise TargetError(f"target {t!r} is a boolean, but the classes of {self.name} are {labels}. "
                                  "Pass a class label or index, e.g. target=1.")
            if t in labels:
                idx[i] = labels.index(t)
            elif isinstance(t, (int, np.integer)) and not isinstance(t, bool) and 0 <= t < k:
                idx[i] = int(t)
            else:
                raise TargetError(f"target {t!r} is not a class of {self.name}: classes are "
                                  f"{labels} (or indices 0..{k - 1}).")
        return np.broadcast_to(idx, (n,)).copy()

    # -- optional internals ---------------------------------------------------------------
    def is_additive(self, output: str) -> bool:
        """Whether ``output`` is a sum of per-feature terms in the user's columns."""
        return self.groupable and self._is_additive(output)

    def _is_additive(self, output: str) -> bool:
        return False

    def additive_terms(self, X: np.ndarray, output: str, target: int | None) -> np.ndarray:
        """Per-feature terms g_j(x_j) with f(x) = const + sum_j g_j(x_j), shape (n, d)."""
        raise NotImplementedError(f"{self.name} is not additive in {output!r}")

    def randomized_model(self, rng: np.random.Generator):
        """A copy of the model with its fitted parameters scrambled (sanity checks), or None.

        The user's model is never touched: families override ``_scramble`` and
        receive the final estimator of a deep copy.
        """
        import copy

        model = copy.deepcopy(self.model)
        estimator = model.steps[-1][1] if self.preprocess is not None else model
        return model if self._scramble(estimator, rng) else None

    def tree_ensemble(self):
        """The fitted trees (see ``_tree_structure.TreeEnsemble``); only where ``provides_trees``."""
        raise NotImplementedError(f"{self.name} has no tree ensemble")

    def kernel_expansion(self, output: str, target: int | None):
        """The output as a product-kernel expansion, or None; only where ``provides_kernel_expansion``."""
        return None

    @property
    def supports_randomisation(self) -> bool:
        """Whether ``randomised_model`` can scramble this family's parameters (the model-randomisation check)."""
        return type(self)._scramble is not Adapter._scramble

    def _scramble(self, estimator, rng: np.random.Generator) -> bool:
        return False

    def describe(self) -> dict:
        """Short facts about the model for reports and params."""
        return {"family": self.family, "model": self.name, "task": self.task,
                "natural_output": self.natural_output, "pipeline": self.preprocess is not None}
