"""Bind, don't mutate: a user's adapter, model and arrays are identical before and after every public call."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from explain import CallableAdapter, compare, explain, to_parquet
from explain.adapters import get_adapter


def _digest(value):
    """What a value is: bytes of arrays and frames, repr of plain values, None for other objects (id only)."""
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest())
    if isinstance(value, pd.DataFrame):
        return (tuple(map(str, value.dtypes)), tuple(value.columns),
                hashlib.sha256(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes()).hexdigest())
    if value is None or isinstance(value, (str, int, float, bool, tuple)):
        return repr(value)
    return None


def snapshot(obj) -> dict:
    """Every attribute of ``obj``: which object it is, and what it holds where that can be read."""
    return {k: (id(v), _digest(v)) for k, v in vars(obj).items()}


def _assert_same(before, after):
    assert before.keys() == after.keys(), sorted(set(before) ^ set(after))
    for key in before:
        assert before[key] == after[key], key


@pytest.fixture(scope="module")
def mixed():
    rng = np.random.default_rng(0)
    n = 80
    df = pd.DataFrame({"num": rng.normal(size=n), "cat": rng.choice(["a", "b", "c"], size=n),
                       "flag": rng.random(n) > 0.5, "count": rng.integers(0, 5, size=n)})
    y = ((df["num"] + (df["cat"] == "a") - df["flag"]) > 0).astype(int).to_numpy()
    return df, y


def test_torch_adapter_and_network_unchanged():
    torch = pytest.importorskip("torch")
    from explain.adapters.torch import TorchAdapter
    from explain.datasets._cnn import make_cnn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = make_cnn(10)
    rng = np.random.default_rng(0)
    X, bg = rng.uniform(size=(4, 1, 8, 8)).astype(np.float32), rng.uniform(size=(8, 1, 8, 8)).astype(np.float32)
    adapter = TorchAdapter(net)
    state = {k: hashlib.sha256(v.numpy().tobytes()).hexdigest() for k, v in net.state_dict().items()}
    before, net_before, X_before = snapshot(adapter), snapshot(net), _digest(X)
    r = explain(adapter, X, methods=["saliency", "integrated_gradients"], background=bg)
    bound = get_adapter(adapter, X=X.reshape(4, -1), image_shape=(1, 8, 8))
    _assert_same(before, snapshot(adapter))
    _assert_same(net_before, snapshot(net))
    assert adapter.input_shape is None and not adapter.bound and adapter.batch_size == 256
    assert bound is not adapter and bound.bound and bound.input_shape == (1, 8, 8) and bound.model is net
    assert r.validated.adapter is not adapter and r.validated.adapter.task == "classification"
    assert {k: hashlib.sha256(v.numpy().tobytes()).hexdigest() for k, v in net.state_dict().items()} == state
    assert _digest(X) == X_before


def test_callable_adapter_on_a_mixed_frame_unchanged(mixed, tmp_path):
    df, _ = mixed

    def fn(frame):
        z = frame["num"].to_numpy() + (frame["cat"] == "a").to_numpy() - frame["flag"].to_numpy(dtype=float)
        return 1 / (1 + np.exp(-z))

    adapter = CallableAdapter(fn, task="classification")
    before, df_before, copy = snapshot(adapter), _digest(df), df.copy()
    explain(adapter, df.iloc[:5], methods=["shap"], background=df.iloc[40:60])
    to_parquet(adapter, df.iloc[:5], tmp_path / "c.parquet", methods=["shap"], background=df.iloc[40:60],
               batch_size=2)
    compare({"f": adapter}, df.iloc[:3], methods=["shap"], background=df.iloc[40:60],
            metrics=["deletion", "max_sensitivity"], robustness_rows=1, options={"n_perturb_samples": 2})
    _assert_same(before, snapshot(adapter))
    assert adapter.classes is None and adapter.codec is None
    assert _digest(df) == df_before
    pd.testing.assert_frame_equal(df, copy)


def test_tree_model_and_its_adapter_unchanged(mixed):
    df, y = mixed
    numeric = df[["num", "count"]].assign(flag=df["flag"].astype(float))
    model = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(numeric, y)
    adapter = get_adapter(model)
    values = [hashlib.sha256(t.tree_.value.tobytes()).hexdigest() for t in model.estimators_]
    model_before, adapter_before, data_before = snapshot(model), snapshot(adapter), _digest(numeric)
    explain(adapter, numeric.iloc[:4], methods=["shap", "shap.tree"], background=numeric.iloc[40:60])
    explain(model, numeric.iloc[:4], methods=["shap"], background=numeric.iloc[40:60])
    _assert_same(adapter_before, snapshot(adapter))
    _assert_same(model_before, snapshot(model))
    assert not hasattr(adapter, "_ensemble")  # the plan's bound copy read the trees, not the caller's adapter
    assert [hashlib.sha256(t.tree_.value.tobytes()).hexdigest() for t in model.estimators_] == values
    assert _digest(numeric) == data_before


def test_pipeline_on_a_mixed_frame_unchanged(mixed):
    df, y = mixed
    pipe = make_pipeline(ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["cat"])],
                                           remainder="passthrough"), LogisticRegression(max_iter=1000))
    pipe.fit(df, y)
    adapter = get_adapter(pipe)
    X_rows, bg = df.iloc[:4], df.iloc[40:70]
    digests = [_digest(X_rows), _digest(bg)]
    adapter_before, pipe_before = snapshot(adapter), snapshot(pipe)
    final_before = snapshot(pipe[-1])
    r = explain(adapter, X_rows, methods=["coefficients", "shap"], background=bg)
    assert r.validated.adapter.codec is not None  # the bound copy holds the codec ...
    _assert_same(adapter_before, snapshot(adapter))  # ... the caller's adapter none
    assert adapter.codec is None and adapter.column_origin is None
    _assert_same(pipe_before, snapshot(pipe))
    _assert_same(final_before, snapshot(pipe[-1]))
    assert [_digest(X_rows), _digest(bg)] == digests
