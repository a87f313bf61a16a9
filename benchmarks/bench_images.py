"""Images: the zoo CNN on all 1,797 digits, our path against the raw library calls in one run.

1. Integrated gradients (50 Gauss-Legendre steps, baseline = background mean,
   target = predicted class): explain() vs one raw ``captum.attr.IntegratedGradients``
   call. Target ratio <= 1.10.
2. "shap" for the CNN: our choice (captum DeepLiftShap over the background)
   and the alternative (GradientShap, 50 samples) vs ``shap.DeepExplainer`` on
   the same background, per image, with each one's local-accuracy gap
   max |sum(values) - (f(x) - mean f(background))|.

    .venv/bin/python benchmarks/bench_images.py [--deep-images 20]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--deep-images", type=int, default=20, help="images for shap.DeepExplainer (slow)")
    parser.add_argument("--background", type=int, default=50)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import captum.attr as ca
    import shap
    import torch

    from explain import datasets, explain

    zoo = datasets.model_zoo("images")
    cnn = zoo["cnn"]
    digits = datasets.load_images()
    images = (digits.X.to_numpy(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    rng = np.random.default_rng(0)
    bg = (zoo.X_train.to_numpy(np.float32)[rng.choice(len(zoo.X_train), args.background, replace=False)]
          .reshape(-1, 1, 8, 8))
    x = torch.as_tensor(images)
    with torch.no_grad():
        logits = cnn(x)
    target = logits.argmax(1)
    print(f"digits: {len(images)} images 1x8x8, zoo CNN (accuracy {zoo.scores['cnn']:.3f}), "
          f"background {len(bg)} images, torch threads {torch.get_num_threads()}")

    def raw_ig():
        ig = ca.IntegratedGradients(cnn)
        return ig.attribute(x.clone().requires_grad_(True), baselines=torch.as_tensor(bg.mean(0, keepdims=True)),
                            target=target, n_steps=50, method="gausslegendre", internal_batch_size=256)

    ours_ig = lambda: explain(cnn, images, methods="integrated_gradients", background=bg)
    raw_ig()  # warm-up
    t_raw = t_ours = np.inf
    for _ in range(3):  # interleaved, so machine noise hits both alike
        t, a_raw = timed(raw_ig)
        t_raw = min(t_raw, t)
        t, r_ours = timed(ours_ig)
        t_ours = min(t_ours, t)
    diff = float(np.abs(r_ours["integrated_gradients"].values - a_raw.detach().numpy()).max())
    print(f"\nintegrated gradients, all {len(images)} images (best of 3, interleaved)")
    print(f"  raw captum {t_raw:.3f} s ({1e3 * t_raw / len(images):.2f} ms/image), explain {t_ours:.3f} s, "
          f"ratio {t_ours / t_raw:.3f}, max |diff| {diff:.1e}")

    f_bg = logits.new_tensor(cnn(torch.as_tensor(bg)).detach().numpy())
    n = args.deep_images
    sub = images[:n]
    expected = (logits[:n].numpy()[np.arange(n), target[:n].numpy()]
                - f_bg.numpy()[:, target[:n].numpy()].mean(0))

    def gap(values):
        return float(np.abs(values.reshape(n, -1).sum(1) - expected).max())

    def deep_explainer():
        ex = shap.DeepExplainer(cnn, torch.as_tensor(bg))
        sv = ex.shap_values(torch.as_tensor(sub), check_additivity=False)
        sv = np.asarray(sv)
        return sv[np.arange(n), ..., target[:n].numpy()] if sv.shape[-1] == 10 else sv

    print(f"\n\"shap\" for the CNN, {n} images, background {len(bg)}")
    rows = []
    t, sv = timed(deep_explainer)
    rows.append(("shap.DeepExplainer", t, gap(sv)))
    for method in ("deeplift_shap", "gradient_shap"):
        t, r = timed(lambda: explain(cnn, sub, methods=method, background=bg))
        rows.append((f"explain {method!r}", t, gap(r[method].flat_values)))
    t_deep = rows[0][1]
    for name, t, g in rows:
        print(f"  {name:<28} {1e3 * t / n:9.2f} ms/image  speed-up vs DeepExplainer {t_deep / t:7.1f}x  "
              f"local-accuracy gap {g:.1e}")


if __name__ == "__main__":
    main()
