"""Kernel models: support vector machines, kernel ridge, Gaussian processes.

Every supported model is a kernel expansion f(x) = sum_i coef_i k(x, s_i) + b.
An SVM classifier's natural output is its decision function (the margin). For
more than two classes scikit-learn combines one-vs-one decision functions
non-linearly (votes plus a squashed confidence); the margin explained here is
instead each class's *one-vs-one score*, the sum of its signed pairwise
decision functions, which is itself a kernel expansion and so can be explained
exactly. ``output="probability"`` needs ``SVC(probability=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import OutputError
from .base import Adapter, class_paths

__all__ = ["KernelAdapter"]

_CLASSIFIERS = ("sklearn.SVC", "sklearn.NuSVC", "sklearn.GaussianProcessClassifier")
_REGRESSORS = ("sklearn.SVR", "sklearn.NuSVR", "sklearn.KernelRidge", "sklearn.GaussianProcessRegressor")


@dataclass(frozen=True)
class KernelExpansion:
    """f(x) = sum_i coef_i * scale * prod_j exp(-weights_j |x_j - s_ij|^power) + intercept.

    ``support`` lives in the estimator's input space (after the pipeline's
    preprocessing); ``power`` is 2 for RBF kernels and 1 for Laplacian ones.
    """

    support: np.ndarray
    coef: np.ndarray
    intercept: float
    weights: np.ndarray
    power: int
    scale: float = 1.0


def _gp_product_kernel(kernel, n_features):
    """(scale, per-feature weights) for C * RBF(l) (+ White), or None for other GP kernels."""
    name = type(kernel).__name__
    if name == "RBF":
        ls = np.broadcast_to(np.asarray(kernel.length_scale, dtype=float), (n_features,))
        return 1.0, 1.0 / (2.0 * ls ** 2)
    if name == "Product":
        parts = [kernel.k1, kernel.k2]
        consts = [k for k in parts if type(k).__name__ == "ConstantKernel"]
        rest = [k for k in parts if type(k).__name__ != "ConstantKernel"]
        if len(consts) == 1 and len(rest) == 1:
            inner = _gp_product_kernel(rest[0], n_features)
            return None if inner is None else (inner[0] * float(consts[0].constant_value), inner[1])
    if name == "Sum":  # a WhiteKernel adds nothing between distinct points
        parts = [k for k in (kernel.k1, kernel.k2) if type(k).__name__ != "WhiteKernel"]
        if len(parts) == 1:
            return _gp_product_kernel(parts[0], n_features)
    return None


class KernelAdapter(Adapter):
    """scikit-learn SVC, NuSVC, SVR, NuSVR, KernelRidge and Gaussian processes, any kernel."""

    family = "kernels"
    provides_kernel_expansion = True
    model_types = _CLASSIFIERS + _REGRESSORS

    def setup(self) -> None:
        est = self.estimator
        paths = set(class_paths(est))
        if paths & set(_CLASSIFIERS):
            self.task, self.classes = "classification", np.asarray(est.classes_)
            has_proba = hasattr(self.model, "predict_proba")  # SVC(probability=False) hides it
            if "sklearn.GaussianProcessClassifier" in paths:
                self.outputs, self.natural_output = ("probability",), "probability"
            else:
                self.outputs = ("margin", "probability") if has_proba else ("margin",)
                self.natural_output = "margin"
        else:
            self.outputs, self.natural_output = ("raw",), "raw"

    @property
    def kernel(self):
        """The kernel: a name ('rbf', 'poly', ...), a callable, or a GP kernel object."""
        return getattr(self.estimator, "kernel_", None) or getattr(self.estimator, "kernel", None)

    def _predict(self, X, output):
        Xm = self.as_model_input(X)
        if output == "probability":
            return self.model.predict_proba(Xm)
        if output == "margin" and len(self.classes) > 2:
            return self._ovo_scores(X)
        if output == "margin":
            return np.asarray(self.model.decision_function(Xm))
        return self.model.predict(Xm)

    # -- multiclass SVMs: per-class sums of signed one-vs-one decision functions ----------------
    def _ovo_coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        """(coef of shape (n_classes, n_support), intercept (n_classes,)) of every class's OvO score."""
        est = self.estimator
        k = len(self.classes)
        starts = np.concatenate([[0], np.cumsum(est.n_support_)])
        coef = np.zeros((k, est.support_vectors_.shape[0]))
        intercept = np.zeros(k)
        pair = 0
        for p in range(k):
            for q in range(p + 1, k):
                sp, sq = slice(starts[p], starts[p + 1]), slice(starts[q], starts[q + 1])
                d = np.zeros(coef.shape[1])  # libsvm: decision > 0 votes for the first class, p
                d[sp], d[sq] = est.dual_coef_[q - 1, sp], est.dual_coef_[p, sq]
                coef[p] += d
                coef[q] -= d
                intercept[p] += est.intercept_[pair]
                intercept[q] -= est.intercept_[pair]
                pair += 1
        return coef, intercept

    def _ovo_scores(self, X):
        from sklearn.metrics.pairwise import pairwise_kernels

        est = self.estimator
        if est.kernel == "precomputed" or callable(est.kernel):
            raise OutputError(f"{self.name} uses a {'precomputed' if est.kernel == 'precomputed' else 'callable'} "
                              "kernel; explain output='probability' instead.")
        coef, intercept = self._ovo_coefficients()
        K = pairwise_kernels(self.transform(X), est.support_vectors_, metric=est.kernel, gamma=est._gamma,
                             degree=est.degree, coef0=est.coef0, filter_params=True)
        return K @ coef.T + intercept

    def kernel_expansion(self, output: str, target: int | None) -> KernelExpansion | None:
        """The model's output as a product-kernel expansion, or None if its kernel is not a product."""
        est = self.estimator
        d = int(getattr(est, "n_features_in_", 0) or 0)
        kind = self.kernel
        if self.task == "classification" and output != "margin":
            return None
        if type(est).__name__ == "GaussianProcessRegressor":
            form = _gp_product_kernel(est.kernel_, est.X_train_.shape[1])
            if form is None:
                return None
            y_std = float(np.ravel(getattr(est, "_y_train_std", 1.0))[0])
            y_mean = float(np.ravel(getattr(est, "_y_train_mean", 0.0))[0])
            alpha = np.asarray(est.alpha_, dtype=float).reshape(-1)
            return KernelExpansion(np.asarray(est.X_train_, float), alpha * y_std, y_mean, form[1], 2, form[0])
        if not isinstance(kind, str) or kind not in ("rbf", "laplacian"):
            return None
        if type(est).__name__ == "KernelRidge":
            gamma = est.gamma if est.gamma is not None else 1.0 / est.X_fit_.shape[1]
            coef = np.asarray(est.dual_coef_, dtype=float).reshape(-1)
            return KernelExpansion(np.asarray(est.X_fit_, float), coef, 0.0,
                                   np.full(est.X_fit_.shape[1], float(gamma)), 2 if kind == "rbf" else 1)
        gamma = float(est._gamma)
        weights = np.full(d or est.support_vectors_.shape[1], gamma)
        if self.task == "classification" and len(self.classes) > 2:
            coef, intercept = self._ovo_coefficients()
            return KernelExpansion(est.support_vectors_, coef[target], float(intercept[target]), weights, 2)
        coef = np.asarray(est.dual_coef_, dtype=float)[0]
        b = float(np.ravel(est.intercept_)[0])
        sign = -1.0 if (self.task == "classification" and target == 0) else 1.0
        return KernelExpansion(est.support_vectors_, sign * coef, sign * b, weights, 2)

    def _scramble(self, estimator, rng):
        """Shuffle the dual coefficients over the support vectors (training points), one permutation
        for every copy of them (scikit-learn's SVMs keep dual_coef_ and a sign-flipped _dual_coef_)."""
        perm = None
        for name in ("dual_coef_", "_dual_coef_", "alpha_"):
            if hasattr(estimator, name) and getattr(estimator, name) is not None:
                value = np.array(getattr(estimator, name))
                axis = -1 if value.ndim == 2 and name != "alpha_" else 0
                perm = rng.permutation(value.shape[axis]) if perm is None else perm
                setattr(estimator, name, np.take(value, perm, axis=axis))
        return hasattr(estimator, "dual_coef_") or hasattr(estimator, "alpha_")

    def describe(self):
        d = super().describe()
        d["kernel"] = self.kernel if isinstance(self.kernel, str) else repr(self.kernel)
        if self.task == "classification" and len(self.classes) > 2:
            d["margin"] = "per-class sum of signed one-vs-one decision functions"
        return d
