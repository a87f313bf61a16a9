"""Validate once at the entry of ``explain()``, then carry the result: a :class:`Plan`.

A Plan holds what ``explain()`` checked (adapter, data in the model's column
order, background, output, methods, targets, seeds, how chunks run) and
explains rows with it (:meth:`Plan.explain_rows`), so ``to_parquet`` can feed
it one batch after another without re-validating the model or the background.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .chunks import Job, Parallelism
from .run import run_method
from .config import ExplainConfig, check_method_params
from .._utils.images import pixel_names, resolve_groups, split_images
from .._utils.validation import check_data, frame_in_model_order, suggest
from .._utils.warn import warn
from .._utils.codec import Codec, needs_codec
from ..adapters import Adapter, get_adapter
from ..errors import (AdditivityError, ApproximationWarning, BackgroundError, DataError, MethodNotApplicableError,
                     UnknownMethodError)
from ..explanation import Explanation, Validated
from .._utils.rng import fresh_entropy
from ..methods.base import Method, get_method, method_names

__all__ = ["Plan", "prepare", "resolve_methods", "check_method_params", "ADDITIVITY_RTOL"]

ADDITIVITY_RTOL = 1e-6
MAX_DEFAULT_BACKGROUND = 100
MIN_DEFAULT_BACKGROUND = 10  # fewer default background rows than this: warn (one row gives all-zero values)
PROBE_ROWS = 10_000  # rows of X (with the background) used to find which input column each encoded column reads


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
        names = [n for n in (adapter.native_method, *adapter.default_methods) if n]
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


def _codec_for(adapter, X, background, names_in):
    """A Codec when X is a DataFrame with string, category, boolean or nullable columns, else None."""
    if not needs_codec(X):
        return None
    X = frame_in_model_order(X, names_in)
    if background is not None and not isinstance(background, pd.DataFrame):
        raise BackgroundError("X is a DataFrame with non-numeric columns, so the background must be a DataFrame "
                              "with the same columns (pass your training rows, e.g. X_train).")
    frames = [X] + ([frame_in_model_order(background, names_in, "background")]
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
        out = np.concatenate([adapter.predict(X[s:s + PREDICT_ROWS], output)
                              for s in range(0, max(1, X.shape[0]), PREDICT_ROWS)])
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


PREDICT_ROWS = 65_536  # rows per model call when predicting every row once (bounded memory)


@dataclass
class Plan:
    """What ``explain()`` validated, ready to explain rows (one batch at a time if need be).

    ``adapter`` is a bound adapter the plan owns (``Adapter.bind``), never the
    caller's object; ``config`` is the validated :class:`ExplainConfig`, carried
    unchanged to every backend and to every re-explanation.
    """

    adapter: Adapter
    X: np.ndarray
    background: np.ndarray
    names: tuple
    output: str
    methods: list
    config: ExplainConfig
    entropy: int
    image_shape: tuple | None
    groups: np.ndarray | None
    parallel: Parallelism
    optional: frozenset = frozenset()  # methods "auto" chose: skipped (with a warning) if they cannot run here
    _warned: set = field(default_factory=set, repr=False, compare=False)  # warnings are said once per plan
    _skipped: dict = field(default_factory=dict, repr=False, compare=False)  # method name -> why it was skipped

    @property
    def method_params(self) -> dict:
        return self.config.method_params

    @property
    def target(self):
        return self.config.target

    @property
    def random_state(self):
        return self.config.random_state

    @property
    def validated(self) -> Validated:
        return Validated(adapter=self.adapter, X=self.X, background=self.background, output=self.output,
                         image_shape=self.image_shape, groups=self.groups, feature_names=self.names,
                         config=self.config)

    def check_rows(self, X) -> np.ndarray:
        """Validate another batch of rows against the model and columns this plan was built on."""
        X_in = self.adapter.adapt_input(split_images(X, self.image_shape)[0])
        Xa, _ = check_data(X_in, n_features=len(self.names), expected_names=self.adapter.feature_names_in,
                           allow_nan=self.adapter.allows_missing, codec=self.adapter.codec)
        return np.ascontiguousarray(Xa, dtype=float)

    def targets_for(self, X: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """The explained class of each row (None for regression) and the model's output for it."""
        predicted = _first_prediction(self.adapter, X, self.output, list(self.names))
        targets = self.adapter.resolve_target(self.target, X, self.output, predicted)
        prediction = predicted[:, 0] if targets is None else predicted[np.arange(len(X)), targets]
        return targets, prediction

    def explain_rows(self, X: np.ndarray, *, row_offset: int = 0, bar=None, targets=None,
                     prediction=None) -> list[Explanation]:
        """One Explanation per method for validated rows ``X``; row ``i`` draws from stream ``row_offset + i``.

        ``targets`` and ``prediction`` (from :meth:`targets_for`) are computed here when not given.
        """
        if prediction is None:
            targets, prediction = self.targets_for(X)
        out = []
        for m in self.methods:
            if m.name in self._skipped:
                continue
            try:
                out.append(self.run(m, X, targets, prediction, row_offset=row_offset, bar=bar))
            except (DataError, MethodNotApplicableError) as exc:
                # a method "auto" chose that cannot take this model or data (e.g. LIME sampling outside a
                # formula's domain) is left out, and says why; a method the caller named fails the call
                others = [o for o in self.methods if o is not m and o.name not in self._skipped]
                if m.name not in self.optional or not others:
                    raise
                self._skipped[m.name] = str(exc)
                self.warn_once(("skipped", m.name), f"methods='auto' left out {m.name!r}: it cannot explain "
                               f"{self.adapter.name} here ({exc}). Name the other methods to silence this.")
        return out

    def warn_once(self, key, message: str, category=UserWarning) -> None:
        """Issue a warning once per plan (one ``explain()`` or ``to_parquet`` call), at the caller's line."""
        if key not in self._warned:
            self._warned.add(key)
            warn(message, category)

    def run(self, method: Method, X, targets, prediction, *, row_offset=0, bar=None) -> Explanation:
        """One method over all rows of X (chunked by the engine), checked and wrapped as an Explanation."""
        options = dict(self.method_params.get(method.name, {}))
        job = Job(method=method, adapter=self.adapter, background=self.background, output=self.output,
                  names=self.names, entropy=self.entropy, options=options, image_shape=self.image_shape,
                  groups=self.groups)
        merged, seconds = run_method(job, X, targets, prediction, self.parallel, row_offset=row_offset, bar=bar)
        blocks = merged.blocks
        exact = all(b["exact"] for b in blocks)  # exact only if every block is
        params = _merge_blocks(blocks, len(blocks))
        params.update(merged.row_params)
        params.update(background_size=int(self.background.shape[0]), random_state=self.random_state, exact=exact,
                      stochastic=any(b["stochastic"] for b in blocks), family=self.adapter.family)
        if self.random_state is None:
            params["seed_entropy"] = str(self.entropy)  # pass random_state=int(this) to reproduce the run
        if options:
            params["options"] = options
        if self.groups is not None:
            params["n_groups"] = int(self.groups.max()) + 1
        if method.additive:
            _check_local_accuracy(method.name, exact, merged.values, merged.base, prediction, params)
        if "approximate" in params:
            self.warn_once(("approximate", method.name),
                           f"{method.name!r} on {self.adapter.name} is approximate, not exact: {params['approximate']} "
                           f"(largest local-accuracy gap {params.get('additivity_gap', float('nan')):.3g}).",
                           ApproximationWarning)
        return Explanation(merged.values, merged.base, X, list(self.names), output=self.output, method=method.name,
                           model_name=self.adapter.name, target=None if targets is None else
                           np.asarray(self.adapter.classes)[targets], target_index=targets, seconds=seconds,
                           n_model_evals=merged.n_evals, params=params, image_shape=self.image_shape,
                           codec=self.adapter.codec, stderr=merged.stderr)


def prepare(model, X, config: ExplainConfig, *, background=None) -> Plan:
    """Validate the model and data against ``config`` (see ``explain()``) and return the :class:`Plan`.

    Nothing the caller passed is changed: the plan owns a bound adapter (``Adapter.bind``) and its own
    float copies of ``X`` and ``background``.
    """
    image_shape = config.image_shape
    adapter = get_adapter(model, name=config.name)  # may be the caller's Adapter: only read here
    X_in, image_shape = split_images(X, image_shape)
    X_in = adapter.adapt_input(X_in)
    names_in = adapter.input_names(X_in)
    bg_in = None
    if background is not None:
        bg_in = adapter.adapt_input(split_images(background, image_shape, what="background")[0])
    codec = _codec_for(adapter, X_in, bg_in, names_in) if image_shape is None else None
    # a mixed-type table: one code column per original column; the model sees it decoded
    defaults = pixel_names(image_shape) if image_shape is not None else \
        names_in if names_in != adapter.feature_names_in else adapter.default_feature_names
    Xa, names = check_data(X_in, n_features=adapter.n_features_in,
                           feature_names=config.feature_names, expected_names=names_in,
                           default_names=defaults, allow_nan=adapter.allows_missing, codec=codec)
    if image_shape is not None and config.feature_names is None and names_in is None:
        names = pixel_names(image_shape)
    if background is None:
        bg = _default_background(Xa, config.random_state)
        if bg.shape[0] < MIN_DEFAULT_BACKGROUND:
            warn(f"no background was given, so the {bg.shape[0]} explained row(s) serve as the background: "
                 "attributions measure differences from these rows only (a single row gets all-zero values). "
                 "Pass your training data: explain(model, X, background=X_train).", UserWarning)
    else:
        bg, _ = check_data(bg_in, n_features=Xa.shape[1], expected_names=names_in,
                           what="background", allow_nan=adapter.allows_missing, codec=codec)
    # one memory layout everywhere (C order): numpy's SIMD loops can round differently on strided rows,
    # and rows shipped to worker processes arrive C-ordered
    Xa, bg = np.ascontiguousarray(Xa, dtype=float), np.ascontiguousarray(bg, dtype=float)
    adapter = adapter.bind(Xa, image_shape=image_shape, codec=codec, names_in=names_in,
                           probe=np.vstack([Xa[:PROBE_ROWS], bg]))
    groups = resolve_groups(config.feature_groups, image_shape, Xa.shape[1])
    output = adapter.check_output(config.output)
    chosen = resolve_methods(config.methods, adapter, output, Xa.shape[1], images=image_shape is not None,
                             grouped=groups is not None)
    named = set() if config.methods in (None, "auto") else \
        {config.methods} if isinstance(config.methods, str) else set(config.methods)
    optional = frozenset(m.name for m in chosen if m.name not in named)
    entropy = fresh_entropy() if config.random_state is None else int(config.random_state)
    parallel = Parallelism(n_jobs=config.workers_n_jobs, batch_size=config.batch_size, backend=config.backend)
    return Plan(adapter=adapter, X=Xa, background=bg, names=tuple(names), output=output, methods=chosen,
                config=config, entropy=entropy, image_shape=image_shape, groups=groups, parallel=parallel,
                optional=optional)
