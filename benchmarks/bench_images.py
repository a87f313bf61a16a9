"""Images: the zoo CNN on all 1,797 digits, our path against the raw library calls in one run.

1. Integrated gradients (50 Gauss-Legendre steps, baseline = background mean,
   target = predicted class): explain() vs one raw ``captum.attr.IntegratedGradients``
   call with the same ``internal_batch_size`` explain() chose (read from its params).
   Target ratio <= 1.10.
2. "shap" for the CNN: our choice (DeepLift SHAP: the rescale rule written out,
   the background forward once, every (image, baseline) pair of a block backward at
   once), raw ``captum.attr.DeepLiftShap`` and the alternative (GradientShap, 50
   samples) vs ``shap.DeepExplainer`` on the same work: the same background, one
   output per image, the predicted class (``ranked_outputs=1, output_rank_order="max"``;
   by default DeepExplainer explains all 10 classes, ten times the work). Per image,
   with each one's local-accuracy gap max |sum(values) - (f(x) - mean f(background))|
   and the largest difference from DeepExplainer's values. Target speed-up >= 3.

    .venv/bin/python benchmarks/bench_images.py [--deep-images 20] [--ig-images 1797] [--threads N] [--size 32]

``--size 32`` (or 64) runs both on digits upscaled to that side, with the zoo's CNN
architecture trained briefly on them: larger activations per image.
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
    parser.add_argument("--ig-images", type=int, default=1797, help="images for integrated gradients")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats of the deep-model timings")
    parser.add_argument("--size", type=int, default=8, help="image side: 8 (the zoo CNN) or 32, 64 (upscaled)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import captum.attr as ca
    import shap
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from explain import datasets, explain

    rng = np.random.default_rng(0)
    s = args.size
    if s == 8:
        zoo = datasets.model_zoo("images")
        cnn, about = zoo["cnn"], f"zoo CNN (accuracy {zoo.scores['cnn']:.3f})"
        train = zoo.X_train.to_numpy(np.float32)  # (the zoo's pixels are in [0, 1])
        digits = datasets.load_images()
    else:  # the zoo's architecture on upscaled digits, briefly trained on the first 1,000 (timing, not accuracy)
        from explain.datasets._cnn import train_cnn

        digits = datasets.load_images(s)
        train = digits.X.to_numpy(np.float32)[:1000] / 16.0
        cnn = train_cnn(train.reshape(-1, 1, s, s), digits.y[:1000], epochs=2)
        about = "the zoo's CNN architecture, 2 epochs on 1,000 upscaled digits"
    images = (digits.X.to_numpy(np.float32) / 16.0).reshape(-1, 1, s, s)[:args.ig_images]
    bg = train[rng.choice(len(train), args.background, replace=False)].reshape(-1, 1, s, s)
    x = torch.as_tensor(images)
    with torch.no_grad():
        logits = cnn(x)
    target = logits.argmax(1)
    print(f"digits: {len(images)} images 1x{s}x{s}, {about}, background {len(bg)} images, "
          f"torch threads {torch.get_num_threads()}")

    ours_ig = lambda: explain(cnn, images, methods="integrated_gradients", background=bg, progress=False)
    batch = int(ours_ig()["integrated_gradients"].params["internal_batch_size"])  # warm-up; the same batches

    def raw_ig():
        ig = ca.IntegratedGradients(cnn)
        return ig.attribute(x.clone().requires_grad_(True), baselines=torch.as_tensor(bg.mean(0, keepdims=True)),
                            target=target, n_steps=50, method="gausslegendre", internal_batch_size=batch)

    raw_ig()  # warm-up
    t_raw = t_ours = np.inf
    for _ in range(3):  # interleaved, so machine noise hits both alike
        t, a_raw = timed(raw_ig)
        t_raw = min(t_raw, t)
        t, r_ours = timed(ours_ig)
        t_ours = min(t_ours, t)
    diff = float(np.abs(r_ours["integrated_gradients"].values - a_raw.detach().numpy()).max())
    print(f"\nintegrated gradients, {len(images)} images, internal_batch_size {batch} (best of 3, interleaved)")
    print(f"  raw captum {t_raw:.3f} s ({1e3 * t_raw / len(images):.2f} ms/image), explain {t_ours:.3f} s, "
          f"ratio {t_ours / t_raw:.3f}, max |diff| {diff:.1e}")

    f_bg = logits.new_tensor(cnn(torch.as_tensor(bg)).detach().numpy())
    n = args.deep_images
    sub = images[:n]
    expected = (logits[:n].numpy()[np.arange(n), target[:n].numpy()]
                - f_bg.numpy()[:, target[:n].numpy()].mean(0))

    def gap(values):
        return float(np.abs(values.reshape(n, -1).sum(1) - expected).max())

    def deep_explainer():  # the same work: the predicted class only (DeepExplainer's top-ranked output)
        ex = shap.DeepExplainer(cnn, torch.as_tensor(bg))
        sv, ranked = ex.shap_values(torch.as_tensor(sub), ranked_outputs=1, output_rank_order="max",
                                    check_additivity=False)
        assert np.array_equal(np.asarray(ranked).reshape(-1), target[:n].numpy())
        return np.asarray(sv).reshape(n, -1)

    def raw_deeplift_shap():
        dls = ca.DeepLiftShap(cnn)
        return dls.attribute(torch.as_tensor(sub).requires_grad_(True), baselines=torch.as_tensor(bg),
                             target=target[:n]).detach().numpy()

    print(f"\n\"shap\" for the CNN, {n} images, background {len(bg)}, the predicted class only "
          f"(best of {args.repeats}, interleaved)")
    runs = [("shap.DeepExplainer", deep_explainer), ("captum DeepLiftShap (raw)", raw_deeplift_shap)] + [
        (f"explain {m!r}", lambda m=m: explain(cnn, sub, methods=m, background=bg, progress=False)[m].flat_values)
        for m in ("deeplift_shap", "gradient_shap")]
    reference = deep_explainer()
    for _, fn in runs:  # warm-up (first calls compile)
        fn()
    best = {}
    for _ in range(args.repeats):
        for name, fn in runs:
            t, v = timed(fn)
            if t < best.get(name, (np.inf,))[0]:
                best[name] = (t, gap(v), float(np.abs(np.asarray(v).reshape(n, -1) - reference).max()))
    t_deep = best["shap.DeepExplainer"][0]
    for name, (t, g, diff) in best.items():
        print(f"  {name:<28} {1e3 * t / n:9.2f} ms/image  speed-up vs DeepExplainer {t_deep / t:7.2f}x  "
              f"local-accuracy gap {g:.1e}  max |diff| from DeepExplainer {diff:.1e}")


if __name__ == "__main__":
    main()
