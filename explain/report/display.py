"""Display objects in scikit-learn's style.

``Display.from_explanation(e, ax=None, **kwargs)`` computes what to draw and
draws it, returning the display; ``display.plot(ax=None, **kwargs)`` draws
(again) on any axes, forwarding styling keywords to matplotlib. Each display
keeps ``ax_`` and ``figure_``. matplotlib is imported only when plotting;
``plt.show()`` is never called and no global style is changed.

- :class:`AttributionDisplay`: bar chart, mean |a| per feature or one row's contributions;
- :class:`BeeswarmDisplay`: every row's attribution per feature, coloured by the feature's value;
- :class:`WaterfallDisplay`: one row, from the base value to the model output;
- :class:`ImageDisplay`: attributions over the image, one shared colour scale.
"""

from __future__ import annotations

import numpy as np

from .._utils.display import _axes, _Display, _label

__all__ = ["AttributionDisplay", "BeeswarmDisplay", "WaterfallDisplay", "ImageDisplay"]

_POS, _NEG = "#d62728", "#1f77b4"


def _unit(explanation) -> str:
    from ..metrics.scale import output_unit

    return output_unit(explanation.output)


class AttributionDisplay(_Display):
    """Bar chart of attributions: mean |a| over rows, or one row's signed contributions.

    Parameters
    ----------
    names : list of str
    values : ndarray of shape (k,)
    title : str
    xlabel : str
        For one row's contributions, the output they are in ("contribution (probability)").

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    """

    def __init__(self, names, values, title="", xlabel=""):
        self.names, self.values, self.title, self.xlabel = list(names), np.asarray(values, float), title, xlabel

    @classmethod
    def from_explanation(cls, explanation, *, row: int | None = None, max_features: int = 10, ax=None, **kwargs):
        """Top ``max_features`` by mean |attribution| (or of row ``row``), drawn on ``ax``; returns the display."""
        if row is None:
            imp = explanation.global_importance().head(max_features)
            disp = cls(imp.index, imp.to_numpy(), f"{explanation.model_name} · {explanation.method}: mean |a|")
        else:
            v = explanation.flat_values[row]
            top = np.argsort(-np.abs(v), kind="stable")[:max_features]
            disp = cls([explanation.feature_names[j] for j in top], v[top],
                       f"{explanation.model_name} · {explanation.method}: row {row} ({explanation.output})",
                       f"contribution ({_unit(explanation)})")
        return disp.plot(ax=ax, **kwargs)

    def plot(self, ax=None, **kwargs):
        """Draw on ``ax`` (a new figure if None); keywords go to ``ax.barh``; returns self."""
        ax = _axes(ax)
        y = np.arange(len(self.names))[::-1]
        kwargs.setdefault("color", [_POS if v > 0 else _NEG for v in self.values])
        ax.barh(y, self.values, **kwargs)
        ax.set_yticks(y, [_label(n) for n in self.names])
        ax.axvline(0, color="#999", lw=0.5)
        ax.set_title(self.title)
        if self.xlabel:
            ax.set_xlabel(self.xlabel)
        return self._done(ax)


class BeeswarmDisplay(_Display):
    """Summary plot: one dot per row and feature, x = attribution, colour = the feature's value (rank in column).

    Attributes
    ----------
    names : list of str
        Features shown, most important first.
    values, colours : ndarray of shape (n_rows, k)
    """

    def __init__(self, names, values, colours, title=""):
        self.names = list(names)
        self.values, self.colours, self.title = np.asarray(values, float), np.asarray(colours, float), title

    @classmethod
    def from_explanation(cls, explanation, *, max_features: int = 10, random_state=0, ax=None, **kwargs):
        """The ``max_features`` most important features of ``explanation``, drawn; returns the display."""
        imp = np.abs(explanation.flat_values).mean(axis=0)
        top = np.argsort(-imp, kind="stable")[:max_features]
        data = explanation.codes[:, top]
        colours = np.zeros_like(data)
        for j in range(data.shape[1]):  # rank within the column, so every scale maps to [0, 1]
            col = data[:, j]
            order = np.argsort(np.argsort(col, kind="stable"), kind="stable")
            colours[:, j] = order / max(len(col) - 1, 1)
        disp = cls([explanation.feature_names[j] for j in top], explanation.flat_values[:, top], colours,
                   f"{explanation.model_name} · {explanation.method}")
        disp.random_state = random_state
        return disp.plot(ax=ax, **kwargs)

    def plot(self, ax=None, **kwargs):
        """Draw on ``ax``; keywords go to ``ax.scatter`` (e.g. ``s``, ``cmap``); returns self."""
        ax = _axes(ax)
        rng = np.random.default_rng(getattr(self, "random_state", 0))
        kwargs.setdefault("cmap", "coolwarm")
        kwargs.setdefault("s", 8)
        k = len(self.names)
        for j in range(k):
            y = (k - 1 - j) + rng.uniform(-0.25, 0.25, size=self.values.shape[0])
            ax.scatter(self.values[:, j], y, c=self.colours[:, j], vmin=0, vmax=1, linewidths=0, **kwargs)
        ax.set_yticks(np.arange(k)[::-1], [_label(n) for n in self.names])
        ax.axvline(0, color="#999", lw=0.5)
        ax.set_xlabel("attribution (colour: feature value, low → high)")
        ax.set_title(self.title)
        return self._done(ax)


class WaterfallDisplay(_Display):
    """One row: bars from the base value, feature by feature, to the model output.

    Attributes
    ----------
    base, output : float
        The base value and base + all attributions (the model output for additive methods).
    names, values : the ``max_features`` largest contributions; the rest are summed in one bar.
    """

    def __init__(self, names, values, base, title="", unit=""):
        self.names, self.values, self.base, self.title = list(names), np.asarray(values, float), float(base), title
        self.unit = unit  # the explained output, shown on the x axis
        self.output = self.base + float(self.values.sum())

    @classmethod
    def from_explanation(cls, explanation, *, row: int = 0, max_features: int = 10, ax=None, **kwargs):
        """Row ``row`` of ``explanation``, drawn; returns the display."""
        v = explanation.flat_values[row]
        order = np.argsort(-np.abs(v), kind="stable")
        top, rest = order[:max_features], order[max_features:]
        names = [explanation.feature_names[j] for j in top]
        values = list(v[top])
        if len(rest):
            names.append(f"{len(rest)} other features")
            values.append(float(v[rest].sum()))
        disp = cls(names, values, explanation.base_values[row],
                   f"{explanation.model_name} · {explanation.method}: row {row} ({explanation.output})",
                   _unit(explanation))
        return disp.plot(ax=ax, **kwargs)

    def plot(self, ax=None, **kwargs):
        """Draw on ``ax``; keywords go to ``ax.barh``; returns self."""
        ax = _axes(ax)
        k = len(self.names)
        starts = self.base + np.concatenate([[0.0], np.cumsum(self.values)[:-1]])
        y = np.arange(k)[::-1]
        colours = kwargs.pop("color", [_POS if v > 0 else _NEG for v in self.values])
        ax.barh(y, self.values, left=starts, color=colours, **kwargs)
        ax.set_yticks(y, [_label(n) for n in self.names])
        ax.axvline(self.base, color="#999", lw=0.5, ls="--")
        ax.axvline(self.output, color="#333", lw=0.8)
        ax.set_xlabel(f"base {self.base:.4g} → output {self.output:.4g}" + (f" ({self.unit})" if self.unit else ""))
        ax.set_title(self.title)
        return self._done(ax)


class ImageDisplay(_Display):
    """Attributions over the images: the image in grey, the attribution as a diverging overlay.

    One colour scale is shared by every panel (symmetric about 0), so panels compare.
    """

    def __init__(self, images, attributions, titles):
        self.images, self.attributions, self.titles = np.asarray(images, float), np.asarray(attributions, float), \
            list(titles)
        self.scale = float(np.abs(self.attributions).max()) or 1.0

    @classmethod
    def from_explanation(cls, explanation, *, rows=(0,), ax=None, **kwargs):
        """The image rows ``rows`` of an image explanation (channels summed), drawn; returns the display."""
        shape = explanation.image_shape
        if shape is None:
            raise ValueError("ImageDisplay needs an image explanation (X as (N, C, H, W) or image_shape)")
        rows = list(rows)
        to_2d = (lambda a: a.sum(axis=0)) if len(shape) == 3 else (lambda a: a)
        data = explanation.codes.reshape((len(explanation),) + shape)
        vals = explanation.flat_values.reshape((len(explanation),) + shape)
        disp = cls([to_2d(data[r]) for r in rows], [to_2d(vals[r]) for r in rows],
                   [f"{explanation.model_name} · {explanation.method}: row {r}" for r in rows])
        return disp.plot(ax=ax, **kwargs)

    def plot(self, ax=None, alpha=0.6, **kwargs):
        """Draw on ``ax`` (one Axes, or one per image); keywords go to the overlay's ``imshow``; returns self."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(1, len(self.images), squeeze=False)
            ax = ax.ravel()
        axes = np.atleast_1d(ax)
        kwargs.setdefault("cmap", "bwr")
        for a, img, att, title in zip(axes, self.images, self.attributions, self.titles):
            a.imshow(img, cmap="gray_r")
            a.imshow(att, vmin=-self.scale, vmax=self.scale, alpha=alpha, **kwargs)
            a.set_title(title, fontsize=8)
            a.set_axis_off()
        self.axes_ = axes
        return self._done(axes[0])
