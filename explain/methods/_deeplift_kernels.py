"""The per-pair work of DeepLift SHAP's backward pass (``_deeplift``) on CPU: secants, compiled.

For every (row i, baseline j) pair and every value e of a layer, a nonlinearity's multiplier is
``g[i, j, e] * (f(zx[i, e]) - f(zb[j, e])) / (zx[i, e] - zb[j, e])``: a few torch operations would read and
write the pairs' arrays several times; one compiled pass does it once. When an average pooling (without
overlap) comes just after the nonlinearity, its transpose is read on the way (:class:`_Spread`).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["EPS"]

EPS = 1e-10  # captum's threshold under which a nonlinearity's secant is its derivative


def _derivative(module, z, y):
    """d module / dz at z (y = module(z)), for the elementwise nonlinearities."""
    import torch
    import torch.nn as nn

    if isinstance(module, nn.ReLU):
        return (z > 0).to(z.dtype)
    if isinstance(module, nn.LeakyReLU):
        return torch.where(z > 0, 1.0, module.negative_slope).to(z.dtype)
    if isinstance(module, nn.ELU):
        return torch.where(z > 0, torch.ones_like(y), y + module.alpha)
    if isinstance(module, nn.Sigmoid):
        return y * (1 - y)
    if isinstance(module, nn.Tanh):
        return 1 - y * y
    # Softplus: sigmoid(beta z), linear (derivative 1) beyond the threshold
    return torch.where(z * module.beta > module.threshold, torch.ones_like(z), torch.sigmoid(z * module.beta))


@numba.njit(cache=True, nogil=True, error_model="numpy")  # (no zero-division check: 1.7x faster, measured)
def _secant_kernel(g, source, div, zx, zb, yx, yb, dx, eps, out):  # pragma: no cover - compiled
    """out[i, j] = g[i, j or 0] * secant of the pair (row i, baseline j), elementwise.

    With a ``source`` (not empty), g[i, j or 0, source[e]] / div stands for g[i, j or 0, e]: an average
    pooling's transpose read on the way.
    """
    n, m, size = out.shape
    shared, spread = g.shape[1] == 1, source.shape[0] > 0
    for i in range(n):
        for j in range(m):
            gi = g[i, 0] if shared else g[i, j]
            for e in range(size):
                dz = zx[i, e] - zb[j, e]
                ge = gi[source[e]] / div if spread else gi[e]
                if abs(dz) < eps:
                    out[i, j, e] = ge * dx[i, e]
                else:
                    out[i, j, e] = ge * ((yx[i, e] - yb[j, e]) / dz)


class _Spread:
    """Multipliers at a non-overlapping average pooling's input, not yet written out.

    ``small`` (rows, 1 or baselines, *pooled shape) divided by the window size, each input reading its
    window's output at ``source`` (a flat index, in channels-last order for images as the activations).
    The secants read it in place (saving a write and a read of every pair's multipliers); other layers
    get it :meth:`written`.
    """

    def __init__(self, small, source, div, shape, last):
        self.small, self.source, self.div, self.shape, self.last = small.contiguous(), source, div, shape, last

    def written(self):
        import torch

        lead = tuple(self.small.shape[:2])
        flat = (self.small / self.div).reshape(lead[0] * lead[1], -1)
        out = torch.index_select(flat, 1, self.source)  # a gather: 4x faster than repeat_interleave (measured)
        if self.last:
            return out.reshape(lead + self.shape[1:] + self.shape[:1]).permute(0, 1, 4, 2, 3)
        return out.reshape(lead + self.shape)


def _secant_times(g, zx, zb, yx, yb, dx):
    """``g`` times every pair's secant (the row's derivative ``dx`` where the input barely changes), on CPU.

    Images are read and written channels-last (see ``_forward``): free for the stored activations.
    """
    import torch

    n, m = zx.shape[0], zb.shape[0]
    last = zx.ndim == 4  # (the channel moved last: a view of channels-last memory)

    def flat(t, rows, channel=1):
        return (t.movedim(channel, -1) if last else t).contiguous().reshape(rows, -1).numpy()

    shape = (n, m) + (tuple(zx.shape[2:]) + (zx.shape[1],) if last else tuple(zx.shape[1:]))
    out = torch.empty(shape, dtype=zx.dtype)
    rows = (flat(zx, n), flat(zb, m), flat(yx, n), flat(yb, m), flat(dx, n), EPS, out.numpy().reshape(n, m, -1))
    if isinstance(g, _Spread):
        small = g.small.reshape(n, g.small.shape[1], -1).numpy()
        _secant_kernel(small, g.source.numpy(), small.dtype.type(g.div), *rows)
    else:
        g = flat(g, n * g.shape[1], 2).reshape(n, g.shape[1], -1)
        _secant_kernel(g, np.empty(0, dtype=np.int64), g.dtype.type(1), *rows)
    return out.movedim(-1, 2) if last else out
