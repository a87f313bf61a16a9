"""The study's data (split once) and model families (refitted per seed on a seeded 90% subsample).

Classifiers are explained in the probability of the explained class, so every
family offers it: the RBF SVM through ``CalibratedClassifierCV(ensemble=False)``
(Platt scaling of one SVM refitted on all rows), the MLP, the NAM and the CNN
through the torch adapter's softmax. Regressors are explained in their
prediction; Naive Bayes has no regression form and is left out there. Every
family sees the same numeric columns (images: the same pixels, flat for
scikit-learn and the MLP/NAM, (N, 1, H, W) for the CNN). scikit-learn models are
fitted on arrays, as explain calls them, so no feature-name warning arises.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["StudyData", "load_study_data", "fit_family", "families_for", "FAMILIES", "DEEP", "accuracy"]

FAMILIES = ("glm", "naive_bayes", "decision_tree", "random_forest", "gradient_boosting", "svm", "mlp", "nam", "cnn")
DEEP = ("mlp", "cnn")
_NOT_FOR_REGRESSION = {"naive_bayes": "Gaussian Naive Bayes is a classifier"}


@dataclass
class StudyData:
    """One data set of the study, split once (seed 0, 70/30, stratified for classes)."""

    name: str
    X_train: np.ndarray  # (n, d) tables; (n, 1, H, W) images
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    feature_names: list
    task: str
    source: str
    image_shape: tuple | None = None
    n_rows: int = 0

    @property
    def images(self) -> bool:
        return self.image_shape is not None

    def flat(self, X) -> np.ndarray:
        return X.reshape(len(X), -1)

    def rows(self, n):
        """The first n held-out rows: a DataFrame with the feature names (tables) or images."""
        return self._frame(self.X_test[:n])

    def background(self, n):
        return self._frame(self.X_train[:n])

    def _frame(self, X):
        return X if self.images else pd.DataFrame(X, columns=self.feature_names)


def load_study_data(name: str, *, max_rows: int | None = 2000) -> StudyData:
    """A data set of ``explain.datasets._study_sets`` split 70/30 with seed 0 (at most ``max_rows`` rows)."""
    from sklearn.model_selection import train_test_split

    from ..datasets._study_sets import load_study_set

    s = load_study_set(name, max_rows=max_rows)
    X = s.X.to_numpy(float)
    if s.image_shape:
        X = X.reshape(len(X), 1, *s.image_shape)
    strat = s.y if s.task == "classification" else None
    Xtr, Xte, ytr, yte = train_test_split(X, s.y, test_size=0.3, random_state=0, stratify=strat)
    return StudyData(name, Xtr, Xte, ytr, yte, list(s.X.columns), s.task, s.source, s.image_shape, len(X))


def families_for(data: StudyData) -> tuple:
    """The families fitted on ``data``: all but the CNN on tables, all but Naive Bayes for regression."""
    out = [f for f in FAMILIES if f != "cnn" or data.images]
    return tuple(f for f in out if not (data.task == "regression" and f in _NOT_FOR_REGRESSION))


def _sklearn(family: str, data: StudyData, seed: int, y):
    from sklearn import ensemble, linear_model, naive_bayes, svm, tree
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rounds = 50 if data.images else 100
    if data.task == "classification":
        makers = {
            "glm": lambda: make_pipeline(StandardScaler(), linear_model.LogisticRegression(C=1.0, max_iter=3000)),
            "naive_bayes": lambda: make_pipeline(StandardScaler(), naive_bayes.GaussianNB(var_smoothing=1e-2)),
            "decision_tree": lambda: tree.DecisionTreeClassifier(max_depth=6, random_state=seed),
            "random_forest": lambda: ensemble.RandomForestClassifier(100, max_depth=8, random_state=seed, n_jobs=1),
            "gradient_boosting": lambda: ensemble.HistGradientBoostingClassifier(max_iter=rounds, random_state=seed),
            "svm": lambda: make_pipeline(StandardScaler(), CalibratedClassifierCV(
                svm.SVC(kernel="rbf", random_state=seed), cv=3, ensemble=False)),
        }
    else:
        spread = float(np.std(y)) or 1.0
        makers = {
            "glm": lambda: make_pipeline(StandardScaler(), linear_model.LinearRegression()),
            "decision_tree": lambda: tree.DecisionTreeRegressor(max_depth=6, random_state=seed),
            "random_forest": lambda: ensemble.RandomForestRegressor(100, max_depth=8, random_state=seed, n_jobs=1),
            "gradient_boosting": lambda: ensemble.HistGradientBoostingRegressor(max_iter=rounds, random_state=seed),
            "svm": lambda: make_pipeline(StandardScaler(), svm.SVR(kernel="rbf", C=3.0 * spread,
                                                                   epsilon=0.1 * spread)),
        }
    return makers[family]()


def fit_family(family: str, data: StudyData, seed: int):
    """Fit one family on a seeded 90% subsample of the training split; returns what explain() takes."""
    rng = np.random.default_rng(seed)
    n = len(data.y_train)
    idx = np.sort(rng.choice(n, int(0.9 * n), replace=False))
    X, y = data.X_train[idx], data.y_train[idx]
    if family == "cnn":
        from ..datasets._cnn import train_cnn

        return train_cnn(X, y, epochs=15, random_state=seed)
    if family in ("mlp", "nam"):
        from ._nets import fit_net

        epochs = 30 if data.images else 80
        hidden = 4 if family == "nam" and data.images else None  # 625-784 feature nets: small ones
        return fit_net(family, data.flat(X), y, task=data.task, epochs=epochs, hidden=hidden, random_state=seed)
    return _sklearn(family, data, seed, y).fit(data.flat(X), y)


def accuracy(model, data: StudyData) -> float:
    """Held-out share correct (classification) or R^2 (regression), through explain's adapter."""
    from ..adapters import get_adapter

    flat = data.flat(data.X_test)
    shape = (1,) + tuple(data.image_shape) if data.images else None
    a = get_adapter(model, X=flat, image_shape=shape)
    pred = np.asarray(a.predict(flat, a.natural_output), dtype=float)
    if data.task == "classification":
        return float(np.mean(np.argmax(pred, axis=1) == data.y_test))
    pred = pred.reshape(len(flat), -1)[:, 0]
    resid = float(np.sum((data.y_test - pred) ** 2))
    return 1.0 - resid / float(np.sum((data.y_test - data.y_test.mean()) ** 2))
