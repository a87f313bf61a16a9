"""Generalised linear models: scikit-learn linear estimators and statsmodels results.

On the link scale a GLM is additive, eta(x) = b + sum_j beta_j x_j (or, for a
formula model, a sum of terms each reading one input column), so its exact
per-feature terms are available to the closed-form methods. Each adapter also
hands out an inference table: statsmodels' (estimate, std. error, CI,
p-value), or scikit-learn's estimates with the reason there is no inference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .base import Adapter, class_paths
from ._formula import FormulaDesign

__all__ = ["LinearModelAdapter", "StatsmodelsAdapter"]

_SK_LINEAR_REGRESSORS = (
    "sklearn.LinearRegression", "sklearn.Ridge", "sklearn.RidgeCV", "sklearn.Lasso",
    "sklearn.LassoCV", "sklearn.ElasticNet", "sklearn.ElasticNetCV", "sklearn.Lars",
    "sklearn.LassoLars", "sklearn.BayesianRidge", "sklearn.ARDRegression",
    "sklearn.HuberRegressor", "sklearn.SGDRegressor",
)
_SK_GLM_REGRESSORS = ("sklearn.PoissonRegressor", "sklearn.GammaRegressor", "sklearn.TweedieRegressor")
_SK_CLASSIFIERS = ("sklearn.LogisticRegression", "sklearn.LogisticRegressionCV")
_SM_COUNT = {"Poisson", "NegativeBinomial", "GeneralizedPoisson"}  # log link; extra dispersion params at the end
_SM_MODELS = {"statsmodels.Poisson", "statsmodels.NegativeBinomial", "statsmodels.GeneralizedPoisson",
              "statsmodels.Logit", "statsmodels.Probit", "statsmodels.GLM", "statsmodels.OLS",
              "statsmodels.WLS", "statsmodels.GLS"}

INFERENCE_COLUMNS = ["term", "input_column", "estimate", "std_error", "ci_lower", "ci_upper", "p_value"]


class _LinearBase(Adapter):
    """Shared by both GLM adapters: terms are design columns times coefficients."""

    family = "glm"
    native_method = "coefficients"
    additive_output = "margin"

    def _is_additive(self, output: str) -> bool:
        return output == self.additive_output

    def _sign(self, target):
        """Binary classifiers have one linear predictor; class 0's margin is its negative."""
        return -1.0 if (self.task == "classification" and len(self.classes) == 2 and target == 0) else 1.0


class LinearModelAdapter(_LinearBase):
    """scikit-learn linear models (and pipelines ending in one)."""

    model_types = _SK_LINEAR_REGRESSORS + _SK_GLM_REGRESSORS + _SK_CLASSIFIERS

    def setup(self) -> None:
        paths = set(class_paths(self.estimator))
        if paths & set(_SK_CLASSIFIERS):
            self.task, self.classes = "classification", np.asarray(self.estimator.classes_)
            self.outputs, self.natural_output = ("margin", "probability"), "margin"
        elif paths & set(_SK_GLM_REGRESSORS):
            self.outputs, self.natural_output = ("margin", "raw"), "margin"
        else:
            self.outputs, self.natural_output, self.additive_output = ("raw",), "raw", "raw"

    def _coef(self, target) -> np.ndarray:
        coef = np.atleast_2d(np.asarray(self.estimator.coef_, dtype=float))
        row = 0 if (target is None or coef.shape[0] == 1) else int(target)
        return self._sign(target) * coef[row]

    def _predict(self, X, output):
        if output == "margin":  # the linear predictor (decision_function without its input checks)
            coef = np.asarray(self.estimator.coef_, dtype=float)
            eta = self.transform(X) @ coef.T + self.estimator.intercept_
            return eta.ravel() if (coef.ndim == 1 or coef.shape[0] == 1) else eta
        Xm = self.as_model_input(X)
        if output == "probability":
            return self.model.predict_proba(Xm)
        return self.model.predict(Xm)

    def additive_terms(self, X, output, target):
        """beta_t z_t per transformed column, summed per input column (one-hot groups add up)."""
        return self.group_terms(self.transform(X) * self._coef(target))

    def _scramble(self, estimator, rng):
        coef = np.array(estimator.coef_, dtype=float)
        estimator.coef_ = rng.permuted(coef, axis=-1)  # each class's coefficients over features
        return True

    def inference_table(self, feature_names, target=None) -> tuple[pd.DataFrame, str]:
        """Estimates only: scikit-learn fits give no standard errors."""
        coef = self._coef(target)
        terms, inputs = list(feature_names), list(feature_names)
        if len(coef) != len(terms):  # a ColumnTransformer: one row per transformed column, with its input
            try:
                terms = [str(t) for t in self.preprocess.get_feature_names_out()]
            except Exception:
                terms = [f"z{t}" for t in range(len(coef))]
            origin = self.column_origin if self.column_origin is not None else np.full(len(coef), -1)
            inputs = [feature_names[o] if o >= 0 else "(constant on the data)" for o in origin]
        table = pd.DataFrame({"term": terms, "input_column": inputs, "estimate": coef})
        for col in INFERENCE_COLUMNS[3:]:  # no standard errors, intervals or p-values
            table[col] = np.nan
        penalty = getattr(self.estimator, "penalty", None) or getattr(self.estimator, "alpha", None)
        why = ("scikit-learn reports no standard errors" +
               (" and this fit is penalised, so the usual Wald inference is not valid"
                if penalty not in (None, 0, 0.0) else "") +
               ("; estimates are on the pipeline's transformed columns" if self.preprocess is not None else "") +
               ". Refit with statsmodels for inference.")
        return table[INFERENCE_COLUMNS], why


class StatsmodelsAdapter(_LinearBase):
    """Fitted statsmodels results of GLM (any family/link), Logit, Probit, OLS/WLS/GLS.

    Formula-API results are explained on their input columns; the model stays
    additive on the link scale when every formula term reads one column.
    """

    @classmethod
    def matches(cls, model) -> bool:
        inner = getattr(model, "model", None)
        return (hasattr(model, "params") and inner is not None
                and bool(set(class_paths(inner)) & _SM_MODELS))

    def check_fitted(self) -> None:  # results objects are fitted by construction
        return None

    def setup(self) -> None:
        res = self.estimator
        m = res.model
        for attr in ("offset", "exposure"):
            if getattr(m, attr, None) is not None:
                from ..errors import UnsupportedModelError

                raise UnsupportedModelError(
                    f"this statsmodels {type(m).__name__} was fitted with {attr}=...: its predictions need the "
                    f"{attr} of every explained row, which explain cannot know, and dropping it would explain a "
                    f"different model. Refit with the {attr} as a column of the formula or exog (e.g. "
                    "np.log(exposure) as a term), or wrap res.predict(X, "
                    f"{attr}=...) in CallableAdapter.")
        self.name = self.name if self.name != type(res).__name__ else f"statsmodels.{type(m).__name__}"
        self.kind = type(m).__name__
        n_design = int(np.shape(m.exog)[1])  # count models append dispersion parameters (alpha) to params
        self.params_ = np.asarray(res.params, dtype=float)[:n_design]
        self.term_names = [str(n) for n in m.exog_names][:n_design]
        spec = getattr(m.data, "model_spec", None)
        self.formula = getattr(m, "formula", None) if spec is not None else None
        if self.formula is not None:
            self.design_ = FormulaDesign(spec, m.data.frame, m.endog_names)
            self._inputs = self.design_.inputs
            self._groups = self.design_.column_groups(len(self.term_names))
            self._named = True
        else:
            self.design_ = None
            const = getattr(m.data, "const_idx", None)
            self._const = None if const is None else int(const)
            self._inputs = [n for j, n in enumerate(self.term_names) if j != self._const]
            inputs_idx = [j for j in range(len(self.term_names)) if j != self._const]
            self._groups = [() if j == self._const else (inputs_idx.index(j),)
                            for j in range(len(self.term_names))]
            self._named = isinstance(getattr(m.data, "orig_exog", None), pd.DataFrame)
        binomial = self.kind == "GLM" and type(m.family).__name__ == "Binomial"
        if self.kind in ("Logit", "Probit") or binomial:
            self.task, self.classes = "classification", np.array([0, 1])
            self.outputs, self.natural_output = ("margin", "probability"), "margin"
        elif self.kind == "GLM" or self.kind in _SM_COUNT:
            self.outputs, self.natural_output = ("margin", "raw"), "margin"
        else:
            self.outputs, self.natural_output, self.additive_output = ("raw",), "raw", "raw"

    @property
    def accepts_categories(self) -> bool:
        return self.design_ is not None  # a formula encodes C(...) terms itself

    @property
    def n_features_in(self):
        return len(self._inputs)

    @property
    def feature_names_in(self):
        return list(self._inputs) if self._named else None

    @property
    def default_feature_names(self):
        return list(self._inputs)

    def adapt_input(self, X):
        """Accept X with or without the constant column that statsmodels adds."""
        if self.design_ is not None or self._const is None:
            return X
        const_name = self.term_names[self._const]
        if isinstance(X, pd.DataFrame) and const_name in X.columns:
            return X.drop(columns=[const_name])
        arr = np.asarray(X) if not isinstance(X, pd.DataFrame) else None
        if (arr is not None and arr.ndim == 2 and arr.shape[1] == len(self.term_names)
                and np.issubdtype(arr.dtype, np.number) and np.all(arr[:, self._const] == 1)):
            return np.delete(arr, self._const, axis=1)
        return X

    def _scramble(self, estimator, rng):
        params = np.array(self.params_, dtype=float)
        free = [j for j, g in enumerate(self._groups) if g]  # everything but the constant
        params[free] = params[rng.permutation(free)]
        estimator._results.params = params
        return True

    def design(self, X: np.ndarray) -> np.ndarray:
        """The model's exog for rows of the input columns (constant included)."""
        if self.design_ is not None:  # decoded frame for a mixed table (C(string) terms need the labels)
            return self.design_.design(self.as_model_input(X) if self.codec is not None else X)
        if self._const is None:
            return X
        return np.insert(X, self._const, 1.0, axis=1)

    def _predict(self, X, output):
        eta = self.design(X) @ self.params_
        if output == "margin" or self.kind in ("OLS", "WLS", "GLS"):
            return eta
        m = self.estimator.model
        if self.kind == "Logit" or (self.kind == "GLM" and type(m.family.link).__name__ == "Logit"):
            # statsmodels computes 1 / (1 + exp(-eta)): the same values, but exp overflows (a RuntimeWarning)
            # once eta < -709, which scrambled coefficients on unscaled columns reach; expit never overflows
            from scipy.special import expit

            return expit(eta)
        if self.kind == "GLM":
            return m.family.link.inverse(eta)
        if self.kind in _SM_COUNT:
            return np.exp(eta)  # the mean of a log-link count model
        return m.cdf(eta)

    def _is_additive(self, output):
        return super()._is_additive(output) and (self.design_ is None or self.design_.additive)

    def additive_terms(self, X, output, target):
        D = self.design(X) * self.params_
        terms = np.zeros((X.shape[0], len(self._inputs)))
        for j, group in enumerate(self._groups):
            if len(group) == 1:
                terms[:, group[0]] += D[:, j]
        return self._sign(target) * terms

    def inference_table(self, feature_names=None, target=None) -> tuple[pd.DataFrame, str]:
        """statsmodels' estimate, std. error, 95% CI and p-value, terms grouped by input column."""
        res = self.estimator
        table = pd.DataFrame({"term": self.term_names, "estimate": self.params_})
        table["input_column"] = [", ".join(self._inputs[i] for i in g) if g else "(constant)"
                                 for g in self._groups]
        note = "Wald inference from the statsmodels fit (95% CI)."
        try:
            k = len(self.term_names)  # dispersion parameters (alpha) have no input column
            ci = np.asarray(res.conf_int(alpha=0.05), dtype=float)[:k]
            table["std_error"] = np.asarray(res.bse, dtype=float)[:k]
            table["ci_lower"], table["ci_upper"] = ci[:, 0], ci[:, 1]
            table["p_value"] = np.asarray(res.pvalues, dtype=float)[:k]
        except Exception as exc:  # regularised fits have no covariance
            for col in ("std_error", "ci_lower", "ci_upper", "p_value"):
                table[col] = np.nan
            note = f"statsmodels gave no inference for this fit ({type(exc).__name__}: {exc})."
        if self.formula is not None:
            order = {c: i for i, c in enumerate(["(constant)"] + self._inputs)}
            table = table.sort_values("input_column", key=lambda s: s.map(lambda c: order.get(c, len(order))),
                                      kind="stable").reset_index(drop=True)
            note += f" Formula: {self.formula}; terms grouped by the input column they read."
        return table[INFERENCE_COLUMNS], note

    def describe(self):
        d = super().describe()
        d.update(statsmodels_model=self.kind, formula=self.formula)
        return d
