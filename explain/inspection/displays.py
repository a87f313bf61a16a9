"""Displays for global explanations, in scikit-learn's style (as :mod:`explain.report.display`).

``Display.from_result(result, ax=None, ...)`` computes what to draw and draws it; ``display.plot(ax=None,
**kwargs)`` draws (again) on any axes and returns the display with ``ax_`` and ``figure_``. matplotlib is
imported only when drawing; ``plt.show()`` is never called.

- :class:`PartialDependenceDisplay`: the PD curve with ICE lines (one feature), points for categories,
  a heat map for a pair;
- :class:`AccumulatedLocalEffectsDisplay`: the ALE curve over its edges, bin counts as bars underneath;
- :class:`ImportanceDisplay`: importance bars with their intervals.
"""

from __future__ import annotations

import numpy as np

from .._utils.display import _axes, _Display, _label

__all__ = ["PartialDependenceDisplay", "AccumulatedLocalEffectsDisplay", "ImportanceDisplay"]

_LINE, _ICE = "#d62728", "#1f77b4"


def _ylabel(result) -> str:
    return result.output + ("" if result.target is None else f" (class {result.target})")


class PartialDependenceDisplay(_Display):
    """Partial dependence of one feature (with ICE curves) or a pair (heat map).

    Parameters
    ----------
    result : PartialDependence
    max_ice : int
        At most this many ICE curves are drawn (evenly spaced rows), when the result has them.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    """

    def __init__(self, result, max_ice: int = 50):
        self.result, self.max_ice = result, int(max_ice)

    @classmethod
    def from_result(cls, result, *, max_ice: int = 50, ax=None, **kwargs):
        """Draw ``result`` on ``ax`` (a new figure if None); returns the display."""
        return cls(result, max_ice).plot(ax=ax, **kwargs)

    def plot(self, ax=None, **kwargs):
        """Draw; keywords go to the average curve's ``ax.plot`` (or ``pcolormesh`` for a pair); returns self."""
        r = self.result
        ax = _axes(ax)
        labels = [np.asarray(g) for g in r.grid_labels]
        numeric = [g.dtype != object for g in labels]
        if len(r.features) == 2:
            values = r.average if r.average is not None else r.individual.mean(axis=0)
            x = [np.asarray(g, float) if num else np.arange(len(g)) for g, num in zip(labels, numeric)]
            mesh = ax.pcolormesh(x[1], x[0], values, shading="nearest", **kwargs)
            ax.figure.colorbar(mesh, ax=ax, label=_ylabel(r))
            for axis, g, num in ((ax.yaxis, labels[0], numeric[0]), (ax.xaxis, labels[1], numeric[1])):
                if not num:
                    axis.set_ticks(np.arange(len(g)), [_label(v) for v in g])
            ax.set_ylabel(_label(r.features[0]))
            ax.set_xlabel(_label(r.features[1]))
        else:
            x = np.asarray(labels[0], float) if numeric[0] else np.arange(len(labels[0]))
            if r.individual is not None:
                n = r.individual.shape[0]
                rows = np.unique(np.linspace(0, n - 1, min(n, self.max_ice)).astype(int))
                ax.plot(x, r.individual[rows].T, color=_ICE, alpha=0.25, lw=0.7)
            if r.average is not None or r.individual is not None:
                avg = r.average if r.average is not None else r.individual.mean(axis=0)
                kwargs.setdefault("color", _LINE)
                kwargs.setdefault("lw", 2.0)
                if not numeric[0]:
                    kwargs.setdefault("marker", "o")
                    kwargs.setdefault("linestyle", "none")
                ax.plot(x, avg, label="average", **kwargs)
            if not numeric[0]:
                ax.set_xticks(x, [_label(v) for v in labels[0]])
            ax.set_xlabel(_label(r.features[0]))
            ax.set_ylabel(_ylabel(r))
        ax.set_title(f"{r.model_name} · partial dependence ({r.method})")
        return self._done(ax)


class AccumulatedLocalEffectsDisplay(_Display):
    """The centred ALE curve over its bin edges, with the rows per bin as bars on a second axis.

    Attributes
    ----------
    ax_ : matplotlib Axes (the curve)
    counts_ax_ : matplotlib Axes (the bin counts)
    figure_ : matplotlib Figure
    """

    def __init__(self, result):
        self.result = result

    @classmethod
    def from_result(cls, result, *, ax=None, **kwargs):
        """Draw ``result`` on ``ax`` (a new figure if None); returns the display."""
        return cls(result).plot(ax=ax, **kwargs)

    def plot(self, ax=None, **kwargs):
        """Draw; keywords go to the curve's ``ax.plot``; returns self."""
        r = self.result
        ax = _axes(ax)
        counts_ax = ax.twinx()
        if r.labels is None:
            counts_ax.bar(r.edges[:-1], r.counts, width=np.diff(r.edges), align="edge", color="#bbb", alpha=0.4)
        else:  # a categorical feature: one bar per category, in ALE's order, labelled with its value
            counts_ax.bar(r.edges, r.counts, width=0.6, color="#bbb", alpha=0.4)
            ax.set_xticks(r.edges, [_label(str(c)) for c in r.labels], rotation=30, ha="right")
        counts_ax.set_ylabel("rows per bin" if r.labels is None else "rows per category")
        counts_ax.set_ylim(0, max(1, int(r.counts.max())) * 4)  # the bars stay in the lower quarter
        ax.set_zorder(counts_ax.get_zorder() + 1)
        ax.patch.set_visible(False)
        kwargs.setdefault("color", _LINE)
        kwargs.setdefault("marker", ".")
        ax.plot(r.edges, r.values, **kwargs)
        ax.axhline(0, color="#999", lw=0.5)
        ax.set_xlabel(_label(r.feature))
        ax.set_ylabel(f"ALE, {_ylabel(r)}")
        ax.set_title(f"{r.model_name} · accumulated local effects")
        self.counts_ax_ = counts_ax
        return self._done(ax)


class ImportanceDisplay(_Display):
    """Horizontal bars of importance, largest first, with the ``ci`` interval as error bars.

    Attributes
    ----------
    names : list of str
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    """

    def __init__(self, result, max_features: int = 10):
        self.result = result
        order = np.argsort(-result.mean, kind="stable")[:int(max_features)]
        self.order = order
        self.names = [result.feature_names[j] for j in order]

    @classmethod
    def from_result(cls, result, *, max_features: int = 10, ax=None, **kwargs):
        """Draw ``result`` on ``ax`` (a new figure if None); returns the display."""
        return cls(result, max_features).plot(ax=ax, **kwargs)

    def plot(self, ax=None, **kwargs):
        """Draw; keywords go to ``ax.barh``; returns self."""
        r, j = self.result, self.order
        ax = _axes(ax)
        y = np.arange(len(j))[::-1]
        err = np.vstack([r.mean[j] - r.ci_low[j], r.ci_high[j] - r.mean[j]])
        kwargs.setdefault("color", _LINE)
        ax.barh(y, r.mean[j], xerr=np.clip(err, 0.0, None), capsize=3, **kwargs)
        ax.set_yticks(y, [_label(n) for n in self.names])
        ax.axvline(0, color="#999", lw=0.5)
        ax.set_xlabel(f"{r.method} importance ({r.loss}), {int(round(100 * r.ci))}% interval")
        ax.set_title(f"{r.model_name} · {'exact' if r.exact else 'estimated'} {r.method} importance")
        return self._done(ax)
