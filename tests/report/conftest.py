"""A small but complete report (comparison + images), built once for the report tests."""

from __future__ import annotations

import pytest

from explain import compare, explain

from report_helpers import make_report


@pytest.fixture(scope="session")
def small_report_inputs(tabular_zoo, image_zoo):
    zoo = tabular_zoo
    models = {k: zoo[k] for k in ("glm", "gradient_boosting")}
    X = zoo.X_test.iloc[:5]
    cmp = compare(models, X, background=zoo.X_train.iloc[:20], y=zoo.y_test[:5], n_seeds=2, robustness_rows=2,
                  method_params={"lime": {"num_samples": 300}})
    images = image_zoo.X_test.to_numpy(float)[:2].reshape(-1, 1, 8, 8)
    bg = image_zoo.X_train.to_numpy(float)[:10].reshape(-1, 1, 8, 8)
    image_results = {name: explain(image_zoo[name], images, methods=["shap", "occlusion"], background=bg, name=name)
                     for name in ("glm", "cnn")}
    return cmp, image_results, X, models


@pytest.fixture(scope="session")
def small_report(small_report_inputs):
    return make_report(small_report_inputs)
