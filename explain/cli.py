"""Command line: ``python -m explain report ...``, ``demo --out PATH`` and ``study --out reports/study``.

``report`` loads fitted models safely (``.skops`` through skops' trusted-types
check; pickle/joblib only with ``--trust-pickle``, since unpickling runs code;
TorchScript for torch models), explains and scores them on a CSV, and writes
HTML, Markdown or JSON by the output's suffix. ``demo`` does the same on the
embedded model zoo, tabular and images. ``study`` runs the study of ``explain.study``
and writes ``<out>.html``, ``.md`` and ``.json``. Errors are one line on stderr and exit
status 2; no half-written file is ever left. ``--out`` is checked before any work (format by suffix,
a writable place). The parser lives in ``explain/_cli_parser.py``.
"""

from __future__ import annotations

import os
import shutil
import sys

from ._cli_data import CLIError, check_features, choose_background, file_sha256, parse_rows, read_data, \
    select_rows, split_values
from .io.models import load_model

__all__ = ["main", "check_out", "CLIError", "file_sha256"]

def _progress(args):
    """Our one progress bar: "auto" (terminals only, after two seconds), none with --quiet."""
    return False if getattr(args, "quiet", False) else "auto"

def _parse_models(specs, trust_pickle):
    models = {}
    for spec in specs:
        if "=" not in spec:
            raise CLIError(f"--model takes NAME=PATH, got {spec!r}")
        name, path = spec.split("=", 1)
        models[name] = load_model(path, trust_pickle=trust_pickle)
    return models


REPORT_SUFFIXES = (".html", ".htm", ".md", ".markdown", ".json")


def check_out(out: str, *, suffixes=REPORT_SUFFIXES, folder: bool = True) -> None:
    """Refuse an ``--out`` that cannot be written, before any work: an unknown suffix, an existing folder
    given as a file, a file given as a folder, or a place without write permission."""
    suffix = os.path.splitext(out)[1].lower()
    if suffix and suffix not in suffixes:
        raise CLIError(f"--out {out}: unknown format {suffix!r}; use {', '.join(suffixes)}"
                       + (" or a folder" if folder else ""))
    if not suffix and not folder:
        raise CLIError(f"--out {out}: give a file name ending in {', '.join(suffixes)}")
    target = os.path.abspath(out)
    if suffix and os.path.isdir(target):
        raise CLIError(f"--out {out} is a folder: give a file name ending in {suffix} or drop the suffix")
    if not suffix and os.path.exists(target) and not os.path.isdir(target):
        raise CLIError(f"--out {out} is an existing file, not a folder: give a file name with a suffix "
                       f"({', '.join(suffixes)}) or a folder")
    parent = target if not suffix and os.path.isdir(target) else os.path.dirname(target)
    while not os.path.exists(parent):  # the folders to create: the nearest existing one must be writable
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise CLIError(f"--out {out}: {parent} is a file, so no folder can be made under it")
    import tempfile

    try:  # os.access says yes to root everywhere: try the real thing, a file created and removed at once
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise CLIError(f"--out {out}: cannot write in {parent} ({exc.strerror}); choose another "
                       "place") from exc


def _write(report, out):
    if os.path.splitext(out)[1]:
        return [report.save(out)]
    return [report.save(os.path.join(out, f"report{ext}")) for ext in (".html", ".md", ".json")]


def _report(args) -> list[str]:
    from . import compare, explain
    from .report.build import build_report, provenance

    models = _parse_models(args.model, args.trust_pickle)
    X, y = read_data(args.data, args.target, split_values(args.categorical))
    sel, background, fields = _rows_and_background(args, X)
    check_features(models, sel.features, args.data, args.target)
    rows = sel.rows
    methods = split_values(args.methods) or "auto"
    metrics = split_values(args.metrics) or "all"
    params = {"methods": methods, "metrics": metrics, "rows": len(rows), "background": len(background),
              "output": args.output}
    prov = provenance(X=rows, models=models, seed=args.seed,
                      parameters=params, command=_command(), timestamp=not args.no_timestamp)
    prov["rows_sha256"] = prov.pop("data_sha256", None)  # the explained rows, as values
    prov["data_sha256"] = file_sha256(args.data)  # the file, as sha256sum prints it
    prov["data_file"] = os.path.basename(args.data)
    prov.update(fields)
    if metrics == ["none"]:
        source = {name: explain(m, rows, methods=methods, background=background, random_state=args.seed, name=name,
                                progress=_progress(args)) for name, m in models.items()}
    else:
        source = compare(models, rows, methods=methods, metrics=metrics, background=background,
                         y=None if y is None else y[sel.positions], random_state=args.seed, progress=_progress(args),
                         output=args.output)
    report = build_report(source, title=args.title, provenance_fields=prov, row_ids=sel.row_ids,
                          y=None if y is None else y[sel.positions])
    return _write(report, args.out)


def _rows_and_background(args, X):
    """The rows chosen by --rows or --id-column/--ids, the background (--background, --background-size,
    --seed) and the provenance fields that say what both are."""
    sel = select_rows(X, rows=args.rows, id_column=args.id_column, ids=split_values(args.ids), path=args.data)
    background, fields = choose_background(sel.features, path=args.background, data_path=args.data,
                                           size=args.background_size, seed=args.seed, target=args.target,
                                           categorical=split_values(args.categorical), id_column=args.id_column)
    return sel, background, {"rows_explained": sel.sentence, **fields}


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
                          images=image_results, y=tab.y_test[: args.rows])
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


def _read_study(path):
    """A study's JSON file as a Study; a missing, unreadable or foreign file is one line (exit 2)."""
    import json

    from .errors import DataError, ExplainError
    from .study import load_study

    if not os.path.isfile(path):
        raise CLIError(f"--records {path}: no such file (a study's JSON file, e.g. reports/study.json)")
    try:
        return load_study(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ExplainError):
            raise
        raise DataError(f"--records {path} is not a study's JSON file ({type(exc).__name__}: {exc}); pass the "
                        "study.json a run of `python -m explain study` wrote") from None


def _study(args) -> list[str]:
    from .study import FULL, QUICK, run_study

    single = bool(os.path.splitext(args.out)[1])  # a file: its suffix picks the one format
    # a folder: study.html|md|json inside it; otherwise a prefix: <out>.html|md|json
    stem = os.path.splitext(args.out)[0] if single else (
        os.path.join(args.out, "study") if os.path.isdir(args.out) else args.out)
    partial = stem + ".partial"  # finished data sets; a re-run of the same configuration skips them
    if args.records is not None:
        if args.quick or args.jobs is not None:
            raise CLIError("--records re-reads a finished study: drop --quick and --jobs (nothing is run)")
        study = _read_study(args.records)
    else:
        study = run_study(QUICK if args.quick else FULL, progress=_progress(args), checkpoint=partial,
                          n_jobs=max(1, args.jobs or (1 if args.quick else 2)))
    report = study.report(timestamp=not args.no_timestamp)
    written = [report.save(args.out)] if single else [report.save(stem + ext) for ext in (".html", ".md", ".json")]
    shutil.rmtree(partial, ignore_errors=True)
    if not args.quiet:
        for h in study.verdict["hypotheses"]:
            print(f"{h['id']}: {h['answer']} -- {h['statement']}")
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

        X, _ = read_data(args.data, args.target, split_values(args.categorical))
        train = None
        if args.train:
            if not args.target:
                raise CLIError("--train needs --target: the label column of the training rows")
            train = read_data(args.train, args.target, split_values(args.categorical))
        elif args.refits is not None:
            raise CLIError("--refits needs --train: the training rows the old model is refitted on")
        sel, background, _ = _rows_and_background(args, X)
        X, rows = sel.features, sel.rows
        if train is not None and args.id_column in train[0].columns:
            train = (train[0].drop(columns=[args.id_column]), train[1])
        old_model = load_model(args.old_model, trust_pickle=args.trust_pickle)
        new_model = load_model(args.new_model, trust_pickle=args.trust_pickle)
        check_features({"old": old_model, "new": new_model}, X, args.data, args.target)
        v = explain_versions(old_model, new_model, rows,
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


def main(argv=None) -> int:
    """Run ``python -m explain``; returns the exit status (0 done, 1 a failed gate, 2 a user error)."""
    from ._cli_parser import build_parser

    args = build_parser().parse_args(argv)
    from .errors import ExplainError

    status = 0
    try:
        if args.command in ("report", "diff", "check") and args.rows is not None:
            args.rows = parse_rows(args.rows)  # before any work, as --out
        if args.out:
            if args.command == "check":
                check_out(args.out, suffixes=(".md", ".markdown", ".txt"), folder=False)
            else:
                check_out(args.out)
        if args.command == "check":
            written, status = _check(args)
        else:
            written = {"demo": _demo, "report": _report, "study": _study, "diff": _diff}[args.command](args)
    except (CLIError, ExplainError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}", file=sys.stderr if args.command == "check" else sys.stdout)
    return status
