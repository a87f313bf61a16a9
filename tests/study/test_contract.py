"""The study's version-2 JSON contract (issue 24): every p-value and Holm p recomputes from the records.

P-values are recomputed independently: scipy's ``ttest_rel`` and ``wilcoxon`` on the
paired values, or every sign pattern enumerated with itertools; Holm by hand per
hypothesis. The fast tests use records built here (every test name) and a NAM
fitted in a second; the slow one runs ``python -m explain study --quick``.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from scipy import stats

CONTRACT = {"hypothesis", "dataset", "protocol", "measure", "family_a", "family_b", "test", "effect", "ci_low",
            "ci_high", "p_value", "p_adjusted", "decision"}


def _synthetic(seeds=8, rng=0) -> pd.DataFrame:
    """Records of two data sets, two protocols, three measures: mlp worse than glm on one, nam equal to glm."""
    rng = np.random.default_rng(rng)
    rows = []
    shift = {"glm": 0.0, "naive_bayes": 0.02, "mlp": -0.2, "nam": 0.0, "random_forest": -0.1}
    for ds in ("a", "b"):
        for protocol in ("p1", "p2"):
            for measure in ("faithfulness_correlation", "method_agreement", "interaction_strength"):
                for fam, s in shift.items():
                    for seed in range(seeds):
                        v = 0.5 + (s if measure != "interaction_strength" else -s) + rng.normal(0, 0.03)
                        rows.append(dict(dataset=ds, family=fam, protocol=protocol, measure=measure, seed=seed,
                                         value=float(np.clip(v, 0, 1))))
                    rows.append(dict(dataset=ds, family=fam, protocol="any", measure="accuracy", seed=0, value=0.9))
    return pd.DataFrame(rows).drop_duplicates(["dataset", "family", "protocol", "measure", "seed"])


def _recompute_p(d: np.ndarray, a: np.ndarray, b: np.ndarray, test: str) -> float:
    if test == "paired_t":
        return float(stats.ttest_rel(a, b).pvalue)
    if test == "wilcoxon":
        return float(stats.wilcoxon(a, b).pvalue)
    flips = [abs(np.mean(np.array(s) * d)) >= abs(d.mean()) - 1e-12 for s in itertools.product((1, -1), repeat=len(d))]
    return float(np.mean(flips))


def check_contract(study: dict) -> None:
    """Every key of the contract, every p-value from the records, every Holm p by hand."""
    assert study["version"] == 2
    cfg = study["config"]
    for d in cfg["datasets"]:
        assert {"name", "kind", "n_features", "image_shape", "n_rows", "source"} <= set(d)
        assert d["kind"] in ("tabular", "image") and (d["image_shape"] is not None) == (d["kind"] == "image")
    assert cfg["families"] and cfg["seeds"] and study["protocols"] and all("name" in p for p in study["protocols"])
    for name, m in study["measures"].items():
        assert {"unit", "direction", "role", "margin"} <= set(m) and m["direction"] in ("higher", "lower"), name
    recs = pd.DataFrame(study["records"])
    assert list(recs.columns) == ["dataset", "family", "protocol", "measure", "seed", "value"]
    assert not recs.duplicated(["dataset", "family", "protocol", "measure", "seed"]).any()
    comps = pd.DataFrame(study["comparisons"])
    assert CONTRACT <= set(comps.columns) and len(comps)
    values = recs.set_index(["dataset", "protocol", "measure", "family", "seed"])["value"].sort_index()
    for _, c in comps.iterrows():
        a = values.loc[(c.dataset, c.protocol, c.measure, c.family_a)]
        b = values.loc[(c.dataset, c.protocol, c.measure, c.family_b)]
        both = pd.concat([a, b], axis=1, join="inner").dropna()
        d = (both.iloc[:, 0] - both.iloc[:, 1]).to_numpy()
        assert c.effect == pytest.approx(d.mean(), rel=1e-5, abs=1e-9)
        if c.p_value is None or not np.isfinite(c.p_value):
            continue
        p = _recompute_p(d, both.iloc[:, 0].to_numpy(), both.iloc[:, 1].to_numpy(), c.test)
        assert c.p_value == pytest.approx(p, rel=1e-4, abs=1e-9), (c.dataset, c.measure, c.test)
    for _, h in comps.groupby("hypothesis"):
        ok = h.p_value.notna()
        p = h.p_value[ok].to_numpy(float)
        order = np.argsort(p, kind="stable")
        m = len(p)
        by_hand = np.empty(m)
        by_hand[order] = np.maximum.accumulate(np.minimum(1, (m - np.arange(m)) * p[order]))
        np.testing.assert_allclose(h.p_adjusted[ok].to_numpy(float), by_hand, rtol=1e-4, atol=1e-9)
    assert {h["id"] for h in study["verdict"]["hypotheses"]} <= {"H1", "H2", "H3"}
    assert all({"id", "statement", "answer"} <= set(h) for h in study["verdict"]["hypotheses"])
    for s in study["sensitivity"]:
        assert {"hypothesis", "dataset", "measure", "decisions", "robust"} <= set(s)
        assert s["robust"] == (len(set(s["decisions"].values())) == 1)


@pytest.mark.parametrize("test", ["paired_t", "wilcoxon", "sign_flip"])
def test_contract_and_p_values_recompute_from_records(test, tmp_path):
    from explain.study import QUICK, Study

    config = QUICK.__class__(**{**QUICK.__dict__, "test": test, "seeds": tuple(range(8)),
                                                "datasets": ("a", "b")})
    info = [dict(name="a", kind="tabular", task="classification", n_features=3, image_shape=None, n_rows=100,
                 source="made here"),
            dict(name="b", kind="image", task="classification", n_features=625, image_shape=[25, 25], n_rows=100,
                 source="made here")]
    study = Study(config, _synthetic(), 1.0, info)
    study.report(timestamp=False).save(tmp_path / "s.json")
    record = json.loads((tmp_path / "s.json").read_text())
    check_contract(record["study"])
    comps = study.comparisons
    from explain.study import load_study

    again = load_study(tmp_path / "s.json")  # the file alone gives the same comparisons
    assert again.config == config and again.datasets == info
    pd.testing.assert_frame_equal(again.comparisons, comps)
    # the planted effects are found: mlp harder than glm on faithfulness, nam equivalent to glm somewhere
    h1 = comps[(comps.hypothesis == "H1") & (comps.measure == "faithfulness_correlation")]
    assert set(comps.test) == {test}
    if test == "paired_t":  # no floor on p: the planted effects are found
        assert set(h1.decision) == {"harder"}
        assert "equivalent" in set(comps[comps.hypothesis == "H3"].decision)
    else:  # rank and sign-flip tests with 8 seeds: smallest p 2/256, too large for Holm over these comparisons
        assert set(h1.decision) == {"inconclusive"} and not h1["can_reject"].any()


def test_page_is_compact_and_answers_first(tmp_path):
    from explain.study import QUICK, Study

    study = Study(QUICK, _synthetic(), 1.0)
    report = study.report(timestamp=False)
    report.save(tmp_path / "s.html")
    html = (tmp_path / "s.html").read_text()
    body = html[html.index('<section id="s1"'):]  # after the jump menu
    first = body.index("The answers")
    assert first < body.index("<svg") < body.index("Accuracy (held-out") < body.index("Provenance</h")
    answers = body[first:body.index('<section id="s2"')]  # the forest plot sits beside the answers, in section 1
    assert 'class="side-by-side"' in answers and answers.index("H1: Deep") < answers.index("<svg")
    assert "<title>Are deep models harder to explain? The study, version 2</title>" in html
    assert "H1: Deep models" in body[first:body.index("<svg")]
    bundle = html[html.index('id="explain-data">'):]
    assert '"records": "' in bundle  # records live in the JSON file only
    assert not any(len(x) > 9 for x in __import__("re").findall(r"\d\.(\d+)", bundle))  # 6 significant digits


def test_nam_is_additive_in_its_margin_and_strength_matches_interactions():
    """The NAM's exact interaction strength in its logits is round-off; ours equals explain.interactions'."""
    import explain
    from explain.adapters import get_adapter
    from explain.study._nets import fit_net
    from explain.study._run import interaction_strength

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = ((X[:, 0] * X[:, 1] > 0) ^ (X[:, 2] > 0.5)).astype(int)
    for kind, additive in (("nam", True), ("mlp", False)):
        net = fit_net(kind, X, y, task="classification", epochs=20, random_state=0)
        a = get_adapter(net, X=X)
        targets = np.ones(6, dtype=int)
        s_margin = interaction_strength(a, X[:6], X[:20], "margin", targets, np.arange(4), 4)
        s_prob = interaction_strength(a, X[:6], X[:20], "probability", targets, np.arange(4), 4)
        assert 0 <= s_prob <= 1 and 0 <= s_margin <= 1
        assert (s_margin < 1e-10) == additive, (kind, s_margin)
        ref = explain.interactions(net, X[:6], background=X[:20], output="probability", target=1).strength()
        assert s_prob == pytest.approx(ref, rel=1e-6, abs=1e-9)


def test_every_study_set_loads_offline_with_its_source():
    from explain.datasets._study_sets import STUDY_SETS, load_study_set

    tasks = {}
    for name in STUDY_SETS:
        s = load_study_set(name, max_rows=300)
        assert len(s.X) == len(s.y) <= 300 and s.source and not s.X.isna().any().any()
        tasks.setdefault(s.task, []).append(name)
        if s.image_shape:
            assert min(s.image_shape) >= 25 and s.X.shape[1] == np.prod(s.image_shape)
    assert load_study_set("breast_cancer").X.shape[1] == 30
    assert len(tasks["regression"]) >= 2 and sum(load_study_set(n).n_classes > 2 for n in tasks["classification"]) >= 2


@pytest.mark.slow
def test_quick_study_from_the_command_line(tmp_path):
    """`study --quick --quiet` under 3 minutes (on an idle 2-core machine), silent, contract and p-values."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "explain", "study", "--quick", "--out", str(tmp_path / "study"),
                           "--quiet", "--no-timestamp"], capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr, proc.stderr[:2000]
    record = json.loads((tmp_path / "study.json").read_text())
    check_contract(record["study"])
    assert (tmp_path / "study.html").stat().st_size < 2_000_000
    assert {d["kind"] for d in record["study"]["config"]["datasets"]} == {"tabular", "image"}
    print(f"quick study: {time.perf_counter() - start:.0f} s")


def test_a_finished_data_set_is_skipped_on_restart(tmp_path, monkeypatch):
    """The checkpoint folder: a data set written by a run of the same configuration is read, not re-run."""
    from dataclasses import replace

    import explain.study as study_mod
    from explain.study import QUICK, config_dict, run_study

    config = replace(QUICK, datasets=("wine",), seeds=(0, 1))
    recs = _synthetic(seeds=2).query("dataset == 'a'").assign(dataset="wine").to_dict(orient="records")
    (tmp_path / "wine.json").write_text(json.dumps({"config": config_dict(config), "seconds": 12.0,
                                                    "records": recs}))

    def no_run(*args, **kwargs):
        raise AssertionError("a finished data set was run again")

    monkeypatch.setattr(study_mod, "run_unit", no_run)
    study = run_study(config, progress=False, checkpoint=str(tmp_path))
    assert len(study.records) == len(recs) and study.seconds == 12.0
    assert study.datasets[0]["source"].startswith("scikit-learn load_wine")
    with pytest.raises(AssertionError, match="run again"):  # another configuration: not reused
        run_study(replace(config, rows=5), progress=False, checkpoint=str(tmp_path))


@pytest.mark.slow
def test_two_jobs_give_the_same_records_and_checkpoints(tmp_path):
    """n_jobs=2 runs data sets in worker processes: every unit is seeded, so the records are the same."""
    from dataclasses import replace

    from explain.study import QUICK, run_study

    config = replace(QUICK, datasets=("autompg", "wine"), seeds=(0, 1), rows=2, background=5, kernel_nsamples=30,
                     max_rows=150, metric_options=(("n_steps", 5), ("n_subsets", 5), ("removal_samples", 3)))
    keys = ["dataset", "family", "protocol", "measure", "seed"]
    two = run_study(config, progress=False, checkpoint=str(tmp_path), n_jobs=2).records
    one = run_study(config, progress=False).records
    assert sorted(p.name for p in tmp_path.iterdir()) == ["autompg.json", "wine.json"]
    two, one = (r[r.measure != "seconds_per_row"].sort_values(keys).reset_index(drop=True) for r in (two, one))
    pd.testing.assert_frame_equal(two, one)


def test_a_version_1_file_re_read_says_so_in_its_title(tmp_path):
    from explain.study import QUICK, Study, load_study

    Study(QUICK, _synthetic(), 1.0).report(timestamp=False).save(tmp_path / "s.json")
    record = json.loads((tmp_path / "s.json").read_text())
    del record["study"]["version"]  # what a version-1 run wrote
    (tmp_path / "v1.json").write_text(json.dumps(record))
    old = load_study(tmp_path / "v1.json")
    assert old.records_version == 1 and load_study(tmp_path / "s.json").records_version == 2
    title = old.report(timestamp=False).title
    assert "version 1" in title and "version 2's statistics" in title


def test_records_re_renders_a_finished_study_without_running(tmp_path, capsys):
    from explain.cli import main
    from explain.study import QUICK, Study

    Study(QUICK, _synthetic(), 60.0).report(timestamp=False).save(tmp_path / "s.json")
    assert main(["study", "--records", str(tmp_path / "s.json"), "--out", str(tmp_path / "again"), "--quiet"]) == 0
    again = json.loads((tmp_path / "again.json").read_text())["study"]
    before = json.loads((tmp_path / "s.json").read_text())["study"]
    assert again["records"] == before["records"] and again["comparisons"] == before["comparisons"]
    assert "records_from" in (tmp_path / "again.html").read_text()  # the page says where its records came from
    (tmp_path / "other.json").write_text('{"schema_version": 1, "title": "a report"}')
    capsys.readouterr()
    for argv in (["--records", str(tmp_path / "missing.json")], ["--records", str(tmp_path / "other.json")],
                 ["--records", str(tmp_path / "s.json"), "--quick"]):
        assert main(["study", *argv, "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --records") and err.count("\n") == 1, err
    assert not (tmp_path / "x.html").exists()
