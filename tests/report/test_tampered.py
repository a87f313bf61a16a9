"""Hand-edited or damaged report bundles: one clean line naming the field, never a traceback (issue 26, item 14).

A small valid bundle (Palmer penguins, string labels and string columns) is edited ~50 ways, seeded: a field
dropped, a value given another type, the document made an array. ``load_report`` either reads it or raises
``BundleError``; ``python -m explain diff`` and ``check`` return 0/1 or exit 2 with one line on stderr.
"""

from __future__ import annotations

import copy
import json
import warnings

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.impute import SimpleImputer

from explain import cli, explain, load_report
from explain.datasets import load_tabular
from explain.errors import BundleError, ExplainError
from explain.report.build import build_report

N_VARIANTS = 50
OTHER_TYPES = ("text", 7, 2.5, None, True, [], {}, [1, "a"], {"a": [1]})


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """Two valid bundles of the same rows: the model fitted on all birds (old) and on every other bird (new)."""
    tmp = tmp_path_factory.mktemp("tampered")
    ds = load_tabular("penguins")
    X, y = ds.X, np.asarray(ds.target_names, dtype=object)[ds.y]
    cats = ["island", "sex"]
    pre = ColumnTransformer([
        ("c", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), cats),
        ("n", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), [c for c in X if c not in cats])])
    rows, bg = X.iloc[[0, 3, 150, 200, 300, 340]], X.iloc[::9]
    paths = {}
    for name, part in (("old", slice(None)), ("new", slice(None, None, 2))):
        model = make_pipeline(pre, LogisticRegression(max_iter=2000)).fit(X.iloc[part], y[part])
        result = explain(model, rows, methods=["shap"], background=bg, output="margin", name="penguins",
                         progress=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            paths[name] = build_report(result, title=name).save(tmp / f"{name}.json")
    return tmp, paths


def _paths(node, prefix=()):
    """Every dict entry and the first and last item of every list (a matrix contributes its first row's ends)."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append(prefix + (k,))
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list) and node:
        for i in sorted({0, len(node) - 1}):
            out.append(prefix + (i,))
            out += _paths(node[i], prefix + (i,))
    return out


def _variant(record: dict, rng: np.random.Generator):
    """One edit of the record: drop a field, retype a value, or make the document an array."""
    kind = rng.choice(["drop", "retype", "retype", "array"], p=[0.4, 0.25, 0.25, 0.1])
    if kind == "array":
        return [record] if rng.random() < 0.5 else list(record.values()), "top-level array"
    doc = copy.deepcopy(record)
    paths = _paths(doc)
    path = paths[rng.integers(len(paths))]
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if kind == "drop":
        del parent[path[-1]]
        return doc, f"drop {path}"
    value = OTHER_TYPES[rng.integers(len(OTHER_TYPES))]
    parent[path[-1]] = copy.deepcopy(value)
    return doc, f"{path} = {value!r}"


def _one_line(err: str) -> bool:
    lines = [line for line in err.splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err


def test_fuzzed_bundles_fail_cleanly(bundles, capsys, monkeypatch):
    tmp, paths = bundles
    from explain.report import figures

    monkeypatch.setattr(figures, "to_svg", lambda fig: "<svg></svg>")  # figures are drawn, not rasterised (speed)
    record = json.loads(open(paths["old"]).read())
    rng = np.random.default_rng(26)
    refused = 0
    for k in range(N_VARIANTS):
        doc, edit = _variant(record, rng)
        bad = tmp / f"bad{k}.json"
        bad.write_text(json.dumps(doc))
        try:
            load_report(bad)
            loaded = True
        except BundleError as exc:
            loaded = False
            refused += 1
            assert "\n" not in str(exc) and str(bad) in str(exc), (edit, str(exc))
        capsys.readouterr()
        code = cli.main(["diff", str(bad), str(paths["new"]), "--out", str(tmp / "diff.json"), "--quiet"])
        err = capsys.readouterr().err
        assert code in ((0, 2) if loaded else (2,)), (edit, code, err)
        assert code == 0 or _one_line(err), (edit, err)
        code = cli.main(["check", str(bad), "--baseline", str(paths["new"])])
        err = capsys.readouterr().err
        assert code in ((0, 1, 2) if loaded else (2,)), (edit, code, err)
        assert code != 2 or _one_line(err), (edit, err)
    assert refused >= N_VARIANTS // 2  # most edits break the schema; the test is not vacuous


@pytest.mark.parametrize("edit, field", [
    (lambda r: r["explanations"]["penguins"][0].pop("values"), "'values'"),
    (lambda r: r["explanations"]["penguins"][0].__setitem__("n_model_evals", "many"), "n_model_evals"),
    (lambda r: r["explanations"]["penguins"][0].__setitem__("target", "Adelie"), "target"),
    (lambda r: r["explanations"]["penguins"][0].__setitem__("base_values", [0.0]), "explanations.penguins[0]"),
    (lambda r: r["explanations"]["penguins"][0]["values"].__setitem__(0, ["x"] * 7), "explanations.penguins[0]"),
    (lambda r: r["explanations"]["penguins"][0]["codec"][0].__setitem__("categories", []), "island"),
    (lambda r: r.__setitem__("title", ["t"]), "title"),
    (lambda r: r.pop("schema_version"), "'schema_version'"),
])
def test_the_message_names_the_field(bundles, edit, field):
    tmp, paths = bundles
    record = json.loads(open(paths["old"]).read())
    edit(record)
    bad = tmp / "named.json"
    bad.write_text(json.dumps(record))
    with pytest.raises(BundleError) as info:
        load_report(bad)
    assert field in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, ExplainError)


def test_top_level_array_and_html(bundles, tmp_path):
    _, paths = bundles
    bad = tmp_path / "array.json"
    bad.write_text("[1, 2]")
    with pytest.raises(BundleError, match="JSON list, not an object"):
        load_report(bad)
    html = tmp_path / "bad.html"
    html.write_text('<script type="application/json" id="explain-data">{"schema_version": "2", "title": 3}'
                    "</script>")
    with pytest.raises(BundleError, match="lacks the field|field title"):
        load_report(html)
