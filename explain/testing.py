"""The adapter conformance suite, shipped: run the checks explain's own adapters pass on yours.

Modelled on scikit-learn's ``check_estimator``: write an adapter for your own
model family (a subclass of :class:`explain.Adapter`, or a
:class:`explain.CallableAdapter`) and run::

    from explain.testing import check_adapter
    check_adapter(MyAdapter(model), X, background=X_train)

Each check raises ``AssertionError`` with what failed; ``check_adapter``
returns the names of the checks that ran. ``adapter_checks()`` yields them one
by one (for ``pytest.mark.parametrize``), as explain's own test suite does.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import pandas as pd

from .engine.api import explain
from .adapters import get_adapter
from .methods.base import method_class

__all__ = ["check_adapter", "adapter_checks", "ConformanceRun", "run_conformance"]

_OUTPUTS = ("margin", "probability", "raw")


class ConformanceRun:
    """Two identical ``explain()`` runs of one model on the same rows, and what the model looked like before."""

    def __init__(self, model, X, *, background=None, methods=("auto", "random"), random_state=3,
                 method_params=None, fingerprint: Callable | None = None):
        self.model, self.X = model, X
        self.X_before = X.copy() if hasattr(X, "copy") else np.array(X, copy=True)
        self.fingerprint = fingerprint
        self.model_hash = None if fingerprint is None else fingerprint(model)
        kw = dict(background=background, methods=list(methods), random_state=random_state,
                  method_params=method_params or {"lime": {"num_samples": 300}})
        self.first = explain(model, X, **kw)
        self.second = explain(model, X, **kw)

    @property
    def flat(self) -> np.ndarray:
        """The rows as the float matrix the methods saw (category codes for a mixed-type table)."""
        return np.asarray(self.first.validated.X)

    @property
    def image_shape(self):
        return next(iter(self.first)).image_shape

    def adapter(self):
        """A fresh adapter through the one entry point, bound to the rows (a mixed table: explain()'s own,
        which carries the codec built from the rows and the background)."""
        if self.first.validated.adapter.codec is not None:
            return self.first.validated.adapter
        return get_adapter(self.model, X=self.flat, image_shape=self.image_shape)


def run_conformance(model, X, **kwargs) -> ConformanceRun:
    """Explain ``model`` twice on ``X`` with every applicable method; the input of every check."""
    return ConformanceRun(model, X, **kwargs)


def check_declared_capabilities(run: ConformanceRun) -> None:
    """outputs, natural_output, task and classes are consistent, and predict honours them."""
    a = run.adapter()
    assert a.natural_output in a.outputs, f"natural_output {a.natural_output!r} not in outputs {a.outputs}"
    assert set(a.outputs) <= set(_OUTPUTS), f"unknown output spaces {a.outputs}"
    assert a.task in ("classification", "regression"), a.task
    for output in a.outputs:
        out = a.predict(run.flat, output)
        assert out.ndim == 2 and out.shape[0] == len(run.flat), (output, out.shape)
        if a.task == "classification":
            assert out.shape[1] == len(a.classes), (output, out.shape, a.classes)
        else:
            assert out.shape[1] == 1, (output, out.shape)
        assert np.all(np.isfinite(out)), output
    if "probability" in a.outputs and a.task == "classification":
        p = a.predict(run.flat, "probability")
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6, err_msg="probabilities must sum to 1")


def check_capabilities_honoured(run: ConformanceRun) -> None:
    """Each declared capability delivers: gradients, trees and kernel expansions reproduce predict;
    a family that supports randomisation returns a model whose outputs differ."""
    a = run.adapter()
    X = run.flat
    natural = a.predict(X, a.natural_output)
    if a.supports_gradients:
        import torch

        with a.evaluating(), torch.no_grad():
            out = a.output_module(a.natural_output)(a.to_tensor(X)).detach().cpu().numpy().astype(float)
        np.testing.assert_allclose(out.reshape(natural.shape), natural, rtol=1e-4, atol=1e-5,
                                   err_msg="supports_gradients: output_module disagrees with predict")
    if a.provides_trees and a.groupable:
        ens = a.tree_ensemble()
        Z = a.tree_input(X)
        target = natural if natural.shape[1] == ens.n_outputs else natural[:, -1:]
        ens.calibrate(Z, target)
        gap = np.abs(ens.predict(Z) - target).max()
        assert gap <= 1e-6 * max(1.0, float(np.abs(target).max())), f"provides_trees: the trees miss by {gap:.3g}"
    if a.provides_kernel_expansion and a.groupable and "margin" in a.outputs:
        margin = a.predict(X, "margin")
        for t in range(margin.shape[1]) if a.task == "classification" else [None]:
            exp = a.kernel_expansion("margin", t)
            if exp is None:
                continue
            Z = a.transform(X)
            K = np.exp(-(np.abs(Z[:, None, :] - exp.support[None]) ** exp.power * exp.weights).sum(axis=2))
            f = K @ (np.asarray(exp.coef, float) * exp.scale) + exp.intercept
            np.testing.assert_allclose(f, margin[:, 0 if t is None else t], rtol=1e-6, atol=1e-8,
                                       err_msg="provides_kernel_expansion: the expansion disagrees with predict")
    if a.supports_randomisation:
        scrambled = a.randomized_model(np.random.default_rng(0))
        assert scrambled is not None, "supports_randomisation, but randomized_model returned None"
        again = get_adapter(scrambled, X=X, image_shape=run.image_shape)
        again.codec = a.codec
        assert not np.allclose(again.predict(X, a.natural_output), natural), \
            "supports_randomisation: the randomised model predicts like the original"


def check_shapes_and_names(run: ConformanceRun) -> None:
    """Values, base values, data, names and targets have the documented shapes."""
    X = run.X
    n, d = X.shape[0], int(np.prod(X.shape[1:]))
    names = list(X.columns) if isinstance(X, pd.DataFrame) else None
    assert len(run.first) >= 2, run.first.methods
    a = run.adapter()
    for e in run.first:
        assert e.values.shape == np.shape(X), (e.method, e.values.shape)  # images keep their shape
        assert e.flat_values.shape == (n, d)
        assert e.base_values.shape == (n,)
        if e.codec is not None:  # original values kept: the codes re-encode X exactly
            np.testing.assert_array_equal(e.codes, e.codec.encode(X))
            assert e.data.dtype == object
        else:
            np.testing.assert_array_equal(e.data, np.asarray(X, dtype=float))
        assert len(e.feature_names) == d
        if names is not None:
            assert e.feature_names == [str(c) for c in names]
        assert np.all(np.isfinite(e.values)), e.method
        assert e.output in _OUTPUTS
        if a.task == "classification":
            assert e.target is not None and e.target.shape == (n,), e.method
        else:
            assert e.target is None, e.method


def check_deterministic(run: ConformanceRun) -> None:
    """The same random_state gives the same values."""
    for a, b in zip(run.first, run.second):
        assert a.method == b.method
        np.testing.assert_array_equal(a.values, b.values, err_msg=a.method)
        np.testing.assert_array_equal(a.base_values, b.base_values, err_msg=a.method)


def check_immutable(run: ConformanceRun) -> None:
    """Results cannot be changed in place."""
    e = next(iter(run.first))
    assert not e.values.flags.writeable and not e.base_values.flags.writeable
    import operator

    for attempt, error in ((lambda: operator.setitem(e.values, (0, 0), 1.0), ValueError),
                           (lambda: setattr(e, "method", "other"), AttributeError),
                           (lambda: operator.setitem(e.params, "x", 1), TypeError)):
        try:
            attempt()
        except error:
            continue
        raise AssertionError(f"an Explanation was modified in place ({error.__name__} expected)")


def check_local_accuracy(run: ConformanceRun) -> None:
    """Exact methods sum to the model output; the recorded gap is the real one."""
    a = run.adapter()
    for e in run.first:
        out = a.predict(run.flat, e.output)
        pred = out[:, 0] if e.target_index is None else out[np.arange(len(e)), e.target_index]
        gap = np.abs(e.base_values + e.flat_values.sum(axis=1) - pred)
        if e.params["exact"]:
            assert gap.max() <= 1e-6 * max(1.0, np.abs(pred).max()), (e.method, gap.max())
        if "additivity_gap" in e.params:
            assert abs(e.params["additivity_gap"] - gap.max()) <= 1e-12 * max(1.0, np.abs(pred).max()), e.method


def check_inputs_unmodified(run: ConformanceRun) -> None:
    """Neither the caller's X nor the model changed."""
    if isinstance(run.X, pd.DataFrame):
        pd.testing.assert_frame_equal(run.X, run.X_before)
    else:
        np.testing.assert_array_equal(run.X, run.X_before)
    if run.model_hash is not None:
        assert run.fingerprint(run.model) == run.model_hash, "the model was modified"


def check_model_evaluations_counted(run: ConformanceRun) -> None:
    """Methods that call the model count the rows they sent (a method whose class says ``reads_internals``
    may compute from the model's parameters alone and send none)."""
    for e in run.first:
        assert e.n_model_evals >= 0, e.method
        if not method_class(e.method).reads_internals:
            assert e.n_model_evals > 0, e.method


_CHECKS = (check_declared_capabilities, check_capabilities_honoured, check_shapes_and_names, check_deterministic, check_immutable,
           check_local_accuracy, check_inputs_unmodified, check_model_evaluations_counted)


def adapter_checks() -> Iterator[Callable[[ConformanceRun], None]]:
    """Every conformance check, in order (each takes a :class:`ConformanceRun`)."""
    return iter(_CHECKS)


def check_adapter(adapter, X, *, background=None, **kwargs) -> list[str]:
    """Run every conformance check on ``adapter`` (or a model) explained on ``X``.

    Parameters
    ----------
    adapter : Adapter or fitted model
    X : array-like or DataFrame
        Rows to explain (a few suffice).
    background : array-like, optional
        Reference rows (pass training data).
    **kwargs
        Passed to :class:`ConformanceRun` (methods, random_state, method_params, fingerprint).

    Returns
    -------
    list of str
        The names of the checks that passed (a failing check raises AssertionError).
    """
    from .errors import ExplainError

    try:
        run = run_conformance(adapter, X, background=background, **kwargs)
    except ExplainError as exc:  # e.g. local accuracy broken by a model that drifts between calls
        raise AssertionError(f"explain() failed on this adapter: {type(exc).__name__}: {exc}") from exc
    passed = []
    for check in adapter_checks():
        check(run)
        passed.append(check.__name__)
    return passed
