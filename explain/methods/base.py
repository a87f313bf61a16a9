"""The Method contract and the registry of attribution methods.

Every method has one call shape, ``attribute(task) -> Attribution``, where a
:class:`Task` is one block of rows explained for one target class in one output
space, and declares its capabilities as class attributes (``exact``,
``additive``, ``stochastic``) and its facts for a reviewer (``game``,
``assumptions``, ``reads_internals``, ``control``), the way captum's attribution classes do. The
engine (``explain.engine.api``) groups rows by target, times the call, counts model
evaluations and checks local accuracy; methods only compute.

A new method is one module with a Method subclass plus one ``register_method`` line below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..adapters.base import Adapter, CountingFunction
from .._utils.registry import Registry
from .._utils.rng import row_rng, row_seed

__all__ = ["Method", "Task", "Attribution", "get_method", "method_class", "method_names", "control_methods",
           "is_control", "register_method", "METHODS", "closed_form", "capability_reason"]


@dataclass(frozen=True)
class Task:
    """One block of rows to explain for one target, in one output space.

    Attributes
    ----------
    adapter : Adapter
    X : ndarray of shape (n_samples, n_features)
        Rows in the user's columns, float64.
    background : ndarray of shape (n_background, n_features)
    output : str
        The explained output space.
    target : int or None
        Class index explained for every row of this block.
    f : CountingFunction
        ``f(X) -> (n,)``, the explained scalar; counts model evaluations.
    feature_names : list of str
    random_state : int
        Entropy of the call's random streams (``explain()`` draws one when the
        user passes None); use :meth:`rng` or :meth:`seed` per row, never the
        whole block, so results do not depend on how rows are chunked.
    options : dict
        Method-specific keyword arguments the user passed.
    prediction : ndarray of shape (n_samples,), optional
        ``f(X)``, computed once by the engine for the local-accuracy check.
    image_shape : tuple of int, optional
        Shape of one image when the features are pixels.
    groups : ndarray of shape (n_features,), optional
        Group label (0..G-1) of each feature when attributing groups jointly.
    targets : ndarray of shape (n_samples,), optional
        Class per row, for methods with ``per_row_targets``: they get every row
        in one Task, ``target`` None, and ``f`` returning all outputs (n, k).
    row_ids : ndarray of shape (n_samples,), optional
        Index of each row in the X the user passed; random streams are keyed
        by it (:meth:`rng`), so a row's draws do not depend on the chunking.
    """

    adapter: Adapter
    X: np.ndarray
    background: np.ndarray
    output: str
    target: int | None
    f: CountingFunction
    feature_names: list
    random_state: int | None = 0
    options: dict = field(default_factory=dict)
    prediction: np.ndarray | None = None
    image_shape: tuple | None = None
    groups: np.ndarray | None = None
    targets: np.ndarray | None = None
    row_ids: np.ndarray | None = None

    def row_id(self, i: int) -> int:
        """Index in the user's X of this block's row ``i``."""
        return int(i if self.row_ids is None else self.row_ids[i])

    def rng(self, i: int) -> np.random.Generator:
        """The random generator of this block's row ``i`` (see ``methods._rng``)."""
        return row_rng(self.random_state or 0, self.row_id(i))

    def seed(self, i: int) -> int:
        """A 32-bit seed for row ``i``, for libraries that take an int or a RandomState."""
        return row_seed(self.random_state or 0, self.row_id(i))


@dataclass
class Attribution:
    """What a method returns for one Task."""

    values: np.ndarray
    base_values: np.ndarray
    params: dict = field(default_factory=dict)
    exact: bool | None = None  # overrides the method's class attribute when set
    row_params: dict = field(default_factory=dict)  # per-row diagnostics, arrays of length n_samples
    stochastic: bool | None = None  # overrides the class attribute: the algorithm that actually ran
    stderr: np.ndarray | None = None  # standard error of each sampled value, shape of values; None when exact


class Method:
    """Base class of attribution methods.

    Class attributes
    ----------------
    name : str
        Registry name.
    exact : bool
        Values are exact Shapley-type contributions: local accuracy is checked
        on every call and a gap raises.
    additive : bool
        Values are meant to sum to output minus base; the gap is reported.
    stochastic : bool
        Results depend on ``random_state``.
    supports_groups : bool
        Attributes groups of features jointly when ``feature_groups`` is given.
    images_only : bool
        Needs image-shaped input.
    global_rng : bool
        Its library draws only from numpy's global generator (shap's Kernel
        and Permutation explainers): the engine runs it in a worker process,
        seeded per row there, so the caller's generator is never touched.
    chunk_rows : int
        Rows per chunk under ``batch_size="auto"``: small for methods that
        spend seconds per row (so the progress bar moves), large otherwise.
    per_row_targets : bool
        Takes one target per row in a single call (captum does), instead of
        one call per explained class.
    options : tuple of str
        The keyword options the method reads from ``method_params``; any other
        key is refused by ``explain()`` rather than silently ignored.
    game : str
        What the values are: the game or quantity the method solves (e.g.
        "interventional Shapley values over the background").
    assumptions : str
        What must hold for the values to mean that (read by the report's method notes).
    reads_internals : bool
        Computes from the model's parameters, trees, kernel expansion or
        gradients rather than from its predictions alone (for ``"shap"``: when
        the model allows an exact algorithm). Such a method may send no rows
        through ``predict``.
    control : bool
        A control, not an explanation (the ``"random"`` baseline): ``compare()``
        always adds it, scores other methods against it and leaves it out of
        agreement; reports leave it out of tables and figures.
    stderr_option : str or None
        The option (one of ``options``, a bool) that turns off work done only for
        the standard errors, never changing the values; ``compare()``'s
        re-explanations that read values alone set it to False.
    """

    name: ClassVar[str] = ""
    exact: ClassVar[bool] = False
    additive: ClassVar[bool] = False
    stochastic: ClassVar[bool] = False
    supports_groups: ClassVar[bool] = False
    images_only: ClassVar[bool] = False
    per_row_targets: ClassVar[bool] = False
    global_rng: ClassVar[bool] = False
    chunk_rows: ClassVar[int] = 4096
    options: ClassVar[tuple[str, ...]] = ()
    game: ClassVar[str] = ""
    assumptions: ClassVar[str] = ""
    reads_internals: ClassVar[bool] = False
    control: ClassVar[bool] = False
    stderr_option: ClassVar[str | None] = None

    def applies(self, adapter: Adapter, output: str, n_features: int) -> str | None:
        """None if the method can explain this model in this output, else the reason why not."""
        return None

    def attribute(self, task: Task) -> Attribution:
        raise NotImplementedError

    def threaded(self, adapter: Adapter, output: str) -> bool:
        """True when the work on this model runs in compiled kernels that release the GIL over numba's
        threads: ``n_jobs > 1`` then runs in this process on ``n_jobs`` threads instead of worker processes
        (no start-up, no copies of the rows; the values do not depend on the thread count)."""
        return False


def capability_reason(adapter: Adapter, capability: str, label: str, kind: str) -> str | None:
    """Why a method that needs an adapter capability (e.g. ``provides_trees``) cannot run, or None."""
    if not getattr(adapter, capability, False):
        return f"{label} explains {kind} only ({adapter.name} does not declare {capability})"
    if not adapter.groupable:
        return (f"{label} needs preprocessing in which every transformed column reads one input column "
                "(scalers, encoders, imputers, ColumnTransformer); this pipeline mixes columns")
    return None


METHODS = Registry("method")


def register_method(name: str, path: str) -> None:
    """Register a Method subclass by ``"module:Class"`` (imported when the method is first used)."""
    METHODS.register(name, path)


register_method("coefficients", "explain.methods.native:Coefficients")
register_method("naive_bayes", "explain.methods.native:NaiveBayesContributions")
register_method("shap", "explain.methods.shap_:Shap")
register_method("shap.tree", "explain.methods.shap_:ShapTree")
register_method("shap.tree_shap_lib", "explain.methods.shap_lib:ShapTreeLib")
register_method("shap.kernel", "explain.methods.shap_lib:ShapKernel")
register_method("shap.permutation", "explain.methods.shap_lib:ShapPermutation")
register_method("shap.exact", "explain.methods.shap_lib:ShapExact")
register_method("shap.partition", "explain.methods.shap_lib:ShapPartition")
register_method("shap.kernel_exact", "explain.methods.kernel_shapley:KernelExact")
register_method("lime", "explain.methods.lime_:Lime")
register_method("integrated_gradients", "explain.methods.captum_:IntegratedGradients")
register_method("saliency", "explain.methods.captum_:Saliency")
register_method("input_x_gradient", "explain.methods.captum_:InputXGradient")
register_method("deeplift", "explain.methods.captum_:DeepLift")
register_method("deeplift_shap", "explain.methods.captum_:DeepLiftShap")
register_method("gradient_shap", "explain.methods.captum_:GradientShap")
register_method("occlusion", "explain.methods.captum_:Occlusion")
register_method("feature_ablation", "explain.methods.captum_:FeatureAblation")
register_method("random", "explain.methods.baseline:RandomAttribution")


def method_names() -> list[str]:
    """Names of every registered method."""
    return METHODS.names()


def get_method(name: str) -> Method:
    """Instantiate a registered method by name (the caller checks the name first)."""
    return METHODS.load(name)()


def method_class(name: str) -> type[Method]:
    """The registered Method subclass of ``name``, to read its facts (class attributes) without instantiating."""
    return METHODS.load(name)


def is_control(name: str) -> bool:
    """True when ``name`` is a registered control method (its class says ``control = True``)."""
    return name in METHODS and bool(method_class(name).control)


def control_methods() -> list[str]:
    """Names of the registered control methods, in registration order (``["random"]``)."""
    return [name for name in METHODS if is_control(name)]


def closed_form(task: Task) -> Attribution:
    """Exact contributions of a model additive in the user's columns.

    If f(x) = c + sum_j g_j(x_j), the interventional Shapley value of feature j
    against background B is g_j(x_j) - mean_B g_j(b_j) and the base value is
    mean_B f(b); they sum to f(x) exactly.
    """
    a = task.adapter
    terms_x = a.additive_terms(task.X, task.output, task.target)
    terms_bg = a.additive_terms(task.background, task.output, task.target)
    values = terms_x - terms_bg.mean(axis=0)
    base = float(np.mean(task.f(task.background)))
    return Attribution(values, np.full(task.X.shape[0], base), {"algorithm": "closed form (additive model)"},
                       exact=True)
