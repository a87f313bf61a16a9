"""Tree ensembles: scikit-learn trees and forests, gradient boosting, XGBoost, LightGBM.

Bagged trees (decision trees, random and extra forests) average probabilities,
so their natural output is the probability; boosted trees add up margins
(log-odds for classifiers), so theirs is the margin. XGBoost and LightGBM
Boosters are read by class path; neither library is imported unless such a
model arrives.
"""

from __future__ import annotations

import bisect
import json
import re

import numpy as np

from .base import Adapter, class_paths

__all__ = ["TreeAdapter"]

_BAGGED = ("sklearn.DecisionTreeClassifier", "sklearn.DecisionTreeRegressor",
           "sklearn.ExtraTreeClassifier", "sklearn.ExtraTreeRegressor",
           "sklearn.RandomForestClassifier", "sklearn.RandomForestRegressor",
           "sklearn.ExtraTreesClassifier", "sklearn.ExtraTreesRegressor")
_SK_BOOSTED = ("sklearn.GradientBoostingClassifier", "sklearn.GradientBoostingRegressor",
               "sklearn.HistGradientBoostingClassifier", "sklearn.HistGradientBoostingRegressor")
_XGB = ("xgboost.XGBClassifier", "xgboost.XGBRegressor", "xgboost.XGBRFClassifier",
        "xgboost.XGBRFRegressor", "xgboost.Booster")
_LGB = ("lightgbm.LGBMClassifier", "lightgbm.LGBMRegressor", "lightgbm.Booster")


class TreeAdapter(Adapter):
    """Any supported tree ensemble (or a pipeline ending in one)."""

    family = "trees"
    provides_trees = True
    model_types = _BAGGED + _SK_BOOSTED + _XGB + _LGB

    def setup(self) -> None:
        est = self.estimator
        paths = set(class_paths(est))
        self.library = "xgboost" if paths & set(_XGB) else "lightgbm" if paths & set(_LGB) else "sklearn"
        self.booster = bool(paths & {"xgboost.Booster", "lightgbm.Booster"})
        # every supported tree library routes NaN itself (scikit-learn trees since 1.4); a pipeline's
        # preprocessing may (an imputer) or may not: the first prediction tells, with the model's own message
        self.allows_missing = True
        if self.booster:
            classes = self._booster_classes()
        else:
            classes = getattr(est, "classes_", None)
        if classes is not None:
            self.task, self.classes = "classification", np.asarray(classes)
            if paths & set(_BAGGED):
                self.outputs, self.natural_output = ("probability",), "probability"
            else:
                self.outputs, self.natural_output = ("margin", "probability"), "margin"
        else:
            self.outputs, self.natural_output = ("raw",), "raw"

    def check_fitted(self) -> None:
        if set(class_paths(self.estimator)) & {"xgboost.Booster", "lightgbm.Booster"}:
            return None
        super().check_fitted()

    def _booster_classes(self):
        est = self.estimator
        if self.library == "xgboost":
            config = json.loads(est.save_config())["learner"]
            objective = config["objective"]["name"]
            n_class = int(config["learner_model_param"].get("num_class", "0") or 0)
        else:
            objective = str(est.params.get("objective", "regression"))
            n_class = int(est.params.get("num_class", 1))
        if objective.startswith("binary") or objective in ("cross_entropy", "xentropy"):
            return np.array([0, 1])
        if objective.startswith("multi") or objective in ("softmax", "multiclassova"):
            return np.arange(n_class)
        return None

    @property
    def n_features_in(self):
        if self.booster:
            est = self.estimator
            return int(est.num_features() if self.library == "xgboost" else est.num_feature())
        return super().n_features_in

    def input_names(self, X):
        """LightGBM stores its names with spaces turned into underscores, yet predicts from the user's
        DataFrame: match the user's columns to the stored names and keep the user's (``bind`` holds them)."""
        import pandas as pd

        if self.library == "lightgbm" and isinstance(X, pd.DataFrame):
            stored = self._stored_names()
            if stored is not None:
                user = {re.sub(r"\s", "_", str(c)): str(c) for c in X.columns}
                if set(stored) != set(map(str, X.columns)) and set(stored) <= set(user):
                    return [user[n] for n in stored]
        return self.feature_names_in

    def _stored_names(self):
        if self.booster:
            names = self.estimator.feature_name()
        else:
            names = getattr(self.estimator, "feature_name_", None)
        return None if not names else [str(n) for n in names]

    @property
    def feature_names_in(self):
        if self._names_in is not None:
            return list(self._names_in)
        if self.booster:
            names = self.estimator.feature_names if self.library == "xgboost" else self.estimator.feature_name()
            if not names or all(re.fullmatch(r"(Column_|f)\d+", str(n)) for n in names):
                return None
            return [str(n) for n in names]
        return super().feature_names_in

    def _booster_predict(self, X, margin):
        est = self.estimator
        if self.library == "xgboost":
            import xgboost

            return est.predict(xgboost.DMatrix(X, feature_names=est.feature_names), output_margin=margin)
        return est.predict(X, raw_score=margin)

    def _predict(self, X, output):
        if self.booster:
            out = self._booster_predict(self.transform(X), output == "margin")
            return out
        if output == "probability":
            return self.model.predict_proba(self.as_model_input(X))
        if output == "margin":
            Z = self.estimator_input(X)
            if self.library == "xgboost":
                return self.estimator.predict(Z, output_margin=True)
            if self.library == "lightgbm":
                return self.estimator.predict(Z, raw_score=True)
            return self.estimator.decision_function(Z)
        return self.model.predict(self.as_model_input(X))

    def tree_ensemble(self):
        """The fitted trees as one :class:`TreeEnsemble` with this library's split rules (read once)."""
        cached = getattr(self, "_ensemble", None)
        if cached is None:
            from ._tree_structure import read_ensemble

            k = len(self.classes) if self.task == "classification" and len(self.classes) > 2 else 1
            cached = self._ensemble = read_ensemble(self.library, self.estimator, k)
        return cached

    @property
    def accepts_categories(self) -> bool:
        """Pipelines, LightGBM and XGBoost (category dtype) and HistGradientBoosting (categorical features)."""
        if self.preprocess is not None or self.library in ("lightgbm", "xgboost"):
            return True
        return getattr(self.estimator, "is_categorical_", None) is not None and \
            bool(np.any(self.estimator.is_categorical_))

    def tree_input(self, X):
        """What the tree representation routes: transformed columns, the decoded frame HistGB encodes
        itself, or the float codes (category codes are what LightGBM and XGBoost split on)."""
        if self.preprocess is not None:
            return self.transform(X)
        if self.tree_ensemble().input_transform is not None:
            return self.as_model_input(X)
        if self.library == "xgboost" and self.codec is not None and self.codec.has_categorical:
            return self._xgboost_codes(X)
        return X

    def _bind(self, X, image_shape) -> None:
        """XGBoost with categories: read how it re-codes ours now, so a value it refuses is named before any
        prediction (its own error is a C++ stack trace) and an unseen one is said once."""
        self._xgb_tables = None
        if self.library == "xgboost" and self.preprocess is None and self.codec is not None and \
                self.codec.has_categorical:
            booster = self.estimator.get_booster() if hasattr(self.estimator, "get_booster") else self.estimator
            self._xgb_tables = xgboost_recoding(booster, self.codec)

    def _xgboost_codes(self, X):
        """The codes XGBoost routes for our category codes: since 3.1 it re-codes a DataFrame's categories
        against the training ones by value (issue 26, item 6); read when the adapter was bound."""
        tables = getattr(self, "_xgb_tables", None)
        if not tables:
            return X
        X = np.array(X, dtype=float)
        for j, table in tables.items():
            ok = np.isfinite(X[:, j])
            X[ok, j] = table[X[ok, j].astype(int)]
        return X

    @property
    def supports_randomisation(self) -> bool:
        """scikit-learn trees and forests (their leaf values can be shuffled); not HistGB, XGBoost, LightGBM."""
        e = self.estimator
        return self.library == "sklearn" and (hasattr(e, "tree_") or hasattr(e, "estimators_"))

    def _scramble(self, estimator, rng):
        """Shuffle the leaf values of every scikit-learn tree (XGBoost/LightGBM: not supported)."""
        if self.library != "sklearn" or not hasattr(estimator, "tree_") and not hasattr(estimator, "estimators_"):
            return False
        trees = [estimator] if hasattr(estimator, "tree_") else list(np.ravel(estimator.estimators_))
        for tree in trees:
            t = tree.tree_
            leaves = np.flatnonzero(t.children_left == -1)
            t.value[leaves] = t.value[leaves][rng.permutation(len(leaves))]
        return True

    def describe(self):
        d = super().describe()
        d["library"] = self.library
        return d


def _xgb_order(value):
    """XGBoost's sort key for a category: strings by their UTF-8 bytes as signed chars, numbers as numbers."""
    if isinstance(value, str):
        return tuple(b - 256 if b > 127 else b for b in value.encode("utf-8"))
    return value


def xgboost_recoding(booster, codec) -> dict:
    """{column: array mapping our code to the training code XGBoost routes}, for columns whose codes differ.

    XGBoost (3.1+) stores the training categories and re-codes a DataFrame's by searching each of its
    categories among them with ``std::lower_bound`` (src/encoder/ordinal.h, ``SearchSorted``), without
    checking equality: a known value gets its training code, a value it never saw gets the code of the
    next larger training value, and a value larger than all of them is refused. The same here, with a
    warning naming the unseen values; the refusal as an ExplainError naming the column and the value.
    """
    from .._utils.warn import warn
    from ..errors import DataError

    if not hasattr(booster, "get_categories"):
        return {}  # before 3.1: XGBoost routes the DataFrame's own codes, as we do
    try:
        stored = dict(booster.get_categories(export_to_arrow=True).to_arrow())
    except Exception:  # noqa: BLE001 - no stored categories (fitted on arrays)
        return {}
    tables, unseen = {}, []
    for j, spec in enumerate(codec.columns):
        train = stored.get(spec.name)
        if spec.kind != "categorical" or train is None:
            continue
        train = train.to_pylist()
        order = sorted(range(len(train)), key=lambda i: _xgb_order(train[i]))
        keys = [_xgb_order(train[i]) for i in order]
        table = np.empty(len(spec.categories))
        for code, value in enumerate(spec.categories):
            pos = bisect.bisect_left(keys, _xgb_order(value))
            if pos == len(keys):
                raise DataError(f"column {spec.name!r} has the category {value!r}, which the XGBoost model never "
                                f"saw in training ({train[:10]}) and which XGBoost itself refuses. Set it to "
                                "missing (NaN) or drop it from the categories (.cat.remove_unused_categories()).")
            table[code] = order[pos]
            if train[order[pos]] != value:
                unseen.append(f"{spec.name}={value!r} (routed as {train[order[pos]]!r})")
        if not np.array_equal(table, np.arange(len(table))):
            tables[j] = table
    if unseen:
        warn("XGBoost never saw these categories in training and routes each as the next training category in "
             f"sort order: {', '.join(unseen)}. The explanation follows the model; set them to missing (NaN) "
             "if that is not what you mean.")
    return tables
