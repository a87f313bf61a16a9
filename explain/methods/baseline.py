"""The control every comparison needs: seeded random attributions.

Values are standard normal, scaled so their per-row spread matches the spread
of the model's output over the background; a metric that cannot tell a method
from this control measures nothing.
"""

from __future__ import annotations

import numpy as np

from .base import Attribution, Method, Task

__all__ = ["RandomAttribution"]


class RandomAttribution(Method):
    """Seeded Gaussian attributions (the 'random' control)."""

    name = "random"
    stochastic = True
    control = True
    game = "none: the control"
    assumptions = "a method no better than this measures nothing"
    supports_groups = True  # with feature_groups: one draw per group, spread evenly over its features

    def attribute(self, task: Task) -> Attribution:
        out_bg = np.asarray(task.f(task.background), dtype=float)
        n, d = task.X.shape
        scale = float(np.std(out_bg)) / np.sqrt(d) or 1.0
        if task.groups is not None:
            n_groups = int(task.groups.max()) + 1
            sizes = np.bincount(task.groups, minlength=n_groups)
            draws = np.array([task.rng(i).standard_normal(n_groups) for i in range(n)]).reshape(n, n_groups)
            values = (draws * scale / sizes)[:, task.groups]
        else:  # one stream per row: a row's values do not depend on the chunking
            values = np.array([task.rng(i).standard_normal(d) for i in range(n)]).reshape(n, d) * scale
        return Attribution(values, np.full(n, float(out_bg.mean())),
                           {"algorithm": "standard normal x std(f(background)) / sqrt(d)", "scale": scale})
