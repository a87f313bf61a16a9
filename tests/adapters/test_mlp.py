"""scikit-learn MLPs through their torch twin: the same predictions as scikit-learn, gradients that integrate
to the output difference, Shapley values equal to enumeration, pipelines (scalers folded in; encoders in front),
and the conformance suite."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from explain import explain
from explain.adapters import get_adapter
from explain.errors import DataError, MethodNotApplicableError, NotFittedError, UnsupportedModelError
from explain.testing import adapter_checks, run_conformance

from helpers import make_data, naive_shapley, penguins_onehot

ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]
TASKS = ["regression", "poisson", "binary", "multiclass"]


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def _mlp(task, activation, hidden=(6, 4), max_iter=150):
    X, y = make_data(task="regression" if task == "poisson" else task, n=120)
    if task == "poisson":
        y = np.random.default_rng(1).poisson(np.exp(0.2 * np.tanh(y)))
        model = MLPRegressor(loss="poisson", hidden_layer_sizes=hidden, activation=activation, max_iter=max_iter,
                             random_state=0)
    elif task == "regression":
        model = MLPRegressor(hidden_layer_sizes=hidden, activation=activation, max_iter=max_iter, random_state=0)
    else:
        model = MLPClassifier(hidden_layer_sizes=hidden, activation=activation, max_iter=max_iter, random_state=0)
    return _fit(model, X, y), X


def _numpy_forward(model, X):
    """The pre-activation output z, written from the textbook definition (independent of the twin)."""
    act = {"identity": lambda a: a, "logistic": expit, "tanh": np.tanh, "relu": lambda a: np.maximum(a, 0)}
    a = X
    for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        a = a @ W + b
        if i < len(model.coefs_) - 1:
            a = act[model.activation](a)
    return a


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("task", TASKS)
def test_twin_predicts_like_sklearn(task, activation):
    model, X = _mlp(task, activation)
    a = get_adapter(model, X=X)
    z = _numpy_forward(model, X)
    if task == "regression":
        np.testing.assert_allclose(a.predict(X, "raw")[:, 0], model.predict(X), rtol=1e-12, atol=1e-12)
        assert a.outputs == ("raw",)
    elif task == "poisson":
        np.testing.assert_allclose(a.predict(X, "raw")[:, 0], model.predict(X), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a.predict(X, "margin")[:, 0], z[:, 0], rtol=1e-10, atol=1e-12)
        assert a.natural_output == "margin"
    else:
        np.testing.assert_allclose(a.predict(X, "probability"), model.predict_proba(X), rtol=1e-12, atol=1e-12)
        margin = a.predict(X, "margin")
        if task == "binary":  # one logistic unit: columns (-z, z), z the log-odds
            assert model.out_activation_ == "logistic" and z.shape[1] == 1
            np.testing.assert_allclose(margin, np.column_stack([-z[:, 0], z[:, 0]]), rtol=1e-10, atol=1e-12)
        else:  # softmax inputs
            np.testing.assert_allclose(margin, z, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(a.classes, model.classes_)
    assert a.supports_gradients and a.default_methods[0] == "integrated_gradients"


def test_multi_output_and_multilabel_are_refused_clearly():
    X, y = make_data(task="regression", n=60)
    reg = _fit(MLPRegressor(hidden_layer_sizes=(3,), max_iter=20, random_state=0), X, np.column_stack([y, -y]))
    with pytest.raises(UnsupportedModelError, match="fitted on 2 targets.*one output"):
        get_adapter(reg)
    labels = np.column_stack([y > 0, y > 1]).astype(int)
    clf = _fit(MLPClassifier(hidden_layer_sizes=(3,), max_iter=20, random_state=0), X, labels)
    with pytest.raises(UnsupportedModelError, match="multilabel"):
        get_adapter(clf)


def test_unfitted_and_images_are_refused():
    with pytest.raises(NotFittedError):
        explain(MLPClassifier(), np.zeros((3, 2)))
    model, X = _mlp("binary", "relu")
    with pytest.raises(DataError, match="tabular"):
        get_adapter(model, X=X[:, :4], image_shape=(1, 2, 2))


def _ig_reference(f, x, baseline, n_nodes=64, h=1e-6):
    """Integrated gradients by Gauss-Legendre quadrature over central finite differences of ``f``."""
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    alphas, weights = (nodes + 1) / 2, weights / 2
    d = x.size
    grads = np.zeros(d)
    for alpha, w in zip(alphas, weights):
        point = baseline + alpha * (x - baseline)
        step = np.eye(d) * h
        grads += w * (f(point + step) - f(point - step)) / (2 * h)
    return (x - baseline) * grads


@pytest.mark.parametrize("scaler", [StandardScaler, MinMaxScaler, RobustScaler])
def test_scaler_pipeline_gradients_in_user_columns(scaler):
    X, y = make_data(task="regression", n=120)
    X = X * np.array([1.0, 10.0, 0.1, 100.0, 3.0])  # scales the scaler must undo
    model = _fit(make_pipeline(scaler(), MLPRegressor(hidden_layer_sizes=(8,), activation="tanh", max_iter=300,
                                                     random_state=0)), X, y)
    a = get_adapter(model, X=X)
    assert a.supports_gradients
    np.testing.assert_allclose(a.predict(X, "raw")[:, 0], model.predict(X), rtol=1e-12, atol=1e-12)
    rows, bg = X[:3], X[40:]
    e = explain(model, rows, background=bg, methods=["integrated_gradients"],
                method_params={"integrated_gradients": {"n_steps": 64}})["integrated_gradients"]
    baseline = bg.mean(axis=0)
    f = lambda Z: model.predict(np.atleast_2d(Z))
    # completeness: the values sum to f(x) - f(baseline), baseline = the background mean
    np.testing.assert_allclose(e.values.sum(axis=1), f(rows) - f(baseline), rtol=1e-8, atol=1e-9)
    for i in range(3):  # each value against quadrature over finite differences of scikit-learn's own predict
        np.testing.assert_allclose(e.values[i], _ig_reference(f, rows[i], baseline), rtol=1e-5, atol=1e-6)


def test_scaler_pipeline_adapter_goes_to_worker_processes(monkeypatch):
    """The twin's folded scaler pickles (cloudpickle took its class by value and failed on torch.ops): n_jobs=2
    sends the job to explain's loky workers instead of one forked process, with the same values."""
    import cloudpickle

    from explain.engine import run, split

    X, y = make_data(task="binary", n=120)
    model = _fit(make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(6,), max_iter=200,
                                                               random_state=0)), X, y)
    a = get_adapter(model, X=X)
    again = cloudpickle.loads(cloudpickle.dumps(a))
    np.testing.assert_array_equal(again.predict(X, "margin"), a.predict(X, "margin"))
    forked = []
    monkeypatch.setattr(run, "_forked", lambda *args: forked.append(args[-1]) or iter(()))
    monkeypatch.setattr(split, "decide", lambda *args: True)
    params = {"lime": {"num_samples": 100}}
    one = explain(model, X[:12], methods="lime", background=X[60:], n_jobs=1, method_params=params)["lime"]
    two = explain(model, X[:12], methods="lime", background=X[60:], n_jobs=2, batch_size=4,
                  method_params=params)["lime"]
    assert forked == []
    np.testing.assert_array_equal(two.values, one.values)


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_exact_shapley_equals_enumeration(task):
    model, X = _mlp(task, "relu", hidden=(5,))
    rows, bg = X[:2], X[100:108]
    e = explain(model, rows, background=bg, methods=["shap.exact"], output="probability")["shap.exact"]
    targets = np.asarray(e.target)
    for i in range(2):
        k = int(targets[i])  # classes are 0..k-1: label and index agree
        ref, base = naive_shapley(lambda Z: model.predict_proba(Z)[:, k], rows[i], bg)
        np.testing.assert_allclose(e.values[i], ref, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(e.base_values[i], base, rtol=1e-9, atol=1e-12)


def test_gradient_methods_run_and_add_up():
    model, X = _mlp("multiclass", "tanh")
    rows, bg = X[:4], X[80:]
    r = explain(model, rows, background=bg, methods=["deeplift_shap", "deeplift", "saliency", "gradient_shap"])
    f = get_adapter(model, X=X)
    margin = f.predict(rows, "margin")
    e = r["deeplift_shap"]  # DeepLift SHAP is additive: values + base = the explained output
    picked = margin[np.arange(4), np.asarray(e.target, dtype=int)]
    np.testing.assert_allclose(e.values.sum(axis=1) + e.base_values, picked, rtol=1e-6, atol=1e-8)
    assert np.all(np.isfinite(r["saliency"].values)) and np.any(r["saliency"].values != 0)


@pytest.fixture(scope="module")
def penguins_mlp():
    return penguins_onehot(MLPClassifier(hidden_layer_sizes=(8,), max_iter=400, random_state=0))


def test_penguins_onehot_pipeline_default_methods(penguins_mlp):
    model, X = penguins_mlp
    rows, bg = X.iloc[[0, 160, 300]], X.iloc[::23]
    r = explain(model, rows, background=bg)
    assert r.methods == ["shap", "lime"]  # a category code has no gradient: the model-agnostic defaults
    adapter = r.validated.adapter
    assert not adapter.supports_gradients
    with pytest.raises(MethodNotApplicableError, match="needs gradients"):  # said before any work is done
        explain(model, rows, background=bg, methods=["integrated_gradients"])
    codec, codes, bg_codes = adapter.codec, np.asarray(r.validated.X), np.asarray(r.validated.background)
    np.testing.assert_allclose(adapter.predict(codes, "probability"), model.predict_proba(rows),
                               rtol=1e-12, atol=1e-12)
    e = r["shap"]  # exact enumeration over the 7 user columns, in margin space (the softmax inputs)
    assert e.params["algorithm"].startswith("exact enumeration") and e.output == "margin"
    f_margin = lambda Z: _numpy_forward(model[-1], model[:-1].transform(codec.decode(Z)))
    for i in range(len(rows)):  # against the textbook formula on scikit-learn's preprocessing + a numpy forward
        k = int(e.target[i])  # classes are 0, 1, 2: label and index agree
        ref, base = naive_shapley(lambda Z: f_margin(Z)[:, k], codes[i], bg_codes)
        np.testing.assert_allclose(e.values[i], ref, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(e.base_values[i], base, rtol=1e-8, atol=1e-10)


@pytest.fixture(scope="module", params=["scaled-binary", "poisson", "penguins-onehot"])
def run(request, penguins_mlp):
    if request.param == "penguins-onehot":
        model, X = penguins_mlp
        return run_conformance(model, X.iloc[[0, 1, 160, 300]], background=X.iloc[::29])
    if request.param == "poisson":
        model, X = _mlp("poisson", "logistic")
    else:
        X, y = make_data(task="binary", n=120)
        model = _fit(make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(6,), max_iter=200,
                                                                   random_state=0)), X, y)
    import joblib

    return run_conformance(model, X[:5], background=X[-25:], fingerprint=joblib.hash)


@pytest.mark.parametrize("check", list(adapter_checks()), ids=lambda c: c.__name__)
def test_conformance(run, check):
    check(run)
