"""``ExplainConfig``: what ``explain()`` was asked to do, validated once and carried as one value.

Every option of ``explain()`` that is not data lives here: built and checked
once (:meth:`ExplainConfig.build`, from the declarative table
``EXPLAIN_PARAMS``), then carried by the plan to every backend (this process,
loky workers, Dask), to ``to_parquet`` and its Dask writer, and to
``compare()``. A variant (another method, seed or model name for a
re-explanation) is ``dataclasses.replace(config, ...)``, so no option can be
dropped on the way by a hand-copied keyword list.

Data is not configuration: ``X`` and ``background`` are arrays the plan
validates against the model, and travel next to the config.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._utils.validation import Instance, Integer, Options, Satisfies, check_keywords, suggest, validate_params
from ..errors import UnknownMethodError
from ..methods.base import get_method, method_names

__all__ = ["ExplainConfig", "EXPLAIN_PARAMS", "OUTPUTS", "BACKENDS", "check_method_params"]

OUTPUTS = ("auto", "margin", "probability", "raw")
BACKENDS = ("loky", "dask")


def _is_shape(value) -> bool:
    shape = tuple(value)
    return 1 <= len(shape) <= 3 and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0
                                        for s in shape)


def _is_names(value) -> bool:
    return not isinstance(value, (str, bytes)) and all(isinstance(n, str) for n in value)


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


#: The one table of constraints on explain()'s options (to_parquet and compare() build through it too).
EXPLAIN_PARAMS: dict = {
    "methods": [Instance(str, name="'auto' or a method name"),
                Instance(list, tuple, name="a list of method names")],
    "output": [Options(*OUTPUTS)],
    "feature_names": [None, Satisfies(_is_names, "a sequence of str")],
    "random_state": [None, Integer(0)],
    "method_params": [None, Instance(dict, name="a dict {method: {option: value}}")],
    "name": [None, Instance(str)],
    "image_shape": [None, Satisfies(_is_shape, "a tuple of 1 to 3 positive ints, e.g. (1, 8, 8)")],
    "feature_groups": [None, Satisfies(lambda v: bool(re.fullmatch(r"patches:[1-9]\d*", v)), "'patches:k'"),
                       Satisfies(lambda v: not isinstance(v, str) and np.ndim(v) >= 1,
                                 "an int array of group labels")],
    "n_jobs": [None, Integer(1), Options(-1)],
    "batch_size": [Options("auto"), Integer(1)],
    "progress": [Options("auto", True, False)],
    "backend": [Options(*BACKENDS)],
}


@dataclass(frozen=True, eq=False)
class ExplainConfig:
    """explain()'s options, validated (see :func:`explain.explain` for each one's meaning).

    Build it with :meth:`build`; derive a variant with ``dataclasses.replace``
    (which validates the result again).
    """

    methods: Any = "auto"
    target: Any = None
    output: str = "auto"
    feature_names: tuple | None = None
    random_state: int | None = 0
    method_params: dict = dataclasses.field(default_factory=dict)
    name: str | None = None
    image_shape: tuple | None = None
    feature_groups: Any = None
    n_jobs: int | None = None
    batch_size: Any = "auto"
    progress: Any = "auto"
    backend: str = "loky"

    def __post_init__(self):
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        validate_params("explain", EXPLAIN_PARAMS, values)
        methods = self.methods if isinstance(self.methods, str) else tuple(self.methods)
        set_ = object.__setattr__
        set_(self, "methods", methods)
        set_(self, "method_params", check_method_params(self.method_params))
        if self.feature_names is not None:
            set_(self, "feature_names", tuple(self.feature_names))
        if self.image_shape is not None:
            set_(self, "image_shape", tuple(int(s) for s in self.image_shape))
        for name in ("target", "feature_groups"):  # arrays are copied and locked: the caller's stay theirs
            value = getattr(self, name)
            if isinstance(value, np.ndarray) or (isinstance(value, (list, tuple)) and name == "feature_groups"):
                value = np.array(value, copy=True)
                value.flags.writeable = False
                set_(self, name, value)

    @classmethod
    def build(cls, caller: str = "explain", **options) -> "ExplainConfig":
        """A validated config from keyword options (any subset of the fields); unknown ones are refused."""
        check_keywords(caller, options, [f.name for f in dataclasses.fields(cls)])
        return cls(**options)

    def replace(self, **changes) -> "ExplainConfig":
        """``dataclasses.replace(self, **changes)``: a validated variant."""
        return dataclasses.replace(self, **changes)

    @property
    def workers_n_jobs(self) -> int | None:
        """``n_jobs`` with -1 resolved to this machine's cores."""
        return (os.cpu_count() or 1) if self.n_jobs == -1 else self.n_jobs

    def as_dict(self) -> dict:
        """The options as keyword arguments (for a report or a log)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
