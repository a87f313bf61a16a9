"""Our seeded KernelSHAP (the "shap" fallback) against exact enumeration, per feature."""

import numpy as np

from explain.methods._enumeration import enumerate_shapley
from explain.methods._kernel_sampling import kernel_shap_row


def _model(Z):
    Z = np.atleast_2d(Z)
    # three- and four-way interactions: paired sampling is exact for games of order two, so it must not hide here
    return np.tanh(Z[:, 0] * Z[:, 1] * Z[:, 2]) + Z[:, 2] ** 2 / 3 - np.maximum.reduce([Z[:, 3], Z[:, 4], Z[:, 5],
                                                                                       Z[:, 0]]) + 0.5 * Z[:, 5]


def test_values_converge_to_enumeration_and_sum_exactly():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 6)) * [1.0, 2.0, 0.5, 1.5, 1.0, 3.0] + np.pi / 7
    bg = rng.normal(size=(25, 6))
    exact, base = enumerate_shapley(_model, X, bg)
    v_empty = float(np.mean(_model(bg)))
    for i, x in enumerate(X):
        phi = kernel_shap_row(_model, x, bg, v_empty=v_empty, v_full=float(_model(x)[0]), nsamples=20000,
                              rng=np.random.default_rng(i))
        np.testing.assert_allclose(phi.sum(), _model(x)[0] - base[i], rtol=0, atol=1e-10)  # constraint: exact sum
        np.testing.assert_allclose(phi, exact[i], atol=0.02 * np.abs(exact[i]).max())  # per feature
        rough = kernel_shap_row(_model, x, bg, v_empty=v_empty, v_full=float(_model(x)[0]), nsamples=40,
                                rng=np.random.default_rng(i))
        assert np.abs(rough - exact[i]).max() > np.abs(phi - exact[i]).max()  # more samples, closer


def test_same_generator_same_values_and_one_feature():
    rng = np.random.default_rng(1)
    x, bg = rng.normal(size=6), rng.normal(size=(10, 6))
    kw = dict(v_empty=float(np.mean(_model(bg))), v_full=float(_model(x)[0]), nsamples=200)
    a = kernel_shap_row(_model, x, bg, rng=np.random.default_rng(3), **kw)
    b = kernel_shap_row(_model, x, bg, rng=np.random.default_rng(3), **kw)
    np.testing.assert_array_equal(a, b)
    one = kernel_shap_row(lambda Z: Z[:, 0] * 2, x[:1], bg[:, :1], v_empty=0.5, v_full=2.0, nsamples=10,
                          rng=np.random.default_rng(0))
    np.testing.assert_array_equal(one, [1.5])
