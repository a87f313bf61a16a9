"""DeepLift SHAP by the rescale rule, written out layer by layer for sequential networks.

DeepLift SHAP averages DeepLift over the background rows b_j:
``phi_i = mean_j (x_i - b_j) * m_ij``, where the multiplier ``m_ij`` is the
gradient of the target output with every nonlinearity's derivative replaced by
its secant ``(f(z_x) - f(z_b)) / (z_x - z_b)`` (the rescale rule; captum's
``DeepLiftShap`` and shap's ``DeepExplainer``). Both libraries run one forward
pass on every (row, background row) pair and its baseline, 2 x rows x background
examples, and autograd backwards with hooks. The activations of a row do not
depend on the baseline and those of a baseline not on the row, so here:

- the background goes forward once per call and each row once (rows + background
  examples, not 2 x rows x background), keeping every layer's input;
- the multipliers go backward for all pairs of a block at once, without autograd:
  the transposed linear maps (``W^T``; the input gradient of a convolution) shared
  by all pairs, times the pair's secants at the nonlinearities (on CPU one compiled
  pass per layer computes the secants and multiplies: ``_deeplift_kernels``). Until the first
  nonlinearity (from the output) the multipliers do not depend on the baseline,
  and they are kept per row.

The rules are captum's: secants where ``|z_x - z_b| >= 1e-10``, the row's own
derivative otherwise; max-pooling by the cross-max rule captum and shap share
(where an input does not change, shap's zero, as captum's rule there reads
another example's gradient). Layers: ``Linear``, ``Conv1d/2d/3d``, average
and adaptive average pooling, ``BatchNorm`` (eval, running statistics),
``Flatten``, ``Dropout``, ``Identity``, ``ReLU``, ``LeakyReLU``, ``ELU``,
``Sigmoid``, ``Tanh``, ``Softplus``, ``MaxPool1d/2d/3d``, nested in
``nn.Sequential``. :func:`layers_of` says why another network is not taken, and
the caller falls back to captum.
"""

from __future__ import annotations

import numpy as np

from ._deeplift_kernels import EPS, _derivative, _secant_times, _Spread

__all__ = ["layers_of", "RescaleNetwork", "deeplift_shap_values", "EPS"]

FUSED = True  # secants by the compiled kernel on CPU (torch operations elsewhere, or when False)


def _kinds():
    import torch.nn as nn

    nonlinear = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.Sigmoid, nn.Tanh, nn.Softplus)
    passthrough = (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)
    linear_maps = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
                   nn.AdaptiveAvgPool3d, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
    return nonlinear, passthrough, linear_maps


def layers_of(network):
    """The leaf layers of a (nested) ``nn.Sequential`` the rescale rule here covers, or a reason why not.

    Returns
    -------
    layers : list of (kind, module) or None
        kind is "linear", "conv", "flatten", "pass", "map" (another linear map), "nonlinear" or "maxpool".
    reason : str or None
    """
    import torch.nn as nn

    nonlinear, passthrough, linear_maps = _kinds()
    layers = []

    def walk(module):
        if type(module) is nn.Sequential:  # a subclass may have its own forward
            for child in module:
                reason = walk(child)
                if reason:
                    return reason
            return None
        name = type(module).__name__
        if module._forward_hooks or module._forward_pre_hooks:
            return f"{name} has forward hooks"
        if type(module) is nn.Linear:
            layers.append(("linear", module))
        elif type(module) in (nn.Conv1d, nn.Conv2d, nn.Conv3d):
            if isinstance(module.padding, str) or module.padding_mode != "zeros":
                return f"{name} pads by {module.padding!r} / {module.padding_mode!r}"
            layers.append(("conv", module))
        elif type(module) is nn.Flatten:
            if module.start_dim != 1:
                return f"Flatten(start_dim={module.start_dim})"
            layers.append(("flatten", module))
        elif type(module) in passthrough:
            layers.append(("pass", module))
        elif type(module) in linear_maps:
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is None:
                return f"{name} without running statistics normalises by the batch"
            layers.append(("map", module))
        elif type(module) in nonlinear:
            layers.append(("nonlinear", module))
        elif type(module) in (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d):
            if module.return_indices or np.any(np.asarray(module.dilation) != 1):
                return f"{name} with dilation or returned indices"
            layers.append(("maxpool", module))
        else:
            return f"layer {name} is not covered by the rescale rule here"
        return None

    reason = walk(network)
    if reason is None and not layers:
        reason = "the network has no layers"
    return (None, reason) if reason else (layers, None)


def _forward(layers, z):
    """Every layer's input (and the network's output last); max-pooling also keeps its argmax indices.

    Images go channels-last (NHWC in memory): the convolutions of the backward pass run 2.5x faster on it
    (measured on CPU), and the secants, computed on the raw memory, come out in the same layout.
    """
    import torch
    import torch.nn.functional as F

    if z.ndim == 4:
        z = z.contiguous(memory_format=torch.channels_last)
    zs, indices = [z], {}
    for i, (kind, module) in enumerate(layers):
        if kind == "maxpool":
            pool = getattr(F, f"max_pool{z.ndim - 2}d")
            z, indices[i] = pool(z, module.kernel_size, module.stride, module.padding, module.dilation,
                                 module.ceil_mode, return_indices=True)
        elif kind == "nonlinear" and getattr(module, "inplace", False):
            z = module(z.clone())  # the layer's input stays as it was
        else:
            z = module(z)
        zs.append(z)
    return zs, indices


class _Pairs:
    """One block: rows' and baselines' activations, and the multipliers of its pairs going backward.

    A multiplier ``g`` has shape (rows, 1 or baselines, *layer shape): 1 while it is the same for every
    baseline (from the output down to the first nonlinearity).
    """

    def __init__(self, layers, zx, zb, ix, ib, cache):
        self.layers, self.zx, self.zb, self.ix, self.ib = layers, zx, zb, ix, ib
        self.cache = cache  # flipped kernels, pooling windows: computed once per network

    @staticmethod
    def _flat(g):
        return g.reshape((-1,) + tuple(g.shape[2:]))

    def _pairs(self, g, flat):
        return flat.reshape(tuple(g.shape[:2]) + tuple(flat.shape[1:]))

    def _expand(self, t):
        n, m = self.zx[0].shape[0], self.zb[0].shape[0]
        return t.expand((n, m) + tuple(t.shape[2:]))

    def _conv_back(self, module, g, shape):
        """A convolution's input gradient: with stride 1, the forward convolution of the flipped kernel
        (faster than the backward kernel on CPU, measured 1.5-4x on the zoo CNN)."""
        import torch
        import torch.nn.functional as F

        d = g.ndim - 2
        if module not in self.cache:
            k = module.weight.shape[2:]
            pad = [dil * (size - 1) - p for dil, size, p in zip(module.dilation, k, module.padding)]
            ok = module.groups == 1 and all(s == 1 for s in module.stride) and all(p >= 0 for p in pad)
            flipped = module.weight.flip(tuple(range(2, 2 + d))).transpose(0, 1).contiguous()
            self.cache[module] = (flipped, tuple(pad)) if ok else None
        flipped = self.cache[module]
        if flipped is not None:
            return getattr(F, f"conv{d}d")(g, flipped[0], None, 1, flipped[1], module.dilation)
        grad = getattr(torch.nn.grad, f"conv{d}d_input")
        return grad((g.shape[0],) + tuple(shape), module.weight, g.contiguous(), module.stride, module.padding,
                    module.dilation, module.groups)

    def _map_back(self, module, g, shape):
        """Another linear map's transpose, for pairs' multipliers ``g`` (rows, 1 or baselines, ...).

        Non-overlapping average pooling spreads each output's multiplier evenly over its window: left as a
        :class:`_Spread` for the secants to read; other maps by autograd.
        """
        import torch
        import torch.nn as nn

        if type(module) in (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d):
            k = np.broadcast_to(module.kernel_size, (g.ndim - 3,))
            stride = np.broadcast_to(module.stride if module.stride is not None else k, k.shape)
            if np.array_equal(k, stride) and not np.any(module.padding) and \
                    np.array_equal(np.asarray(g.shape[3:]) * k, shape[1:]) and \
                    getattr(module, "divisor_override", None) is None:
                key, last = (module, tuple(shape)), len(shape) == 3
                if key not in self.cache:  # each input's window, as a flat index into the output
                    source = torch.arange(int(np.prod(g.shape[2:])), device=g.device).reshape(g.shape[2:])
                    for dim, size in enumerate(k):
                        source = source.repeat_interleave(int(size), dim=1 + dim)
                    self.cache[key] = (source.permute(1, 2, 0) if last else source).reshape(-1)
                return _Spread(g, self.cache[key], float(np.prod(k)), tuple(shape), last)
        with torch.enable_grad():
            flat = self._flat(g)
            z = flat.new_zeros((flat.shape[0],) + tuple(shape), requires_grad=True)
            (out,) = torch.autograd.grad(module(z), z, flat)
        return self._pairs(g, out)

    def back(self, i, g):
        """The multipliers at layer i's input from those at its output."""
        import torch
        import torch.nn.functional as F

        kind, module = self.layers[i]
        zx, zb = self.zx[i], self.zb[i]
        fused = FUSED and kind == "nonlinear" and zx.device.type == "cpu" and zx.dtype in (torch.float32,
                                                                                          torch.float64)
        if isinstance(g, _Spread) and not fused:
            g = g.written()
        if kind == "linear":
            return g @ module.weight
        if kind == "flatten":
            return g.reshape(tuple(g.shape[:2]) + tuple(zx.shape[1:]))
        if kind == "pass":
            return g
        if kind == "conv":
            return self._pairs(g, self._conv_back(module, self._flat(g), zx.shape[1:]))
        if kind == "map":
            return self._map_back(module, g, zx.shape[1:])
        if kind == "nonlinear":
            yx, yb = self.zx[i + 1], self.zb[i + 1]
            if fused:  # one pass
                return _secant_times(g, zx, zb, yx, yb, _derivative(module, zx, yx))
            dz = zx.unsqueeze(1) - zb.unsqueeze(0)
            small = dz.abs() < EPS
            secant = (yx.unsqueeze(1) - yb.unsqueeze(0)).div_(dz)
            if bool(small.any()):
                secant = torch.where(small, _derivative(module, zx, yx).unsqueeze(1), secant)
            return g * secant
        # max-pooling, the cross-max rule: the pair's output change is split between the row's argmax
        # (the part above the baseline's max) and the baseline's (the rest), then rescaled by the input change
        dz = zx.unsqueeze(1) - zb.unsqueeze(0)
        small = dz.abs() < EPS
        yx, yb = self.zx[i + 1].unsqueeze(1), self.zb[i + 1].unsqueeze(0)
        cross = torch.maximum(yx, yb)
        unpool = getattr(F, f"max_unpool{zx.ndim - 2}d")
        n, m = g.shape[0], zb.shape[0]
        size = (n * m,) + tuple(zx.shape[1:])

        def spread(part, idx):  # idx: (rows or baselines, 1 or baselines, ...)
            return unpool(self._flat(g * part), self._flat(self._expand(idx)), module.kernel_size,
                          module.stride, module.padding, size)

        out = spread(cross - yb, self.ix[i].unsqueeze(1)) + spread(yx - cross, self.ib[i].unsqueeze(0))
        out = out.reshape(dz.shape)
        return out.div_(dz).masked_fill_(small, 0.0)


class RescaleNetwork:
    """The layers of a network with the background's forward pass done once.

    Parameters
    ----------
    layers : list from :func:`layers_of`
    background : Tensor of shape (m, *input shape)

    Attributes
    ----------
    outputs : Tensor of shape (m, k), the background's outputs
    """

    def __init__(self, layers, background):
        import torch

        self.layers = layers
        with torch.no_grad():
            self.zb, self.ib = _forward(layers, background)
        self.outputs = self.zb[-1]
        if self.outputs.ndim != 2:
            from ..errors import MethodNotApplicableError

            raise MethodNotApplicableError(f"the network's output has shape {tuple(self.outputs.shape)}; "
                             "DeepLift SHAP needs (rows, outputs)")
        self.cache = {}  # each convolution's flipped kernel, each pooling's windows: computed once

    def values(self, x, targets, pairs_per_pass: int):
        """DeepLift SHAP of rows ``x`` against every background row, for each row's target output.

        Parameters
        ----------
        x : Tensor of shape (n, *input shape)
        targets : sequence of int of length n
        pairs_per_pass : int
            (row, baseline) pairs whose multipliers go backward together (memory: a few times one
            example's activations per pair); at least one row, with every baseline.

        Returns
        -------
        values : Tensor of shape (n, *input shape), in x's dtype
        outputs : Tensor (n, k), the rows' outputs
        """
        import torch

        layers, zb, ib = self.layers, self.zb, self.ib
        with torch.no_grad():
            zx, ix = _forward(layers, x)
            fx = zx[-1]
            n, m = x.shape[0], zb[0].shape[0]
            targets = torch.as_tensor(np.asarray(targets), dtype=torch.long, device=x.device)
            values = torch.zeros_like(x)
            step = max(1, pairs_per_pass // m)  # rows whose pairs with every baseline go backward together
            for r in range(0, n, step):
                rows = slice(r, min(n, r + step))
                g = torch.zeros((rows.stop - r, 1, fx.shape[1]), dtype=fx.dtype, device=fx.device)
                g[:, 0].scatter_(1, targets[rows, None], 1.0)
                block = _Pairs(layers, [z[rows] for z in zx], zb, {k: v[rows] for k, v in ix.items()}, ib,
                               self.cache)
                for i in range(len(layers) - 1, -1, -1):
                    g = block.back(i, g)
                if isinstance(g, _Spread):
                    g = g.written()
                # sum_j (x - b_j) g_j = x sum_j g_j - sum_j b_j g_j
                xr, b = zx[0][rows], zb[0]
                if g.shape[1] == 1:  # the same multipliers for every baseline (a network without nonlinearity)
                    values[rows] = (xr - b.mean(0)) * g[:, 0]
                else:
                    values[rows] = (xr * g.sum(1) - torch.einsum("nm...,m...->n...", g, b)) / m
        return values, fx


def deeplift_shap_values(layers, X, background, targets, to_tensor, batch: int, block_rows=None):
    """DeepLift SHAP of flat rows ``X`` over flat ``background`` rows, in blocks that fit ``batch``.

    ``batch`` examples' activations fit the memory budget: the background goes forward in chunks of at most
    that many (one chunk unless it is larger), rows in blocks of ``batch // chunk`` (or ``block_rows``), and
    (row, baseline) pairs backward ``batch`` at a time.

    Returns
    -------
    values : ndarray (n, d), float64
    outputs : ndarray (n,), each row's target output
    base : ndarray (n,), the mean background output of each row's target
    forwards : int, examples that went forward
    """
    import torch

    n, m = X.shape[0], background.shape[0]
    chunk = max(1, min(m, batch))
    step = int(block_rows) if block_rows else max(1, batch // chunk)
    values, fx, base, forwards = np.zeros(X.shape), np.empty(n), np.zeros(n), 0
    with torch.no_grad():
        for c in range(0, m, chunk):
            b = background[c:c + chunk]
            net = RescaleNetwork(layers, to_tensor(b))
            share = b.shape[0] / m  # this chunk's part of the mean over the background
            base += net.outputs.cpu().numpy().astype(float).sum(axis=0)[targets] / m
            for start in range(0, n, step):
                rows = slice(start, min(n, start + step))
                v, out = net.values(to_tensor(X[rows]), targets[rows], batch)
                values[rows] += share * v.cpu().numpy().reshape(v.shape[0], -1)
                fx[rows] = out.cpu().numpy()[np.arange(v.shape[0]), targets[rows]]
            forwards += b.shape[0] + n
    return values, fx, base, forwards
