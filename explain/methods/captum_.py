"""Captum's attribution methods, by name, on any torch model (and occlusion on any model).

Every method runs on blocks of rows with captum's own batching
(``internal_batch_size`` / ``perturbations_per_eval``) so memory stays bounded.
Baselines default to the background: its mean image for single-reference
methods (integrated gradients, DeepLift, occlusion, ablation), the whole set
for the distribution methods (DeepLift SHAP, Gradient SHAP), so every method
answers the same question as SHAP ("relative to the background").
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from .._utils.progress import quiet_tqdm
from ..errors import MethodNotApplicableError
from .base import Attribution, Method, Task

__all__ = ["IntegratedGradients", "Saliency", "InputXGradient", "DeepLift", "DeepLiftShap", "GradientShap",
           "Occlusion", "FeatureAblation", "deeplift_shap"]


class _Counter:
    def __init__(self):
        self.rows = 0

    def __call__(self, module, inputs):
        first = inputs[0]
        while isinstance(first, (tuple, list)):
            first = first[0]
        self.rows += int(first.shape[0])


def _forward(task: Task, counter: _Counter):
    """The explained model as a torch callable returning (n, k) in ``task.output`` space."""
    import torch

    a = task.adapter
    if a.supports_gradients:
        module = a.output_module(task.output)
        module.register_forward_pre_hook(counter)
        return module

    def forward(inputs):
        counter(None, (inputs,))
        flat = inputs.detach().cpu().numpy().reshape(inputs.shape[0], -1)
        return torch.as_tensor(a.predict(flat.astype(float), task.output), dtype=inputs.dtype)

    return forward


def _tensor(task: Task, X: np.ndarray):
    import torch

    a = task.adapter
    if a.supports_gradients:
        return a.to_tensor(X)
    shape = (-1,) + tuple(task.image_shape) if task.image_shape else (X.shape[0], -1)
    return torch.as_tensor(np.asarray(X).reshape(shape), dtype=torch.float64)


def _reference(task: Task) -> np.ndarray:
    """The single baseline: the background mean, a category's mode (codes must stay categories)."""
    from .._utils.codec import reference_row

    return reference_row(task.background, task.adapter.codec)


class _Captum(Method):
    """One captum attribution class; subclasses say which, and with what arguments."""

    captum_name = ""
    per_row_targets = True
    needs_gradients = True
    reads_internals = True  # gradients; the perturbation methods below say False
    baseline = "mean"  # "mean" of the background, "background" (all rows), or None
    has_convergence_delta = False
    options = ("block_rows",)

    def applies(self, adapter, output, n_features):
        if self.needs_gradients and not adapter.supports_gradients:
            return (f"{self.name!r} needs gradients, which {adapter.name} does not provide (a torch model does); "
                    "use 'occlusion' or 'shap'")
        return None

    def kwargs(self, task: Task, batch_size: int) -> dict:
        return {}

    def rows_per_block(self, task: Task, batch_size: int) -> int:
        """Rows per captum call; captum's own batching works within it."""
        return int(task.options.get("block_rows", batch_size))

    def attribute(self, task: Task) -> Attribution:
        quiet_tqdm()
        import captum.attr
        import torch

        a = task.adapter
        counter = _Counter()
        algo = getattr(captum.attr, self.captum_name)(_forward(task, counter))
        batch_size = getattr(a, "batch_size", 256)
        targets = np.asarray(task.targets) if task.targets is not None else \
            np.full(task.X.shape[0], 0 if task.target is None else int(task.target))
        if self.baseline == "mean":
            baselines = _tensor(task, _reference(task)[None, :])
        elif self.baseline == "background":
            baselines = _tensor(task, task.background)
        else:
            baselines = None
        kwargs = self.kwargs(task, batch_size)
        if baselines is not None:
            kwargs["baselines"] = baselines
        # the convergence delta, sum(values) - (f(x) - f(baseline)), comes from the outputs explain() already has
        # (captum's would cost two more forward passes, of rows x baselines for the SHAP variants)
        captum_delta = self.has_convergence_delta and task.prediction is None
        if captum_delta:
            kwargs["return_convergence_delta"] = True
        values, deltas = [], []
        step = max(1, self.rows_per_block(task, batch_size))
        context = a.evaluating() if a.supports_gradients else contextlib.nullcontext()
        with context, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Setting forward, backward hooks")  # DeepLift's notice
            for start in range(0, task.X.shape[0], step):
                inputs = _tensor(task, task.X[start:start + step])
                if self.needs_gradients:
                    inputs.requires_grad_(True)
                target = torch.as_tensor(targets[start:start + step], device=inputs.device)
                out = algo.attribute(inputs, target=target, **kwargs)
                if captum_delta:
                    out, delta = out
                    # one delta per (row, baseline or sample) for the SHAP variants: their mean is the row's
                    deltas.append(delta.detach().cpu().numpy().reshape(out.shape[0], -1).mean(axis=1))
                values.append(out.detach().cpu().numpy().reshape(out.shape[0], -1))
        task.f.n_evals += counter.rows
        base = self.base_values(task)
        values = np.concatenate(values).astype(float)
        params = {"algorithm": f"captum.attr.{self.captum_name}", "baseline": self.baseline or "none",
                  **{k: v for k, v in kwargs.items() if isinstance(v, (int, float, str, bool))}}
        if self.has_convergence_delta and not captum_delta:  # (for the SHAP variants: the mean over baselines)
            deltas = [values.sum(axis=1) - (np.asarray(task.prediction, dtype=float) - base)]
        row_params = {"convergence_delta": np.concatenate(deltas)} if deltas else {}
        return Attribution(values, base, params, row_params=row_params)

    def base_values(self, task: Task) -> np.ndarray:
        """f(mean background) for single-reference methods, mean f(background) otherwise; per row's class."""
        ref = _reference(task)[None, :] if self.baseline == "mean" else task.background
        out = np.asarray(task.f(ref)).reshape(ref.shape[0], -1).mean(axis=0)
        return out[0 if task.targets is None else np.asarray(task.targets)] * np.ones(task.X.shape[0])


class IntegratedGradients(_Captum):
    """Integrated gradients from the background mean (50 Gauss-Legendre steps by default)."""

    name, captum_name, additive, has_convergence_delta = "integrated_gradients", "IntegratedGradients", True, True
    options = ("block_rows", "n_steps", "method")
    game, assumptions = "gradient path from the background mean (Aumann-Shapley)", "a differentiable model"

    def kwargs(self, task, batch_size):
        return {"n_steps": int(task.options.get("n_steps", 50)),
                "method": task.options.get("method", "gausslegendre"), "internal_batch_size": batch_size}


class Saliency(_Captum):
    """Input gradients (captum's default ``abs=True``; pass ``{"abs": False}`` for signed)."""

    name, captum_name, baseline = "saliency", "Saliency", None
    options = ("block_rows", "abs")
    game, assumptions = "local gradient magnitude", "not a decomposition of the output"

    def kwargs(self, task, batch_size):
        return {"abs": bool(task.options.get("abs", True))}


class InputXGradient(_Captum):
    """Input times gradient."""

    name, captum_name, baseline = "input_x_gradient", "InputXGradient", None
    game, assumptions = "gradient x input", "first-order, from zero"


class DeepLift(_Captum):
    """DeepLift (rescale rule) from the background mean."""

    name, captum_name, additive, has_convergence_delta = "deeplift", "DeepLift", True, True
    game, assumptions = "DeepLift rescale rule from the background mean", "a ReLU network; approximate"


class DeepLiftShap(_Captum):
    """DeepLift SHAP: DeepLift averaged over every background row.

    Sequential networks of the layers ``_deeplift`` covers get the rescale rule written out there (the
    background forward once, all (row, baseline) pairs of a block backward at once); others get captum's
    ``DeepLiftShap`` (``params["why_captum"]`` says why).
    """

    name, captum_name, baseline = "deeplift_shap", "DeepLiftShap", "background"
    additive, has_convergence_delta = True, True
    game, assumptions = "DeepLift averaged over background rows", "approximate SHAP for networks"

    def rows_per_block(self, task, batch_size):
        # captum expands rows x background, and DeepLift runs inputs and baselines in one batch: 2 x that
        return max(1, batch_size // (2 * max(1, task.background.shape[0])))

    def attribute(self, task: Task) -> Attribution:
        """The rescale rule written out (``_deeplift``) for sequential networks it covers; captum's otherwise."""
        layers, reason = _rescale_layers(task)
        if layers is None:
            result = super().attribute(task)
            result.params["algorithm"] = "DeepLiftShap (captum) over the background"
            result.params["why_captum"] = reason
            return result
        from ._deeplift import deeplift_shap_values

        a, n = task.adapter, task.X.shape[0]
        targets = np.asarray(task.targets) if task.targets is not None else \
            np.full(n, 0 if task.target is None else int(task.target))
        pairs = int(getattr(a, "batch_size", 256))
        with a.evaluating():
            values, fx, base, forwards = deeplift_shap_values(
                layers, task.X, task.background, targets, lambda Z: _tensor(task, Z), pairs,
                task.options.get("block_rows"))
        task.f.n_evals += forwards  # rows and background forward; the (row, baseline) pairs only go backward
        f_x = fx if task.prediction is None else np.asarray(task.prediction, dtype=float)
        return Attribution(values, base, {
            "algorithm": "DeepLift SHAP, rescale rule (captum's and shap's rules; background forward once, "
                         "all (row, baseline) pairs of a block backward at once)",
            "baseline": "background", "pairs_per_pass": pairs},
            row_params={"convergence_delta": values.sum(axis=1) - (f_x - base)})


def _rescale_layers(task: Task):
    """The network's layers for ``_deeplift`` when the explained output is the network's own, else a reason."""
    from ..adapters.torch import TorchAdapter

    a = task.adapter
    if getattr(type(a), "output_module", None) is not TorchAdapter.output_module:
        return None, f"{type(a).__name__} wraps the network in its own output module"
    if task.output == "probability":
        return None, "the softmax output (captum's rule for Softmax)"
    from ._deeplift import layers_of

    return layers_of(a.network)


class GradientShap(_Captum):
    """Gradient SHAP (expected gradients) over the background, ``n_samples`` draws per row.

    Captum's ``GradientShap`` draws its baselines and interpolation points from
    numpy's and torch's global generators; here each row draws them from its
    own generator (``Task.rng``) and captum's ``Saliency`` supplies the
    gradients, so the estimator is captum's and the draws are reproducible
    under any chunking: phi = mean_s grad f(b_s + a_s (x_s - b_s)) * (x_s - b_s),
    with x_s = x + N(0, stdevs^2) noise (none by default).
    """

    name, captum_name, baseline = "gradient_shap", "Saliency", "background"
    additive, has_convergence_delta, stochastic = True, True, True
    options = ("block_rows", "n_samples", "stdevs")
    game, assumptions = "expected gradients over the background", "sampling: approximate, seed-dependent"

    def rows_per_block(self, task, batch_size):
        return int(task.options.get("block_rows", max(1, batch_size // int(task.options.get("n_samples", 50)))))

    def attribute(self, task: Task) -> Attribution:
        quiet_tqdm()
        import captum.attr
        import torch

        a = task.adapter
        n_samples = int(task.options.get("n_samples", 50))
        stdevs = float(task.options.get("stdevs", 0.0))
        counter = _Counter()
        forward = _forward(task, counter)
        saliency = captum.attr.Saliency(forward)
        bg = task.background
        n, d = task.X.shape
        targets = np.asarray(task.targets) if task.targets is not None else \
            np.full(n, 0 if task.target is None else int(task.target))
        values, deltas, stderr = np.empty((n, d)), np.empty(n), np.full((n, d), np.nan)
        step = max(1, self.rows_per_block(task, getattr(a, "batch_size", 256)))
        context = a.evaluating() if a.supports_gradients else contextlib.nullcontext()
        with context:
            for start in range(0, n, step):
                rows = np.arange(start, min(n, start + step))
                draws = [task.rng(i) for i in rows]
                idx = np.stack([r.integers(0, bg.shape[0], n_samples) for r in draws])
                alpha = np.stack([r.random(n_samples) for r in draws])
                x = np.repeat(task.X[rows][:, None, :], n_samples, axis=1)
                if stdevs:
                    x = x + np.stack([r.standard_normal((n_samples, d)) for r in draws]) * stdevs
                diff = x - bg[idx]
                points = (bg[idx] + alpha[..., None] * diff).reshape(-1, d)
                target = torch.as_tensor(np.repeat(targets[rows], n_samples))
                inputs = _tensor(task, points).requires_grad_(True)
                grads = saliency.attribute(inputs, target=target, abs=False)
                attr = grads.detach().cpu().numpy().reshape(len(rows), n_samples, d).astype(float) * diff
                values[rows] = attr.mean(axis=1)
                if n_samples > 1:  # the draws are independent: standard error of their mean
                    stderr[rows] = attr.std(axis=1, ddof=1) / np.sqrt(n_samples)
                with torch.no_grad():  # delta: sum of attributions minus f(x_s) - f(b_s), averaged over samples
                    ends = _tensor(task, np.concatenate([x.reshape(-1, d), bg[idx].reshape(-1, d)]))
                    out = forward(ends).detach().cpu().numpy().reshape(2, len(rows), n_samples, -1)
                gap = np.take_along_axis(out[0] - out[1], targets[rows][:, None, None], axis=2)[..., 0]
                deltas[rows] = (attr.sum(axis=2) - gap).mean(axis=1)
        task.f.n_evals += counter.rows
        return Attribution(values, self.base_values(task), {
            "algorithm": "Gradient SHAP (expected gradients; per-row draws, captum.attr.Saliency gradients)",
            "baseline": "background", "n_samples": n_samples, "stdevs": stdevs,
            "stderr_method": "standard error of the mean over the row's independent draws (baseline, point, noise)"},
            row_params={"convergence_delta": deltas}, stderr=stderr)


class Occlusion(_Captum):
    """Occlusion with the background mean: windows (``sliding_window``, default one pixel) or feature_groups."""

    name, captum_name, needs_gradients, supports_groups = "occlusion", "Occlusion", False, True
    reads_internals = False
    game = "one-at-a-time removal to the background mean (mode for categories)"
    assumptions = "ignores interactions"
    options = ("block_rows", "sliding_window", "strides", "perturbations_per_eval")

    def rows_per_block(self, task, batch_size):  # captum evaluates rows x perturbations_per_eval at once
        return int(task.options.get("block_rows", max(1, batch_size // int(task.options.get(
            "perturbations_per_eval", 16)))))

    def kwargs(self, task, batch_size):
        shape = tuple(task.image_shape) if task.image_shape else (task.X.shape[1],)
        window = tuple(task.options.get("sliding_window", (1,) * len(shape)))
        if len(window) != len(shape):
            raise MethodNotApplicableError(f"sliding_window {window} must have one entry per input dimension "
                                           f"of {shape}")
        return {"sliding_window_shapes": window, "strides": tuple(task.options.get("strides", window)),
                "perturbations_per_eval": int(task.options.get("perturbations_per_eval", 16))}

    def attribute(self, task):
        if task.groups is not None:  # arbitrary groups: ablation with a mask is occlusion by segment
            result = FeatureAblation().attribute(task)
            result.params["algorithm"] = "occlusion by feature_groups (captum.attr.FeatureAblation with mask)"
            return result
        return super().attribute(task)


class FeatureAblation(_Captum):
    """Replace each feature (or group) by the background mean and record the output change."""

    name, captum_name, needs_gradients, supports_groups = "feature_ablation", "FeatureAblation", False, True
    reads_internals = False
    game, assumptions = "one-at-a-time removal to the background mean", "ignores interactions"
    options = ("block_rows", "perturbations_per_eval")

    def attribute(self, task):
        result = super().attribute(task)
        if task.groups is not None:  # captum gives each pixel its whole group's effect: spread it instead
            sizes = np.bincount(task.groups)
            result.values = result.values / sizes[task.groups]
            result.params["groups"] = "group value spread evenly over its features"
        return result

    rows_per_block = Occlusion.rows_per_block

    def kwargs(self, task, batch_size):
        kw = {"perturbations_per_eval": int(task.options.get("perturbations_per_eval", 16))}
        if task.groups is not None:
            import torch

            shape = tuple(task.image_shape) if task.image_shape else (task.X.shape[1],)
            kw["feature_mask"] = torch.as_tensor(task.groups.reshape((1,) + shape), dtype=torch.long)
        return kw


def deeplift_shap(task: Task) -> Attribution:
    """``"shap"`` for torch models: DeepLift SHAP over the background (see the closing note of issue 3)."""
    return DeepLiftShap().attribute(task)
