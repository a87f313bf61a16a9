"""The argument parser of ``python -m explain``: every option has help text, every default is shown,
every ``--help`` ends with the exit codes."""

from __future__ import annotations

import argparse

__all__ = ["build_parser", "EXIT_CODES"]

EXIT_CODES = """exit status:
  0  done (check: the new bundle passes the policy)
  1  check only: the new bundle fails the policy
  2  a usage or input error (bad option, missing or unreadable file, --out with an unknown suffix or in a
     place that cannot be written): one line on stderr, nothing written"""

OUT_HELP = ("where to write: a file whose suffix picks the format (.html, .md or .json), or a folder that gets "
            "all three; checked before any work starts")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown after each option's help (not "None" or "False", which say nothing, nor twice); the
    epilog (exit codes) keeps its lines."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _sub(sub, name: str, description: str, parents=()):
    return sub.add_parser(name, parents=list(parents), help=description, description=description,
                          epilog=EXIT_CODES, formatter_class=_Formatter)


def _data_options(parser, *, what: str) -> None:
    parser.add_argument("--data", required=what == "report", default=None,
                        help="CSV or Parquet with the model's columns (Parquet keeps dtypes, including category "
                             "columns)" + ("" if what == "report" else "; needed with --old-model/--new-model"))
    parser.add_argument("--target", default=None,
                        help="label column: dropped from the features (and, for report, used by the "
                             "data-randomisation check); needed whenever the file has a column the model does "
                             "not take")
    parser.add_argument("--categorical", action="append", default=None, metavar="COLUMNS",
                        help="comma-separated CSV columns to read as pandas category dtype (repeatable)")
    _selection_options(parser)
    parser.add_argument("--trust-pickle", action="store_true",
                        help="allow model files whose loading runs code: .pkl/.joblib, TorchScript .pt, and "
                             ".skops files with types beyond explain's allow-list")


ROWS_HELP = ("the rows of --data to explain, by position: N (the first N), a slice START:STOP[:STEP] "
             "(0:50, 100:200, ::10; --rows=-20: for the last 20) or a list P1,P2,... (one row: P,); the report "
             "says which rows were explained (default: 50)")


def _selection_options(parser) -> None:
    """Which rows are explained and against which background: shared by report, diff and check."""
    parser.add_argument("--rows", default=None, metavar="ROWS", help=ROWS_HELP)
    parser.add_argument("--id-column", default=None, metavar="NAME",
                        help="a column of --data (and --background) that names the rows: dropped from the "
                             "features, shown as each row's id in the report, and what --ids matches")
    parser.add_argument("--ids", action="append", default=None, metavar="IDS",
                        help="comma-separated values of --id-column: explain these rows, in this order "
                             "(instead of --rows; repeatable)")
    parser.add_argument("--background", default=None, metavar="PATH",
                        help="CSV or Parquet with the rows the explanations are relative to, with the same "
                             "columns as --data (--target and --id-column, if present, are dropped) "
                             "(default: the --data file)")
    parser.add_argument("--background-size", type=int, default=100, metavar="N",
                        help="at most N background rows: a sample seeded by --seed when the background "
                             "has more; the report says where they came from, how many and the seed")


def build_parser() -> argparse.ArgumentParser:
    """The parser with its five subcommands: demo, report, study, diff, check."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="python -m explain", formatter_class=_Formatter, epilog=EXIT_CODES,
        description="Explain fitted models, score the explanations and write reports (HTML, Markdown, JSON).")
    parser.add_argument("--version", action="version", version=f"explain {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="demo, report, study, diff or check (each has --help)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seed", type=int, default=0,
                        help="random seed of every random choice (background sample, sampling methods)")
    common.add_argument("--quiet", action="store_true", help="no progress bar and no table on the terminal")
    common.add_argument("--no-timestamp", action="store_true",
                        help="leave out the creation time, so the same inputs give byte-identical files")

    demo = _sub(sub, "demo", "the embedded zoo, tabular and images: a full comparison", [common])
    demo.add_argument("--out", default="reports", help=OUT_HELP)
    demo.add_argument("--rows", type=int, default=20, help="held-out rows of the tabular zoo to explain")

    rep = _sub(sub, "report", "explain and score your models on a CSV or Parquet file", [common])
    rep.add_argument("--out", default="reports", help=OUT_HELP)
    rep.add_argument("--model", action="append", required=True, metavar="NAME=PATH",
                     help="a model to explain, by name and file (.skops; .pkl/.joblib/.pt with --trust-pickle); "
                          "repeat for several models")
    _data_options(rep, what="report")
    rep.add_argument("--methods", action="append", default=None, metavar="NAMES",
                     help="comma-separated attribution methods (default: 'auto', the ones that suit each model)")
    rep.add_argument("--metrics", action="append", default=None, metavar="NAMES",
                     help="comma-separated metrics or families, or 'none' to explain without scoring "
                          "(default: all)")
    rep.add_argument("--title", default="Explanation report", help="the report's title")
    rep.add_argument("--output", default="auto", choices=["auto", "natural", "probability", "margin", "raw"],
                     help="the output every model is explained and scored in (auto: one common output for "
                          "several models)")

    study = _sub(sub, "study", "are deep models harder to explain? every family, several data sets and seeds, "
                               "one common scale", [common])
    study.add_argument("--quick", action="store_true", help="the small configuration the tests run")
    study.add_argument("--jobs", type=int, default=None,
                       help="data sets run at once in worker processes, one thread each (default: 2 for the full "
                            "run, designed for two cores; 1 with --quick)")
    study.add_argument("--records", default=None, metavar="STUDY_JSON",
                       help="run nothing: re-read a study's JSON file (its records) and write its report again "
                            "with this explain's statistics and page (not with --quick or --jobs)")
    study.add_argument("--out", default="reports/study",
                       help=OUT_HELP + "; a path that is neither an existing folder nor has a suffix is a prefix "
                                       "(<out>.html, <out>.md, <out>.json)")

    versions = _version_options()
    dif = _sub(sub, "diff", "what changed between two model versions' explanations", [common, versions])
    dif.add_argument("--out", default="reports", help=OUT_HELP)
    dif.add_argument("old", nargs="?", default=None, help="the old report bundle (.json or .html)")
    dif.add_argument("new", nargs="?", default=None, help="the new report bundle (.json or .html)")
    dif.add_argument("--method", default="shap", help="the attribution method whose values are compared")
    dif.add_argument("--k", type=int, default=10, help="top-k features for the overlap and nDCG@k")
    dif.add_argument("--model", default=None, help="the model to compare, in bundles that hold several")

    chk = _sub(sub, "check", "gate: exit 0 if NEW passes the policy against --baseline (bundles, or "
                             "--old-model/--new-model on --data), 1 if not, 2 on a usage or policy error",
               [versions])
    chk.add_argument("new", nargs="?", default=None, help="the new report bundle (.json or .html)")
    chk.add_argument("--baseline", default=None, help="the baseline report bundle (.json or .html)")
    chk.add_argument("--policy", default=None,
                     help="TOML policy (default: explain.review.gate.DEFAULT_POLICY)")
    chk.add_argument("--out", default=None, help="also write the Markdown summary to this .md file")
    chk.add_argument("--seed", type=int, default=0,
                     help="random seed of every random choice (background sample, refits, sampling methods)")
    chk.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _version_options() -> argparse.ArgumentParser:
    """The options diff and check share: model files, data, training rows for the retrain band, the output."""
    from .engine.config import OUTPUTS

    v = argparse.ArgumentParser(add_help=False)
    v.add_argument("--old-model", default=None, help="or: the old model file (explained on --data)")
    v.add_argument("--new-model", help="the new model file (explained on the same rows and background)")
    v.add_argument("--data", help="CSV or Parquet with both models' columns")
    v.add_argument("--target", help="label column to drop from --data (and the labels in --train)")
    v.add_argument("--categorical", action="append", help="CSV columns to read as category dtype")
    _selection_options(v)
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
