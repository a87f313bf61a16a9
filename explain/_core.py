"""``explain()``: validate once at the entry, then run each method on blocks of rows.

Data flows one way: model -> adapter -> methods -> Explanation. Rows are
grouped by explained class so every method sees one scalar function per call;
the engine times each method, counts model evaluations and checks local
accuracy (raising for exact methods, reporting the gap for the others).
"""

from __future__ import annotations

import copy
import time
import warnings
from typing import Iterable

import numpy as np
import pandas as pd

from ._images import pixel_names, resolve_groups, split_images
from ._validation import check_data, suggest
from .adapters.base import Adapter, CountingFunction, get_adapter
from .errors import (AdditivityError, ApproximationWarning, BackgroundError, DataError, MethodNotApplicableError,
                     UnknownMethodError)
from .explanation import Explanation, ExplanationSet, Validated
from .methods.base import Task, get_method, method_names

__all__ = ["explain", "resolve_methods", "check_method_params", "ADDITIVITY_RTOL"]

ADDITIVITY_RTOL = 1e-6
_AUTO_NATIVE = {"glm": "coefficients", "naive_bayes": "naive_bayes"}
_AUTO_TORCH = ["integrated_gradients", "shap", "saliency"]
MAX_DEFAULT_BACKGROUND = 100
MIN_DEFAULT_BACKGROUND = 10  # fewer default background rows than this: warn (one row gives all-zero values)


def _reason(method, adapter, output, n_features, images, grouped):
    """Why ``method`` cannot run here, or None."""
    if grouped and not method.supports_groups:
        return "it attributes single features; feature_groups is for " + \
            ", ".join(n for n in method_names() if get_method(n).supports_groups)
    if method.images_only and not images:
        return "it explains images only; pass X as (N, C, H, W) or give image_shape"
    return method.applies(adapter, output, n_features)


def resolve_methods(methods, adapter, output: str, n_features: int, *, images=False, grouped=False) -> list:
    """Method objects for ``methods`` ("auto", a name, or names), checked against the model."""
    check = lambda m: _reason(m, adapter, output, n_features, images, grouped)
    if methods is None or methods == "auto":
        names = _AUTO_TORCH if adapter.family == "torch" else \
            [n for n in (_AUTO_NATIVE.get(adapter.family), "shap", "lime") if n]
        return [m for m in (get_method(n) for n in names) if check(m) is None]
    if isinstance(methods, str):
        methods = [methods]
    methods = list(methods)
    if not methods:
        raise UnknownMethodError("methods is empty: nothing would be explained. Pass 'auto' or method names, "
                                 f"e.g. methods=['shap']. Valid methods: {', '.join(method_names())}.")
    known = method_names()
    chosen = []
    for name in dict.fromkeys(methods):
        if name == "auto":
            chosen += [m for m in resolve_methods("auto", adapter, output, n_features, images=images,
                                                  grouped=grouped) if m.name not in {c.name for c in chosen}]
            continue
        if not isinstance(name, str) or name not in known:
            raise UnknownMethodError(f"unknown method {name!r}.{suggest(str(name), known)} "
                                     f"Valid methods: {', '.join(known)}.")
        method = get_method(name)
        reason = check(method)
        if reason:
            valid = [n for n in known if check(get_method(n)) is None]
            raise MethodNotApplicableError(
                f"method {name!r} does not apply to {adapter.name} ({adapter.family}, output={output!r}): "
                f"{reason}. Methods that apply: {', '.join(valid)}.")
        chosen.append(method)
    return chosen


def check_method_params(method_params) -> dict:
    """Validate ``{method: {option: value}}``: known methods, and options each method reads.

    A misspelt method or option raises instead of being ignored (``num_sample``
    would otherwise run LIME with its default 5,000 samples).
    """
    if method_params is None:
        return {}
    if not isinstance(method_params, dict):
        raise UnknownMethodError(f"method_params must be a dict {{method: {{option: value}}}}, "
                                 f"got {type(method_params).__name__}.")
    known = method_names()
    out = {}
    for name, opts in method_params.items():
        if name not in known:
            raise UnknownMethodError(f"method_params names unknown method {name!r}.{suggest(str(name), known)} "
                                     f"Valid methods: {', '.join(known)}.")
        if not isinstance(opts, dict):
            raise UnknownMethodError(f"method_params[{name!r}] must be a dict of options, got "
                                     f"{type(opts).__name__}.")
        valid = get_method(name).options
        for key in opts:
            if key not in valid:
                allowed = ", ".join(valid) if valid else "none"
                raise UnknownMethodError(f"method {name!r} has no option {key!r}.{suggest(str(key), valid)} "
                                         f"Its options: {allowed}.")
        out[name] = dict(opts)
    return out


def _default_background(X: np.ndarray, random_state) -> np.ndarray:
    if X.shape[0] <= MAX_DEFAULT_BACKGROUND:
        return X.copy()
    rng = np.random.default_rng(random_state)
    return X[np.sort(rng.choice(X.shape[0], MAX_DEFAULT_BACKGROUND, replace=False))]


def _check_local_accuracy(method, exact, values, base, prediction, params):
    gap = np.abs(base + values.sum(axis=1) - prediction)
    worst = int(np.argmax(gap))
    scale = max(1.0, float(np.abs(prediction).max()), float(np.abs(base).max()))
    params["additivity_gap"] = float(gap[worst])
    if exact and gap[worst] > ADDITIVITY_RTOL * scale:
        raise AdditivityError(
            f"{method!r} broke local accuracy: on row {worst} the values sum to "
            f"{base[worst] + values[worst].sum():.10g} (base {base[worst]:.10g} + attributions) but the model "
            f"output is {prediction[worst]:.10g}, a gap of {gap[worst]:.3g} > {ADDITIVITY_RTOL:g} x {scale:.3g}. "
            "Check that the model was not refitted or mutated during the call, and that the data is "
            "float32-representable for tree models; otherwise report this as a bug with the model and data.")


def explain(model, X, *, methods="auto", background=None, target=None, output="auto",
            feature_names=None, random_state=0, method_params=None, name=None, image_shape=None,
            feature_groups=None) -> ExplanationSet:
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

    Returns
    -------
    ExplanationSet
        One :class:`Explanation` per method, in the order the methods ran.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from explain import explain, datasets
    >>> data = datasets.load_tabular()
    >>> model = LogisticRegression(max_iter=5000).fit(data.X, data.y)
    >>> result = explain(model, data.X[:5], methods="coefficients", background=data.X)
    >>> result["coefficients"].values.shape
    (5, 30)
    """
    adapter = get_adapter(model, name=name)
    X_in, image_shape = split_images(X, image_shape)
    X_in = adapter.adapt_input(X_in)
    bg_in = None
    if background is not None:
        bg_in = adapter.adapt_input(split_images(background, image_shape, what="background")[0])
    codec = _codec_for(adapter, X_in, bg_in) if image_shape is None else None
    if codec is not None:  # a mixed-type table: one code column per original column; the model sees it decoded
        if isinstance(model, Adapter):
            adapter = copy.copy(adapter)
        adapter.codec = codec
    defaults = adapter.default_feature_names if image_shape is None else pixel_names(image_shape)
    Xa, names = check_data(X_in, n_features=adapter.n_features_in,
                           feature_names=feature_names, expected_names=adapter.feature_names_in,
                           default_names=defaults, allow_nan=adapter.allows_missing, codec=codec)
    if image_shape is not None and feature_names is None and adapter.feature_names_in is None:
        names = pixel_names(image_shape)
    method_params = check_method_params(method_params)
    if background is None:
        bg = _default_background(Xa, random_state)
        if bg.shape[0] < MIN_DEFAULT_BACKGROUND:
            warnings.warn(
                f"no background was given, so the {bg.shape[0]} explained row(s) serve as the background: "
                "attributions measure differences from these rows only (a single row gets all-zero values). "
                "Pass your training data: explain(model, X, background=X_train).", UserWarning, stacklevel=2)
    else:
        bg, _ = check_data(bg_in, n_features=Xa.shape[1], expected_names=adapter.feature_names_in,
                           what="background", allow_nan=adapter.allows_missing, codec=codec)
    adapter.learn_column_groups(np.vstack([Xa, bg]))
    groups = resolve_groups(feature_groups, image_shape, Xa.shape[1])
    adapter.prepare(Xa, image_shape)
    output = adapter.check_output(output)
    chosen = resolve_methods(methods, adapter, output, Xa.shape[1], images=image_shape is not None,
                             grouped=groups is not None)
    predicted = _first_prediction(adapter, Xa, output, names)
    targets = adapter.resolve_target(target, Xa, output, predicted)
    prediction = predicted[:, 0] if targets is None else predicted[np.arange(len(Xa)), targets]
    context = dict(image_shape=image_shape, groups=groups)
    explanations = [_run(m, adapter, Xa, bg, output, targets, names, random_state,
                         dict(method_params.get(m.name, {})), prediction, context) for m in chosen]
    validated = Validated(adapter=adapter, X=Xa, background=bg, output=output, image_shape=image_shape,
                          groups=groups, feature_names=tuple(names))
    return ExplanationSet(explanations, model_name=adapter.name, validated=validated)


def _codec_for(adapter, X, background):
    """A Codec when X is a DataFrame with string, category, boolean or nullable columns, else None."""
    from ._validation import frame_in_model_order
    from .adapters._codec import Codec, needs_codec

    if not needs_codec(X):
        return None
    X = frame_in_model_order(X, adapter.feature_names_in)
    if background is not None and not isinstance(background, pd.DataFrame):
        raise BackgroundError("X is a DataFrame with non-numeric columns, so the background must be a DataFrame "
                              "with the same columns (pass your training rows, e.g. X_train).")
    frames = [X] + ([frame_in_model_order(background, adapter.feature_names_in, "background")]
                    if background is not None else [])
    codec = Codec.from_frames(*frames)
    text = [c.name for c in codec.columns if c.kind == "categorical" and not pd.api.types.is_bool_dtype(c.dtype)]
    if text and not adapter.accepts_categories:
        raise DataError(f"X has non-numeric column(s) {text[:10]} (dtypes {[str(X[c].dtype) for c in text[:10]]}), "
                        f"but {adapter.name} was fitted on numbers. Encode them as numbers first, or explain a "
                        "Pipeline whose ColumnTransformer encodes them (e.g. OneHotEncoder): explain() then "
                        "attributes per original column.")
    return codec


def _first_prediction(adapter, X, output, names):
    """The model's output on X; a model that cannot take missing values says so by column."""
    missing = [names[j] for j in np.flatnonzero(np.isnan(X).any(axis=0))]
    advice = "Impute them (e.g. a SimpleImputer in the pipeline) or drop those rows."
    try:
        out = adapter.predict(X, output)
    except DataError:
        raise
    except Exception as exc:
        if not missing:
            raise
        raise DataError(f"X has missing values in column(s) {missing[:10]} and {adapter.name} cannot take them "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). {advice}") from exc
    if missing and not np.all(np.isfinite(out)):
        raise DataError(f"X has missing values in column(s) {missing[:10]} and {adapter.name} turns them into "
                        f"NaN predictions. {advice}")
    return out


def _groups(targets, n) -> Iterable[tuple[int | None, np.ndarray]]:
    if targets is None:
        yield None, np.arange(n)
        return
    for t in np.unique(targets):
        yield int(t), np.flatnonzero(targets == t)


def _merge_blocks(blocks: list[dict], n_blocks: int) -> dict:
    """Params of a result made of per-class blocks: shared values once, differing ones per class."""
    params: dict = {}
    keys = list(dict.fromkeys(k for b in blocks for k in b["params"]))
    for key in keys:
        present = [(b["label"], b["params"][key]) for b in blocks if key in b["params"]]
        first = present[0][1]
        same = len(present) == n_blocks and all(_equal(v, first) for _, v in present[1:])
        if same or n_blocks == 1:
            params[key] = first
        elif all(isinstance(v, str) for _, v in present):
            params[key] = "; ".join(f"class {label}: {v}" for label, v in present)
        else:
            params[key] = {str(label): v for label, v in present}
    if n_blocks > 1:
        params["blocks"] = [{"class": str(b["label"]), "rows": b["rows"], "exact": b["exact"],
                             "algorithm": b["params"].get("algorithm", "")} for b in blocks]
    return params


def _equal(a, b) -> bool:
    if hasattr(a, "equals") and type(a) is type(b):  # pandas objects
        return bool(a.equals(b))
    try:
        return bool(np.array_equal(a, b)) if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) else bool(a == b)
    except Exception:  # incomparable values are different
        return False


def _run(method, adapter, X, bg, output, targets, names, random_state, options, prediction,
         context) -> Explanation:
    n, d = X.shape
    values = np.empty((n, d))
    base = np.empty(n)
    row_params: dict = {}
    blocks = []
    n_evals = 0
    start = time.perf_counter()
    if method.per_row_targets:  # one call, a class per row
        calls = [(None, np.arange(n), CountingFunction(lambda Z: adapter.predict(Z, output)), targets)]
    else:  # one call per explained class, with that class's scalar output
        calls = [(t, rows, CountingFunction(adapter.output_function(output, t)), None)
                 for t, rows in _groups(targets, n)]
    for t, rows, f, row_targets in calls:
        task = Task(adapter=adapter, X=X[rows], background=bg, output=output, target=t, f=f,
                    feature_names=list(names), random_state=random_state, options=dict(options),
                    prediction=prediction[rows], targets=row_targets, **context)
        try:
            result = method.attribute(task)
        except DataError as exc:  # e.g. a formula that cannot take a perturbed value: say which method
            raise type(exc)(f"method {method.name!r}: {exc}") from exc
        values[rows] = result.values
        base[rows] = result.base_values
        n_evals += f.n_evals
        label = "all" if t is None else (adapter.classes[t] if adapter.classes is not None else t)
        blocks.append({"label": label.item() if isinstance(label, np.generic) else label, "rows": int(len(rows)),
                       "exact": bool(method.exact if result.exact is None else result.exact),
                       "stochastic": bool(method.stochastic if result.stochastic is None else result.stochastic),
                       "params": dict(result.params)})
        for key, value in result.row_params.items():  # per-row arrays go back to their rows
            value = np.asarray(value)
            full = row_params.setdefault(key, np.full((n,) + value.shape[1:], np.nan))
            full[rows] = value
    seconds = time.perf_counter() - start
    exact = all(b["exact"] for b in blocks)  # exact only if every block is
    params = _merge_blocks(blocks, len(blocks))
    params.update(row_params)
    params.update(background_size=int(bg.shape[0]), random_state=random_state, exact=exact,
                  stochastic=any(b["stochastic"] for b in blocks), family=adapter.family)
    if options:
        params["options"] = options
    if context["groups"] is not None:
        params["n_groups"] = int(context["groups"].max()) + 1
    if method.additive:
        _check_local_accuracy(method.name, exact, values, base, prediction, params)
    if "approximate" in params:
        warnings.warn(f"{method.name!r} on {adapter.name} is approximate, not exact: {params['approximate']} "
                      f"(largest local-accuracy gap {params.get('additivity_gap', float('nan')):.3g}).",
                      ApproximationWarning, stacklevel=3)
    return Explanation(values, base, X, names, output=output, method=method.name, model_name=adapter.name,
                       target=targets, seconds=seconds, n_model_evals=n_evals, params=params,
                       image_shape=context["image_shape"], codec=adapter.codec)
