"""Embedded data, the model zoos (small and full), and the demo command."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from explain import datasets, explain


def test_load_tabular_and_images():
    X, y = datasets.load_tabular()
    assert X.shape == (569, 10) and set(np.unique(y)) == {0, 1}
    assert datasets.load_tabular(columns="all").X.shape == (569, 30)
    digits = datasets.load_images()
    assert digits.X.shape == (1797, 64) and digits.image_shape == (8, 8)


@pytest.fixture(scope="module")
def zoo(tabular_zoo):
    return tabular_zoo


def test_zoo_has_every_family_fitted_and_accurate(zoo):
    from explain.adapters import get_adapter

    families = {name: get_adapter(m).family for name, m in zoo.items()}
    assert families == {"glm": "glm", "naive_bayes": "naive_bayes", "random_forest": "trees",
                        "gradient_boosting": "trees", "svm": "kernels"}
    assert all(acc > 0.85 for acc in zoo.scores.values()), zoo.scores


def test_zoo_is_seeded():
    a, b = datasets.model_zoo(random_state=1, size="small"), datasets.model_zoo(random_state=1, size="small")
    np.testing.assert_array_equal(a["random_forest"].predict_proba(a.X_test), b["random_forest"].predict_proba(b.X_test))


def test_small_zoos_fit_the_same_families_on_the_same_test_split(tabular_zoo, image_zoo):
    with pytest.raises(ValueError, match="size must be 'full' or 'small'"):
        datasets.model_zoo("tabular", size="tiny")
    digits = datasets.load_images()
    assert len(image_zoo.X_train) == 600 and len(image_zoo.X_test) == int(np.ceil(0.3 * len(digits.y)))
    assert len(tabular_zoo.X_train) + len(tabular_zoo.X_test) == len(datasets.load_tabular().y)
    assert tabular_zoo["random_forest"].n_estimators == 20 and image_zoo["random_forest"].n_estimators == 20


@pytest.mark.slow
def test_full_zoos_are_fitted_seeded_and_accurate():
    """The production zoos (200 trees, the CNN trained on every training image) that demo and the study use."""
    from explain.adapters import get_adapter

    tabular, images = datasets.model_zoo("tabular"), datasets.model_zoo("images")
    assert {name: get_adapter(m).family for name, m in tabular.items()} == {
        "glm": "glm", "naive_bayes": "naive_bayes", "random_forest": "trees", "gradient_boosting": "trees",
        "svm": "kernels"}
    assert tabular["random_forest"].n_estimators == 200 and len(images.X_train) == 1257
    assert all(acc > 0.85 for acc in tabular.scores.values()), tabular.scores
    assert all(acc > 0.9 for acc in images.scores.values()), images.scores
    again = datasets.model_zoo("tabular")
    np.testing.assert_array_equal(again["random_forest"].predict_proba(again.X_test),
                                  tabular["random_forest"].predict_proba(tabular.X_test))


def test_every_zoo_model_explained_side_by_side(zoo):
    X = zoo.X_test.iloc[:3]
    outputs = {}
    for name, model in zoo.items():
        r = explain(model, X, background=zoo.X_train.iloc[:40], method_params={"lime": {"num_samples": 500}})
        assert "shap" in r.methods and "lime" in r.methods
        assert all(e.values.shape == (3, 10) for e in r)
        outputs[name] = r["shap"].output
    assert outputs == {"glm": "margin", "naive_bayes": "margin", "random_forest": "probability",
                       "gradient_boosting": "margin", "svm": "margin"}


@pytest.mark.slow
def test_demo_command_writes_the_report(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "explain", "demo", "--rows", "3", "--out", str(tmp_path),
                           "--quiet", "--no-timestamp"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in tmp_path.iterdir()} >= {"report.html", "report.md", "report.json", "report_files"}
    from explain import load_report_json

    record = load_report_json(tmp_path / "report.json")
    assert set(record["explanations"]) >= {"glm", "naive_bayes", "random_forest", "gradient_boosting", "svm",
                                          "images/cnn", "images/svm"}
    assert record["explanations"]["glm"]["shap"].values.shape == (3, 10)
    assert record["explanations"]["images/cnn"]["shap"].values.shape == (4, 1, 8, 8)
    assert record["provenance"]["seed"] == 0 and "created" not in record["provenance"]
    assert set(record["scores"]["metric"]) >= {"deletion", "rank_correlation", "model_randomisation"}
    assert not list(tmp_path.glob(".tmp-*"))
    assert "overflow" not in proc.stderr and "RuntimeWarning" not in proc.stderr, proc.stderr  # --quiet is quiet
    from helpers import save_screenshot
    from PIL import Image

    shot = save_screenshot(tmp_path / "report.html", "demo_report.png", tmp_path)
    assert np.asarray(Image.open(shot).convert("L"), dtype=float).std() > 10  # not blank
