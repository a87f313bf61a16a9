"""Figures as inline SVG strings (matplotlib, Agg), deterministic byte for byte.

Nothing global is touched: each figure is drawn inside ``rc_context`` with a
fixed SVG hash salt and no date metadata, text stays SVG ``<text>`` (escaped by
matplotlib's XML writer, so no user string reaches the SVG as markup; no font is
embedded or fetched: the page's DejaVu Sans or sans-serif draws it, and the
page is several times smaller than with every glyph drawn as a path), and every
figure is closed after it is written.
"""

from __future__ import annotations

import io
import re
import textwrap

import numpy as np

__all__ = ["to_svg", "importance_figure", "beeswarm_figure", "waterfall_figure", "heatmap_figure", "image_grid",
           "slope_figure", "histogram_figure", "feature_value"]

_RC = {"svg.hashsalt": "explain", "svg.fonttype": "none", "font.sans-serif": ["DejaVu Sans"], "font.size": 8,
       "axes.titlesize": 9, "figure.dpi": 72, "axes.spines.top": False, "axes.spines.right": False}
BLUE, RED = "#1f77b4", "#d62728"


def _label(text: str, width: int = 28) -> str:
    """Plain text for matplotlib: no mathtext; a long label wraps onto lines of ``width`` characters
    (never cut: every character stays on the figure)."""
    text = str(text).replace("$", r"\$")
    if len(text) <= width:
        return text
    return "\n".join(textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False)) or text


def _figure(width, height):
    from matplotlib.figure import Figure  # no pyplot, no backend switch: savefig renders with its own canvas

    return Figure(figsize=(width, height))


def to_svg(fig) -> str:
    """The figure as an SVG string (no XML header, no date)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    svg = buf.getvalue()
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg[svg.index("<svg"):], flags=re.S)  # RDF boilerplate
    return _compact(svg)


# matplotlib writes what a browser does not need: every scatter dot and bar in its own <g clip-path>, coordinates
# to 1e-6 px, the font family on every <text>, "rotate(-0 x y)" on unrotated text, and indentation. _compact
# drops it; the picture and every text stay the same.
_SAME_CLIP = re.compile(r'(<g clip-path="url\(#(\w+)\)">)((?:(?!<g[ >]|</g>).)*?)\s*</g>\s*<g clip-path="url\(#\2\)">',
                        re.S)
_GEOMETRY = re.compile(r'(\s(?:d|x|y|x1|x2|y1|y2|width|height|transform|points)=")([^"]*)"')
_DECIMALS = re.compile(r"(-?\d+\.\d{2})\d+")
_FAMILY = "font-family: 'DejaVu Sans', sans-serif"


def _compact(svg: str) -> str:
    """The same picture in fewer bytes: runs of sibling groups with one clip path merged; inside tags only
    (text content, escaped, never holds "<" or ">"), coordinates truncated to 0.01 px, identity rotations
    dropped and the font family set once on the root; no indentation."""
    while True:
        merged = _SAME_CLIP.sub(r"\1\3", svg)
        if merged == svg:
            break
        svg = merged

    def tag(m):
        text = _GEOMETRY.sub(lambda g: g.group(1) + _DECIMALS.sub(r"\1", g.group(2)) + '"', m.group(0))
        text = re.sub(r' transform="rotate\(-?0 [-\d.]+ [-\d.]+\)"', "", text)
        for family in (_FAMILY + "; ", "; " + _FAMILY, f' style="{_FAMILY}"'):
            text = text.replace(family, "")
        return text.replace(" \n", "\n")
    svg = re.sub(r"\n +<", "\n<", re.sub(r"<[^>]+>", tag, svg))
    return svg.replace("<svg ", f'<svg style="{_FAMILY}" ', 1)


def _draw(draw, width, height) -> str:
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(width, height)
        draw(fig)
        return to_svg(fig)


def importance_figure(explanations, k: int = 10) -> str:
    """Mean |attribution| of the top-k features, one panel per method (same features across panels);
    sampled values get 95% whiskers."""
    from ..metrics.agreement import flat_stderr

    first = explanations[0]
    order = list(first.global_importance().index[:k])[::-1]

    def draw(fig):
        axes = fig.subplots(1, len(explanations), sharey=True, squeeze=False)[0]
        for ax, e in zip(axes, explanations):
            imp = e.global_importance()
            se = flat_stderr(e)
            # mean |a| over n rows: its sampling error is at most sqrt(sum se^2) / n (|a| moves no more than a)
            err = None if se is None else [1.96 * np.sqrt(np.sum(np.square(se[:, e.feature_names.index(f)])))
                                           / len(se) for f in order]
            ax.barh(range(len(order)), [imp[f] for f in order], color=BLUE, xerr=err,
                    error_kw={"ecolor": "#333", "elinewidth": 0.8, "capsize": 2})
            ax.set_yticks(range(len(order)), [_label(f) for f in order])
            ax.set_title(_label(e.method))
            ax.set_xlabel("mean |attribution|")
    return _draw(draw, 2.3 * len(explanations) + 1.5, 0.25 * len(order) + 1.2)


def beeswarm_figure(explanations, k: int = 8, seed: int = 0) -> str:
    """Per feature, every row's attribution as a dot coloured by the feature's value (low blue, high red)."""
    first = explanations[0]
    order = list(first.global_importance().index[:k])[::-1]
    rng = np.random.default_rng(seed)

    def draw(fig):
        axes = fig.subplots(1, len(explanations), sharey=True, squeeze=False)[0]
        for ax, e in zip(axes, explanations):
            names = e.feature_names
            for y, f in enumerate(order):
                j = names.index(f)
                vals, data = e.flat_values[:, j], e.codes[:, j]
                span = np.ptp(data)
                colour = (data - data.min()) / span if span > 0 else np.full_like(data, 0.5)
                jitter = rng.uniform(-0.25, 0.25, size=len(vals))
                points = ax.scatter(vals, y + jitter, c=colour, cmap="coolwarm", s=6, vmin=0, vmax=1, linewidths=0)
            ax.axvline(0, color="#999", lw=0.5)
            ax.set_yticks(range(len(order)), [_label(f) for f in order])
            ax.set_title(_label(e.method))
            ax.set_xlabel("attribution")
        bar = fig.colorbar(points, ax=list(axes), shrink=0.8, pad=0.02, ticks=[0, 1])
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label("feature value (each feature's own range)")
    return _draw(draw, 2.3 * len(explanations) + 2.3, 0.3 * len(order) + 1.2)


def feature_value(e, row: int, j: int) -> str:
    """ "name = value" with the original value (a category's label, a number to 4 digits, or missing)."""
    code = e.codes[row, j]
    if e.codec is not None:
        return f"{e.feature_names[j]} = {e.codec.label(j, float(code))}"
    return f"{e.feature_names[j]} = {code:.4g}" if np.isfinite(code) else f"{e.feature_names[j]} = missing"


def waterfall_figure(explanations, rows, k: int = 6, *, unit: str | None = None, row_ids=None) -> str:
    """For each selected row (figure rows) and method (columns): the k largest contributions.

    Each panel names the output the contributions are in (``unit``, by default the explanation's output)
    in its title and on its x axis, with f(x), E[f(X)] and the explained class; every bar carries its number.
    ``row_ids`` names the rows (default: their positions).
    """
    from ..metrics.agreement import flat_stderr
    from ..metrics.scale import output_unit

    unit = unit or output_unit(explanations[0].output)

    def draw(fig):
        axes = fig.subplots(len(rows), len(explanations), squeeze=False,
                            gridspec_kw={"wspace": 1.2, "hspace": 0.8})
        for r, row in enumerate(rows):
            for c, e in enumerate(explanations):
                ax = axes[r, c]
                v = e.flat_values[row]
                top = np.argsort(-np.abs(v), kind="stable")[:k][::-1]
                se = flat_stderr(e)
                bars = ax.barh(range(len(top)), v[top], color=[RED if x > 0 else BLUE for x in v[top]],
                               xerr=None if se is None else 1.96 * se[row, top],  # 95% whiskers, sampled values
                               error_kw={"ecolor": "#333", "elinewidth": 0.8, "capsize": 2})
                ax.bar_label(bars, labels=[f"{x:+.3g}" for x in v[top]], fontsize=6, padding=2)
                ax.margins(x=0.25)
                ax.set_yticks(range(len(top)), [_label(feature_value(e, row, j), 28) for j in top])
                ax.axvline(0, color="#999", lw=0.5)
                ax.set_xlabel(_label(f"contribution ({unit})", 48))
                rid = row if row_ids is None else row_ids[row]
                cls = "" if e.target is None else f" · explains class {e.target[row]}"
                fx = e.base_values[row] + v.sum()
                ax.set_title(_label(f"row {rid} · {e.method}{cls} · f(x) = {fx:.3g}, E[f(X)] = "
                                    f"{e.base_values[row]:.3g} {unit}", 40))
    ticks = min(k, explanations[0].shape[1])
    tall = max((_label(feature_value(e, row, j), 28).count("\n") + 1
                for e in explanations for row in rows for j in range(e.shape[1])), default=1)
    return _draw(draw, 3.4 * len(explanations) + 1.2, max(1.8, 0.14 * ticks * tall + 1.0) * len(rows) + 0.6)


def heatmap_figure(matrix, title: str) -> str:
    """A labelled method x method matrix in [-1, 1]."""
    labels = [_label(x, 18) for x in matrix.index]

    def draw(fig):
        ax = fig.subplots()
        im = ax.imshow(matrix.to_numpy(float), cmap="RdBu", vmin=-1, vmax=1)
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        for i in range(len(labels)):
            for j in range(len(labels)):
                ax.text(j, i, f"{matrix.iloc[i, j]:.2f}", ha="center", va="center", fontsize=7)
        ax.set_title(_label(title, 60))
        fig.colorbar(im, ax=ax, shrink=0.8, label="rank correlation")
    return _draw(draw, 0.6 * len(labels) + 2.2, 0.55 * len(labels) + 1.4)


MAX_IMAGE_SIDE = 64  # report images larger than this are block-averaged down (224 x 224 -> 56 x 56)


def downsample(a: np.ndarray, side: int = MAX_IMAGE_SIDE, *, reduce=np.mean) -> np.ndarray:
    """Shrink (..., H, W[, 3]) arrays by an integer factor so that H, W <= ``side`` (block ``reduce``).

    Attributions are summed per block (``reduce=np.sum``) so each block keeps its pixels' share.
    """
    rgb = a.ndim >= 3 and a.shape[-1] == 3
    h, w = a.shape[-3:-1] if rgb else a.shape[-2:]
    f = max(1, -(-max(h, w) // side))
    if f == 1:
        return a
    hh, ww = h // f * f, w // f * f
    if rgb:
        a = a[..., :hh, :ww, :]
        return reduce(a.reshape(a.shape[:-3] + (hh // f, f, ww // f, f, 3)), axis=(-4, -2))
    a = a[..., :hh, :ww]
    return reduce(a.reshape(a.shape[:-2] + (hh // f, f, ww // f, f)), axis=(-3, -1))


def image_grid(images, panels, titles) -> str:
    """Rows: example images; columns: the image, then one attribution overlay per (model, method).

    Models explain different output spaces (log-odds, probability, decision function), so each panel shows
    each pixel's share of the panel's total |attribution| (signed), drawn as a heat map over the image in
    grey; the colour scale is shared per row. Images larger than MAX_IMAGE_SIDE are block-averaged (and
    attributions block-summed) first, so a 224 x 224 picture stays a small figure.

    images : (r, H, W) or (r, H, W, 3) in [0, 1]; panels : list over columns of (r, H, W); titles : column titles.
    """
    images = downsample(np.asarray(images, dtype=float))
    panels = [downsample(np.asarray(p, dtype=float), reduce=np.sum) for p in panels]

    def share(p):
        total = np.abs(p).sum()
        return p / total if total > 0 else p

    def draw(fig):
        axes = fig.subplots(len(images), len(panels) + 1, squeeze=False)
        shown = None
        for r, image in enumerate(images):
            normed = [share(p[r]) for p in panels]
            lim = max(float(np.abs(p).max()) for p in normed) or 1.0
            gray = image.mean(axis=-1) if image.ndim == 3 else image
            axes[r, 0].imshow(image if image.ndim == 3 else gray, cmap=None if image.ndim == 3 else "gray_r")
            for c, p in enumerate(normed, start=1):
                axes[r, c].imshow(gray, cmap="gray_r", alpha=0.45)
                shown = axes[r, c].imshow(p, cmap="RdBu_r", vmin=-lim, vmax=lim, alpha=0.8)
            for ax in axes[r]:
                ax.set_xticks([])
                ax.set_yticks([])
            if shown is not None:  # one colour scale per row, so one legend per row
                bar = fig.colorbar(shown, ax=list(axes[r]), shrink=0.9, pad=0.01, ticks=[-lim, 0, lim])
                bar.ax.set_yticklabels([f"-{lim:.2g}", "0", f"+{lim:.2g}"], fontsize=6)
                bar.set_label("share of |attribution|", fontsize=6)
        for c, title in enumerate(["image"] + list(titles)):
            axes[0, c].set_title(_label(title, 20), fontsize=7)
    return _draw(draw, 1.9 * (len(panels) + 1) + 1.0, 1.9 * len(images) + 1.0)


def spread_labels(y, gap) -> np.ndarray:
    """Label centres as close to ``y`` as possible without overlap (same order as ``y``).

    ``gap``: each label's height (a number, or one per label); neighbours' centres stay at least the mean of
    their heights apart. Labels that would overlap are merged into blocks centred on the mean of their targets
    (a pool-adjacent pass in order of ``y``).

    >>> spread_labels(np.array([1.0, 1.0, 5.0]), 0.5).tolist()
    [0.75, 1.25, 5.0]
    """
    y = np.asarray(y, dtype=float)
    h = np.broadcast_to(np.asarray(gap, dtype=float), y.shape)
    order = np.argsort(y, kind="stable")

    def offsets(members):
        steps = (h[members[:-1]] + h[members[1:]]) / 2
        return np.r_[0.0, np.cumsum(steps)]

    blocks = []  # (start, members in order)
    for i in order:
        blocks.append((y[i], np.array([i])))
        while len(blocks) > 1:
            (s1, m1), (s2, m2) = blocks[-2], blocks[-1]
            if s1 + offsets(m1)[-1] + (h[m1[-1]] + h[m2[0]]) / 2 <= s2:
                break
            members = np.r_[m1, m2]
            blocks[-2:] = [(float(np.mean(y[members] - offsets(members))), members)]
    result = np.empty_like(y)
    for start, members in blocks:
        result[members] = start + offsets(members)
    return result


def slope_figure(names, old, new, flagged, title: str) -> str:
    """Global importance old -> new, one line per feature; flagged features (beyond the noise band) in red.
    Labels are spread so they do not overlap, with a thin leader to their line's end when moved."""
    def draw(fig):
        ax = fig.subplots()
        new_ = np.asarray(new, dtype=float)
        low = float(np.nanmin(np.r_[np.asarray(old, float), new_, 0.0]))
        high = float(np.nanmax(np.r_[np.asarray(old, float), new_]))
        inches = height * ax.get_position().height
        span = high - low or 1.0
        labels = [_label(name, 24) for name in names]
        lines = np.array([label.count("\n") + 1 for label in labels], dtype=float)
        for _ in range(3):  # a 7-pt line (0.14 in with its spacing) in data units, on the final y range
            gap = span * 0.14 / inches
            placed = spread_labels(np.nan_to_num(new_), gap * lines)
            span = max(high, float(placed.max()) + gap * lines.max()) - min(low, float(placed.min()) - gap * lines.max())
        for label, a, b, flag, yb in zip(labels, old, new_, flagged, placed):
            colour = RED if flag else "#333"
            ax.plot([0, 1], [a, b], color=RED if flag else "#999", lw=1.5 if flag else 0.8, marker="o", ms=3)
            if abs(yb - b) > gap * 0.05:
                ax.plot([1.0, 1.03], [b, yb], color="#bbb", lw=0.5)
            ax.text(1.04, yb, label, va="center", fontsize=7, color=colour)
        ax.set_xticks([0, 1], ["old", "new"])
        ax.set_xlim(-0.1, 1.6)
        ax.set_ylim(min(low, float(placed.min()) - gap * lines.max()), max(high, float(placed.max()) + gap * lines.max()))
        ax.set_ylabel("mean |attribution|")
        ax.set_title(_label(title, 60))
    height = max(3.6, 1.4 + 0.15 * sum(_label(name, 24).count("\n") + 1 for name in names))  # every label fits
    return _draw(draw, 5.0, height)


def histogram_figure(values, title: str, xlabel: str) -> str:
    """Distribution of per-row changes."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]

    def draw(fig):
        ax = fig.subplots()
        ax.hist(values, bins=min(30, max(5, len(values) // 3)) if len(values) else 5, color=BLUE)
        ax.axvline(0, color="#333", lw=0.6)
        ax.set_xlabel(_label(xlabel, 60))
        ax.set_ylabel("count")
        ax.set_title(_label(title, 60))
    return _draw(draw, 5.0, 2.6)
