"""DeepLift SHAP's rescale rule written out (explain.methods._deeplift) against captum and shap on identical inputs.

Float64 networks, so the references and ours agree to round-off: captum's ``DeepLiftShap`` where its rules are
sound (ReLU/Tanh/Sigmoid/... with convolutions, average pooling, batch norm), shap's ``DeepExplainer`` for
max-pooling (captum's max-pool rule reads another example's gradient where an input does not change).
"""

from __future__ import annotations

import warnings

import captum.attr as ca
import numpy as np
import pytest
import torch
import torch.nn as nn

from explain import explain
from explain.adapters.torch import TorchAdapter
from explain.datasets._cnn import make_cnn

RESCALE = "DeepLift SHAP, rescale rule"


def _seeded(build, seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build()
        for m in net.modules():  # batch norm with statistics of its own, so it is not the identity
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.data.uniform_(0.5, 1.5)
                m.bias.data.uniform_(-0.5, 0.5)
    for p in net.parameters():
        p.requires_grad_(False)
    return net.double().eval()


def _maxpool_cnn(kernel=2, stride=2):
    side = (8 - kernel) // stride + 1
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(kernel, stride),
                         nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(6 * side * side, 16), nn.ReLU(), nn.Linear(16, 3))


def _mixed_net():
    """Every covered layer kind but max-pooling, with strides, groups, nesting and smooth nonlinearities."""
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.Tanh(),
        nn.Sequential(nn.Conv2d(4, 6, 3, padding=1, groups=2), nn.Sigmoid()),
        nn.Conv2d(6, 6, 2), nn.LeakyReLU(0.1), nn.AvgPool2d(3, stride=1, padding=1),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Dropout(0.5),
        nn.Linear(24, 8), nn.ELU(), nn.Linear(8, 8), nn.Softplus(beta=2.0), nn.Linear(8, 3))


def _pooling_next_to_linear_layers():
    """Average pooling first, and between a convolution and a ReLU (its transpose written out, not fused)."""
    return nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(1, 4, 3, padding=1), nn.AvgPool2d(2), nn.ReLU(), nn.Flatten(),
                         nn.Linear(16, 3))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(0, 3, size=(7, 1, 8, 8)), rng.normal(0, 3, size=(11, 1, 8, 8))


def _captum(net, X, bg, targets):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = ca.DeepLiftShap(net).attribute(torch.as_tensor(X).requires_grad_(True), baselines=torch.as_tensor(bg),
                                             target=torch.as_tensor(targets))
    return out.detach().numpy().reshape(len(X), -1)


def _logits(net, X):
    with torch.no_grad():
        return net(torch.as_tensor(X)).numpy()


@pytest.mark.parametrize("build", [lambda: make_cnn(3), _mixed_net, _pooling_next_to_linear_layers],
                         ids=["zoo_cnn", "mixed_layers", "pooling_edges"])
def test_equals_captum_deeplift_shap_per_row_targets(data, build):
    X, bg = data
    net = _seeded(build)
    targets = np.arange(len(X)) % 3
    e = explain(net, X, methods="deeplift_shap", background=bg, target=targets)["deeplift_shap"]
    assert e.params["algorithm"].startswith(RESCALE)
    raw = _captum(net, X, bg, targets)
    assert np.abs(raw).max() > 1e-6  # far above float64 round-off
    np.testing.assert_allclose(e.flat_values, raw, rtol=0, atol=1e-12 * np.abs(raw).max())


@pytest.mark.parametrize("kernel,stride", [(2, 2), (3, 2)])
def test_max_pooling_equals_shap_deep_explainer(data, kernel, stride):
    shap = pytest.importorskip("shap")
    X, bg = data
    net = _seeded(lambda: _maxpool_cnn(kernel, stride))
    targets = np.array([2, 0, 1, 1, 0, 2, 2])
    e = explain(net, X, methods="deeplift_shap", background=bg, target=targets)["deeplift_shap"]
    assert e.params["algorithm"].startswith(RESCALE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sv = np.asarray(shap.DeepExplainer(net, torch.as_tensor(bg)).shap_values(torch.as_tensor(X),
                                                                                 check_additivity=False))
    ref = sv[np.arange(len(X)), ..., targets].reshape(len(X), -1)  # (rows, ..., classes): each row's class
    np.testing.assert_allclose(e.flat_values, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    if kernel == stride:  # the cross-max rule sums to the output change when windows do not overlap
        gap = e.flat_values.sum(1) - (_logits(net, X)[np.arange(len(X)), targets]
                                      - _logits(net, bg)[:, targets].mean(0))
        assert np.abs(gap).max() < 1e-12
        np.testing.assert_allclose(e.params["convergence_delta"], gap, atol=1e-12)


@pytest.mark.parametrize("build", [lambda: make_cnn(3), _maxpool_cnn], ids=["avgpool", "maxpool"])
def test_rows_sum_to_output_minus_mean_background_output(data, build):
    """ReLU networks: DeepLift SHAP is additive, f(x) - mean f(background), for every class."""
    X, bg = data
    net = _seeded(build, seed=3)
    for t in range(3):
        e = explain(net, X, methods="deeplift_shap", background=bg, target=t)["deeplift_shap"]
        np.testing.assert_allclose(e.base_values, _logits(net, bg)[:, t].mean(), rtol=1e-14)
        np.testing.assert_allclose(e.flat_values.sum(1) + e.base_values, _logits(net, X)[:, t], atol=1e-12)


def test_blocks_of_rows_and_background_give_the_same_values(data):
    X, bg = data
    net = _seeded(_maxpool_cnn)
    whole = explain(net, X, methods="deeplift_shap", background=bg)["deeplift_shap"]
    in_place = _seeded(_maxpool_cnn)
    in_place[1].inplace = in_place[4].inplace = True  # the layers' inputs are kept all the same
    np.testing.assert_array_equal(explain(in_place, X, methods="deeplift_shap", background=bg)["deeplift_shap"].values,
                                  whole.values)
    # 4 pairs per pass: background in chunks of 4, 4, 3 and one row at a time; then blocks of 3 rows
    for kw in ({}, {"method_params": {"deeplift_shap": {"block_rows": 3}}}):
        part = explain(TorchAdapter(net, batch_size=4), X, methods="deeplift_shap", background=bg,
                       **kw)["deeplift_shap"]
        np.testing.assert_allclose(part.flat_values, whole.flat_values, rtol=0, atol=1e-14)


def test_shap_for_a_sequential_network_is_the_rescale_rule(data):
    X, bg = data
    net = _seeded(lambda: make_cnn(3))
    r = explain(net, X, methods=["shap", "deeplift_shap"], background=bg)
    assert r["shap"].params["algorithm"].startswith(RESCALE)
    # ("shap" runs the rows class by class, so the blocks and their round-off differ)
    np.testing.assert_allclose(r["shap"].values, r["deeplift_shap"].values, rtol=1e-12, atol=1e-16)


class _Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU())
        self.head = nn.Linear(64, 3)

    def forward(self, x):
        flat = x.flatten(1)
        return self.head(self.body(x) + flat)


@pytest.mark.parametrize("case", ["not_sequential", "probability", "uncovered_layer"])
def test_other_networks_fall_back_to_captum(data, case):
    X, bg = data
    build = {"not_sequential": _Residual, "probability": lambda: make_cnn(3),
             "uncovered_layer": lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 8), nn.GELU(), nn.Linear(8, 3))}
    net = _seeded(build[case])
    output = "probability" if case == "probability" else "margin"
    e = explain(net, X, methods="deeplift_shap", background=bg, target=1, output=output)["deeplift_shap"]
    assert e.params["algorithm"] == "DeepLiftShap (captum) over the background"
    assert e.params["why_captum"]
    module = TorchAdapter(net).output_module(output)
    np.testing.assert_allclose(e.flat_values, _captum(module, X, bg, np.ones(len(X), dtype=int)), atol=1e-12)


@pytest.mark.parametrize("build", [_mixed_net, lambda: make_cnn(3)], ids=["mixed_layers", "zoo_cnn"])
def test_torch_secants_equal_the_fused_kernel(data, monkeypatch, build):
    """The secants off the CPU are torch operations: the same values as the compiled kernels'."""
    from explain.methods import _deeplift

    X, bg = data
    X = X.copy()
    X[:, :, :2] = bg[0, :, :2]  # equal inputs: the rows' own derivatives stand in for the secants
    net = _seeded(build)
    fused = explain(net, X, methods="deeplift_shap", background=bg, target=2)["deeplift_shap"]
    monkeypatch.setattr(_deeplift, "FUSED", False)
    plain = explain(net, X, methods="deeplift_shap", background=bg, target=2)["deeplift_shap"]
    np.testing.assert_allclose(plain.values, fused.values, rtol=1e-12, atol=1e-18)


def test_a_network_without_nonlinearity_gets_weight_times_difference_from_the_mean(data):
    X, bg = data
    net = _seeded(lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 5), nn.Dropout(), nn.Linear(5, 3)))
    W = (net[3].weight @ net[1].weight).numpy()
    e = explain(net, X, methods="deeplift_shap", background=bg, target=1)["deeplift_shap"]
    expected = W[1] * (X.reshape(len(X), -1) - bg.reshape(len(bg), -1).mean(0))
    np.testing.assert_allclose(e.flat_values, expected, rtol=0, atol=1e-14)
