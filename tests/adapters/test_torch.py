"""The torch adapter leaves the model as it found it, and bad image input gets clear errors."""

from __future__ import annotations


import numpy as np
import pytest
import torch

import explain as ex
from explain import explain
from explain.datasets._cnn import make_cnn


@pytest.fixture
def cnn():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return make_cnn(10)


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.uniform(size=(6, 1, 8, 8)).astype(np.float32), rng.uniform(size=(10, 1, 8, 8)).astype(np.float32)


def test_state_restored_and_training_mode_warned(cnn, images):
    X, bg = images
    model = torch.nn.Sequential(cnn[:4], torch.nn.Dropout(0.5), cnn[4:])  # dropout makes train/eval differ
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [m.training for m in model.modules()]
    requires = [p.requires_grad for p in model.parameters()]
    grad_mode = torch.is_grad_enabled()
    with pytest.warns(UserWarning, match="training mode; it is explained in eval mode"):
        r = explain(model, X, methods=["integrated_gradients", "deeplift_shap", "saliency"], background=bg)
    assert [m.training for m in model.modules()] == flags
    assert [p.requires_grad for p in model.parameters()] == requires
    assert torch.is_grad_enabled() == grad_mode
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    # eval mode was used: deterministic despite dropout
    again = explain(model, X, methods=["integrated_gradients"], background=bg)
    np.testing.assert_array_equal(r["integrated_gradients"].values, again["integrated_gradients"].values)


def test_tensor_input_and_batching(cnn, images):
    X, bg = images
    from explain.adapters.torch import TorchAdapter

    a = explain(TorchAdapter(cnn, batch_size=2), torch.as_tensor(X), methods="integrated_gradients",
                background=bg)["integrated_gradients"]
    b = explain(cnn, X, methods="integrated_gradients", background=bg)["integrated_gradients"]
    np.testing.assert_allclose(a.values, b.values, atol=1e-6)
    assert a.image_shape == (1, 8, 8) and a.feature_names[:2] == ["pixel_0_0", "pixel_0_1"]


def test_default_target_is_predicted_class(cnn, images):
    X, bg = images
    e = explain(cnn, X, methods="saliency", background=bg)["saliency"]
    with torch.no_grad():
        np.testing.assert_array_equal(e.target, cnn(torch.as_tensor(X)).argmax(1).numpy())


def test_flat_pixels_without_image_shape(cnn, images):
    X, _ = images
    with pytest.raises(ex.DataError, match=r"could not run on the input.*\(N, C, H, W\)"):
        explain(cnn, X.reshape(6, -1), methods="saliency")


def test_wrong_image_shape(cnn):
    X = np.zeros((3, 1, 6, 6), dtype=np.float32)
    with pytest.raises(ex.DataError, match=r"images of shape \(1, 6, 6\) do not fit it"):
        explain(cnn, X, methods="saliency")


def test_wrong_channel_count(cnn):
    X = np.zeros((3, 3, 8, 8), dtype=np.float32)
    with pytest.raises(ex.DataError, match=r"takes images with 1 channel\(s\); X has 3"):
        explain(cnn, X, methods="saliency")


def test_target_outside_classes(cnn, images):
    X, bg = images
    with pytest.raises(ex.TargetError, match=r"target 12 is not a class"):
        explain(cnn, X, methods="saliency", target=12)


def test_image_method_on_tabular_and_gradient_method_on_sklearn(images):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    with pytest.raises(ex.MethodNotApplicableError, match="explains images only"):
        explain(model, X, methods="shap.partition")
    with pytest.raises(ex.MethodNotApplicableError, match="needs gradients, which LogisticRegression does not provide"):
        explain(model, X, methods="integrated_gradients")
    with pytest.raises(ex.MethodNotApplicableError, match="feature_groups is for"):
        explain(model, X, methods="coefficients", feature_groups=np.array([0, 0, 1, 1]))


def test_four_families_and_cnn_share_the_image_shape(image_zoo):
    zoo = image_zoo
    assert all(acc > 0.85 for acc in zoo.scores.values()), zoo.scores
    imgs = zoo.X_test.to_numpy(float)[:2].reshape(-1, 1, 8, 8)
    bg = zoo.X_train.to_numpy(float)[:8].reshape(-1, 1, 8, 8)
    shapes = {}
    for name, model in zoo.items():
        r = explain(model, imgs, methods=["occlusion"], background=bg)
        shapes[name] = (r["occlusion"].values.shape, r["occlusion"].image_shape, r["occlusion"].feature_names[9])
    assert set(shapes.values()) == {((2, 1, 8, 8), (1, 8, 8), "pixel_1_1")}, shapes
