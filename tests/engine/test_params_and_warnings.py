"""One error hierarchy, one declarative check of public parameters; warnings point at the caller's line."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from explain import CallableAdapter, ExplainError, ParameterError, explain
from explain.errors import DataError


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    return X, LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))


@pytest.mark.parametrize("kw, expected", [
    ({"n_jobs": 0}, r"explain\(\): n_jobs must be None, a positive int or -1, got 0\."),
    ({"batch_size": 0}, r"batch_size must be 'auto' or a positive int, got 0\."),
    ({"backend": "x"}, r"backend must be 'loky' or 'dask', got 'x'\."),
    ({"n_jobs": True}, r"n_jobs must be .* got True"),
    ({"random_state": 1.5}, r"random_state must be None or an int >= 0, got 1\.5"),
    ({"progress": "yes"}, r"progress must be 'auto', True or False"),
    ({"image_shape": (0, 8)}, r"image_shape must be None or a tuple of 1 to 3 positive ints"),
])
def test_bad_parameters_raise_one_error_type(fitted, kw, expected):
    X, model = fitted
    for base in (ExplainError, ValueError, ParameterError):
        with pytest.raises(base, match=expected):
            explain(model, X[:3], background=X, methods="coefficients", **kw)


def test_adapter_constructors_use_the_same_check():
    with pytest.raises(ParameterError, match=r"CallableAdapter\(\): fn must be a callable"):
        CallableAdapter(3)
    with pytest.raises(ParameterError, match=r"task must be 'regression' or 'classification', got 'regresion'\. "
                                             r"Did you mean 'regression'\?"):
        CallableAdapter(lambda X: X[:, 0], task="regresion")
    torch = pytest.importorskip("torch")
    from explain.adapters.torch import TorchAdapter

    with pytest.raises(ParameterError, match=r"TorchAdapter\(\): batch_size must be 'auto' or a positive int"):
        TorchAdapter(torch.nn.Linear(2, 1), batch_size=0)


def test_warning_points_at_the_callers_line(fitted):
    X, model = fitted
    with pytest.warns(UserWarning, match="no background was given") as record:
        explain(model, X[:3], methods="coefficients")
    assert [w.filename for w in record] == [__file__]


def _training_net():
    torch = pytest.importorskip("torch")
    from explain.datasets._cnn import make_cnn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        cnn = make_cnn(10)
    net = torch.nn.Sequential(cnn[:4], torch.nn.Dropout(0.5), cnn[4:])
    net.train()
    return net


def test_training_mode_warned_once_per_call_at_the_callers_line():
    net = _training_net()
    rng = np.random.default_rng(0)
    X, bg = rng.uniform(size=(4, 1, 8, 8)).astype(np.float32), rng.uniform(size=(6, 1, 8, 8)).astype(np.float32)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")  # count every issue, not just the first per line
        explain(net, X, methods=["integrated_gradients", "deeplift_shap", "saliency"], background=bg)
    train = [w for w in record if "training mode" in str(w.message)]
    assert len(train) == 1
    assert train[0].filename == __file__


def test_network_error_keeps_its_traceback():
    net = _training_net().eval()
    X = np.zeros((3, 1, 6, 6), dtype=np.float32)  # too small for the network
    with pytest.raises(DataError, match="could not run on the input") as info:
        explain(net, X, methods="saliency")
    assert isinstance(info.value.__cause__, RuntimeError)
