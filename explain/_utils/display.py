"""The base of every Display object (scikit-learn's style), shared by the report's and the global views' displays.

matplotlib is imported only when an axes has to be made; ``plt.show()`` is never called.
"""

from __future__ import annotations

__all__ = ["_axes", "_label", "_Display"]


def _axes(ax):
    """``ax``, or new axes on a new figure if it is None."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _label(name) -> str:
    return str(name).replace("$", r"\$")  # a feature name is text, never mathtext


class _Display:
    def _done(self, ax):
        self.ax_, self.figure_ = ax, ax.figure
        return self
