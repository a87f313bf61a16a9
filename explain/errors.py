"""Every exception explain raises.

Each error subclasses the builtin a user would catch for that kind of mistake
(``ValueError`` for bad values, ``TypeError`` for bad types), so code written
against scikit-learn's conventions keeps working::

    ExplainError
    ├── ParameterError            (ValueError)  a public parameter has a bad value or type
    │   └── OutputPathError       (FileExistsError) the output path holds files that are not ours
    ├── NotFittedError            (ValueError, AttributeError; sklearn's NotFittedError)  not fitted
    ├── UnsupportedModelError     (TypeError)   no adapter knows this model
    ├── DataError                 (ValueError)  X: shape, columns, NaN/inf, dtype, empty
    │   ├── BackgroundError                     the background set is unusable
    │   └── BundleError                         a report bundle (.json/.html) is malformed or tampered with
    ├── TargetError               (ValueError)  class index/label out of range
    ├── OutputError               (ValueError)  the requested output space is not offered
    ├── UnknownMethodError        (ValueError)  no method of that name (or a bad method option)
    ├── UnknownMetricError        (ValueError)  no metric or metric family of that name
    ├── MethodNotApplicableError  (ValueError)  the method does not apply to this model
    └── AdditivityError           (ValueError)  an exact method broke local accuracy

    ApproximationWarning          (UserWarning) a method sold as exact returned approximate values

Messages say what was expected, what came, and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "ExplainError",
    "ParameterError",
    "OutputPathError",
    "NotFittedError",
    "UnsupportedModelError",
    "DataError",
    "BackgroundError",
    "BundleError",
    "TargetError",
    "OutputError",
    "UnknownMethodError",
    "UnknownMetricError",
    "MethodNotApplicableError",
    "AdditivityError",
    "ApproximationWarning",
]


class ExplainError(Exception):
    """Base class of every error explain raises on purpose."""


class ParameterError(ExplainError, ValueError):
    """A public parameter has a value (or type) outside its declared constraints.

    Raised by the one declarative check of public parameters
    (``explain._utils.validation.validate_params``); the message says which
    parameter, what was expected, what came and, for a misspelt option, the
    closest valid one. ``except ValueError`` catches it too.
    """


class OutputPathError(ParameterError, FileExistsError):
    """The path to write to already holds files that explain did not write; choose another path."""


from sklearn.exceptions import NotFittedError as _SklearnNotFittedError  # noqa: E402  (sklearn is a core dependency)


class NotFittedError(ExplainError, _SklearnNotFittedError):
    """The model has not been fitted yet; ``except sklearn.exceptions.NotFittedError`` catches it too."""


class UnsupportedModelError(ExplainError, TypeError):
    """No adapter recognises the model's type."""


class DataError(ExplainError, ValueError):
    """The data to explain is unusable: wrong shape, columns, dtype, NaN or inf."""


class BackgroundError(DataError):
    """The background (reference) data is unusable."""


class BundleError(DataError):
    """A report bundle does not follow its schema (a field missing or of the wrong type); the message is one
    line naming the field."""


class TargetError(ExplainError, ValueError):
    """The requested target class does not exist for this model."""


class OutputError(ExplainError, ValueError):
    """The requested output space is not offered by this model."""


class UnknownMethodError(ExplainError, ValueError):
    """No attribution method has that name."""


class UnknownMetricError(ExplainError, ValueError):
    """No metric (or metric family) has that name."""


class MethodNotApplicableError(ExplainError, ValueError):
    """The method exists but cannot explain this model."""


class AdditivityError(ExplainError, ValueError):
    """An exact method's values do not sum to the model output minus the base value."""


class ApproximationWarning(UserWarning):
    """A method sold as exact returned approximate values; the result says so in ``params["approximate"]``."""
