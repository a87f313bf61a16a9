"""The study's data sets and model families, each refitted per seed on a seeded 90% subsample.

Every classifier is explained in the probability of the explained class, so the
families are built to offer it: the RBF SVM through ``CalibratedClassifierCV``
(Platt scaling, scikit-learn 1.9's replacement for ``SVC(probability=True)``), the
tabular MLP (torch) as a small classifier with ``predict_proba`` (softmax), the CNN
through the torch adapter's softmax output. Tabular families see the same columns
(mixed data through the same one-hot/scaling ColumnTransformer where a family
needs numbers); image families the same 64 pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

__all__ = ["StudyData", "load_study_data", "fit_family", "TABULAR_FAMILIES", "IMAGE_FAMILIES", "DEEP"]

TABULAR_FAMILIES = ("glm", "naive_bayes", "decision_tree", "random_forest", "gradient_boosting", "svm", "mlp")
IMAGE_FAMILIES = ("glm", "naive_bayes", "random_forest", "gradient_boosting", "svm", "mlp", "cnn")
DEEP = ("mlp", "cnn")
WINE_COLUMNS = 10  # the first ten of wine's 13 columns: exact Shapley values by enumeration for every family


@dataclass
class StudyData:
    """One data set of the study, split once (seed 0)."""

    name: str
    X_train: object
    X_test: object
    y_train: np.ndarray
    y_test: np.ndarray
    images: bool = False

    def rows(self, n):
        return self.X_test[:n] if self.images else self.X_test.iloc[:n]

    def background(self, n):
        return self.X_train[:n] if self.images else self.X_train.iloc[:n]


def load_study_data(name: str) -> StudyData:
    """breast_cancer (10 columns), wine (10 columns, 3 classes), fair (8 mixed columns), digits (8x8 images),
    digits32 (the same digits upscaled to 32x32: real-size images, not in the default configurations)."""
    from sklearn.model_selection import train_test_split

    from .. import datasets

    if name in ("digits", "digits32"):
        size = 8 if name == "digits" else 32
        X, y = datasets.load_images(size=size)
        images = (X.to_numpy(float) / 16.0).reshape(-1, 1, size, size)
        Xtr, Xte, ytr, yte = train_test_split(images, y, test_size=0.3, random_state=0, stratify=y)
        return StudyData(name, Xtr, Xte, ytr, yte, images=True)
    if name == "wine":
        from sklearn.datasets import load_wine

        raw = load_wine(as_frame=True)
        X, y = raw.data.iloc[:, :WINE_COLUMNS], raw.target.to_numpy()
    else:
        X, y = datasets.load_tabular(name)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    return StudyData(name, Xtr.reset_index(drop=True), Xte.reset_index(drop=True), ytr, yte)


class TorchMLPClassifier(ClassifierMixin, BaseEstimator):
    """A small torch MLP with scikit-learn's fit / predict_proba, on numeric (scaled) columns."""

    def __init__(self, hidden=32, epochs=60, random_state=0):
        self.hidden, self.epochs, self.random_state = hidden, epochs, random_state

    def fit(self, X, y):
        from ..datasets._cnn import make_mlp, train_torch

        X = np.asarray(X, dtype=float)
        self.classes_ = np.unique(y)
        codes = np.searchsorted(self.classes_, y)
        self.net_ = train_torch(lambda: make_mlp(X.shape[1], len(self.classes_), self.hidden), X, codes,
                                epochs=self.epochs, lr=3e-3, random_state=self.random_state, weight_decay=1e-4)
        return self

    def predict_proba(self, X):
        import torch

        with torch.no_grad():
            logits = self.net_(torch.as_tensor(np.asarray(X, dtype=np.float32)))
            return torch.softmax(logits, dim=1).double().numpy()

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _preprocess(X):
    """Scale numbers; for a mixed table also impute and one-hot the categories."""
    from sklearn.preprocessing import StandardScaler

    if isinstance(X, pd.DataFrame) and not all(pd.api.types.is_numeric_dtype(t) for t in X.dtypes):
        from ..datasets._mixed import _encoders

        return _encoders(X)
    return StandardScaler()


def fit_family(family: str, data: StudyData, seed: int):
    """Fit one family on a seeded 90% subsample of the training set; returns what explain() takes."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(seed)
    n = len(data.y_train)
    idx = np.sort(rng.choice(n, int(0.9 * n), replace=False))
    y = data.y_train[idx]
    if data.images:
        X = data.X_train[idx]
        flat = X.reshape(len(X), -1)
        if family == "cnn":
            from ..datasets._cnn import train_cnn

            return train_cnn(X, y, epochs=15, random_state=seed)
    else:
        X = data.X_train.iloc[idx]
        flat = X
    makers = {
        "glm": lambda: LogisticRegression(C=1.0, max_iter=3000),
        "naive_bayes": lambda: GaussianNB(var_smoothing=1e-2),
        "decision_tree": lambda: DecisionTreeClassifier(max_depth=6, random_state=seed),
        "random_forest": lambda: RandomForestClassifier(100, max_depth=8, random_state=seed, n_jobs=1),
        "gradient_boosting": lambda: HistGradientBoostingClassifier(max_iter=100, random_state=seed),
        "svm": lambda: CalibratedClassifierCV(SVC(kernel="rbf", random_state=seed), cv=3),
        "mlp": lambda: TorchMLPClassifier(epochs=40 if data.images else 80, random_state=seed),
    }
    est = makers[family]()
    model = est.fit(flat, y) if data.images else make_pipeline(_preprocess(data.X_train), est).fit(flat, y)
    if family == "mlp":  # torch behind a pipeline: explained through its predict_proba
        from ..adapters.callable import CallableAdapter

        names = None if data.images else list(data.X_train.columns)
        return CallableAdapter(model.predict_proba, task="classification", classes=model.classes_,
                               feature_names=names, name="mlp")
    return model
