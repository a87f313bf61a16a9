"""Real mixed-type tables that install offline, and the zoo of realistic pipelines fitted on them.

- Palmer penguins (the ``palmerpenguins`` package ships its CSV): 344 birds, species
  to predict from island and sex (strings, sex missing for 11) and four measurements
  (2 missing each) and the year.
- Fair's affairs (statsmodels' ``fair``): 6,366 women; whether they reported any
  affair, from marriage rating, age, years married, children, education, and their
  own and their husband's occupation and religiousness, whose numeric codes are
  turned back into their documented labels as ``category`` columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["load_penguins", "load_fair", "mixed_zoo", "FAIR_CATEGORICAL"]

# statsmodels.datasets.fair's documented codes
_OCCUPATION = {1: "student", 2: "farming, semi-skilled, unskilled", 3: "white collar",
               4: "teacher, nurse, writer, technician, skilled", 5: "managerial, business",
               6: "professional with advanced degree"}
_RELIGIOUS = {1: "not religious", 2: "mildly religious", 3: "fairly religious", 4: "strongly religious"}
FAIR_CATEGORICAL = ("occupation", "occupation_husb", "religious")


def load_penguins():
    """Palmer penguins: X with string columns and NaN, y the species (Adelie, Chinstrap, Gentoo)."""
    from palmerpenguins import load_penguins as _load

    from . import Dataset

    df = _load()
    y = df.pop("species")
    X = df[["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"]]
    for col in ("island", "sex"):
        X[col] = X[col].astype(object).where(X[col].notna(), np.nan)
    names = tuple(sorted(y.unique()))
    return Dataset("penguins", X.copy(), np.searchsorted(names, y.to_numpy()), names)


def load_fair():
    """Fair's affairs: X with three ``category`` columns and five numeric ones; y = 1 if any affair."""
    import statsmodels.api as sm

    from . import Dataset

    df = sm.datasets.fair.load_pandas().data.copy()
    y = (df.pop("affairs") > 0).astype(int).to_numpy()
    for col, labels in (("occupation", _OCCUPATION), ("occupation_husb", _OCCUPATION),
                        ("religious", _RELIGIOUS)):
        df[col] = pd.Categorical(df[col].astype(int).map(labels), categories=list(labels.values()))
    order = ["rate_marriage", "age", "yrs_married", "children", "educ", "religious", "occupation",
             "occupation_husb"]
    return Dataset("fair", df[order], y, ("no affair", "affair"))


def _encoders(X):
    """One-hot the categories, scale the numbers (median-impute them first), as users do."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cats = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    nums = [c for c in X.columns if c not in cats]
    return ColumnTransformer([
        ("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cats),
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums)])


def mixed_zoo(random_state: int = 0, n_train: int = 2500, trees: int = 100, boosting: int = 100):
    """Every family as a realistic pipeline on Fair's affairs, plus a statsmodels formula GLM."""
    import lightgbm
    import statsmodels.formula.api as smf
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC

    from . import ModelZoo

    X, y = load_fair()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, train_size=n_train, random_state=random_state, stratify=y)
    X_tr, X_te = X_tr.reset_index(drop=True), X_te.reset_index(drop=True)
    formula = ("affair ~ rate_marriage + age + yrs_married + children + educ + C(religious) + C(occupation) "
               "+ C(occupation_husb)")
    models = {
        "glm": make_pipeline(_encoders(X), LogisticRegression(max_iter=2000)).fit(X_tr, y_tr),
        "formula_glm": smf.logit(formula, data=X_tr.assign(affair=y_tr)).fit(disp=0),
        "naive_bayes": make_pipeline(_encoders(X), GaussianNB(var_smoothing=1e-2)).fit(X_tr, y_tr),
        "random_forest": make_pipeline(_encoders(X), RandomForestClassifier(
            n_estimators=trees, max_depth=8, random_state=random_state)).fit(X_tr, y_tr),
        "hist_gradient_boosting": HistGradientBoostingClassifier(
            categorical_features="from_dtype", max_iter=boosting, random_state=random_state).fit(X_tr, y_tr),
        "lightgbm": lightgbm.LGBMClassifier(n_estimators=boosting, num_leaves=15, verbose=-1,
                                            random_state=random_state).fit(X_tr, y_tr),
        "svm": make_pipeline(_encoders(X), SVC(kernel="rbf", random_state=random_state)).fit(X_tr, y_tr),
    }
    scores = {}
    for name, m in models.items():
        pred = m.predict(X_te) if name != "formula_glm" else (m.predict(X_te) > 0.5).astype(int)
        scores[name] = float(np.mean(np.asarray(pred).astype(int) == y_te))
    return ModelZoo(models, X_tr, X_te, y_tr, y_te, scores)
