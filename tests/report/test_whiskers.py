"""Bars of sampled values carry 95% whiskers (values +- 1.96 stderr); exact values have none."""

import re

import numpy as np

from explain import Explanation
from explain.report.figures import importance_figure, waterfall_figure


def _pair():
    rng = np.random.default_rng(0)
    values, data = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    kw = dict(feature_names=["a", "b", "c", "d"], output="probability", method="shap", model_name="m")
    exact = Explanation(values, np.zeros(5), data, **kw)
    sampled = Explanation(values, np.zeros(5), data, stderr=np.full((5, 4), 0.2), **kw)
    return exact, sampled


def _segments(svg: str) -> int:
    return len(re.findall(r"<path", svg))


def test_waterfall_and_importance_bars_get_whiskers_only_when_sampled():
    exact, sampled = _pair()
    for draw in (lambda e: waterfall_figure([e], [0, 1], k=4), lambda e: importance_figure([e], k=4)):
        plain, whiskered = draw(exact), draw(sampled)
        # the whiskers of each panel are one more line collection (and cap markers): more drawn paths
        assert _segments(whiskered) > _segments(plain), (_segments(plain), _segments(whiskered))
        assert 'stroke: #333333' in whiskered and 'stroke: #333333' not in plain  # the whisker colour
