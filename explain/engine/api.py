"""``explain()``: validate once (``_plan``), then run each method over chunks of rows (``_engine``).

Data flows one way: model -> adapter -> methods -> Explanation. Rows are
grouped by explained class so every method sees one scalar function per call;
the engine times each method, counts model evaluations and checks local
accuracy (raising for exact methods, reporting the gap for the others).
"""

from __future__ import annotations

from .config import ExplainConfig, check_method_params
from .cost import cost_warning
from .plan import ADDITIVITY_RTOL, prepare, resolve_methods
from .._utils.progress import progress_bar
from ..explanation import ExplanationSet

__all__ = ["explain", "explain_with", "ExplainConfig", "resolve_methods", "check_method_params", "ADDITIVITY_RTOL"]


def explain(model, X, *, methods="auto", background=None, target=None, output="auto",
            feature_names=None, random_state=0, method_params=None, name=None, image_shape=None,
            feature_groups=None, n_jobs=None, batch_size="auto", progress="auto", backend="loky") -> ExplanationSet:
    """Explain a fitted model's predictions on ``X`` with several attribution methods.

    Parameters
    ----------
    model : fitted estimator, statsmodels results, Pipeline or Adapter
        GLMs (scikit-learn linear models, statsmodels GLM/Logit/Probit/OLS
        results), Naive Bayes, tree ensembles (scikit-learn, XGBoost,
        LightGBM), kernel models (SVC, SVR, KernelRidge, ...), or any function
        wrapped in :class:`CallableAdapter`.
    X : array-like, DataFrame or tensor of shape (n_samples, n_features) or (n_samples, C, H, W)
        Rows to explain. DataFrame column names become feature names. Images
        (3-D or 4-D arrays) are explained pixel by pixel for every family: a
        model fitted on flat pixels gets them flattened.
    methods : "auto", str or list of str, default="auto"
        Attribution methods by name. "auto" runs the family's own exact method
        (coefficients, naive_bayes) if it has one, then "shap" and "lime".
    background : array-like of shape (n_background, n_features), optional
        Reference data that "absent" features are drawn from. Defaults to a
        seeded sample of at most 100 rows of X; pass your training data.
    target : class label, class index, or one per row, optional
        Class to explain. Defaults to the positive class for binary and the
        predicted class for multiclass models; ignored for regression.
    output : {"auto", "margin", "probability", "raw"}, default="auto"
        Space to explain in. "auto" is the family's natural additive space
        (log-odds, link scale, decision function, or probability for forests).
    feature_names : sequence of str, optional
        Overrides the names taken from X or the model.
    random_state : int or None, default=0
        Seed for background sampling and every stochastic method.
    method_params : dict, optional
        Per-method keyword arguments, e.g. ``{"lime": {"num_samples": 1000}}``.
    name : str, optional
        Model name shown in results (default: the class name).
    image_shape : tuple of int, optional
        Shape of one image when X holds flat pixels (e.g. ``(1, 8, 8)`` for
        the 64 digit columns); explanations then carry it.
    feature_groups : "patches:k" or int array, optional
        Attribute groups of pixels/features jointly (k x k patches, or a
        segmentation with one label per pixel). Methods that support groups:
        "occlusion", "feature_ablation", "lime", "shap.kernel".
    n_jobs : int or None, default=None
        None runs in this process with the libraries' own threading (numba,
        BLAS and torch use every core). 1 runs on one core (scikit-learn's
        convention). k > 1 explains chunks of rows in k worker processes
        (joblib's loky) with cpu_count // k threads each; -1 uses every core.
        Results are bit-identical for every n_jobs.
    batch_size : "auto" or int, default="auto"
        Rows per chunk. Memory grows with the chunk, not with the number of
        rows; "auto" uses up to 65,536 rows (fewer for methods that spend
        seconds per row). Results do not depend on it: every row draws its
        randomness from its own stream, keyed by its index in X.
    progress : "auto", bool, default="auto"
        One progress bar over explained rows (tqdm; a widget in notebooks).
        "auto" shows it in terminals and notebooks once the work has run for
        two seconds, and never under pytest.
    backend : {"loky", "dask"}, default="loky"
        "dask" runs the chunks on the current ``distributed.Client`` (or a
        LocalCluster of ``n_jobs`` workers started for the call); see
        :mod:`explain.engine.dask`.

    Returns
    -------
    ExplanationSet
        One :class:`Explanation` per method, in the order the methods ran.
        ``result.validated.config`` is the validated :class:`ExplainConfig`.

    Raises
    ------
    ParameterError
        An option outside its declared constraints (``n_jobs=0``, ``backend="x"``);
        every error raised on purpose is an :class:`~explain.errors.ExplainError`.

    Warns
    -----
    UserWarning
        Once, before any method runs, when the request is estimated to take longer than
        ``explain.engine.cost.COST_WARNING_SECONDS`` (60 s): the estimate per method and the knob to turn
        (background size, ``nsamples``/``num_samples``/``max_evals``, rows); see :mod:`explain.engine.cost`.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from explain import explain, datasets
    >>> data = datasets.load_tabular()
    >>> model = LogisticRegression(max_iter=5000).fit(data.X, data.y)
    >>> result = explain(model, data.X[:5], methods="coefficients", background=data.X)
    >>> result["coefficients"].values.shape
    (5, 10)
    """
    # the signature above is the one list of options; tests pin it to ExplainConfig's fields
    config = ExplainConfig(methods=methods, target=target, output=output, feature_names=feature_names,
                           random_state=random_state, method_params=method_params, name=name,
                           image_shape=image_shape, feature_groups=feature_groups, n_jobs=n_jobs,
                           batch_size=batch_size, progress=progress, backend=backend)
    return explain_with(model, X, config, background=background)


def explain_with(model, X, config: ExplainConfig, *, background=None) -> ExplanationSet:
    """``explain()`` with its options already validated as an :class:`ExplainConfig`.

    ``compare()`` re-explains with ``explain_with(model, Z, dataclasses.replace(first.validated.config, ...))``,
    so every option of the first explanation (feature groups, output, n_jobs, method parameters) carries over.
    """
    plan = prepare(model, X, config, background=background)
    slow = cost_warning(plan, plan.X.shape[0])  # minutes ahead: say so now, with the knob to turn
    if slow is not None:
        plan.warn_once(("cost",), slow)
    with progress_bar(config.progress, total=plan.X.shape[0] * len(plan.methods), desc=plan.adapter.name) as bar:
        explanations = plan.explain_rows(plan.X, bar=bar)
    return ExplanationSet(explanations, model_name=plan.adapter.name, validated=plan.validated)


