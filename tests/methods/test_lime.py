"""LIME tabular: the same numbers as the lime library's explain_instance run row by row, with the model called
once per block of rows and the bootstrap vectorised (the same draws as the resample loop it replaced)."""

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from explain.adapters._columns import CountingFunction
from explain.methods import lime_
from explain.methods.base import Task
from explain.errors import DataError, ParameterError
from explain.methods.lime_ import Lime, _ridge_fit, bootstrap_slope_stderr


@pytest.mark.parametrize("constant", [False, True])
def test_ridge_fit_is_lime_surrogate_and_its_score(constant):
    rng = np.random.default_rng(0)
    X, w = rng.normal(size=(300, 4)), rng.random(300)
    y = np.full(300, 2.0) if constant else X @ [1.0, -2.0, 0.0, 0.5] + rng.normal(size=300)
    ridge = Ridge(alpha=1.0, fit_intercept=True).fit(X, y, sample_weight=w)
    slopes, intercept, r2 = _ridge_fit(X, y, w)
    np.testing.assert_allclose(slopes, ridge.coef_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(intercept, ridge.intercept_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r2, ridge.score(X, y, sample_weight=w), rtol=1e-10)


def _loop_stderr(X, y, w, rng, n_boot=lime_.BOOTSTRAP):
    """The bootstrap as it was written first: one weighted ridge fit per resample."""
    n = len(y)
    draws = [_ridge_fit(X, y, w * rng.multinomial(n, np.full(n, 1.0 / n)))[0] for _ in range(n_boot)]
    return np.array(draws).std(axis=0, ddof=1)


@pytest.mark.parametrize("n, d, shift", [(1000, 10, 0.0), (400, 3, 6.0), (300, 25, 1.0), (50, 1, 0.0)])
@pytest.mark.parametrize("outer_block", [lime_.OUTER_BLOCK, 0])  # one product of outer products / one per resample
def test_vectorised_bootstrap_equals_the_resample_loop(monkeypatch, n, d, shift, outer_block):
    monkeypatch.setattr(lime_, "OUTER_BLOCK", outer_block)
    rng = np.random.default_rng(n + d)
    X = rng.normal(size=(n, d)) + shift  # far from the origin, as with sample_around_instance
    X[:, 0] = X[:, 0] > shift  # a 0/1 column, as LIME's categorical features
    y, w = X @ rng.normal(size=d) + rng.normal(size=n) + 3.0, rng.random(n)
    a, b = np.random.default_rng(11), np.random.default_rng(11)
    expected = _loop_stderr(X, y, w, a)
    got = bootstrap_slope_stderr(X, y, w, b)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13)
    assert a.random() == b.random()  # the same draws: the generators end in the same state


def _task(fn, X, background, categorical=(), seed=3, **options):
    mask = np.zeros(X.shape[1], dtype=bool)
    mask[list(categorical)] = True
    adapter = SimpleNamespace(codec=SimpleNamespace(categorical=mask) if len(categorical) else None)
    return Task(adapter=adapter, X=X, background=background, output="raw", target=None, f=CountingFunction(fn),
                feature_names=[f"x{j}" for j in range(X.shape[1])], random_state=seed, options=options,
                row_ids=np.arange(len(X)))


def _lime_library(task, num_samples, categorical=(), sample_around_instance=False, kernel_width=None):
    """Slopes, intercepts and local R^2 of lime's own explain_instance, one row and one model call at a time."""
    from lime.lime_tabular import LimeTabularExplainer

    n, d = task.X.shape
    explainer = LimeTabularExplainer(task.background, mode="regression", feature_names=list(task.feature_names),
                                     categorical_features=list(categorical), discretize_continuous=False,
                                     random_state=0, sample_around_instance=sample_around_instance,
                                     kernel_width=kernel_width)
    slopes, intercept, r2 = np.zeros((n, d)), np.empty(n), np.empty(n)
    for i in range(n):
        explainer.random_state = explainer.base.random_state = np.random.RandomState(task.seed(i))
        exp = explainer.explain_instance(task.X[i], task.f, num_features=d, num_samples=num_samples)
        for j, w in exp.local_exp[1]:
            slopes[i, j] = w
        intercept[i], r2[i] = exp.intercept[1], exp.score
    return slopes, intercept, r2


@pytest.mark.parametrize("options", [{}, {"sample_around_instance": True, "kernel_width": 1.5}])
@pytest.mark.parametrize("categorical", [(), (1, 4)])
@pytest.mark.parametrize("d", [6, 9])  # LIME's forward selection (d <= 6) or its highest-weights ordering
def test_lime_matches_the_lime_library_row_by_row(options, categorical, d):
    rng = np.random.default_rng(5 + d)
    background, X = rng.normal(size=(80, d)), rng.normal(size=(7, d))
    for j in categorical:  # category codes 0..3
        background[:, j], X[:, j] = rng.integers(0, 4, 80), rng.integers(0, 4, 7)
    W = rng.normal(size=d)

    def fn(Z):
        return np.tanh(Z @ W) + 0.3 * Z[:, 0] * Z[:, 2]

    got = Lime().attribute(_task(fn, X, background, categorical, num_samples=400, **options))
    slopes, intercept, r2 = _lime_library(_task(fn, X, background, categorical), 400, categorical, **options)
    np.testing.assert_allclose(got.row_params["slopes"], slopes, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got.row_params["intercept"], intercept, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got.row_params["local_r2"], r2, rtol=1e-9, atol=1e-12)


def test_lime_sends_a_block_of_rows_through_the_model_in_one_call(monkeypatch):
    rng = np.random.default_rng(1)
    background, X = rng.normal(size=(50, 4)), rng.normal(size=(9, 4))
    calls = []

    def fn(Z):
        calls.append(len(Z))
        return Z @ [1.0, -1.0, 0.5, 0.0]

    one = Lime().attribute(_task(fn, X, background, num_samples=200))
    assert calls == [9 * 200, 50]  # every row's perturbations at once, then the background's mean
    calls.clear()
    monkeypatch.setattr(lime_, "ROW_BLOCK", 4 * 200 * 4)  # memory bound: 4 rows' perturbations per call
    blocks = Lime().attribute(_task(fn, X, background, num_samples=200))
    assert calls == [4 * 200, 4 * 200, 200, 50]
    np.testing.assert_array_equal(blocks.values, one.values)
    np.testing.assert_array_equal(blocks.stderr, one.stderr)


def test_lime_names_the_row_where_the_model_returns_nan():
    rng = np.random.default_rng(2)
    background, X = rng.normal(size=(30, 3)), np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 0.0]])

    def fn(Z):
        return np.where(Z[:, 0] > 2.5, np.nan, Z.sum(axis=1))

    with pytest.raises(DataError, match="X row 1: the model returned 1 non-finite values"):
        Lime().attribute(_task(fn, X, background, num_samples=100))


def test_lime_fits_with_one_blas_thread_and_calls_the_model_with_the_callers(monkeypatch):
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    rng = np.random.default_rng(3)
    background, X = rng.normal(size=(40, 3)), rng.normal(size=(2, 3))
    seen = {"model": [], "fit": []}

    def fn(Z):
        seen["model"].append(blas_threads())
        return Z.sum(axis=1)

    bootstrap = lime_.bootstrap_slope_stderr

    def recording_bootstrap(*args):
        seen["fit"].append(blas_threads())
        return bootstrap(*args)

    monkeypatch.setattr(lime_, "bootstrap_slope_stderr", recording_bootstrap)
    with threadpool_limits(limits=2, user_api="blas"):
        Lime().attribute(_task(fn, X, background, num_samples=100))
        assert blas_threads() == {2}  # restored
    assert seen["model"] and all(threads == {2} for threads in seen["model"])
    assert seen["fit"] and all(threads == {1} for threads in seen["fit"])


def test_stderr_false_skips_the_bootstrap_and_keeps_the_values():
    """The bootstrap only measures the values' spread: without it the values, slopes and R^2 are the same bits."""
    rng = np.random.default_rng(4)
    background, X = rng.normal(size=(40, 5)), rng.normal(size=(6, 5))

    def fn(Z):
        return np.tanh(Z @ [1.0, -2.0, 0.5, 0.0, 1.0]) + Z[:, 0] * Z[:, 1]

    full = Lime().attribute(_task(fn, X, background, num_samples=300))
    quick = Lime().attribute(_task(fn, X, background, num_samples=300, stderr=False))
    np.testing.assert_array_equal(quick.values, full.values)
    for key in ("slopes", "intercept", "local_r2"):
        np.testing.assert_array_equal(quick.row_params[key], full.row_params[key])
    assert quick.stderr is None and full.stderr is not None and (full.stderr > 0).any()
    assert quick.params["stderr_method"] == "not computed (stderr=False)"
    with pytest.raises(ParameterError, match=r"'stderr': \.\.\.\}\} must be True or False, got 'no'"):
        Lime().attribute(_task(fn, X, background, num_samples=300, stderr="no"))


def test_bootstrap_leaves_out_resamples_without_weight():
    """A row far outside the background puts all of LIME's kernel weight on few perturbations: resamples
    that miss them define no fit and are left out (no 0/0 inside numpy); the spread is that of the others,
    each fitted as LIME's ridge; with fewer than two left it is unknown (NaN)."""
    import warnings

    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    w = np.zeros(50)
    w[:3] = [1.0, 0.5, 0.25]
    counts = np.random.default_rng(0).multinomial(50, np.full(50, 1 / 50), size=100)
    kept = [c for c in counts if (w * c).sum() > 0]
    assert 2 <= len(kept) < 100  # some resamples miss all three weighted perturbations
    reference = np.std([_ridge_fit(X, y, w * c)[0] for c in kept], axis=0, ddof=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the former 0/0 warned from inside numpy
        se = bootstrap_slope_stderr(X, y, w, np.random.default_rng(0))
    np.testing.assert_allclose(se, reference, rtol=1e-8, atol=1e-12)
    one = np.zeros(50)
    one[0] = 1.0
    seed = next(s for s in range(200)
                if (np.random.default_rng(s).multinomial(50, np.full(50, 1 / 50), size=3)[:, 0] > 0).sum() <= 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(np.isnan(bootstrap_slope_stderr(X, y, one, np.random.default_rng(seed), n_boot=3)))
