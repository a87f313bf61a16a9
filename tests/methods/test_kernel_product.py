"""The compiled product-kernel loop against the textbook Shapley formula, on cases that stress its numerics,
its packing of support vectors into blocks and chunks, and the reuse of the background's factors."""

from __future__ import annotations

import numpy as np
import pytest

from explain.adapters.kernels import KernelExpansion
from explain.methods import kernel_shapley
from explain.methods.kernel_shapley import product_kernel_shapley

from helpers import naive_shapley, shapley_of_game


def _expansion(rng, m, d, gamma=0.3, power=2):
    return KernelExpansion(rng.normal(size=(m, d)), rng.normal(size=m), 0.25, np.full(d, gamma), power)


def _f(expansion):
    """The expansion evaluated directly, as the reference game's model."""
    def f(Z):
        diff = np.abs(Z[:, None, :] - expansion.support[None, :, :])
        logs = -(expansion.weights * (diff ** 2 if expansion.power == 2 else diff)).sum(-1)
        return np.exp(logs) @ (expansion.coef * expansion.scale) + expansion.intercept
    return f


def _check(values, base, X, bg, expansion, atol):
    f = _f(expansion)
    for i in range(len(X)):
        phi, b = naive_shapley(f, X[i], bg)
        np.testing.assert_allclose(values[i], phi, rtol=0, atol=atol)
        assert base[i] == pytest.approx(b, abs=atol)


def test_factors_many_orders_of_magnitude_apart_match_enumeration():
    """Rows on top of support vectors, background rows far from them in some features: a_k / c_k reaches
    1e100 (c_k ~ 1e-98) and a factor underflows to exactly 0. Dividing the coefficient polynomial
    prod_k (c_k + t (a_k - c_k)) by one factor (synthetic division) multiplies rounding errors by a_k / c_k
    per degree: from the constant term it divides by c_k ~ 1e-98, or by 0. The prefix and suffix products
    divide nothing."""
    rng = np.random.default_rng(3)
    d = 7
    expansion = _expansion(rng, 13, d, gamma=1.0)
    X = expansion.support[:3] + rng.normal(scale=0.05, size=(3, d))
    bg = expansion.support[3:9].copy()
    bg[:, 0] += 15.0  # c_0 ~ exp(-225) ~ 1e-98 for every support vector
    bg[:, 1] += 28.0  # c_1 = exp(-784) underflows to 0
    bg[::2, 2] += 10.0
    values, base = product_kernel_shapley(X, bg, expansion)
    assert np.abs(values).max() > 0.1  # far from trivial: the row's own kernel values carry the prediction
    _check(values, base, X, bg, expansion, atol=1e-12)


@pytest.mark.parametrize("power", [1, 2])
def test_blocks_padding_and_chunks_match_enumeration(monkeypatch, power):
    """Support vectors not a multiple of the block's lanes, split over several chunks of support vectors
    (and, with one support vector per chunk, of background rows), rows equal to background rows in some
    features: the same values as the textbook formula and as one unchunked pass."""
    rng = np.random.default_rng(4)
    d = 6
    expansion = _expansion(rng, 23, d, power=power)
    X = rng.normal(size=(4, d))
    bg = rng.normal(size=(9, d))
    bg[:3, :2] = X[0, :2]  # players equal in the row and a background row drop out of that pair's game
    whole = product_kernel_shapley(X, bg, expansion)
    _check(*whole, X, bg, expansion, atol=1e-12)
    for chunk in (5 * 9 * d, 9 * d - 1):  # 5 support vectors per chunk; then 1, and background in chunks
        monkeypatch.setattr(kernel_shapley, "CHUNK_ELEMENTS", chunk)
        values, base = product_kernel_shapley(X, bg, expansion)
        np.testing.assert_allclose(values, whole[0], rtol=0, atol=1e-13)
        np.testing.assert_allclose(base, whole[1], rtol=0, atol=1e-13)


def test_grouped_columns_are_one_player():
    """Groups of columns (and a column constant on the data, group -1) form one player each: the values
    match the textbook formula on the grouped game."""
    rng = np.random.default_rng(6)
    d = 7
    expansion = _expansion(rng, 11, d)
    groups = np.array([0, 0, 1, -1, 2, 1, 3])
    X = rng.normal(size=(2, d))
    bg = rng.normal(size=(5, d))
    X[:, 3] = bg[:, 3] = 0.5  # the constant column
    values, _ = product_kernel_shapley(X, bg, expansion, groups=groups)
    f = _f(expansion)
    members = [np.flatnonzero(groups == g) for g in range(4)]
    for i in range(2):
        def v(S, x=X[i]):
            Z = bg.copy()
            for g in S:
                Z[:, members[g]] = x[members[g]]
            return float(np.mean(f(Z)))
        np.testing.assert_allclose(values[i], shapley_of_game(v, 4)[0], rtol=0, atol=1e-12)


def test_reused_background_factors_follow_the_background():
    """The background's factors are kept for the next call (the next class of a multiclass SVC); a
    different background, or the same array changed in place, gets its own."""
    rng = np.random.default_rng(5)
    d = 5
    expansion = _expansion(rng, 17, d)
    X = rng.normal(size=(2, d))
    bg = rng.normal(size=(6, d))
    first = product_kernel_shapley(X, bg, expansion)
    again = product_kernel_shapley(X, bg, expansion)
    np.testing.assert_array_equal(again[0], first[0])
    bg[:, 1] += 0.7  # in place: same object, new content
    values, base = product_kernel_shapley(X, bg, expansion)
    assert np.abs(values - first[0]).max() > 1e-3
    _check(values, base, X, bg, expansion, atol=1e-12)
    other = KernelExpansion(expansion.support, -expansion.coef, 0.0, expansion.weights, 2)  # another class
    values, base = product_kernel_shapley(X, bg, other)
    _check(values, base, X, bg, other, atol=1e-12)


@pytest.mark.parametrize("d, m", [(1, 1), (2, 5), (3, 130)])
def test_few_players_or_support_vectors(d, m):
    """One player (the padding player and the zero-weight second node are all there is), one support
    vector (a block of padding lanes), and more support vectors than one block holds."""
    rng = np.random.default_rng(d * 100 + m)
    expansion = _expansion(rng, m, d, gamma=0.4)
    X, bg = rng.normal(size=(2, d)), rng.normal(size=(3, d))
    _check(*product_kernel_shapley(X, bg, expansion), X, bg, expansion, atol=1e-12)
