"""Command line: ``python -m explain report ...``, ``demo --out PATH`` and ``study --out reports/study``.

``report`` loads fitted models safely (``.skops`` through skops' trusted-types
check; pickle/joblib only with ``--trust-pickle``, since unpickling runs code;
TorchScript for torch models), explains and scores them on a CSV, and writes
HTML, Markdown or JSON by the output's suffix. ``demo`` does the same on the
embedded model zoo, tabular and images. ``study`` runs the study of ``explain.study``
and writes ``<out>.html``, ``.md`` and ``.json``. Errors are one line on stderr and exit
status 2; no half-written file is ever left.
"""

from __future__ import annotations

import argparse
import os
import sys

# Types that skops does not trust by default but that the models explain supports need, by exact name
# (never a prefix: "builtins." would let a file call builtins.exec). Measured with
# skops.io.get_untrusted_types on every supported estimator saved with skops.
SKOPS_ALLOWED_TYPES = frozenset({
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier", "xgboost.sklearn.XGBRegressor",
    "xgboost.sklearn.XGBRFClassifier", "xgboost.sklearn.XGBRFRegressor",
    "lightgbm.basic.Booster", "lightgbm.sklearn.LGBMClassifier", "lightgbm.sklearn.LGBMRegressor",
    "collections.OrderedDict",
    "numpy.dtype",
})



def _progress(args):
    """Our one progress bar: "auto" (terminals only, after two seconds), none with --quiet."""
    return False if getattr(args, "quiet", False) else "auto"

def _loss_types() -> frozenset:
    """scikit-learn's loss classes (GLMs and boosting store one), by exact name, read from sklearn itself."""
    import inspect

    from sklearn._loss import loss

    return frozenset(f"sklearn._loss.loss.{name}" for name, cls in inspect.getmembers(loss, inspect.isclass)
                     if issubclass(cls, loss.BaseLoss) and cls.__module__ == loss.__name__)


def skops_allowed_types() -> frozenset:
    """Every type name a .skops model file may contain beyond skops' own defaults."""
    return SKOPS_ALLOWED_TYPES | _loss_types()


class CLIError(Exception):
    """A user mistake on the command line: printed as one line, exit status 2."""


def load_model(path: str, *, trust_pickle: bool = False):
    """Load a fitted model by file type, refusing unsafe formats unless trusted."""
    if not os.path.exists(path):
        raise CLIError(f"model file not found: {path}")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".skops":
        import skops.io as sio

        try:
            untrusted = sio.get_untrusted_types(file=path)
        except Exception as exc:  # not a zip, no schema, ...
            raise CLIError(f"{path} is not a readable .skops file: {exc}") from exc
        unsafe = sorted(t for t in untrusted if t not in skops_allowed_types())
        if unsafe and not trust_pickle:
            raise CLIError(f"{path} holds types that explain does not load from a file: {unsafe}. A model "
                           "file needs only estimator classes and array types; these may run code. Inspect "
                           "them with skops.io.get_untrusted_types, and if you trust the file load it in "
                           "Python (skops.io.load(path, trusted=[...])) and call explain() on the model, or "
                           "pass --trust-pickle to accept them.")
        return sio.load(path, trusted=untrusted)
    if suffix in (".pkl", ".pickle", ".joblib"):
        if not trust_pickle:
            raise CLIError(f"{path} is a pickle: loading it runs arbitrary code. Save the model with skops "
                           "(.skops), or pass --trust-pickle if you trust this file.")
        import joblib

        return joblib.load(path)
    if suffix in (".pt", ".pth", ".torchscript"):
        # A TorchScript archive carries code that torch.jit.load compiles and runs; there is no
        # weights-only path for a whole model, so it is treated like a pickle.
        if not trust_pickle:
            raise CLIError(f"{path} is a TorchScript file: loading it runs the code it carries. Pass "
                           "--trust-pickle if you trust this file, or load the model in Python.")
        import torch

        return torch.jit.load(path, map_location="cpu").eval()
    raise CLIError(f"unknown model file type {suffix!r} for {path}: use .skops, .pkl/.joblib "
                   "(with --trust-pickle) or a TorchScript .pt file.")


def _parse_models(specs, trust_pickle):
    models = {}
    for spec in specs:
        if "=" not in spec:
            raise CLIError(f"--model takes NAME=PATH, got {spec!r}")
        name, path = spec.split("=", 1)
        models[name] = load_model(path, trust_pickle=trust_pickle)
    return models


def _read_data(path, target, categorical=None):
    """CSV (string columns as text; ``--categorical`` columns as category dtype) or Parquet (dtypes kept)."""
    import pandas as pd

    if not os.path.exists(path):
        raise CLIError(f"data file not found: {path}")
    suffix = os.path.splitext(path)[1].lower()
    try:
        df = pd.read_parquet(path) if suffix in (".parquet", ".pq") else pd.read_csv(path)
    except Exception as exc:
        raise CLIError(f"could not read {path}: {type(exc).__name__}: {exc}") from exc
    for col in categorical or []:
        if col not in df.columns:
            raise CLIError(f"--categorical column {col!r} is not in {path}; columns are {list(df.columns)[:20]}")
        df[col] = df[col].astype("category")
    y = None
    if target is not None:
        if target not in df.columns:
            raise CLIError(f"--target column {target!r} is not in {path}; columns are {list(df.columns)[:20]}")
        y = df.pop(target).to_numpy()
    return df, y


def _split(values):
    if values is None:
        return None
    out = [v for item in values for v in item.split(",") if v]
    return out


def _write(report, out):
    if os.path.splitext(out)[1]:
        return [report.save(out)]
    return [report.save(os.path.join(out, f"report{ext}")) for ext in (".html", ".md", ".json")]


def _report(args) -> list[str]:
    from . import compare, explain
    from .report.build import build_report, provenance

    models = _parse_models(args.model, args.trust_pickle)
    X, y = _read_data(args.data, args.target, _split(args.categorical))
    rows = X.iloc[: args.rows]
    methods = _split(args.methods) or "auto"
    metrics = _split(args.metrics) or "all"
    params = {"methods": methods, "metrics": metrics, "rows": len(rows), "background": min(len(X), 100),
              "output": args.output}
    prov = provenance(X=rows if len(rows) else None, models=models, seed=args.seed,
                      parameters=params, command=_command(), timestamp=not args.no_timestamp)
    background = X.sample(min(len(X), 100), random_state=args.seed) if len(X) > 100 else X
    if metrics == ["none"]:
        source = {name: explain(m, rows, methods=methods, background=background, random_state=args.seed, name=name,
                                progress=_progress(args)) for name, m in models.items()}
    else:
        source = compare(models, rows, methods=methods, metrics=metrics, background=background,
                         y=None if y is None else y[: len(rows)], random_state=args.seed, progress=_progress(args),
                         output=args.output)
    report = build_report(source, title=args.title, provenance_fields=prov)
    return _write(report, args.out)


def _command() -> str:
    return " ".join(["python -m explain"] + [a for a in sys.argv[1:]])


def _demo(args) -> list[str]:
    import numpy as np

    from . import compare, datasets, explain
    from .report.build import build_report, provenance

    tab = datasets.model_zoo("tabular", random_state=args.seed)
    X = tab.X_test.iloc[: args.rows]
    rng = np.random.default_rng(args.seed)
    background = tab.X_train.iloc[np.sort(rng.choice(len(tab.X_train), 100, replace=False))]
    models, calibrated = _with_probability(dict(tab), tab.X_train, tab.y_train)
    accuracy = {name: float(np.mean(models[name].predict(tab.X_test) == tab.y_test)) for name in calibrated}
    y = tab.y_test[: args.rows]
    if calibrated and np.unique(y, return_counts=True)[1].min() < 3:  # a calibrated model (cv=3) refits
        y = None  # for the data-randomisation check only with three rows of each class: skipped on fewer
    cmp = compare(models, X, background=background, y=y, random_state=args.seed,
                  n_seeds=2, robustness_rows=3, method_params={"lime": {"num_samples": 1000}},
                  progress=_progress(args))
    img = datasets.model_zoo("images", random_state=args.seed)
    images = img.X_test.to_numpy(float)[:4].reshape(-1, 1, 8, 8)
    img_bg = img.X_train.to_numpy(float)[:30].reshape(-1, 1, 8, 8)
    image_results = {}
    for name, model in img.items():
        methods = ["shap", "integrated_gradients", "occlusion"] if name == "cnn" else ["shap", "occlusion"]
        image_results[name] = explain(model, images, methods=methods, background=img_bg, random_state=args.seed,
                                      name=name, progress=_progress(args))
    prov = provenance(X=X.to_numpy(float), models={**models, **{f"images/{k}": v for k, v in img.items()}},
                      seed=args.seed, parameters={"rows": len(X), "background": len(background),
                                                  "output": cmp.params["scale"]["reason"], "calibrated": calibrated,
                                                  "accuracy": {**tab.scores, **accuracy, **{
                                                      f"images/{k}": v for k, v in img.scores.items()}}},
                      command=_command(), timestamp=not args.no_timestamp)
    report = build_report(cmp, title="explain demo: breast cancer and digits", provenance_fields=prov,
                          images=image_results)
    if not args.quiet:
        print(_scorecard_text(cmp))
    return _write(report, args.out)


def _with_probability(models: dict, X_train, y_train) -> tuple[dict, dict]:
    """The demo compares every model in one output, the probability: a classifier without ``predict_proba``
    (the zoo's SVM) gets one by Platt scaling on cross-validated decision values
    (``CalibratedClassifierCV(ensemble=False)``: the same SVM refitted on all rows, as the study does);
    the user's models are never changed. Returns the models and, per wrapped model, what was done."""
    from sklearn.base import clone
    from sklearn.calibration import CalibratedClassifierCV

    from .adapters import get_adapter

    out, calibrated = dict(models), {}
    for name, model in models.items():
        adapter = get_adapter(model)
        if adapter.task == "classification" and "probability" not in adapter.outputs:
            out[name] = CalibratedClassifierCV(clone(model), ensemble=False, cv=3).fit(X_train, y_train)
            calibrated[name] = "CalibratedClassifierCV(method='sigmoid', cv=3, ensemble=False) for its probability"
    return out, calibrated


def _scorecard_text(cmp) -> str:
    """The scorecard for the terminal: metrics as rows, with each row's unit (or each cell's, where they differ)."""
    from .report.tables import scorecard_table

    table, _ = scorecard_table(cmp, digits=3)
    return f"Output: {cmp.params['scale']['reason']}.\n" + table.to_string(index=False)


def _study(args) -> list[str]:
    from .study import FULL, QUICK, run_study

    study = run_study(QUICK if args.quick else FULL, progress=_progress(args))
    report = study.report(timestamp=not args.no_timestamp)
    stem = args.out[:-len(os.path.splitext(args.out)[1])] if os.path.splitext(args.out)[1] else args.out
    if os.path.isdir(stem):  # a folder: study.html|md|json inside it
        stem = os.path.join(stem, "study")
    written = [report.save(stem + ext) for ext in (".html", ".md", ".json")]
    if not args.quiet:
        for sentence in study.verdict["sentences"]:
            print(sentence)
    return written


def _versions(args, method: str) -> dict:
    """The two versions to compare, from bundles (OLD NEW / NEW --baseline) or model files on --data.

    Model files are explained on the same rows and background in one output (``common_output``); with
    ``--train`` the old model is refitted ``--refits`` times for the retrain band.
    """
    old_path, new_path = (args.old, args.new) if args.command == "diff" else (args.baseline, args.new)
    if args.old_model or args.new_model:
        if not (args.old_model and args.new_model and args.data):
            raise CLIError(f"{args.command} with models needs --old-model, --new-model and --data")
        if old_path or new_path:
            raise CLIError(f"{args.command}: give either report bundles or --old-model/--new-model, not both")
        from .review.refit import explain_versions

        X, _ = _read_data(args.data, args.target, _split(args.categorical))
        train = None
        if args.train:
            if not args.target:
                raise CLIError("--train needs --target: the label column of the training rows")
            train = _read_data(args.train, args.target, _split(args.categorical))
        elif args.refits is not None:
            raise CLIError("--refits needs --train: the training rows the old model is refitted on")
        rows = X.iloc[: args.rows]
        background = X.sample(min(len(X), 100), random_state=args.seed) if len(X) > 100 else X
        old_model = load_model(args.old_model, trust_pickle=args.trust_pickle)
        v = explain_versions(old_model, load_model(args.new_model, trust_pickle=args.trust_pickle), rows,
                             method=method, background=background, output=args.output or "auto",
                             random_state=args.seed, progress=_progress(args))
        refits = None if train is None else (5 if args.refits is None else args.refits)
        return {"old": v["old"], "new": v["new"], "seed_runs": v["seed_runs"], "notes": (v["scale"] + ".",),
                "refits": refits, "old_model": None if train is None else old_model, "train": train}
    for flag in ("train", "refits", "output"):
        if getattr(args, flag) is not None:
            raise CLIError(f"--{flag} applies to model files (--old-model/--new-model/--data); bundles keep "
                           f"neither the models nor their training data")
    if not (old_path and new_path):
        usage = "OLD NEW" if args.command == "diff" else "NEW --baseline OLD"
        raise CLIError(f"{args.command} needs {usage} (report bundles .json/.html) or "
                       f"--old-model/--new-model/--data")
    return {"old": old_path, "new": new_path, "refits": None, "seed_runs": (), "refit_how": None, "notes": ()}


def _diff(args) -> list[str]:
    from .review import diff

    v = _versions(args, args.method)
    result = diff(v.pop("old"), v.pop("new"), method=args.method, k=args.k, model=args.model,
                  random_state=args.seed, allow_different_outputs=args.allow_different_outputs, **v)
    if not args.quiet:
        print("\n".join(result.summary))
    return _write(result.report(), args.out)


def _check(args) -> tuple[list[str], int]:
    from .review.gate import check, load_policy, markdown

    policy = load_policy(args.policy)  # validated before any work
    v = _versions(args, policy["method"])
    passed, results, d = check(v.pop("new"), v.pop("old"), policy, random_state=args.seed,
                               allow_different_outputs=args.allow_different_outputs, **v)
    text = markdown(passed, results, d)
    print(text)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    written = []
    if args.out:
        from ._utils.atomic import atomic_write_text

        atomic_write_text(args.out, text + "\n")
        written.append(args.out)
    return written, 0 if passed else 1


def _version_options() -> argparse.ArgumentParser:
    """The options diff and check share: model files, data, training rows for the retrain band, the output."""
    from .engine.config import OUTPUTS

    v = argparse.ArgumentParser(add_help=False)
    v.add_argument("--old-model", help="or: the old model file (explained on --data)")
    v.add_argument("--new-model", help="the new model file (explained on the same rows and background)")
    v.add_argument("--data", help="CSV or Parquet with both models' columns")
    v.add_argument("--target", help="label column to drop from --data (and the labels in --train)")
    v.add_argument("--categorical", action="append", help="CSV columns to read as category dtype")
    v.add_argument("--rows", type=int, default=50)
    v.add_argument("--train", help="CSV or Parquet with the old model's training rows and --target: the old "
                                   "model is refitted on them for a retrain noise band")
    v.add_argument("--refits", type=int, help="refits of the old model for the band (default 5 with --train)")
    v.add_argument("--output", choices=[o for o in OUTPUTS if o != "auto"],
                   help="the one output both model files are explained in (default: probability for two "
                        "classifiers, raw for two regressors)")
    v.add_argument("--allow-different-outputs", action="store_true",
                   help="diff bundles explained in different outputs anyway (refused otherwise)")
    v.add_argument("--trust-pickle", action="store_true", help="allow model files whose loading runs code")
    return v


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explain", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", default="reports", help="report.html|.md|.json, or a folder for all three")
    common.add_argument("--seed", type=int, default=0)
    common.add_argument("--quiet", action="store_true", help="no progress bar or table")
    common.add_argument("--no-timestamp", action="store_true", help="drop the timestamp line (byte-identical)")
    demo = sub.add_parser("demo", parents=[common], help="the embedded zoo, tabular and images, full comparison")
    demo.add_argument("--rows", type=int, default=20, help="held-out rows to explain")
    rep = sub.add_parser("report", parents=[common], help="explain and score your models on a CSV")
    rep.add_argument("--model", action="append", required=True, metavar="NAME=PATH")
    rep.add_argument("--data", required=True, help="CSV or Parquet with the model's columns (Parquet keeps dtypes, "
                                                   "including category columns)")
    rep.add_argument("--categorical", action="append",
                     help="comma-separated CSV columns to read as pandas category dtype")
    rep.add_argument("--target", help="label column (dropped from X; used for the data-randomisation check)")
    rep.add_argument("--methods", action="append", help="comma-separated method names (default auto)")
    rep.add_argument("--metrics", action="append", help="comma-separated metrics or families, or 'none'")
    rep.add_argument("--rows", type=int, default=50)
    rep.add_argument("--title", default="Explanation report")
    rep.add_argument("--output", default="auto", choices=["auto", "natural", "probability", "margin", "raw"],
                     help="output every model is scored in (auto: one common output for several models)")
    study = sub.add_parser("study", parents=[common], help="are deep models harder to explain? every family, "
                                                             "several data sets and seeds, one common scale")
    study.add_argument("--quick", action="store_true", help="the small configuration the tests run")
    versions = _version_options()
    dif = sub.add_parser("diff", parents=[common, versions],
                         help="what changed between two model versions' explanations")
    dif.add_argument("old", nargs="?", help="the old report bundle (.json or .html)")
    dif.add_argument("new", nargs="?", help="the new report bundle (.json or .html)")
    dif.add_argument("--method", default="shap")
    dif.add_argument("--k", type=int, default=10)
    dif.add_argument("--model", help="the model to compare in bundles with several")
    chk = sub.add_parser("check", parents=[versions],
                         help="gate: exit 0 if NEW passes the policy against --baseline (bundles, or "
                              "--old-model/--new-model on --data), 1 if not, 2 on a usage or policy error")
    chk.add_argument("new", nargs="?", help="the new report bundle (.json or .html)")
    chk.add_argument("--baseline", help="the baseline report bundle")
    chk.add_argument("--policy", help="TOML policy (defaults: explain.review.gate.DEFAULT_POLICY)")
    chk.add_argument("--out", help="also write the Markdown summary here")
    chk.add_argument("--seed", type=int, default=0)
    chk.add_argument("--quiet", action="store_true", help="no progress bar")
    rep.add_argument("--trust-pickle", action="store_true",
                     help="allow files whose loading runs code: .pkl/.joblib, TorchScript .pt, and .skops files "
                          "with types beyond explain's allow-list")
    args = parser.parse_args(argv)
    from .errors import ExplainError

    status = 0
    try:
        if args.command == "check":
            written, status = _check(args)
        else:
            written = {"demo": _demo, "report": _report, "study": _study, "diff": _diff}[args.command](args)
    except (CLIError, ExplainError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}", file=sys.stderr if args.command == "check" else sys.stdout)
    return status
