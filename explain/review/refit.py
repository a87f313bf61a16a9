"""Retraining noise: refit the old model K times on its training rows and explain every refit the same way.

A retrain of the same model on the same data with another seed is the null a
reviewer cares about ("did the explanation change beyond what retraining alone
does?"). :func:`refit_explanations` clones the old estimator
(``sklearn.base.clone``) K times and fits each clone

- with another ``random_state`` (every parameter named ``random_state``,
  ``<step>__random_state`` in a Pipeline, set to ``seed + 1 + j``), when the
  estimator takes one and its predictions depend on it;
- on a bootstrap resample of the training rows otherwise (a deterministic
  estimator such as an lbfgs logistic regression gives the same model for every
  seed, so the seed alone would give a band of zero).

Each refit is explained with the old explanation's own configuration (method,
output, target, background, method parameters) on the same rows.
"""

from __future__ import annotations

import numpy as np

__all__ = ["refit_explanations", "common_output", "explain_versions"]


def _seed_params(model) -> list[str]:
    try:
        params = model.get_params(deep=True)
    except Exception:  # noqa: BLE001 - not a scikit-learn estimator
        return []
    return [name for name in params if name == "random_state" or name.endswith("__random_state")]


def _fit(model, X, y, *, seed: int, bootstrap: bool, rng):
    from sklearn.base import clone

    refit = clone(model)
    names = _seed_params(refit)
    if names:
        refit.set_params(**{name: seed for name in names})
    if bootstrap:
        idx = rng.integers(0, len(X), len(X))
        X = X.iloc[idx] if hasattr(X, "iloc") else np.asarray(X)[idx]
        y = np.asarray(y)[idx]
    try:
        return refit.fit(X, y)
    except (ValueError, TypeError) as exc:
        from ..errors import DataError

        raise DataError(f"refitting {type(model).__name__} on the training rows failed: {exc}. The training "
                        f"rows must have the old model's columns and labels.") from exc


def _refit_models(model, X_train, y_train, k: int, random_state: int, probe):
    """K fitted refits of ``model`` and how they were made ("seed" or "bootstrap")."""
    from ..errors import DataError, UnsupportedModelError

    if X_train is None or y_train is None:
        raise DataError("refits need the training rows and labels: pass train=(X_train, y_train) "
                        "(CLI: --train PATH --target COLUMN).")
    if len(X_train) != len(y_train):
        raise DataError(f"the training rows ({len(X_train)}) and labels ({len(y_train)}) differ in length.")
    try:
        from sklearn.base import clone

        clone(model)
    except Exception as exc:
        raise UnsupportedModelError(f"cannot refit {type(model).__name__}: refits clone the old model with "
                                    f"sklearn.base.clone ({exc}). Pass refit explanations instead.") from exc
    rng = np.random.default_rng(random_state)
    seeds = [random_state + 1 + j for j in range(k)]
    how = "seed" if _seed_params(model) else "bootstrap"
    models = []
    for j, seed in enumerate(seeds):
        models.append(_fit(model, X_train, y_train, seed=seed, bootstrap=how == "bootstrap", rng=rng))
        if how == "seed" and j == 1 and np.array_equal(probe(models[0]), probe(models[1])):
            how = "bootstrap"  # the seed changes nothing: a deterministic estimator
            models = [_fit(model, X_train, y_train, seed=s, bootstrap=True, rng=rng) for s in seeds[:2]]
    return models, how


def refit_explanations(model, explanation_set, *, train, refits: int = 5, method: str | None = None,
                       random_state: int = 0):
    """Explain K refits of ``model`` exactly as ``explanation_set`` explained it.

    Parameters
    ----------
    model : fitted scikit-learn estimator
        The old model (cloned, never changed).
    explanation_set : ExplanationSet
        What :func:`explain.explain` returned for the old model; its rows, background and configuration
        are reused.
    train : tuple (X_train, y_train)
        The training rows and labels the old model was fitted on.
    refits : int, default=5
    method : str, optional
        The method to re-run (default: the set's first).
    random_state : int, default=0

    Returns
    -------
    (list of Explanation, str)
        One explanation per refit and how the refits were made: "seed" or "bootstrap".
    """
    from ..comparison import _rerun
    from ..errors import DataError

    validated = getattr(explanation_set, "validated", None)
    if validated is None or validated.config is None:
        raise DataError("refits=K needs the old version as the ExplanationSet explain() returned (its rows, "
                        "background and options are re-used); bundles do not keep them.")
    e = explanation_set[method] if method else next(iter(explanation_set))
    if not isinstance(refits, (int, np.integer)) or isinstance(refits, bool) or refits < 2:
        raise DataError(f"refits must be an integer >= 2 (the spread of one refit is no band), got {refits!r}.")
    X_train, y_train = train
    run = _rerun(model, e, validated)
    probe_rows = X_train.iloc[:50] if hasattr(X_train, "iloc") else np.asarray(X_train)[:50]

    def probe(m):
        return np.asarray(m.predict_proba(probe_rows) if hasattr(m, "predict_proba") else m.predict(probe_rows))

    models, how = _refit_models(model, X_train, y_train, int(refits), int(random_state), probe)
    return [run(e.codes, other_model=m) for m in models], how


def common_output(old_model, new_model, output: str = "auto") -> tuple[str, str]:
    """The one output both versions are explained in, and why (for the report's first line)."""
    from ..adapters import get_adapter

    if output != "auto":
        return output, f"Both versions explained in {output} (--output {output})"
    tasks = {get_adapter(m).task for m in (old_model, new_model)}
    if tasks == {"classification"}:
        return "probability", "Both versions explained in probability (two classifiers; --output to change)"
    if tasks == {"regression"}:
        return "raw", "Both versions explained in raw predictions (two regressors; --output to change)"
    from ..errors import DataError

    raise DataError(f"the versions solve different tasks ({' vs '.join(sorted(tasks))}): nothing to compare.")


def explain_versions(old_model, new_model, rows, *, method: str = "shap", background=None, output: str = "auto",
                     random_state: int = 0, progress=False) -> dict:
    """Explain two model versions on the same rows and background in one output.

    Returns
    -------
    dict with "old", "new" (ExplanationSet), "seed_runs" (a stochastic method re-run on the old model with
    two other seeds, else empty) and "scale" (the sentence saying which output was chosen and why). Pass
    "old" with ``refits=K`` to :func:`explain.review.diff` for the retrain band.
    """
    from ..engine.api import explain

    out, scale = common_output(old_model, new_model, output)
    kw = dict(methods=[method], background=background, output=out, progress=progress)
    old = explain(old_model, rows, name="old", random_state=random_state, **kw)
    new = explain(new_model, rows, name="new", random_state=random_state, **kw)
    seed_runs = ()
    if old[method].params.get("stochastic"):  # a stochastic method's own wobble joins the band
        seed_runs = tuple(explain(old_model, rows, name="old", random_state=random_state + s, **kw)[method]
                          for s in (1, 2))
    return {"old": old, "new": new, "seed_runs": seed_runs, "scale": scale}
