"""The embedded defaults: data sets shipped inside scikit-learn and a seeded model zoo.

Nothing is downloaded. ``load_tabular()`` is the Wisconsin breast cancer data,
``load_images()`` the 8x8 digits. ``model_zoo("tabular")`` fits one model of
every family on the same split of the same columns, in seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Dataset", "ModelZoo", "load_tabular", "load_images", "model_zoo", "TABULAR_FEATURES"]

#: The ten "mean ..." measurements of the breast cancer data. The zoo uses these:
#: on all 30 columns the maximum-likelihood logit is perfectly separated (singular
#: Hessian), and a GLM without valid inference is not the baseline users expect.
TABULAR_FEATURES = ("mean radius", "mean texture", "mean perimeter", "mean area", "mean smoothness",
                    "mean compactness", "mean concavity", "mean concave points", "mean symmetry",
                    "mean fractal dimension")


@dataclass(frozen=True)
class Dataset:
    """A data set: ``X`` (DataFrame), ``y`` (ndarray), class names; unpacks as ``X, y``."""

    name: str
    X: pd.DataFrame
    y: np.ndarray
    target_names: tuple
    image_shape: tuple | None = None

    def __iter__(self):
        return iter((self.X, self.y))


def load_tabular(name: str = "breast_cancer", *, columns: str = "mean") -> Dataset:
    """A tabular data set that ships offline.

    Parameters
    ----------
    name : {"breast_cancer", "penguins", "fair"}, default="breast_cancer"
        "breast_cancer": 569 rows, 1 = benign (scikit-learn). "penguins": Palmer
        penguins, species from string columns with missing values. "fair":
        Fair's affairs (statsmodels) with occupation and religiousness as
        labelled ``category`` columns.
    columns : {"mean", "all"}, default="mean"
        Breast cancer only: "mean" keeps the ten ``TABULAR_FEATURES`` the zoo is
        fitted on; "all" keeps the 30 columns.
    """
    from sklearn.datasets import load_breast_cancer

    from ._mixed import load_fair, load_penguins

    loaders = {"penguins": load_penguins, "fair": load_fair}
    if name in loaders:
        return loaders[name]()
    if name != "breast_cancer":
        raise ValueError(f"unknown data set {name!r}; available: 'breast_cancer', 'penguins', 'fair'")
    if columns not in ("mean", "all"):
        raise ValueError(f"columns must be 'mean' or 'all', got {columns!r}")
    raw = load_breast_cancer(as_frame=True)
    X = raw.data if columns == "all" else raw.data[list(TABULAR_FEATURES)]
    return Dataset("breast_cancer", X.copy(), raw.target.to_numpy(), tuple(raw.target_names))


def load_images(size: int = 8) -> Dataset:
    """Digits: 1,797 images as ``size`` x ``size`` columns ``pixel_r_c``, from scikit-learn.

    ``size=8`` is the original data. Larger sizes (a multiple of 8, e.g. 32 or 64) upscale every image by
    bilinear interpolation (``scipy.ndimage.zoom``, order 1), values still in [0, 16]: real-size images
    for the torch path and the report, made offline from the shipped data.
    """
    from sklearn.datasets import load_digits

    if not (isinstance(size, int) and size >= 8 and size % 8 == 0):
        raise ValueError(f"size must be 8 or a larger multiple of 8 (e.g. 32, 64), got {size!r}")
    raw = load_digits()
    pixels = raw.data
    if size != 8:
        from scipy.ndimage import zoom

        pixels = np.clip(zoom(raw.images, (1, size / 8, size / 8), order=1, grid_mode=True, mode="nearest"),
                         0, 16).reshape(len(raw.images), -1)
    cols = [f"pixel_{r}_{c}" for r in range(size) for c in range(size)]
    return Dataset("digits" if size == 8 else f"digits{size}", pd.DataFrame(pixels, columns=cols),
                   raw.target.copy(), tuple(str(t) for t in raw.target_names), image_shape=(size, size))


@dataclass(frozen=True)
class ModelZoo(Mapping):
    """Fitted models by name, with the split they were fitted on."""

    models: dict
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: np.ndarray
    y_test: np.ndarray
    scores: dict = field(default_factory=dict)

    def __getitem__(self, name):
        return self.models[name]

    def __iter__(self):
        return iter(self.models)

    def __len__(self):
        return len(self.models)


#: Model sizes per zoo size: "small" fits the same families with fewer trees, rows and epochs (tests, examples).
_SIZES = {"full": {"trees": 200, "boosting": 100, "train_rows": None, "epochs": 30},
          "small": {"trees": 20, "boosting": 20, "train_rows": 600, "epochs": 10}}


def _tabular_zoo(random_state: int, size: dict) -> ModelZoo:
    import statsmodels.api as sm
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.model_selection import train_test_split
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    X, y = load_tabular()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=random_state, stratify=y)
    models = {
        "glm": sm.Logit(y_tr, sm.add_constant(X_tr)).fit(disp=0, maxiter=200),
        "naive_bayes": GaussianNB().fit(X_tr, y_tr),
        "random_forest": RandomForestClassifier(n_estimators=size["trees"], random_state=random_state).fit(X_tr, y_tr),
        "gradient_boosting": GradientBoostingClassifier(n_estimators=size["boosting"],
                                                        random_state=random_state).fit(X_tr, y_tr),
        "svm": make_pipeline(StandardScaler(), SVC(kernel="rbf", random_state=random_state)).fit(X_tr, y_tr),
    }
    from ..adapters import get_adapter

    scores = {}
    for name, m in models.items():
        adapter = get_adapter(m)
        pred = adapter.predict(X_te.to_numpy(float), adapter.natural_output)
        scores[name] = float(np.mean(np.argmax(pred, axis=1) == y_te))
    return ModelZoo(models, X_tr, X_te, y_tr, y_te, scores)


def _images_zoo(random_state: int, size: dict) -> ModelZoo:
    """Digits: every family fitted on the same split; sklearn models on the 64 pixel columns scaled
    to [0, 1], the CNN on the same pixels as (N, 1, 8, 8) images. A small zoo fits on the first
    ``train_rows`` rows of the training split (same test split)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from ._cnn import train_cnn

    X, y = load_images()
    X = X / 16.0
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=random_state, stratify=y)
    if size["train_rows"]:
        X_tr, y_tr = X_tr.iloc[: size["train_rows"]], y_tr[: size["train_rows"]]
    A_tr = X_tr.to_numpy(np.float32)
    models = {
        "glm": LogisticRegression(C=0.5, max_iter=2000).fit(A_tr, y_tr),
        "naive_bayes": GaussianNB(var_smoothing=0.05).fit(A_tr, y_tr),
        "random_forest": RandomForestClassifier(n_estimators=size["trees"], random_state=random_state).fit(A_tr, y_tr),
        "svm": make_pipeline(StandardScaler(), SVC(kernel="rbf", random_state=random_state)).fit(A_tr, y_tr),
        "cnn": train_cnn(A_tr.reshape(-1, 1, 8, 8), y_tr, epochs=size["epochs"], random_state=random_state),
    }
    from ..adapters import get_adapter

    scores = {}
    images = X_te.to_numpy(float).reshape(-1, 1, 8, 8)
    for name, m in models.items():
        flat = images.reshape(len(images), -1)
        a = get_adapter(m, X=flat, image_shape=(1, 8, 8))
        scores[name] = float(np.mean(np.argmax(a.predict(flat, a.natural_output), axis=1) == y_te))
    return ModelZoo(models, X_tr, X_te, y_tr, y_te, scores)


def model_zoo(kind: str = "tabular", *, random_state: int = 0, size: str = "full") -> ModelZoo:
    """Fitted, seeded models of every family on an embedded data set.

    Parameters
    ----------
    kind : {"tabular", "images", "mixed"}
        "tabular": statsmodels Logit GLM, Gaussian Naive Bayes, random forest
        (200 trees), gradient boosting and an RBF SVM in a scaling pipeline, on
        a stratified 70/30 split of ``load_tabular()``.
        "images": multinomial logistic GLM, Gaussian Naive Bayes, random forest,
        RBF SVM (scaling pipeline) on the 64 digit pixels scaled to [0, 1], and a
        small CNN on the same pixels as (N, 1, 8, 8) images; ``X_train`` and
        ``X_test`` hold the scaled pixels as columns (reshape for the CNN).
        "mixed": Fair's affairs with string categories, each family as a
        realistic pipeline (one-hot + imputer + scaler in a ColumnTransformer
        before LogisticRegression, GaussianNB, a random forest and an RBF SVM;
        HistGradientBoosting and LightGBM with native categoricals) and a
        statsmodels formula logit with ``C(...)`` terms.
    random_state : int, default=0
    size : {"full", "small"}, default="full"
        "small" fits the same families on the same data with 20 trees and 20
        boosting rounds; "images" and "mixed" also fit on 600 training rows,
        the CNN for 10 epochs instead of 30. The test split is the same.
        Seconds instead of minutes: for tests and examples.

    Returns
    -------
    ModelZoo
        A mapping name -> fitted model, with ``X_train``, ``X_test``,
        ``y_train``, ``y_test`` and held-out accuracy in ``scores``.

    Examples
    --------
    >>> from explain import datasets
    >>> zoo = datasets.model_zoo("tabular", size="small")
    >>> sorted(zoo)
    ['glm', 'gradient_boosting', 'naive_bayes', 'random_forest', 'svm']
    >>> zoo.X_test.shape
    (171, 10)
    """
    if size not in _SIZES:
        raise ValueError(f"size must be 'full' or 'small', got {size!r}")
    if kind == "tabular":
        return _tabular_zoo(random_state, _SIZES[size])
    if kind == "images":
        return _images_zoo(random_state, _SIZES[size])
    if kind == "mixed":
        from ._mixed import mixed_zoo

        if size == "full":
            return mixed_zoo(random_state)
        small = _SIZES["small"]
        return mixed_zoo(random_state, n_train=small["train_rows"], trees=small["trees"], boosting=small["boosting"])
    raise ValueError(f"unknown zoo {kind!r}; available: 'tabular', 'images', 'mixed'")
