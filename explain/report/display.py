"""Display objects in scikit-learn's style: ``from_explanation`` computes, ``plot`` draws and returns self.

matplotlib is imported only when plotting; ``plt.show()`` is never called.
"""

from __future__ import annotations

import numpy as np

__all__ = ["AttributionDisplay"]


class AttributionDisplay:
    """Bar chart of attributions: mean |a| over rows, or one row's signed contributions.

    Parameters
    ----------
    names : list of str
    values : ndarray of shape (k,)
    title : str

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    """

    def __init__(self, names, values, title=""):
        self.names, self.values, self.title = list(names), np.asarray(values, float), title

    @classmethod
    def from_explanation(cls, explanation, *, row: int | None = None, max_features: int = 10):
        """Top ``max_features`` by mean |attribution|, or of row ``row`` by |contribution|."""
        if row is None:
            imp = explanation.global_importance().head(max_features)
            return cls(imp.index, imp.to_numpy(), f"{explanation.model_name} · {explanation.method}: mean |a|")
        v = explanation.flat_values[row]
        top = np.argsort(-np.abs(v), kind="stable")[:max_features]
        return cls([explanation.feature_names[j] for j in top], v[top],
                   f"{explanation.model_name} · {explanation.method}: row {row}")

    def plot(self, ax=None):
        """Draw on ``ax`` (a new figure if None); returns self."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        y = np.arange(len(self.names))[::-1]
        ax.barh(y, self.values, color=["#d62728" if v > 0 else "#1f77b4" for v in self.values])
        ax.set_yticks(y, [str(n).replace("$", r"\$") for n in self.names])
        ax.axvline(0, color="#999", lw=0.5)
        ax.set_title(self.title)
        self.ax_, self.figure_ = ax, ax.figure
        return self
