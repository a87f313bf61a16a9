"""Partial dependence against scikit-learn's brute force on the same grid, for each path (additive, kernel, brute)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.inspection import partial_dependence as sk_partial_dependence
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC, SVR

import explain
from explain.errors import ExplainError, ParameterError, TargetError


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4)) * [1.0, 2.0, 0.5, 1.0]
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + X[:, 3]
    return X, y, (y > np.median(y)).astype(int)


@pytest.fixture(scope="module")
def mixed():
    rng = np.random.default_rng(1)
    n = 90
    frame = pd.DataFrame({"age": rng.normal(40, 10, n), "city": rng.choice(["paris", "lyon", "nice"], n),
                          "income": rng.normal(3, 1, n)})
    y = ((frame["age"] - 40) / 10 + (frame["city"] == "nice") * 1.5 - frame["income"] + 3
         + rng.normal(0, 0.3, n) > 0).astype(int)
    return frame, y


def _sk(model, X, features, grid, response, kind="both"):
    feats = list(features)
    custom = {f: np.asarray(g) for f, g in zip(feats, grid)}
    return sk_partial_dependence(model, X, feats, custom_values=custom, method="brute", kind=kind,
                                 response_method=response)


def _check(ours, theirs, col=0):
    shape = ours.average.shape
    np.testing.assert_allclose(ours.average, np.asarray(theirs["average"][col]).reshape(shape), rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.individual, np.asarray(theirs["individual"][col]).reshape(ours.individual.shape),
                               rtol=0, atol=1e-10)


GRID1 = [np.linspace(-1.5, 1.5, 7)]
GRID2 = [np.linspace(-1.0, 1.0, 4), np.linspace(-2.0, 2.0, 3)]


@pytest.mark.parametrize("features,grid", [((0,), GRID1), ((1, 2), GRID2)])
def test_glm_margin_is_additive_line(data, features, grid):
    X, _, yc = data
    model = LogisticRegression().fit(X, yc)
    ours = explain.partial_dependence(model, X, features if len(features) == 2 else features[0],
                                      grid=grid if len(grid) == 2 else grid[0], kind="both")
    assert ours.method == "additive" and ours.output == "margin" and ours.exact
    _check(ours, _sk(model, X, features, grid, "decision_function"))


def test_glm_probability_is_brute(data):
    X, _, yc = data
    model = LogisticRegression().fit(X, yc)
    ours = explain.partial_dependence(model, X, 0, grid=GRID1[0], kind="both", output="probability")
    assert ours.method == "brute"
    _check(ours, _sk(model, X, (0,), GRID1, "predict_proba"))


def test_forest_and_boosting_tree_cells(data):
    X, y, yc = data
    forest = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(X, yc)
    ours = explain.partial_dependence(forest, X, 1, grid=GRID1[0], kind="both", output="probability")
    assert ours.method == "trees"
    _check(ours, _sk(forest, X, (1,), GRID1, "predict_proba"))
    fine = np.linspace(-3, 3, 301)  # far finer than the splits: fewer model calls, the same numbers
    ours = explain.partial_dependence(forest, X, 2, grid=fine, kind="both", output="probability")
    assert ours.params["evaluated_grid_points"] < 301
    _check(ours, _sk(forest, X, (2,), [fine], "predict_proba"))
    boost = GradientBoostingRegressor(n_estimators=10, max_depth=2, random_state=0).fit(X, y)
    ours = explain.partial_dependence(boost, X, [0, 1], grid=GRID2, kind="both")
    _check(ours, _sk(boost, X, (0, 1), GRID2, "auto"))


@pytest.mark.parametrize("kernel", ["rbf", "laplacian"])
def test_kernel_closed_form(data, kernel):
    X, y, yc = data
    svc = SVC(kernel="rbf", gamma=0.3).fit(X, yc) if kernel == "rbf" else None
    models = [(svc, "decision_function")] if svc is not None else []
    from sklearn.kernel_ridge import KernelRidge
    models.append((KernelRidge(kernel=kernel, gamma=0.2, alpha=0.1).fit(X, y), "auto"))
    models.append((SVR(gamma=0.4).fit(X, y), "auto"))
    for model, response in models:
        for features, grid in [((2,), GRID1), ((0, 3), GRID2)]:
            ours = explain.partial_dependence(model, X, features if len(features) == 2 else features[0],
                                              grid=grid if len(grid) == 2 else grid[0], kind="both")
            assert ours.method == "kernel", type(model).__name__
            _check(ours, _sk(model, X, features, grid, response))


def test_kernel_target_zero_flips_sign(data):
    X, _, yc = data
    svc = SVC(gamma=0.3).fit(X, yc)
    pos = explain.partial_dependence(svc, X, 0, grid=GRID1[0])
    neg = explain.partial_dependence(svc, X, 0, grid=GRID1[0], target=0)
    np.testing.assert_allclose(neg.average, -pos.average, atol=1e-12)


def test_pipeline_with_string_column(mixed):
    frame, y = mixed
    pre = ColumnTransformer([("num", StandardScaler(), ["age", "income"]), ("cat", OneHotEncoder(), ["city"])])
    for est, response, method in [(LogisticRegression(), "decision_function", "additive"),
                                  (SVC(gamma=0.5), "decision_function", "kernel"),
                                  (RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0),
                                   "predict_proba", "trees")]:
        from sklearn.base import clone
        model = make_pipeline(clone(pre), est).fit(frame, y)
        ours = explain.partial_dependence(model, frame, "city", kind="both")
        assert ours.method == method, (ours.method, method)
        assert list(ours.grid_labels[0]) == ["lyon", "nice", "paris"]
        _check(ours, _sk(model, frame, ("city",), [np.array(["lyon", "nice", "paris"], dtype=object)], response))
        grid = [np.array(["nice", "paris"], dtype=object), np.array([30.0, 45.0, 60.0])]
        pair = explain.partial_dependence(model, frame, ["city", "age"], grid=grid, kind="both")
        assert pair.method == method and pair.average.shape == (2, 3)
        _check(pair, _sk(model, frame, ("city", "age"), grid, response))


def test_default_grid_matches_sklearn(data):
    X, y, _ = data
    model = SVR().fit(X, y)
    ours = explain.partial_dependence(model, X, 1, grid_resolution=9)
    theirs = sk_partial_dependence(model, X, [1], grid_resolution=9, method="brute")
    np.testing.assert_allclose(ours.grid[0], theirs["grid_values"][0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.average, theirs["average"][0], rtol=0, atol=1e-10)


def test_result_is_immutable_and_framed(data):
    X, y, _ = data
    model = SVR().fit(X, y)
    res = explain.partial_dependence(model, X, [0, 1], grid=GRID2, kind="both")
    with pytest.raises(AttributeError):
        res.method = "x"
    with pytest.raises(ValueError):
        res.average[0, 0] = 1.0
    frame = res.to_frame()
    assert len(frame) == 12 + 80 * 12
    assert set(frame.columns) == {"x0", "x1", "row", "kind", "value"}
    avg = frame[frame["kind"] == "average"]
    np.testing.assert_allclose(avg["value"].to_numpy(), res.average.ravel())
    only = explain.partial_dependence(model, X, 0, kind="individual")
    assert only.average is None and only.individual.shape[0] == 80


def test_errors(data):
    X, y, yc = data
    model = SVR().fit(X, y)
    with pytest.raises(ParameterError, match="no feature named"):
        explain.partial_dependence(model, X, "nope")
    with pytest.raises(ParameterError, match="kind"):
        explain.partial_dependence(model, X, 0, kind="mean")
    with pytest.raises(ParameterError, match="twice"):
        explain.partial_dependence(model, X, [1, 1])
    with pytest.raises(ParameterError, match="finite"):
        explain.partial_dependence(model, X, 0, grid=[np.nan])
    multi = LogisticRegression().fit(X, np.digitize(y, np.quantile(y, [0.33, 0.66])))
    with pytest.raises(TargetError, match="target"):
        explain.partial_dependence(multi, X, 0)
    assert issubclass(TargetError, ExplainError)
    res = explain.partial_dependence(multi, X, 0, grid=GRID1[0], target=2, kind="both", output="probability")
    theirs = _sk(multi, X, (0,), GRID1, "predict_proba")
    _check(res, theirs, col=2)


def test_multiclass_svc_margin_and_mlp_probability(data):
    """Paths without a scikit-learn counterpart in the same space: against the model's own outputs, by hand."""
    from sklearn.neural_network import MLPClassifier

    from explain.adapters import get_adapter

    X, y, _ = data
    y3 = np.digitize(y, np.quantile(y, [0.33, 0.66]))
    svc = SVC(gamma=0.3).fit(X, y3)
    res = explain.partial_dependence(svc, X, [1, 2], grid=GRID2, target=2, kind="both")
    assert res.method == "kernel" and res.output == "margin"
    adapter = get_adapter(svc)
    expected = np.empty((len(X), 4, 3))
    for a, u in enumerate(GRID2[0]):
        for c, v in enumerate(GRID2[1]):
            Z = X.copy()
            Z[:, 1], Z[:, 2] = u, v
            expected[:, a, c] = adapter.predict(Z, "margin")[:, 2]
    np.testing.assert_allclose(res.individual, expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.average, expected.mean(axis=0), rtol=0, atol=1e-10)
    mlp = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", alpha=1.0, max_iter=500, random_state=0).fit(X, y3)
    ours = explain.partial_dependence(mlp, X, 3, grid=GRID1[0], target=1, kind="both", output="probability")
    _check(ours, _sk(mlp, X, (3,), GRID1, "predict_proba"), col=1)


def test_mixing_preprocessing_falls_back_to_brute(data):
    from sklearn.decomposition import PCA

    X, _, yc = data
    model = make_pipeline(PCA(n_components=3), SVC(gamma=0.5)).fit(X, yc)
    ours = explain.partial_dependence(model, X, 0, grid=GRID1[0], kind="both")
    assert ours.method == "brute"
    _check(ours, _sk(model, X, (0,), GRID1, "decision_function"))


def test_hist_gradient_boosting_with_categories():
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"x": rng.normal(size=120), "c": pd.Categorical(rng.choice(["a", "b", "c", "d"], 120))})
    y = frame["x"] + frame["c"].cat.codes.to_numpy() ** 2 + rng.normal(0, 0.1, 120)
    model = HistGradientBoostingRegressor(max_iter=15, categorical_features="from_dtype", random_state=0)
    model.fit(frame, y)
    ours = explain.partial_dependence(model, frame, "c", kind="both")
    assert ours.method == "trees" and list(ours.grid_labels[0]) == ["a", "b", "c", "d"]
    _check(ours, _sk(model, frame, ("c",), [np.array(["a", "b", "c", "d"], dtype=object)], "auto"))
    pair = explain.partial_dependence(model, frame, ["x", "c"], grid=[np.linspace(-2, 2, 13), None], kind="both")
    assert pair.params["evaluated_grid_points"] < 13 * 4
    _check(pair, _sk(model, frame, ("x", "c"), [np.linspace(-2, 2, 13), np.array(["a", "b", "c", "d"], dtype=object)],
                     "auto"))


def test_torch_network_brute_force(data):
    torch = pytest.importorskip("torch")
    X, _, _ = data
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1)).double().eval()
    res = explain.partial_dependence(net, X, [0, 2], grid=GRID2, kind="both")
    assert res.method == "brute" and res.output == "raw"
    expected = np.empty((len(X), 4, 3))
    with torch.no_grad():
        for a, u in enumerate(GRID2[0]):
            for c, v in enumerate(GRID2[1]):
                Z = X.copy()
                Z[:, 0], Z[:, 2] = u, v
                expected[:, a, c] = net(torch.from_numpy(Z)).numpy()[:, 0]
    np.testing.assert_allclose(res.individual, expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.average, expected.mean(axis=0), rtol=0, atol=1e-10)
