"""Chunked and parallel explain(): the same numbers, bit for bit, whatever the chunking or the processes."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from explain import CallableAdapter, explain

STOCHASTIC = {"lime": {"num_samples": 300}, "shap.kernel": {"nsamples": 120}, "shap.permutation": {"max_evals": 60}}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 5)) * np.array([1.0, 3.0, 0.1, 7.0, 1.0]) + np.pi / 10  # not float32-representable
    y = (X[:, 0] + X[:, 1] / 3 - X[:, 3] / 7 + rng.normal(scale=0.5, size=300) > 0.3).astype(int)
    return X, y


def _values(result):
    return {e.method: (e.values, e.base_values, e.params.get("exact")) for e in result}


def _assert_identical(a, b):
    assert a.keys() == b.keys()
    for m in a:
        np.testing.assert_array_equal(a[m][0], b[m][0], err_msg=m)
        np.testing.assert_array_equal(a[m][1], b[m][1], err_msg=m)
        assert a[m][2] == b[m][2], m


# forest and svm in the full tier only (about a minute each): the fast tier keeps the GLM
@pytest.mark.parametrize("family", [pytest.param("forest", marks=pytest.mark.slow), "glm",
                                    pytest.param("svm", marks=pytest.mark.slow)])
def test_bit_identical_for_any_batch_size_and_n_jobs(data, family):
    X, y = data
    model = {"forest": RandomForestClassifier(n_estimators=30, max_depth=6, random_state=0),
             "glm": LogisticRegression(max_iter=2000), "svm": SVC(gamma=0.2)}[family].fit(X, y)
    methods = ["shap", "lime", "shap.kernel", "random"] + (["coefficients"] if family == "glm" else [])
    kw = dict(methods=methods, background=X[200:240], method_params={k: v for k, v in STOCHASTIC.items()
                                                                     if k in methods}, random_state=11)
    base = _values(explain(model, X[:23], **kw))
    for n_jobs, batch_size in [(1, 1), (1, 5), (2, 4), (2, "auto")]:
        _assert_identical(base, _values(explain(model, X[:23], n_jobs=n_jobs, batch_size=batch_size, **kw)))


@pytest.mark.slow
def test_multiclass_targets_and_permutation_across_chunks(data):
    X, _ = data
    y = np.digitize(X[:, 0] + X[:, 3] / 7, [-0.5, 0.5])
    model = LogisticRegression(max_iter=3000).fit(X, y)
    kw = dict(methods=["shap", "shap.permutation"], background=X[200:230], random_state=5,
              method_params={"shap.permutation": STOCHASTIC["shap.permutation"]})
    whole = explain(model, X[:17], output="probability", **kw)
    parts = explain(model, X[:17], output="probability", batch_size=3, n_jobs=2, **kw)
    _assert_identical(_values(whole), _values(parts))
    for e in parts:  # per-class blocks merged over chunks: every row counted once
        blocks = e.params.get("blocks")
        assert blocks is not None and sum(b["rows"] for b in blocks) == 17
        assert {b["class"] for b in blocks} == {str(c) for c in np.unique(whole[e.method].target)}


def test_rows_draw_their_own_streams(data):
    """A row's values depend on its index and the seed, not on the rows explained with it."""
    X, y = data
    model = LogisticRegression(max_iter=2000).fit(X, y)
    kw = dict(methods=["lime", "random"], background=X[200:240], random_state=2,
              method_params={"lime": STOCHASTIC["lime"]})
    full = explain(model, X[:6], **kw)
    again = explain(model, X[:6], **kw)
    other_seed = explain(model, X[:6], **dict(kw, random_state=3))
    for m in ("lime", "random"):
        np.testing.assert_array_equal(full[m].values, again[m].values)
        assert not np.array_equal(full[m].values, other_seed[m].values)
        # rows 0 and 1 are different rows with different streams: same input there gives different draws
    same_rows = explain(model, np.repeat(X[:1], 2, axis=0), **kw)
    assert not np.array_equal(same_rows["random"].values[0], same_rows["random"].values[1])


def test_random_state_none_records_its_entropy_and_reproduces(data):
    X, y = data
    model = LogisticRegression(max_iter=2000).fit(X, y)
    kw = dict(methods=["lime"], background=X[200:240], method_params={"lime": STOCHASTIC["lime"]})
    first = explain(model, X[:3], random_state=None, batch_size=1, **kw)["lime"]
    entropy = int(first.params["seed_entropy"])
    assert first.params["random_state"] is None
    again = explain(model, X[:3], random_state=entropy, n_jobs=2, **kw)["lime"]
    np.testing.assert_array_equal(first.values, again.values)


@pytest.mark.slow
def test_no_global_random_state_is_touched(data):
    X, y = data
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    explain(model, X[:4], methods=["shap", "lime", "shap.kernel", "shap.permutation", "random"],
            background=X[200:230], method_params=STOCHASTIC)
    np.testing.assert_array_equal(before, np.random.get_state()[1])
    from explain._utils.rng import seed_isolated_global

    with pytest.raises(RuntimeError, match="outside the engine's isolated worker"):
        seed_isolated_global(1)


def test_unpicklable_model_runs_global_rng_methods_in_a_forked_worker(data):
    X, y = data
    coef = np.array([1.0, -0.5, 2.0, 0.1, 0.0])
    local = {"lock": __import__("threading").Lock()}  # a lock cannot be pickled

    def f(Z):
        with local["lock"]:
            return Z @ coef

    adapter = CallableAdapter(f, n_features=5)
    r = explain(adapter, X[:3], methods=["shap.kernel"], background=X[200:220], random_state=1,
                method_params={"shap.kernel": {"nsamples": 64}})
    expected = (X[:3] - X[200:220].mean(axis=0)) * coef  # a linear model: KernelSHAP is exact here
    np.testing.assert_allclose(r["shap.kernel"].values, expected, atol=1e-8)


def test_bad_parallel_options_are_refused(data):
    X, y = data
    model = LogisticRegression().fit(X, y)
    for kw, msg in [({"n_jobs": 0}, "n_jobs must be"), ({"batch_size": 0}, "batch_size must be"),
                    ({"backend": "spark"}, "backend must be"), ({"progress": "yes"}, "progress must be")]:
        with pytest.raises(ValueError, match=msg):
            explain(model, X[:3], background=X[:20], methods="coefficients", **kw)


def test_mixed_frame_chunks_identically():
    from explain.datasets._mixed import mixed_zoo

    zoo = mixed_zoo(0, n_train=600)
    model = zoo["random_forest"]
    rows, bg = zoo.X_test.iloc[:9], zoo.X_train.iloc[:40]
    assert isinstance(rows, pd.DataFrame)
    kw = dict(methods=["shap", "lime"], background=bg, random_state=4, method_params={"lime": {"num_samples": 200}})
    _assert_identical(_values(explain(model, rows, **kw)), _values(explain(model, rows, batch_size=2, n_jobs=2, **kw)))


def test_torch_models_chunk_to_float32_round_off():
    pytest.importorskip("torch")
    from helpers import seeded_cnn

    net, images, bg = seeded_cnn(3, n_images=9, n_background=12, seed=0)
    kw = dict(methods=["integrated_gradients", "gradient_shap", "deeplift_shap"], background=bg, random_state=1,
              method_params={"gradient_shap": {"n_samples": 8}})
    whole = explain(net, images, **kw)
    parts = explain(net, images, batch_size=2, n_jobs=2, **kw)
    for m in whole.methods:
        np.testing.assert_allclose(parts[m].flat_values, whole[m].flat_values, rtol=1e-5, atol=1e-6, err_msg=m)


def test_chunk_blocks_merge_per_class():
    """Rows add up per class, one inexact chunk makes the class inexact, reasons from every chunk are kept."""
    from explain.engine.chunks import merge_chunk_blocks

    def block(label, rows, exact, **params):
        return {"label": label, "rows": rows, "exact": exact, "stochastic": False, "params": params}

    merged = merge_chunk_blocks([
        [block(0, 3, True, algorithm="a"), block(1, 2, True, algorithm="a")],
        [block(0, 4, False, algorithm="a", approximate="gap 0.1"), block(1, 1, True, algorithm="a")],
        [block(0, 1, False, algorithm="a", approximate="gap 0.2")],
    ])
    by = {b["label"]: b for b in merged}
    assert by[0]["rows"] == 8 and by[1]["rows"] == 3
    assert by[0]["exact"] is False and by[1]["exact"] is True
    assert by[0]["params"]["approximate"] == "gap 0.1; gap 0.2" and by[0]["params"]["algorithm"] == "a"
    many = merge_chunk_blocks([[block(0, 1, False, approximate=f"gap {k}")] for k in range(6)])
    text = many[0]["params"]["approximate"]
    assert text.count("; ") == 2 and text.endswith(" (and other chunks)") and text.count("(and other") == 1
