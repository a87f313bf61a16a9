"""One fitted model per supported type, for the parametrised conformance suite."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers import make_data


def _sm_logit():
    import statsmodels.api as sm

    X, y = make_data(task="binary")
    return sm.Logit(y, sm.add_constant(X)).fit(disp=0), X


def _sm_poisson():
    import statsmodels.api as sm

    X, y = make_data(task="count")
    return sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit(), X


def _sm_ols_frame():
    import statsmodels.api as sm

    X, y = make_data(task="regression")
    df = pd.DataFrame(X, columns=[f"c{j}" for j in range(X.shape[1])])
    return sm.OLS(y, sm.add_constant(df)).fit(), df


def _sm_formula():
    import statsmodels.formula.api as smf

    X, y = make_data(task="binary")
    df = pd.DataFrame(X, columns=list("abcde"))
    df["a"] = df["a"].abs() + 1
    df["y"] = y
    res = smf.logit("y ~ np.log(a) + b + I(c ** 2) + d + e", df).fit(disp=0)
    return res, df.drop(columns="y")


def _sk(make, task="binary", transform=None):
    def build():
        X, y = make_data(task=task)
        if transform:
            X = transform(X)
        return make().fit(X, y), X
    return build


def _builders():
    from sklearn.ensemble import (ExtraTreesRegressor, GradientBoostingClassifier, HistGradientBoostingRegressor,
                                  RandomForestClassifier, RandomForestRegressor)
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import LinearRegression, LogisticRegression, PoissonRegressor, Ridge
    from sklearn.naive_bayes import BernoulliNB, GaussianNB, MultinomialNB
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, SVR
    from sklearn.tree import DecisionTreeClassifier

    return {
        "LogisticRegression": _sk(lambda: LogisticRegression(max_iter=1000)),
        "LogisticRegression-multiclass": _sk(lambda: LogisticRegression(max_iter=1000), "multiclass"),
        "LinearRegression": _sk(LinearRegression, "regression"),
        "Ridge-pipeline": _sk(lambda: make_pipeline(StandardScaler(), Ridge()), "regression"),
        "PoissonRegressor": _sk(PoissonRegressor, "count"),
        "statsmodels-Logit": _sm_logit,
        "statsmodels-GLM-Poisson": _sm_poisson,
        "statsmodels-OLS-frame": _sm_ols_frame,
        "statsmodels-formula": _sm_formula,
        "GaussianNB": _sk(GaussianNB),
        "GaussianNB-multiclass": _sk(GaussianNB, "multiclass"),
        "BernoulliNB": _sk(BernoulliNB, transform=lambda X: X - X.mean(0)),
        "MultinomialNB": _sk(MultinomialNB, transform=lambda X: np.floor(np.abs(X))),
        "DecisionTreeClassifier": _sk(lambda: DecisionTreeClassifier(max_depth=4, random_state=0)),
        "RandomForestClassifier": _sk(lambda: RandomForestClassifier(20, random_state=0)),
        "RandomForestRegressor": _sk(lambda: RandomForestRegressor(20, random_state=0), "regression"),
        "ExtraTreesRegressor": _sk(lambda: ExtraTreesRegressor(20, random_state=0), "regression"),
        "GradientBoostingClassifier": _sk(lambda: GradientBoostingClassifier(n_estimators=30, random_state=0)),
        "GradientBoosting-multiclass": _sk(lambda: GradientBoostingClassifier(n_estimators=20, random_state=0),
                                           "multiclass"),
        "HistGradientBoostingRegressor": _sk(lambda: HistGradientBoostingRegressor(max_iter=30), "regression"),
        "XGBClassifier": _sk(_xgb),
        "LGBMRegressor": _sk(_lgbm, "regression"),
        "SVC-pipeline": _sk(lambda: make_pipeline(StandardScaler(), SVC())),
        "SVC-multiclass": _sk(lambda: SVC(probability=True, random_state=0), "multiclass"),
        "SVR": _sk(SVR, "regression"),
        "KernelRidge": _sk(lambda: KernelRidge(kernel="rbf", alpha=0.1), "regression"),
        "mixed-onehot-RandomForest": _mixed_forest,
        "mixed-HistGB-native": _mixed_hist,
        "mixed-formula-logit": _mixed_formula,
        "CallableAdapter": _callable,
        "torch-CNN": _torch_cnn,
        "torch-MLP": _torch_mlp,
    }


def _xgb():
    import xgboost

    return xgboost.XGBClassifier(n_estimators=20, max_depth=3)


def _lgbm():
    import lightgbm

    return lightgbm.LGBMRegressor(n_estimators=20, num_leaves=8, verbose=-1)


def _mixed_frame(n=160, seed=0):
    """A small mixed-type table: strings with NaN, a category, a boolean, a nullable integer, numbers."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "colour": rng.choice(["red", "green", "blue"], n).astype(object),
        "size": pd.Categorical(rng.choice(["S", "M", "L"], n), categories=["S", "M", "L"]),
        "flag": rng.random(n) > 0.5,
        "count": pd.array(rng.integers(0, 5, n), dtype="Int64"),
        "x": rng.normal(size=n) * 1.7 + 0.123456789,
    })
    df.loc[rng.random(n) < 0.1, "colour"] = np.nan
    y = ((df["x"] > 0) ^ (df["colour"] == "red") ^ df["flag"]).astype(int).to_numpy()
    return df, y


def _mixed_forest():
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    df, y = _mixed_frame()
    ct = ColumnTransformer([("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                                  OneHotEncoder(handle_unknown="ignore")), ["colour", "size"]),
                            ("num", "passthrough", ["flag", "count", "x"])])
    return make_pipeline(ct, RandomForestClassifier(20, max_depth=5, random_state=0)).fit(df, y), df


def _mixed_hist():
    from sklearn.ensemble import HistGradientBoostingClassifier

    df, y = _mixed_frame(seed=1)
    df = df.drop(columns=["colour", "count"])
    return HistGradientBoostingClassifier(categorical_features="from_dtype", max_iter=20).fit(df, y), df


def _mixed_formula():
    import statsmodels.formula.api as smf

    df, y = _mixed_frame(seed=2)
    df = df.drop(columns=["colour", "count", "flag"])
    res = smf.logit("y ~ C(size) + x", df.assign(y=y)).fit(disp=0)
    return res, df


def _callable():
    from explain import CallableAdapter

    X, _ = make_data(task="regression")
    return CallableAdapter(lambda Z: np.tanh(Z[:, 0]) * Z[:, 1] + Z[:, 2], task="regression"), X


def _torch_cnn():
    """An untrained (seeded) small CNN on random 8x8 images: the adapter contract needs no training."""
    import torch

    from explain.datasets._cnn import make_cnn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = make_cnn(4)
    rng = np.random.default_rng(0)
    return model.eval(), rng.uniform(size=(60, 1, 8, 8)).astype(np.float32).astype(float)


def _torch_mlp():
    import torch

    X, _ = make_data(task="regression")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    return model.eval(), X


MODEL_NAMES = list(_builders())


def build(name):
    return _builders()[name]()
