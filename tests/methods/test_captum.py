"""Captum methods through explain() against closed forms and raw captum calls."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import captum.attr as ca

from explain import explain
from helpers import seeded_cnn


@pytest.fixture(scope="module")
def cnn_and_images():
    return seeded_cnn(3)


def _logits(model, x):
    with torch.no_grad():
        return model(torch.as_tensor(x)).numpy().astype(float)


def test_integrated_gradients_completeness_within_reported_delta(cnn_and_images):
    model, images, bg = cnn_and_images
    e = explain(model, images, methods="integrated_gradients", background=bg, target=1)["integrated_gradients"]
    total = e.flat_values.sum(axis=1)
    f_x = _logits(model, images)[:, 1]
    f_ref = _logits(model, bg.mean(axis=0, keepdims=True))[0, 1]
    np.testing.assert_allclose(e.base_values, f_ref, rtol=1e-5)
    gap = total - (f_x - f_ref)
    np.testing.assert_allclose(gap, e.params["convergence_delta"], atol=1e-4)
    assert np.abs(gap).max() < 0.05  # 50 Gauss-Legendre steps on a small ReLU network


def test_deeplift_sums_to_output_difference(cnn_and_images):
    model, images, bg = cnn_and_images
    for method, ref in [("deeplift", _logits(model, bg.mean(0, keepdims=True))[0, 2]),
                        ("deeplift_shap", _logits(model, bg)[:, 2].mean())]:
        e = explain(model, images, methods=method, background=bg, target=2)[method]
        np.testing.assert_allclose(e.flat_values.sum(1) + e.base_values, _logits(model, images)[:, 2], atol=1e-4)
        np.testing.assert_allclose(e.base_values, ref, rtol=1e-5)


def test_saliency_is_the_closed_form_gradient():
    """f(x) = tanh(W x): d f_k / d x = (1 - tanh(W x)_k^2) W_k."""
    W = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=np.float32)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2, bias=False), torch.nn.Tanh())
    with torch.no_grad():
        net[0].weight.copy_(torch.as_tensor(W))
    X = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    grad = (1 - np.tanh(X @ W.T)[:, [1]] ** 2) * W[1]
    signed = explain(net, X, methods="saliency", target=1, method_params={"saliency": {"abs": False}})["saliency"]
    np.testing.assert_allclose(signed.values, grad, rtol=1e-5, atol=1e-6)
    default = explain(net, X, methods="saliency", target=1)["saliency"]
    np.testing.assert_allclose(default.values, np.abs(grad), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method,cls,kwargs", [
    ("integrated_gradients", ca.IntegratedGradients, {"n_steps": 50, "method": "gausslegendre"}),
    ("deeplift", ca.DeepLift, {}),
    ("deeplift_shap", ca.DeepLiftShap, {}),
    ("input_x_gradient", ca.InputXGradient, {}),
    ("occlusion", ca.Occlusion, {"sliding_window_shapes": (1, 2, 2), "strides": (1, 2, 2)}),
])
def test_equals_raw_captum_call(cnn_and_images, method, cls, kwargs):
    model, images, bg = cnn_and_images
    options = {"sliding_window": (1, 2, 2)} if method == "occlusion" else \
        {"n_samples": 20} if method == "gradient_shap" else {}
    ours = explain(model, images, methods=method, background=bg, target=0,
                   method_params={method: options}, random_state=7)[method]
    x = torch.as_tensor(images)
    if method in ("deeplift_shap", "gradient_shap"):
        kwargs = dict(kwargs, baselines=torch.as_tensor(bg))
    elif method != "input_x_gradient":
        kwargs = dict(kwargs, baselines=torch.as_tensor(bg.mean(0, keepdims=True)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        np.random.seed(7)  # captum's GradientShap also draws from numpy's global RNG
        raw = cls(model).attribute(x.clone().requires_grad_(method != "occlusion"), target=0, **kwargs)
    np.testing.assert_allclose(ours.values, raw.detach().numpy(), atol=1e-6)


def test_gradient_shap_estimates_what_captum_estimates(cnn_and_images):
    """Our draws are per row (not captum's global RNG), so compare the two estimators at many samples."""
    model, images, bg = cnn_and_images
    n = 4000
    ours = explain(model, images[:4], methods="gradient_shap", background=bg, target=0,
                   method_params={"gradient_shap": {"n_samples": n, "block_rows": 1}}, random_state=7)["gradient_shap"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        np.random.seed(7)  # captum's GradientShap draws from numpy's global RNG
        raw = ca.GradientShap(model).attribute(torch.as_tensor(images[:4]).requires_grad_(True), target=0,
                                               baselines=torch.as_tensor(bg), n_samples=n).detach().numpy()
    ours = ours.values.reshape(raw.shape)
    scale = np.abs(raw).max()
    assert np.abs(ours - raw).max() < 0.05 * scale  # Monte Carlo error of two independent 4,000-draw estimates
    assert np.corrcoef(ours.ravel(), raw.ravel())[0, 1] > 0.99
    # and a different seed gives different draws, the same seed the same values
    again = explain(model, images[:4], methods="gradient_shap", background=bg, target=0,
                    method_params={"gradient_shap": {"n_samples": 50}}, random_state=7)["gradient_shap"]
    other = explain(model, images[:4], methods="gradient_shap", background=bg, target=0,
                    method_params={"gradient_shap": {"n_samples": 50}}, random_state=8)["gradient_shap"]
    first = explain(model, images[:4], methods="gradient_shap", background=bg, target=0,
                    method_params={"gradient_shap": {"n_samples": 50}}, random_state=7)["gradient_shap"]
    np.testing.assert_array_equal(again.values, first.values)
    assert not np.array_equal(again.values, other.values)


def test_occlusion_and_ablation_work_for_any_model():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.uniform(size=(80, 1, 4, 4))
    y = (X[:, 0, :2, :2].sum(axis=(1, 2)) > 2).astype(int)
    model = LogisticRegression().fit(X.reshape(80, -1), y)
    bg = X[40:]
    r = explain(model, X[:3], methods=["occlusion", "feature_ablation"], background=bg)
    for e in r:
        assert e.values.shape == (3, 1, 4, 4) and e.image_shape == (1, 4, 4)
    # for a model linear in the margin, single-pixel ablation to the mean is exactly beta_j (x_j - mean_j)
    expected = model.coef_[0] * (X[:3].reshape(3, -1) - bg.reshape(40, -1).mean(0))
    np.testing.assert_allclose(r["feature_ablation"].flat_values, expected, atol=1e-10)
    np.testing.assert_allclose(r["occlusion"].flat_values, expected, atol=1e-10)


def test_feature_groups_patches_sum_like_pixels():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.uniform(size=(60, 1, 4, 4))
    y = (X[:, 0, 0, 0] > 0.5).astype(int)
    model = LogisticRegression().fit(X.reshape(60, -1), y)
    bg = X[30:]
    r = explain(model, X[:2], methods=["shap.kernel", "feature_ablation", "lime"], background=bg,
                feature_groups="patches:2", method_params={"lime": {"num_samples": 500}})
    exact_pixels = model.coef_[0] * (X[:2].reshape(2, -1) - bg.reshape(30, -1).mean(0))
    groups = (np.arange(4)[:, None] // 2) * 2 + np.arange(4)[None, :] // 2
    for g in range(4):  # a linear model's group value is the sum of its pixels' exact values
        cells = groups.reshape(-1) == g
        np.testing.assert_allclose(r["shap.kernel"].flat_values[:, cells].sum(1), exact_pixels[:, cells].sum(1),
                                   atol=1e-8)
        np.testing.assert_allclose(r["feature_ablation"].flat_values[:, cells].sum(1),
                                   exact_pixels[:, cells].sum(1), atol=1e-8)
        # values are spread evenly over a group's pixels
        assert np.ptp(r["shap.kernel"].flat_values[:, cells], axis=1).max() < 1e-12
    assert r["lime"].params["n_groups"] == 4


def test_convergence_delta_matches_captums_own(cnn_and_images):
    """The delta comes from the outputs explain() already has (no extra forward passes); it equals captum's
    own ``return_convergence_delta`` (DeepLift SHAP: the mean over the baselines) to float32 round-off."""
    import captum.attr

    model, images, bg = cnn_and_images
    x, b = torch.as_tensor(images), torch.as_tensor(bg)
    target = torch.full((len(images),), 2)
    for method, algo, baselines in [
            ("deeplift_shap", captum.attr.DeepLiftShap(model), b),
            ("integrated_gradients", captum.attr.IntegratedGradients(model), b.mean(0, keepdim=True))]:
        e = explain(model, images, methods=method, background=bg, target=2)[method]
        _, delta = algo.attribute(x.clone().requires_grad_(True), baselines=baselines, target=target,
                                  return_convergence_delta=True)
        theirs = delta.detach().numpy().astype(float).reshape(len(images), -1).mean(axis=1)
        np.testing.assert_allclose(e.params["convergence_delta"], theirs, atol=2e-4)
