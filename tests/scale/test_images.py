"""Real-size images: a ResNet-18-sized net on 3 x 224 x 224, upscaled digits, report images downsampled."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from explain import explain  # noqa: E402
from explain.datasets import load_images  # noqa: E402


@pytest.fixture(scope="module")
def resnet_and_images():
    from explain.datasets._resnet import make_resnet18

    model = make_resnet18(10)
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(2, 3, 224, 224)).astype(np.float32)
    background = rng.uniform(size=(2, 3, 224, 224)).astype(np.float32)
    return model, images, background


def test_resnet_is_resnet18_sized():
    from explain.datasets._resnet import make_resnet18

    n = sum(p.numel() for p in make_resnet18(1000).parameters())
    assert 11.5e6 < n < 11.8e6  # torchvision's resnet18 has 11,689,512


def test_gradient_methods_on_224_images(resnet_and_images):
    model, images, bg = resnet_and_images
    r = explain(model, images, background=bg, methods=["integrated_gradients", "saliency", "deeplift_shap"],
                method_params={"integrated_gradients": {"n_steps": 8}}, target=3)
    for e in r:
        assert e.values.shape == (2, 3, 224, 224) and e.flat_values.shape == (2, 3 * 224 * 224)
        assert e.image_shape == (3, 224, 224)
        assert np.isfinite(e.values).all()
    ig = r["integrated_gradients"]
    with torch.no_grad():
        out = model(torch.as_tensor(images))[:, 3].numpy()
        ref = model(torch.as_tensor(bg.mean(axis=0, keepdims=True)))[:, 3].numpy()
    # completeness up to the 8-step quadrature: the convergence delta is what is left
    gap = ig.flat_values.sum(axis=1) - (out - ref)
    np.testing.assert_allclose(gap, ig.params["convergence_delta"], atol=1e-3)
    a = ig.params["options"] if "options" in ig.params else {}
    assert a.get("n_steps") == 8


def test_occlusion_with_patches_on_224_images(resnet_and_images):
    model, images, bg = resnet_and_images
    e = explain(model, images[:1], background=bg, methods="occlusion", target=0,
                method_params={"occlusion": {"sliding_window": (3, 32, 32)}})["occlusion"]
    v = e.flat_values.reshape(3, 224, 224)
    assert np.allclose(v[:, :32, :32], v[0, 0, 0])  # one value per 32 x 32 patch (across channels)


def test_internal_batch_size_comes_from_memory():
    from explain.adapters.torch import auto_batch_size
    from explain.datasets._resnet import make_resnet18

    big = auto_batch_size(3 * 224 * 224, make_resnet18(10))
    small = auto_batch_size(64, make_resnet18(10))
    assert 1 <= big < 200 and small == 4096


def test_upscaled_digits_and_a_cnn_on_them():
    from explain.datasets._cnn import train_cnn

    d8, d32 = load_images(), load_images(size=32)
    assert d32.X.shape == (1797, 1024) and d32.image_shape == (32, 32) and d32.name == "digits32"
    img8 = d8.X.to_numpy().reshape(-1, 8, 8)
    img32 = d32.X.to_numpy().reshape(-1, 32, 32)
    # block means of the upscaled image follow the original (bilinear upscaling keeps the picture)
    block = img32.reshape(-1, 8, 4, 8, 4).mean(axis=(2, 4))
    assert np.corrcoef(block[:50].ravel(), img8[:50].ravel())[0, 1] > 0.95
    X = (d32.X.to_numpy(np.float32) / 16.0).reshape(-1, 1, 32, 32)
    cnn = train_cnn(X[:1000], d32.y[:1000], epochs=6)
    with torch.no_grad():
        acc = (cnn(torch.as_tensor(X[1200:1500])).argmax(1).numpy() == d32.y[1200:1500]).mean()
    assert acc > 0.8
    e = explain(cnn, X[1200:1202], background=X[:20], methods="integrated_gradients")["integrated_gradients"]
    assert e.image_shape == (1, 32, 32)
    with pytest.raises(ValueError, match="multiple of 8"):
        load_images(size=30)


def test_report_shows_large_images_downsampled(resnet_and_images, tmp_path):
    from explain.report import figures
    from explain.report.build import build_report

    model, images, bg = resnet_and_images
    r = explain(model, images, background=bg, methods=["saliency"], target=1)
    html = build_report(r).save(tmp_path / "r.html")
    text = open(html, encoding="utf-8").read()
    assert "block-averaged" in text
    small = figures.downsample(np.ones((2, 224, 224)), reduce=np.sum)
    assert small.shape == (2, 56, 56) and np.allclose(small, 16.0)  # 4 x 4 blocks summed
    rgb = figures.downsample(np.ones((1, 224, 224, 3)))
    assert rgb.shape == (1, 56, 56, 3) and np.allclose(rgb, 1.0)
