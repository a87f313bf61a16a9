"""Exact product-kernel Shapley values against enumeration, local accuracy on real data, fallbacks."""

from __future__ import annotations

import numpy as np
import pytest

from explain.errors import MethodNotApplicableError
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
from sklearn.kernel_ridge import KernelRidge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler
from sklearn.svm import SVC, SVR, NuSVC

from explain import explain
from explain.adapters import get_adapter

from helpers import make_data, naive_shapley

D = 8


_NAMES = ["SVC+StandardScaler", "SVC+MinMaxScaler", "SVC+RobustScaler", "SVC class 0", "NuSVC", "SVR",
          "KernelRidge-rbf", "KernelRidge-laplacian", "GP per-feature length scales",
          "SVC multiclass (one-vs-one score)"]


def _models():
    X, y = make_data(d=D)
    Xr, yr = make_data(d=D, task="regression")
    X3, y3 = make_data(d=D, task="multiclass")
    return {
        "SVC+StandardScaler": (make_pipeline(StandardScaler(), SVC(gamma=0.2)).fit(X, y), X, None),
        "SVC+MinMaxScaler": (make_pipeline(MinMaxScaler(), SVC(gamma=2.0)).fit(X, y), X, None),
        "SVC+RobustScaler": (make_pipeline(RobustScaler(), SVC()).fit(X, y), X, None),
        "SVC class 0": (SVC().fit(X, y), X, 0),
        "NuSVC": (NuSVC().fit(X, y), X, None),
        "SVR": (SVR(C=3.0).fit(Xr, yr), Xr, None),
        "KernelRidge-rbf": (KernelRidge(kernel="rbf", gamma=0.1, alpha=0.5).fit(Xr, yr), Xr, None),
        "KernelRidge-laplacian": (KernelRidge(kernel="laplacian", gamma=0.3).fit(Xr, yr), Xr, None),
        "GP per-feature length scales": (GaussianProcessRegressor(
            ConstantKernel(2.0) * RBF(np.linspace(1.0, 4.0, D)) + WhiteKernel(0.1), normalize_y=True,
            random_state=0).fit(Xr[:90], yr[:90]), Xr, None),
        "SVC multiclass (one-vs-one score)": (SVC().fit(X3, y3), X3, 2),
    }


@pytest.fixture(scope="module")
def models():
    """Fitted once per module, at first use (not at import: collection stays fast)."""
    fitted = _models()
    assert list(fitted) == _NAMES
    return fitted


@pytest.mark.parametrize("name", _NAMES)
def test_matches_enumeration(name, models):
    model, X, target = models[name]
    bg = X[-10:]
    e = explain(model, X[:3], methods="shap.kernel_exact", background=bg, target=target)["shap.kernel_exact"]
    assert e.params["exact"]
    f = get_adapter(model).output_function(e.output, None if e.target is None else int(e.target[0]))
    for i in range(3):
        phi, base = naive_shapley(f, X[i], bg)
        assert np.abs(e.values[i] - phi).max() <= 1e-9
        assert e.base_values[i] == pytest.approx(base, abs=1e-9)


def test_shap_uses_the_exact_method_for_kernel_models(models):
    model, X, _ = models["SVR"]
    e = explain(model, X[:2], methods="shap", background=X[-5:])["shap"]
    assert e.params["algorithm"].startswith("exact product-kernel")


def test_ovo_score_is_the_signed_sum_of_sklearns_pairwise_decisions():
    X, y = make_data(d=D, task="multiclass")
    ovo = SVC(decision_function_shape="ovo").fit(X, y)
    pairwise = ovo.decision_function(X[:10])
    expected = np.zeros((10, 3))
    for col, (p, q) in enumerate([(0, 1), (0, 2), (1, 2)]):  # decision > 0 votes for p
        expected[:, p] += pairwise[:, col]
        expected[:, q] -= pairwise[:, col]
    np.testing.assert_allclose(get_adapter(ovo).predict(X[:10], "margin"), expected, atol=1e-10)
    assert np.mean(expected.argmax(1) == ovo.predict(X[:10])) >= 0.9


def test_local_accuracy_on_breast_cancer():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    svm = make_pipeline(StandardScaler(), SVC()).fit(X, y)
    e = explain(svm, X[:20], methods="shap", background=X[::12])["shap"]
    np.testing.assert_allclose(e.values.sum(1) + e.base_values, svm.decision_function(X[:20]), atol=1e-10)


def test_local_accuracy_on_digits(image_zoo):
    zoo = image_zoo
    svm = zoo["svm"]
    images = zoo.X_test.to_numpy(float)[:3].reshape(-1, 1, 8, 8)
    bg = zoo.X_train.to_numpy(float)[:15].reshape(-1, 1, 8, 8)
    e = explain(svm, images, methods="shap", background=bg)["shap"]
    assert e.values.shape == (3, 1, 8, 8)
    scores = get_adapter(svm).predict(images.reshape(3, -1), "margin")[np.arange(3), e.target]
    np.testing.assert_allclose(e.flat_values.sum(1) + e.base_values, scores, atol=1e-9)


@pytest.mark.parametrize("kernel", ["poly", "sigmoid"])
def test_other_kernels_fall_back_and_say_so(kernel):
    X, y = make_data(d=5)
    model = SVC(kernel=kernel, degree=2).fit(X, y)
    e = explain(model, X[:2], methods="shap", background=X[-6:])["shap"]
    assert "not a product kernel" in e.params["fallback_reason"]
    assert e.params["algorithm"].startswith("exact enumeration")
    with pytest.raises(MethodNotApplicableError, match="is not a product of per-feature kernels"):
        explain(model, X[:2], methods="shap.kernel_exact", background=X[-6:])


def test_far_away_points_do_not_underflow_to_nan():
    X, y = make_data(d=D, task="regression")
    model = SVR(gamma=50.0).fit(X, y)  # k(x, s) underflows to 0 for most pairs
    far = X[:2] + 30.0
    e = explain(model, far, methods="shap", background=X[-10:])["shap"]
    assert np.all(np.isfinite(e.values))
    np.testing.assert_allclose(e.values.sum(1) + e.base_values, model.predict(far), atol=1e-9)


def test_players_equal_in_row_and_background_row_drop_out_exactly():
    """Digit-like data (few values, many blank in both the row and a background row): the compiled loop
    leaves such players out of each pair's integral (lower degree, fewer nodes); values still match
    enumeration, and a player equal in the row and every background row gets exactly 0."""
    rng = np.random.default_rng(5)
    X = rng.integers(0, 3, size=(80, D)).astype(float)
    X[:, 0] = 0.0  # blank everywhere, as a digit's border pixel
    X[rng.random(X.shape) < 0.4] = 0.0
    y = (X[:, 1] + X[:, 2] * X[:, 3] > 2).astype(int)
    model = make_pipeline(MinMaxScaler(), SVC(gamma=1.5)).fit(X + rng.normal(scale=0.3, size=X.shape), y)
    bg = X[-12:]
    e = explain(model, X[:4], methods="shap.kernel_exact", background=bg)["shap.kernel_exact"]
    adapter = get_adapter(model)
    for i in range(4):
        f = adapter.output_function(e.output, None if e.target is None else int(e.target_index[i]))
        phi, _ = naive_shapley(f, X[i], bg)
        assert np.abs(e.values[i] - phi).max() <= 1e-9
    assert np.all(e.values[:, 0] == 0.0)
