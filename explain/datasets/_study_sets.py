"""The study's real data sets, all offline: ten tables (binary, multiclass, regression) and two image sets.

Every table keeps all its columns, as numbers: categories become one indicator
column per level (penguins' island and sex), and a row with a missing value is
dropped (penguins). Large tables are cut to a seeded sample of ``max_rows`` rows
(the same rows for every family and seed). Images are grey, scaled to [0, 1], at
their own size (28x28 MNIST digits, 25x25 faces). Each set records its source.

    >>> from explain.datasets._study_sets import load_study_set
    >>> s = load_study_set("wine")
    >>> s.X.shape, s.task, s.n_classes
    ((178, 13), 'classification', 3)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["StudySet", "STUDY_SETS", "load_study_set"]


@dataclass(frozen=True)
class StudySet:
    """One data set: features ``X`` (numbers; images as pixel columns), target ``y``, task and source."""

    name: str
    X: pd.DataFrame
    y: np.ndarray
    task: str  # "classification" or "regression"
    source: str
    image_shape: tuple | None = None  # (H, W) for images

    @property
    def kind(self) -> str:
        return "image" if self.image_shape else "tabular"

    @property
    def n_classes(self) -> int:
        return int(len(np.unique(self.y))) if self.task == "classification" else 0


def _sklearn(name):
    from sklearn import datasets

    raw = getattr(datasets, f"load_{name}")(as_frame=True)
    return raw.data.astype(float), raw.target.to_numpy()


def _breast_cancer():
    X, y = _sklearn("breast_cancer")
    return X, y, "classification", "scikit-learn load_breast_cancer (UCI Wisconsin diagnostic), all 30 columns"


def _wine():
    X, y = _sklearn("wine")
    return X, y, "classification", "scikit-learn load_wine (UCI wine), 13 columns, 3 cultivars"


def _diabetes():
    X, y = _sklearn("diabetes")
    return X, y.astype(float), "regression", "scikit-learn load_diabetes (Efron et al. 2004), 10 columns, " \
                                             "disease progression"


def _statsmodels(name):
    import statsmodels.api as sm

    return getattr(sm.datasets, name).load_pandas().data.astype(float)


def _fair():
    d = _statsmodels("fair")
    return (d.drop(columns="affairs"), (d["affairs"] > 0).to_numpy(int), "classification",
            "statsmodels datasets.fair (Fair 1978), 8 columns, any affair")


def _randhie():
    d = _statsmodels("randhie")
    return (d.drop(columns="mdvis"), (d["mdvis"] > 0).to_numpy(int), "classification",
            "statsmodels datasets.randhie (RAND health insurance experiment), 9 columns, any doctor visit")


def _anes96():
    d = _statsmodels("anes96")
    return (d.drop(columns="vote"), d["vote"].to_numpy(int), "classification",
            "statsmodels datasets.anes96 (American National Election Study 1996), 10 columns, vote Dole vs Clinton")


def _modechoice():
    d = _statsmodels("modechoice")
    wide = d.pivot(index="individual", columns="mode", values=["ttme", "invc", "invt", "gc"])
    wide.columns = [f"{v}_{['air', 'train', 'bus', 'car'][int(m) - 1]}" for v, m in wide.columns]
    people = d.groupby("individual")[["hinc", "psize"]].first()
    chosen = d[d["choice"] == 1].set_index("individual")["mode"]
    X = wide.join(people).reset_index(drop=True)
    return (X, (chosen.loc[wide.index].to_numpy(int) - 1), "classification",
            "statsmodels datasets.modechoice (Greene, travel mode of 210 people), 18 columns (4 attributes of "
            "each of 4 modes, income, party size), 4 classes")


def _star98():
    d = _statsmodels("star98")
    share = d["NABOVE"] / (d["NABOVE"] + d["NBELOW"])
    return (d.drop(columns=["NABOVE", "NBELOW"]), share.to_numpy(float), "regression",
            "statsmodels datasets.star98 (California STAR test 1998), 20 columns, share of pupils above the median")


def _penguins():
    import palmerpenguins

    d = palmerpenguins.load_penguins().dropna().reset_index(drop=True)
    X = pd.get_dummies(d.drop(columns="species"), columns=["island", "sex"], dtype=float).astype(float)
    return (X, pd.factorize(d["species"], sort=True)[0], "classification",
            "palmerpenguins load_penguins (Gorman et al. 2014), 6 feature columns (island and sex as indicators: 10), "
            "complete rows, 3 species")


def _autompg():
    from mlxtend.data import autompg_data

    X, y = autompg_data()
    cols = ["cylinders", "displacement", "horsepower", "weight", "acceleration", "model_year", "origin"]
    return (pd.DataFrame(np.asarray(X[:, :7], dtype=float), columns=cols), np.asarray(y, float), "regression",
            "mlxtend.data.autompg_data (UCI Auto MPG), 7 numeric columns (the car name is an identifier), mpg")


def _mnist():
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    cols = [f"pixel_{r}_{c}" for r in range(28) for c in range(28)]
    return (pd.DataFrame(np.asarray(X, float) / 255.0, columns=cols), np.asarray(y, int), "classification",
            "mlxtend.data.mnist_data (5,000 MNIST digits, 28x28, LeCun et al.), pixels / 255")


def _lfw():
    from skimage.data import lfw_subset

    images = np.asarray(lfw_subset(), dtype=float)  # the first 100 are faces, the last 100 are not
    cols = [f"pixel_{r}_{c}" for r in range(25) for c in range(25)]
    return (pd.DataFrame(images.reshape(len(images), -1), columns=cols), np.repeat([1, 0], 100), "classification",
            "scikit-image data.lfw_subset (200 grey 25x25 images, 100 faces from Labeled Faces in the Wild and "
            "100 non-faces)")


STUDY_SETS = {"breast_cancer": _breast_cancer, "wine": _wine, "diabetes": _diabetes, "fair": _fair,
              "randhie": _randhie, "anes96": _anes96, "modechoice": _modechoice, "star98": _star98,
              "penguins": _penguins, "autompg": _autompg, "mnist": _mnist, "lfw": _lfw}
_IMAGES = {"mnist": (28, 28), "lfw": (25, 25)}


def load_study_set(name: str, *, max_rows: int | None = None, random_state: int = 0) -> StudySet:
    """A data set of the study by name (see ``STUDY_SETS``), at most ``max_rows`` rows (a seeded sample)."""
    if name not in STUDY_SETS:
        raise ValueError(f"unknown study data set {name!r}; available: {sorted(STUDY_SETS)}")
    X, y, task, source = STUDY_SETS[name]()
    X = X.reset_index(drop=True)
    y = np.asarray(y)
    if max_rows is not None and len(X) > max_rows:
        idx = np.sort(np.random.default_rng(random_state).choice(len(X), max_rows, replace=False))
        X, y = X.iloc[idx].reset_index(drop=True), y[idx]
        source += f"; a seeded sample of {max_rows} rows"
    return StudySet(name, X, y, task, source, _IMAGES.get(name))
