"""PyTorch models: CNNs on images (N, C, H, W) and MLPs on tabular rows.

The adapter runs the model in eval mode without changing its state: every
module's training flag and the grad mode are restored afterwards, and the
parameters are never written. Forward passes are batched (``batch_size``) on
the model's device. torch is imported only when a torch model arrives.

Outputs: a model with one output unit is a regressor ("raw"); with k >= 2
outputs it is a classifier whose logits are the margin and whose softmax is
the probability.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .._utils.validation import Instance, Integer, Options, validate_params
from .._utils.warn import warn
from ..errors import DataError
from .base import Adapter

__all__ = ["TorchAdapter"]


TORCH_PARAMS = {
    "batch_size": [Options("auto"), Integer(1)],
    "task": [Options("auto", "classification", "regression")],
    "name": [None, Instance(str)],
}


class TorchAdapter(Adapter):
    """Any ``torch.nn.Module``.

    Parameters
    ----------
    model : torch.nn.Module
    batch_size : int, default=256
        Rows per forward pass.
    task : {"auto", "classification", "regression"}
        "auto": classification when the model has two or more outputs.
    classes : sequence, optional
        Class labels (default 0..k-1).
    name : str, optional
    """

    family = "torch"
    supports_gradients = True
    default_methods = ("integrated_gradients", "shap", "saliency")
    model_types = ("torch.Module",)

    def __init__(self, model, *, estimator=None, preprocess=None, name=None, batch_size="auto", task="auto",
                 classes=None):
        validate_params("TorchAdapter", TORCH_PARAMS, {"batch_size": batch_size, "task": task, "name": name})
        super().__init__(model, estimator=estimator, preprocess=preprocess, name=name)
        self._batch_size = batch_size
        self.batch_size = 256 if batch_size == "auto" else int(batch_size)
        self._task = task
        self._classes = classes
        self.input_shape: tuple | None = None
        #: the torch module that computes the outputs (the model itself here; a twin for other families)
        self.network = model

    def check_fitted(self) -> None:
        return None

    @property
    def n_features_in(self):
        return None

    @property
    def feature_names_in(self):
        return None

    # -- torch plumbing ---------------------------------------------------------------------
    @property
    def device(self):
        import torch

        p = next(self.network.parameters(), None)
        return p.device if p is not None else torch.device("cpu")

    @property
    def dtype(self):
        import torch

        p = next(self.network.parameters(), None)
        return p.dtype if p is not None else torch.float32

    def _warn_training(self) -> None:
        warn(f"{self.name} was in training mode; it is explained in eval mode (dropout off, "
             "batch-norm statistics frozen) and put back in training mode afterwards.", UserWarning)

    @contextlib.contextmanager
    def evaluating(self):
        """Eval mode for the duration, then every module's training flag as it was.

        A bound adapter said once, when it was bound, that a model in training mode is explained in eval
        mode (once per ``explain()`` call); an unbound one says it at every use.
        """
        flags = [(m, m.training) for m in self.network.modules()]
        if self.network.training and not self.bound:
            self._warn_training()
        self.network.eval()
        try:
            yield self.network
        finally:
            for module, flag in flags:
                module.training = flag

    def to_tensor(self, X: np.ndarray):
        """Flat rows -> a tensor in the model's input shape, dtype and device."""
        import torch

        shape = (-1,) + tuple(self.input_shape) if self.input_shape else (X.shape[0], -1)
        X = np.asarray(X).reshape(shape)
        if not X.flags.writeable:  # an Explanation's frozen data: torch would share it and warn
            X = X.copy()
        return torch.as_tensor(X, dtype=self.dtype, device=self.device)

    def output_module(self, output: str):
        """An ``nn.Module`` giving the model's output in ``output`` space (for captum)."""
        import torch

        model = self.network

        class _Output(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = model
                self.softmax = torch.nn.Softmax(dim=1)

            def forward(self, x):
                out = self.inner(x)
                if out.ndim == 1:
                    out = out[:, None]
                return self.softmax(out) if output == "probability" else out

        return _Output()

    def _bind(self, X: np.ndarray, image_shape) -> None:
        """On the copy ``bind`` made: learn the input shape and, from one forward pass, the task and classes."""
        import torch

        if self.network.training:  # said once per bind (one explain() call), not at every forward pass
            self._warn_training()
        self.bound = True

        self.input_shape = tuple(image_shape) if image_shape is not None else (X.shape[1],)
        first = self._first_layer_channels()
        if image_shape is not None and first is not None and len(self.input_shape) == 3 \
                and self.input_shape[0] != first:
            raise DataError(f"{self.name} takes images with {first} channel(s); X has {self.input_shape[0]} "
                            f"(images of shape {self.input_shape}). Pass X as (N, {first}, H, W).")
        sizes = _ActivationSizes(self.network)
        try:
            with self.evaluating(), torch.no_grad(), sizes:
                out = self.network(self.to_tensor(X[:1]))
        except Exception as exc:
            hint = ("pass images as an array of shape (N, C, H, W)" if image_shape is None else
                    f"images of shape {tuple(image_shape)} do not fit it")
            raise DataError(f"{self.name} could not run on the input ({type(exc).__name__}: {exc}); {hint}.") \
                from exc
        if self._batch_size == "auto":
            self.batch_size = auto_batch_size(int(np.prod(self.input_shape)), self.network, sizes.values)
        k = 1 if out.ndim == 1 else int(out.shape[1])
        task = self._task if self._task != "auto" else ("classification" if k >= 2 else "regression")
        if task == "classification":
            self.task = "classification"
            self.classes = np.asarray(self._classes if self._classes is not None else np.arange(k))
            self.outputs, self.natural_output = ("margin", "probability"), "margin"
        else:
            self.task, self.classes, self.outputs, self.natural_output = "regression", None, ("raw",), "raw"

    def _first_layer_channels(self):
        for m in self.network.modules():
            if hasattr(m, "in_channels"):
                return int(m.in_channels)
            if hasattr(m, "in_features"):
                return None
        return None

    def _predict(self, X, output):
        import torch

        module = self.output_module(output)
        outs = []
        with self.evaluating(), torch.no_grad():
            for start in range(0, X.shape[0], self.batch_size):
                outs.append(module(self.to_tensor(X[start:start + self.batch_size])).detach().cpu().numpy())
        out = np.concatenate(outs).astype(float)
        return out[:, 0] if out.shape[1] == 1 and self.task == "regression" else out

    def _scramble(self, estimator, rng):
        """Re-initialise every layer (the last step of Adebayo et al.'s cascade), seeded from ``rng``."""
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(rng.integers(2 ** 31)))
            for module in estimator.modules():
                if hasattr(module, "reset_parameters"):
                    module.reset_parameters()
        return True

    def describe(self):
        d = super().describe()
        d.update(input_shape=self.input_shape, batch_size=self.batch_size)
        return d


ACTIVATION_FACTOR = 64  # activations and their gradients per input value when they were not measured
GRADIENT_FACTOR = 4  # bytes held per byte of activations in a forward + backward pass (measured: 3.3 for DeepLift)
MEMORY_SHARE = 0.25  # of the memory available now, at most MAX_BATCH_BYTES
MAX_BATCH_BYTES = 1 << 30


def available_memory() -> int:
    """Bytes of memory available now (Linux: MemAvailable), or 4 GiB where it cannot be read."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 << 30


class _ActivationSizes:
    """Counts the values every leaf module outputs during one forward pass (of one example)."""

    def __init__(self, network):
        self.network, self.values, self._hooks = network, 0, []

    def _count(self, module, inputs, output):
        for t in output if isinstance(output, (tuple, list)) else (output,):
            self.values += int(getattr(t, "numel", lambda: 0)())

    def __enter__(self):
        self._hooks = [m.register_forward_hook(self._count) for m in self.network.modules()
                       if next(iter(m.children()), None) is None]
        return self

    def __exit__(self, *exc):
        for h in self._hooks:
            h.remove()


def auto_batch_size(n_inputs: int, model, activations: int = 0) -> int:
    """Examples per forward/backward pass (captum's ``internal_batch_size``) that fit the memory budget.

    A budget of a quarter of the available memory (at most 1 GiB) over one example's footprint in the
    model's precision: its inputs plus GRADIENT_FACTOR x its ``activations`` (the values the leaf modules
    output for one example, measured when the adapter is bound), or, unmeasured, its inputs times
    ACTIVATION_FACTOR. 224x224x3 images in float32 get a few examples per pass; 8x8 digits, the cap of 4096.
    """
    itemsize = 4
    p = next(iter(model.parameters()), None)
    if p is not None:
        itemsize = p.element_size()
    values = n_inputs + GRADIENT_FACTOR * activations if activations else n_inputs * ACTIVATION_FACTOR
    budget = min(MEMORY_SHARE * available_memory(), MAX_BATCH_BYTES)
    return int(max(1, min(4096, budget // max(1, values * itemsize))))
